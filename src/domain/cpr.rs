//! CPR numbers (personnummer). Special personal data: the `Debug` and `Display` forms are masked,
//! so a CPR number that slips into a log line or a format string shows as `******-****`.

use jiff::civil::Date;
use std::fmt;

/// A CPR number with a real birth date, normalised to ten digits without the hyphen.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cpr(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CprError {
    #[error("a CPR number is ten digits, DDMMYY-SSSS, the hyphen optional")]
    Format,
    #[error("the CPR number's birth date does not exist")]
    NoSuchDate,
    #[error("the CPR number's birth date lies in the future")]
    FutureBirthDate,
}

impl Cpr {
    /// Parses `DDMMYYSSSS` or `DDMMYY-SSSS`. The seventh digit and the year give the century;
    /// the modulus-11 check is deliberately not applied (numbers issued since 2007 may fail it).
    pub fn parse(input: &str, today: Date) -> Result<Cpr, CprError> {
        let digits: String = match input.len() {
            10 => input.to_owned(),
            11 if input.as_bytes()[6] == b'-' => format!("{}{}", &input[..6], &input[7..]),
            _ => return Err(CprError::Format),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CprError::Format);
        }
        let cpr = Cpr(digits);
        let birth = cpr.birth_date().ok_or(CprError::NoSuchDate)?;
        if birth > today {
            return Err(CprError::FutureBirthDate);
        }
        Ok(cpr)
    }

    /// The ten digits, for encryption and keyed hashing only. Never log or print this.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }

    /// The birth date, or `None` when the digits name no real date.
    pub fn birth_date(&self) -> Option<Date> {
        let b = self.0.as_bytes();
        let two = |i: usize| i16::from(b[i] - b'0') * 10 + i16::from(b[i + 1] - b'0');
        let (day, month, yy) = (two(0), two(2), two(4));
        let seventh = b[6] - b'0';
        let century = match seventh {
            0..=3 => 1900,
            4 | 9 if yy <= 36 => 2000,
            4 | 9 => 1900,
            _ if yy <= 57 => 2000,
            _ => 1800,
        };
        let month = i8::try_from(month).ok()?;
        let day = i8::try_from(day).ok()?;
        Date::new(century + yy, month, day).ok()
    }
}

impl fmt::Debug for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cpr(******-****)")
    }
}

impl fmt::Display for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******-****")
    }
}

/// Replaces anything shaped like a CPR number (six digits, an optional hyphen, four digits)
/// with `**********`: receivers' error texts are kept, and may echo what they were sent.
pub fn mask_cpr_like(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = |from: usize, n: usize| {
            bytes
                .get(from..from + n)
                .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
        };
        let boundary_before = i == 0 || !bytes[i - 1].is_ascii_digit();
        if boundary_before && digits(i, 6) {
            let rest = if bytes.get(i + 6) == Some(&b'-') { i + 7 } else { i + 6 };
            if digits(rest, 4) && !bytes.get(rest + 4).is_some_and(u8::is_ascii_digit) {
                out.push_str("**********");
                i = rest + 4;
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("inside the text");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 23);

    #[test]
    fn accepts_with_and_without_hyphen() {
        let a = Cpr::parse("010190-1234", TODAY).unwrap();
        let b = Cpr::parse("0101901234", TODAY).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.birth_date(), Some(date(1990, 1, 1)));
    }

    #[test]
    fn century_follows_the_seventh_digit() {
        let cases = [
            ("0101361234", 1936),
            ("0101364234", 2036),
            ("0101374234", 1937),
            ("0101059234", 2005),
            ("0101589234", 1958),
            ("0101575234", 2057),
            ("0101585234", 1858),
        ];
        for (digits, year) in cases {
            let cpr = Cpr(digits.to_owned());
            assert_eq!(cpr.birth_date().unwrap().year(), year, "{digits}");
        }
    }

    #[test]
    fn rejects_impossible_and_future_dates() {
        assert_eq!(Cpr::parse("3102901234", TODAY), Err(CprError::NoSuchDate));
        assert_eq!(Cpr::parse("2902011234", TODAY), Err(CprError::NoSuchDate));
        assert!(Cpr::parse("2902041234", TODAY).is_ok());
        // Seventh digit 4 with year 30: born 2030, which has not happened yet.
        assert_eq!(Cpr::parse("0101304000", TODAY), Err(CprError::FutureBirthDate));
    }

    #[test]
    fn does_not_require_modulus_11() {
        // 010190-1235 fails the old modulus-11 check but is a legal number today.
        assert!(Cpr::parse("010190-1235", TODAY).is_ok());
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            "",
            "01019012345",
            "010190 1234",
            "01019O1234",
            "010190--234",
            "0101901-234",
        ] {
            assert_eq!(Cpr::parse(bad, TODAY), Err(CprError::Format), "{bad:?}");
        }
    }

    #[test]
    fn never_prints_its_digits() {
        let cpr = Cpr::parse("0101901234", TODAY).unwrap();
        assert!(!format!("{cpr:?} {cpr}").contains("0101901234"));
    }

    #[test]
    fn cpr_shaped_digits_are_masked() {
        assert_eq!(mask_cpr_like("bad cpr 150385-1234!"), "bad cpr **********!");
        assert_eq!(mask_cpr_like("1503851234"), "**********");
        assert_eq!(mask_cpr_like("order 12345678901 ok"), "order 12345678901 ok");
        assert_eq!(mask_cpr_like("æøå 2026"), "æøå 2026");
    }
}
