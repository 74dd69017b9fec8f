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
