//! Deadlines, their history, what a message or a caseworker does to them, and the daily digest.

use crate::domain::CaseRef;
use jiff::Timestamp;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Open,
    Met,
    Missed,
    Cancelled,
}

impl DeadlineState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::Open => "open",
            DeadlineState::Met => "met",
            DeadlineState::Missed => "missed",
            DeadlineState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<DeadlineState> {
        [
            DeadlineState::Open,
            DeadlineState::Met,
            DeadlineState::Missed,
            DeadlineState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A deadline with its history.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineRecord {
    pub id: i64,
    pub case_ref: CaseRef,
    pub municipality: String,
    pub policy: String,
    pub title: String,
    pub scope: String,
    pub team: Option<String>,
    pub state: DeadlineState,
    pub due_at: Timestamp,
    pub next_alert_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    pub outcome: Option<String>,
    pub events: Vec<DeadlineEvent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineEvent {
    pub at: Timestamp,
    /// created, moved, cancelled, reminded, missed, met, reopened
    pub event: String,
    /// A token id, `receipt:<id>` of a message, or `scheduler`.
    pub actor: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct DeadlineFilter {
    pub municipality: String,
    pub state: Option<DeadlineState>,
    /// Only those still to be done: open or missed.
    pub pending: bool,
    pub team: Option<String>,
    /// Only those of this policy (`acknowledge`, `housing` …).
    pub policy: Option<String>,
    pub due_before: Option<Timestamp>,
    pub limit: u32,
    /// Skip this many (a page of a list).
    pub offset: u32,
}

/// A deadline as the reports see it.
#[derive(Debug, Clone)]
pub struct DeadlineRow {
    pub municipality: String,
    pub case_id: i64,
    pub policy: String,
    pub team: Option<String>,
    pub state: DeadlineState,
    pub due_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// When the deadline was set (by the first message about it).
    pub created_at: Timestamp,
}

/// A deadline action refused because of the deadline's present state (checked in the
/// transaction that would change it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StateConflict(pub String);

/// What a caseworker does to a deadline.
#[derive(Debug, Clone)]
pub enum DeadlineAction {
    /// `meets`: what resolving meets besides (`Policies::met_by_resolving`), in the same
    /// transaction.
    Resolve {
        outcome: String,
        meets: Vec<MetByResolving>,
    },
    /// `reason`: one of `REOPEN_REASONS`, kept in the deadline's history.
    Reopen { reason: Option<String> },
}

/// Why a caseworker reopens a deadline: a fixed list, so that no free text (and no personal
/// data) enters a deadline's history. With its Danish label for the pages.
pub const REOPEN_REASONS: &[(&str, &str)] = &[
    ("resolved_by_mistake", "Løst ved en fejl"),
    ("not_done", "Det er ikke på plads alligevel"),
    ("new_information", "Nye oplysninger i sagen"),
    ("other", "Anden grund"),
];

/// The daily digest of one team.
#[derive(Debug, Clone)]
pub struct NewDigest {
    pub team: String,
    /// The working day it is for (Copenhagen).
    pub day: jiff::civil::Date,
    pub destination: String,
    /// What it lists; `None` when there is nothing to list (the day is marked done all the same).
    pub payload: Option<serde_json::Value>,
}

/// A deadline as the digest lists it: no personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestItem {
    pub team: String,
    pub case_ref: CaseRef,
    pub title: String,
    pub due_at: Timestamp,
    pub state: DeadlineState,
}

/// What a message does to one deadline.
#[derive(Debug, Clone, PartialEq)]
pub enum DeadlineChange {
    /// Create the deadline, or move the open one with the same policy and scope on the case.
    Set(DeadlinePlan),
    /// Cancel the open deadline with this policy and scope on the case.
    Cancel { policy: String, scope: String },
    /// Record an event on every open deadline of the case, which stays as it is (a transfer to
    /// another institution).
    Note { event: String, details: Value },
    /// Close the open deadlines of these (case-scoped) policies on the citizen's cases in other
    /// municipalities, as transferred: this message sets them here, where the citizen will live.
    /// Their teams are told at `alert_at`.
    Transfer { policies: Vec<String>, alert_at: Timestamp },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeadlinePlan {
    pub policy: String,
    /// How caseworkers read it.
    pub title: String,
    /// Which deadline of the policy on a case: empty for one per case, `message:<receipt>` or
    /// `offer:<offer id>`.
    pub scope: String,
    pub team: Option<String>,
    pub due_at: Timestamp,
    /// When to remind, ascending; only those still ahead when the message arrived.
    pub reminders: Vec<Timestamp>,
    /// Destination keys for the reminders and the escalation (`mail:<team>`, `lead:<team>`).
    pub remind_to: Option<String>,
    pub escalate_to: Option<String>,
    /// The message meets the deadline, with this outcome (the policy's `met_by`).
    pub meets: Option<String>,
    /// The message states another value at `met_by`'s member: a deadline met by a message
    /// opens again.
    pub reopens: bool,
}

/// Resolving a deadline of `policy` with one of `outcomes` meets the open or missed deadline of
/// `meets` on the same case, with `outcome` (a policy's `met_by_resolving`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetByResolving {
    pub policy: String,
    pub outcomes: Vec<String>,
    pub meets: String,
    pub outcome: String,
}
