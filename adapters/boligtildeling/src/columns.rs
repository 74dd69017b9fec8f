//! The columns of the export and the header row that names them. Names are matched without
//! regard to case, with æ, ø, å read as ae, oe, aa and spaces or hyphens as `_`, so `Værelser`,
//! `vaerelser` and `VAERELSER` are one column. The order of the columns is free.

use crate::Fault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    BeskedId,
    Sendt,
    Tilbudstype,
    TilbudId,
    Kommune,
    Cpr,
    Navn,
    KontaktNavn,
    KontaktEmail,
    KontaktTelefon,
    Adresse,
    Postnr,
    By,
    Boligorganisation,
    Boligtype,
    Vaerelser,
    M2,
    Husleje,
    Depositum,
    Hund,
    Kat,
    Niveaufri,
    LedigFra,
    Svarfrist,
    Fremvisning,
    FremvisningSted,
    Begrundelse,
    Bemaerkninger,
}

const COUNT: usize = 28;

impl Column {
    pub(crate) const ALL: [Column; COUNT] = [
        Column::BeskedId,
        Column::Sendt,
        Column::Tilbudstype,
        Column::TilbudId,
        Column::Kommune,
        Column::Cpr,
        Column::Navn,
        Column::KontaktNavn,
        Column::KontaktEmail,
        Column::KontaktTelefon,
        Column::Adresse,
        Column::Postnr,
        Column::By,
        Column::Boligorganisation,
        Column::Boligtype,
        Column::Vaerelser,
        Column::M2,
        Column::Husleje,
        Column::Depositum,
        Column::Hund,
        Column::Kat,
        Column::Niveaufri,
        Column::LedigFra,
        Column::Svarfrist,
        Column::Fremvisning,
        Column::FremvisningSted,
        Column::Begrundelse,
        Column::Bemaerkninger,
    ];

    /// The column's name in the header, as documented.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Column::BeskedId => "besked_id",
            Column::Sendt => "sendt",
            Column::Tilbudstype => "tilbudstype",
            Column::TilbudId => "tilbud_id",
            Column::Kommune => "kommune",
            Column::Cpr => "cpr",
            Column::Navn => "navn",
            Column::KontaktNavn => "kontakt_navn",
            Column::KontaktEmail => "kontakt_email",
            Column::KontaktTelefon => "kontakt_telefon",
            Column::Adresse => "adresse",
            Column::Postnr => "postnr",
            Column::By => "by",
            Column::Boligorganisation => "boligorganisation",
            Column::Boligtype => "boligtype",
            Column::Vaerelser => "vaerelser",
            Column::M2 => "m2",
            Column::Husleje => "husleje",
            Column::Depositum => "depositum",
            Column::Hund => "hund",
            Column::Kat => "kat",
            Column::Niveaufri => "niveaufri",
            Column::LedigFra => "ledig_fra",
            Column::Svarfrist => "svarfrist",
            Column::Fremvisning => "fremvisning",
            Column::FremvisningSted => "fremvisning_sted",
            Column::Begrundelse => "begrundelse",
            Column::Bemaerkninger => "bemaerkninger",
        }
    }

    /// Columns every file must have, whatever its rows are.
    fn required(self) -> bool {
        matches!(
            self,
            Column::Sendt | Column::Tilbudstype | Column::TilbudId | Column::Kommune
        )
    }

    /// Columns that describe the home: a withdrawal that fills any of them must describe the
    /// home in full, as an offer does. `niveaufri` is not one of them.
    pub(crate) fn describes_home(self) -> bool {
        matches!(
            self,
            Column::Adresse
                | Column::Postnr
                | Column::By
                | Column::Boligorganisation
                | Column::Boligtype
                | Column::Vaerelser
                | Column::M2
                | Column::Husleje
                | Column::Depositum
                | Column::Hund
                | Column::Kat
        )
    }

    fn index(self) -> usize {
        Column::ALL.iter().position(|&c| c == self).unwrap_or(0)
    }

    fn from_header(name: &str) -> Option<Column> {
        let key = fold(name);
        let key = match key.as_str() {
            "postnummer" => "postnr",
            "kvm" | "areal" => "m2",
            "bemaerkning" => "bemaerkninger",
            other => other,
        };
        Column::ALL.into_iter().find(|c| c.name() == key)
    }
}

