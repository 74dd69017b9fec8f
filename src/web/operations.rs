//! *Drift*, for operators: each destination's queue as `GET /v1/status` gives it, the dead
//! letters of `GET /v1/dead-letters` with replay (one, or every one of a destination), and pause
//! and resume of a destination (an operator's pause shows who made it and since when). The forms
//! go through the same code as the API (`api::deliveries::Dispatch`), so both write the audit log
//! alike.

use super::{Posted, Viewer, danish_time, page, see_other};
use crate::access::Operator;
use crate::api::deliveries::{Dispatch, ReplayRequest, dead_letter_list, destinations};
use crate::audit::Actor;
use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::problem::{Problem, kinds};
use crate::store::{DeadLetterFilter, Store};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

pub const TEMPLATES: &[(&str, &str)] = &[("operations.html", include_str!("templates/operations.html"))];

/// The most dead letters the page lists; the API's list (`limit`) and the replay of a whole
/// destination reach the rest.
pub const DEAD_LETTERS_SHOWN: u32 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/drift", crate::api::errors::get().to(operations))
        .route("/drift/genafsend", web::post().to(replay))
        .route("/drift/pause", web::post().to(pause))
        .route("/drift/genoptag", web::post().to(resume));
}

#[derive(Deserialize)]
pub struct Done {
    /// How many dead letters were just put back.
    genafsendt: Option<usize>,
    /// The destination just paused.
    pauset: Option<String>,
    /// The destination just resumed.
    genoptaget: Option<String>,
}

#[derive(Serialize)]
struct DestinationRow {
    name: String,
    kind: &'static str,
    recipient: Option<String>,
    queue: i64,
    oldest: Option<String>,
    age: Option<String>,
    dead: i64,
    paused: Option<String>,
    by_operator: bool,
    configured: bool,
}

#[derive(Serialize)]
struct DeadRow {
    delivery_id: String,
    destination: String,
    purpose: &'static str,
    case_ref: Option<String>,
    created: String,
    attempts: i64,
    reason: String,
}

#[derive(Serialize)]
struct OperationsPage {
    destinations: Vec<DestinationRow>,
    dead: Vec<DeadRow>,
    more: bool,
    replayed: Option<usize>,
    paused: Option<String>,
    resumed: Option<String>,
}

/// An age in Danish words: `45 sek.`, `12 min.`, `3 t. 5 min.`, `2 dage`.
pub fn age(seconds: i64) -> String {
    match seconds {
        ..60 => format!("{} sek.", seconds.max(0)),
        60..3600 => format!("{} min.", seconds / 60),
        3600..86_400 => format!("{} t. {} min.", seconds / 3600, seconds % 3600 / 60),
        _ if seconds < 2 * 86_400 => "1 dag".to_owned(),
        _ => format!("{} dage", seconds / 86_400),
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "webhook" => "Webhook",
        "mailbox" => "Teamets postkasse",
        _ => "Teamleder",
    }
}

fn purpose_label(purpose: &str) -> &'static str {
    match purpose {
        "message" => "Besked",
        "reminder" => "Påmindelse",
        "escalation" => "Eskalering",
        "transfer" => "Overdragelse",
        "digest" => "Daglig oversigt",
        _ => "Andet",
    }
}

