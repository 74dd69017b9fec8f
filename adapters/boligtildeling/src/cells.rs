//! Reading one cell. Each reader takes a trimmed, non-empty cell and gives the canonical value or
//! a message in plain words. Messages repeat the cell only where it holds no personal data
//! (dates, amounts, codes), never a CPR number, a name or an address.

use indgang_adapter_common::{self as common, DanishTime, shorten};
use jiff::civil::Date;
use serde_json::{Number, Value};

// The same rules as the other formats': free text, email addresses, telephone numbers.
pub(crate) use indgang_adapter_common::{email, phone, text};

/// An identifier in the form of the schema's `message_id`: 1 to 128 characters, a letter or
/// digit first, then letters, digits and `. _ : / -`.
pub(crate) fn identifier(cell: &str) -> Result<String, String> {
    if common::is_identifier(cell, 128, &['.', '_', ':', '/', '-']) {
        Ok(cell.to_owned())
    } else {
        Err(format!(
            "`{}` is not an identifier: 1 to 128 characters, a letter or digit first, \
             then only letters, digits and . _ : / -",
            shorten(cell)
        ))
    }
}

/// `tilbud`, `opdatering` or `tilbagetrukket` (or the schema's `offer`, `update`, `withdrawal`).
pub(crate) fn offer_type(cell: &str) -> Result<&'static str, String> {
    match key(cell).as_str() {
        "tilbud" | "offer" => Ok("offer"),
        "opdatering" | "aendring" | "update" => Ok("update"),
        "tilbagetrukket" | "tilbagetraekning" | "withdrawal" => Ok("withdrawal"),
        _ => Err(format!(
            "`{}` is not an offer type: use tilbud, opdatering or tilbagetrukket",
            shorten(cell)
        )),
    }
}

/// The kind of home, in Danish words or as the schema's code.
pub(crate) fn dwelling_kind(cell: &str) -> Result<&'static str, String> {
    match key(cell).as_str() {
        "almen" | "almenbolig" | "publichousing" => Ok("public_housing"),
        "privat" | "privatudlejning" | "privatrental" => Ok("private_rental"),
        "skaev" | "skaevbolig" => Ok("skaev_bolig"),
        "107" | "sl107" => Ok("sl_107"),
        "108" | "sl108" => Ok("sl_108"),
        "bofaellesskab" | "opgangsfaellesskab" | "saerbolig" | "sharedsupported" => Ok("shared_supported"),
        "ungdomsbolig" | "youthhousing" => Ok("youth_housing"),
        "aeldrebolig" | "seniorbolig" | "seniorhousing" => Ok("senior_housing"),
        "andet" | "other" => Ok("other"),
        _ => Err(format!(
            "`{}` is not a kind of home: use almen, privat, skæv bolig, § 107, § 108, bofællesskab, \
             ungdomsbolig, ældrebolig or andet",
            shorten(cell)
        )),
    }
}

/// A kommunekode: three digits (a leading zero, as in `0101`, is dropped).
pub(crate) fn kommunekode(cell: &str) -> Result<String, String> {
    common::kommunekode(cell).ok_or_else(|| format!("`{}` is not a kommunekode: three digits, e.g. 101", shorten(cell)))
}

/// A CPR number, DDMMYY-SSSS or ten digits; kept as written. The birth date is the gateway's check.
pub(crate) fn cpr(cell: &str) -> Result<String, String> {
    if common::is_cpr(cell) {
        Ok(cell.to_owned())
    } else {
        Err("is not a CPR number: DDMMYY-SSSS or ten digits".to_owned())
    }
}

/// A four-digit postcode.
pub(crate) fn postcode(cell: &str) -> Result<String, String> {
    if cell.len() == 4 && cell.bytes().all(|b| b.is_ascii_digit()) {
        Ok(cell.to_owned())
    } else {
        Err(format!("`{}` is not a postcode: four digits, e.g. 2700", shorten(cell)))
    }
}

/// A whole number of rooms, 1 to 20.
pub(crate) fn rooms(cell: &str) -> Result<u64, String> {
    match cell.parse::<u64>() {
        Ok(n @ 1..=20) if cell.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!(
            "`{}` is not a number of rooms: a whole number from 1 to 20",
            shorten(cell)
        )),
    }
}

