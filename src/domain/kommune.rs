//! Kommunekoder: the 98 Danish municipalities, from the project's copy of the official list
//! (`data/kommuner.tsv`).

use crate::config::MunicipalitySettings;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

static LIST: &str = include_str!("../../data/kommuner.tsv");

static MUNICIPALITIES: LazyLock<BTreeMap<u16, &'static str>> = LazyLock::new(|| {
    LIST.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (code, name) = line.split_once('\t').expect("kommuner.tsv: code<TAB>name");
            (code.parse().expect("kommuner.tsv: a numeric code"), name)
        })
        .collect()
});

/// A three-digit code of one of the 98 municipalities.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kommunekode(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KommuneError {
    #[error("a kommunekode is three digits")]
    Format,
    #[error("{0} is not the code of a Danish municipality")]
    Unknown(String),
}

impl Kommunekode {
    pub fn parse(input: &str) -> Result<Kommunekode, KommuneError> {
        if input.len() != 3 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KommuneError::Format);
        }
        let code: u16 = input.parse().map_err(|_| KommuneError::Format)?;
        if MUNICIPALITIES.contains_key(&code) {
            Ok(Kommunekode(code))
        } else {
            Err(KommuneError::Unknown(input.to_owned()))
        }
    }

    /// All 98 municipalities, in code order.
    pub fn all() -> impl Iterator<Item = Kommunekode> {
        MUNICIPALITIES.keys().map(|&code| Kommunekode(code))
    }

    pub fn name(self) -> &'static str {
        MUNICIPALITIES[&self.0]
    }
}

impl fmt::Display for Kommunekode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl fmt::Debug for Kommunekode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kommunekode({:03})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_98_municipalities() {
        assert_eq!(Kommunekode::all().count(), 98);
    }

    #[test]
    fn known_codes_parse_with_their_names() {
        assert_eq!(Kommunekode::parse("751").unwrap().name(), "Aarhus");
        assert_eq!(Kommunekode::parse("101").unwrap().to_string(), "101");
    }

    #[test]
    fn christianso_and_strangers_are_refused() {
        assert!(matches!(Kommunekode::parse("411"), Err(KommuneError::Unknown(_))));
        assert!(matches!(Kommunekode::parse("999"), Err(KommuneError::Unknown(_))));
        assert_eq!(Kommunekode::parse("75"), Err(KommuneError::Format));
        assert_eq!(Kommunekode::parse("7a1"), Err(KommuneError::Format));
    }
}

/// The municipalities this gateway serves (`municipalities`).
#[derive(Debug, Clone)]
pub struct Municipalities(BTreeSet<Kommunekode>);

impl Municipalities {
    /// Checks `municipalities`: `"all"`, or known kommunekoder, at least one.
    pub fn from_settings(settings: &MunicipalitySettings) -> anyhow::Result<Municipalities> {
        let codes = match settings {
            MunicipalitySettings::All => return Ok(Municipalities(Kommunekode::all().collect())),
            MunicipalitySettings::Codes(codes) => codes,
        };
        let set = codes
            .iter()
            .map(|code| Kommunekode::parse(code).map_err(|e| anyhow::anyhow!("municipalities: {code:?}: {e}")))
            .collect::<anyhow::Result<BTreeSet<_>>>()?;
        if set.is_empty() {
            anyhow::bail!("municipalities: the list is empty; use \"all\" or name at least one kommunekode");
        }
        Ok(Municipalities(set))
    }

    pub fn contains(&self, code: Kommunekode) -> bool {
        self.0.contains(&code)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
