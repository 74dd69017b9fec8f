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
