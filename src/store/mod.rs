//! Storage behind one small async trait. The SQLite backend (`sqlite`) is the embedded default;
//! another backend implements the same trait with its own migrations, and handlers never change.
//!
//! The store sees personal data only sealed: CPR numbers and message bodies arrive encrypted by
//! the `Vault`, and cases are matched through a keyed hash.
//!
//! The trait is here; the records it takes and gives are beside it, one file per area:
//! `messages` (messages, receipts, cases), `deliveries` (the outbox), `deadlines` (deadlines,
//! their changes and the digest), `tokens` (tokens and senders' client certificates), `audit`
//! (the chained audit log), `matching` (housing needs and the citizens seeking housing) and
//! `destinations` (destination pauses, shared by every instance).

pub mod audit;
mod deadlines;
mod deliveries;
mod destinations;
mod matching;
mod messages;
pub mod postgres;
mod sessions;
pub mod sqlite;
mod tokens;

pub use deadlines::*;
pub use deliveries::*;
pub use destinations::*;
pub use matching::*;
pub use messages::*;
pub use sessions::*;
pub use tokens::*;

/// Gives each message of a case its deliveries, from all the case's deliveries in one list.
pub fn hand_out_deliveries(messages: &mut [MessageRecord], deliveries: Vec<DeliveryRecord>) {
    let mut by_receipt: std::collections::HashMap<String, Vec<DeliveryRecord>> = std::collections::HashMap::new();
    for delivery in deliveries {
        if let Some(about) = &delivery.about {
            by_receipt.entry(about.receipt_id.clone()).or_default().push(delivery);
        }
    }
    for message in messages {
        message.receipt.deliveries = by_receipt.remove(&message.receipt.receipt_id).unwrap_or_default();
    }
}

use crate::domain::CaseRef;
use async_trait::async_trait;
use jiff::Timestamp;

