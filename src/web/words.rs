//! The Danish words the pages use for the gateway's codes: kinds of message, states and
//! outcomes of deadlines, reasons to reopen. A code without a word is shown as it is.

use crate::domain::Kind;
use crate::store::{DeadlineState, REOPEN_REASONS};

/// A kind of message.
pub fn kind(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "Løsladelse",
        Kind::HousingOffer => "Boligtilbud",
        Kind::JobcenterMessage => "Jobcenter",
    }
}

/// A deadline's state.
pub fn state(state: DeadlineState) -> &'static str {
    match state {
        DeadlineState::Open => "Åben",
        DeadlineState::Met => "Overholdt",
        DeadlineState::Missed => "Overskredet",
        DeadlineState::Cancelled => "Annulleret",
    }
}

/// An outcome a deadline is resolved with (the default policies' outcomes, docs/deadlines.md).
pub fn outcome(code: &str) -> String {
    let word = match code {
        "acknowledged" => "Kvitteret",
        "public_housing" => "Almen bolig",
        "private_rental" => "Privat lejebolig",
        "sl_107" => "Midlertidigt botilbud (§ 107)",
        "sl_108" => "Længerevarende botilbud (§ 108)",
        "shared_supported" => "Bofællesskab eller støttet bolig",
        "skaev_bolig" => "Skæv bolig",
        "owner" => "Egen bolig",
        "housing_offer" => "Boligtilbud taget imod",
        "other" => "Andet",
        "case_started" => "Ydelsessag startet",
        "offered" => "Tilbudt",
        "declined" => "Afslået",
        "accepted" => "Taget imod",
        "attended" => "Mødt",
        "not_attended" => "Ikke mødt",
        "done" => "Udført",
        "transferred" => "Overført til anden kommune",
        other => return other.to_owned(),
    };
    word.to_owned()
}

/// A team as its emails name it (`teams.<id>.name`), or its id.
pub fn team(settings: &crate::config::Settings, id: &str) -> String {
    settings.teams.get(id).map_or_else(|| id.to_owned(), |t| t.name.clone())
}

/// A reason to reopen a deadline.
pub fn reopen_reason(code: &str) -> String {
    REOPEN_REASONS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or_else(|| code.to_owned(), |(_, word)| (*word).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_of_the_default_policies_has_a_danish_word() {
        let settings = crate::config::Settings::load_from(None, Vec::new()).unwrap();
        for (id, policy) in &settings.deadlines {
            for code in &policy.outcomes {
                assert_ne!(
                    outcome(code),
                    *code,
                    "deadlines.{id}: the outcome {code} has no Danish word"
                );
            }
        }
    }
}
