//! Matching a vacant home with the citizens seeking housing: pure functions over plain records,
//! so that the rules can be tested one by one and the benchmark can rank without a database.
//!
//! The gateway proposes, a person chooses: `rank` excludes the citizens a hard rule rules out
//! (and says which rule), orders the rest by soft preferences, and gives each its reasons in
//! Danish words. Reasons name the home's facts and the citizen's needs, never a person: no CPR
//! number, no name, no address.

mod answer;
mod reasons;
mod rules;
#[cfg(test)]
mod tests;

pub use answer::{ANSWER_REASONS, answer_reason_words};
pub use reasons::{days, kroner};
pub use rules::{HardRule, MatchRules};

use jiff::civil::Date;
use serde::Serialize;

/// The home offered, as the housing offer describes it (no address but the postcode).
#[derive(Debug, Clone, PartialEq)]
pub struct Home {
    pub kind: String,
    pub rooms: u32,
    pub monthly_rent_dkk: f64,
    pub dogs_allowed: bool,
    pub cats_allowed: bool,
    /// `None` when the offer does not say.
    pub step_free: Option<bool>,
    pub postcode: Option<String>,
    pub available_from: Date,
    pub answer_deadline: Date,
}

impl Home {
    /// The home of a housing offer's clear summary (`validation::summary`); `None` when the
    /// summary lacks a member an offer or update always has (a withdrawal, or a message filed
    /// before the summary carried them).
    pub fn from_summary(summary: &serde_json::Value) -> Option<Home> {
        let text = |key: &str| summary.get(key).and_then(|v| v.as_str());
        let date = |key: &str| text(key).and_then(|t| t.parse::<Date>().ok());
        Some(Home {
            kind: text("dwelling.kind")?.to_owned(),
            rooms: u32::try_from(summary.get("dwelling.rooms")?.as_u64()?).ok()?,
            monthly_rent_dkk: summary.get("dwelling.monthly_rent_dkk")?.as_f64()?,
            dogs_allowed: summary.get("dwelling.dogs_allowed")?.as_bool()?,
            cats_allowed: summary
                .get("dwelling.cats_allowed")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            step_free: summary.get("dwelling.step_free").and_then(|v| v.as_bool()),
            postcode: text("dwelling.address.postcode").map(str::to_owned),
            available_from: date("available_from")?,
            answer_deadline: date("answer_deadline")?,
        })
    }
}

/// What a home must offer a citizen. Recorded by a caseworker, or nothing but the defaults when
/// the release notice alone said the citizen seeks housing.
pub use crate::store::HousingNeeds as Needs;

/// A citizen seeking housing, known by the case reference only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeker {
    pub case_ref: String,
    /// The expected release; `None` when no release notice gave one (needs recorded alone).
    pub release_date: Option<Date>,
    /// Since when the citizen has been seeking (the first notice that said so, or the needs).
    pub seeking_since: Date,
    pub needs: Needs,
}

/// A citizen the home suits, with the reasons in Danish words.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub case_ref: String,
    /// 1 for the best.
    pub rank: usize,
    /// The sum of the soft rules' weights met (higher is better); for ordering, not a grade.
    pub score: f64,
    /// `YYYY-MM-DD`; absent when no release notice gave one.
    pub release_date: Option<String>,
    pub reasons: Vec<String>,
}

/// A citizen a hard rule ruled out, with the rule and the reason.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Excluded {
    pub case_ref: String,
    /// `dog`, `cat`, `step_free`, `rent` or `timing`.
    #[schema(value_type = String)]
    pub rule: HardRule,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ranking {
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<Excluded>,
}

/// Ranks the seekers against the home on `today` (Copenhagen): each is excluded by the first
/// hard rule it breaks, in the order of `HardRule::ALL`, or scored by the soft rules. Best first;
/// equal scores go by release date (released and soonest first, none last), then by how long the
/// citizen has waited, then by case reference, so the order never depends on the input's.
pub fn rank(home: &Home, seekers: &[Seeker], today: Date, rules: &MatchRules) -> Ranking {
    let mut scored: Vec<(f64, &Seeker, Vec<String>)> = Vec::with_capacity(seekers.len());
    let mut excluded = Vec::new();
    for seeker in seekers {
        match rules.judge(home, seeker, today) {
            Ok((score, reasons)) => scored.push((score, seeker, reasons)),
            Err((rule, reason)) => excluded.push(Excluded {
                case_ref: seeker.case_ref.clone(),
                rule,
                reason,
            }),
        }
    }
    scored.sort_by(|(a, sa, _), (b, sb, _)| {
        b.total_cmp(a)
            .then_with(|| match (sa.release_date, sb.release_date) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| sa.seeking_since.cmp(&sb.seeking_since))
            .then_with(|| sa.case_ref.cmp(&sb.case_ref))
    });
    excluded.sort_by(|a, b| a.case_ref.cmp(&b.case_ref));
    let candidates = scored
        .into_iter()
        .enumerate()
        .map(|(i, (score, seeker, reasons))| Candidate {
            case_ref: seeker.case_ref.clone(),
            rank: i + 1,
            score: (score * 1000.0).round() / 1000.0,
            release_date: seeker.release_date.map(|d| d.to_string()),
            reasons,
        })
        .collect();
    Ranking { candidates, excluded }
}

/// The seeker a citizen case makes, or `None` when the citizen does not seek housing: a case
/// seeks housing when a caseworker recorded needs on it, or when its latest release notice lists
/// `housing` among the `needs` with `housing_at_release` `none` or `unknown`; and stops when its
/// housing deadline is met (a home was found) or cancelled (the notice was cancelled, or the
/// citizen moved to another municipality). A missed housing deadline, a citizen released without
/// housing, still seeks.
pub fn seeker(row: &crate::store::SeekerRow) -> Option<Seeker> {
    if matches!(row.housing_deadline.as_deref(), Some("met" | "cancelled")) {
        return None;
    }
    let says_seeking = |summary: &serde_json::Value| {
        summary.get("needs_housing") == Some(&serde_json::Value::Bool(true))
            && matches!(
                summary.get("housing_at_release").and_then(|v| v.as_str()),
                Some("none" | "unknown")
            )
    };
    let latest_says = row.notices.last().is_some_and(|(_, s)| says_seeking(s));
    if row.needs.is_none() && !latest_says {
        return None;
    }
    let release_date = row.notices.iter().rev().find_map(|(_, s)| {
        s.get("release.expected_date")
            .and_then(|v| v.as_str())
            .and_then(|t| t.parse::<Date>().ok())
    });
    let first_said = row.notices.iter().find(|(_, s)| says_seeking(s)).map(|(at, _)| *at);
    let since = [first_said, row.needs_recorded_at].into_iter().flatten().min()?;
    Some(Seeker {
        case_ref: row.case_ref.as_str().to_owned(),
        release_date,
        seeking_since: crate::domain::copenhagen_date(since),
        needs: row.needs.clone().unwrap_or_default(),
    })
}
