//! Domain rules beyond the schema. Each rule looks only at members that are present and well
//! formed; where the schema already faulted a member, its domain rule stays silent, so one fault
//! is reported once.

use super::{Violation, member};
use crate::domain::Municipalities;
use crate::domain::cpr::CprError;
use crate::domain::kommune::KommuneError;
use crate::domain::{Cpr, Kind, Kommunekode, copenhagen_date};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write;

pub struct Context<'a> {
    pub now: Timestamp,
    /// The date of `now` in Copenhagen.
    pub today: Date,
    pub municipalities: &'a Municipalities,
    pub max_clock_skew_seconds: i64,
}

#[derive(Default)]
pub struct Facts {
    pub cpr: Option<Cpr>,
    pub municipality: Option<Kommunekode>,
}

struct Faults<'v> {
    flagged: HashSet<String>,
    list: &'v mut Vec<Violation>,
}

impl Faults<'_> {
    fn add(&mut self, pointer: &str, rule: &str, message: impl Into<String>) {
        if self.flagged.insert(pointer.to_owned()) {
            self.list.push(Violation {
                pointer: pointer.to_owned(),
                rule: rule.to_owned(),
                message: message.into(),
                line: None,
                column: None,
            });
        }
    }
}

/// Two dates that must come in order: `earlier` ≤ `later`. A breach is reported at `at`.
struct Order {
    earlier: &'static str,
    later: &'static str,
    at: &'static str,
    message: &'static str,
}

const RELEASE_NOTICE_ORDER: &[Order] = &[
    Order {
        earlier: "/custody/admitted_on",
        later: "/release/expected_date",
        at: "/release/expected_date",
        message: "the expected release date lies before the admission date (custody.admitted_on)",
    },
    Order {
        earlier: "/custody/admitted_on",
        later: "/sent_at",
        at: "/custody/admitted_on",
        message: "the admission date lies after the notice was sent (sent_at)",
    },
    Order {
        earlier: "/release_meeting/date",
        later: "/release/expected_date",
        at: "/release_meeting/date",
        message: "the release meeting lies after the expected release date",
    },
    Order {
        earlier: "/custody/admitted_on",
        later: "/transfer/date",
        at: "/transfer/date",
        message: "the transfer date lies before the admission date (custody.admitted_on)",
    },
];

const HOUSING_OFFER_ORDER: &[Order] = &[
    Order {
        earlier: "/sent_at",
        later: "/answer_deadline",
        at: "/answer_deadline",
        message: "the answer deadline lies before the offer was sent (sent_at)",
    },
    Order {
        earlier: "/viewing/at",
        later: "/answer_deadline",
        at: "/viewing/at",
        message: "the viewing lies after the answer deadline",
    },
];

/// The date and date-time members of each kind.
fn date_members(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::ReleaseNotice => &[
            "/custody/admitted_on",
            "/release/expected_date",
            "/release_meeting/date",
            "/transfer/date",
        ],
        Kind::HousingOffer => &["/available_from", "/answer_deadline", "/viewing/at"],
        Kind::JobcenterMessage => &["/benefit/effective_from", "/appointment/at", "/due_date"],
    }
}

/// How far after the date of `sent_at` a date of a message may lie: a release, a viewing, an
/// answer deadline or an appointment is years away at most, never centuries.
pub const MAX_YEARS_AHEAD: i16 = 50;

