use crate::domain::Kind;
use crate::metrics::Metrics;
use crate::problem::{Problem, kinds};
use crate::store::Store;
use crate::validation::schema_text;
use actix_web::{HttpResponse, web};

/// The JSON Schema (2020-12) of a message kind: the contract.
#[utoipa::path(get, path = "/v1/schemas/{kind}", tag = "contract",
    params(("kind" = String, Path, description = "release-notice, housing-offer or jobcenter-message; `.v1.json` may be appended",
        pattern = r"^(release-notice|housing-offer|jobcenter-message)(\.v1)?(\.json)?$")),
    responses(
        (status = 200, description = "The schema", content_type = "application/schema+json", body = Object),
        (status = 404, description = "No such kind", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_schema(path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let name = path.trim_end_matches(".json").trim_end_matches(".v1");
    let kind = Kind::parse(name).ok_or_else(|| {
        Problem::new(
            kinds::NOT_FOUND,
            "kinds: release-notice, housing-offer, jobcenter-message".to_owned(),
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .body(schema_text(kind)))
}

/// The answer of `/healthz` and `/readyz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthBody {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `/readyz` only, and only when there is any: e.g. the server certificate
    /// (`server.tls.certificate`) expires within 30 days.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Up", body = HealthBody)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthBody {
        status: "ok",
        warnings: Vec::new(),
    })
}

/// The database answers. `warnings` lists what an operator should attend to: a server
/// certificate (`server.tls.certificate`) that expires within 30 days.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthBody),
        (status = 503, description = "The database takes no writes or does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(
    store: web::Data<dyn Store>,
    certificate: Option<web::Data<crate::tls::ServerCertificate>>,
) -> HttpResponse {
    match store.ping().await {
        Ok(()) => HttpResponse::Ok().json(HealthBody {
            status: "ready",
            warnings: certificate
                .and_then(|c| c.expiry_warning(jiff::Timestamp::now()))
                .into_iter()
                .collect(),
        }),
        Err(e) if e.is::<crate::store::Unavailable>() => {
            tracing::warn!(error = format!("{e:#}"), "not ready: the store cannot write");
            Problem::new(kinds::UNAVAILABLE, "the database takes no writes now".to_owned()).response()
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "database not reachable");
            Problem::new(kinds::UNAVAILABLE, "the database does not answer".to_owned()).response()
        }
    }
}

/// Counters in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.render())
}
