//! The caseworkers' pages, served by the same binary under `/` (the API is under `/v1`):
//! server-rendered HTML from templates embedded in the binary, in Danish, with nothing loaded
//! from elsewhere. Every page answer carries the same protective headers (`protect`): a
//! Content-Security-Policy without `unsafe-inline`, no framing, and `Cache-Control: no-store`,
//! since pages may hold personal data.
//!
//! Pages are for people signed in with OpenID Connect (`viewer`). A page that answers `401`
//! sends the browser to sign in and back to the same page; any other problem is shown as a
//! Danish page with the same status. Every form posts with the session's CSRF token in a field.
//! The pages call the same code as the API (`crate::api`), so both answer alike and both write
//! the audit log.

pub mod answer;
pub mod case;
pub mod chart;
pub mod deadlines;
pub mod inbox;
pub mod needs;
pub mod operations;
pub mod reports;
pub mod search;
pub mod timeline;
pub mod viewer;
pub mod words;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpResponse, web};
use jiff::civil::Date;
use minijinja::Environment;
use serde::Serialize;
use std::sync::LazyLock;
pub use viewer::{Fields, Posted, Viewer};

/// The style sheet, in the binary; its address carries a hash of its content, so it may be
/// cached for ever and a new version is fetched at once.
const STYLE: &str = include_str!("static/app.css");

static STYLE_PATH: LazyLock<String> = LazyLock::new(|| {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(STYLE.as_bytes());
    format!("/static/app.{}.css", hex::encode(&digest[..6]))
});

/// Every template, by name; a page's module names its own here.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("index.html", include_str!("templates/index.html")),
    ("error.html", include_str!("templates/error.html")),
];

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let pages = [
        TEMPLATES,
        inbox::TEMPLATES,
        deadlines::TEMPLATES,
        case::TEMPLATES,
        search::TEMPLATES,
        reports::TEMPLATES,
        operations::TEMPLATES,
    ];
    for (name, source) in pages.into_iter().flatten() {
        env.add_template(name, source)
            .expect("the embedded page templates parse");
    }
    env.add_filter("dato", |text: String| {
        text.parse::<Date>().map(danish_date).unwrap_or(text)
    });
    env
});

const MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];

/// A date as Danish text writes it: `9. februar 2027`.
pub fn danish_date(date: Date) -> String {
    let month = MONTHS[usize::try_from(date.month() - 1).unwrap_or(0)];
    format!("{}. {month} {}", date.day(), date.year())
}

/// An instant as a Danish caseworker reads it: the date and the time in Copenhagen,
/// `9. februar 2027 kl. 16.00`.
pub fn danish_time(at: jiff::Timestamp) -> String {
    let local = at.to_zoned(crate::domain::copenhagen());
    format!(
        "{} kl. {:02}.{:02}",
        danish_date(local.date()),
        local.hour(),
        local.minute()
    )
}

/// The signed-in person as the page header shows them, and what the navigation offers them.
#[derive(Serialize)]
struct Who {
    name: String,
    csrf_token: String,
    caseworker: bool,
    operator: bool,
}

impl Who {
    fn of(viewer: &Viewer) -> Who {
        Who {
            name: viewer.name.clone().unwrap_or_else(|| "Logget ind".to_owned()),
            csrf_token: viewer.csrf_token.clone(),
            caseworker: viewer.principal.caseworker_of().is_some(),
            operator: viewer.principal.is_operator(),
        }
    }
}

/// What every page gets besides its own data.
#[derive(Serialize)]
struct Frame<'a, T: Serialize> {
    style: &'static str,
    who: Option<Who>,
    /// The navigation entry to mark as the current page.
    current: &'a str,
    #[serde(flatten)]
    page: T,
}

/// A page for `viewer` rendered from its template, with `current` marked in the navigation.
pub fn page(template: &str, viewer: Option<&Viewer>, current: &str, page: impl Serialize) -> HttpResponse {
    render_with(StatusCode::OK, template, viewer, current, page)
}

/// `page` with another status than `200` (a form shown again with its faults).
pub fn render_with(
    status: StatusCode,
    template: &str,
    viewer: Option<&Viewer>,
    current: &str,
    page: impl Serialize,
) -> HttpResponse {
    let frame = Frame {
        style: STYLE_PATH.as_str(),
        who: viewer.map(Who::of),
        current,
        page,
    };
    match PAGES
        .get_template(template)
        .and_then(|t| t.render(minijinja::value::Serde(&frame)))
    {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, template, "a page template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Siden kunne ikke vises.")
        }
    }
}

