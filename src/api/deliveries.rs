//! Deliveries for operators: the dead letters, replay, and the state of every destination.
//! All of it is for operator tokens; none of it carries personal data (receivers' error texts
//! are kept with anything shaped like a CPR number masked).

use crate::access::Operator;
use crate::audit::{About, Actor, Auditor, action};
use crate::auth::Principal;
use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::delivery::Target;
use crate::domain::Kind;
use crate::problem::{Problem, internal, kinds};
use crate::store::{DeadLetterFilter, DeliveryRecord, DeliveryState, Replay, Store};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

/// A delivery: where a message goes and how far it got.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryBody {
    /// Stable across attempts and replays: the CloudEvent `id`, `webhook-id` and email Message-ID.
    pub delivery_id: String,
    /// A destination id, or `mail:<team>` for a team's mailbox.
    pub destination: String,
    pub state: DeliveryState,
    pub attempts: i64,
    /// When the next attempt is due (pending and retrying only), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// When it was delivered or given up, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The last answer's HTTP status or SMTP reply code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// The last failure: the start of the answer, or the connection fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Why it is a dead letter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_reason: Option<String>,
    /// The routes that chose this destination.
    pub routes: Vec<String>,
}

impl From<&DeliveryRecord> for DeliveryBody {
    fn from(d: &DeliveryRecord) -> Self {
        DeliveryBody {
            delivery_id: d.delivery_id.clone(),
            destination: d.destination.clone(),
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(|t| t.to_string()),
            finished_at: d.finished_at.map(|t| t.to_string()),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            dead_reason: d.dead_reason.clone(),
            routes: d.routes.clone(),
        }
    }
}

/// A dead letter with the message it carries or is about.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterBody {
    #[serde(flatten)]
    pub delivery: DeliveryBody,
    /// `message` (the message itself or its notification), `reminder`, `escalation`, `transfer`
    /// (a deadline closed because another municipality took it over) or `digest` (a team's
    /// daily list, about no single message).
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "K-2026-000123")]
    pub case_ref: Option<crate::domain::CaseRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// When the delivery was made (the message accepted, the alert fired), RFC 3339.
    pub created_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetterBody>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// Only this destination.
    pub destination: Option<String>,
    /// Dead at or after this instant (RFC 3339) or date (Copenhagen).
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub since: Option<String>,
    /// Dead before this instant or date.
    #[param(schema_with = crate::api::openapi::instant_or_date)]
    pub until: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u32>,
}

/// Which dead letters a bulk replay puts back: those of a destination, within a time window
/// (each part optional), or with `all: true` every one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub destination: Option<String>,
    /// Dead at or after this instant (RFC 3339) or date (Copenhagen).
    #[schema(schema_with = crate::api::openapi::instant_or_date)]
    pub since: Option<String>,
    /// Dead before this instant or date.
    #[schema(schema_with = crate::api::openapi::instant_or_date)]
    pub until: Option<String>,
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayAnswer {
    /// The delivery ids put back in the queue, due now.
    pub replayed: Vec<String>,
}

fn filter(
    destination: Option<String>,
    since: Option<&str>,
    until: Option<&str>,
    limit: u32,
) -> Result<DeadLetterFilter, Problem> {
    Ok(DeadLetterFilter {
        destination,
        since: super::instant_param("since", since)?,
        until: super::instant_param("until", until)?,
        limit,
    })
}

