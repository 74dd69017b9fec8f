//! The answer to the allocation office on the case page of a vacant home: a form to name one of
//! the ranked candidates or none with a reason from the fixed list, given through the same code
//! as `POST /v1/cases/{case_ref}/housing-answer` (`api::answer::answer`, audited
//! `housing.answer`), and the answer shown once given, on the home's case and on the citizen's.

use super::case::Services;
use super::{Posted, danish_time, see_other};
use crate::access::Caseworker;
use crate::api::answer::HousingAnswerInput;
use crate::audit::{Actor, action};
use crate::matching::{ANSWER_REASONS, answer_reason_words};
use crate::problem::{Problem, kinds};
use crate::store::HousingAnswerRecord;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

/// The form's value for "no candidate".
const NONE: &str = "ingen";

/// An answer as the case page shows it.
#[derive(Serialize)]
pub struct AnswerView {
    /// The vacant home's case.
    home: String,
    /// The citizen's case named, if one was.
    candidate: Option<String>,
    rank: Option<u32>,
    reason: Option<String>,
    answered: String,
    /// Whether the answer went to the allocation office as a message.
    sent: bool,
}

impl AnswerView {
    pub fn of(record: &HousingAnswerRecord) -> AnswerView {
        AnswerView {
            home: record.home.to_string(),
            candidate: record.candidate.as_ref().map(ToString::to_string),
            rank: record.candidate_rank,
            reason: record.reason.as_deref().map(|r| answer_reason_words(r).to_owned()),
            answered: format!(
                "{} af {}",
                danish_time(record.answered_at),
                super::timeline::actor_label(&record.answered_by)
            ),
            sent: record.delivery_id.is_some(),
        }
    }
}

/// A reason the form offers, in Danish.
#[derive(Serialize)]
pub struct ReasonChoice {
    value: &'static str,
    label: &'static str,
}

/// The reasons for answering with no candidate, for the form.
pub fn reason_choices() -> Vec<ReasonChoice> {
    ANSWER_REASONS
        .iter()
        .map(|(value, label)| ReasonChoice { value, label })
        .collect()
}

/// The form's fields as the API's input: `valg` is a candidate's case reference or `ingen`, and
/// `grund` the reason when it is `ingen`.
fn input(posted: &Posted) -> HousingAnswerInput {
    match posted.fields.get("valg") {
        Some(NONE) => HousingAnswerInput {
            candidate: None,
            reason: posted.fields.get("grund").map(str::to_owned),
        },
        chosen => HousingAnswerInput {
            candidate: chosen.map(str::to_owned),
            reason: None,
        },
    }
}

/// A refusal of the form in words a caseworker can act on.
fn danish(problem: Problem) -> Problem {
    match problem.status {
        400 => Problem::new(
            kinds::BAD_REQUEST,
            "Vælg en kandidat, eller vælg ingen kandidat og en grund fra listen.".to_owned(),
        ),
        409 => Problem::new(
            kinds::STATE_CONFLICT,
            "Boligen er allerede besvaret, eller tilbuddet er trukket tilbage. Gå tilbage til sagen og se den, som den er nu."
                .to_owned(),
        ),
        422 => Problem::new(
            kinds::NOT_A_CANDIDATE,
            "Den valgte sag er ikke (længere) blandt boligens kandidater. Gå tilbage til sagen og se listen, som den er nu."
                .to_owned(),
        ),
        _ => problem,
    }
}

/// Gives the answer the form chose and goes back to the case page.
pub async fn give(req: HttpRequest, posted: Posted, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let services = Services::of(&req)?;
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let housing = services.housing();
    let desk = services.desk();
    let case = housing
        .own_case(&caseworker, &actor, &path, action::HOUSING_ANSWER)
        .await?;
    crate::api::answer::answer(&housing, &desk, &caseworker, &actor, &case, Ok(input(&posted)))
        .await
        .map_err(danish)?;
    Ok(see_other(&format!("/sager/{}?udfoert=svaret#svar", case.case_ref)))
}
