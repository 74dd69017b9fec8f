//! Housing needs on a citizen's case and the candidates for a vacant home (docs/matching.md):
//! caseworkers of the case's municipality only, every read and write an audit entry.

use crate::access::Caseworker;
use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::domain::{CaseRef, Kind};
use crate::matching::{self, Candidate, Excluded, Home, MatchRules};
use crate::problem::{Problem, internal, kinds};
use crate::store::{CaseRecord, HousingNeeds, HousingNeedsRecord, NewHousingNeeds, Store, SubjectKind};
use crate::vault::Vault;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest note, as a message's `notes`.
const MAX_NOTE_CHARS: usize = 4000;
/// Postcodes per list.
const MAX_POSTCODES: usize = 100;

/// What a home must offer the citizen. Every member may be left out (false, none, empty).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HousingNeedsInput {
    /// The citizen has a dog: a home must allow dogs.
    #[serde(default)]
    pub dog: bool,
    /// The citizen has a cat: a home must allow cats.
    #[serde(default)]
    pub cat: bool,
    /// The citizen needs step-free access (niveaufri adgang).
    #[serde(default)]
    pub step_free: bool,
    /// At least this many rooms, 1 to 20 (a preference: fewer ranks lower).
    #[schema(minimum = 1, maximum = 20)]
    pub min_rooms: Option<u32>,
    /// At most this rent a month in kroner, 0 to 1 000 000 (a hard limit).
    #[schema(minimum = 0, maximum = 1000000)]
    pub max_rent_dkk: Option<u32>,
    /// Postcodes the citizen would like to live in (four digits each).
    #[serde(default)]
    pub preferred_postcodes: Vec<String>,
    /// Postcodes to avoid, e.g. away from an environment the citizen must leave.
    #[serde(default)]
    pub avoided_postcodes: Vec<String>,
    /// Free text for colleagues, at most 4000 characters; stored encrypted.
    pub note: Option<String>,
}

/// Holds the note: no `Debug`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HousingNeedsBody {
    #[schema(value_type = String)]
    pub case_ref: CaseRef,
    /// False while no caseworker has recorded needs (the members are then the defaults).
    pub recorded: bool,
    pub dog: bool,
    pub cat: bool,
    pub step_free: bool,
    pub min_rooms: Option<u32>,
    pub max_rent_dkk: Option<u32>,
    pub preferred_postcodes: Vec<String>,
    pub avoided_postcodes: Vec<String>,
    pub note: Option<String>,
    /// What the citizen will live on at release, from the latest release notice that says
    /// (`social_assistance`, `start_or_introduction_allowance`, …): a hint for the rent limit.
    pub income_basis: Option<String>,
    /// Whether the citizen is among those a vacant home is matched with now.
    pub seeking_housing: bool,
    pub updated_at: Option<String>,
}

/// The candidates for a vacant home, best first, and those a hard rule excluded.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CandidateList {
    /// The case of the vacant home.
    #[schema(value_type = String)]
    pub case_ref: CaseRef,
    pub home: HomeBody,
    /// The day the ranking was made for (Copenhagen).
    pub as_of: String,
    /// How many citizens of the municipality seek housing now.
    pub seeking: usize,
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<Excluded>,
    /// How many each hard rule excluded.
    pub excluded_by: BTreeMap<String, usize>,
}

/// The home, without its address.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HomeBody {
    pub kind: String,
    pub rooms: u32,
    pub monthly_rent_dkk: f64,
    pub dogs_allowed: bool,
    pub cats_allowed: bool,
    pub step_free: Option<bool>,
    pub postcode: Option<String>,
    pub available_from: String,
    pub answer_deadline: String,
}

/// The case, when it is the caseworker's municipality's; otherwise as if it did not exist
/// (an audit entry `not-found`), as `GET /v1/cases/{case_ref}` answers.
pub async fn own_case(
    path: &str,
    municipality: &str,
    store: &dyn Store,
    auditor: &Auditor,
    actor: &Actor,
    audit_action: &str,
) -> Result<CaseRecord, Problem> {
    let not_found = || Problem::new(kinds::NOT_FOUND, "no such case".to_owned());
    let case_ref = CaseRef::parse(path).ok_or_else(not_found)?;
    let case = store
        .case(&case_ref)
        .await
        .map_err(internal)?
        .filter(|case| case.municipality == municipality);
    match case {
        Some(case) => Ok(case),
        None => {
            auditor
                .request(actor, audit_action, About::case(case_ref.as_str()), outcome::NOT_FOUND)
                .await?;
            Err(not_found())
        }
    }
}

