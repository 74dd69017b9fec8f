//! Credentials: bearer tokens, and senders' client certificates (mutual TLS). A token is shown
//! once when created; the store keeps only its SHA-256 hash. Sender tokens submit messages of
//! their kinds with their own `sender.id`; caseworker tokens read the cases of their own
//! municipality. A sender may instead (or as well) be registered by client certificate
//! (`indgang sender add`); a request without an `Authorization` header that shows a trusted,
//! registered certificate acts as that sender, under the credential id `crt_…`.
//!
//! Verified tokens and certificate registrations are cached for `security.token_cache_seconds`
//! (default 10 s), so a revocation or `sender remove` takes effect within that time; unknown
//! credentials are never cached. A certificate's chain and validity are checked on every request.

use crate::domain::{Kind, Kommunekode};
use crate::problem::{Problem, kinds};
use crate::store::{Store, TokenRecord};
use crate::tls::{ClientTrust, PeerCertificates, Verdict};
use actix_web::{FromRequest, HttpRequest, web};
use anyhow::bail;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN_PREFIX: &str = "igt_";

/// Who is calling. Each kind of caller carries the id of the credential it proved itself with,
/// for the log and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Sender {
        /// `tok_…` for a token, `crt_…` (the first 12 hex digits of the SHA-256 fingerprint) for
        /// a client certificate.
        credential_id: String,
        sender_id: String,
        kinds: Vec<Kind>,
    },
    Caseworker {
        token_id: String,
        municipality: String,
        team: Option<String>,
    },
    /// Runs the gateway: dead letters, replay and the delivery status. Reads no cases.
    Operator { token_id: String },
    /// Reads the audit log, nothing else.
    Auditor { token_id: String },
    /// A person signed in with OpenID Connect (`session`): what they may do is their roles,
    /// mapped from the provider's claims at sign-in.
    Person {
        /// The provider's `sub`.
        subject: String,
        /// The display name, for the audit log.
        name: Option<String>,
        /// A short, non-secret name of the session, for the logs.
        session: String,
        roles: Vec<Role>,
    },
}

/// What a signed-in person may be, from the provider's claims (`auth.oidc.roles`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// Works the cases, messages, deadlines and reports of one municipality.
    Caseworker {
        municipality: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
    },
    /// A caseworker who leads a team: the same rights in the API.
    TeamLead {
        municipality: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
    },
    Operator,
    /// Reads the audit log, nothing else.
    Auditor,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, municipality, team) = match self {
            Role::Caseworker { municipality, team } => ("caseworker", Some(municipality), team),
            Role::TeamLead { municipality, team } => ("team_lead", Some(municipality), team),
            Role::Operator => ("operator", None, &None),
            Role::Auditor => ("auditor", None, &None),
        };
        f.write_str(name)?;
        if let Some(municipality) = municipality {
            write!(f, " {municipality}")?;
        }
        if let Some(team) = team {
            write!(f, "/{team}")?;
        }
        Ok(())
    }
}

impl Principal {
    /// The id of the credential: `tok_…` or `crt_…`.
    pub fn credential_id(&self) -> &str {
        match self {
            Principal::Sender { credential_id, .. } => credential_id,
            Principal::Caseworker { token_id, .. }
            | Principal::Operator { token_id }
            | Principal::Auditor { token_id } => token_id,
            Principal::Person { subject, .. } => subject,
        }
    }

    /// The same as `credential_id` (for a sender it may be a certificate's `crt_…`, for a
    /// signed-in person the subject).
    pub fn token_id(&self) -> &str {
        self.credential_id()
    }
}

/// What a new token may do.
#[derive(Debug, Clone)]
pub enum Grant {
    Sender {
        sender_id: String,
        kinds: Vec<Kind>,
    },
    Caseworker {
        municipality: Kommunekode,
        team: Option<String>,
    },
    Operator,
    Auditor,
}