/// After a form: back to a page of the gateway (`303`, so a reload does not post again).
pub fn see_other(path: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, path.to_owned()))
        .finish()
}

/// The pages and the methods each answers (for `Allow` on a `405`).
pub const ROUTES: &[(&str, &str)] = &[
    ("/", "GET, HEAD"),
    ("/logget-ud", "GET, HEAD"),
    ("/indbakke", "GET, HEAD"),
    ("/indbakke/kvitter", "POST"),
    ("/frister", "GET, HEAD"),
    ("/frister/{id}/loes", "POST"),
    ("/frister/{id}/genaabn", "POST"),
    ("/sager/{case_ref}", "GET, HEAD"),
    ("/sager/{case_ref}/vis", "POST"),
    ("/sager/{case_ref}/loes", "POST"),
    ("/sager/{case_ref}/genaabn", "POST"),
    ("/sager/{case_ref}/kvitter", "POST"),
    ("/sager/{case_ref}/boligbehov", "POST"),
    ("/sager/{case_ref}/svar", "POST"),
    ("/soeg", "GET, HEAD, POST"),
    ("/rapporter", "GET, HEAD"),
    ("/rapporter/{report}", "GET, HEAD"),
    ("/drift", "GET, HEAD"),
    ("/drift/genafsend", "POST"),
    ("/drift/pause", "POST"),
    ("/drift/genoptag", "POST"),
];

/// The methods a page's route pattern answers; `None` for a pattern that is not a page.
pub fn allowed_methods(pattern: &str) -> Option<&'static str> {
    ROUTES.iter().find(|(p, _)| *p == pattern).map(|(_, methods)| *methods)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", crate::api::errors::get().to(index))
        .route("/logget-ud", crate::api::errors::get().to(signed_out))
        .route(STYLE_PATH.as_str(), crate::api::errors::get().to(style))
        .configure(inbox::routes)
        .configure(deadlines::routes)
        .configure(case::routes)
        .configure(search::routes)
        .configure(reports::routes)
        .configure(operations::routes);
}

#[derive(Serialize)]
struct Index {
    today: String,
    sign_in: bool,
}

/// The front page: what the gateway is, and the way to sign in (or on, once signed in).
async fn index(
    viewer: Option<Viewer>,
    settings: web::Data<crate::config::Settings>,
    clock: web::Data<crate::clock::Clock>,
) -> HttpResponse {
    page(
        "index.html",
        viewer.as_ref(),
        "",
        Index {
            today: crate::domain::copenhagen_date(clock.now()).to_string(),
            sign_in: settings.auth.oidc.enabled(),
        },
    )
}

/// Where the browser lands after signing out (`auth.oidc.post_logout_redirect_url` may point
/// here).
async fn signed_out(settings: web::Data<crate::config::Settings>) -> HttpResponse {
    page(
        "error.html",
        None,
        "",
        ErrorPage {
            heading: "Du er logget ud",
            text: "Du er logget ud af indgang. Luk browseren, hvis du deler computeren med andre.".to_owned(),
            sign_in: settings.auth.oidc.enabled(),
            request_id: None,
        },
    )
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLE)
}