fn citizen_case(case: &CaseRecord) -> Result<(), Problem> {
    if case.subject_kind == SubjectKind::Citizen.as_str() {
        Ok(())
    } else {
        Err(Problem::new(
            kinds::STATE_CONFLICT,
            "housing needs are recorded on a citizen's case, not on the case of a vacant home".to_owned(),
        ))
    }
}

/// The faults of the input, each naming its member.
fn check(input: &HousingNeedsInput) -> Vec<String> {
    let mut faults = Vec::new();
    if input.min_rooms.is_some_and(|n| !(1..=20).contains(&n)) {
        faults.push("min_rooms: between 1 and 20".to_owned());
    }
    if input.max_rent_dkk.is_some_and(|n| n > 1_000_000) {
        faults.push("max_rent_dkk: between 0 and 1000000".to_owned());
    }
    for (key, list) in [
        ("preferred_postcodes", &input.preferred_postcodes),
        ("avoided_postcodes", &input.avoided_postcodes),
    ] {
        if list.len() > MAX_POSTCODES {
            faults.push(format!("{key}: at most {MAX_POSTCODES} postcodes"));
        }
        if let Some(i) = list
            .iter()
            .position(|p| p.len() != 4 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            faults.push(format!("{key}/{i}: a postcode is four digits"));
        }
    }
    if let Some(p) = input
        .preferred_postcodes
        .iter()
        .find(|p| input.avoided_postcodes.contains(p))
    {
        faults.push(format!(
            "avoided_postcodes: {} is preferred too",
            crate::validation::echo::quoted(p)
        ));
    }
    if input.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        faults.push(format!("note: at most {MAX_NOTE_CHARS} characters"));
    }
    faults
}

fn income_basis(case: &CaseRecord) -> Option<String> {
    case.messages
        .iter()
        .rev()
        .filter(|m| m.receipt.kind == Kind::ReleaseNotice)
        .find_map(|m| m.summary.get("income_basis").and_then(|v| v.as_str()))
        .map(str::to_owned)
}

async fn seeking(store: &dyn Store, settings: &crate::config::Settings, case: &CaseRecord) -> Result<bool, Problem> {
    let rows = store
        .housing_seekers(
            case.municipality.clone(),
            settings.reports.housing_policy.clone(),
            Some(case.case_ref.clone()),
        )
        .await
        .map_err(internal)?;
    Ok(rows
        .iter()
        .filter(|r| r.case_ref == case.case_ref)
        .any(|r| matching::seeker(r).is_some()))
}

fn needs_body(
    case: &CaseRecord,
    record: Option<HousingNeedsRecord>,
    vault: &Vault,
    seeking_housing: bool,
) -> Result<HousingNeedsBody, Problem> {
    let note = match record.as_ref().and_then(|r| r.note_sealed.as_ref()) {
        Some(sealed) => {
            Some(String::from_utf8(vault.decrypt(sealed).map_err(internal)?).map_err(|e| internal(e.into()))?)
        }
        None => None,
    };
    let updated_at = record.as_ref().map(|r| r.updated_at.to_string());
    let recorded = record.is_some();
    let needs = record.map(|r| r.needs).unwrap_or_default();
    Ok(HousingNeedsBody {
        case_ref: case.case_ref.clone(),
        recorded,
        dog: needs.dog,
        cat: needs.cat,
        step_free: needs.step_free,
        min_rooms: needs.min_rooms,
        max_rent_dkk: needs.max_rent_dkk,
        preferred_postcodes: needs.preferred_postcodes,
        avoided_postcodes: needs.avoided_postcodes,
        note,
        income_basis: income_basis(case),
        seeking_housing,
        updated_at,
    })
}

