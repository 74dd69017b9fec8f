//! Every error the gateway sends is a problem: the framework's own errors (a path parameter of
//! the wrong type, a bad query string, a body over the limit) get the same
//! `application/problem+json` bodies with stable types as the handlers' problems, and a panic
//! inside a request answers `500` instead of a dropped connection.

use crate::config::Settings;
use crate::problem::{Problem, kinds};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, PayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// The extractors' limits and error handlers, configured once for the whole application.
pub fn extractors(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(web::QueryConfig::default().error_handler(super::query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(
            web::JsonConfig::default()
                .limit(max_body_bytes)
                .error_handler(json_error),
        )
        .app_data(web::PayloadConfig::new(max_body_bytes));
}

/// A path parameter of the wrong type (a deadline id that is not a 64-bit integer) names
/// nothing that can exist: `404`, as for an id that does not exist.
pub fn path_error(_: PathError, _: &HttpRequest) -> actix_web::Error {
    Problem::new(kinds::NOT_FOUND, "no such resource".to_owned()).into()
}

fn json_error(error: JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => too_large(req),
        JsonPayloadError::ContentType => {
            Problem::new(kinds::MEDIA_TYPE, "send Content-Type: application/json".to_owned())
        }
        other => Problem::new(kinds::MALFORMED_JSON, crate::validation::echo::cut(&other.to_string())),
    }
    .into()
}

fn too_large(req: &HttpRequest) -> Problem {
    let limit = req
        .app_data::<web::Data<Settings>>()
        .map(|s| s.limits.max_body_bytes.to_string())
        .unwrap_or_else(|| "limits.max_body_bytes".to_owned());
    Problem::new(kinds::TOO_LARGE, format!("the limit is {limit} bytes"))
}

/// Runs the request, answering a panic with `500 internal`, and turns any error answer that is
/// not a problem yet (the framework's own) into one of the same status.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    // The request cannot be kept aside for the answer to a panic (routing needs it unshared),
    // so a panic comes back as an error, which the request-id middleware answers.
    let response = match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(response) => response?,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = what, "a request panicked; answered 500");
            return Err(Problem::new(kinds::INTERNAL, None).into());
        }
    };
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(crate::problem::CONTENT_TYPE.as_bytes()));
    // A page's problem is already shown as a page (`crate::web::protect`).
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page {
        return Ok(response.map_into_left_body());
    }
    let problem = match response.response().error() {
        Some(error) if error.as_error::<PayloadError>().is_some_and(is_overflow) => too_large(response.request()),
        _ => Problem::for_status(status),
    };
    let (request, old) = response.into_parts();
    let mut new = problem.response();
    // Keep what the answer said beside its body (e.g. `Allow`).
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, new).map_into_right_body())
}

fn is_overflow(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Overflow)
}

/// `GET` and `HEAD` (RFC 9110: wherever `GET` works, `HEAD` does; the body is left out).
pub fn get() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// The methods a route pattern answers, for the `Allow` header of a `405`: read from the
/// OpenAPI document, which lists every route; `HEAD` wherever `GET` is.
pub fn allowed_methods(pattern: &str) -> Option<HeaderValue> {
    static ALLOWED: std::sync::LazyLock<std::collections::HashMap<String, String>> = std::sync::LazyLock::new(|| {
        let doc = super::openapi::build();
        let mut map = std::collections::HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let mut methods: Vec<String> = item
                .as_object()
                .into_iter()
                .flatten()
                .map(|(method, _)| method.to_ascii_uppercase())
                .filter(|m| ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
                .collect();
            // The document has HEAD beside every GET, in its place among the methods.
            if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
                methods.push("HEAD".to_owned());
            }
            map.insert(path.clone(), methods.join(", "));
        }
        map
    });
    match ALLOWED.get(pattern) {
        Some(methods) => HeaderValue::from_str(methods).ok(),
        // Outside the API document: sign-out takes a form, the rest of sign-in (api::signin) and
        // the pages (crate::web) are read.
        None if pattern == "/auth/logout" => Some(HeaderValue::from_static("POST")),
        None => match crate::web::allowed_methods(pattern) {
            Some(methods) => Some(HeaderValue::from_static(methods)),
            None if !pattern.starts_with("/v1/") => Some(HeaderValue::from_static("GET, HEAD")),
            None => None,
        },
    }
}

/// A `405` problem with the `Allow` header.
pub fn method_not_allowed(req: &HttpRequest, pattern: &str) -> HttpResponse {
    let method = crate::validation::echo::cut(req.method().as_str());
    let mut response = Problem::new(kinds::METHOD_NOT_ALLOWED, format!("{method} is not allowed here")).response();
    if let Some(allow) = allowed_methods(pattern) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}