/// An amount with a Danish decimal comma: `6450`, `6450,5`, `6.450,50`; a point only groups
/// thousands. At most two decimals and 999.999.999 before the comma. Whole amounts become JSON
/// integers.
pub(crate) fn amount(cell: &str) -> Result<(f64, Value), String> {
    let fault = |why: &str| format!("`{}` is not an amount: {why}", shorten(cell));
    if cell.starts_with('-') {
        return Err(fault("it must not be negative"));
    }
    let (whole, fraction) = match cell.split_once(',') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (cell, None),
    };
    let digits: String = if whole.contains('.') {
        let mut groups = whole.split('.');
        let first = groups.next().unwrap_or_default();
        let first_ok = (1..=3).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_digit());
        let rest_ok = groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
        if !(first_ok && rest_ok) {
            return Err(fault(
                "use a decimal comma, e.g. 6450,50; a point only separates thousands (6.450,50)",
            ));
        }
        whole.replace('.', "")
    } else if !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) {
        whole.to_owned()
    } else {
        return Err(fault("write digits with a decimal comma, e.g. 6450,50 or 6.450,50"));
    };
    let digits = digits.trim_start_matches('0');
    if digits.len() > 9 {
        return Err(fault("it is too large"));
    }
    let fraction = match fraction {
        None => "",
        Some(f) if (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => f,
        Some(_) => return Err(fault("give at most two digits after the decimal comma")),
    };
    let whole: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| fault("bad digits"))?
    };
    if fraction.bytes().all(|b| b == b'0') {
        return Ok((whole as f64, Value::from(whole)));
    }
    let value: f64 = format!("{whole}.{fraction}").parse().map_err(|_| fault("bad digits"))?;
    let number = Number::from_f64(value).ok_or_else(|| fault("bad digits"))?;
    Ok((value, Value::Number(number)))
}

/// `ja` or `nej` (also `j`/`n`, `x`, `1`/`0`, `true`/`false`, `yes`/`no`).
pub(crate) fn boolean(cell: &str) -> Result<bool, String> {
    match key(cell).as_str() {
        "ja" | "j" | "x" | "1" | "true" | "yes" => Ok(true),
        "nej" | "n" | "0" | "false" | "no" => Ok(false),
        _ => Err(format!("`{}` is neither ja nor nej", shorten(cell))),
    }
}

/// A date as `dd-mm-yyyy` (also with `.` or `/`, and one-digit day or month), or `yyyy-mm-dd`;
/// the canonical form is `yyyy-mm-dd`.
pub(crate) fn date(cell: &str) -> Result<String, String> {
    let date = parse_date(cell)
        .ok_or_else(|| format!("`{}` is not a date: write dd-mm-yyyy, e.g. 01-12-2026", shorten(cell)))?;
    Ok(format_date(date))
}

/// A time of day with a date: `dd-mm-yyyy hh:mm` (seconds, `.` for `:` and `kl.` allowed),
/// Danish time, given the offset in force in Europe/Copenhagen; or RFC 3339 with its offset,
/// `2026-11-19T10:00:00+01:00`, kept as it is (or as local Danish time when it has no offset).
pub(crate) fn date_time(cell: &str) -> Result<String, String> {
    let fault = || {
        format!(
            "`{}` is not a date and time: write dd-mm-yyyy hh:mm (Danish time), e.g. 19-11-2026 10:00",
            shorten(cell)
        )
    };
    let (date_part, rest) = match cell.find([' ', 'T', 't']) {
        Some(at) => (&cell[..at], cell[at + 1..].trim_start()),
        None => return Err(fault()),
    };
    let date = parse_date(date_part).ok_or_else(fault)?;
    let rest = rest
        .strip_prefix("kl.")
        .or_else(|| rest.strip_prefix("kl"))
        .map_or(rest, str::trim_start);
    let iso = date_part.len() == 10 && date_part.as_bytes().get(4) == Some(&b'-');
    // The time runs up to the offset, if any.
    let offset_at = rest.find(['Z', 'z', '+', '-']);
    let (time_part, offset_part) = match offset_at {
        Some(at) if iso => (&rest[..at], Some(&rest[at..])),
        Some(_) => return Err(fault()),
        None => (rest, None),
    };
    let (hour, minute, second, fraction) = parse_time(time_part, iso).ok_or_else(fault)?;
    let offset_seconds = match offset_part {
        Some("Z" | "z") => 0,
        Some(offset) => common::offset(offset).ok_or_else(fault)?,
        None => match common::danish_offset(date, hour, minute, second).ok_or_else(fault)? {
            DanishTime::Offset(seconds) => seconds,
            DanishTime::Skipped => {
                return Err(format!(
                    "`{}` does not exist in Danish time: the clocks skip that hour",
                    shorten(cell)
                ));
            }
            DanishTime::Repeated => {
                return Err(format!(
                    "`{}` happens twice in Danish time (the clocks go back): give it in RFC 3339 \
                     with its offset, e.g. 2026-10-25T02:30:00+02:00",
                    shorten(cell)
                ));
            }
        },
    };
    Ok(format!(
        "{}T{hour:02}:{minute:02}:{second:02}{fraction}{}",
        format_date(date),
        common::offset_text(offset_seconds)
    ))
}

fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

fn parse_date(s: &str) -> Option<Date> {
    let separator = s.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(separator, '-' | '.' | '/') {
        return None;
    }
    let parts: Vec<&str> = s.split(separator).collect();
    let [a, b, c] = parts.as_slice() else { return None };
    if a.len() == 4 && separator == '-' {
        return common::iso_date(s);
    }
    let number = |p: &str, lengths: std::ops::RangeInclusive<usize>| {
        (lengths.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i16>().ok())
            .flatten()
    };
    let (year, month, day) = (number(c, 4..=4)?, number(b, 1..=2)?, number(a, 1..=2)?);
    common::calendar_date(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?)
}

