//! The rules a message must meet: the JSON Schema of its kind (compiled once from `schemas/`)
//! and the domain rules a schema cannot say (real CPR birth dates, the official list of
//! kommunekoder, dates that agree with each other). Every fault is reported, not only the first.
//! The server and `indgang validate` both call `Validator::check`, so they always agree.

pub mod echo;
pub mod json;
mod rules;
pub mod schema_paths;
mod warnings;

use crate::config::{IntakeSettings, Settings};
use crate::domain::Municipalities;
use crate::domain::{Cpr, Kind, Kommunekode};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// One fault in a message: where (a JSON pointer into the message) and what, in plain words.
/// Messages never repeat the offending value, so a rejected CPR number is not echoed anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the faulty member; `""` is the whole message.
    pub pointer: String,
    /// The rule broken: a JSON Schema keyword (`required`, `pattern` …), a domain rule (`cpr`,
    /// `kommunekode` …), or the partner format (`xml`, `csv`).
    pub rule: String,
    pub message: String,
    /// Where in a partner-format document (XML) the fault is, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Violation {
    /// A fault of a partner-format document at a line and column.
    pub fn at(rule: &str, line: u32, column: u32, message: String) -> Violation {
        Violation {
            pointer: String::new(),
            rule: rule.to_owned(),
            message,
            line: Some(line),
            column: Some(column),
        }
    }
}

/// Something worth a caseworker's attention that does not make the message invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Warning {
    /// Stable code: `late_notice`, `release_on_friday`, `release_on_weekend`, `release_on_holiday`, `release_in_past`.
    pub code: String,
    pub pointer: String,
    pub message: String,
}

/// A message that met every rule, turned into domain types. Its `Debug` leaves the document
/// out: it holds the CPR number, names and addresses.
pub struct Checked {
    pub kind: Kind,
    pub message_id: String,
    pub sender_id: String,
    pub municipality: Kommunekode,
    pub cpr: Option<Cpr>,
    pub warnings: Vec<Warning>,
    /// The message with the CPR number normalised to ten digits.
    pub document: Value,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("kind", &self.kind)
            .field("sender_id", &self.sender_id)
            .field("municipality", &self.municipality)
            .field("warnings", &self.warnings.len())
            .finish_non_exhaustive()
    }
}

pub struct Validator {
    schemas: HashMap<Kind, jsonschema::Validator>,
    municipalities: Municipalities,
    intake: IntakeSettings,
}

/// The `pattern` of the schemas' `date` and `date_time`: the years 1900 to 2199, so that every
/// deadline a date makes lies well inside what the time library can count.
pub const DATE_RANGE_PATTERN: &str = "^(19|20|21)[0-9]{2}-";
const DATE_RANGE_MESSAGE: &str = "the date lies outside 1900-01-01 to 2199-12-31";

/// The published schemas, embedded in the binary.
pub fn schema_text(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => include_str!("../../schemas/release-notice.v1.json"),
        Kind::HousingOffer => include_str!("../../schemas/housing-offer.v1.json"),
        Kind::JobcenterMessage => include_str!("../../schemas/jobcenter-message.v1.json"),
    }
}

