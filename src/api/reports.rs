//! The reports over HTTP: JSON by default, CSV with `?format=csv` or `Accept: text/csv`.
//! Caseworkers get their own municipality; operators every municipality (or `?municipality=`).

use crate::access::ReportReader;
use crate::clock::Clock;
use crate::config::Settings;
use crate::problem::{Problem, internal, kinds};
use crate::reports::{Period, Report, compute};
use crate::store::Store;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Start of the period (RFC 3339 instant or date, Copenhagen); default 1 January this year,
    /// for `municipalities` 30 days before now.
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub from: Option<String>,
    /// End of the period, exclusive; default 1 January next year, for `municipalities` now.
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub to: Option<String>,
    /// Operators only: one municipality (kommunekode).
    pub municipality: Option<String>,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// A report: `institutions` (notices per sending institution: count, median days to release,
/// share late, share with a cover letter), `municipalities` (citizens due for release within 30
/// days without housing, and released without) or `teams` (deadlines met on time, missed,
/// overdue, open) or `housing` (vacant homes per municipality and month of the offer: offered,
/// answered, answered in time, matched, accepted, median days from offer to answer). The JSON names the period it covers (`from`, `to`) and the instant it was
/// computed at (`as_of`), from which `municipalities` counts the 30 days ahead.
#[utoipa::path(get, path = "/v1/reports/{report}", tag = "reports",
    params(("report" = String, Path, description = "institutions, municipalities, teams or housing", pattern = "^(institutions|municipalities|teams|housing)$"), ReportQuery),
    responses(
        (status = 200, description = "The report. JSON: an object with `from`, `to`, `as_of` (UTC instants: the period \
            and the instant it was computed at) and the report's lines under its name (`institutions`, `municipalities`, \
            `teams` or `housing`). CSV (format=csv or Accept: text/csv): the lines only",
            content((Object = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_report(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ReportQuery>,
    reader: ReportReader,
    store: web::Data<dyn Store>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, Problem> {
    let report = match path.as_str() {
        "institutions" => Report::Institutions,
        "municipalities" => Report::Municipalities,
        "teams" => Report::Teams,
        "housing" => Report::Housing,
        _ => {
            return Err(Problem::new(
                kinds::NOT_FOUND,
                "no such report (institutions, municipalities, teams, housing)".to_owned(),
            ));
        }
    };
    let bad = |detail: String| Problem::new(kinds::BAD_REQUEST, detail);
    let municipality = reader.municipality(query.municipality.as_deref())?;
    let now = clock.now();
    let from = super::instant_param("from", query.from.as_deref())?;
    let to = super::instant_param("to", query.to.as_deref())?;
    let period = Period::asked(report, now, from, to);
    if period.from >= period.to {
        return Err(bad("from: must come before to".to_owned()));
    }
    if period.too_long() {
        return Err(bad(Period::TOO_LONG.to_owned()));
    }
    let wants_csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(bad(format!(
                "format: {} is not json or csv",
                crate::validation::echo::quoted(other)
            )));
        }
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
    };
    // A year's rows are summed apart from the HTTP worker, whose other requests would wait.
    let computed =
        crate::apart::apart(async move { compute(store.as_ref(), report, municipality, period, now, &settings).await })
            .await
            .and_then(|computed| computed)
            .map_err(internal)?;
    if wants_csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(computed.rows.csv()));
    }
    let mut json = computed.json;
    json["from"] = period.from.to_string().into();
    json["to"] = period.to.to_string().into();
    json["as_of"] = now.to_string().into();
    Ok(HttpResponse::Ok().json(json))
}
