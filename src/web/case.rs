//! *Sag*: one case of the caseworker's municipality (another municipality's is `404`, as one
//! that does not exist). The citizen's CPR number is masked and the name left out until the
//! caseworker asks to see them (a form: the answer page shows them, never a URL or the title;
//! audited `case.reveal`); reading the page is audited `case.read`, through the same code as
//! `GET /v1/cases/{case_ref}` (`api::cases::read_case`). It shows every message on the case,
//! newest first, with where each was delivered and whether it is acknowledged; the case's
//! deadlines with a form to resolve or reopen each (`api::deadlines::Desk`); and, through
//! `api::housing::HousingDesk`, the citizen's housing needs as a form, or for a vacant home the
//! ranked candidates (`needs` has the housing needs form). One look is one audit entry: the
//! page's `case.read` (or `case.reveal`) covers the needs and candidates it shows.

use super::timeline::{actor_label, delivered, describe, event_label, state_label};
use super::words::{outcome as outcome_label, reopen_reason as reason_label};
use super::{Posted, Viewer, danish_time, page, see_other};
use crate::access::Caseworker;
use crate::api::cases::{read_case, unseal_cpr};
use crate::api::deadlines::Desk;
use crate::api::housing::HousingDesk;
use crate::audit::{Actor, Auditor, action};
use crate::clock::Clock;
use crate::config::Settings;
use crate::deadlines::Policies;
use crate::problem::{Problem, internal, kinds};
use crate::store::{CaseRecord, DeadlineRecord, DeadlineState, REOPEN_REASONS, Store, SubjectKind};
use crate::vault::Vault;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Messages on one page of the timeline.
pub const PER_PAGE: usize = 50;

pub const TEMPLATES: &[(&str, &str)] = &[
    ("case.html", include_str!("templates/case.html")),
    ("needs_form.html", include_str!("templates/needs_form.html")),
    ("needs_refused.html", include_str!("templates/needs_refused.html")),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sager/{case_ref}", crate::api::errors::get().to(show))
        .route("/sager/{case_ref}/vis", web::post().to(reveal))
        .route("/sager/{case_ref}/loes", web::post().to(resolve))
        .route("/sager/{case_ref}/genaabn", web::post().to(reopen))
        .route("/sager/{case_ref}/kvitter", web::post().to(acknowledge))
        .route("/sager/{case_ref}/boligbehov", web::post().to(super::needs::save))
        .route("/sager/{case_ref}/svar", web::post().to(super::answer::give));
}

/// What the page's services are: handed over by actix-web one by one, kept together here.
pub struct Services<'a> {
    pub store: &'a dyn Store,
    pub vault: &'a Vault,
    pub policies: &'a Policies,
    pub settings: &'a Settings,
    pub clock: &'a Clock,
    pub auditor: &'a Auditor,
}

impl<'a> Services<'a> {
    /// The services of the application's data, for a handler that has the request.
    pub fn of(req: &'a HttpRequest) -> Result<Services<'a>, Problem> {
        use crate::api::app_data;
        Ok(Services {
            store: app_data::<dyn Store>(req)?,
            vault: app_data(req)?,
            policies: app_data(req)?,
            settings: app_data(req)?,
            clock: app_data(req)?,
            auditor: app_data(req)?,
        })
    }

    /// The deadline desk on the same services.
    pub fn desk(&self) -> Desk<'a> {
        Desk {
            store: self.store,
            policies: self.policies,
            clock: self.clock,
            auditor: self.auditor,
        }
    }

    pub fn housing(&self) -> HousingDesk<'a> {
        HousingDesk {
            store: self.store,
            vault: self.vault,
            settings: self.settings,
            clock: self.clock,
            auditor: self.auditor,
        }
    }
}

