//! Storage behind one small async trait. The SQLite backend (`sqlite`) is the embedded default;
//! another backend implements the same trait with its own migrations, and handlers never change.
//!
//! The store sees personal data only sealed: CPR numbers and message bodies arrive encrypted by
//! the `Vault`, and cases are matched through a keyed hash.

pub mod sqlite;

use crate::domain::{CaseRef, Kind, Kommunekode};
use crate::validation::Warning;
use async_trait::async_trait;
use jiff::Timestamp;

/// A checked message, ready to be filed in one transaction with its case and receipt.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub receipt_id: String,
    pub kind: Kind,
    pub sender_id: String,
    pub message_id: String,
    /// Keyed hash of the canonical message: the same content gives the same hash.
    pub content_hash: [u8; 16],
    /// Keyed hash of (sender, offer_id) for housing offers: an update or withdrawal that names
    /// no citizen is filed on the case of the offer it follows.
    pub offer_hash: Option<[u8; 16]>,
    pub municipality: Kommunekode,
    pub subject: Subject,
    pub body_sealed: Vec<u8>,
    /// Members without personal data, as JSON (see `validation::summary`).
    pub summary: serde_json::Value,
    pub warnings: Vec<Warning>,
    pub received_at: Timestamp,
    /// Where the message goes, written in the same transaction (the outbox).
    pub deliveries: Vec<NewDelivery>,
    /// What the message does to the deadlines of its case, applied in the same transaction.
    pub deadlines: Vec<crate::deadlines::DeadlineChange>,
}

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
    pub team: Option<String>,
    pub due_before: Option<Timestamp>,
    pub limit: u32,
}

/// A release notice as the reports see it: no personal data.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    pub municipality: String,
    pub sender_id: String,
    pub received_at: Timestamp,
    pub summary: serde_json::Value,
    pub warning_codes: Vec<String>,
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
        meets: Vec<crate::deadlines::MetByResolving>,
    },
    Reopen,
}

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
    /// Destinations not to claim from (paused).
    pub exclude: Vec<String>,
    /// Only this destination (a probe of a paused one).
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

/// What came of one attempt.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub row: i64,
    pub started_at: Timestamp,
    pub latency_us: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub next: AttemptNext,
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

/// Whom a case is about: a citizen, matched by the keyed hash of the CPR number, or a vacant
/// dwelling offered without a citizen, matched by the offer.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: SubjectKind,
    pub match_hash: [u8; 16],
    pub cpr_sealed: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Citizen,
    VacantDwelling,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Citizen => "citizen",
            SubjectKind::VacantDwelling => "vacant_dwelling",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub receipt_id: String,
    pub case_ref: CaseRef,
    pub kind: Kind,
    pub sender_id: String,
    pub message_id: String,
    pub municipality: String,
    pub received_at: Timestamp,
    pub warnings: Vec<Warning>,
    /// Where the message goes and how far it got.
    pub deliveries: Vec<DeliveryRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SubmitOutcome {
    /// Filed now.
    Accepted(Receipt),
    /// The same sender sent the same message id with the same content before.
    Duplicate(Receipt),
    /// The same sender sent the same message id with different content before.
    Conflict { existing_receipt_id: String },
}

/// A case with its messages, still sealed.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub case_ref: CaseRef,
    pub municipality: String,
    pub subject_kind: String,
    pub cpr_sealed: Option<Vec<u8>>,
    pub opened_at: Timestamp,
    pub messages: Vec<MessageRecord>,
    pub deadlines: Vec<DeadlineRecord>,
}

#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub receipt: Receipt,
    pub body_sealed: Vec<u8>,
    pub summary: serde_json::Value,
}

/// A line of the case list: no personal data.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    pub case_ref: CaseRef,
    pub municipality: String,
    pub subject_kind: String,
    pub opened_at: Timestamp,
    pub last_message_at: Timestamp,
    pub message_count: i64,
    pub kinds: Vec<Kind>,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub municipality: String,
    pub kind: Option<Kind>,
    pub since: Option<Timestamp>,
    pub limit: u32,
}

