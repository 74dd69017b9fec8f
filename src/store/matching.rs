//! What a home must offer a citizen (the housing needs on the case) and the facts of the
//! citizens seeking housing, as the store takes and gives them. The needs are flags, numbers and
//! postcodes, kept in clear; the caseworker's note is sealed like a message body.

use crate::domain::CaseRef;
use jiff::Timestamp;

/// What a home must offer: no CPR number, no name, no free text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HousingNeeds {
    pub dog: bool,
    pub cat: bool,
    pub step_free: bool,
    pub min_rooms: Option<u32>,
    pub max_rent_dkk: Option<u32>,
    pub preferred_postcodes: Vec<String>,
    pub avoided_postcodes: Vec<String>,
}

/// Needs to record on a case, replacing any recorded before.
#[derive(Debug, Clone)]
pub struct NewHousingNeeds {
    pub case_ref: CaseRef,
    pub needs: HousingNeeds,
    /// The caseworker's note, sealed by the `Vault`.
    pub note_sealed: Option<Vec<u8>>,
    /// Who recorded them (`token:<id>`).
    pub actor: String,
    pub at: Timestamp,
}

/// Needs as recorded.
#[derive(Debug, Clone)]
pub struct HousingNeedsRecord {
    pub needs: HousingNeeds,
    pub note_sealed: Option<Vec<u8>>,
    /// When needs were first recorded on the case.
    pub recorded_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// A citizen case of a municipality with what matching needs to know whether the citizen seeks
/// housing: no personal data.
#[derive(Debug, Clone)]
pub struct SeekerRow {
    pub case_ref: CaseRef,
    pub needs: Option<HousingNeeds>,
    pub needs_recorded_at: Option<Timestamp>,
    /// The clear summaries of the case's release notices with when each came, oldest first.
    pub notices: Vec<(Timestamp, serde_json::Value)>,
    /// The state (`open`, `met`, `missed`, `cancelled`) of the case's latest housing deadline.
    pub housing_deadline: Option<String>,
}

/// The caseworker's answer to the allocation office on a vacant home, to record with its outbound
/// message in one transaction.
#[derive(Debug, Clone)]
pub struct NewHousingAnswer {
    /// The vacant home's case.
    pub home: CaseRef,
    /// The receipt of the offer (or update) answered.
    pub offer_receipt_id: String,
    pub offer_id: String,
    /// The citizen's case chosen, with its rank when chosen; `None` for no candidate.
    pub candidate: Option<(CaseRef, u32)>,
    /// For no candidate: one of `matching::ANSWER_REASONS`.
    pub reason: Option<String>,
    /// Who answered (`token:<id>`).
    pub actor: String,
    pub at: Timestamp,
    /// The delivery to the allocation office: its destination and the event's data sealed by the
    /// `Vault` (it may carry a CPR number); `None` when no destination is configured.
    pub delivery: Option<(String, Vec<u8>)>,
}

/// An answer as recorded: case references and words from a fixed list only.
#[derive(Debug, Clone, PartialEq)]
pub struct HousingAnswerRecord {
    pub home: CaseRef,
    pub offer_id: String,
    pub candidate: Option<CaseRef>,
    pub candidate_rank: Option<u32>,
    pub reason: Option<String>,
    pub answered_at: Timestamp,
    pub answered_by: String,
    /// The delivery to the allocation office, if one was written.
    pub delivery_id: Option<String>,
    /// Not stored: the same answer was given before, and nothing was written now.
    pub repeated: bool,
}

/// A vacant home as the housing report sees it: when it was offered, when and how it was
/// answered, and whether the citizen named then found a home by an accepted offer. No personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct VacantHomeRow {
    pub municipality: String,
    /// When its case was opened: the first offer of the home.
    pub offered_at: Timestamp,
    /// The due time of its deadline to answer (the latest, when an update moved it).
    pub answer_due: Option<Timestamp>,
    pub answered_at: Option<Timestamp>,
    /// Answered naming a citizen's case.
    pub candidate_named: bool,
    /// The citizen named has a housing deadline met by an accepted housing offer.
    pub accepted: bool,
}