/// Whether a path is a page (not the API, sign-in, the style sheet or the operations
/// endpoints).
fn is_page(path: &str) -> bool {
    !["/v1/", "/static/", "/auth/"].iter().any(|p| path.starts_with(p))
        && !["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(&path)
}

#[derive(Serialize)]
struct ErrorPage {
    heading: &'static str,
    text: String,
    sign_in: bool,
    request_id: Option<String>,
}

/// A problem on a page, as a Danish page with the same status; `401` instead sends the browser
/// to sign in and back to the page it asked for.
async fn problem_page(req: &actix_web::HttpRequest, response: HttpResponse<BoxBody>) -> HttpResponse {
    let status = response.status();
    let sign_in = req
        .app_data::<web::Data<crate::config::Settings>>()
        .is_some_and(|s| s.auth.oidc.enabled());
    if status == StatusCode::UNAUTHORIZED && sign_in {
        let back = if req.method() == actix_web::http::Method::GET {
            req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned()
        } else {
            "/".to_owned()
        };
        let query: String = openidconnect::url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &back)
            .finish();
        return see_other(&format!("/auth/login?{query}"));
    }
    let request_id = req
        .extensions()
        .get::<crate::api::request_id::RequestId>()
        .map(|id| id.0.clone());
    let detail = actix_web::body::to_bytes(response.into_body())
        .await
        .ok()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .and_then(|problem| problem["detail"].as_str().map(str::to_owned));
    let (heading, text) = match status.as_u16() {
        401 => (
            "Du er ikke logget ind",
            "Log ind er ikke sat op på denne installation (auth.oidc.issuer).".to_owned(),
        ),
        403 => (
            "Du har ikke adgang",
            "Siden hører ikke til de roller, du er logget ind med.".to_owned(),
        ),
        404 => (
            "Siden findes ikke",
            "Der er ingen side med den adresse, eller den hører til en anden kommune.".to_owned(),
        ),
        400..=499 => (
            "Det kunne ikke lade sig gøre",
            detail.unwrap_or_else(|| "Anmodningen blev afvist.".to_owned()),
        ),
        _ => (
            "Der skete en fejl",
            "Siden kunne ikke vises. Prøv igen om lidt; sker det igen, så giv driften fejlnummeret herunder."
                .to_owned(),
        ),
    };
    let viewer = Viewer::extract(req).await.ok();
    render_with(
        status,
        "error.html",
        viewer.as_ref(),
        "",
        ErrorPage {
            heading,
            text,
            sign_in,
            request_id,
        },
    )
}

/// The Content-Security-Policy of every page. `form-action` also governs where a form's
/// answer may redirect the browser: the sign-out form's answer sends it on to the provider's
/// end-session endpoint, so that origin is allowed beside the gateway's own (browsers block the
/// redirect otherwise, and the person stays signed in at the provider).
fn content_security_policy(sign_out_origin: Option<&str>) -> String {
    let form_action = match sign_out_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The origin (`https://login.example.dk`) of the provider's end-session endpoint, when sign-in
/// is set up and the provider has one.
fn sign_out_origin(req: &ServiceRequest) -> Option<String> {
    let provider = req.app_data::<web::Data<crate::oidc::Provider>>()?;
    let url = openidconnect::url::Url::parse(&provider.end_session_url()?).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The headers every page answer carries (the API's answers are left as they are), and a
/// problem on a page shown as a page.
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let page = is_page(req.path());
    // Worked out for pages only: the API's requests (the intake among them) pay nothing.
    let policy = page.then(|| content_security_policy(sign_out_origin(&req).as_deref()));
    let mut response = next.call(req).await?.map_into_boxed_body();
    if !page {
        return Ok(response);
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(crate::problem::CONTENT_TYPE.as_bytes()));
    // A 405 names what the page allows, and stays as the API answers it.
    if is_problem && response.status() != StatusCode::METHOD_NOT_ALLOWED {
        let (req, answer) = response.into_parts();
        let shown = problem_page(&req, answer).await;
        response = ServiceResponse::new(req, shown);
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html || response.status().is_redirection() {
        let headers = response.headers_mut();
        if let Some(Ok(policy)) = policy.as_deref().map(HeaderValue::from_str) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        for (name, value) in [
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_danish_text_writes_them() {
        assert_eq!(danish_date(Date::constant(2027, 2, 9)), "9. februar 2027");
        assert_eq!(danish_date(Date::constant(2026, 12, 31)), "31. december 2026");
        assert_eq!(danish_date(Date::constant(2027, 5, 1)), "1. maj 2027");
    }

    #[test]
    fn the_front_page_renders_in_danish_with_the_style_sheet_of_the_binary() {
        let page = PAGES
            .get_template("index.html")
            .unwrap()
            .render(minijinja::value::Serde(Frame {
                style: STYLE_PATH.as_str(),
                who: None,
                current: "",
                page: Index {
                    today: "2027-02-09".to_owned(),
                    sign_in: false,
                },
            }))
            .unwrap();
        assert!(page.starts_with("<!doctype html>\n<html lang=\"da\">"));
        assert!(page.contains("9. februar 2027"));
        assert!(page.contains(STYLE_PATH.as_str()));
        assert!(!page.contains("<script"), "nothing inline: the policy forbids it");
        assert!(!page.contains("style="), "no inline style either");
    }
}
