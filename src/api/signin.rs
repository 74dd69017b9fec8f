//! Signing in and out with OpenID Connect, outside `/v1` and outside the API document:
//!
//! - `GET /auth/login?return_to=/v1/cases` sends the browser to the provider, with a state, a
//!   nonce and a PKCE challenge; the state is also set in a short-lived cookie, so the callback
//!   is taken only in the browser that began the sign-in;
//! - `GET /auth/callback` takes the sign-in once (a state works once and for ten minutes),
//!   exchanges the code, checks the ID token, maps the roles claim to roles and starts a
//!   session; a person without a role gets `403` naming the claim, and no session;
//! - `GET /auth/session` tells the signed-in person who they are, their roles, when the session
//!   ends and the CSRF token;
//! - `POST /auth/logout` (with the CSRF token) ends the session and sends the browser on to the
//!   provider's end-session endpoint, where it has one.
//!
//! Sign-in and sign-out each leave one audit entry.

use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::auth::hash_token;
use crate::oidc::Provider;
use crate::problem::{Problem, internal, kinds};
use crate::session::{CSRF_HEADER, Sessions, check_csrf, short};
use crate::store::{LoginRecord, Store};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// How long a sign-in may take at the provider.
const LOGIN_LIFETIME: SignedDuration = SignedDuration::from_mins(10);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", super::errors::get().to(login))
        .route("/auth/callback", super::errors::get().to(callback))
        .route("/auth/session", super::errors::get().to(session))
        .route("/auth/logout", web::post().to(logout));
}

fn provider(req: &HttpRequest) -> Result<web::Data<Provider>, Problem> {
    req.app_data::<web::Data<Provider>>().cloned().ok_or_else(|| {
        Problem::new(
            kinds::NOT_FOUND,
            "sign-in with OpenID Connect is not configured (auth.oidc.issuer)".to_owned(),
        )
    })
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

/// A path of this gateway, never another site (`//host` or `/\host` would be one).
fn local_path(path: Option<&str>) -> Result<String, Problem> {
    let path = path.unwrap_or("/auth/session");
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 2000
        && !path.chars().any(|c| c.is_control());
    if local {
        Ok(path.to_owned())
    } else {
        Err(Problem::new(
            kinds::BAD_REQUEST,
            "return_to: a path of this gateway, starting with /".to_owned(),
        ))
    }
}

pub async fn login(
    req: HttpRequest,
    query: web::Query<LoginQuery>,
    sessions: web::Data<Sessions>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, Problem> {
    let provider = provider(&req)?;
    let return_to = local_path(query.return_to.as_deref())?;
    let begun = provider.begin();
    let now = sessions.now();
    let login = LoginRecord {
        state_hash: hash_token(&begun.state),
        nonce: begun.nonce,
        pkce_verifier: begun.pkce_verifier,
        return_to,
        created_at: now,
    };
    store.begin_login(login, now - LOGIN_LIFETIME).await.map_err(internal)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, begun.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sessions.cookie(sessions.login_cookie_name(), begun.state, LOGIN_LIFETIME))
        .finish())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn failed(detail: &str) -> Problem {
    Problem::new(kinds::SIGN_IN_FAILED, format!("{detail}; start again at /auth/login"))
}

pub async fn callback(
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
    sessions: web::Data<Sessions>,
    store: web::Data<dyn Store>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let provider = provider(&req)?;
    // Whatever happens, the sign-in under way is over for this browser.
    let forget = sessions.removal(sessions.login_cookie_name());
    let answer = finish(&req, &query, &provider, &sessions, store.as_ref(), &auditor).await;
    let mut response = match answer {
        Ok(response) => response,
        Err(problem) => problem.response(),
    };
    response.add_cookie(&forget).map_err(|e| internal(e.into()))?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn finish(
    req: &HttpRequest,
    query: &CallbackQuery,
    provider: &Provider,
    sessions: &Sessions,
    store: &dyn Store,
    auditor: &Auditor,
) -> Result<HttpResponse, Problem> {
    if let Some(error) = &query.error {
        tracing::warn!(
            error = crate::validation::echo::cut(error),
            "the provider refused the sign-in"
        );
        return Err(failed(&format!(
            "the provider answered {}",
            crate::validation::echo::quoted(error)
        )));
    }
    let (Some(code), Some(state)) = (&query.code, &query.state) else {
        return Err(failed("the callback lacks code or state"));
    };
    let begun_here = req
        .cookie(sessions.login_cookie_name())
        .is_some_and(|cookie| hash_token(cookie.value()) == hash_token(state));
    if !begun_here {
        tracing::warn!("a sign-in callback whose state was not begun in this browser was refused");
        return Err(failed("this sign-in was not begun in this browser"));
    }
    let login = store
        .take_login(&hash_token(state), sessions.now() - LOGIN_LIFETIME)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            tracing::warn!("a sign-in callback with an unknown, used or expired state was refused");
            failed("the sign-in is unknown, was used already or took too long")
        })?;
    let identity = provider
        .finish(code, &login.nonce, &login.pkce_verifier)
        .await
        .map_err(|e| {
            tracing::warn!(error = format!("{e:#}"), "a sign-in failed at the provider");
            failed("the provider's answer could not be verified")
        })?;
    let actor = Actor::person(&identity.subject, identity.name.as_deref(), req);
    let roles = provider.roles().roles(&identity.claim_values);
    let claim = provider.roles().claim();
    if roles.is_empty() {
        auditor
            .request(
                &actor,
                action::SESSION_SIGN_IN,
                About::target(format!("no role from claim {claim}")),
                outcome::REFUSED,
            )
            .await?;
        tracing::warn!(
            subject = identity.subject,
            claim,
            "a person signed in, but no value of the roles claim maps to a role"
        );
        return Err(Problem::new(
            kinds::NO_ROLE,
            format!(
                "you are signed in at the provider, but no value of the claim {claim:?} in your ID token \
                 gives a role in this gateway (auth.oidc.roles); ask the gateway's administrator for access"
            ),
        ));
    }
    // A session this browser had before ends: a sign-in always gets a new id.
    if let Some(old) = req.cookie(sessions.cookie_name()) {
        sessions.end(&hash_token(old.value())).await.map_err(internal)?;
    }
    let id = sessions
        .start(&identity.subject, identity.name.as_deref(), &roles)
        .await
        .map_err(internal)?;
    let described: Vec<String> = roles.iter().map(ToString::to_string).collect();
    auditor
        .request(
            &actor,
            action::SESSION_SIGN_IN,
            About::target(described.join(", ")),
            outcome::OK,
        )
        .await?;
    tracing::info!(
        subject = identity.subject,
        session = short(&hash_token(&id)),
        roles = described.join(", "),
        "signed in"
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, login.return_to))
        .cookie(sessions.cookie(sessions.cookie_name(), id, sessions.max_lifetime()))
        .finish())
}

