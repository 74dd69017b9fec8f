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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Matches,
    FirstUse,
    Mismatch,
}