/// Dead letters, oldest first.
#[utoipa::path(get, path = "/v1/dead-letters", tag = "delivery", params(DeadLetterQuery),
    responses(
        (status = 200, body = DeadLetterList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_dead_letters(
    query: web::Query<DeadLetterQuery>,
    _operator: Operator,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, Problem> {
    let limit = super::limit_param(query.limit)?;
    let query = query.into_inner();
    let filter = filter(query.destination, query.since.as_deref(), query.until.as_deref(), limit)?;
    let dead = store.dead_letters(filter).await.map_err(internal)?;
    let dead_letters = dead
        .iter()
        .map(|d| DeadLetterBody {
            delivery: DeliveryBody::from(d),
            purpose: d.purpose.clone(),
            receipt_id: d.about.as_ref().map(|a| a.receipt_id.clone()),
            case_ref: d.about.as_ref().map(|a| a.case_ref.clone()),
            kind: d.about.as_ref().map(|a| a.kind),
            created_at: d.created_at.to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DeadLetterList { dead_letters }))
}

/// Puts one dead letter back in the queue, due now, with the same delivery id.
#[utoipa::path(post, path = "/v1/dead-letters/{delivery_id}/replay", tag = "delivery",
    params(("delivery_id" = String, Path, description = "From the dead-letter list")),
    responses(
        (status = 202, body = ReplayAnswer),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No dead letter has this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replay_dead_letter(
    req: HttpRequest,
    path: web::Path<String>,
    Operator { principal }: Operator,
    store: web::Data<dyn Store>,
    delivery: web::Data<Delivery>,
    clock: web::Data<Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let delivery_id = path.into_inner();
    let about = About::target(crate::validation::echo::cut(&delivery_id));
    let answer = replay_one(delivery_id, &principal, store.as_ref(), &delivery, &clock).await;
    auditor
        .answer(&Actor::of(&principal, &req), action::DELIVERY_REPLAY, about, answer)
        .await
}

async fn replay_one(
    delivery_id: String,
    principal: &Principal,
    store: &dyn Store,
    delivery: &Delivery,
    clock: &Clock,
) -> Result<HttpResponse, Problem> {
    let replayed = store
        .replay(Replay::One(delivery_id), clock.now())
        .await
        .map_err(internal)?;
    if replayed.is_empty() {
        return Err(Problem::new(
            kinds::NOT_FOUND,
            "no dead letter has this delivery id".to_owned(),
        ));
    }
    tracing::info!(
        token = principal.token_id(),
        deliveries = replayed.len(),
        "dead letters replayed"
    );
    delivery.wake();
    Ok(HttpResponse::Accepted().json(ReplayAnswer { replayed }))
}

/// Puts every dead letter of a destination within a time window back in the queue.
#[utoipa::path(post, path = "/v1/dead-letters/replay", tag = "delivery",
    request_body = ReplayRequest,
    responses(
        (status = 202, body = ReplayAnswer),
        (status = 400, description = "A body that is no replay request, or one that names no dead letters", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over limits.max_body_bytes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replay_dead_letters(
    req: HttpRequest,
    body: web::Bytes,
    Operator { principal }: Operator,
    store: web::Data<dyn Store>,
    delivery: web::Data<Delivery>,
    clock: web::Data<Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let (target, answer) = replay_matching(&body, &principal, store.as_ref(), &delivery, &clock).await;
    auditor
        .answer(
            &Actor::of(&principal, &req),
            action::DELIVERY_REPLAY,
            About::target(target),
            answer,
        )
        .await
}

/// The answer, and what the audit log says was replayed.
async fn replay_matching(
    body: &[u8],
    principal: &Principal,
    store: &dyn Store,
    delivery: &Delivery,
    clock: &Clock,
) -> (String, Result<HttpResponse, Problem>) {
    let mut target = "dead letters".to_owned();
    let answer = async {
        let request: ReplayRequest = serde_json::from_slice(body)
            .map_err(|e| Problem::new(kinds::BAD_REQUEST, format!("the body must be a replay request: {e}")))?;
        let selective = request.destination.is_some() || request.since.is_some() || request.until.is_some();
        if selective == request.all {
            return Err(Problem::new(
                kinds::BAD_REQUEST,
                "name a destination, since or until, or say all: true (not both)".to_owned(),
            ));
        }
        if let Some(destination) = &request.destination {
            target = format!("dead letters to {}", crate::validation::echo::cut(destination));
        }
        let filter = filter(
            request.destination,
            request.since.as_deref(),
            request.until.as_deref(),
            0,
        )?;
        let replayed = store
            .replay(Replay::Matching(filter), clock.now())
            .await
            .map_err(internal)?;
        tracing::info!(
            token = principal.token_id(),
            deliveries = replayed.len(),
            "dead letters replayed"
        );
        target = format!("{} ({})", target, replayed.len());
        delivery.wake();
        Ok(HttpResponse::Accepted().json(ReplayAnswer { replayed }))
    }
    .await;
    (target, answer)
}

/// One destination's queue and health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationStatus {
    pub destination: String,
    /// `webhook`, `mailbox` or `lead`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The email address of a `mailbox` or `lead` destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Deliveries pending or retrying.
    pub queue_depth: i64,
    /// Age of the oldest of them, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_pending_seconds: Option<i64>,
    pub dead_letters: i64,
    pub paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<String>,
    pub failures_in_row: u32,
    /// False for a destination that has deliveries but is no longer configured.
    pub configured: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    pub destinations: Vec<DestinationStatus>,
}

/// Per destination: the queue depth, the age of the oldest pending delivery, the dead letters
/// and whether it is paused.
#[utoipa::path(get, path = "/v1/status", tag = "delivery",
    responses(
        (status = 200, body = StatusBody),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn status(
    _operator: Operator,
    store: web::Data<dyn Store>,
    delivery: web::Data<Delivery>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, Problem> {
    let now = clock.now();
    let queues = store.delivery_queues().await.map_err(internal)?;
    let health = delivery.health();
    let configured = delivery.destinations();
    let mut names: Vec<String> = configured.clone();
    names.extend(queues.iter().map(|q| q.destination.clone()));
    names.sort();
    names.dedup();
    let destinations = names
        .into_iter()
        .map(|name| {
            let queue = queues.iter().find(|q| q.destination == name);
            let h = health.get(&name);
            let paused_until = h.and_then(|h| h.paused_until);
            DestinationStatus {
                kind: match Target::parse(&name) {
                    Target::Webhook(_) => "webhook",
                    Target::Mailbox(_) => "mailbox",
                    Target::Lead(_) => "lead",
                },
                queue_depth: queue.map_or(0, |q| q.queue_depth),
                oldest_pending_seconds: queue
                    .and_then(|q| q.oldest_pending_at)
                    .map(|at| now.duration_since(at).as_secs().max(0)),
                dead_letters: queue.map_or(0, |q| q.dead_letters),
                paused: paused_until.is_some(),
                paused_until: paused_until.map(|t| t.to_string()),
                failures_in_row: h.map_or(0, |h| h.failures_in_row),
                recipient: delivery.recipient(&name),
                configured: configured.contains(&name),
                destination: name,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(StatusBody { destinations }))
}