pub struct Authenticator {
    store: Arc<dyn Store>,
    metrics: Arc<crate::metrics::Metrics>,
    ttl: Duration,
    /// By token hash, or `crt:` and a certificate's fingerprint.
    cache: Mutex<HashMap<String, (Principal, Instant)>>,
    /// The authorities of `server.tls.client_ca`; `None`: no client certificates.
    clients: Option<Arc<ClientTrust>>,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, metrics: Arc<crate::metrics::Metrics>, ttl: Duration) -> Authenticator {
        Authenticator {
            store,
            metrics,
            ttl,
            cache: Mutex::new(HashMap::new()),
            clients: None,
        }
    }

    /// Client certificates from these authorities identify the senders registered to them.
    pub fn with_client_certificates(mut self, clients: Option<Arc<ClientTrust>>) -> Authenticator {
        self.clients = clients;
        self
    }

    /// The principal behind an `Authorization` header or, without one, behind the client
    /// certificate of the connection; every refusal is counted.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        certificates: Option<&PeerCertificates>,
    ) -> Result<Principal, Problem> {
        let result = match (header, certificates, &self.clients) {
            (None, Some(certificates), Some(trust)) if !certificates.0.is_empty() => {
                self.by_certificate(trust, certificates).await
            }
            _ => self.verify(header).await,
        };
        if matches!(&result, Err(problem) if problem.status == 401) {
            self.metrics.refused_credentials();
        }
        result
    }

    fn cached(&self, key: &str) -> Option<Principal> {
        match self.cache.lock().expect("token cache lock").get(key) {
            Some((principal, at)) if at.elapsed() < self.ttl => Some(principal.clone()),
            _ => None,
        }
    }

    fn remember(&self, key: String, principal: &Principal) {
        let mut cache = self.cache.lock().expect("token cache lock");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, (principal.clone(), Instant::now()));
    }

    /// A client certificate: trusted (checked on every request, so expiry counts at once), then
    /// registered to a sender.
    async fn by_certificate(&self, trust: &ClientTrust, certificates: &PeerCertificates) -> Result<Principal, Problem> {
        let end_entity = &certificates.0[0];
        let fingerprint = crate::tls::fingerprint(end_entity);
        let credential_id = crate::tls::credential_id(&fingerprint);
        let refused = |kind, detail: String| {
            tracing::warn!(certificate = %credential_id, problem = kind_name(kind), "a request with a client certificate was refused");
            Problem::new(kind, detail)
        };
        match trust.judge(&certificates.0) {
            Verdict::Trusted => {}
            Verdict::Expired { not_after } => {
                let when = not_after.map_or_else(String::new, |at| format!(" at {at}"));
                return Err(refused(
                    kinds::CERTIFICATE_EXPIRED,
                    format!("the client certificate {credential_id} expired{when}; use its successor"),
                ));
            }
            Verdict::NotYetValid => {
                return Err(refused(
                    kinds::CERTIFICATE_UNTRUSTED,
                    format!("the client certificate {credential_id} is not valid yet"),
                ));
            }
            Verdict::Untrusted(reason) => {
                return Err(refused(
                    kinds::CERTIFICATE_UNTRUSTED,
                    format!("the client certificate {credential_id} is not trusted: {reason}"),
                ));
            }
        }
        let key = format!("crt:{fingerprint}");
        if let Some(principal) = self.cached(&key) {
            return Ok(principal);
        }
        let serial = crate::tls::subject_serial(end_entity);
        let record = self
            .store
            .certificate_registration(&fingerprint, serial.as_deref())
            .await
            .map_err(crate::problem::internal)?
            .ok_or_else(|| {
                refused(
                    kinds::CERTIFICATE_UNREGISTERED,
                    format!(
                        "the client certificate {credential_id} is trusted but registered to no sender; \
                         its SHA-256 fingerprint is {fingerprint}"
                    ),
                )
            })?;
        let principal = Principal::Sender {
            credential_id,
            sender_id: record.sender_id,
            kinds: record.kinds,
        };
        self.remember(key, &principal);
        Ok(principal)
    }

    async fn verify(&self, header: Option<&str>) -> Result<Principal, Problem> {
        let unauthorized = |detail: &str| Problem::new(kinds::UNAUTHORIZED, detail.to_owned());
        let header = header.ok_or_else(|| match self.clients {
            Some(_) => {
                unauthorized("send the token as Authorization: Bearer <token>, or a registered client certificate")
            }
            None => unauthorized("send the token as Authorization: Bearer <token>"),
        })?;
        // The scheme name is case-insensitive (RFC 7235).
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be Bearer <token>"))?;
        let hash = hash_token(token);
        if let Some(principal) = self.cached(&hash) {
            return Ok(principal);
        }
        let record = self
            .store
            .token_by_hash(&hash)
            .await
            .map_err(crate::problem::internal)?;
        let principal = record
            .filter(|r| r.revoked_at.is_none())
            .and_then(|r| principal_of(&r))
            .ok_or_else(|| {
                // Never the token itself: a mistyped token may be another's valid one.
                tracing::warn!("a request with an unknown or revoked token was refused");
                unauthorized("the token is unknown or revoked")
            })?;
        self.remember(hash, &principal);
        Ok(principal)
    }
}

