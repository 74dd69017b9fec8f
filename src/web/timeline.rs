//! The case page's words: what each message on a case is and says, in a Danish line made from
//! its clear summary (`validation::summary`: no personal data, nothing to decrypt, so a case of
//! hundreds of messages renders at once), where it was delivered, and the Danish names of the
//! deadlines' states, outcomes and events.

use super::{danish_date, danish_time};
use crate::domain::Kind;
use crate::store::{DeadlineState, DeliveryRecord, DeliveryState};
use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;

/// A message as the timeline shows it: its kind in Danish and what it says in a line.
pub fn describe(kind: Kind, summary: &Value) -> (&'static str, String) {
    let text = |key: &str| summary.get(key).and_then(Value::as_str);
    let date = |key: &str| {
        text(key)
            .and_then(|t| t.get(..10)?.parse::<Date>().ok())
            .map(danish_date)
    };
    let sender = text("sender.name");
    match kind {
        Kind::ReleaseNotice => {
            let release = date("release.expected_date");
            let from = sender.map(|s| format!(" fra {s}")).unwrap_or_default();
            let expected = |words: &str| match &release {
                Some(day) => format!("{words} {day}{from}"),
                None => format!("Løsladelsesdato ikke oplyst{from}"),
            };
            match text("notice_type").unwrap_or_default() {
                "admission" => ("Indsættelse", format!("Indsat{from}")),
                "update" => ("Ændret løsladelse", expected("Forventet løsladelse nu")),
                "transfer" => {
                    let to = text("transfer.to_institution.id").unwrap_or("en anden institution");
                    let when = date("transfer.date").map(|d| format!(" {d}")).unwrap_or_default();
                    let release = release
                        .map(|d| format!("; forventet løsladelse {d}"))
                        .unwrap_or_default();
                    ("Overførsel", format!("Overføres til {to}{when}{release}"))
                }
                "cancellation" => ("Aflyst løsladelse", format!("Løsladelsen er aflyst{from}")),
                _ => ("Løsladelse", expected("Forventet løsladelse")),
            }
        }
        Kind::HousingOffer => {
            let vacant = summary.get("vacant") == Some(&Value::Bool(true));
            match text("offer_type").unwrap_or_default() {
                "withdrawal" => ("Boligtilbud trukket tilbage", "Tilbuddet er trukket tilbage".to_owned()),
                offer_type => {
                    let mut line = dwelling_kind(text("dwelling.kind").unwrap_or_default()).to_owned();
                    if let Some(rooms) = summary.get("dwelling.rooms").and_then(Value::as_u64) {
                        line.push_str(&format!(", {rooms} vær."));
                    }
                    if let Some(rent) = summary.get("dwelling.monthly_rent_dkk").and_then(Value::as_f64) {
                        line.push_str(&format!(", husleje {} om måneden", crate::matching::kroner(rent)));
                    }
                    if let Some(from) = date("available_from") {
                        line.push_str(&format!(", ledig fra {from}"));
                    }
                    if let Some(by) = date("answer_deadline") {
                        line.push_str(&format!("; svar senest {by}"));
                    }
                    let label = match (offer_type, vacant) {
                        ("update", _) => "Ændret boligtilbud",
                        (_, true) => "Ledig bolig",
                        _ => "Boligtilbud",
                    };
                    (label, line)
                }
            }
        }
        Kind::JobcenterMessage => {
            let at = text("appointment.at")
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(danish_time);
            let line = match text("message_type").unwrap_or_default() {
                "appointment" => match at {
                    Some(at) => format!("Møde {at}"),
                    None => "Møde".to_owned(),
                },
                "appointment_cancelled" => match at {
                    Some(at) => format!("Mødet {at} er aflyst"),
                    None => "Mødet er aflyst".to_owned(),
                },
                "benefit_application_received" => {
                    let due = date("due_date").map(|d| format!("; frist {d}")).unwrap_or_default();
                    format!("Ansøgning om {} modtaget{due}", benefit(text("benefit.kind")))
                }
                "benefit_decision" => {
                    let decision = match text("benefit.decision").unwrap_or_default() {
                        "granted" => "bevilget",
                        "refused" => "afslået",
                        _ => "ikke afgjort endnu",
                    };
                    let from = date("benefit.effective_from")
                        .map(|d| format!(" fra {d}"))
                        .unwrap_or_default();
                    format!("Afgørelse: {} {decision}{from}", benefit(text("benefit.kind")))
                }
                "case_closed" => "Jobcentrets sag er lukket".to_owned(),
                _ => match date("due_date") {
                    Some(due) => format!("Besked; frist {due}"),
                    None => "Besked".to_owned(),
                },
            };
            ("Jobcenter", line)
        }
    }
}

