//! Simple values: the XSD's simple types, checked exactly as an XML Schema processor checks them,
//! and turned into JSON (and back).
//!
//! Types derived from `xs:string` (identifiers, codes, names, notes) keep their text exactly, so a
//! leading space is part of the value and breaks a pattern. Dates, instants, booleans and numbers
//! are `xs:date`, `xs:dateTime`, `xs:boolean` and `xs:positiveInteger`, whose whitespace is
//! collapsed: the adapter trims XML whitespace around them as the XSD does.
//! Messages never repeat the value.

use crate::format::Rule;
use crate::text::{is_space, is_xml_char};
use indgang_adapter_common::{is_cpr, is_identifier, is_phone};
use serde_json::Value;

/// Checks the text of a simple element and gives its JSON value.
pub(crate) fn check(rule: Rule, raw: &str) -> Result<Value, String> {
    let string = || Value::String(raw.to_owned());
    let collapsed = raw.trim_matches(is_space);
    match rule {
        Rule::MessageId => is_identifier(raw, 128, &['.', '_', ':', '/', '-'])
            .then(string)
            .ok_or_else(|| "must be 1 to 128 characters: a letter or digit, then letters, digits and . _ : / -".into()),
        Rule::InstitutionId => is_identifier(raw, 64, &['.', '_', '-'])
            .then(string)
            .ok_or_else(|| "must be 1 to 64 characters: a letter or digit, then letters, digits and . _ -".into()),
        Rule::Kommunekode => (raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(string)
            .ok_or_else(|| "must be three digits".into()),
        Rule::Cpr => is_cpr(raw)
            .then(string)
            .ok_or_else(|| "must be a CPR number, DDMMYY-SSSS (the hyphen may be left out)".into()),
        Rule::Date => date(collapsed)
            .then(|| Value::String(collapsed.to_owned()))
            .ok_or_else(|| "must be a calendar date YYYY-MM-DD that exists".into()),
        Rule::DateTime => date_time(collapsed)
            .then(|| Value::String(collapsed.to_owned()))
            .ok_or_else(|| {
                "must be an instant YYYY-MM-DDThh:mm:ss with a UTC offset (Z or +hh:mm), e.g. 2026-11-03T09:30:00+01:00"
                    .into()
            }),
        Rule::Days => days(collapsed)
            .map(Value::from)
            .ok_or_else(|| "must be a whole number of days from 1 to 999999999, without sign or leading zero".into()),
        Rule::Boolean => match collapsed {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("must be true or false (or 1 or 0)".into()),
        },
        Rule::Text200 => (1..=200)
            .contains(&raw.chars().count())
            .then(string)
            .ok_or_else(|| "must be 1 to 200 characters".into()),
        Rule::Notes => (raw.chars().count() <= 4000)
            .then(string)
            .ok_or_else(|| "must be at most 4000 characters".into()),
        Rule::Email => email_shape(raw)
            .then(string)
            .ok_or_else(|| "must be an e-mail address, name@domain".into()),
        Rule::Phone => is_phone(raw)
            .then(string)
            .ok_or_else(|| "must be 4 to 20 digits and spaces, optionally after a +".into()),
        Rule::Code(codes) => codes
            .contains(&raw)
            .then(string)
            .ok_or_else(|| format!("must be one of {}", codes.join(", "))),
    }
}

/// The text of a simple element for a JSON value, if the value has the JSON type the rule needs
/// and holds only characters XML 1.0 can carry.
pub(crate) fn to_text(rule: Rule, value: &Value) -> Result<String, String> {
    let text = match (rule, value) {
        (Rule::Boolean, Value::Bool(b)) => b.to_string(),
        (Rule::Boolean, _) => return Err("must be true or false".into()),
        (Rule::Days, Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        (Rule::Days, _) => return Err("must be a whole number".into()),
        (_, Value::String(s)) => s.clone(),
        (_, _) => return Err("must be a string".into()),
    };
    match text.chars().find(|&c| !is_xml_char(c)) {
        Some(c) => Err(format!(
            "holds the character U+{:04X}, which XML 1.0 cannot carry",
            u32::from(c)
        )),
        None => Ok(text),
    }
}

/// `[^@\s]+@[^@\s]+`
fn email_shape(s: &str) -> bool {
    let part = |p: &str| !p.is_empty() && !p.contains(|c| c == '@' || is_space(c));
    s.split_once('@')
        .is_some_and(|(local, domain)| part(local) && part(domain))
}

/// `[1-9][0-9]{0,8}`
fn days(s: &str) -> Option<u64> {
    let shaped = (1..=9).contains(&s.len()) && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit());
    shaped.then(|| s.parse().ok()).flatten()
}

fn number(s: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| range.contains(n))
}

