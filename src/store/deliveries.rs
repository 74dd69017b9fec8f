//! The delivery outbox: deliveries, claims, attempts, dead letters and queues.

use crate::domain::{CaseRef, Kind};
use jiff::Timestamp;

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub delivery_id: String,
    /// A destination id, or `mail:<team>`.
    pub destination: String,
    pub routes: Vec<String>,
    /// Not sent before this instant: an alert to a team waits for others to the same
    /// recipient (`alerts.group_window`).
    pub not_before: Timestamp,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet (or waiting for an earlier delivery of the same case).
    Pending,
    /// Failed and waiting for its next attempt.
    Retrying,
    Delivered,
    /// Given up: a permanent refusal or the retry schedule ran out. Replay puts it back.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Retrying,
            DeliveryState::Delivered,
            DeliveryState::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A delivery as the receipt, the dead-letter list and the operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub delivery_id: String,
    pub destination: String,
    pub routes: Vec<String>,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub dead_reason: Option<String>,
    /// `message`, `reminder`, `escalation` or `digest`.
    pub purpose: String,
    /// The message it is about; none for a digest.
    pub about: Option<About>,
}

/// The message a delivery is about.
#[derive(Debug, Clone, PartialEq)]
pub struct About {
    pub receipt_id: String,
    pub case_ref: CaseRef,
    pub kind: Kind,
}

/// A delivery claimed for sending, with what it needs to be sent.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub row: i64,
    pub delivery_id: String,
    pub destination: String,
    /// Attempts before this one, ever, and failures since creation or the last replay.
    pub attempts: i64,
    pub failures: i64,
    pub created_at: Timestamp,
    /// `message`, `reminder`, `escalation` or `digest`.
    pub purpose: String,
    /// The message it is about; none for a digest.
    pub message: Option<ClaimedMessage>,
    /// For reminders and escalations: the deadline's title and due time.
    pub deadline: Option<(String, Timestamp)>,
    /// The deadlines the email puts in the caseworker's calendar: those the message created,
    /// moved or cancelled (for a notification), or the deadline itself (for an alert).
    pub calendar: Vec<CalendarEntry>,
    /// What a digest lists, as it stood when the digest was made.
    pub payload: Option<serde_json::Value>,
}

impl ClaimedDelivery {
    /// The case reference, for log lines.
    pub fn case_ref(&self) -> Option<&CaseRef> {
        self.message.as_ref().map(|m| &m.case_ref)
    }
}

/// The message a claimed delivery carries or is about.
#[derive(Debug, Clone)]
pub struct ClaimedMessage {
    pub receipt_id: String,
    pub case_ref: CaseRef,
    pub kind: Kind,
    pub municipality: String,
    pub received_at: Timestamp,
    pub body_sealed: Vec<u8>,
    pub summary: serde_json::Value,
    /// When the message must be acknowledged by, if a policy asks for it.
    pub acknowledge_by: Option<Timestamp>,
}

/// A deadline as a calendar event.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEntry {
    pub deadline: i64,
    pub title: String,
    pub due_at: Timestamp,
    pub cancelled: bool,
    /// Met already (a message met it, `met_by`): nothing left to do, so no calendar entry.
    pub met: bool,
    /// How often it was moved or cancelled: a calendar entry with a higher sequence replaces
    /// the one before.
    pub sequence: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub now: Timestamp,
    /// Claimed deliveries are not claimed again before this time.
    pub until: Timestamp,
    pub limit: usize,
    /// Only this destination (paused destinations, `destination_states`, are never claimed
    /// from, but for this probe): the probe of a destination whose automatic pause has passed its
    /// cool-down (not of one an operator paused).
    pub only: Option<String>,
    /// Deliveries this worker is sending right now (their claims may have expired meanwhile).
    pub busy: Vec<i64>,
    /// Alerts to one team address (`mail:` and `lead:` destinations) are claimed together:
    /// with a due one come the others open for the same address and due by `horizon`, at most
    /// `max` in one group. `None`: each on its own.
    pub group: Option<Grouping>,
}

#[derive(Debug, Clone, Copy)]
pub struct Grouping {
    pub horizon: Timestamp,
    pub max: usize,
}

/// What came of one attempt.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub row: i64,
    pub started_at: Timestamp,
    pub latency_us: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub next: AttemptNext,
    /// How the attempt counts towards its destination's pause: on one record of a group only,
    /// as the group was one attempt.
    pub health: Option<super::HealthNote>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttemptNext {
    Delivered,
    Retry {
        at: Timestamp,
    },
    Dead {
        reason: String,
    },
    /// A collected email was refused for good: each of its alerts is tried again at `at`, on
    /// its own from now on, so one that cannot be sent does not take the others with it.
    Alone {
        at: Timestamp,
    },
}

#[derive(Debug, Clone, Default)]
pub struct DeadLetterFilter {
    pub destination: Option<String>,
    /// Dead since (inclusive) and before (exclusive).
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: u32,
}

/// The queue of one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationQueue {
    pub destination: String,
    pub queue_depth: i64,
    pub oldest_pending_at: Option<Timestamp>,
    pub dead_letters: i64,
}

/// Which dead letters to replay.
#[derive(Debug, Clone)]
pub enum Replay {
    One(String),
    Matching(DeadLetterFilter),
}
