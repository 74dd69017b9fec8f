//! The housing needs on the case page (docs/matching.md): what a home must offer the citizen,
//! as a form prefilled with what is recorded and saved through the same code as
//! `PUT /v1/cases/{case_ref}/housing-needs` (`api::housing::HousingDesk`, audited
//! `housing-needs.write`); and, on the case of a vacant home, its candidates with their reasons.

use super::Posted;
use super::case::Services;
use crate::access::Caseworker;
use crate::api::housing::{CandidateList, HousingNeedsBody, HousingNeedsInput};
use crate::audit::{Actor, action};
use crate::matching::HardRule;
use crate::problem::{Problem, kinds};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

/// The form's fields, as text to put back in the form.
#[derive(Serialize, Default)]
pub struct NeedsForm {
    dog: bool,
    cat: bool,
    step_free: bool,
    min_rooms: String,
    max_rent: String,
    preferred: String,
    avoided: String,
    note: String,
    /// What the citizen will live on, from the release notice: a hint for the rent limit.
    income_basis: Option<&'static str>,
    seeking: bool,
    recorded: bool,
}

impl NeedsForm {
    pub fn of(body: &HousingNeedsBody) -> NeedsForm {
        NeedsForm {
            dog: body.dog,
            cat: body.cat,
            step_free: body.step_free,
            min_rooms: body.min_rooms.map(|n| n.to_string()).unwrap_or_default(),
            max_rent: body.max_rent_dkk.map(|n| n.to_string()).unwrap_or_default(),
            preferred: body.preferred_postcodes.join(" "),
            avoided: body.avoided_postcodes.join(" "),
            note: body.note.clone().unwrap_or_default(),
            income_basis: body.income_basis.as_deref().map(income_label),
            seeking: body.seeking_housing,
            recorded: body.recorded,
        }
    }
}

fn income_label(basis: &str) -> &'static str {
    match basis {
        "salary" => "løn",
        "unemployment_or_sickness_benefit" => "dagpenge eller sygedagpenge",
        "social_assistance" => "kontanthjælp",
        "start_or_introduction_allowance" => "selvforsørgelses- og hjemrejseydelse eller overgangsydelse",
        "disability_pension" => "førtidspension",
        "old_age_pension" => "folkepension",
        "no_income" => "ingen indkomst",
        "other" => "andet",
        _ => "ukendt",
    }
}

#[derive(Serialize)]
struct Ranked {
    rank: usize,
    case_ref: String,
    release: Option<String>,
    reasons: Vec<String>,
}

#[derive(Serialize)]
struct Left {
    case_ref: String,
    rule: &'static str,
    reason: String,
}

/// The candidates for a vacant home as the page lists them.
#[derive(Serialize)]
pub struct CandidatesView {
    home: String,
    seeking: usize,
    candidates: Vec<Ranked>,
    excluded: Vec<Left>,
}

fn rule_label(rule: HardRule) -> &'static str {
    match rule {
        HardRule::Dog => "Hund ikke tilladt",
        HardRule::Cat => "Kat ikke tilladt",
        HardRule::StepFree => "Ikke niveaufri",
        HardRule::Rent => "Husleje over grænsen",
        HardRule::Timing => "Løsladelse for sent",
    }
}

impl CandidatesView {
    pub fn of(list: CandidateList) -> CandidatesView {
        let date = |text: &str| text.parse().map(super::danish_date).unwrap_or_else(|_| text.to_owned());
        let home = &list.home;
        let mut words = format!(
            "{}, {} vær., husleje {} om måneden, ledig fra {}, svar senest {}",
            super::timeline::dwelling_kind(&home.kind),
            home.rooms,
            crate::matching::kroner(home.monthly_rent_dkk),
            date(&home.available_from),
            date(&home.answer_deadline)
        );
        if let Some(postcode) = &home.postcode {
            words.push_str(&format!(", postnummer {postcode}"));
        }
        CandidatesView {
            home: words,
            seeking: list.seeking,
            candidates: list
                .candidates
                .into_iter()
                .map(|c| Ranked {
                    rank: c.rank,
                    case_ref: c.case_ref,
                    release: c.release_date.as_deref().map(date),
                    reasons: c.reasons,
                })
                .collect(),
            excluded: list
                .excluded
                .into_iter()
                .map(|e| Left {
                    case_ref: e.case_ref,
                    rule: rule_label(e.rule),
                    reason: e.reason,
                })
                .collect(),
        }
    }
}

/// The longest note, as the API takes it.
const MAX_NOTE_CHARS: usize = 4000;

