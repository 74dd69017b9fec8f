//! Deliveries for operators: the dead letters, replay, pause and resume of a destination, and the
//! state of every destination. The operator's actions go through `Dispatch`, which the *Drift*
//! page calls too, so both write the audit log alike. All of it is for operators; none of it
//! carries personal data (receivers' error texts are kept with anything shaped like a CPR number
//! masked).

use crate::access::Operator;
use crate::audit::{About, Actor, Auditor, action};
use crate::auth::Principal;
use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::delivery::Target;
use crate::domain::Kind;
use crate::problem::{Problem, internal, kinds};
use crate::store::{DeadLetterFilter, DeliveryRecord, DeliveryState, Hold, Replay, Store};
use actix_web::{HttpRequest, HttpResponse, web};
use jiff::Timestamp;
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

/// The dead letters a filter names, as the list shows them.
pub async fn dead_letter_list(store: &dyn Store, filter: DeadLetterFilter) -> Result<Vec<DeadLetterBody>, Problem> {
    let dead = store.dead_letters(filter).await.map_err(internal)?;
    Ok(dead
        .iter()
        .map(|d| DeadLetterBody {
            delivery: DeliveryBody::from(d),
            purpose: d.purpose.clone(),
            receipt_id: d.about.as_ref().map(|a| a.receipt_id.clone()),
            case_ref: d.about.as_ref().map(|a| a.case_ref.clone()),
            kind: d.about.as_ref().map(|a| a.kind),
            created_at: d.created_at.to_string(),
        })
        .collect())
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
    let dead_letters = dead_letter_list(store.as_ref(), filter).await?;
    Ok(HttpResponse::Ok().json(DeadLetterList { dead_letters }))
}

/// What an operator does to deliveries, the same from the API and from the pages: replay dead
/// letters, pause and resume a destination; each action is written to the audit log.
pub struct Dispatch<'a> {
    pub store: &'a dyn Store,
    pub delivery: &'a Delivery,
    pub clock: &'a Clock,
    pub auditor: &'a Auditor,
}

