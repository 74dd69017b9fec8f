//! Credentials as stored.

use crate::domain::Kind;
use jiff::Timestamp;

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

/// A client certificate registered to a sender (`indgang sender add`): by its SHA-256
/// fingerprint, or by the serial number in its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderCertificateRecord {
    /// `crt_…` (by fingerprint) or `crs_…` (by subject serial number).
    pub id: String,
    pub sender_id: String,
    pub kinds: Vec<Kind>,
    /// Lower-case hex.
    pub fingerprint: Option<String>,
    pub subject_serial: Option<String>,
    /// When the registered certificate expires, when it was registered from the file.
    pub not_after: Option<Timestamp>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}
