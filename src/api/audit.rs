//! The audit log for auditors: who read or changed what, filtered and paged.

use crate::access::AuditReader;
use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::problem::{Problem, internal};
use crate::store::Store;
use crate::store::audit::{AuditFilter, AuditRecord};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries of this actor: a token id (tok_…), a person's subject or a command-line user.
    pub actor: Option<String>,
    /// Only entries about this case (e.g. K-2026-000123).
    pub case: Option<String>,
    /// Only entries of this action, e.g. `case.read`.
    pub action: Option<String>,
    /// Entries at or after this instant (RFC 3339) or date (YYYY-MM-DD, Copenhagen).
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub from: Option<String>,
    /// Entries before this instant or date.
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub to: Option<String>,
    /// The page after this entry id (`next_after` of the page before).
    pub after: Option<i64>,
    /// At most this many (default 100, 1 to 1000).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// 1, 2, 3 … in the order written.
    pub id: i64,
    pub at: String,
    /// `token`, `certificate`, `person` or `cli`.
    pub actor_kind: String,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// The caller's network address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// Another record the action was about: a deadline id, a token id, a delivery id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `ok`, `not-found`, `conflict` or `refused`.
    pub outcome: String,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> AuditEntry {
        let e = r.entry;
        AuditEntry {
            id: r.id,
            at: e.at.to_string(),
            actor_kind: e.actor_kind,
            actor: e.actor,
            actor_name: e.actor_name,
            address: e.address,
            action: e.action,
            case_ref: e.case_ref,
            receipt_id: e.receipt_id,
            target: e.target,
            outcome: e.outcome,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// When the page is full: pass as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// The audit log, oldest first. Reading it is itself recorded.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_audit(
    req: HttpRequest,
    query: web::Query<AuditQuery>,
    reader: AuditReader,
    store: web::Data<dyn Store>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let limit = super::limit_param(query.limit)?;
    let filter = AuditFilter {
        actor: query.actor,
        case_ref: query.case,
        action: query.action,
        from: super::instant_param("from", query.from.as_deref())?,
        to: super::instant_param("to", query.to.as_deref())?,
        after: query.after.unwrap_or(0),
        limit: limit as usize,
    };
    let about = About {
        case_ref: filter.case_ref.as_deref().map(crate::validation::echo::cut),
        receipt_id: None,
        target: filter.actor.as_deref().map(crate::validation::echo::cut),
    };
    let records = store.audit_entries(filter).await.map_err(internal)?;
    let next_after = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    auditor
        .request(
            &Actor::of(&reader.principal, &req),
            action::AUDIT_READ,
            about,
            outcome::OK,
        )
        .await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        entries: records.into_iter().map(AuditEntry::from).collect(),
        next_after,
    }))
}