impl Validator {
    /// The validator for the served `municipalities` and `[intake]`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Validator> {
        Validator::new(
            Municipalities::from_settings(&settings.municipalities)?,
            settings.intake.clone(),
        )
    }

    pub fn new(municipalities: Municipalities, intake: IntakeSettings) -> anyhow::Result<Validator> {
        let mut schemas = HashMap::new();
        for kind in Kind::ALL {
            let schema: Value = serde_json::from_str(schema_text(kind))?;
            let compiled = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| anyhow::anyhow!("schema {kind}: {e}"))?;
            schemas.insert(kind, compiled);
        }
        Ok(Validator {
            schemas,
            municipalities,
            intake,
        })
    }

    /// Checks `document` as a message of `kind` received at `now`.
    pub fn check(&self, kind: Kind, mut document: Value, now: Timestamp) -> Result<Checked, Vec<Violation>> {
        let mut violations = self.schema_violations(kind, &document);
        let context = rules::Context {
            now,
            today: crate::domain::copenhagen_date(now),
            municipalities: &self.municipalities,
            max_clock_skew_seconds: self.intake.max_clock_skew_seconds,
        };
        // Every date member read once, for the rules and the warnings.
        let days = rules::Days::of(kind, &document);
        let facts = rules::check(kind, &document, &days, &context, &mut violations);
        if !violations.is_empty() {
            violations.sort_by(|a, b| a.pointer.cmp(&b.pointer));
            return Err(violations);
        }
        if let Some(cpr) = &facts.cpr {
            document["citizen"]["cpr"] = Value::String(cpr.expose_digits().to_owned());
        }
        let warnings = warnings::for_message(kind, &document, &days, context.today, self.intake.late_notice_days);
        let text = |pointer: &str| {
            member(&document, pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Checked {
            kind,
            message_id: text("/message_id"),
            sender_id: text("/sender/id"),
            municipality: facts.municipality.expect("a message without faults has a municipality"),
            cpr: facts.cpr,
            warnings,
            document,
        })
    }

    fn schema_violations(&self, kind: Kind, document: &Value) -> Vec<Violation> {
        use jsonschema::error::ValidationErrorKind as K;
        let schema = &self.schemas[&kind];
        let mut violations = Vec::new();
        // Most messages are valid: the short-circuiting check is the fast path, and only a
        // message that fails it is walked again to collect every fault.
        if schema.is_valid(document) {
            return violations;
        }
        for error in schema.iter_errors(document) {
            let at = error.instance_path().as_str();
            let rule = error.kind().keyword().to_owned();
            let mut push = |pointer: String, message: String| {
                violations.push(Violation {
                    pointer,
                    rule: rule.clone(),
                    message,
                    line: None,
                    column: None,
                });
            };
            match error.kind() {
                // A missing member is reported where it should be.
                K::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    push(child(at, name), format!("{name} is required"));
                }
                // An unexpected member is reported where it is, one fault each.
                // A long name is cut (and says so), in the pointer and in the message.
                K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
                    for name in unexpected {
                        let name = crate::validation::echo::cut(name);
                        push(child(at, &name), format!("{name} is not a member of this object"));
                    }
                }
                // The schemas bound every date and date-time to the years 1900 to 2199.
                K::Pattern { pattern } if pattern == DATE_RANGE_PATTERN => {
                    push(at.to_owned(), DATE_RANGE_MESSAGE.to_owned());
                }
                _ => push(at.to_owned(), error.masked_with("the value").to_string()),
            }
        }
        violations
    }
}

/// The JSON pointer of member `name` of the object at `parent`.
fn child(parent: &str, name: &str) -> String {
    format!("{parent}/{}", pointer_segment(name))
}

/// A member name as a step of a JSON pointer (RFC 6901 escapes).
pub(crate) fn pointer_segment(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The members of a message that carry no personal data, kept in clear beside the encrypted
/// message for listings and reports. Names, CPR numbers, addresses and free text stay out.
pub fn summary(kind: Kind, document: &Value) -> Value {
    let members = summary_members(kind, document)
        .into_iter()
        .map(|(key, value)| (summary_key(key), value.clone()));
    Value::Object(members.collect())
}

/// [`summary`] as the JSON text the store keeps: the same text `summary(…).to_string()` gives
/// (members in key order, compact), written straight from the document. Building the
/// `Value` first, serialising it in the writer thread and dropping its tree there cost some
/// 25,000 instructions per release notice (docs/benchmarks.md, "The case view as text").
pub fn summary_text(kind: Kind, document: &Value) -> String {
    let mut out = Vec::with_capacity(512);
    out.push(b'{');
    for (i, (key, value)) in summary_members(kind, document).into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        // Keys are pointers' ASCII names (letters, digits, `_`) with `.` for `/`: nothing to escape.
        out.extend(key.bytes().map(|b| if b == b'/' { b'.' } else { b }));
        out.extend_from_slice(b"\":");
        json::write_compact(&mut out, value);
    }
    out.push(b'}');
    String::from_utf8(out).expect("JSON written from valid text is valid UTF-8")
}

/// The key of a summary member: its pointer without the leading `/`, with `.` between steps.
fn summary_key(key: &str) -> String {
    key.replace('/', ".")
}

static YES: Value = Value::Bool(true);
static NO: Value = Value::Bool(false);

/// Two members of the summary that are worked out rather than copied: whether the citizen
/// needs help with housing, without the other needs (some are health data; with
/// `housing_at_release` it marks a citizen seeking housing, docs/matching.md), and whether a
/// housing offer names no citizen (a vacant home for the municipality to fill).
const NEEDS_HOUSING: &str = "/needs_housing";
const VACANT: &str = "/vacant";

