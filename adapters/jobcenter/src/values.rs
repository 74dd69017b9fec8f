//! Reading one value. Each reader takes trimmed text and gives the canonical value or a message;
//! a message repeats the value only where it holds no personal data (dates, codes, ids).

use indgang_adapter_common::{self as common, DanishTime};

// The same rules as the other formats': free text, email addresses, telephone numbers, and how a
// value is cut when a message repeats it.
pub(crate) use indgang_adapter_common::{email, phone, shorten, text};

/// A UUID, 8-4-4-4-12 hex digits, in lower case.
pub(crate) fn uuid(s: &str) -> Result<String, String> {
    let groups: Vec<&str> = s.split('-').collect();
    let shape = groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12];
    if shape && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("`{}` is not a UUID (8-4-4-4-12 hex digits)", shorten(s)))
    }
}

/// A kommunekode: three digits; a leading zero, as in `0751`, is dropped.
pub(crate) fn kommunekode(s: &str) -> Result<String, String> {
    common::kommunekode(s).ok_or_else(|| format!("`{}` is not a kommunekode: three digits, e.g. 751", shorten(s)))
}

/// An institution code: 1 to 64 characters, a letter or digit first, then letters, digits, `. _ -`.
pub(crate) fn institution_id(s: &str) -> Result<String, String> {
    if common::is_identifier(s, 64, &['.', '_', '-']) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{}` is not an institution code: 1 to 64 letters, digits and . _ -, a letter or digit first",
            shorten(s)
        ))
    }
}

/// One of `allowed`, exactly as written.
pub(crate) fn code(s: &str, allowed: &[&'static str]) -> Result<&'static str, String> {
    allowed
        .iter()
        .find(|&&a| a == s)
        .copied()
        .ok_or_else(|| format!("`{}` is not one of {}", shorten(s), allowed.join(", ")))
}

/// An `xs:date` without a time zone, `YYYY-MM-DD`, that exists in the calendar.
pub(crate) fn date(s: &str) -> Result<String, String> {
    common::iso_date(s)
        .map(|_| s.to_owned())
        .ok_or_else(|| format!("`{}` is not a date: YYYY-MM-DD, e.g. 2027-02-09", shorten(s)))
}

/// An `xs:dateTime`, `YYYY-MM-DDThh:mm:ss` with an optional fraction and an offset (`Z` or
/// `±hh:mm`), given back as RFC 3339. Without an offset it is Danish time (Europe/Copenhagen),
/// and the offset then in force is added; an hour the clocks skip or repeat is refused.
pub(crate) fn date_time(s: &str) -> Result<String, String> {
    let fault = || {
        format!(
            "`{}` is not a date and time: YYYY-MM-DDThh:mm:ss with an offset, e.g. 2026-11-18T09:00:00+01:00",
            shorten(s)
        )
    };
    let (date_part, rest) = s.split_once('T').ok_or_else(fault)?;
    let date = common::iso_date(date_part).ok_or_else(fault)?;
    let (time_part, offset_part) = match rest.find(['Z', '+', '-']) {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    let (main, fraction) = match time_part.split_once('.') {
        Some((main, f)) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            (main, format!(".{f}"))
        }
        Some(_) => return Err(fault()),
        None => (time_part, String::new()),
    };
    let fields: Vec<&str> = main.split(':').collect();
    let [hour, minute, second] = fields.as_slice() else {
        return Err(fault());
    };
    let (hour, minute, second) = (
        two(hour).ok_or_else(fault)?,
        two(minute).ok_or_else(fault)?,
        two(second).ok_or_else(fault)?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return Err(fault());
    }
    let offset = match offset_part {
        Some("Z") => 0,
        Some(offset) => common::offset(offset).ok_or_else(fault)?,
        None => match common::danish_offset(date, hour, minute, second).ok_or_else(fault)? {
            DanishTime::Offset(seconds) => seconds,
            DanishTime::Skipped | DanishTime::Repeated => {
                return Err(format!(
                    "`{}` is skipped or repeated when Danish clocks change: give it with its offset",
                    shorten(s)
                ));
            }
        },
    };
    Ok(format!(
        "{date_part}T{hour:02}:{minute:02}:{second:02}{fraction}{}",
        common::offset_text(offset)
    ))
}

fn two(s: &str) -> Option<i8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(date("2027-02-09").unwrap(), "2027-02-09");
        for bad in [
            "2027-02-30",
            "2027-2-09",
            "09-02-2027",
            "2027-02-09+01:00",
            "2027-02-09T00:00:00",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            date_time("2026-11-18T09:00:00+01:00").unwrap(),
            "2026-11-18T09:00:00+01:00"
        );
        assert_eq!(date_time("2026-11-18T08:00:00Z").unwrap(), "2026-11-18T08:00:00+00:00");
        assert_eq!(
            date_time("2026-11-18T09:00:00.250-02:30").unwrap(),
            "2026-11-18T09:00:00.250-02:30"
        );
        assert_eq!(date_time("2026-11-18T09:00:00").unwrap(), "2026-11-18T09:00:00+01:00");
        assert_eq!(date_time("2026-07-01T09:00:00").unwrap(), "2026-07-01T09:00:00+02:00");
        assert!(date_time("2026-03-29T02:30:00").is_err());
        for bad in [
            "2026-11-18 09:00:00+01:00",
            "2026-11-18T09:00+01:00",
            "2026-11-18T24:00:00Z",
            "2026-11-18T09:00:00+0100",
        ] {
            assert!(date_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_and_ids() {
        assert_eq!(
            uuid("6F1C2E5A-0B7D-4C1E-9A3F-5D2B8E7C4A10").unwrap(),
            "6f1c2e5a-0b7d-4c1e-9a3f-5d2b8e7c4a10"
        );
        assert!(uuid("6f1c2e5a0b7d4c1e9a3f5d2b8e7c4a10").is_err());
        assert!(uuid("6f1c2e5a-0b7d-4c1e-9a3f-5d2b8e7c4a1g").is_err());
        assert_eq!(kommunekode("0751").unwrap(), "751");
        assert!(kommunekode("75").is_err());
        assert!(institution_id("jobcenter-aarhus").is_ok());
        assert!(institution_id("Jobcenter Aarhus").is_err());
        assert!(code("granted", &["granted", "refused"]).is_ok());
        assert!(code("bevilget", &["granted", "refused"]).is_err());
        assert!(email("anders.kragh@aarhus.dk").is_ok());
        assert!(phone("+45 89 40 20 00").is_ok());
    }
}