/// The store cannot write now (a full disk, an I/O error); nothing of the request was filed, and
/// it heals by itself once the disk takes writes again, so the same request may be sent again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the store cannot write now: {0}")]
pub struct Unavailable(pub String);

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
    /// Records attempts and moves their deliveries on, and counts their outcomes (`health`)
    /// towards their destinations' pauses in the same transaction; returns once durable, with
    /// the pauses that began or ended.
    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> anyhow::Result<Vec<PauseChange>>;
    /// Whether other processes may share this store (PostgreSQL): then a claim found at start
    /// may be a live instance's, and is taken over only once its lease (`claimed_until`) has
    /// expired. SQLite's is one process's (one gateway per data folder).
    fn shared(&self) -> bool;
    /// Releases every claim, when this process is the only one sending (at start, on a store
    /// that is not `shared`); on a shared store it releases nothing and returns 0.
    async fn release_claims(&self) -> anyhow::Result<u64>;
    /// The deliveries of one message.
    async fn deliveries(&self, receipt_id: &str) -> anyhow::Result<Vec<DeliveryRecord>>;
    async fn dead_letters(&self, filter: DeadLetterFilter) -> anyhow::Result<Vec<DeliveryRecord>>;
    /// Puts dead letters back in the queue, due now, with their delivery ids; returns the ids.
    async fn replay(&self, selection: Replay, now: Timestamp) -> anyhow::Result<Vec<String>>;
    /// Queue depth, oldest pending delivery and dead letters per destination with any.
    async fn delivery_queues(&self) -> anyhow::Result<Vec<DestinationQueue>>;
    /// Every destination that has failed lately or is paused, by name.
    async fn destination_states(&self) -> anyhow::Result<Vec<DestinationState>>;
    /// An operator's pause: nothing is claimed for the destination until `resume_destination`.
    /// Pausing a paused destination again keeps who paused it first, and since when.
    async fn hold_destination(&self, destination: &str, hold: Hold) -> anyhow::Result<()>;
    /// Ends a destination's pause, the operator's or the automatic one, and its run of
    /// failures; `false` when there was none.
    async fn resume_destination(&self, destination: &str) -> anyhow::Result<bool>;
    /// Takes the one probe of a destination whose cool-down has passed at `now`, until `until`
    /// (another worker may take it after that); `false` when it is not due or another worker
    /// holds it.
    async fn take_probe(&self, destination: &str, now: Timestamp, until: Timestamp) -> anyhow::Result<bool>;
    /// Gives a probe back unused (nothing of the destination was due).
    async fn drop_probe(&self, destination: &str) -> anyhow::Result<()>;

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

    /// Stores a sign-in under way; forgets those begun before `stale`.
    async fn begin_login(&self, login: LoginRecord, stale: Timestamp) -> anyhow::Result<()>;
    /// Takes (removes) the sign-in with this state hash, if begun since `stale`: a state works once.
    async fn take_login(&self, state_hash: &str, stale: Timestamp) -> anyhow::Result<Option<LoginRecord>>;
    /// Stores a session; removes the sessions idle since `idle_before` or begun before `begun_before`.
    async fn create_session(
        &self,
        session: SessionRecord,
        idle_before: Timestamp,
        begun_before: Timestamp,
    ) -> anyhow::Result<()>;
    async fn session_by_hash(&self, id_hash: &str) -> anyhow::Result<Option<SessionRecord>>;
    /// Records that the session was used at `at`.
    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> anyhow::Result<()>;
    /// Ends a session; `false` when there was none.
    async fn end_session(&self, id_hash: &str) -> anyhow::Result<bool>;

    /// Appends entries to the audit log, each sealed with `key` after the one before; durable
    /// before it returns, like a submission.
    async fn append_audit(&self, entries: Vec<audit::NewAuditEntry>, key: [u8; 32]) -> anyhow::Result<Vec<i64>>;
    /// Audit entries in id order.
    async fn audit_entries(&self, filter: audit::AuditFilter) -> anyhow::Result<Vec<audit::AuditRecord>>;
    /// Where the audit chain starts (after pruning) and its stored head.
    async fn audit_ends(&self) -> anyhow::Result<(audit::AuditAnchor, Option<audit::AuditHead>)>;
    /// Removes the entries made before `before`, oldest first, moving the chain's anchor; in
    /// bounded transactions. Returns how many went.
    async fn prune_audit(&self, before: Timestamp) -> anyhow::Result<usize>;

    /// Registers a client certificate to a sender; fails when a live registration has the same
    /// id, fingerprint or subject serial number.
    async fn register_certificate(&self, record: SenderCertificateRecord) -> anyhow::Result<()>;
    /// The live registration of a certificate: by its fingerprint, else by its subject serial
    /// number.
    async fn certificate_registration(
        &self,
        fingerprint: &str,
        subject_serial: Option<&str>,
    ) -> anyhow::Result<Option<SenderCertificateRecord>>;
    /// Every registration, removed ones too, oldest first.
    async fn sender_certificates(&self) -> anyhow::Result<Vec<SenderCertificateRecord>>;
    /// Marks the registration removed; `false` when no live registration has that id.
    async fn remove_certificate(&self, id: &str, at: Timestamp) -> anyhow::Result<bool>;
    /// Records what a home must offer the citizen of a case; `None` when there is no such case.
    async fn put_housing_needs(&self, needs: NewHousingNeeds) -> anyhow::Result<Option<HousingNeedsRecord>>;
    async fn housing_needs(&self, case_ref: &CaseRef) -> anyhow::Result<Option<HousingNeedsRecord>>;
    /// The citizen cases of a municipality with needs recorded or a release notice, with what
    /// tells whether each seeks housing (`matching::seeker`).
    /// `only`: that one case (whether it seeks housing), instead of every case of the
    /// municipality.
    async fn housing_seekers(
        &self,
        municipality: String,
        housing_policy: String,
        only: Option<CaseRef>,
    ) -> anyhow::Result<Vec<SeekerRow>>;
    /// Records the answer on a vacant home with its delivery (if any) in one durable
    /// transaction; a `StateConflict` when the home has been answered already.
    async fn answer_housing(&self, answer: NewHousingAnswer) -> anyhow::Result<HousingAnswerRecord>;
    /// The answers given on this vacant home's case, or naming this citizen's case.
    async fn housing_answers(&self, case_ref: &CaseRef) -> anyhow::Result<Vec<HousingAnswerRecord>>;
    /// The vacant homes first offered in `[from, to)`, of one municipality or all, with their
    /// answers; `accepted` looks at the named citizen's `housing_policy` deadline.
    async fn vacant_homes(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
        housing_policy: String,
    ) -> anyhow::Result<Vec<VacantHomeRow>>;

    /// The key check value stored with the data, set on first use.
    async fn key_check(&self, value: &str) -> anyhow::Result<KeyCheck>;
    /// Whether the database answers.
    async fn ping(&self) -> anyhow::Result<()>;
    /// Whether this process leads the deadline scheduler (fires deadlines, makes digests) now.
    /// SQLite: always (one process per data folder). PostgreSQL: while it holds the scheduler's
    /// advisory lock, which it takes when free; an error means not leading.
    async fn lead(&self) -> anyhow::Result<bool>;
    /// Calls `wake` whenever another process may have made deliveries due, until the store is
    /// closed. SQLite: returns at once (the process that files a delivery wakes its own worker).
    /// PostgreSQL: listens for the notifications the store sends after such commits.
    async fn listen(&self, wake: Box<dyn Fn() + Send + Sync>);
    /// Finishes queued writes and stops background threads.
    async fn close(&self);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Matches,
    FirstUse,
    Mismatch,
}
