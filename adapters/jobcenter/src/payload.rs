//! The payload in `Beskeddata`: `Jobcenterbesked` in indgang's namespace `urn:indgang:jobcenter:1`.
//! Unlike the envelope, it is read strictly: an element it does not define is a fault, so a
//! misspelt element is not silently lost.

use crate::envelope::{JOBCENTER, leaf};
use crate::xml::Element;
use crate::{Faults, values};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const BENEFIT_KINDS: &[&str] = &[
    "social_assistance",
    "education_assistance",
    "self_support_allowance",
    "unemployment_benefit",
    "sickness_benefit",
    "resource_course",
    "flex_job",
    "disability_pension",
    "other",
];
const DECISIONS: &[&str] = &["granted", "refused", "pending"];

/// The members of one element of the payload, by name.
struct Members<'a> {
    parent: &'a Element,
    by_name: BTreeMap<&'a str, &'a Element>,
}

impl<'a> Members<'a> {
    /// Reads the children of `parent`, which may be those in `allowed`, each at most once.
    fn of(parent: &'a Element, allowed: &[&str], faults: &mut Faults) -> Members<'a> {
        let mut by_name = BTreeMap::new();
        if !parent.text.trim().is_empty() {
            faults.at(
                parent.at,
                format!("{} holds text where only elements belong", parent.name),
            );
        }
        for c in &parent.children {
            if c.ns.as_deref() != Some(JOBCENTER) || !allowed.contains(&c.name.as_str()) {
                faults.at(
                    c.at,
                    format!(
                        "{} is not part of {}: it holds {} in the namespace {JOBCENTER}",
                        c.expanded_name(),
                        parent.name,
                        allowed.join(", ")
                    ),
                );
            } else if by_name.insert(c.name.as_str(), c).is_some() {
                faults.at(c.at, format!("{} appears more than once in {}", c.name, parent.name));
            }
        }
        Members { parent, by_name }
    }

    fn get(&self, name: &str) -> Option<&'a Element> {
        self.by_name.get(name).copied()
    }

    /// A member that must be there.
    fn need(&self, name: &str, faults: &mut Faults) -> Option<&'a Element> {
        let found = self.get(name);
        if found.is_none() {
            faults.at(self.parent.at, format!("{} has no {name}", self.parent.name));
        }
        found
    }

    /// The value of a text member read with `parse`, if it is there.
    fn value<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>, faults: &mut Faults) -> Option<T> {
        let element = self.get(name)?;
        let text = leaf(element, faults)?;
        faults.check(element, name, parse(text))
    }

    /// The value of a text member that must be there.
    fn required<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>, faults: &mut Faults) -> Option<T> {
        self.need(name, faults)?;
        self.value(name, parse, faults)
    }
}

/// The canonical members the payload gives, and the citizen's name if it has one. `None` for a
/// member that was wrong is not distinguished here: the faults say what went wrong.
pub(crate) struct Payload {
    pub members: Map<String, Value>,
    pub citizen_name: Option<String>,
}

pub(crate) fn read(payload: &Element, message_type: Option<&str>, faults: &mut Faults) -> Payload {
    let m = Members::of(
        payload,
        &[
            "Kommune",
            "Afsender",
            "Borger",
            "Ydelse",
            "Moede",
            "Frist",
            "Sagsnummer",
            "Bemaerkninger",
        ],
        faults,
    );
    let mut members = Map::new();

    let municipality = m.required("Kommune", values::kommunekode, faults);
    let sender = m.need("Afsender", faults).and_then(|a| sender(a, faults));
    let citizen_name = m.get("Borger").and_then(|b| {
        let borger = Members::of(b, &["Navn"], faults);
        borger.value("Navn", |t| values::text(t, 200), faults)
    });

    let benefit = m.get("Ydelse").map(|y| {
        let ydelse = Members::of(y, &["Art", "Afgoerelse", "Virkningsdato"], faults);
        let kind = ydelse.required("Art", |t| values::code(t, BENEFIT_KINDS), faults);
        let decision = ydelse.value("Afgoerelse", |t| values::code(t, DECISIONS), faults);
        if message_type == Some("benefit_decision") && ydelse.get("Afgoerelse").is_none() {
            faults.at(
                y.at,
                "a benefit decision must say what was decided: Ydelse has no Afgoerelse",
            );
        }
        let effective_from = ydelse.value("Virkningsdato", values::date, faults);
        let mut benefit = Map::new();
        insert(&mut benefit, "kind", kind);
        insert(&mut benefit, "decision", decision);
        insert(&mut benefit, "effective_from", effective_from);
        benefit
    });
    if matches!(message_type, Some("benefit_application_received" | "benefit_decision")) && benefit.is_none() {
        faults.at(
            payload.at,
            format!("a {} message needs Ydelse", message_type.unwrap_or_default()),
        );
    }

    let appointment = m.get("Moede").map(|mo| {
        let moede = Members::of(mo, &["Tidspunkt", "Sted", "Formaal"], faults);
        let mut appointment = Map::new();
        insert(
            &mut appointment,
            "at",
            moede.required("Tidspunkt", values::date_time, faults),
        );
        insert(
            &mut appointment,
            "place",
            moede.required("Sted", |t| values::text(t, 200), faults),
        );
        insert(
            &mut appointment,
            "purpose",
            moede.required("Formaal", |t| values::text(t, 500), faults),
        );
        appointment
    });
    if matches!(message_type, Some("appointment" | "appointment_cancelled")) && appointment.is_none() {
        faults.at(
            payload.at,
            format!("an {} message needs Moede", message_type.unwrap_or_default()),
        );
    }

    let due_date = m.value("Frist", values::date, faults);
    let reference = m.value("Sagsnummer", |t| values::text(t, 100), faults);
    let notes = m.value("Bemaerkninger", |t| values::text(t, 4000), faults);

    insert(&mut members, "sender", sender);
    insert(&mut members, "municipality", municipality);
    insert(&mut members, "benefit", benefit);
    insert(&mut members, "appointment", appointment);
    insert(&mut members, "due_date", due_date);
    insert(&mut members, "reference", reference);
    insert(&mut members, "notes", notes);
    Payload { members, citizen_name }
}

/// `Afsender`: the jobcenter's institution code and name, and optionally its contact person.
fn sender(afsender: &Element, faults: &mut Faults) -> Option<Map<String, Value>> {
    let a = Members::of(afsender, &["Id", "Navn", "Kontakt"], faults);
    let id = a.required("Id", values::institution_id, faults);
    let name = a.required("Navn", |t| values::text(t, 200), faults);
    let contact = a.get("Kontakt").map(|k| {
        let kontakt = Members::of(k, &["Navn", "Email", "Telefon"], faults);
        let mut contact = Map::new();
        insert(
            &mut contact,
            "name",
            kontakt.value("Navn", |t| values::text(t, 200), faults),
        );
        insert(&mut contact, "email", kontakt.value("Email", values::email, faults));
        insert(&mut contact, "phone", kontakt.value("Telefon", values::phone, faults));
        contact
    });
    let mut sender = Map::new();
    insert(&mut sender, "id", Some(id?));
    insert(&mut sender, "name", Some(name?));
    insert(&mut sender, "contact", contact.filter(|c| !c.is_empty()));
    Some(sender)
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}