/// Postcodes written with spaces or commas between them.
fn postcodes(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form as the API's input, or every fault in Danish; the form as entered either way, to
/// show it again.
fn read_form(posted: &Posted) -> (NeedsForm, Result<HousingNeedsInput, Vec<&'static str>>) {
    let fields = &posted.fields;
    let ticked = |name: &str| fields.get(name).is_some();
    let text = |name: &str| fields.get(name).unwrap_or_default().to_owned();
    let form = NeedsForm {
        dog: ticked("hund"),
        cat: ticked("kat"),
        step_free: ticked("niveaufri"),
        min_rooms: text("vaerelser"),
        max_rent: text("husleje"),
        preferred: text("oensket"),
        avoided: text("undgaa"),
        note: text("note"),
        ..NeedsForm::default()
    };
    let mut faults = Vec::new();
    let min_rooms = match form.min_rooms.as_str() {
        "" => None,
        n => match n.parse::<u32>() {
            Ok(n @ 1..=20) => Some(n),
            _ => {
                faults.push("Antal værelser skal være et helt tal fra 1 til 20.");
                None
            }
        },
    };
    let rent: String = form.max_rent.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
    let rent = rent.strip_suffix("kr").unwrap_or(&rent).trim();
    let max_rent_dkk = match rent {
        "" => None,
        n => match n.parse::<u32>() {
            Ok(n @ 0..=1_000_000) => Some(n),
            _ => {
                faults.push("Husleje højst skal være et beløb i hele kroner fra 0 til 1.000.000.");
                None
            }
        },
    };
    let (preferred, avoided) = (postcodes(&form.preferred), postcodes(&form.avoided));
    let four_digits = |p: &String| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit());
    if !preferred.iter().chain(&avoided).all(four_digits) {
        faults.push("Et postnummer er fire cifre; skriv flere med mellemrum eller komma imellem.");
    }
    if preferred.len() > 100 || avoided.len() > 100 {
        faults.push("Højst 100 postnumre i hver liste.");
    }
    if preferred.iter().any(|p| avoided.contains(p)) {
        faults.push("Et postnummer kan ikke både være ønsket og fravalgt.");
    }
    if form.note.chars().count() > MAX_NOTE_CHARS {
        faults.push("Noten må højst være 4.000 tegn.");
    }
    if !faults.is_empty() {
        return (form, Err(faults));
    }
    let input = HousingNeedsInput {
        dog: form.dog,
        cat: form.cat,
        step_free: form.step_free,
        min_rooms,
        max_rent_dkk,
        preferred_postcodes: preferred,
        avoided_postcodes: avoided,
        note: Some(form.note.clone()).filter(|n| !n.is_empty()),
    };
    (form, Ok(input))
}

#[derive(Serialize)]
struct Refused {
    case_ref: String,
    faults: Vec<&'static str>,
    needs: NeedsForm,
}

/// Saves the housing needs of the form; faults answer `422` with the form again as entered.
pub async fn save(req: HttpRequest, posted: Posted, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let services = Services::of(&req)?;
    let caseworker = Caseworker::of(posted.viewer.principal.clone())?;
    let actor = Actor::of(&caseworker.principal, &req);
    let housing = services.housing();
    let case = housing
        .own_case(&caseworker, &actor, &path, action::HOUSING_NEEDS_WRITE)
        .await?;
    let (form, input) = read_form(&posted);
    let faults = input.as_ref().err().cloned().unwrap_or_default();
    // A refused form is recorded as the API's refusal is.
    let input = input.map_err(|_| Problem::new(kinds::BAD_REQUEST, "the form's fields are out of bounds".to_owned()));
    match housing.write_needs(&case, &actor, input).await {
        Ok(_) => Ok(see_other_saved(case.case_ref.as_str())),
        Err(problem) if problem.status == 400 => Ok(super::render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "needs_refused.html",
            Some(&posted.viewer),
            "",
            Refused {
                case_ref: case.case_ref.to_string(),
                faults: if faults.is_empty() {
                    vec!["Boligbehovet kunne ikke gemmes, som det er udfyldt."]
                } else {
                    faults
                },
                needs: form,
            },
        )),
        Err(problem) if problem.status == 409 => Err(Problem::new(
            kinds::STATE_CONFLICT,
            "Boligbehov skrives på en borgers sag, ikke på sagen om en ledig bolig.".to_owned(),
        )),
        Err(problem) => Err(problem),
    }
}

fn see_other_saved(case_ref: &str) -> HttpResponse {
    super::see_other(&format!("/sager/{case_ref}?udfoert=boligbehov#boligbehov"))
}
