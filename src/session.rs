//! Sessions of people signed in with OpenID Connect (`api::signin` starts and ends them).
//!
//! The cookie holds a random id (32 bytes); the store keeps its SHA-256, the person's subject and
//! display name, the roles mapped at sign-in, the times and a CSRF token. A session ends after
//! `auth.session.idle_minutes` without a request and `auth.session.max_hours` after sign-in,
//! whichever comes first. The cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` (with the
//! `__Host-` prefix) when the gateway is reached over HTTPS (`auth.oidc.redirect_url`).
//!
//! Every request made with the cookie whose method is not GET, HEAD or OPTIONS must carry the
//! session's CSRF token in `X-CSRF-Token`; a request with a bearer token is not affected (a page
//! of another site cannot set that header).

use crate::auth::{Principal, Role, hash_token};
use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::problem::{Problem, internal, kinds};
use crate::store::{SessionRecord, Store};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;
use actix_web::{HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A used session's last-seen time is written at most this often (one write a minute, not one
/// per request); the idle timeout is therefore exact to within this.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

pub struct Sessions {
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    idle: SignedDuration,
    max: SignedDuration,
    secure: bool,
}

/// A session that is live, as its request found it.
pub struct Live {
    pub record: SessionRecord,
    pub principal: Principal,
    pub expires_at: Timestamp,
}

impl Sessions {
    pub fn new(settings: &Settings, store: Arc<dyn Store>, clock: Clock, metrics: Arc<Metrics>) -> Sessions {
        Sessions {
            store,
            clock,
            metrics,
            idle: SignedDuration::from_mins(i64::from(settings.auth.session.idle_minutes)),
            max: SignedDuration::from_hours(i64::from(settings.auth.session.max_hours)),
            secure: served_over_https(&settings.auth.oidc.redirect_url),
        }
    }

    /// The session cookie's name: `__Host-` prefixed when it is `Secure`, so that no other host
    /// or path can set it.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-indgang_session"
        } else {
            "indgang_session"
        }
    }

    /// The cookie of the sign-in under way (the `state`, binding the callback to this browser).
    pub fn login_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-indgang_login"
        } else {
            "indgang_login"
        }
    }

    pub fn cookie<'c>(&self, name: &'static str, value: String, max_age: SignedDuration) -> Cookie<'c> {
        cookie(self.secure, name, value, max_age)
    }

    /// A cookie that removes the one named.
    pub fn removal<'c>(&self, name: &'static str) -> Cookie<'c> {
        let mut cookie = self.cookie(name, String::new(), SignedDuration::ZERO);
        cookie.make_removal();
        cookie
    }

    pub fn max_lifetime(&self) -> SignedDuration {
        self.max
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Starts a session for a person with their roles; returns the id for the cookie.
    pub async fn start(&self, subject: &str, name: Option<&str>, roles: &[Role]) -> anyhow::Result<String> {
        let id = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let now = self.clock.now();
        let record = SessionRecord {
            id_hash: hash_token(&id),
            subject: subject.to_owned(),
            name: name.map(str::to_owned),
            roles: serde_json::to_string(roles)?,
            csrf_token: URL_SAFE_NO_PAD.encode(random_bytes::<32>()),
            created_at: now,
            last_seen: now,
        };
        self.store
            .create_session(record, now - self.idle, now - self.max)
            .await?;
        Ok(id)
    }

    /// The live session whose id the cookie holds: `401` when there is none, or it has ended.
    pub async fn find(&self, id: &str) -> Result<Live, Problem> {
        let result = self.look_up(id).await;
        if matches!(&result, Err(problem) if problem.status == 401) {
            self.metrics.refused_credentials();
        }
        result
    }

    async fn look_up(&self, id: &str) -> Result<Live, Problem> {
        let hash = hash_token(id);
        let record = self
            .store
            .session_by_hash(&hash)
            .await
            .map_err(internal)?
            .ok_or_else(|| ended("the session is unknown or has ended; sign in again at /auth/login"))?;
        let now = self.clock.now();
        let idle_end = record.last_seen + self.idle;
        let hard_end = record.created_at + self.max;
        if now >= idle_end || now >= hard_end {
            let why = if now >= hard_end {
                "the session reached its longest lifetime"
            } else {
                "the session was idle too long"
            };
            tracing::info!(session = short(&hash), why, "an ended session was refused");
            self.store.end_session(&hash).await.map_err(internal)?;
            return Err(ended(&format!("{why}; sign in again at /auth/login")));
        }
        if record.last_seen.duration_until(now) >= TOUCH_EVERY {
            self.store.touch_session(&hash, now).await.map_err(internal)?;
        }
        let roles: Vec<Role> = serde_json::from_str(&record.roles)
            .map_err(|e| internal(anyhow::anyhow!("the roles of session {}: {e}", short(&hash))))?;
        let principal = Principal::Person {
            subject: record.subject.clone(),
            name: record.name.clone(),
            session: short(&hash).to_owned(),
            roles,
        };
        Ok(Live {
            expires_at: (now + self.idle).min(hard_end),
            record,
            principal,
        })
    }

    /// Ends the session; `false` when there was none.
    pub async fn end(&self, id_hash: &str) -> anyhow::Result<bool> {
        self.store.end_session(id_hash).await
    }
}