/// A kind of home in Danish.
pub fn dwelling_kind(kind: &str) -> &'static str {
    match kind {
        "public_housing" => "Almen bolig",
        "private_rental" => "Privat udlejning",
        "skaev_bolig" => "Skæv bolig",
        "sl_107" => "Botilbud efter servicelovens § 107",
        "sl_108" => "Botilbud efter servicelovens § 108",
        "shared_supported" => "Bofællesskab / særbolig",
        "youth_housing" => "Ungdomsbolig",
        "senior_housing" => "Ældrebolig",
        _ => "Anden bolig",
    }
}

fn benefit(kind: Option<&str>) -> &'static str {
    match kind.unwrap_or_default() {
        "social_assistance" => "kontanthjælp",
        "education_assistance" => "uddannelseshjælp",
        "self_support_allowance" => "selvforsørgelses- og hjemrejseydelse",
        "unemployment_benefit" => "dagpenge",
        "sickness_benefit" => "sygedagpenge",
        "resource_course" => "ressourceforløb",
        "flex_job" => "fleksjob",
        "disability_pension" => "førtidspension",
        _ => "ydelse",
    }
}

/// Where a message went and how far it got (the message's own deliveries: reminders and
/// escalations are the deadlines' business).
#[derive(Serialize)]
pub struct Delivered {
    pub destination: String,
    pub state: &'static str,
    /// For the style sheet; the state is always in words too.
    pub class: &'static str,
}

pub fn delivered(d: &DeliveryRecord) -> Delivered {
    let (state, class) = match d.state {
        DeliveryState::Pending => ("venter", "waiting"),
        DeliveryState::Retrying => ("forsøges igen", "waiting"),
        DeliveryState::Delivered => ("leveret", "done"),
        DeliveryState::Dead => ("fejlet", "failed"),
    };
    Delivered {
        destination: d.destination.clone(),
        state,
        class,
    }
}

/// A deadline's state in Danish, and a class for the style sheet (the word carries the meaning).
pub fn state_label(state: DeadlineState) -> (&'static str, &'static str) {
    match state {
        DeadlineState::Open => ("åben", "open"),
        DeadlineState::Met => ("overholdt", "done"),
        DeadlineState::Missed => ("overskredet", "failed"),
        DeadlineState::Cancelled => ("annulleret", "cancelled"),
    }
}

/// An event of a deadline's history in Danish.
pub fn event_label(event: &str) -> &str {
    match event {
        "created" => "Oprettet",
        "moved" => "Flyttet",
        "cancelled" => "Annulleret",
        "reminded" => "Påmindelse sendt",
        "missed" => "Overskredet",
        "met" => "Overholdt",
        "reopened" => "Genåbnet",
        other => other,
    }
}

/// Who did something to a deadline, as a caseworker reads it: a person's or token's id, the
/// message that did it, or the gateway itself.
pub fn actor_label(actor: &str) -> String {
    if actor.starts_with("receipt:") {
        "en besked på sagen".to_owned()
    } else if actor == "scheduler" {
        "indgang".to_owned()
    } else {
        actor.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_release_notice_says_when_and_from_where_in_danish() {
        let summary = json!({"notice_type": "initial", "release.expected_date": "2027-02-09", "sender.name": "Anstalten ved Horserød"});
        assert_eq!(
            describe(Kind::ReleaseNotice, &summary),
            (
                "Løsladelse",
                "Forventet løsladelse 9. februar 2027 fra Anstalten ved Horserød".to_owned()
            )
        );
    }

    #[test]
    fn a_housing_offer_gives_the_home_and_the_answer_deadline() {
        let summary = json!({"offer_type": "offer", "vacant": false, "dwelling.kind": "public_housing",
            "dwelling.rooms": 2, "dwelling.monthly_rent_dkk": 4875.0, "available_from": "2026-12-01", "answer_deadline": "2026-11-24"});
        let (label, line) = describe(Kind::HousingOffer, &summary);
        assert_eq!(label, "Boligtilbud");
        assert_eq!(
            line,
            "Almen bolig, 2 vær., husleje 4.875 kr. om måneden, ledig fra 1. december 2026; svar senest 24. november 2026"
        );
    }

    #[test]
    fn an_appointment_is_in_copenhagen_time() {
        let summary = json!({"message_type": "appointment", "appointment.at": "2027-02-10T10:00:00+01:00"});
        assert_eq!(
            describe(Kind::JobcenterMessage, &summary).1,
            "Møde 10. februar 2027 kl. 10.00"
        );
    }
}
