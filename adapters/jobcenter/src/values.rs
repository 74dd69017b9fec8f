//! Reading one value. Each reader takes trimmed text and gives the canonical value or a message;
//! a message repeats the value only where it holds no personal data (dates, codes, ids).

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

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
    let code = match s.strip_prefix('0') {
        Some(rest) if s.len() == 4 => rest,
        _ => s,
    };
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(format!("`{}` is not a kommunekode: three digits, e.g. 751", shorten(s)))
    }
}

/// An institution code: 1 to 64 characters, a letter or digit first, then letters, digits, `. _ -`.
pub(crate) fn institution_id(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok && s.len() <= 64 && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{}` is not an institution code: 1 to 64 letters, digits and . _ -, a letter or digit first",
            shorten(s)
        ))
    }
}

/// Free text of 1 to `max` characters.
pub(crate) fn text(s: &str, max: usize) -> Result<String, String> {
    let count = s.chars().count();
    if count > max {
        return Err(format!("is {count} characters long; at most {max} are allowed"));
    }
    Ok(s.to_owned())
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
    parse_date(s)
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
    let date = parse_date(date_part).ok_or_else(fault)?;
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
        Some(offset) => parse_offset(offset).ok_or_else(fault)?,
        None => {
            let datetime =
                DateTime::new(date.year(), date.month(), date.day(), hour, minute, second, 0).map_err(|_| fault())?;
            let tz = TimeZone::get("Europe/Copenhagen").map_err(|_| fault())?;
            match tz.to_ambiguous_zoned(datetime).offset() {
                AmbiguousOffset::Unambiguous { offset } => offset.seconds(),
                AmbiguousOffset::Gap { .. } | AmbiguousOffset::Fold { .. } => {
                    return Err(format!(
                        "`{}` is skipped or repeated when Danish clocks change: give it with its offset",
                        shorten(s)
                    ));
                }
            }
        }
    };
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    Ok(format!(
        "{date_part}T{hour:02}:{minute:02}:{second:02}{fraction}{sign}{:02}:{:02}",
        offset / 3600,
        offset % 3600 / 60
    ))
}

fn two(s: &str) -> Option<i8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_date(s: &str) -> Option<Date> {
    let fields: Vec<&str> = s.split('-').collect();
    let [year, month, day] = fields.as_slice() else {
        return None;
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i16 = year.parse().ok()?;
    if !(1900..=2199).contains(&year) {
        return None;
    }
    Date::new(year, two(month)?, two(day)?).ok()
}

/// `±hh:mm` in seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s.get(1..)?.split_once(':')?;
    let (h, m) = (i32::from(two(h)?), i32::from(two(m)?));
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// An email address: a local part, `@`, and a domain of at least two labels.
pub(crate) fn email(s: &str) -> Result<String, String> {
    let fault = || "is not an email address".to_owned();
    let (local, domain) = s.rsplit_once('@').ok_or_else(fault)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(s.to_owned())
    } else {
        Err(fault())
    }
}

/// A telephone number: digits and spaces, optionally starting with `+`, 4 to 20 after the `+`.
pub(crate) fn phone(s: &str) -> Result<String, String> {
    let rest = s.strip_prefix('+').unwrap_or(s);
    if (4..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
        Ok(s.to_owned())
    } else {
        Err("is not a telephone number: digits and spaces, optionally a leading +".to_owned())
    }
}

/// A value repeated in a message, cut to 40 characters.
pub(crate) fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_owned()
    } else {
        s.chars().take(39).chain(['…']).collect()
    }
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