#[derive(Deserialize)]
pub struct CaseQuery {
    /// The page of the timeline, from 1.
    side: Option<u32>,
    /// What a form just did, for the confirmation.
    udfoert: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct Entry {
    receipt_id: String,
    kind: &'static str,
    line: String,
    sender: String,
    received: String,
    deliveries: Vec<super::timeline::Delivered>,
    /// Waiting to be acknowledged: by when, and whether that has passed.
    acknowledge_by: Option<String>,
    overdue: bool,
    /// Who acknowledged it and when.
    acknowledged: Option<String>,
}

#[derive(Serialize)]
struct DeadlineRow {
    id: i64,
    title: String,
    state: &'static str,
    class: &'static str,
    due: String,
    /// Who met it, when and how.
    resolved: Option<String>,
    /// Why it was last reopened, while it is open again.
    reopened_because: Option<String>,
    outcomes: Vec<Choice>,
    can_resolve: bool,
    can_reopen: bool,
    history: Vec<String>,
}

#[derive(Serialize)]
struct CasePage {
    case_ref: String,
    vacant: bool,
    cpr: Option<String>,
    /// Newest first; empty until revealed.
    names: Vec<String>,
    revealed: bool,
    opened: String,
    flash: Option<&'static str>,
    entries: Vec<Entry>,
    total: usize,
    page: usize,
    previous: Option<usize>,
    next: Option<usize>,
    unacknowledged: Vec<String>,
    deadlines: Vec<DeadlineRow>,
    reasons: Vec<Choice>,
    needs: Option<super::needs::NeedsForm>,
    candidates: Option<super::needs::CandidatesView>,
    candidates_note: Option<&'static str>,
    /// On a vacant home's case its answer; on a citizen's the homes it was named for.
    answers: Vec<super::answer::AnswerView>,
    answer_reasons: Vec<super::answer::ReasonChoice>,
}

fn confirmation(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "loest" => Some("Fristen er løst."),
        "genaabnet" => Some("Fristen er åbnet igen."),
        "kvitteret" => Some("Der er kvitteret for beskeden."),
        "boligbehov" => Some("Boligbehovet er gemt."),
        "svaret" => Some("Svaret på boligen er givet."),
        _ => None,
    }
}

/// `150385-••••`: the birth date, not the serial number.
fn masked(cpr: &str) -> String {
    format!("{}-••••", cpr.get(..6).unwrap_or_default())
}