/// Records what a home must offer the citizen of the case, replacing what was recorded before.
#[utoipa::path(put, path = "/v1/cases/{case_ref}/housing-needs", tag = "housing",
    params(("case_ref" = String, Path, description = "e.g. K-2026-000123")),
    request_body = HousingNeedsInput,
    responses(
        (status = 200, body = HousingNeedsBody),
        (status = 400, description = "Not housing needs, or a member out of bounds (each named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caseworker's municipality", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is a vacant home's, not a citizen's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_housing_needs(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    caseworker: Caseworker,
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = HousingDesk::of(&req)?;
    let case = desk
        .own_case(&caseworker, &actor, &path, action::HOUSING_NEEDS_WRITE)
        .await?;
    // The note may hold anything: the answer repeats none of the body.
    let input = serde_json::from_slice::<HousingNeedsInput>(&body).map_err(|e| {
        Problem::new(
            kinds::BAD_REQUEST,
            format!(
                "the body must be housing needs as documented ({} at line {}, column {})",
                match e.classify() {
                    serde_json::error::Category::Data => "a member unknown or of the wrong type",
                    _ => "not well-formed JSON",
                },
                e.line(),
                e.column()
            ),
        )
    });
    let body = desk.write_needs(&case, &actor, input).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// What a home must offer the citizen of the case, the income basis as a hint, and whether the
/// citizen seeks housing now.
#[utoipa::path(get, path = "/v1/cases/{case_ref}/housing-needs", tag = "housing",
    params(("case_ref" = String, Path, description = "e.g. K-2026-000123")),
    responses(
        (status = 200, body = HousingNeedsBody),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caseworker's municipality", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is a vacant home's, not a citizen's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_housing_needs(
    req: HttpRequest,
    path: web::Path<String>,
    caseworker: Caseworker,
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = HousingDesk::of(&req)?;
    let case = desk
        .own_case(&caseworker, &actor, &path, action::HOUSING_NEEDS_READ)
        .await?;
    Ok(HttpResponse::Ok().json(desk.needs(&case, &actor).await?))
}

/// The citizens of the municipality seeking housing, ranked against the vacant home of the case:
/// the hard rules exclude (each exclusion says which rule), the soft ones order; each candidate
/// carries its reasons in Danish. The gateway proposes; a caseworker chooses.
#[utoipa::path(get, path = "/v1/cases/{case_ref}/candidates", tag = "housing",
    params(("case_ref" = String, Path, description = "The case of a vacant home, e.g. K-2026-000123")),
    responses(
        (status = 200, body = CandidateList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a caseworker token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caseworker's municipality", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not the case of a vacant home, or the offer was withdrawn", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_candidates(
    req: HttpRequest,
    path: web::Path<String>,
    caseworker: Caseworker,
) -> Result<HttpResponse, Problem> {
    let actor = Actor::of(&caseworker.principal, &req);
    let desk = HousingDesk::of(&req)?;
    let case = desk
        .own_case(&caseworker, &actor, &path, action::CANDIDATES_READ)
        .await?;
    Ok(HttpResponse::Ok().json(desk.candidates(&case, &actor).await?))
}

/// What a caseworker does with housing needs and candidates, the same from the API and from
/// the case page: each read and write is checked against the caseworker's municipality and
/// written to the audit log.
pub struct HousingDesk<'a> {
    pub store: &'a dyn Store,
    pub vault: &'a Vault,
    pub settings: &'a crate::config::Settings,
    pub clock: &'a crate::clock::Clock,
    pub auditor: &'a Auditor,
}

impl<'a> HousingDesk<'a> {
    /// The desk of the application's data, for a handler that has the request.
    pub fn of(req: &'a HttpRequest) -> Result<HousingDesk<'a>, Problem> {
        Ok(HousingDesk {
            store: super::app_data::<dyn Store>(req)?,
            vault: super::app_data(req)?,
            settings: super::app_data(req)?,
            clock: super::app_data(req)?,
            auditor: super::app_data(req)?,
        })
    }

    /// The case `path` names when it is the caseworker's municipality's; otherwise `404` with
    /// an audit entry `not-found` under `audit_action`.
    pub async fn own_case(
        &self,
        caseworker: &Caseworker,
        actor: &Actor,
        path: &str,
        audit_action: &str,
    ) -> Result<CaseRecord, Problem> {
        own_case(
            path,
            &caseworker.municipality,
            self.store,
            self.auditor,
            actor,
            audit_action,
        )
        .await
    }

    /// The housing needs recorded on a citizen's case (`housing-needs.read`).
    pub async fn needs(&self, case: &CaseRecord, actor: &Actor) -> Result<HousingNeedsBody, Problem> {
        let answer = self.needs_on(case).await;
        self.auditor
            .answer(
                actor,
                action::HOUSING_NEEDS_READ,
                About::case(case.case_ref.as_str()),
                answer,
            )
            .await
    }

    /// `needs` without an audit entry of its own: for a caller whose entry covers the reading
    /// already (the case page's `case.read`: one look, one entry).
    pub async fn needs_on(&self, case: &CaseRecord) -> Result<HousingNeedsBody, Problem> {
        citizen_case(case)?;
        let record = self.store.housing_needs(&case.case_ref).await.map_err(internal)?;
        let seeking_housing = seeking(self.store, self.settings, case).await?;
        needs_body(case, record, self.vault, seeking_housing)
    }

    /// Records `input` on a citizen's case, replacing what was recorded before
    /// (`housing-needs.write`); an input that could not be read is passed as its problem, so
    /// that the refusal is recorded too.
    pub async fn write_needs(
        &self,
        case: &CaseRecord,
        actor: &Actor,
        input: Result<HousingNeedsInput, Problem>,
    ) -> Result<HousingNeedsBody, Problem> {
        let answer = async {
            citizen_case(case)?;
            let input = input?;
            let faults = check(&input);
            if !faults.is_empty() {
                return Err(Problem::new(kinds::BAD_REQUEST, faults.join("; ")));
            }
            let note_sealed = input
                .note
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| self.vault.encrypt(n.as_bytes()));
            let new = NewHousingNeeds {
                case_ref: case.case_ref.clone(),
                needs: HousingNeeds {
                    dog: input.dog,
                    cat: input.cat,
                    step_free: input.step_free,
                    min_rooms: input.min_rooms,
                    max_rent_dkk: input.max_rent_dkk,
                    preferred_postcodes: input.preferred_postcodes,
                    avoided_postcodes: input.avoided_postcodes,
                },
                note_sealed,
                actor: actor.id.clone(),
                at: self.clock.now(),
            };
            let record = self.store.put_housing_needs(new).await.map_err(internal)?;
            let seeking_housing = seeking(self.store, self.settings, case).await?;
            needs_body(case, record, self.vault, seeking_housing)
        }
        .await;
        self.auditor
            .answer(
                actor,
                action::HOUSING_NEEDS_WRITE,
                About::case(case.case_ref.as_str()),
                answer,
            )
            .await
    }

    /// The citizens seeking housing ranked against the vacant home of the case
    /// (`candidates.read`).
    pub async fn candidates(&self, case: &CaseRecord, actor: &Actor) -> Result<CandidateList, Problem> {
        let answer = self.candidates_for(case).await;
        self.auditor
            .answer(
                actor,
                action::CANDIDATES_READ,
                About::case(case.case_ref.as_str()),
                answer,
            )
            .await
    }

    /// `candidates` without an audit entry of its own: for a caller whose entry covers the
    /// reading already (the case page's `case.read`).
    pub async fn candidates_for(&self, case: &CaseRecord) -> Result<CandidateList, Problem> {
        let conflict = |detail: &str| Problem::new(kinds::STATE_CONFLICT, detail.to_owned());
        if case.subject_kind != SubjectKind::VacantDwelling.as_str() {
            return Err(conflict(
                "candidates are ranked for the case of a vacant home; this is a citizen's case",
            ));
        }
        let offer = case
            .messages
            .iter()
            .rev()
            .find(|m| m.receipt.kind == Kind::HousingOffer)
            .ok_or_else(|| conflict("the case holds no housing offer"))?;
        if offer.summary.get("offer_type").and_then(|v| v.as_str()) == Some("withdrawal") {
            return Err(conflict("the offer was withdrawn"));
        }
        let home =
            Home::from_summary(&offer.summary).ok_or_else(|| conflict("the offer does not describe the home"))?;
        let rules = MatchRules::from_settings(&self.settings.matching).map_err(internal)?;
        let rows = self
            .store
            .housing_seekers(
                case.municipality.clone(),
                self.settings.reports.housing_policy.clone(),
                None,
            )
            .await
            .map_err(internal)?;
        let seekers: Vec<_> = rows.iter().filter_map(matching::seeker).collect();
        let today = crate::domain::copenhagen_date(self.clock.now());
        let ranking = matching::rank(&home, &seekers, today, &rules);
        let mut excluded_by = BTreeMap::new();
        for e in &ranking.excluded {
            *excluded_by.entry(e.rule.as_str().to_owned()).or_insert(0) += 1;
        }
        tracing::info!(
            case = %case.case_ref,
            seeking = seekers.len(),
            candidates = ranking.candidates.len(),
            "candidates ranked"
        );
        Ok(CandidateList {
            case_ref: case.case_ref.clone(),
            home: HomeBody {
                kind: home.kind,
                rooms: home.rooms,
                monthly_rent_dkk: home.monthly_rent_dkk,
                dogs_allowed: home.dogs_allowed,
                cats_allowed: home.cats_allowed,
                step_free: home.step_free,
                postcode: home.postcode,
                available_from: home.available_from.to_string(),
                answer_deadline: home.answer_deadline.to_string(),
            },
            as_of: today.to_string(),
            seeking: seekers.len(),
            candidates: ranking.candidates,
            excluded: ranking.excluded,
            excluded_by,
        })
    }
}