/// Each kind's summary: pointers to the members copied, in the order of their keys (the
/// pointer without its leading `/`, `.` for `/`: both sort before every character a name
/// here holds, so the pointers' order is the keys'), which is the order `serde_json::Map`
/// keeps them in. Listed sorted, so that nothing is sorted per message.
const RELEASE_NOTICE_SUMMARY: &[&str] = &[
    "/consent",
    "/cover_letter",
    "/custody/admitted_on",
    "/custody/type",
    "/housing_at_release",
    "/income_basis",
    NEEDS_HOUSING,
    "/notice_type",
    "/previous_message_id",
    "/release/expected_date",
    "/release/kind",
    "/release_meeting/date",
    "/sender/name",
    "/transfer/date",
    "/transfer/to_institution/id",
];
const HOUSING_OFFER_SUMMARY: &[&str] = &[
    "/answer_deadline",
    "/available_from",
    "/dwelling/address/postcode",
    "/dwelling/cats_allowed",
    "/dwelling/dogs_allowed",
    "/dwelling/kind",
    "/dwelling/monthly_rent_dkk",
    "/dwelling/rooms",
    "/dwelling/step_free",
    "/offer_id",
    "/offer_type",
    "/sender/name",
    VACANT,
    "/viewing/at",
];
const JOBCENTER_MESSAGE_SUMMARY: &[&str] = &[
    "/appointment/at",
    "/benefit/decision",
    "/benefit/effective_from",
    "/benefit/kind",
    "/due_date",
    "/message_type",
    "/sender/name",
];

/// The summary's members in key order, each key a pointer without its leading `/` (a key's
/// `/` is written as `.`).
fn summary_members(kind: Kind, document: &Value) -> Vec<(&'static str, &Value)> {
    let pointers = match kind {
        Kind::ReleaseNotice => RELEASE_NOTICE_SUMMARY,
        Kind::HousingOffer => HOUSING_OFFER_SUMMARY,
        Kind::JobcenterMessage => JOBCENTER_MESSAGE_SUMMARY,
    };
    pointers
        .iter()
        .filter_map(|&pointer| {
            let value = match pointer {
                NEEDS_HOUSING => {
                    let housing = member(document, "/needs")
                        .and_then(Value::as_array)
                        .is_some_and(|needs| needs.iter().any(|n| n == "housing"));
                    if housing { &YES } else { &NO }
                }
                VACANT if member(document, "/citizen").is_none() => &YES,
                VACANT => &NO,
                _ => member(document, pointer)?,
            };
            Some((&pointer[1..], value))
        })
        .collect()
}

/// The member at a plain JSON pointer (no `~` escapes, as all of ours are), without the
/// allocations `Value::pointer` makes for each step; this runs a dozen times per message.
/// The pointer is cut at its `/` bytes by hand: `str::split` with a `char` pattern went through
/// a general searcher, a third of this function's cost.
pub fn member<'v>(document: &'v Value, pointer: &str) -> Option<&'v Value> {
    // What comes before the first `/` is not a step (it is empty in a pointer).
    let Some(first) = pointer.bytes().position(|b| b == b'/') else {
        return Some(document);
    };
    let mut rest = &pointer[first + 1..];
    let mut value = document;
    loop {
        let (key, next) = match rest.bytes().position(|b| b == b'/') {
            Some(end) => (&rest[..end], Some(&rest[end + 1..])),
            None => (rest, None),
        };
        value = match value {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
        match next {
            Some(next) => rest = next,
            None => return Some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text the store keeps is the text the summary's `Value` gives, for every example of
    /// every kind (read as each of the three kinds, so that absent members are covered too).
    #[test]
    fn the_summary_text_is_the_summary_value_serialised() {
        let mut compared = 0;
        for (path, document) in json::tests::schema_examples() {
            for kind in [Kind::ReleaseNotice, Kind::HousingOffer, Kind::JobcenterMessage] {
                let text = summary_text(kind, &document);
                assert_eq!(text, summary(kind, &document).to_string(), "{}", path.display());
                assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), summary(kind, &document));
                compared += 1;
            }
        }
        assert!(compared >= 30, "{compared}");
        for list in [RELEASE_NOTICE_SUMMARY, HOUSING_OFFER_SUMMARY, JOBCENTER_MESSAGE_SUMMARY] {
            assert!(list.is_sorted(), "{list:?}");
        }
        let odd = serde_json::json!({"notice_type": "initial \"quoted\" \u{1}", "needs": ["housing"],
            "release": {"expected_date": "2027-01-04", "kind": 7.5}, "release_meeting": {"date": null}});
        assert_eq!(
            summary_text(Kind::ReleaseNotice, &odd),
            summary(Kind::ReleaseNotice, &odd).to_string()
        );
        assert!(summary_text(Kind::ReleaseNotice, &odd).contains(r#""needs_housing":true"#));
    }
}
