//! Deadlines for caseworkers (own municipality only): the list, resolving and reopening a
//! deadline, and acknowledging a routed message. Every action records who (the token id) and
//! when. Deadlines carry no personal data.

use crate::access::Caseworker;
use crate::audit::{About, Actor, Auditor, action};
use crate::auth::Principal;
use crate::clock::Clock;
use crate::deadlines::Policies;
use crate::problem::{Problem, internal, kinds};
use crate::store::{DeadlineAction, DeadlineFilter, DeadlineRecord, DeadlineState, Store};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineEventBody {
    pub at: String,
    /// created, moved, cancelled, reminded, missed, met, reopened
    pub event: String,
    /// A token id, `receipt:<id>` of the message that did it, or `scheduler`.
    pub actor: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineBody {
    pub id: i64,
    #[schema(value_type = String, example = "K-2026-000123")]
    pub case_ref: crate::domain::CaseRef,
    /// The policy (`[deadlines.<id>]`) that made it.
    pub policy: String,
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub state: DeadlineState,
    pub due_at: String,
    /// The next reminder, or the due time, while something is ahead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_alert_at: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The outcomes it may be resolved with.
    pub outcomes: Vec<String>,
    /// Its history, oldest first (on a single case; empty in lists).
    pub history: Vec<DeadlineEventBody>,
}

impl DeadlineBody {
    pub fn new(d: DeadlineRecord, policies: &Policies) -> DeadlineBody {
        DeadlineBody {
            outcomes: policies.outcomes(&d.policy).map(<[String]>::to_vec).unwrap_or_default(),
            id: d.id,
            case_ref: d.case_ref,
            policy: d.policy,
            title: d.title,
            scope: d.scope,
            team: d.team,
            state: d.state,
            due_at: d.due_at.to_string(),
            next_alert_at: d.next_alert_at.map(|t| t.to_string()),
            created_at: d.created_at.to_string(),
            resolved_at: d.resolved_at.map(|t| t.to_string()),
            resolved_by: d.resolved_by,
            outcome: d.outcome,
            history: d
                .events
                .into_iter()
                .map(|e| DeadlineEventBody {
                    at: e.at.to_string(),
                    event: e.event,
                    actor: e.actor,
                    details: e.details,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineList {
    pub deadlines: Vec<DeadlineBody>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    /// open, met, missed or cancelled.
    #[param(value_type = Option<DeadlineState>)]
    pub state: Option<String>,
    /// Only this team's.
    pub team: Option<String>,
    /// Due before this instant (RFC 3339) or date (Copenhagen).
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub due_before: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// The deadlines of the caseworker's municipality, soonest due first.
#[utoipa::path(get, path = "/v1/deadlines", tag = "deadlines", params(DeadlineQuery),
    responses(
        (status = 200, body = DeadlineList),
        (status = 400, description = "A query parameter out of bounds or not understood", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_deadlines(
    query: web::Query<DeadlineQuery>,
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
    policies: web::Data<Policies>,
) -> Result<HttpResponse, Problem> {
    let municipality = caseworker.municipality.as_str();
    let bad = |detail: String| Problem::new(kinds::BAD_REQUEST, detail);
    let state = match &query.state {
        Some(text) => Some(DeadlineState::parse(text).ok_or_else(|| {
            bad(format!(
                "state: {} is not open, met, missed or cancelled",
                crate::validation::echo::quoted(text)
            ))
        })?),
        None => None,
    };
    let due_before = super::instant_param("due_before", query.due_before.as_deref())?;
    let limit = super::limit_param(query.limit)?;
    let filter = DeadlineFilter {
        municipality: municipality.to_owned(),
        state,
        team: query.team.clone(),
        due_before,
        limit,
    };
    let deadlines = store.deadlines(filter).await.map_err(internal)?;
    Ok(HttpResponse::Ok().json(DeadlineList {
        deadlines: deadlines.into_iter().map(|d| DeadlineBody::new(d, &policies)).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// One of the deadline's `outcomes`.
    pub outcome: String,
}

/// The deadline, if it exists and belongs to the caseworker's municipality.
async fn own(id: i64, caseworker: &Caseworker, store: &dyn Store) -> Result<DeadlineRecord, Problem> {
    match store.deadline(id).await.map_err(internal)? {
        Some(d) if d.municipality == caseworker.municipality => Ok(d),
        _ => Err(Problem::new(kinds::NOT_FOUND, "no such deadline".to_owned())),
    }
}

/// Resolves a deadline with an outcome: it is met (on time or not, the history says which).
#[utoipa::path(post, path = "/v1/deadlines/{id}/resolve", tag = "deadlines",
    params(("id" = i64, Path, description = "The deadline's id")),
    request_body = ResolveRequest,
    responses(
        (status = 200, body = DeadlineBody),
        (status = 400, description = "Not one of the deadline's outcomes, or a body that is not {\"outcome\": …}", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already met or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over limits.max_body_bytes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[allow(clippy::too_many_arguments)] // one per extractor, as actix-web hands them over
pub async fn resolve_deadline(
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
    policies: web::Data<Policies>,
    clock: web::Data<Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    let actor = Actor::of(&caseworker.principal, &req);
    let (about, answer) = match own(id, &caseworker, store.as_ref()).await {
        Ok(current) => (
            about(id, &current),
            resolve(current, &body, &caseworker.principal, store.as_ref(), &policies, &clock).await,
        ),
        Err(problem) => (About::target(id.to_string()), Err(problem)),
    };
    auditor.answer(&actor, action::DEADLINE_RESOLVE, about, answer).await
}

/// What an entry of the audit log says a change of a deadline was about.
fn about(id: i64, deadline: &DeadlineRecord) -> About {
    About {
        case_ref: Some(deadline.case_ref.to_string()),
        receipt_id: None,
        target: Some(id.to_string()),
    }
}

async fn resolve(
    current: DeadlineRecord,
    body: &[u8],
    principal: &Principal,
    store: &dyn Store,
    policies: &Policies,
    clock: &Clock,
) -> Result<HttpResponse, Problem> {
    let id = current.id;
    let request: ResolveRequest = serde_json::from_slice(body)
        .map_err(|e| Problem::new(kinds::BAD_REQUEST, format!("the body must be {{\"outcome\": …}}: {e}")))?;
    let allowed = policies.outcomes(&current.policy).unwrap_or_default();
    if !allowed.contains(&request.outcome) {
        return Err(Problem::new(
            kinds::BAD_REQUEST,
            format!(
                "outcome: {} is not one of {}",
                crate::validation::echo::quoted(&request.outcome),
                allowed.join(", ")
            ),
        ));
    }
    // Whether its state allows it is checked in the transaction that changes it (`act`).
    let action = DeadlineAction::Resolve {
        outcome: request.outcome,
        meets: policies.met_by_resolving().to_vec(),
    };
    act(id, action, principal, store, policies, clock).await
}

/// Reopens a met, missed or cancelled deadline: open again with its remaining reminders, or
/// missed at once (without a second escalation) when its due time has passed.
#[utoipa::path(post, path = "/v1/deadlines/{id}/reopen", tag = "deadlines",
    params(("id" = i64, Path, description = "The deadline's id")),
    responses(
        (status = 200, body = DeadlineBody),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already open", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reopen_deadline(
    req: HttpRequest,
    path: web::Path<i64>,
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
    policies: web::Data<Policies>,
    clock: web::Data<Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    let actor = Actor::of(&caseworker.principal, &req);
    let (about, answer) = match own(id, &caseworker, store.as_ref()).await {
        Ok(current) => (
            about(id, &current),
            act(
                id,
                DeadlineAction::Reopen,
                &caseworker.principal,
                store.as_ref(),
                &policies,
                &clock,
            )
            .await,
        ),
        Err(problem) => (About::target(id.to_string()), Err(problem)),
    };
    auditor.answer(&actor, action::DEADLINE_REOPEN, about, answer).await
}

async fn act(
    id: i64,
    action: DeadlineAction,
    principal: &Principal,
    store: &dyn Store,
    policies: &Policies,
    clock: &Clock,
) -> Result<HttpResponse, Problem> {
    let done = store
        .act_on_deadline(id, action, principal.token_id().to_owned(), clock.now())
        .await
        .map_err(|e| match e.downcast_ref::<crate::store::StateConflict>() {
            // Met or cancelled (resolve), open (reopen), also when another request changed it
            // since it was read.
            Some(conflict) => Problem::new(kinds::STATE_CONFLICT, conflict.to_string()),
            None => internal(e),
        })?
        .ok_or_else(|| Problem::new(kinds::NOT_FOUND, "no such deadline".to_owned()))?;
    tracing::info!(deadline = id, case = %done.case_ref, state = done.state.as_str(), token = principal.token_id(), "deadline changed");
    Ok(HttpResponse::Ok().json(DeadlineBody::new(done, policies)))
}

/// Acknowledges a routed message: meets the deadline to acknowledge it.
#[utoipa::path(post, path = "/v1/receipts/{receipt_id}/acknowledge", tag = "deadlines",
    params(("receipt_id" = String, Path, description = "The message's receipt id")),
    responses(
        (status = 200, body = DeadlineList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message in the caseworker's municipality", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn acknowledge(
    req: HttpRequest,
    path: web::Path<String>,
    caseworker: Caseworker,
    store: web::Data<dyn Store>,
    policies: web::Data<Policies>,
    clock: web::Data<Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let municipality = caseworker.municipality.as_str();
    let principal = &caseworker.principal;
    let receipt_id = path.into_inner();
    let actor = Actor::of(principal, &req);
    let about = |case_ref: Option<String>| About {
        case_ref,
        receipt_id: Some(crate::validation::echo::cut(&receipt_id)),
        target: None,
    };
    let case_ref = match store.receipt(&receipt_id).await.map_err(internal)? {
        Some(r) if r.municipality == municipality => r.case_ref.to_string(),
        _ => {
            let missing = Err(Problem::new(kinds::NOT_FOUND, "no such message".to_owned()));
            return auditor
                .answer(&actor, action::DEADLINE_ACKNOWLEDGE, about(None), missing)
                .await;
        }
    };
    let met = store
        .acknowledge(&receipt_id, principal.token_id().to_owned(), clock.now())
        .await
        .map_err(internal)?;
    tracing::info!(receipt = %receipt_id, deadlines = met.len(), token = principal.token_id(), "message acknowledged");
    let answer = Ok(HttpResponse::Ok().json(DeadlineList {
        deadlines: met.into_iter().map(|d| DeadlineBody::new(d, &policies)).collect(),
    }));
    auditor
        .answer(&actor, action::DEADLINE_ACKNOWLEDGE, about(Some(case_ref)), answer)
        .await
}
