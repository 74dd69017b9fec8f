//! RFC 5545 calendar objects for deadlines, attached to the team emails. Each deadline has one
//! UID for its whole life, so a moved deadline (METHOD:REQUEST with a higher SEQUENCE) updates
//! the caseworker's calendar entry and a cancelled one (METHOD:CANCEL) removes it. The events
//! carry the deadline's title and the case reference, nothing personal.

use crate::store::CalendarEntry;
use jiff::Timestamp;

fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT values escape backslash, semicolon, comma and line breaks (RFC 5545 3.3.11).
fn text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Content lines longer than 75 octets are folded: CRLF and a space (RFC 5545 3.1), never
/// inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for ch in line.chars() {
        let width = ch.len_utf8();
        if used + width > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(ch);
        used += width;
    }
    out.push_str("\r\n");
}

/// The UID of a deadline's calendar entry.
pub fn uid(deadline: i64, domain: &str) -> String {
    format!("deadline-{deadline}@{domain}")
}

/// One calendar object for one deadline: a 30-minute event at the due time.
pub fn deadline_event(
    entry: &CalendarEntry,
    case_ref: &str,
    link: &str,
    organizer: &str,
    attendee: &str,
    domain: &str,
    now: Timestamp,
) -> String {
    // A met deadline leaves nothing to do: its entry is withdrawn like a cancelled one's.
    let withdrawn = entry.cancelled || entry.met;
    let method = if withdrawn { "CANCEL" } else { "REQUEST" };
    let end = entry.due_at + jiff::SignedDuration::from_mins(30);
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//indgang//indgang//DA".to_owned(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", uid(entry.deadline, domain)),
        format!("SEQUENCE:{}", entry.sequence),
        format!("DTSTAMP:{}", utc(now)),
        format!("DTSTART:{}", utc(entry.due_at)),
        format!("DTEND:{}", utc(end)),
        format!("SUMMARY:{}", text(&format!("Frist: {} – sag {case_ref}", entry.title))),
        format!(
            "DESCRIPTION:{}",
            text(&format!(
                "Fristen \"{}\" på sag {case_ref} i indgang.\n{link}",
                entry.title
            ))
        ),
        format!("URL:{link}"),
        format!("ORGANIZER:mailto:{organizer}"),
        format!("ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{attendee}"),
        format!("STATUS:{}", if withdrawn { "CANCELLED" } else { "CONFIRMED" }),
        "TRANSP:TRANSPARENT".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let mut out = String::new();
    for line in &lines {
        fold(line, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "æ".repeat(60)), &mut out);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{line:?}");
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}\r\n", "æ".repeat(60)));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a, b; c\\d\ne"), "a\\, b\\; c\\\\d\\ne");
    }
}