/// The citizen's names as the messages on the case give them, newest first, each once (only the
/// sealed bodies hold them; senders may spell a name differently, and the caseworker should see
/// that).
fn citizen_names(vault: &Vault, case: &CaseRecord) -> Result<Vec<String>, Problem> {
    let mut names: Vec<String> = Vec::new();
    for message in case.messages.iter().rev() {
        let body = vault.open_document(&message.body_sealed).map_err(internal)?;
        let document: serde_json::Value = serde_json::from_slice(&body).map_err(|e| internal(e.into()))?;
        if let Some(name) = crate::validation::member(&document, "/citizen/name").and_then(|v| v.as_str())
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

fn deadline_row(d: &DeadlineRecord, policies: &Policies) -> DeadlineRow {
    let (state, class) = state_label(d.state);
    let resolved = match (d.state, &d.resolved_at) {
        (DeadlineState::Met, Some(at)) => {
            let by = d
                .resolved_by
                .as_deref()
                .map(actor_label)
                .unwrap_or_else(|| "indgang".to_owned());
            let how = d
                .outcome
                .as_deref()
                .map(|o| format!(": {}", outcome_label(o)))
                .unwrap_or_default();
            Some(format!("{} af {by}{how}", danish_time(*at)))
        }
        _ => None,
    };
    let reason_of =
        |e: &crate::store::DeadlineEvent| e.details.get("reason").and_then(|r| r.as_str()).map(reason_label);
    let reopened_because = match d.events.last() {
        Some(e) if e.event == "reopened" && d.state != DeadlineState::Met => reason_of(e),
        _ => None,
    };
    let history = d
        .events
        .iter()
        .map(|e| {
            let why = reason_of(e).map(|r| format!(": {r}")).unwrap_or_default();
            format!(
                "{} {} af {}{why}",
                event_label(&e.event),
                danish_time(e.at),
                actor_label(&e.actor)
            )
        })
        .collect();
    DeadlineRow {
        id: d.id,
        title: d.title.clone(),
        state,
        class,
        due: danish_time(d.due_at),
        resolved,
        reopened_because,
        outcomes: policies
            .outcomes(&d.policy)
            .unwrap_or_default()
            .iter()
            .map(|o| Choice {
                value: o.clone(),
                label: outcome_label(o),
            })
            .collect(),
        can_resolve: matches!(d.state, DeadlineState::Open | DeadlineState::Missed),
        can_reopen: matches!(d.state, DeadlineState::Met | DeadlineState::Cancelled),
        history,
    }
}

/// The case page for a case already read (and audited).
async fn render(
    viewer: &Viewer,
    services: &Services<'_>,
    case: CaseRecord,
    reveal: bool,
    query: &CaseQuery,
) -> Result<HttpResponse, Problem> {
    let vacant = case.subject_kind == SubjectKind::VacantDwelling.as_str();
    let cpr = unseal_cpr(services.vault, &case)?;
    let names = if reveal {
        citizen_names(services.vault, &case)?
    } else {
        Vec::new()
    };
    let cpr = cpr.map(|c| if reveal { c } else { masked(&c) });

    let acknowledging: HashMap<&str, &DeadlineRecord> = case
        .deadlines
        .iter()
        .filter(|d| d.policy == super::inbox::ACKNOWLEDGE)
        .filter_map(|d| Some((d.scope.strip_prefix("message:")?, d)))
        .collect();
    let total = case.messages.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let number = (super::inbox::page_number(query.side) as usize).min(pages);
    let entries = case
        .messages
        .iter()
        .rev()
        .skip((number - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|m| {
            let (kind, line) = describe(m.receipt.kind, &m.summary);
            let ack = acknowledging.get(m.receipt.receipt_id.as_str());
            let pending = ack.filter(|d| matches!(d.state, DeadlineState::Open | DeadlineState::Missed));
            Entry {
                receipt_id: m.receipt.receipt_id.clone(),
                kind,
                line,
                sender: m
                    .summary
                    .get("sender.name")
                    .and_then(|v| v.as_str())
                    .unwrap_or(&m.receipt.sender_id)
                    .to_owned(),
                received: danish_time(m.receipt.received_at),
                deliveries: m.receipt.deliveries.iter().map(delivered).collect(),
                acknowledge_by: pending.map(|d| danish_time(d.due_at)),
                overdue: pending.is_some_and(|d| d.state == DeadlineState::Missed),
                acknowledged: ack
                    .filter(|d| d.state == DeadlineState::Met)
                    .and_then(|d| Some((d.resolved_at?, d.resolved_by.as_deref()?)))
                    .map(|(at, by)| format!("{} af {}", danish_time(at), actor_label(by))),
            }
        })
        .collect();
    let unacknowledged = acknowledging
        .iter()
        .filter(|(_, d)| matches!(d.state, DeadlineState::Open | DeadlineState::Missed))
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let deadlines = case
        .deadlines
        .iter()
        .filter(|d| d.policy != super::inbox::ACKNOWLEDGE)
        .map(|d| deadline_row(d, services.policies))
        .collect();

    let housing = services.housing();
    let (needs, candidates, candidates_note) = if vacant {
        // Covered by the page's one entry (`case.read` or `case.reveal`): one look, one entry.
        match housing.candidates_for(&case).await {
            Ok(list) => (None, Some(super::needs::CandidatesView::of(list)), None),
            Err(p) if p.status == 409 => (
                None,
                None,
                Some("Der er ingen kandidater: boligtilbuddet er trukket tilbage eller beskriver ikke boligen."),
            ),
            Err(p) => return Err(p),
        }
    } else {
        let body = housing.needs_on(&case).await?;
        (Some(super::needs::NeedsForm::of(&body)), None, None)
    };

    // Covered by the page's one entry, as the needs and candidates are.
    let answers = services
        .store
        .housing_answers(&case.case_ref)
        .await
        .map_err(internal)?
        .iter()
        .map(super::answer::AnswerView::of)
        .collect();

    Ok(page(
        "case.html",
        Some(viewer),
        "",
        CasePage {
            case_ref: case.case_ref.to_string(),
            vacant,
            cpr,
            names,
            revealed: reveal,
            opened: danish_time(case.opened_at),
            flash: confirmation(query.udfoert.as_deref()),
            entries,
            total,
            page: number,
            previous: (number > 1).then(|| number - 1),
            next: (number < pages).then(|| number + 1),
            unacknowledged,
            deadlines,
            reasons: REOPEN_REASONS
                .iter()
                .map(|(value, label)| Choice {
                    value: (*value).to_owned(),
                    label: (*label).to_owned(),
                })
                .collect(),
            needs,
            candidates,
            candidates_note,
            answers,
            answer_reasons: super::answer::reason_choices(),
        },
    ))
}

async fn show(
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, Problem> {
    let services = Services::of(&req)?;
    let caseworker = Caseworker::of(viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let case = read_case(
        services.store,
        services.auditor,
        &caseworker,
        &actor,
        &path,
        action::CASE_READ,
    )
    .await?;
    render(&viewer, &services, case, false, &query).await
}

/// Shows the CPR number and the name: the answer to a form, so they are in no URL and in no
/// browser history, and the reading is recorded as `case.reveal`.
async fn reveal(req: HttpRequest, posted: Posted, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let services = Services::of(&req)?;
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let case = read_case(
        services.store,
        services.auditor,
        &caseworker,
        &actor,
        &path,
        action::CASE_REVEAL,
    )
    .await?;
    let query = CaseQuery {
        side: None,
        udfoert: None,
    };
    render(&posted.viewer, &services, case, true, &query).await
}

/// A problem of a deadline form in words a caseworker can act on.
fn danish(problem: Problem) -> Problem {
    match problem.status {
        409 => Problem::new(
            kinds::STATE_CONFLICT,
            "Fristen er ændret i mellemtiden (løst, annulleret eller åbnet igen). Gå tilbage til sagen og se den, som den er nu."
                .to_owned(),
        ),
        400 => Problem::new(kinds::BAD_REQUEST, "Vælg en af de muligheder, formularen giver.".to_owned()),
        _ => problem,
    }
}

fn deadline_id(posted: &Posted) -> Result<i64, Problem> {
    posted
        .fields
        .get("frist")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Problem::new(kinds::BAD_REQUEST, "Formularen mangler fristen.".to_owned()))
}

/// Back to the case page with a confirmation (the case of the deadline or message acted on).
fn back(case_ref: &str, done: &str, anchor: &str) -> HttpResponse {
    let case_ref = crate::domain::CaseRef::parse(case_ref).map_or_else(String::new, |c| c.to_string());
    see_other(&format!("/sager/{case_ref}?udfoert={done}#{anchor}"))
}

/// Resolves a deadline of the case with one of its outcomes.
async fn resolve(req: HttpRequest, posted: Posted) -> Result<HttpResponse, Problem> {
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = Desk::of(&req)?;
    let id = deadline_id(&posted)?;
    let outcome = posted.fields.get("udfald").unwrap_or_default();
    let done = desk.resolve(&caseworker, &actor, id, outcome).await.map_err(danish)?;
    Ok(back(done.case_ref.as_str(), "loest", "frister"))
}

/// Reopens a met or cancelled deadline of the case, with a reason from the fixed list.
async fn reopen(req: HttpRequest, posted: Posted) -> Result<HttpResponse, Problem> {
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = Desk::of(&req)?;
    let id = deadline_id(&posted)?;
    let reason = posted.fields.get("grund");
    let done = desk.reopen(&caseworker, &actor, id, reason).await.map_err(danish)?;
    Ok(back(done.case_ref.as_str(), "genaabnet", "frister"))
}

/// Acknowledges the message of the entry's button (`one`), or every one listed (`receipt`).
async fn acknowledge(req: HttpRequest, posted: Posted, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = Desk::of(&req)?;
    let chosen: Vec<&str> = match posted.fields.get("one") {
        Some(one) => vec![one],
        None => posted.fields.all("receipt").take(1000).collect(),
    };
    for receipt_id in chosen {
        desk.acknowledge(&caseworker, &actor, receipt_id).await?;
    }
    Ok(back(&path, "kvitteret", "tidslinje"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_cpr_number_keeps_the_birth_date_only() {
        assert_eq!(masked("150385-1234"), "150385-••••");
    }

    #[test]
    fn the_templates_carry_no_inline_style_or_script() {
        for (name, source) in TEMPLATES.iter().chain(super::super::search::TEMPLATES) {
            assert!(!source.contains("<script"), "{name}: the policy forbids inline script");
            assert!(!source.contains("style="), "{name}: and inline style");
        }
    }

    #[test]
    fn a_form_answer_confirms_in_danish_and_ignores_what_it_does_not_know() {
        assert_eq!(confirmation(Some("loest")), Some("Fristen er løst."));
        assert_eq!(confirmation(Some("<script>")), None);
    }
}
