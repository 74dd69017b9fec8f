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
    let pointers: &[&str] = match kind {
        Kind::ReleaseNotice => &[
            "/notice_type",
            "/previous_message_id",
            "/sender/name",
            "/custody/type",
            "/custody/admitted_on",
            "/release/expected_date",
            "/release/kind",
            "/release_meeting/date",
            "/transfer/to_institution/id",
            "/transfer/date",
            "/housing_at_release",
            "/income_basis",
            "/consent",
            "/cover_letter",
        ],
        Kind::HousingOffer => &[
            "/offer_type",
            "/offer_id",
            "/sender/name",
            "/dwelling/kind",
            "/dwelling/rooms",
            "/dwelling/monthly_rent_dkk",
            "/dwelling/dogs_allowed",
            "/dwelling/cats_allowed",
            "/dwelling/step_free",
            "/dwelling/address/postcode",
            "/available_from",
            "/answer_deadline",
            "/viewing/at",
        ],
        Kind::JobcenterMessage => &[
            "/message_type",
            "/sender/name",
            "/benefit/kind",
            "/benefit/decision",
            "/benefit/effective_from",
            "/appointment/at",
            "/due_date",
        ],
    };
    let mut out = serde_json::Map::new();
    for pointer in pointers {
        if let Some(value) = member(document, pointer) {
            out.insert(pointer[1..].replace('/', "."), value.clone());
        }
    }
    // Whether the citizen needs help with housing, without the other needs (some are health
    // data): with `housing_at_release` it marks a citizen seeking housing (docs/matching.md).
    if kind == Kind::ReleaseNotice {
        let housing = member(document, "/needs")
            .and_then(Value::as_array)
            .is_some_and(|needs| needs.iter().any(|n| n == "housing"));
        out.insert("needs_housing".to_owned(), Value::Bool(housing));
    }
    // A housing offer without a citizen is a vacant home for the municipality to fill.
    if kind == Kind::HousingOffer {
        out.insert("vacant".to_owned(), Value::Bool(member(document, "/citizen").is_none()));
    }
    Value::Object(out)
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
