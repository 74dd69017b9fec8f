//! The caseworker's view of cases: the list carries no CPR numbers; one case, read by a
//! caseworker of its municipality, is the only place personal data leaves the gateway.

use crate::api::receipts::ReceiptBody;
use crate::auth::Principal;
use crate::domain::{CaseRef, Kind};
use crate::problem::{Problem, internal, kinds};
use crate::store::{CaseFilter, Store};
use crate::vault::Vault;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseList {
    pub cases: Vec<CaseLine>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseLine {
    #[schema(value_type = String)]
    pub case_ref: CaseRef,
    pub municipality: String,
    /// `citizen` or `vacant_dwelling`.
    pub subject: String,
    pub opened_at: String,
    pub last_message_at: String,
    pub message_count: i64,
    pub kinds: Vec<Kind>,
}

/// Holds personal data: no `Debug`, so it cannot end up in a log line by accident.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseBody {
    #[schema(value_type = String)]
    pub case_ref: CaseRef,
    pub municipality: String,
    pub subject: String,
    /// DDMMYY-SSSS; absent for a vacant dwelling.
    pub cpr: Option<String>,
    pub opened_at: String,
    pub messages: Vec<CaseMessage>,
    /// The deadlines on the case, soonest due first, each with its history.
    pub deadlines: Vec<super::deadlines::DeadlineBody>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseMessage {
    pub receipt: ReceiptBody,
    /// The canonical message as accepted.
    #[schema(value_type = Object)]
    pub message: serde_json::Value,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Only cases with a message of this kind.
    #[param(value_type = Option<Kind>)]
    pub kind: Option<String>,
    /// Only cases with a message received at or after this instant (RFC 3339) or date (YYYY-MM-DD, Copenhagen).
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub since: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

fn caseworker_municipality(principal: &Principal) -> Result<&str, Problem> {
    match principal {
        Principal::Caseworker { municipality, .. } => Ok(municipality),
        Principal::Sender { .. } | Principal::Operator { .. } => Err(Problem::new(
            kinds::FORBIDDEN,
            "cases are for caseworker tokens".to_owned(),
        )),
    }
}

/// The cases of the caseworker's municipality, most recently active first.
#[utoipa::path(get, path = "/v1/cases", tag = "cases", params(CaseQuery),
    responses(
        (status = 200, body = CaseList),
        (status = 400, description = "A query parameter out of bounds or not understood", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_cases(
    query: web::Query<CaseQuery>,
    principal: Principal,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, Problem> {
    let municipality = caseworker_municipality(&principal)?;
    let bad = |detail: String| Problem::new(kinds::BAD_REQUEST, detail);
    let kind = match &query.kind {
        Some(text) => Some(Kind::parse(text).ok_or_else(|| {
            bad(format!(
                "kind: {} is not one of release-notice, housing-offer, jobcenter-message",
                crate::validation::echo::quoted(text)
            ))
        })?),
        None => None,
    };
    let since = super::instant_param("since", query.since.as_deref())?;
    let limit = super::limit_param(query.limit)?;
    let filter = CaseFilter {
        municipality: municipality.to_owned(),
        kind,
        since,
        limit,
    };
    let cases = store.cases(filter).await.map_err(internal)?;
    let cases = cases
        .into_iter()
        .map(|c| CaseLine {
            case_ref: c.case_ref,
            municipality: c.municipality,
            subject: c.subject_kind,
            opened_at: c.opened_at.to_string(),
            last_message_at: c.last_message_at.to_string(),
            message_count: c.message_count,
            kinds: c.kinds,
        })
        .collect();
    Ok(HttpResponse::Ok().json(CaseList { cases }))
}

/// One case with every message on it, personal data included.
#[utoipa::path(get, path = "/v1/cases/{case_ref}", tag = "cases",
    params(("case_ref" = String, Path, description = "e.g. K-2026-000123")),
    responses(
        (status = 200, body = CaseBody),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caseworker's municipality", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_case(
    path: web::Path<String>,
    principal: Principal,
    store: web::Data<dyn Store>,
    vault: web::Data<Vault>,
    policies: web::Data<crate::deadlines::Policies>,
) -> Result<HttpResponse, Problem> {
    let municipality = caseworker_municipality(&principal)?;
    let not_found = || Problem::new(kinds::NOT_FOUND, "no such case".to_owned());
    let case_ref = CaseRef::parse(&path).ok_or_else(not_found)?;
    // Another municipality's case answers as one that does not exist: case references are
    // sequential, and a different answer would tell which exist.
    let case = store
        .case(&case_ref)
        .await
        .map_err(internal)?
        .filter(|case| case.municipality == municipality)
        .ok_or_else(not_found)?;
    let cpr = match &case.cpr_sealed {
        Some(sealed) => {
            let digits = String::from_utf8(vault.decrypt(sealed).map_err(internal)?).map_err(|e| internal(e.into()))?;
            let (birth, serial) = (digits.get(..6), digits.get(6..));
            match (birth, serial) {
                (Some(birth), Some(serial)) if digits.len() == 10 => Some(format!("{birth}-{serial}")),
                _ => return Err(internal(anyhow::anyhow!("a stored CPR number is malformed"))),
            }
        }
        None => None,
    };
    let mut messages = Vec::with_capacity(case.messages.len());
    for record in case.messages {
        let body = vault.open_document(&record.body_sealed).map_err(internal)?;
        let message = serde_json::from_slice(&body).map_err(|e| internal(e.into()))?;
        messages.push(CaseMessage {
            receipt: ReceiptBody::from(record.receipt),
            message,
        });
    }
    tracing::info!(case = %case.case_ref, token = principal.token_id(), "case read");
    Ok(HttpResponse::Ok().json(CaseBody {
        case_ref: case.case_ref,
        municipality: case.municipality,
        subject: case.subject_kind,
        cpr,
        opened_at: case.opened_at.to_string(),
        messages,
        deadlines: case
            .deadlines
            .into_iter()
            .map(|d| super::deadlines::DeadlineBody::new(d, &policies))
            .collect(),
    }))
}
