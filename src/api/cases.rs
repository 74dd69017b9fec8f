//! The caseworker's view of cases: the list carries no CPR numbers; one case, read by a
//! caseworker of its municipality, is the only place personal data leaves the gateway.

use crate::access::Caseworker;
use crate::api::receipts::ReceiptBody;
use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::domain::{CaseRef, Kind};
use crate::problem::{Problem, internal, kinds};
use crate::store::{CaseFilter, CaseRecord, Store};
use crate::vault::Vault;
use actix_web::{HttpRequest, HttpResponse, web};
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
    /// The answers to the allocation office: on a vacant home's case its answer, on a citizen's
    /// the answers that named the case (docs/matching.md).
    pub housing_answers: Vec<super::answer::HousingAnswerBody>,
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
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, Problem> {
    let municipality = caseworker.municipality.as_str();
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
        subject: None,
    };
    let cases = store.cases(filter).await.map_err(internal)?;
    Ok(HttpResponse::Ok().json(CaseList::from(cases)))
}

impl From<Vec<crate::store::CaseSummary>> for CaseList {
    fn from(cases: Vec<crate::store::CaseSummary>) -> CaseList {
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
        CaseList { cases }
    }
}

/// A search by CPR number: in the body, never in a URL (which ends up in logs and histories).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseSearch {
    /// DDMMYY-SSSS or DDMMYYSSSS.
    pub cpr: String,
}

/// The case of a citizen in the caseworker's municipality, found by CPR number (none or one).
/// Every search is recorded in the audit log, with the case found, never the number.
#[utoipa::path(post, path = "/v1/case-search", tag = "cases",
    request_body = CaseSearch,
    responses(
        (status = 200, body = CaseList),
        (status = 400, description = "Not a CPR number (the answer does not repeat it)", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn search_cases(
    req: HttpRequest,
    body: web::Bytes,
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
    vault: web::Data<Vault>,
    clock: web::Data<crate::clock::Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    // Neither the parse error nor the problem may repeat the body: it holds a CPR number.
    let search: CaseSearch = serde_json::from_slice(&body).map_err(|_| {
        Problem::new(
            kinds::BAD_REQUEST,
            "the body must be {\"cpr\": \"DDMMYY-SSSS\"}".to_owned(),
        )
    })?;
    let cases = search_by_cpr(
        store.as_ref(),
        &vault,
        &clock,
        &auditor,
        &caseworker,
        &actor,
        &search.cpr,
    )
    .await?;
    Ok(HttpResponse::Ok().json(CaseList::from(cases)))
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
    req: HttpRequest,
    path: web::Path<String>,
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
    vault: web::Data<Vault>,
    policies: web::Data<crate::deadlines::Policies>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    let case = read_case(store.as_ref(), &auditor, &caseworker, &actor, &path, action::CASE_READ).await?;
    let cpr = unseal_cpr(&vault, &case)?;
    let housing_answers = store
        .housing_answers(&case.case_ref)
        .await
        .map_err(internal)?
        .iter()
        .map(|a| super::answer::HousingAnswerBody::new(a, None))
        .collect();
    let mut messages = Vec::with_capacity(case.messages.len());
    for record in case.messages {
        let body = vault.open_document(&record.body_sealed).map_err(internal)?;
        let message = serde_json::from_slice(&body).map_err(|e| internal(e.into()))?;
        messages.push(CaseMessage {
            receipt: ReceiptBody::from(record.receipt),
            message,
        });
    }
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
        housing_answers,
    }))
}

/// The case `path` names, when it is one of the caseworker's municipality, its reading recorded
/// in the audit log as `audit_action` (`case.read`, or `case.reveal` on the page that shows the
/// CPR number) before any of it is shown: personal data read without a record was not read.
/// Another municipality's case answers as one that does not exist: case references are
/// sequential, and a different answer would tell which exist. Asking for cases that are not
/// one's own is worth a record too.
pub async fn read_case(
    store: &dyn Store,
    auditor: &Auditor,
    caseworker: &Caseworker,
    actor: &Actor,
    path: &str,
    audit_action: &str,
) -> Result<CaseRecord, Problem> {
    let not_found = || Problem::new(kinds::NOT_FOUND, "no such case".to_owned());
    let case_ref = CaseRef::parse(path).ok_or_else(not_found)?;
    let case = store
        .case(&case_ref)
        .await
        .map_err(internal)?
        .filter(|case| case.municipality == caseworker.municipality);
    let Some(case) = case else {
        auditor
            .request(actor, audit_action, About::case(case_ref.as_str()), outcome::NOT_FOUND)
            .await?;
        return Err(not_found());
    };
    auditor
        .request(actor, audit_action, About::case(case.case_ref.as_str()), outcome::OK)
        .await?;
    tracing::info!(case = %case.case_ref, token = caseworker.principal.token_id(), action = audit_action, "case read");
    Ok(case)
}

/// The citizen's CPR number as `DDMMYY-SSSS`; `None` on the case of a vacant home.
pub fn unseal_cpr(vault: &Vault, case: &CaseRecord) -> Result<Option<String>, Problem> {
    let Some(sealed) = &case.cpr_sealed else {
        return Ok(None);
    };
    let digits = String::from_utf8(vault.decrypt(sealed).map_err(internal)?).map_err(|e| internal(e.into()))?;
    match (digits.get(..6), digits.get(6..)) {
        (Some(birth), Some(serial)) if digits.len() == 10 => Ok(Some(format!("{birth}-{serial}"))),
        _ => Err(internal(anyhow::anyhow!("a stored CPR number is malformed"))),
    }
}

/// The case of a citizen of the caseworker's municipality with the CPR number `text` (none or
/// one). Every search is recorded in the audit log (`case.search`), with the case found, never
/// the number; a text that is not a CPR number is refused (`400`), its problem not repeating it.
#[allow(clippy::too_many_arguments)]
pub async fn search_by_cpr(
    store: &dyn Store,
    vault: &Vault,
    clock: &crate::clock::Clock,
    auditor: &Auditor,
    caseworker: &Caseworker,
    actor: &Actor,
    text: &str,
) -> Result<Vec<crate::store::CaseSummary>, Problem> {
    let today = crate::domain::copenhagen_date(clock.now());
    let cpr = match crate::domain::Cpr::parse(text.trim(), today) {
        Ok(cpr) => cpr,
        Err(e) => {
            let refused = Err(Problem::new(kinds::BAD_REQUEST, format!("cpr: {e}")));
            return auditor
                .answer(actor, action::CASE_SEARCH, About::default(), refused)
                .await;
        }
    };
    let filter = CaseFilter {
        municipality: caseworker.municipality.clone(),
        kind: None,
        since: None,
        limit: 1,
        subject: Some(vault.match_hash("cpr", cpr.expose_digits().as_bytes())),
    };
    let cases = store.cases(filter).await.map_err(internal)?;
    let (about, found) = match cases.first() {
        Some(case) => (About::case(case.case_ref.as_str()), outcome::OK),
        None => (About::default(), outcome::NOT_FOUND),
    };
    auditor.request(actor, action::CASE_SEARCH, about, found).await?;
    Ok(cases)
}