/// `YYYY-MM-DD`, a date of the proleptic Gregorian calendar from year 0001 (XML Schema 1.0 has no
/// year 0000).
fn date(s: &str) -> bool {
    let (Some(y), Some("-"), Some(m), Some("-"), Some(d), 10) = (
        s.get(0..4),
        s.get(4..5),
        s.get(5..7),
        s.get(7..8),
        s.get(8..10),
        s.len(),
    ) else {
        return false;
    };
    let (Some(year), Some(month)) = (number(y, 1..=9999), number(m, 1..=12)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let last_day = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    number(d, 1..=last_day).is_some()
}

/// `date T hh:mm:ss(.s+)? (Z | ±hh:mm)`, hours 00–23, offsets up to 14:00.
fn date_time(s: &str) -> bool {
    let (Some(day), Some("T"), Some(time)) = (s.get(..10), s.get(10..11), s.get(11..)) else {
        return false;
    };
    if !date(day) {
        return false;
    }
    let (Some(h), Some(":"), Some(m), Some(":"), Some(sec), Some(rest)) = (
        time.get(0..2),
        time.get(2..3),
        time.get(3..5),
        time.get(5..6),
        time.get(6..8),
        time.get(8..),
    ) else {
        return false;
    };
    if number(h, 0..=23).is_none() || number(m, 0..=59).is_none() || number(sec, 0..=59).is_none() {
        return false;
    }
    let offset = match rest.strip_prefix('.') {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return false;
            }
            &fraction[digits..]
        }
        None => rest,
    };
    if offset == "Z" {
        return true;
    }
    let (Some(sign), Some(oh), Some(":"), Some(om), 6) = (
        offset.get(0..1),
        offset.get(1..3),
        offset.get(3..4),
        offset.get(4..6),
        offset.len(),
    ) else {
        return false;
    };
    matches!(sign, "+" | "-")
        && match (number(oh, 0..=14), number(om, 0..=59)) {
            (Some(14), Some(minutes)) => minutes == 0,
            (Some(_), Some(_)) => true,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(date("2028-02-29"));
        assert!(date("2000-02-29"));
        assert!(!date("1900-02-29"));
        assert!(!date("2027-02-29"));
        assert!(!date("2027-04-31"));
        assert!(!date("0000-01-01"));
        assert!(!date("2027-1-01"));
        assert!(!date("18-02-2027"));
        assert!(!date("2027-02-18Z"));
        assert!(!date("+027-02-18"));
    }

    #[test]
    fn instants() {
        assert!(date_time("2026-11-03T09:30:00+01:00"));
        assert!(date_time("2026-11-03T08:30:00Z"));
        assert!(date_time("2026-11-03T08:30:00.125-14:00"));
        assert!(!date_time("2026-11-03T08:30:00"));
        assert!(!date_time("2026-11-03T24:00:00Z"));
        assert!(!date_time("2026-11-03T08:30:60Z"));
        assert!(!date_time("2026-11-03t08:30:00z"));
        assert!(!date_time("2026-11-03T08:30:00.Z"));
        assert!(!date_time("2026-11-03T08:30:00+14:30"));
        assert!(!date_time("2026-11-03T08:30:00+1:00"));
        assert!(!date_time("2026-11-03 08:30:00Z"));
    }

    #[test]
    fn collapsed_types_are_trimmed_and_strings_are_not() {
        assert_eq!(check(Rule::Date, "\n 2027-02-18\t").unwrap(), "2027-02-18");
        assert_eq!(check(Rule::Boolean, " 1 ").unwrap(), true);
        assert_eq!(check(Rule::Days, " 730 ").unwrap(), 730);
        assert!(check(Rule::Days, "0730").is_err());
        assert!(check(Rule::Days, "+730").is_err());
        assert!(check(Rule::Kommunekode, " 751").is_err());
        assert!(check(Rule::Code(&["given"]), "given ").is_err());
        assert_eq!(check(Rule::Text200, " æ ").unwrap(), " æ ");
    }

    /// The CPR number, telephone and identifier shapes are the other formats' as well, and are
    /// tested with them in `indgang-adapter-common`; the e-mail shape is this format's own.
    #[test]
    fn shapes() {
        assert!(email_shape("a@b") && !email_shape("a@b@c") && !email_shape("a b@c") && !email_shape("@c"));
    }

    #[test]
    fn json_types() {
        assert_eq!(to_text(Rule::Boolean, &Value::Bool(true)).unwrap(), "true");
        assert!(to_text(Rule::Boolean, &Value::from("true")).is_err());
        assert_eq!(to_text(Rule::Days, &Value::from(12)).unwrap(), "12");
        assert!(to_text(Rule::Days, &Value::from(1.5)).is_err());
        assert!(to_text(Rule::Notes, &Value::from(1)).is_err());
        assert!(to_text(Rule::Notes, &Value::from("a\u{1}b")).is_err());
    }
}
