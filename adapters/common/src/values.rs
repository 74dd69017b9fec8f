//! Values whose rules are the same in more than one format. Each reader takes trimmed text. The
//! readers that give a message word it in plain words and never repeat the value, as it may be
//! personal (an email address, a telephone number); the predicates leave the message to the
//! adapter, whose formats word it differently.

/// A value repeated in a message, cut to 40 characters, so that a long cell or element does not
/// swamp the message.
pub fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_owned()
    } else {
        s.chars().take(39).chain(['…']).collect()
    }
}

/// Free text of at most `max` characters. Whether it may be empty is the caller's rule.
pub fn text(s: &str, max: usize) -> Result<String, String> {
    let count = s.chars().count();
    if count > max {
        return Err(format!("is {count} characters long; at most {max} are allowed"));
    }
    Ok(s.to_owned())
}

/// Whether `s` is an identifier of at most `max` characters: a letter or digit first, then
/// letters, digits and the characters in `extra` (`[A-Za-z0-9][A-Za-z0-9<extra>]{0,max-1}`).
/// The formats differ only in `max` and `extra`.
pub fn is_identifier(s: &str, max: usize, extra: &[char]) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// A kommunekode as the schemas write it, three digits; a leading zero, as in `0101`, is
/// dropped, since partners' systems often keep the four-digit form. `None` when it is not one.
pub fn kommunekode(s: &str) -> Option<String> {
    let code = match s.strip_prefix('0') {
        Some(rest) if s.len() == 4 => rest,
        _ => s,
    };
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit())).then(|| code.to_owned())
}

/// Whether `s` has the shape of a CPR number: DDMMYY-SSSS or ten digits (`[0-9]{6}-?[0-9]{4}`).
/// The birth date in it is the gateway's check.
pub fn is_cpr(s: &str) -> bool {
    let digits = |part: &str, n: usize| part.len() == n && part.bytes().all(|b| b.is_ascii_digit());
    match s.len() {
        10 => digits(s, 10),
        11 => {
            s.get(..6).is_some_and(|d| digits(d, 6))
                && s.get(6..7) == Some("-")
                && s.get(7..).is_some_and(|d| digits(d, 4))
        }
        _ => false,
    }
}

/// An email address: a local part, `@`, and a domain of at least two labels; kept as written.
pub fn email(s: &str) -> Result<String, String> {
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

/// Whether `s` is a telephone number: digits and spaces, optionally starting with `+`, 4 to 20
/// after the `+` (`\+?[0-9 ]{4,20}`).
pub fn is_phone(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    (4..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit() || b == b' ')
}

/// A telephone number (see [`is_phone`]), kept as written.
pub fn phone(s: &str) -> Result<String, String> {
    if is_phone(s) {
        Ok(s.to_owned())
    } else {
        Err("is not a telephone number: digits and spaces, optionally a leading +".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_in_messages() {
        assert_eq!(shorten("kort"), "kort");
        assert_eq!(shorten(&"æ".repeat(40)), "æ".repeat(40));
        assert_eq!(shorten(&"æ".repeat(41)), format!("{}…", "æ".repeat(39)));
    }

    #[test]
    fn text_is_counted_in_characters() {
        assert_eq!(text("Åse Ørum", 8).unwrap(), "Åse Ørum");
        assert_eq!(
            text("Åse Ørum", 7).unwrap_err(),
            "is 8 characters long; at most 7 are allowed"
        );
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("KIF-HOR-2026/1:a.b_c", 128, &['.', '_', ':', '/', '-']));
        assert!(is_identifier("jobcenter-aarhus", 64, &['.', '_', '-']));
        assert!(!is_identifier("a/b", 64, &['.', '_', '-']));
        assert!(!is_identifier("-KIF", 128, &['-']) && !is_identifier("KIF 1", 128, &['-']));
        assert!(!is_identifier("", 128, &['-']) && !is_identifier("æ", 128, &[]));
        assert!(is_identifier(&"a".repeat(64), 64, &[]) && !is_identifier(&"a".repeat(65), 64, &[]));
    }

    #[test]
    fn kommunekoder() {
        assert_eq!(kommunekode("101").as_deref(), Some("101"));
        assert_eq!(kommunekode("0751").as_deref(), Some("751"));
        for bad in ["1O1", "10", "1010", "00101", "+101", ""] {
            assert_eq!(kommunekode(bad), None, "{bad}");
        }
        assert_eq!(
            kommunekode("075").as_deref(),
            Some("075"),
            "three digits stay as they are"
        );
    }

    #[test]
    fn cpr_shapes() {
        assert!(is_cpr("150385-1234") && is_cpr("1503851234"));
        assert!(!is_cpr("150385 1234") && !is_cpr("15038-51234") && !is_cpr("150385-123"));
        assert!(!is_cpr("1503851234-") && !is_cpr("-1503851234") && !is_cpr("150385--234"));
        assert!(!is_cpr("１５０３８５１２３４"));
    }

    #[test]
    fn email_addresses() {
        for good in ["lise.overgaard@kk.dk", "anders.kragh@aarhus.dk", "a+b@x-y.example.dk"] {
            assert_eq!(email(good).unwrap(), good);
        }
        for bad in [
            "lise(at)kk.dk",
            "a@b",
            "@kk.dk",
            ".a@kk.dk",
            "a..b@kk.dk",
            "a@-kk.dk",
            "a@kk..dk",
            "a b@kk.dk",
            "æ@kk.dk",
        ] {
            assert_eq!(email(bad).unwrap_err(), "is not an email address", "{bad}");
        }
        // The last `@` splits, so an `@` in the local part is refused by its characters.
        assert!(email("a@b@kk.dk").is_err());
    }

    #[test]
    fn telephone_numbers() {
        for good in [
            "+45 33 66 33 66",
            "+45 72 55 38 10",
            "33 66 33 66",
            "7255",
            "+7255",
            &"1".repeat(20),
        ] {
            assert!(is_phone(good), "{good}");
            assert_eq!(phone(good).unwrap(), good);
        }
        for bad in ["33-66", "+", "725", "+725", "72a55", "++7255", &"1".repeat(21)] {
            assert!(!is_phone(bad), "{bad}");
            assert_eq!(
                phone(bad).unwrap_err(),
                "is not a telephone number: digits and spaces, optionally a leading +"
            );
        }
    }
}
