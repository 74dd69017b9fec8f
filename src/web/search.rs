//! *Søg*: find a case of the caseworker's municipality by its reference (to the case page) or
//! by the citizen's CPR number. The number travels only in the body of a POST and is answered
//! by that POST or by a `303` to the case found, whose address holds the case reference only:
//! it is in no URL, page title, browser history or log line. The search is the API's
//! (`api::cases::search_by_cpr`, audited `case.search`).

use super::{Posted, Viewer, page, render_with, see_other};
use crate::access::Caseworker;
use crate::api::cases::search_by_cpr;
use crate::audit::{Actor, Auditor};
use crate::clock::Clock;
use crate::domain::CaseRef;
use crate::problem::Problem;
use crate::store::Store;
use crate::vault::Vault;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

pub const TEMPLATES: &[(&str, &str)] = &[("search.html", include_str!("templates/search.html"))];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/soeg", crate::api::errors::get().to(form))
        .route("/soeg", web::post().to(search));
}

#[derive(Serialize, Default)]
struct Search {
    /// A fault of the case reference field, in Danish.
    case_fault: Option<&'static str>,
    /// A fault of the CPR number field, in Danish; the number is never put back.
    cpr_fault: Option<&'static str>,
    /// Said when a search by CPR number found no case.
    none_found: bool,
}

async fn form(viewer: Viewer) -> Result<HttpResponse, Problem> {
    Caseworker::of(viewer.principal.clone())?;
    Ok(page("search.html", Some(&viewer), "soeg", Search::default()))
}

fn again(viewer: &Viewer, status: StatusCode, search: Search) -> HttpResponse {
    render_with(status, "search.html", Some(viewer), "soeg", search)
}

async fn search(
    req: HttpRequest,
    posted: Posted,
    store: web::Data<dyn Store>,
    vault: web::Data<Vault>,
    clock: web::Data<Clock>,
    auditor: web::Data<Auditor>,
) -> Result<HttpResponse, Problem> {
    let viewer = &posted.viewer;
    let caseworker = Caseworker::of(viewer.principal.clone())?;
    // Which form was sent (`efter`), so an empty CPR field is answered as one.
    if posted.fields.get("efter") == Some("cpr") || posted.fields.get("cpr").is_some() {
        let cpr = posted.fields.get("cpr").unwrap_or_default();
        let actor = Actor::of(&caseworker.principal, &req);
        return match search_by_cpr(store.as_ref(), &vault, &clock, &auditor, &caseworker, &actor, cpr).await {
            Ok(cases) => match cases.first() {
                Some(case) => Ok(see_other(&format!("/sager/{}", case.case_ref))),
                None => Ok(again(
                    viewer,
                    StatusCode::OK,
                    Search {
                        none_found: true,
                        ..Search::default()
                    },
                )),
            },
            Err(problem) if problem.status == 400 => Ok(again(
                viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                Search {
                    cpr_fault: Some(
                        "Det er ikke et gyldigt CPR-nummer. Skriv de ti cifre som DDMMÅÅ-XXXX, med en fødselsdato, der findes.",
                    ),
                    ..Search::default()
                },
            )),
            Err(problem) => Err(problem),
        };
    }
    let entered = posted.fields.get("sag").unwrap_or_default();
    match CaseRef::parse(&entered.to_uppercase()) {
        Some(case_ref) => Ok(see_other(&format!("/sager/{case_ref}"))),
        None => Ok(again(
            viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            Search {
                // Not put back: a CPR number typed in the wrong field would be shown again.
                case_fault: Some("Et sagsnummer skrives som K-2026-000123."),
                ..Search::default()
            },
        )),
    }
}
