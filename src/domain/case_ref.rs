use std::fmt;

/// A case reference such as `K-2026-000123`: the year the case was opened and a running number.
/// It carries no personal data, so it may appear in URLs, logs and emails.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CaseRef(String);

impl CaseRef {
    pub fn new(year: i16, number: i64) -> CaseRef {
        CaseRef(format!("K-{year:04}-{number:06}"))
    }

    pub fn parse(input: &str) -> Option<CaseRef> {
        let rest = input.strip_prefix("K-")?;
        let (year, number) = rest.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (year.len() == 4 && digits(year) && number.len() >= 6 && number.len() <= 12 && digits(number))
            .then(|| CaseRef(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The running number: the case's id in the store.
    pub fn number(&self) -> i64 {
        self.0[7..].parse().expect("a parsed case reference has a number")
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseRef({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let r = CaseRef::new(2026, 123);
        assert_eq!(r.as_str(), "K-2026-000123");
        assert_eq!(CaseRef::parse("K-2026-000123"), Some(r.clone()));
        assert_eq!(r.number(), 123);
        assert_eq!(CaseRef::parse("K-2026-12"), None);
        assert_eq!(CaseRef::parse("0101901234"), None);
    }
}
