//! Sessions of people signed in with OpenID Connect, and the sign-ins under way. The store keeps
//! only the SHA-256 of a session's id (the cookie holds the id itself) and of a sign-in's state.

use jiff::Timestamp;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the id in the cookie.
    pub id_hash: String,
    /// The provider's subject (`sub`) and the person's display name, for the audit log.
    pub subject: String,
    pub name: Option<String>,
    /// The roles mapped from the provider's claims at sign-in, as JSON.
    pub roles: String,
    /// Sent back in `X-CSRF-Token` on every request that changes something.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
}

/// A sign-in sent to the provider and not yet back: taken once by the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    /// SHA-256 (hex) of the `state` parameter.
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// A path of this gateway to go to after sign-in.
    pub return_to: String,
    pub created_at: Timestamp,
}
