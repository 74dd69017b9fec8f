//! The audit log as stored: append-only entries, each sealed with a keyed hash (HMAC-SHA256)
//! over its own fields and the seal of the entry before it, so that an entry changed, inserted
//! or removed breaks the chain at that place (`crate::audit::verify`). The key is derived from
//! the master key: someone who can write to the database but does not hold the key cannot
//! forge a chain that verifies.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

/// An entry to append: who did what to which record, from where, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    /// `token`, `certificate`, `person` or `cli`.
    pub actor_kind: String,
    /// The token id (`tok_…`), the certificate's id, the person's subject, or the operating
    /// system's user for a command.
    pub actor: String,
    /// A signed-in person's display name, as the identity provider gave it.
    pub actor_name: Option<String>,
    /// The caller's network address, for a request.
    pub address: Option<String>,
    /// What was done, e.g. `case.read` (docs/security.md lists them).
    pub action: String,
    pub case_ref: Option<String>,
    pub receipt_id: Option<String>,
    /// Another record the action was about: a deadline id, a token id, a delivery id.
    pub target: Option<String>,
    /// `ok`, `not-found`, `refused` or `conflict`.
    pub outcome: String,
}

/// An entry as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: NewAuditEntry,
    pub prev: [u8; 32],
    pub seal: [u8; 32],
}

/// Where the chain starts: the last entry pruned (id and seal), or id 0 and zeros for a log
/// never pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditAnchor {
    pub id: i64,
    pub seal: [u8; 32],
}

/// The stored head of the chain: the last entry's id and seal, itself sealed, so that entries
/// cut off the end are found too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    pub id: i64,
    pub seal: [u8; 32],
    pub mac: [u8; 32],
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub case_ref: Option<String>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Entries with a greater id only (the page after).
    pub after: i64,
    pub limit: usize,
}

type HmacSha256 = Hmac<Sha256>;

fn field(mac: &mut HmacSha256, value: Option<&str>) {
    // Length-prefixed, with absent distinct from empty: no two entries hash alike by moving
    // text from one field to the next.
    match value {
        None => mac.update(&[0]),
        Some(text) => {
            mac.update(&[1]);
            mac.update(&(text.len() as u64).to_be_bytes());
            mac.update(text.as_bytes());
        }
    }
}

/// The seal of entry `id` after the entry sealed `prev`.
pub fn seal(key: &[u8; 32], id: i64, prev: &[u8; 32], e: &NewAuditEntry) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"indgang/audit-entry/v1");
    mac.update(&id.to_be_bytes());
    mac.update(prev);
    mac.update(&e.at.as_microsecond().to_be_bytes());
    for value in [
        Some(e.actor_kind.as_str()),
        Some(e.actor.as_str()),
        e.actor_name.as_deref(),
        e.address.as_deref(),
        Some(e.action.as_str()),
        e.case_ref.as_deref(),
        e.receipt_id.as_deref(),
        e.target.as_deref(),
        Some(e.outcome.as_str()),
    ] {
        field(&mut mac, value);
    }
    mac.finalize().into_bytes().into()
}

/// The seal of the head record.
pub fn head_mac(key: &[u8; 32], id: i64, seal: &[u8; 32]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"indgang/audit-head/v1");
    mac.update(&id.to_be_bytes());
    mac.update(seal);
    mac.finalize().into_bytes().into()
}