/// Whether browsers reach the gateway over HTTPS: the address the provider sends them back to.
fn served_over_https(redirect_url: &str) -> bool {
    redirect_url.trim().to_ascii_lowercase().starts_with("https://")
}

/// `HttpOnly`, `SameSite=Lax`, the whole site, `Secure` over HTTPS.
fn cookie<'c>(secure: bool, name: &'static str, value: String, max_age: SignedDuration) -> Cookie<'c> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age.as_secs()))
        .finish()
}

fn ended(detail: &str) -> Problem {
    Problem::new(kinds::UNAUTHORIZED, detail.to_owned())
}

/// The first 12 hex digits of a session's hash: names it in logs, and cannot be used as it.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// `Ok` when `given` is the session's CSRF token (compared in constant time), `403` otherwise.
pub fn check_csrf(record: &SessionRecord, given: Option<&str>) -> Result<(), Problem> {
    let expected = record.csrf_token.as_bytes();
    let matches = given.is_some_and(|given| {
        let given = given.as_bytes();
        given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    if matches {
        Ok(())
    } else {
        tracing::warn!(
            session = short(&record.id_hash),
            "a request with the session cookie but without its CSRF token was refused"
        );
        Err(Problem::new(
            kinds::CSRF,
            "send the session's csrf_token (GET /auth/session) in the X-CSRF-Token header".to_owned(),
        ))
    }
}

/// Whether a request of this method changes something (and so needs the CSRF token).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

type PrincipalFuture = Pin<Box<dyn Future<Output = Result<Principal, Problem>>>>;

/// The principal of a request without a bearer token but with a session cookie, with the CSRF
/// check for a request that changes something; `None` when the request is not such (a bearer
/// token wins over a cookie).
pub fn from_request(req: &HttpRequest) -> Option<PrincipalFuture> {
    if req.headers().contains_key(actix_web::http::header::AUTHORIZATION) {
        return None;
    }
    let sessions = req.app_data::<web::Data<Sessions>>()?.clone();
    let id = req.cookie(sessions.cookie_name())?.value().to_owned();
    let csrf = changes_state(req.method()).then(|| {
        req.headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    Some(Box::pin(async move {
        let live = sessions.find(&id).await?;
        if let Some(given) = csrf {
            check_csrf(&live.record, given.as_deref())?;
        }
        Ok(live.principal)
    }))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_https_the_cookie_is_secure_and_the_rest_always_holds() {
        assert!(served_over_https("HTTPS://indgang.kommune.dk/auth/callback"));
        assert!(!served_over_https("http://127.0.0.1:8080/auth/callback"));
        let text = cookie(
            true,
            "__Host-indgang_session",
            "id".into(),
            SignedDuration::from_hours(10),
        )
        .to_string();
        for part in [
            "__Host-indgang_session=id",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=36000",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(!text.contains("Domain"), "a __Host- cookie has no Domain: {text}");
        let plain = cookie(false, "indgang_session", "id".into(), SignedDuration::from_hours(10)).to_string();
        assert!(!plain.contains("Secure"), "{plain}");
    }

    #[test]
    fn the_csrf_token_must_match_exactly() {
        let record = SessionRecord {
            id_hash: "0123456789abcdef".into(),
            subject: "s".into(),
            name: None,
            roles: "[]".into(),
            csrf_token: "token-123".into(),
            created_at: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
        };
        assert!(check_csrf(&record, Some("token-123")).is_ok());
        for wrong in [None, Some(""), Some("token-12"), Some("token-1234"), Some("token-124")] {
            assert_eq!(check_csrf(&record, wrong).unwrap_err().status, 403, "{wrong:?}");
        }
    }
}