fn kind_name(kind: kinds::Kind) -> &'static str {
    kind.0
}

fn principal_of(record: &TokenRecord) -> Option<Principal> {
    match record.role.as_str() {
        "sender" => Some(Principal::Sender {
            credential_id: record.id.clone(),
            sender_id: record.sender_id.clone()?,
            kinds: record.kinds.clone(),
        }),
        "caseworker" => Some(Principal::Caseworker {
            token_id: record.id.clone(),
            municipality: record.municipality.clone()?,
            team: record.team.clone(),
        }),
        "operator" => Some(Principal::Operator {
            token_id: record.id.clone(),
        }),
        "auditor" => Some(Principal::Auditor {
            token_id: record.id.clone(),
        }),
        _ => None,
    }
}

impl FromRequest for Principal {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Without a bearer token, a session cookie (a person signed in; `session`).
        if let Some(session) = crate::session::from_request(req) {
            return session;
        }
        let auth = req.app_data::<web::Data<Authenticator>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let certificates = req.conn_data::<PeerCertificates>().cloned();
        Box::pin(async move {
            let auth = auth.ok_or_else(|| crate::problem::internal(anyhow::anyhow!("no authenticator configured")))?;
            auth.authenticate(header.as_deref(), certificates.as_ref()).await
        })
    }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// Creates and stores a token; returns its record and the token itself (shown once).
pub async fn create_token(store: &dyn Store, grant: Grant, now: Timestamp) -> anyhow::Result<(TokenRecord, String)> {
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()));
    let id = format!("tok_{}", hex::encode(random_bytes::<6>()));
    let mut record = TokenRecord {
        id,
        hash: hash_token(&token),
        role: String::new(),
        sender_id: None,
        kinds: Vec::new(),
        municipality: None,
        team: None,
        created_at: now,
        revoked_at: None,
    };
    match grant {
        Grant::Sender { sender_id, kinds } => {
            if !valid_sender_id(&sender_id) {
                bail!("--sender: {sender_id:?} is not a sender id (letters, digits, '.', '_', '-'; at most 64)");
            }
            if kinds.is_empty() {
                bail!("--kinds: name at least one kind");
            }
            record.role = "sender".into();
            record.sender_id = Some(sender_id);
            record.kinds = kinds;
        }
        Grant::Caseworker { municipality, team } => {
            record.role = "caseworker".into();
            record.municipality = Some(municipality.to_string());
            record.team = team;
        }
        Grant::Operator => record.role = "operator".into(),
        Grant::Auditor => record.role = "auditor".into(),
    }
    store.create_token(record.clone()).await?;
    Ok((record, token))
}

/// The same rule as `sender.id` in the schemas.
pub fn valid_sender_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}
