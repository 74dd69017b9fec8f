//! The HTTP surface besides intake: receipts, cases, schemas, health, metrics and the OpenAPI
//! document.

pub mod answer;
pub mod audit;
pub mod cases;
pub mod deadlines;
pub mod deliveries;
pub mod errors;
pub mod housing;
pub mod openapi;
pub mod operations;
pub mod receipts;
pub mod reports;
pub mod request_id;
pub mod signin;

use crate::problem::{Problem, kinds};
use actix_web::{HttpRequest, HttpResponse, web};
use errors::get;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/receipts/{receipt_id}", get().to(receipts::get_receipt))
        .route("/v1/cases", get().to(cases::list_cases))
        .route("/v1/case-search", web::post().to(cases::search_cases))
        .route("/v1/cases/{case_ref}", get().to(cases::get_case))
        .route(
            "/v1/cases/{case_ref}/housing-needs",
            web::put().to(housing::put_housing_needs),
        )
        .route(
            "/v1/cases/{case_ref}/housing-needs",
            get().to(housing::get_housing_needs),
        )
        .route("/v1/cases/{case_ref}/candidates", get().to(housing::get_candidates))
        .route(
            "/v1/cases/{case_ref}/housing-answer",
            web::post().to(answer::post_housing_answer),
        )
        .route(
            "/v1/receipts/{receipt_id}/acknowledge",
            web::post().to(deadlines::acknowledge),
        )
        .route("/v1/deadlines", get().to(deadlines::list_deadlines))
        .route(
            "/v1/deadlines/{id}/resolve",
            web::post().to(deadlines::resolve_deadline),
        )
        .route("/v1/deadlines/{id}/reopen", web::post().to(deadlines::reopen_deadline))
        .route("/v1/reports/{report}", get().to(reports::get_report))
        .route("/v1/dead-letters", get().to(deliveries::list_dead_letters))
        .route(
            "/v1/dead-letters/replay",
            web::post().to(deliveries::replay_dead_letters),
        )
        .route(
            "/v1/dead-letters/{delivery_id}/replay",
            web::post().to(deliveries::replay_dead_letter),
        )
        .route(
            "/v1/destinations/{destination}/pause",
            web::post().to(deliveries::pause_destination),
        )
        .route(
            "/v1/destinations/{destination}/resume",
            web::post().to(deliveries::resume_destination),
        )
        .route("/v1/status", get().to(deliveries::status))
        .route("/v1/audit", get().to(audit::list_audit))
        .route("/v1/schemas/{kind}", get().to(operations::get_schema))
        .route("/healthz", get().to(operations::healthz))
        .route("/readyz", get().to(operations::readyz))
        .route("/metrics", get().to(operations::metrics))
        .route("/openapi.json", get().to(openapi::document));
}

/// Unknown paths and methods answer with a problem too.
/// A known path with another method answers `405` with `Allow` (RFC 9110).
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    match req.match_pattern() {
        Some(pattern) => errors::method_not_allowed(&req, &pattern),
        None => Problem::new(kinds::NOT_FOUND, "no such endpoint".to_owned()).response(),
    }
}

/// Bad query strings answer with a 400 problem.
pub fn query_error(error: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    Problem::new(kinds::BAD_REQUEST, crate::validation::echo::cut(&error.to_string())).into()
}

/// An RFC 3339 instant, or a date (YYYY-MM-DD) meaning its start in Copenhagen.
pub fn parse_instant(text: &str) -> Option<jiff::Timestamp> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Some(at);
    }
    let day = text.parse::<jiff::civil::Date>().ok()?;
    day.to_zoned(crate::domain::copenhagen()).ok().map(|z| z.timestamp())
}

/// An optional instant or date named `key` (a query parameter or a command-line flag); the
/// error names the key.
pub fn instant_arg(key: &str, text: Option<&str>) -> Result<Option<jiff::Timestamp>, String> {
    text.map(|text| {
        parse_instant(text).ok_or_else(|| {
            format!(
                "{key}: {} is neither an RFC 3339 instant nor a date",
                crate::validation::echo::quoted(text)
            )
        })
    })
    .transpose()
}

/// An optional instant or date query parameter; `400` naming it otherwise.
pub fn instant_param(key: &str, text: Option<&str>) -> Result<Option<jiff::Timestamp>, Problem> {
    instant_arg(key, text).map_err(|detail| Problem::new(kinds::BAD_REQUEST, detail))
}

/// The `limit` query parameter of the lists: 100 unless given, 1 to 1000.
pub fn limit_param(limit: Option<u32>) -> Result<u32, Problem> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::new(kinds::BAD_REQUEST, "limit: between 1 and 1000".to_owned()));
    }
    Ok(limit)
}

/// Something the application was built with (`web::Data`), as a handler's helper takes it from
/// the request; missing is a fault of the build, answered `500`.
pub(crate) fn app_data<T: ?Sized + 'static>(req: &HttpRequest) -> Result<&T, Problem> {
    req.app_data::<web::Data<T>>()
        .map(|d| d.get_ref())
        .ok_or_else(|| crate::problem::internal(anyhow::anyhow!("{} is not configured", std::any::type_name::<T>())))
}
