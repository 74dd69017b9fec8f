//! Messages, their receipts and the cases they are filed on, as the store takes and gives them.

use super::{DeadlineChange, DeadlineRecord, DeliveryRecord, NewDelivery};
use crate::domain::{CaseRef, Kind, Kommunekode};
use crate::validation::Warning;
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
    /// Members without personal data, as JSON text (see `validation::summary_text`).
    pub summary: String,
    pub warnings: Vec<Warning>,
    pub received_at: Timestamp,
    /// Where the message goes, written in the same transaction (the outbox).
    pub deliveries: Vec<NewDelivery>,
    /// What the message does to the deadlines of its case, applied in the same transaction.
    pub deadlines: Vec<DeadlineChange>,
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
    /// Only the case of the citizen with this keyed hash of the CPR number (a search).
    pub subject: Option<[u8; 16]>,
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