/// The calendar days of a message's date and date-time members and of `sent_at`, each read once
/// per message: the rules and the warnings ask for them sixteen times, and a date-time's day in
/// Copenhagen costs a time-zone lookup each time.
pub struct Days {
    /// `sent_at` as an instant, when it is one.
    pub sent_at: Option<Timestamp>,
    /// (pointer, its day): `sent_at` first, then the kind's `date_members`; unused places have
    /// the pointer "".
    at: [(&'static str, Option<Date>); 5],
}

impl Days {
    pub fn of(kind: Kind, doc: &Value) -> Days {
        let sent_text = member(doc, "/sent_at").and_then(Value::as_str);
        let sent_at = sent_text.and_then(|s| s.parse::<Timestamp>().ok());
        // As `day_at`, without parsing the instant again.
        let sent_day = sent_text.and_then(|text| {
            (text.len() == 10)
                .then(|| text.parse::<Date>().ok())
                .flatten()
                .or_else(|| sent_at.map(copenhagen_date))
        });
        let mut at = [("", None); 5];
        at[0] = ("/sent_at", sent_day);
        for (place, &pointer) in at[1..].iter_mut().zip(date_members(kind)) {
            *place = (pointer, day_at(doc, pointer));
        }
        Days { sent_at, at }
    }

    /// The day of `pointer`, which is `/sent_at` or one of the kind's `date_members`.
    pub fn get(&self, pointer: &str) -> Option<Date> {
        let found = self.at.iter().find(|(p, _)| *p == pointer);
        debug_assert!(found.is_some(), "{pointer} is not a date member of the message's kind");
        found.and_then(|(_, day)| *day)
    }
}

pub fn check(kind: Kind, doc: &Value, days: &Days, ctx: &Context, violations: &mut Vec<Violation>) -> Facts {
    let flagged = violations.iter().map(|v| v.pointer.clone()).collect();
    let mut faults = Faults {
        flagged,
        list: violations,
    };
    let today = ctx.today;
    let mut facts = Facts::default();

    text_and_numbers(doc, &mut String::new(), &mut faults);

    if let Some(text) = member(doc, "/citizen/cpr").and_then(Value::as_str) {
        match Cpr::parse(text, today) {
            Ok(cpr) => facts.cpr = Some(cpr),
            Err(CprError::Format) => faults.add("/citizen/cpr", "cpr", CprError::Format.to_string()),
            Err(e) => faults.add("/citizen/cpr", "cpr", e.to_string()),
        }
    }

    // Identifiers are stored in clear and logged: none may carry the citizen's CPR number, in
    // whatever spelling (its ten digits in a row once everything else is taken out).
    if let Some(cpr) = &facts.cpr {
        for pointer in ["/message_id", "/previous_message_id", "/offer_id"] {
            if let Some(id) = member(doc, pointer).and_then(Value::as_str) {
                let digits: String = id.chars().filter(char::is_ascii_digit).collect();
                if digits.contains(cpr.expose_digits()) {
                    faults.add(
                        pointer,
                        "no-personal-data",
                        "an identifier must not contain the citizen's CPR number",
                    );
                }
            }
        }
    }

    if let Some(text) = member(doc, "/municipality").and_then(Value::as_str) {
        match Kommunekode::parse(text) {
            Ok(code) if ctx.municipalities.contains(code) => facts.municipality = Some(code),
            Ok(code) => faults.add(
                "/municipality",
                "kommunekode",
                format!("municipality {code} ({}) is not served by this gateway", code.name()),
            ),
            Err(KommuneError::Format) => faults.add("/municipality", "kommunekode", KommuneError::Format.to_string()),
            Err(e) => faults.add("/municipality", "kommunekode", e.to_string()),
        }
    }

    if let Some(sent_at) = days.sent_at
        && sent_at.as_second() > ctx.now.as_second() + ctx.max_clock_skew_seconds
    {
        faults.add("/sent_at", "not-in-future", "sent_at lies in the future");
    }

    if let Some(sent) = days.get("/sent_at")
        && let Ok(limit) = sent.checked_add(jiff::Span::new().years(MAX_YEARS_AHEAD))
    {
        for pointer in date_members(kind) {
            if days.get(pointer).is_some_and(|day| day > limit) {
                faults.add(
                    pointer,
                    "date-range",
                    format!("the date lies more than {MAX_YEARS_AHEAD} years after the message was sent (sent_at)"),
                );
            }
        }
    }

    let orders = match kind {
        Kind::ReleaseNotice => RELEASE_NOTICE_ORDER,
        Kind::HousingOffer => HOUSING_OFFER_ORDER,
        Kind::JobcenterMessage => &[],
    };
    for order in orders {
        if let (Some(earlier), Some(later)) = (days.get(order.earlier), days.get(order.later))
            && earlier > later
        {
            faults.add(order.at, "date-order", order.message);
        }
    }
    facts
}

/// The largest magnitude up to which every whole number is kept exactly as a floating-point
/// number (2^53); serde_json holds a number beyond 64-bit integers as one.
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Every text without control characters (tab, line feed and carriage return are fine), as an
/// XML message must be; every number one that is kept exactly as it was sent.
fn text_and_numbers(value: &Value, pointer: &mut String, faults: &mut Faults) {
    match value {
        Value::String(text) => {
            if let Some(c) = control_character(text) {
                faults.add(
                    pointer,
                    "control-character",
                    format!(
                        "the text holds a control character (U+{:04X}); only tab, line feed and carriage return are allowed",
                        u32::from(c)
                    ),
                );
            }
        }
        Value::Number(number) => {
            if number.is_f64() && number.as_f64().is_some_and(|f| f.abs() >= EXACT_LIMIT) {
                faults.add(pointer, "exact-number", "the number is too large to be kept exactly");
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                // Most arrays are short: a digit pushed as it is, not through `fmt`.
                match u8::try_from(i) {
                    Ok(digit @ 0..10) => {
                        pointer.push('/');
                        pointer.push(char::from(b'0' + digit));
                    }
                    _ => {
                        let _ = write!(pointer, "/{i}");
                    }
                }
                text_and_numbers(item, pointer, faults);
                pointer.truncate(len);
            }
        }
        Value::Object(members) => {
            for (name, item) in members {
                let len = pointer.len();
                pointer.push('/');
                push_segment(pointer, name);
                // A member the schema does not know is reported once, as such (its name cut if
                // long), and not looked into. (A valid message has no faults to look up.)
                let reported = !faults.flagged.is_empty()
                    && (faults.flagged.contains(pointer.as_str())
                        || (name.len() > crate::validation::echo::ECHO_LIMIT && {
                            let cut = super::pointer_segment(&crate::validation::echo::cut(name));
                            faults.flagged.contains(&format!("{}/{cut}", &pointer[..len]))
                        }));
                if !reported {
                    text_and_numbers(item, pointer, faults);
                }
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// The first control character of `text` other than tab, line feed and carriage return: C0
/// (below 0x20), DEL, or C1 (U+0080–U+009F, in UTF-8 0xC2 followed by 0x80–0x9F).
///
/// Looked at 32 bytes at a time with no early exit inside a block, which the compiler turns into
/// vector instructions: a message's free text is most of its bytes, and this runs over all of
/// them. A text with a byte that may be one (below 0x20, 0x7F or 0xC2) is looked at again,
/// block by block, and only such a block byte by byte. Free text often has such bytes without a control character: line feeds, and "§"
/// (0xC2 0xA7) in Danish case notes; a whole text decoded into characters for one of them cost
/// ten instructions a byte.
fn control_character(text: &str) -> Option<char> {
    let bytes = text.as_bytes();
    let suspect = |found: bool, b: &u8| found | (*b < 0x20) | (*b == 0x7f) | (*b == 0xc2);
    // Most texts have no such byte at all: one pass over the whole text, as fast as it gets.
    let whole = bytes.chunks_exact(32);
    let rest = whole.remainder();
    if !(whole.into_iter().any(|block| block.iter().fold(false, suspect)) || rest.iter().fold(false, suspect)) {
        return None;
    }
    let blocks = bytes.chunks_exact(32);
    let rest = (bytes.len() - blocks.remainder().len(), blocks.remainder());
    let at = blocks
        .enumerate()
        .map(|(i, block)| (i * 32, block))
        .chain(std::iter::once(rest))
        .filter(|(_, block)| block.iter().fold(false, suspect))
        .find_map(|(start, block)| {
            block.iter().enumerate().find_map(|(i, b)| {
                let control = match *b {
                    b'\t' | b'\n' | b'\r' => false,
                    0..0x20 | 0x7f => true,
                    // 0xC2 only ever starts a character in UTF-8; the next byte says which.
                    0xc2 => bytes.get(start + i + 1).is_some_and(|next| (0x80..0xa0).contains(next)),
                    _ => false,
                };
                control.then_some(start + i)
            })
        })?;
    // Every byte found starts a character (an ASCII byte, or a lead byte).
    text[at..].chars().next()
}

/// Appends a member name to a JSON pointer with its RFC 6901 escapes, without allocating.
fn push_segment(pointer: &mut String, name: &str) {
    // Looked for as bytes (both are ASCII, and no other character's UTF-8 holds their bytes):
    // `contains` with a set of `char`s decodes the name character by character, and this runs
    // for every member of every message.
    if !name.bytes().any(|b| b == b'~' || b == b'/') {
        pointer.push_str(name);
        return;
    }
    for c in name.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// The calendar day (in Copenhagen) of a `date` or `date-time` member, if present and well formed.
fn day_at(doc: &Value, pointer: &str) -> Option<Date> {
    let text = member(doc, pointer)?.as_str()?;
    if text.len() == 10
        && let Ok(day) = text.parse::<Date>()
    {
        return Some(day);
    }
    text.parse::<Timestamp>().ok().map(copenhagen_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fault deep in a message is reported at its JSON pointer: member names escaped (`~0`,
    /// `~1`), array indexes of one digit and of more.
    #[test]
    fn control_characters_are_reported_at_their_pointer() {
        let mut items = vec![serde_json::json!("ok"); 12];
        items[3] = "a\u{1}".into();
        items[11] = "b\u{7f}".into();
        let doc = serde_json::json!({"a/b": {"c~d": ["x", {"é~/": "\u{0}"}]}, "list": items, "plain": "\u{85}"});
        let mut list = Vec::new();
        let mut faults = Faults {
            flagged: HashSet::new(),
            list: &mut list,
        };
        text_and_numbers(&doc, &mut String::new(), &mut faults);
        let pointers: Vec<&str> = list.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a~1b/c~0d/1/é~0~1", "/list/3", "/list/11", "/plain"]);
        assert!(list.iter().all(|v| v.rule == "control-character"));
    }

    /// What `control_character` finds, character by character.
    fn reference(text: &str) -> Option<char> {
        text.chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    }

    #[test]
    fn every_date_the_rules_and_warnings_compare_is_read_once() {
        for (kind, orders) in [
            (Kind::ReleaseNotice, RELEASE_NOTICE_ORDER),
            (Kind::HousingOffer, HOUSING_OFFER_ORDER),
        ] {
            let known = |pointer: &str| pointer == "/sent_at" || date_members(kind).contains(&pointer);
            assert!(orders.iter().all(|o| known(o.earlier) && known(o.later)));
        }
        assert!(date_members(Kind::ReleaseNotice).contains(&super::super::warnings::RELEASE_DATE));
        assert!(
            [Kind::ReleaseNotice, Kind::HousingOffer, Kind::JobcenterMessage]
                .iter()
                .all(|&kind| date_members(kind).len() < 5)
        );
        // The same days as reading each member on its own.
        let doc: Value = serde_json::json!({
            "sent_at": "2026-03-28T23:30:00Z",
            "custody": {"admitted_on": "2025-01-02"},
            "release": {"expected_date": "2026-13-01"},
            "release_meeting": {"date": "2026-06-01T10:00:00+02:00"},
        });
        let days = Days::of(Kind::ReleaseNotice, &doc);
        for pointer in [
            "/sent_at",
            "/custody/admitted_on",
            "/release/expected_date",
            "/release_meeting/date",
            "/transfer/date",
        ] {
            assert_eq!(days.get(pointer), day_at(&doc, pointer), "{pointer}");
        }
        assert_eq!(days.get("/sent_at"), Some(jiff::civil::date(2026, 3, 29)));
        assert_eq!(days.sent_at, Some("2026-03-28T23:30:00Z".parse().unwrap()));
    }

    #[test]
    fn control_characters_are_found_wherever_they_are_and_only_they() {
        let filler = "Ønsker bolig efter § 94,\tgerne i\r\nAarhus. ";
        let mut inserts: Vec<char> = (0u32..0xa2).filter_map(char::from_u32).collect();
        inserts.extend(['§', '¢', '\u{2028}', '\u{feff}', 'Ø', '😀']);
        for length in [0, 1, 31, 32, 33, 63, 64, 200] {
            let base: String = filler.chars().cycle().take(length).collect();
            assert_eq!(control_character(&base), None, "{base:?}");
            for position in (0..=base.chars().count()).step_by(7) {
                for &c in &inserts {
                    let mut text: String = base.chars().take(position).collect();
                    text.push(c);
                    text.extend(base.chars().skip(position));
                    assert_eq!(control_character(&text), reference(&text), "{text:?}");
                }
            }
        }
    }
}