impl<'a> Dispatch<'a> {
    /// The dispatch of the application's data, for a handler that has the request (the API's
    /// and the operations page's alike).
    pub fn of(req: &'a HttpRequest) -> Result<Dispatch<'a>, Problem> {
        Ok(Dispatch {
            store: super::app_data::<dyn Store>(req)?,
            delivery: super::app_data(req)?,
            clock: super::app_data(req)?,
            auditor: super::app_data(req)?,
        })
    }

    /// Puts one dead letter back in the queue, due now, with the same delivery id.
    pub async fn replay_one(
        &self,
        principal: &Principal,
        actor: &Actor,
        delivery_id: &str,
    ) -> Result<Vec<String>, Problem> {
        let about = About::target(crate::validation::echo::cut(delivery_id));
        let answer = async {
            let replayed = self
                .store
                .replay(Replay::One(delivery_id.to_owned()), self.clock.now())
                .await
                .map_err(internal)?;
            if replayed.is_empty() {
                return Err(Problem::new(
                    kinds::NOT_FOUND,
                    "no dead letter has this delivery id".to_owned(),
                ));
            }
            self.replayed(principal, &replayed);
            Ok(replayed)
        }
        .await;
        self.auditor.answer(actor, action::DELIVERY_REPLAY, about, answer).await
    }

    /// Puts every dead letter a replay request names back in the queue.
    pub async fn replay_matching(
        &self,
        principal: &Principal,
        actor: &Actor,
        request: Result<ReplayRequest, Problem>,
    ) -> Result<Vec<String>, Problem> {
        let mut target = "dead letters".to_owned();
        let answer = async {
            let request = request?;
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
            let replayed = self
                .store
                .replay(Replay::Matching(filter), self.clock.now())
                .await
                .map_err(internal)?;
            self.replayed(principal, &replayed);
            target = format!("{} ({})", target, replayed.len());
            Ok(replayed)
        }
        .await;
        self.auditor
            .answer(actor, action::DELIVERY_REPLAY, About::target(target), answer)
            .await
    }

    fn replayed(&self, principal: &Principal, replayed: &[String]) {
        tracing::info!(
            token = principal.token_id(),
            deliveries = replayed.len(),
            "dead letters replayed"
        );
        self.delivery.wake();
    }

    /// Pauses a destination until an operator resumes it (`pause: true`), or resumes it.
    /// The pause is stored with who made it and when, and holds on every instance.
    pub async fn pause(&self, actor: &Actor, destination: &str, pause: bool) -> Result<(), Problem> {
        let done = if pause {
            let hold = Hold {
                by: actor.id.clone(),
                by_name: actor.name.clone(),
                since: self.clock.now(),
            };
            self.delivery.pause(destination, hold).await
        } else {
            self.delivery.resume(destination).await
        };
        let answer = match done {
            Ok(true) => Ok(()),
            Ok(false) => Err(Problem::new(
                kinds::NOT_FOUND,
                "no destination of this name is configured".to_owned(),
            )),
            Err(e) => Err(internal(e)),
        };
        let what = if pause {
            action::DESTINATION_PAUSE
        } else {
            action::DESTINATION_RESUME
        };
        self.auditor
            .answer(
                actor,
                what,
                About::target(crate::validation::echo::cut(destination)),
                answer,
            )
            .await
    }
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
) -> Result<HttpResponse, Problem> {
    let dispatch = Dispatch::of(&req)?;
    let replayed = dispatch
        .replay_one(&principal, &Actor::of(&principal, &req), &path)
        .await?;
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
) -> Result<HttpResponse, Problem> {
    let dispatch = Dispatch::of(&req)?;
    let request = serde_json::from_slice::<ReplayRequest>(&body)
        .map_err(|e| Problem::new(kinds::BAD_REQUEST, format!("the body must be a replay request: {e}")));
    let replayed = dispatch
        .replay_matching(&principal, &Actor::of(&principal, &req), request)
        .await?;
    Ok(HttpResponse::Accepted().json(ReplayAnswer { replayed }))
}

/// What a pause or resume answers: the destination as `GET /v1/status` shows it now.
async fn paused_answer(
    req: &HttpRequest,
    destination: &str,
    principal: &Principal,
    dispatch: Dispatch<'_>,
    pause: bool,
) -> Result<HttpResponse, Problem> {
    dispatch.pause(&Actor::of(principal, req), destination, pause).await?;
    let status = destinations(dispatch.store, dispatch.delivery, dispatch.clock.now())
        .await?
        .into_iter()
        .find(|d| d.destination == destination)
        .ok_or_else(|| Problem::new(kinds::NOT_FOUND, "no destination of this name is configured".to_owned()))?;
    Ok(HttpResponse::Ok().json(status))
}

/// Pauses a destination: nothing more is sent to it (attempts under way finish), not even the
/// probe of an automatic pause, until an operator resumes it. Stored in the database with who
/// paused it and when: it holds on every instance on the database, and across restarts.
#[utoipa::path(post, path = "/v1/destinations/{destination}/pause", tag = "delivery",
    params(("destination" = String, Path, description = "A destination of `GET /v1/status`: a webhook destination's id, `mail:<team>` or `lead:<team>`")),
    responses(
        (status = 200, description = "The destination, now paused", body = DestinationStatus),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No destination of this name is configured", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn pause_destination(
    req: HttpRequest,
    path: web::Path<String>,
    Operator { principal }: Operator,
) -> Result<HttpResponse, Problem> {
    let dispatch = Dispatch::of(&req)?;
    paused_answer(&req, &path, &principal, dispatch, true).await
}

/// Resumes a destination: ends its pause, an operator's or the automatic one after failures
/// (the run of failures starts over), and sends what is due at once.
#[utoipa::path(post, path = "/v1/destinations/{destination}/resume", tag = "delivery",
    params(("destination" = String, Path, description = "A destination of `GET /v1/status`")),
    responses(
        (status = 200, description = "The destination, no longer paused", body = DestinationStatus),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No destination of this name is configured", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn resume_destination(
    req: HttpRequest,
    path: web::Path<String>,
    Operator { principal }: Operator,
) -> Result<HttpResponse, Problem> {
    let dispatch = Dispatch::of(&req)?;
    paused_answer(&req, &path, &principal, dispatch, false).await
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
    /// Paused: automatically after failures (until `paused_until`, then one probe), or by an
    /// operator (`paused_by_operator`, until an operator resumes it).
    pub paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<String>,
    /// Paused by an operator (`POST /v1/destinations/{destination}/pause`): nothing is sent to it
    /// until an operator resumes it.
    pub paused_by_operator: bool,
    /// Who paused it (an operator's pause): the token id or the signed-in person's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_by: Option<String>,
    /// The signed-in person's display name, when a person paused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_by_name: Option<String>,
    /// Since when an operator has paused it, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<String>,
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
    let destinations = destinations(store.as_ref(), &delivery, clock.now()).await?;
    Ok(HttpResponse::Ok().json(StatusBody { destinations }))
}

/// Every destination configured or with deliveries, by name: its queue and health at `now`.
pub async fn destinations(
    store: &dyn Store,
    delivery: &Delivery,
    now: Timestamp,
) -> Result<Vec<DestinationStatus>, Problem> {
    let queues = store.delivery_queues().await.map_err(internal)?;
    let states = store.destination_states().await.map_err(internal)?;
    let configured = delivery.destinations();
    let mut names: Vec<String> = configured.clone();
    names.extend(queues.iter().map(|q| q.destination.clone()));
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|name| {
            let queue = queues.iter().find(|q| q.destination == name);
            let h = states.iter().find(|s| s.destination == name);
            let paused_until = h.and_then(|h| h.paused_until);
            let hold = h.and_then(|h| h.hold.as_ref());
            let paused_by_operator = hold.is_some();
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
                paused: paused_until.is_some() || paused_by_operator,
                paused_until: paused_until.filter(|_| !paused_by_operator).map(|t| t.to_string()),
                paused_by_operator,
                paused_by: hold.map(|h| h.by.clone()),
                paused_by_name: hold.and_then(|h| h.by_name.clone()),
                paused_since: hold.map(|h| h.since.to_string()),
                failures_in_row: h.map_or(0, |h| h.failures_in_row),
                recipient: delivery.recipient(&name),
                configured: configured.contains(&name),
                destination: name,
            }
        })
        .collect())
}
