//! The answer to the allocation office on a vacant home (docs/matching.md#the-answer-goes-back):
//! the caseworker names one of the home's candidates, or none with a reason from a fixed list.
//! The answer is recorded on both cases with its outbound message (one transaction), and resolves
//! the home's `offer_answer` deadline through the deadline `Desk`. One answer per home.

use super::deadlines::Desk;
use super::housing::HousingDesk;
use crate::access::Caseworker;
use crate::audit::{About, Actor, action};
use crate::domain::{CaseRef, Kind};
use crate::matching::{ANSWER_REASONS, answer_reason_words};
use crate::problem::{Problem, internal, kinds};
use crate::store::{CaseRecord, DeadlineState, HousingAnswerRecord, NewHousingAnswer, StateConflict};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The deadline policy the answer resolves.
const OFFER_ANSWER_POLICY: &str = "offer_answer";

/// The answer: `candidate` (a case reference among the home's candidates) or `reason` (one of
/// `no_candidate_fits`, `citizen_declined`, `passed_on`, `other`), never both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HousingAnswerInput {
    /// The citizen's case chosen, e.g. `K-2026-000001`.
    pub candidate: Option<String>,
    /// Why no candidate is named.
    pub reason: Option<String>,
}

/// An answer as given: case references and a reason from a fixed list, no personal data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HousingAnswerBody {
    /// The vacant home's case.
    pub case_ref: String,
    pub offer_id: String,
    /// `candidate` or `none`.
    pub answer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// The candidate's rank on the list when chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_rank: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The reason in Danish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
    pub answered_at: String,
    /// The outbound message to the allocation office (`matching.answer_destination`); absent
    /// when none is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// The home's `offer_answer` deadline as the answer left it (`met`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_state: Option<String>,
}

impl HousingAnswerBody {
    pub fn new(record: &HousingAnswerRecord, deadline_state: Option<String>) -> HousingAnswerBody {
        HousingAnswerBody {
            case_ref: record.home.to_string(),
            offer_id: record.offer_id.clone(),
            answer: if record.candidate.is_some() {
                "candidate"
            } else {
                "none"
            }
            .to_owned(),
            candidate: record.candidate.as_ref().map(ToString::to_string),
            candidate_rank: record.candidate_rank,
            reason: record.reason.clone(),
            reason_text: record.reason.as_deref().map(|r| answer_reason_words(r).to_owned()),
            answered_at: record.answered_at.to_string(),
            delivery_id: record.delivery_id.clone(),
            deadline_state,
        }
    }
}