/// A credential as stored: only the hash of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub hash: String,
    pub role: String,
    pub sender_id: Option<String>,
    pub kinds: Vec<Kind>,
    pub municipality: Option<String>,
    pub team: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Files the message, its receipt and its case in one durable transaction. Returns only
    /// after the commit has reached the disk.
    async fn submit(&self, message: NewMessage) -> anyhow::Result<SubmitOutcome>;
    async fn receipt(&self, receipt_id: &str) -> anyhow::Result<Option<Receipt>>;
    async fn case(&self, case_ref: &CaseRef) -> anyhow::Result<Option<CaseRecord>>;
    async fn cases(&self, filter: CaseFilter) -> anyhow::Result<Vec<CaseSummary>>;

    /// Claims due deliveries, oldest due first, keeping acceptance order per case and
    /// destination: a delivery is not claimed while an earlier one of its case and destination
    /// is still pending or retrying.
    /// Each group is sent as one: a group of alerts to one team address is one email.
    async fn claim_deliveries(&self, request: ClaimRequest) -> anyhow::Result<Vec<Vec<ClaimedDelivery>>>;
    /// Records attempts and moves their deliveries on; returns once durable.
    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> anyhow::Result<()>;
    /// Releases every claim (at start, when this process is the only one sending).
    async fn release_claims(&self) -> anyhow::Result<u64>;
    /// The deliveries of one message.
    async fn deliveries(&self, receipt_id: &str) -> anyhow::Result<Vec<DeliveryRecord>>;
    async fn dead_letters(&self, filter: DeadLetterFilter) -> anyhow::Result<Vec<DeliveryRecord>>;
    /// Puts dead letters back in the queue, due now, with their delivery ids; returns the ids.
    async fn replay(&self, selection: Replay, now: Timestamp) -> anyhow::Result<Vec<String>>;
    /// Queue depth, oldest pending delivery and dead letters per destination with any.
    async fn delivery_queues(&self) -> anyhow::Result<Vec<DestinationQueue>>;

    /// Sends (through the outbox) the reminders and escalations due at `now`, at most `limit`
    /// deadlines' worth; returns how many deadlines it looked at. Each goes out exactly once.
    /// The alerts are due `alert_delay` after `now` (they wait for others to the same address).
    async fn fire_deadlines(
        &self,
        now: Timestamp,
        limit: usize,
        alert_delay: jiff::SignedDuration,
    ) -> anyhow::Result<usize>;
    /// The open deadlines of these teams due before `horizon`, and their missed ones nobody has
    /// resolved, by due time.
    async fn digest_items(&self, teams: Vec<String>, horizon: Timestamp) -> anyhow::Result<Vec<DigestItem>>;
    /// Writes the digests not yet made for their team and day, each a delivery due now; returns
    /// how many were new. A digest made before (another tick, before a restart) is left alone.
    async fn add_digests(&self, digests: Vec<NewDigest>, now: Timestamp) -> anyhow::Result<usize>;
    async fn deadlines(&self, filter: DeadlineFilter) -> anyhow::Result<Vec<DeadlineRecord>>;
    async fn deadline(&self, id: i64) -> anyhow::Result<Option<DeadlineRecord>>;
    /// Resolves or reopens a deadline; `None` when it does not exist.
    async fn act_on_deadline(
        &self,
        id: i64,
        action: DeadlineAction,
        actor: String,
        now: Timestamp,
    ) -> anyhow::Result<Option<DeadlineRecord>>;
    /// Release notices received in `[from, to)`, of one municipality or all.
    async fn release_notices(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<Vec<NoticeRow>>;
    /// Deadlines due in `[from, to)`, of one municipality or all.
    async fn deadline_rows(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<Vec<DeadlineRow>>;
    /// Meets the open deadlines a message created for itself (its acknowledgement).
    async fn acknowledge(&self, receipt_id: &str, actor: String, now: Timestamp)
    -> anyhow::Result<Vec<DeadlineRecord>>;

    async fn create_token(&self, token: TokenRecord) -> anyhow::Result<()>;
    async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<TokenRecord>>;
    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>>;
    /// Marks the token revoked; `false` when no live token has that id.
    async fn revoke_token(&self, id: &str, at: Timestamp) -> anyhow::Result<bool>;

    /// The key check value stored with the data, set on first use.
    async fn key_check(&self, value: &str) -> anyhow::Result<KeyCheck>;
    /// Whether the database answers.
    async fn ping(&self) -> anyhow::Result<()>;
    /// Finishes queued writes and stops background threads.
    async fn close(&self);
}

/// Which dead letters to replay.
#[derive(Debug, Clone)]
pub enum Replay {
    One(String),
    Matching(DeadLetterFilter),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Matches,
    FirstUse,
    Mismatch,
}
