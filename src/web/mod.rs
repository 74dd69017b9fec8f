//! The caseworkers' pages, served by the same binary under `/` (the API is under `/v1`):
//! server-rendered HTML from templates embedded in the binary, in Danish, with nothing loaded
//! from elsewhere. Every page answer carries the same protective headers (`protect`): a
//! Content-Security-Policy without `unsafe-inline`, no framing, and `Cache-Control: no-store`,
//! since pages may hold personal data.
//!
//! This is the frame the pages stand on: the layout, the style sheet, Danish dates and the
//! headers. The pages themselves (inbox, deadlines, case, search, reports) need the signed-in
//! person of the OIDC sign-in.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use jiff::civil::Date;
use minijinja::Environment;
use serde::Serialize;
use std::sync::LazyLock;

/// The style sheet, in the binary; its address carries a hash of its content, so it may be
/// cached for ever and a new version is fetched at once.
const STYLE: &str = include_str!("static/app.css");

static STYLE_PATH: LazyLock<String> = LazyLock::new(|| {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(STYLE.as_bytes());
    format!("/static/app.{}.css", hex::encode(&digest[..6]))
});

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("index.html", include_str!("templates/index.html")),
    ] {
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

/// What every page gets besides its own data.
#[derive(Serialize)]
struct Frame<T: Serialize> {
    style: &'static str,
    #[serde(flatten)]
    page: T,
}

/// A page rendered from its template, or a plain 500 when a template fails (it is in the
/// binary, so that is a fault of the build).
fn render(template: &str, page: impl Serialize) -> HttpResponse {
    let frame = Frame {
        style: STYLE_PATH.as_str(),
        page,
    };
    match PAGES
        .get_template(template)
        .and_then(|t| t.render(minijinja::value::Serde(&frame)))
    {
        Ok(html) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, template, "a page template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Siden kunne ikke vises.")
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", crate::api::errors::get().to(index))
        .route(STYLE_PATH.as_str(), crate::api::errors::get().to(style));
}

#[derive(Serialize)]
struct Index {
    today: String,
    sign_in: bool,
}

/// The front page: what the gateway is, and the way to sign in.
async fn index(settings: web::Data<crate::config::Settings>, clock: web::Data<crate::clock::Clock>) -> HttpResponse {
    render(
        "index.html",
        Index {
            today: crate::domain::copenhagen_date(clock.now()).to_string(),
            sign_in: settings.auth.oidc.enabled(),
        },
    )
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLE)
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

/// The headers every page answer carries (the API's answers are left as they are).
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let page = !req.path().starts_with("/v1/") && !req.path().starts_with("/static/");
    // Worked out for pages only: the API's requests (the intake among them) pay nothing.
    let policy = page.then(|| content_security_policy(sign_out_origin(&req).as_deref()));
    let mut response = next.call(req).await?;
    if page
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
    {
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