/// Lower case, æ ø å as ae oe aa, ² as 2, spaces and hyphens as `_`.
fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            '²' => out.push('2'),
            ' ' | '-' => out.push('_'),
            c => out.push(c),
        }
    }
    out
}

/// Where each known column sits in a row, and how the header spells it.
pub(crate) struct Header {
    positions: [Option<usize>; COUNT],
    spellings: Vec<String>,
    /// The header's cells, counting empty ones after the last name (from a trailing `;`).
    cells: usize,
}

impl Header {
    /// Reads the header row on line `line`. Empty names at the end of the row (a trailing `;`)
    /// are ignored; every other fault is reported together.
    pub(crate) fn parse(cells: &[&str], line: usize) -> Result<Header, Vec<Fault>> {
        let named = cells.iter().rposition(|c| !c.trim().is_empty()).map_or(0, |i| i + 1);
        let mut faults = Vec::new();
        let mut positions = [None; COUNT];
        let mut spellings = Vec::with_capacity(named);
        let mut unknown = 0;
        for (i, cell) in cells[..named].iter().enumerate() {
            let spelling = cell.trim();
            spellings.push(spelling.to_owned());
            if spelling.is_empty() {
                faults.push(Fault::new(
                    Some(line),
                    None,
                    format!("header cell {} is empty: every column needs a name", i + 1),
                ));
                continue;
            }
            match Column::from_header(spelling) {
                Some(column) => {
                    let slot = &mut positions[column.index()];
                    if slot.is_some() {
                        faults.push(Fault::new(
                            Some(line),
                            Some(spelling),
                            format!("the column {} appears more than once", column.name()),
                        ));
                    } else {
                        *slot = Some(i);
                    }
                }
                None => {
                    unknown += 1;
                    faults.push(Fault::new(
                        Some(line),
                        Some(spelling),
                        "unknown column: see the list of columns in the format's README",
                    ));
                }
            }
        }
        if named > 0 && unknown == named {
            return Err(vec![Fault::new(
                Some(line),
                None,
                "the first line is not a header: it must name the columns, \
                 e.g. tilbud_id;tilbudstype;kommune;sendt;…",
            )]);
        }
        for column in Column::ALL.into_iter().filter(|c| c.required()) {
            if positions[column.index()].is_none() {
                faults.push(Fault::new(
                    Some(line),
                    Some(column.name()),
                    format!("the required column {} is missing from the header", column.name()),
                ));
            }
        }
        if faults.is_empty() {
            Ok(Header {
                positions,
                spellings,
                cells: cells.len(),
            })
        } else {
            Err(faults)
        }
    }

    /// How many columns the header names.
    pub(crate) fn width(&self) -> usize {
        self.spellings.len()
    }

    /// Whether a row of `cells` cells fits: one cell per named column, or as many cells as the
    /// header has when it ends in empty ones.
    pub(crate) fn fits(&self, cells: &[&str]) -> bool {
        cells.len() == self.width()
            || (cells.len() == self.cells && cells.iter().skip(self.width()).all(|c| c.is_empty()))
    }

    /// The column's position in a row, if the file has it.
    pub(crate) fn position(&self, column: Column) -> Option<usize> {
        self.positions[column.index()]
    }

    /// The column's name as the header spells it, or as documented when the file lacks it.
    pub(crate) fn spelling(&self, column: Column) -> &str {
        self.position(column)
            .and_then(|i| self.spellings.get(i))
            .map_or(column.name(), String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_loosely() {
        assert_eq!(Column::from_header(" Værelser "), Some(Column::Vaerelser));
        assert_eq!(Column::from_header("LEDIG-FRA"), Some(Column::LedigFra));
        assert_eq!(Column::from_header("m²"), Some(Column::M2));
        assert_eq!(Column::from_header("Bemærkninger"), Some(Column::Bemaerkninger));
        assert_eq!(Column::from_header("husdyr"), None);
    }

    #[test]
    fn every_column_has_its_own_name() {
        for (i, column) in Column::ALL.into_iter().enumerate() {
            assert_eq!(column.index(), i);
            assert_eq!(Column::from_header(column.name()), Some(column));
        }
    }
}
