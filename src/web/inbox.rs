//! *Indbakke*: the messages of the caseworker's team not yet acknowledged, the one to
//! acknowledge first at the top and those past their deadline marked; acknowledge one, or
//! several at once. A message is in the inbox while its `acknowledge` deadline is open or
//! missed; acknowledging meets it (the same code as `POST /v1/receipts/{id}/acknowledge`).

use super::{Posted, Viewer, danish_time, page, see_other};
use crate::access::Caseworker;
use crate::api::deadlines::Desk;
use crate::audit::Actor;
use crate::problem::{Problem, internal};
use crate::store::{DeadlineFilter, DeadlineState, Store};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

/// The policy whose deadlines are the inbox (docs/deadlines.md).
pub const ACKNOWLEDGE: &str = "acknowledge";

/// Rows on one page of a list.
pub const PER_PAGE: u32 = 50;

pub const TEMPLATES: &[(&str, &str)] = &[("inbox.html", include_str!("templates/inbox.html"))];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/indbakke", crate::api::errors::get().to(inbox))
        .route("/indbakke/kvitter", web::post().to(acknowledge));
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// The page of the list, from 1.
    side: Option<u32>,
    /// How many were just acknowledged (after the form).
    kvitteret: Option<u32>,
}

#[derive(Serialize)]
struct Row {
    receipt_id: String,
    case_ref: String,
    kind: &'static str,
    sender: String,
    received: String,
    due: String,
    overdue: bool,
}

#[derive(Serialize)]
struct Inbox {
    team: Option<String>,
    municipality: String,
    rows: Vec<Row>,
    page: u32,
    previous: Option<u32>,
    next: Option<u32>,
    acknowledged: Option<u32>,
}

/// The first page is 1; a page beyond the end is simply empty.
pub fn page_number(asked: Option<u32>) -> u32 {
    asked.unwrap_or(1).clamp(1, 100_000)
}

async fn inbox(
    viewer: Viewer,
    query: web::Query<ListQuery>,
    store: web::Data<dyn Store>,
    settings: web::Data<crate::config::Settings>,
) -> Result<HttpResponse, Problem> {
    let caseworker = Caseworker::of(viewer.principal.clone())?;
    let number = page_number(query.side);
    let mut deadlines = store
        .deadlines(DeadlineFilter {
            municipality: caseworker.municipality.clone(),
            pending: true,
            team: caseworker.team.clone(),
            policy: Some(ACKNOWLEDGE.to_owned()),
            limit: PER_PAGE + 1,
            offset: (number - 1) * PER_PAGE,
            ..DeadlineFilter::default()
        })
        .await
        .map_err(internal)?;
    let more = deadlines.len() > PER_PAGE as usize;
    deadlines.truncate(PER_PAGE as usize);
    let mut rows = Vec::with_capacity(deadlines.len());
    for deadline in deadlines {
        let Some(receipt_id) = deadline.scope.strip_prefix("message:") else {
            continue;
        };
        let Some(receipt) = store.receipt(receipt_id).await.map_err(internal)? else {
            continue;
        };
        rows.push(Row {
            receipt_id: receipt.receipt_id,
            case_ref: receipt.case_ref.to_string(),
            kind: super::words::kind(receipt.kind),
            sender: receipt.sender_id,
            received: danish_time(receipt.received_at),
            due: danish_time(deadline.due_at),
            overdue: deadline.state == DeadlineState::Missed,
        });
    }
    Ok(page(
        "inbox.html",
        Some(&viewer),
        "indbakke",
        Inbox {
            team: caseworker.team.as_deref().map(|id| super::words::team(&settings, id)),
            municipality: caseworker.municipality,
            rows,
            page: number,
            previous: (number > 1).then(|| number - 1),
            next: more.then(|| number + 1),
            acknowledged: query.kvitteret,
        },
    ))
}

/// Acknowledges the message of the row's button (`one`), or every ticked one (`receipt`).
async fn acknowledge(req: HttpRequest, posted: Posted) -> Result<HttpResponse, Problem> {
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = Desk::of(&req)?;
    let chosen: Vec<&str> = match posted.fields.get("one") {
        Some(one) => vec![one],
        None => posted.fields.all("receipt").take(PER_PAGE as usize).collect(),
    };
    let mut done = 0;
    for receipt_id in chosen {
        desk.acknowledge(&caseworker, &actor, receipt_id).await?;
        done += 1;
    }
    Ok(see_other(&format!("/indbakke?kvitteret={done}")))
}