/// The signed-in person as the gateway sees them.
#[derive(Serialize)]
pub struct SessionBody {
    subject: String,
    name: Option<String>,
    roles: Vec<crate::auth::Role>,
    /// Send it in `X-CSRF-Token` with every request that changes something.
    csrf_token: String,
    /// When the session ends unless used before (RFC 3339).
    expires_at: String,
}

fn session_id(req: &HttpRequest, sessions: &Sessions) -> Result<String, Problem> {
    req.cookie(sessions.cookie_name())
        .map(|c| c.value().to_owned())
        .ok_or_else(|| Problem::new(kinds::UNAUTHORIZED, "not signed in; sign in at /auth/login".to_owned()))
}

pub async fn session(req: HttpRequest, sessions: web::Data<Sessions>) -> Result<HttpResponse, Problem> {
    let live = sessions.find(&session_id(&req, &sessions)?).await?;
    let crate::auth::Principal::Person { roles, .. } = live.principal else {
        return Err(internal(anyhow::anyhow!("a session gave no person")));
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SessionBody {
            subject: live.record.subject,
            name: live.record.name,
            roles,
            csrf_token: live.record.csrf_token,
            expires_at: live.expires_at.to_string(),
        }))
}

/// The CSRF token of a sign-out: the header, or the form field `csrf_token` of a form POST.
fn csrf_of(req: &HttpRequest, body: &[u8]) -> Option<String> {
    if let Some(value) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(value.to_owned());
    }
    openidconnect::url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "csrf_token")
        .map(|(_, value)| value.into_owned())
}

pub async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    sessions: web::Data<Sessions>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let live = sessions.find(&session_id(&req, &sessions)?).await?;
    check_csrf(&live.record, csrf_of(&req, &body).as_deref())?;
    sessions.end(&live.record.id_hash).await.map_err(internal)?;
    auditor
        .request(
            &Actor::of(&live.principal, &req),
            action::SESSION_SIGN_OUT,
            About::default(),
            outcome::OK,
        )
        .await?;
    tracing::info!(
        subject = live.record.subject,
        session = short(&live.record.id_hash),
        "signed out"
    );
    let forget = sessions.removal(sessions.cookie_name());
    let end_session = req
        .app_data::<web::Data<Provider>>()
        .and_then(|provider| provider.end_session_url());
    // A page's sign-out button posts a form: its browser is sent on to a page, not left on a
    // `204` that shows nothing.
    let from_page = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    Ok(match end_session {
        Some(url) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url))
            .cookie(forget)
            .finish(),
        None if from_page => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/logget-ud"))
            .cookie(forget)
            .finish(),
        None => HttpResponse::NoContent().cookie(forget).finish(),
    })
}