/// `hh:mm`, `hh:mm:ss`; Danish forms may use `.`; ISO forms may carry a fraction of a second.
fn parse_time(s: &str, iso: bool) -> Option<(i8, i8, i8, String)> {
    let (main, fraction) = match s.split_once('.') {
        Some((main, f)) if iso => (main, Some(f)),
        _ => (s, None),
    };
    let main = if iso { main.to_owned() } else { main.replace('.', ":") };
    let parts: Vec<&str> = main.split(':').collect();
    let two = |p: &str| {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i8>().ok())
            .flatten()
    };
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (two(h)?, two(m)?, 0),
        [h, m, s] => (two(h)?, two(m)?, two(s)?),
        _ => return None,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let fraction = match fraction {
        None => String::new(),
        Some(f) if parts.len() == 3 && (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!(".{f}")
        }
        Some(_) => return None,
    };
    Some((hour, minute, second, fraction))
}

/// Lower case, æ ø å as ae oe aa, only letters and digits: the key words are compared by.
fn key(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    for c in cell.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_a_decimal_comma() {
        assert_eq!(amount("6.450,50").unwrap().1, serde_json::json!(6450.5));
        assert_eq!(amount("6450,50").unwrap().1, serde_json::json!(6450.5));
        assert_eq!(amount("6450,5").unwrap().1, serde_json::json!(6450.5));
        assert_eq!(amount("4.875").unwrap().1, serde_json::json!(4875));
        assert_eq!(amount("4875,00").unwrap().1, serde_json::json!(4875));
        assert_eq!(amount("0").unwrap().1, serde_json::json!(0));
        assert_eq!(amount("1.234.567,89").unwrap().1, serde_json::json!(1234567.89));
        for bad in [
            "6450.50",
            "6,450.50",
            "64,505",
            "-100",
            "12a",
            ",5",
            "1.23,4",
            "1..000",
            "",
            "1 000",
            "9999999999",
        ] {
            assert!(amount(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn dates_are_day_month_year() {
        assert_eq!(date("01-12-2026").unwrap(), "2026-12-01");
        assert_eq!(date("1.2.2027").unwrap(), "2027-02-01");
        assert_eq!(date("24/11/2026").unwrap(), "2026-11-24");
        assert_eq!(date("2026-12-01").unwrap(), "2026-12-01");
        for bad in [
            "30-02-2027",
            "2026-12-1",
            "01-13-2026",
            "01-12-26",
            "01-12-2026x",
            "1-2-3-2026",
            "01:12:2026",
        ] {
            assert!(date(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn date_times_get_the_danish_offset() {
        assert_eq!(date_time("19-11-2026 10:00").unwrap(), "2026-11-19T10:00:00+01:00");
        assert_eq!(date_time("19-06-2026 kl. 10.30").unwrap(), "2026-06-19T10:30:00+02:00");
        assert_eq!(
            date_time("2026-11-19T10:00:00+01:00").unwrap(),
            "2026-11-19T10:00:00+01:00"
        );
        assert_eq!(
            date_time("2026-11-19T09:00:00.5Z").unwrap(),
            "2026-11-19T09:00:00.5+00:00"
        );
        assert_eq!(date_time("2026-06-19 10:00").unwrap(), "2026-06-19T10:00:00+02:00");
        // 29 March 2026 02:30 does not exist; 25 October 2026 02:30 happens twice.
        assert!(date_time("29-03-2026 02:30").unwrap_err().contains("does not exist"));
        assert!(date_time("25-10-2026 02:30").unwrap_err().contains("twice"));
        for bad in [
            "19-11-2026",
            "19-11-2026 25:00",
            "19-11-2026 10:00+01:00",
            "2026-11-19T10:00:00+1",
        ] {
            assert!(date_time(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn words_in_danish_or_as_codes() {
        assert_eq!(offer_type("Tilbagetrækning").unwrap(), "withdrawal");
        assert_eq!(dwelling_kind("Skæv bolig").unwrap(), "skaev_bolig");
        assert_eq!(dwelling_kind("§ 107").unwrap(), "sl_107");
        assert_eq!(dwelling_kind("public_housing").unwrap(), "public_housing");
        assert!(boolean("Ja").unwrap());
        assert!(!boolean("NEJ").unwrap());
        assert!(boolean("måske").is_err());
    }

    #[test]
    fn identifiers_and_codes() {
        assert_eq!(kommunekode("0101").unwrap(), "101");
        assert!(kommunekode("1O1").is_err());
        assert!(kommunekode("10").is_err());
        assert!(cpr("110482-3344").is_ok());
        assert!(cpr("1104823344").is_ok());
        assert!(cpr("11048-23344").is_err());
        assert!(identifier("TILBUD-2026-0873").is_ok());
        assert!(identifier("-x").is_err());
        assert!(email("lise.overgaard@kk.dk").is_ok());
        assert!(email("lise(at)kk.dk").is_err());
        assert!(phone("+45 33 66 33 66").is_ok());
        assert!(phone("33-66").is_err());
    }
}
