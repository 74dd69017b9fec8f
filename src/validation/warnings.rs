//! Warnings on a release notice's receipt: never a rejection, always worth a look. They are
//! stored with the message for the reports (late notices are counted per sending institution).

use super::Warning;
use super::rules::Days;
use crate::domain::Kind;
use crate::domain::calendar::{holiday_name, is_weekend};
use jiff::civil::{Date, Weekday};
use serde_json::Value;

pub(super) const RELEASE_DATE: &str = "/release/expected_date";

/// `days` are the message's dates (`Days::of`), `today` the date of its arrival in Copenhagen.
pub fn for_message(kind: Kind, doc: &Value, days: &Days, today: Date, late_notice_days: i32) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if kind != Kind::ReleaseNotice || doc["notice_type"] == "cancellation" {
        return warnings;
    }
    let Some(release) = days.get(RELEASE_DATE) else {
        return warnings;
    };
    let mut warn = |code: &str, message: String| {
        warnings.push(Warning {
            code: code.into(),
            pointer: RELEASE_DATE.into(),
            message,
        });
    };
    if release < today {
        warn(
            "release_in_past",
            format!("the expected release date {release} has already passed"),
        );
    }
    if let Some(sent) = days.get("/sent_at") {
        let days = (release - sent).get_days();
        if (0..late_notice_days).contains(&days) {
            warn(
                "late_notice",
                format!(
                    "the release is {days} days after the notice, less than the {late_notice_days} days the road map asks for"
                ),
            );
        }
    }
    if let Some(name) = holiday_name(release) {
        warn(
            "release_on_holiday",
            format!("the release falls on a public holiday ({name})"),
        );
    } else if is_weekend(release) {
        warn(
            "release_on_weekend",
            format!("the release falls on a {}", weekday_name(release.weekday())),
        );
    } else if release.weekday() == Weekday::Friday {
        warn("release_on_friday", "the release falls on a Friday".to_owned());
    }
    warnings
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
        _ => "weekday",
    }
}