/// Answers the allocation office on the vacant home of the case: a candidate, or none with a
/// reason. Resolves the home's `offer_answer` deadline (`accepted` with a candidate, `declined`
/// without) and sends the answer to `matching.answer_destination` as a CloudEvent.
#[utoipa::path(post, path = "/v1/cases/{case_ref}/housing-answer", tag = "housing",
    params(("case_ref" = String, Path, description = "The case of a vacant home, e.g. K-2026-000123")),
    request_body = HousingAnswerInput,
    responses(
        (status = 200, description = "The answer given; the same answer again gives it again, without a second message", body = HousingAnswerBody),
        (status = 400, description = "Not an answer: both or neither of candidate and reason, or a reason not on the list", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caseworker's municipality", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A citizen's case, a withdrawn offer, or a home answered already otherwise", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The case named is not among the home's candidates (a hard rule excludes it, or it does not seek housing)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn post_housing_answer(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    caseworker: Caseworker,
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    let housing = HousingDesk::of(&req)?;
    let desk = Desk::of(&req)?;
    let case = housing
        .own_case(&caseworker, &actor, &path, action::HOUSING_ANSWER)
        .await?;
    let input = serde_json::from_slice::<HousingAnswerInput>(&body).map_err(|e| {
        Problem::new(
            kinds::BAD_REQUEST,
            format!(
                "the body must be {{\"candidate\": \"K-…\"}} or {{\"reason\": …}} ({} at line {}, column {})",
                match e.classify() {
                    serde_json::error::Category::Data => "a member unknown or of the wrong type",
                    _ => "not well-formed JSON",
                },
                e.line(),
                e.column()
            ),
        )
    });
    let answer = answer(&housing, &desk, &caseworker, &actor, &case, input).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Gives the answer (`housing.answer`), the same from the API and the case page; an input that
/// could not be read is passed as its problem, so that the refusal is recorded too.
pub async fn answer(
    housing: &HousingDesk<'_>,
    desk: &Desk<'_>,
    caseworker: &Caseworker,
    actor: &Actor,
    case: &CaseRecord,
    input: Result<HousingAnswerInput, Problem>,
) -> Result<HousingAnswerBody, Problem> {
    let recorded = housing
        .auditor
        .answer(
            actor,
            action::HOUSING_ANSWER,
            About::case(case.case_ref.as_str()),
            record(housing, actor, case, input).await,
        )
        .await?;
    // The answer stands once recorded; the deadline is the home's to-do, resolved like any
    // other (its own `deadline.resolve` entry). One met or cancelled already is left as it is.
    let outcome = if recorded.candidate.is_some() {
        "accepted"
    } else {
        "declined"
    };
    if recorded.repeated {
        return Ok(HousingAnswerBody::new(&recorded, None));
    }
    let open = case
        .deadlines
        .iter()
        .filter(|d| d.policy == OFFER_ANSWER_POLICY)
        .filter(|d| matches!(d.state, DeadlineState::Open | DeadlineState::Missed))
        .max_by_key(|d| d.id);
    let deadline_state = match open {
        Some(d) => match desk.resolve(caseworker, actor, d.id, outcome).await {
            Ok(done) => Some(done.state.as_str().to_owned()),
            Err(problem) => {
                tracing::warn!(case = %case.case_ref, deadline = d.id, status = problem.status, "the answer did not resolve the deadline");
                Some(d.state.as_str().to_owned())
            }
        },
        None => None,
    };
    Ok(HousingAnswerBody::new(&recorded, deadline_state))
}

async fn record(
    housing: &HousingDesk<'_>,
    actor: &Actor,
    case: &CaseRecord,
    input: Result<HousingAnswerInput, Problem>,
) -> Result<HousingAnswerRecord, Problem> {
    // A citizen's case or a withdrawn offer is refused here, as the candidates are.
    let list = housing.candidates_for(case).await?;
    let input = input?;
    let offer = case
        .messages
        .iter()
        .rev()
        .find(|m| m.receipt.kind == Kind::HousingOffer)
        .ok_or_else(|| Problem::new(kinds::STATE_CONFLICT, "the case holds no housing offer".to_owned()))?;
    let offer_id = offer
        .summary
        .get("offer_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let (candidate, reason) = match (input.candidate.as_deref(), input.reason.as_deref()) {
        (Some(named), None) => {
            let quoted = crate::validation::echo::quoted(named);
            let Some(chosen) = list.candidates.iter().find(|c| c.case_ref == named) else {
                let detail = match list.excluded.iter().find(|e| e.case_ref == named) {
                    Some(e) => format!(
                        "{quoted} is excluded from this home by the rule {}: {}",
                        e.rule.as_str(),
                        e.reason
                    ),
                    None => format!(
                        "{quoted} is not among this home's candidates: not a citizen's case of the municipality seeking housing"
                    ),
                };
                return Err(Problem::new(kinds::NOT_A_CANDIDATE, detail));
            };
            let case_ref = CaseRef::parse(&chosen.case_ref)
                .ok_or_else(|| internal(anyhow::anyhow!("a candidate's case reference is malformed")))?;
            (Some((case_ref, chosen.rank as u32)), None)
        }
        (None, Some(reason)) if ANSWER_REASONS.iter().any(|(known, _)| *known == reason) => {
            (None, Some(reason.to_owned()))
        }
        (None, Some(reason)) => {
            let known: Vec<&str> = ANSWER_REASONS.iter().map(|(known, _)| *known).collect();
            return Err(Problem::new(
                kinds::BAD_REQUEST,
                format!(
                    "reason: {} is not one of {}",
                    crate::validation::echo::quoted(reason),
                    known.join(", ")
                ),
            ));
        }
        _ => {
            return Err(Problem::new(
                kinds::BAD_REQUEST,
                "name either a candidate or a reason for naming none, not both".to_owned(),
            ));
        }
    };
    let at = housing.clock.now();
    let destination = &housing.settings.matching.answer_destination;
    let delivery = if destination.is_empty() {
        None
    } else {
        let data = event_data(housing, case, &offer_id, candidate.as_ref(), reason.as_deref(), at).await?;
        let bytes = serde_json::to_vec(&data).map_err(|e| internal(e.into()))?;
        Some((destination.clone(), housing.vault.seal_document(&bytes)))
    };
    let new = NewHousingAnswer {
        home: case.case_ref.clone(),
        offer_receipt_id: offer.receipt.receipt_id.clone(),
        offer_id,
        candidate,
        reason,
        actor: actor.id.clone(),
        at,
        delivery,
    };
    let recorded = housing
        .store
        .answer_housing(new)
        .await
        .map_err(|e| match e.downcast_ref::<StateConflict>() {
            Some(conflict) => Problem::new(kinds::STATE_CONFLICT, conflict.to_string()),
            None => internal(e),
        })?;
    tracing::info!(
        case = %case.case_ref,
        candidate = recorded.candidate.as_ref().map(|c| c.as_str()),
        delivery = recorded.delivery_id.as_deref(),
        "vacant home answered"
    );
    Ok(recorded)
}

/// What the allocation office gets: the offer, the answer, and for a candidate what it needs to
/// offer the home to the citizen — the CPR number and, when a release notice gave it, the name.
/// Sealed before it is stored; sent only over the signed webhook.
async fn event_data(
    housing: &HousingDesk<'_>,
    home: &CaseRecord,
    offer_id: &str,
    candidate: Option<&(CaseRef, u32)>,
    reason: Option<&str>,
    at: jiff::Timestamp,
) -> Result<serde_json::Value, Problem> {
    let citizen = match candidate {
        Some((case_ref, _)) => {
            let citizen = housing
                .store
                .case(case_ref)
                .await
                .map_err(internal)?
                .ok_or_else(|| internal(anyhow::anyhow!("a candidate's case is gone")))?;
            let cpr = super::cases::unseal_cpr(housing.vault, &citizen)?;
            let name = citizen
                .messages
                .iter()
                .rev()
                .filter(|m| m.receipt.kind == Kind::ReleaseNotice)
                .find_map(|m| {
                    let body = housing.vault.open_document(&m.body_sealed).ok()?;
                    let body: serde_json::Value = serde_json::from_slice(&body).ok()?;
                    body.pointer("/citizen/name")
                        .and_then(|n| n.as_str())
                        .map(str::to_owned)
                });
            Some(json!({ "case_ref": case_ref.as_str(), "cpr": cpr, "name": name }))
        }
        None => None,
    };
    Ok(json!({
        "offer_id": offer_id,
        "municipality": home.municipality,
        "case_ref": home.case_ref.as_str(),
        "answer": if candidate.is_some() { "candidate" } else { "none" },
        "reason": reason,
        "answered_at": at.to_string(),
        "citizen": citizen,
    }))
}
