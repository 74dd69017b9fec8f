//! Deadlines for caseworkers (own municipality only): the list, resolving and reopening a
//! deadline, and acknowledging a routed message. Every action records who (the token id) and
//! when. Deadlines carry no personal data.

use crate::access::Caseworker;
use crate::audit::{About, Actor, Auditor, action};
use crate::auth::Principal;
use crate::clock::Clock;
use crate::deadlines::Policies;
use crate::problem::{Problem, internal, kinds};
use crate::store::{DeadlineAction, DeadlineFilter, DeadlineRecord, DeadlineState, REOPEN_REASONS, Store};
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
        ..DeadlineFilter::default()
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

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// Why: `resolved_by_mistake`, `not_done`, `new_information` or `other` (kept in the
    /// deadline's history; no free text, so no personal data).
    pub reason: Option<String>,
}

/// What a caseworker does to deadlines, the same from the API and from the pages: each action
/// is checked against the caseworker's municipality (another's deadline or message is `404`,
/// as one that does not exist) and written to the audit log.
pub struct Desk<'a> {
    pub store: &'a dyn Store,
    pub policies: &'a Policies,
    pub clock: &'a Clock,
    pub auditor: &'a Auditor,
}

impl<'a> Desk<'a> {
    /// The desk of the application's data, for a handler that has the request (the API's
    /// handlers and the pages' alike).
    pub fn of(req: &'a HttpRequest) -> Result<Desk<'a>, Problem> {
        Ok(Desk {
            store: super::app_data::<dyn Store>(req)?,
            policies: super::app_data(req)?,
            clock: super::app_data(req)?,
            auditor: super::app_data(req)?,
        })
    }

    /// The deadline, if it exists and belongs to the caseworker's municipality.
    pub async fn own(&self, id: i64, caseworker: &Caseworker) -> Result<DeadlineRecord, Problem> {
        match self.store.deadline(id).await.map_err(internal)? {
            Some(d) if d.municipality == caseworker.municipality => Ok(d),
            _ => Err(Problem::new(kinds::NOT_FOUND, "no such deadline".to_owned())),
        }
    }

    /// Resolves a deadline with one of its outcomes: it is met (on time or not, its history says
    /// which).
    pub async fn resolve(
        &self,
        caseworker: &Caseworker,
        actor: &Actor,
        id: i64,
        outcome: &str,
    ) -> Result<DeadlineRecord, Problem> {
        let (about, answer) = match self.own(id, caseworker).await {
            Ok(current) => (
                about(id, &current),
                self.resolve_own(current, outcome, caseworker).await,
            ),
            Err(problem) => (About::target(id.to_string()), Err(problem)),
        };
        self.auditor
            .answer(actor, action::DEADLINE_RESOLVE, about, answer)
            .await
    }

    async fn resolve_own(
        &self,
        current: DeadlineRecord,
        outcome: &str,
        caseworker: &Caseworker,
    ) -> Result<DeadlineRecord, Problem> {
        let allowed = self.policies.outcomes(&current.policy).unwrap_or_default();
        if !allowed.iter().any(|o| o == outcome) {
            return Err(Problem::new(
                kinds::BAD_REQUEST,
                format!(
                    "outcome: {} is not one of {}",
                    crate::validation::echo::quoted(outcome),
                    allowed.join(", ")
                ),
            ));
        }
        // Whether its state allows it is checked in the transaction that changes it (`act`).
        let action = DeadlineAction::Resolve {
            outcome: outcome.to_owned(),
            meets: self.policies.met_by_resolving().to_vec(),
        };
        self.act(current.id, action, &caseworker.principal).await
    }

    /// Reopens a met, missed or cancelled deadline: open again with its remaining reminders, or
    /// missed at once (without a second escalation) when its due time has passed.
    pub async fn reopen(
        &self,
        caseworker: &Caseworker,
        actor: &Actor,
        id: i64,
        reason: Option<&str>,
    ) -> Result<DeadlineRecord, Problem> {
        let (about, answer) = match self.own(id, caseworker).await {
            Ok(current) => (about(id, &current), self.reopen_own(id, reason, caseworker).await),
            Err(problem) => (About::target(id.to_string()), Err(problem)),
        };
        self.auditor.answer(actor, action::DEADLINE_REOPEN, about, answer).await
    }

    async fn reopen_own(
        &self,
        id: i64,
        reason: Option<&str>,
        caseworker: &Caseworker,
    ) -> Result<DeadlineRecord, Problem> {
        if let Some(reason) = reason
            && !REOPEN_REASONS.iter().any(|(known, _)| *known == reason)
        {
            let known: Vec<&str> = REOPEN_REASONS.iter().map(|(known, _)| *known).collect();
            return Err(Problem::new(
                kinds::BAD_REQUEST,
                format!(
                    "reason: {} is not one of {}",
                    crate::validation::echo::quoted(reason),
                    known.join(", ")
                ),
            ));
        }
        let action = DeadlineAction::Reopen {
            reason: reason.map(str::to_owned),
        };
        self.act(id, action, &caseworker.principal).await
    }

    async fn act(&self, id: i64, action: DeadlineAction, principal: &Principal) -> Result<DeadlineRecord, Problem> {
        let done = self
            .store
            .act_on_deadline(id, action, principal.token_id().to_owned(), self.clock.now())
            .await
            .map_err(|e| match e.downcast_ref::<crate::store::StateConflict>() {
                // Met or cancelled (resolve), open (reopen), also when another request changed it
                // since it was read.
                Some(conflict) => Problem::new(kinds::STATE_CONFLICT, conflict.to_string()),
                None => internal(e),
            })?
            .ok_or_else(|| Problem::new(kinds::NOT_FOUND, "no such deadline".to_owned()))?;
        tracing::info!(deadline = id, case = %done.case_ref, state = done.state.as_str(), token = principal.token_id(), "deadline changed");
        Ok(done)
    }

    /// Acknowledges a routed message of the caseworker's municipality: meets its deadlines to
    /// acknowledge it; gives the deadlines it met.
    pub async fn acknowledge(
        &self,
        caseworker: &Caseworker,
        actor: &Actor,
        receipt_id: &str,
    ) -> Result<Vec<DeadlineRecord>, Problem> {
        let principal = &caseworker.principal;
        let about = |case_ref: Option<String>| About {
            case_ref,
            receipt_id: Some(crate::validation::echo::cut(receipt_id)),
            target: None,
        };
        let case_ref = match self.store.receipt(receipt_id).await.map_err(internal)? {
            Some(r) if r.municipality == caseworker.municipality => r.case_ref.to_string(),
            _ => {
                let missing = Err(Problem::new(kinds::NOT_FOUND, "no such message".to_owned()));
                return self
                    .auditor
                    .answer(actor, action::DEADLINE_ACKNOWLEDGE, about(None), missing)
                    .await;
            }
        };
        let met = self
            .store
            .acknowledge(receipt_id, principal.token_id().to_owned(), self.clock.now())
            .await
            .map_err(internal);
        if let Ok(met) = &met {
            tracing::info!(receipt = %receipt_id, deadlines = met.len(), token = principal.token_id(), "message acknowledged");
        }
        self.auditor
            .answer(actor, action::DEADLINE_ACKNOWLEDGE, about(Some(case_ref)), met)
            .await
    }
}

/// What an entry of the audit log says a change of a deadline was about.
fn about(id: i64, deadline: &DeadlineRecord) -> About {
    About {
        case_ref: Some(deadline.case_ref.to_string()),
        receipt_id: None,
        target: Some(id.to_string()),
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
pub async fn resolve_deadline(
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
    caseworker: Caseworker,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = Desk::of(&req)?;
    let outcome = match serde_json::from_slice::<ResolveRequest>(&body) {
        Ok(request) => request.outcome,
        Err(e) => {
            let refused = Problem::new(kinds::BAD_REQUEST, format!("the body must be {{\"outcome\": …}}: {e}"));
            // Refused as the deadline is, when it is one of the caseworker's; as missing otherwise.
            let about = match desk.own(id, &caseworker).await {
                Ok(current) => about(id, &current),
                Err(missing) => {
                    return desk
                        .auditor
                        .answer(
                            &actor,
                            action::DEADLINE_RESOLVE,
                            About::target(id.to_string()),
                            Err(missing),
                        )
                        .await;
                }
            };
            return desk
                .auditor
                .answer(&actor, action::DEADLINE_RESOLVE, about, Err(refused))
                .await;
        }
    };
    let done = desk.resolve(&caseworker, &actor, id, &outcome).await?;
    Ok(HttpResponse::Ok().json(DeadlineBody::new(done, desk.policies)))
}

/// Reopens a met, missed or cancelled deadline: open again with its remaining reminders, or
/// missed at once (without a second escalation) when its due time has passed.
#[utoipa::path(post, path = "/v1/deadlines/{id}/reopen", tag = "deadlines",
    params(("id" = i64, Path, description = "The deadline's id")),
    request_body(content = Option<ReopenRequest>, description = "Optional: why it is reopened"),
    responses(
        (status = 200, body = DeadlineBody),
        (status = 400, description = "A reason that is not one of the list, or a body that is not {\"reason\": …}", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already open", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reopen_deadline(
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
    caseworker: Caseworker,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    let actor = Actor::of(&caseworker.principal, &req);
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        ReopenRequest::default()
    } else {
        serde_json::from_slice::<ReopenRequest>(&body).map_err(|e| {
            Problem::new(
                kinds::BAD_REQUEST,
                format!("the body must be empty or {{\"reason\": …}}: {e}"),
            )
        })?
    };
    let desk = Desk::of(&req)?;
    let done = desk.reopen(&caseworker, &actor, id, request.reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(DeadlineBody::new(done, desk.policies)))
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
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = Desk::of(&req)?;
    let met = desk.acknowledge(&caseworker, &actor, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(DeadlineList {
        deadlines: met.into_iter().map(|d| DeadlineBody::new(d, desk.policies)).collect(),
    }))
}