async fn operations(
    viewer: Viewer,
    query: web::Query<Done>,
    store: web::Data<dyn Store>,
    delivery: web::Data<Delivery>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, Problem> {
    Operator::of(viewer.principal.clone())?;
    let now = clock.now();
    let rows: Vec<DestinationRow> = destinations(store.as_ref(), &delivery, now)
        .await?
        .into_iter()
        .map(|d| DestinationRow {
            kind: kind_label(d.kind),
            recipient: d.recipient,
            queue: d.queue_depth,
            oldest: d
                .oldest_pending_seconds
                .map(|s| danish_time(now - jiff::SignedDuration::from_secs(s))),
            age: d.oldest_pending_seconds.map(age),
            dead: d.dead_letters,
            paused: d.paused.then(|| match &d.paused_until {
                Some(until) => until
                    .parse::<jiff::Timestamp>()
                    .map(|t| format!("Pauset efter fejl, til {}", danish_time(t)))
                    .unwrap_or_else(|_| "Pauset efter fejl".to_owned()),
                None => {
                    let by = d.paused_by_name.as_ref().or(d.paused_by.as_ref());
                    let since = d
                        .paused_since
                        .as_deref()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
                    match (by, since) {
                        (Some(by), Some(since)) => format!(
                            "Pauset af driften, til den genoptages (af {by}, siden {})",
                            danish_time(since)
                        ),
                        _ => "Pauset af driften, til den genoptages".to_owned(),
                    }
                }
            }),
            by_operator: d.paused_by_operator,
            configured: d.configured,
            name: d.destination,
        })
        .collect();
    let mut dead = dead_letter_list(
        store.as_ref(),
        DeadLetterFilter {
            destination: None,
            since: None,
            until: None,
            limit: DEAD_LETTERS_SHOWN + 1,
        },
    )
    .await?;
    let more = dead.len() > DEAD_LETTERS_SHOWN as usize;
    dead.truncate(DEAD_LETTERS_SHOWN as usize);
    let query = query.into_inner();
    // Only a destination of the list is named back: a link cannot make the page say otherwise.
    let known = |name: Option<String>| name.filter(|n| rows.iter().any(|r: &DestinationRow| r.name == *n));
    let (paused, resumed) = (known(query.pauset), known(query.genoptaget));
    Ok(page(
        "operations.html",
        Some(&viewer),
        "drift",
        OperationsPage {
            destinations: rows,
            dead: dead
                .into_iter()
                .map(|d| DeadRow {
                    purpose: purpose_label(&d.purpose),
                    case_ref: d.case_ref.map(|c| c.to_string()),
                    created: d
                        .created_at
                        .parse::<jiff::Timestamp>()
                        .map(danish_time)
                        .unwrap_or(d.created_at),
                    attempts: d.delivery.attempts,
                    reason: d.delivery.dead_reason.unwrap_or_default(),
                    destination: d.delivery.destination,
                    delivery_id: d.delivery.delivery_id,
                })
                .collect(),
            more,
            replayed: query.genafsendt,
            paused,
            resumed,
        },
    ))
}

fn missing(field: &str) -> Problem {
    Problem::new(kinds::BAD_REQUEST, format!("Formularen mangler feltet {field}."))
}

/// A query string value.
fn query_value(value: &str) -> String {
    openidconnect::url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Replays one dead letter (`levering`), or every dead letter of a destination (`modtager`).
async fn replay(req: HttpRequest, posted: Posted) -> Result<HttpResponse, Problem> {
    let operator = Operator::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&operator.principal, &req);
    let dispatch = Dispatch::of(&req)?;
    let replayed = if let Some(one) = posted.fields.get("levering") {
        dispatch.replay_one(&operator.principal, &actor, one).await?
    } else if let Some(destination) = posted.fields.get("modtager") {
        let request = ReplayRequest {
            destination: Some(destination.to_owned()),
            since: None,
            until: None,
            all: false,
        };
        dispatch
            .replay_matching(&operator.principal, &actor, Ok(request))
            .await?
    } else {
        return Err(missing("levering eller modtager"));
    };
    Ok(see_other(&format!("/drift?genafsendt={}", replayed.len())))
}

async fn pause_or_resume(req: HttpRequest, posted: Posted, pause: bool) -> Result<HttpResponse, Problem> {
    let dispatch = Dispatch::of(&req)?;
    let operator = Operator::of(posted.viewer.principal.clone())?;
    let destination = posted.fields.get("modtager").ok_or_else(|| missing("modtager"))?;
    dispatch
        .pause(&Actor::of(&operator.principal, &req), destination, pause)
        .await?;
    let done = if pause { "pauset" } else { "genoptaget" };
    Ok(see_other(&format!("/drift?{done}={}", query_value(destination))))
}

/// Pauses a destination (`modtager`) until an operator resumes it.
async fn pause(req: HttpRequest, posted: Posted) -> Result<HttpResponse, Problem> {
    pause_or_resume(req, posted, true).await
}

/// Resumes a destination (`modtager`): ends its pause, the operator's or the automatic one.
async fn resume(req: HttpRequest, posted: Posted) -> Result<HttpResponse, Problem> {
    pause_or_resume(req, posted, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_danish_words() {
        assert_eq!(age(-3), "0 sek.");
        assert_eq!(age(45), "45 sek.");
        assert_eq!(age(720), "12 min.");
        assert_eq!(age(3 * 3600 + 300), "3 t. 5 min.");
        assert_eq!(age(86_400 + 5), "1 dag");
        assert_eq!(age(5 * 86_400), "5 dage");
    }
}
