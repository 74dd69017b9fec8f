//! The Beskedfordeler envelope (`Haendelsesbesked`, namespace `urn:oio:besked:kuvert:1.0`): the
//! fields the gateway reads, checked; everything else in the envelope is left alone, since
//! KOMBIT's envelope carries more than an intake needs (routing, delivery history, credentials).
//! The README's table lists exactly what is read.

use crate::xml::Element;
use crate::{Faults, beskedtype, values};

pub(crate) const KUVERT: &str = "urn:oio:besked:kuvert:1.0";
pub(crate) const SAGDOK: &str = "urn:oio:sagdok:3.0.0";
pub(crate) const STS: &str = "urn:oio:sts:1.0.0";
pub(crate) const JOBCENTER: &str = "urn:indgang:jobcenter:1";

/// What the envelope says; `None` where it was missing or wrong (and a fault says why).
pub(crate) struct Envelope<'a> {
    pub message_id: Option<String>,
    pub message_type: Option<&'static str>,
    pub cpr: Option<String>,
    pub sent_at: Option<String>,
    pub payload: Option<&'a Element>,
}

/// Finds the `Haendelsesbesked`: the root, or the one inside a `ModtagBeskedInput` (namespace
/// `urn:oio:sts:1.0.0`) as the distributor pushes it.
pub(crate) fn find<'a>(root: &'a Element, faults: &mut Faults) -> Option<&'a Element> {
    let is_envelope = |e: &Element| e.name == "Haendelsesbesked" && e.ns.as_deref() == Some(KUVERT);
    if is_envelope(root) {
        return Some(root);
    }
    if root.name == "ModtagBeskedInput" && root.ns.as_deref() == Some(STS) {
        return required(root, KUVERT, "Haendelsesbesked", faults);
    }
    let message = if root.name == "Haendelsesbesked" {
        format!(
            "the root element must be Haendelsesbesked in the namespace {KUVERT}; this one is {}",
            root.expanded_name()
        )
    } else {
        format!(
            "this is not a Beskedfordeler envelope: the root element must be Haendelsesbesked in the \
             namespace {KUVERT}, not {}",
            root.expanded_name()
        )
    };
    faults.at(root.at, message);
    None
}

/// Reads the envelope's fields.
pub(crate) fn read<'a>(envelope: &'a Element, faults: &mut Faults) -> Envelope<'a> {
    let message_id = required(envelope, KUVERT, "BeskedId", faults)
        .and_then(|id| required(id, SAGDOK, "UUIDIdentifikator", faults))
        .and_then(|uuid| leaf(uuid, faults).map(|text| (uuid, text)))
        .and_then(|(uuid, text)| faults.check(uuid, "BeskedId", values::uuid(text)));

    if let Some(version) = required(envelope, KUVERT, "BeskedVersion", faults)
        && let Some(text) = leaf(version, faults)
        && !matches!(text, "1" | "1.0")
    {
        faults.at(
            version.at,
            format!("BeskedVersion `{}` is not supported: 1.0 is", values::shorten(text)),
        );
    }

    let kuvert = required(envelope, KUVERT, "Beskedkuvert", faults);
    let filtrering = kuvert.and_then(|k| required(k, KUVERT, "Filtreringsdata", faults));
    let mut message_type = None;
    let mut cpr = None;
    if let Some(filtrering) = filtrering {
        message_type = required(filtrering, KUVERT, "Beskedtype", faults)
            .and_then(|t| required(t, SAGDOK, "UUIDIdentifikator", faults))
            .and_then(|uuid| leaf(uuid, faults).map(|text| (uuid, text)))
            .and_then(|(uuid, text)| {
                let id = faults.check(uuid, "Beskedtype", values::uuid(text))?;
                let found = beskedtype::message_type(&id);
                if found.is_none() {
                    faults.at(
                        uuid.at,
                        format!("Beskedtype {id} is not a kind of event the gateway receives: see the README's table"),
                    );
                }
                found
            });
        if let Some(aktoer) = child(filtrering, KUVERT, "BeskedAnsvarligAktoer", faults) {
            identifier(aktoer, faults);
        }
        for modtager in all(filtrering, KUVERT, "TilladtModtager", faults) {
            if let Some(Id::Urn(at, urn)) = identifier(modtager, faults) {
                let digits = strip_prefix_ignore_case(urn, "urn:oio:cvr-nr:");
                if !digits.is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit())) {
                    faults.at(
                        at,
                        "TilladtModtager must be urn:oio:cvr-nr: followed by the eight digits of a CVR number",
                    );
                }
            }
        }
        cpr = citizen(filtrering, faults);
    }

    let sent_at = kuvert
        .and_then(|k| required(k, KUVERT, "Leveranceinformation", faults))
        .and_then(|l| required(l, KUVERT, "Dannelsestidspunkt", faults))
        .and_then(|d| required(d, SAGDOK, "TidsstempelDatoTid", faults))
        .and_then(|t| leaf(t, faults).map(|text| (t, text)))
        .and_then(|(t, text)| faults.check(t, "Dannelsestidspunkt", values::date_time(text)));

    let payload = required(envelope, KUVERT, "Beskeddata", faults).and_then(|data| payload(data, faults));
    Envelope {
        message_id,
        message_type,
        cpr,
        sent_at,
        payload,
    }
}

/// The citizen's CPR number: the one `RelateretObjekt` whose `ObjektId` holds a
/// `URNIdentifikator` `urn:oio:cpr-nr:DDMMYYSSSS`. Other related objects are left alone.
fn citizen(filtrering: &Element, faults: &mut Faults) -> Option<String> {
    let mut found: Option<String> = None;
    let mut failed = false;
    for objekt in all(filtrering, KUVERT, "RelateretObjekt", faults) {
        let Some(id) = required(objekt, KUVERT, "ObjektId", faults) else {
            failed = true;
            continue;
        };
        let Some(Id::Urn(at, urn)) = identifier(id, faults) else {
            continue;
        };
        let Some(digits) = strip_prefix_ignore_case(urn, "urn:oio:cpr-nr:") else {
            continue;
        };
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            faults.at(
                at,
                "a CPR URN is urn:oio:cpr-nr: followed by ten digits, without a hyphen",
            );
            failed = true;
        } else if found.as_deref().is_some_and(|f| f != digits) {
            faults.at(
                objekt.at,
                "more than one RelateretObjekt names a citizen: a message is about one citizen",
            );
            failed = true;
        } else {
            found = Some(digits.to_owned());
        }
    }
    if found.is_none() && !failed {
        faults.at(
            filtrering.at,
            "no RelateretObjekt names the citizen: one must have ObjektId/URNIdentifikator \
             urn:oio:cpr-nr: followed by the ten digits of the CPR number",
        );
    }
    found.filter(|_| !failed)
}

/// The one element in `Beskeddata`, which must be our `Jobcenterbesked`.
fn payload<'a>(data: &'a Element, faults: &mut Faults) -> Option<&'a Element> {
    let wanted = format!("Jobcenterbesked in the namespace {JOBCENTER}");
    if !data.text.trim().is_empty() {
        faults.at(data.at, format!("Beskeddata must carry the element {wanted}, not text"));
        return None;
    }
    let Some(first) = data.children.first() else {
        faults.at(
            data.at,
            format!("Beskeddata is empty: it must carry the element {wanted}"),
        );
        return None;
    };
    if let Some(second) = data.children.get(1) {
        faults.at(second.at, format!("Beskeddata must carry one element, {wanted}"));
        return None;
    }
    if first.name != "Jobcenterbesked" || first.ns.as_deref() != Some(JOBCENTER) {
        faults.at(
            first.at,
            format!(
                "Beskeddata must carry the element {wanted}, not {}",
                first.expanded_name()
            ),
        );
        return None;
    }
    Some(first)
}

/// An identifier in OIO's form: a `UUIDIdentifikator` or a `URNIdentifikator` (namespace
/// `urn:oio:sagdok:3.0.0`), with the position of the identifier's element.
pub(crate) enum Id<'a> {
    Uuid,
    Urn(usize, &'a str),
}

fn identifier<'a>(holder: &'a Element, faults: &mut Faults) -> Option<Id<'a>> {
    let uuid = child(holder, SAGDOK, "UUIDIdentifikator", faults);
    let urn = child(holder, SAGDOK, "URNIdentifikator", faults);
    match (uuid, urn) {
        (Some(uuid), None) => {
            let text = leaf(uuid, faults)?;
            faults.check(uuid, &holder.name, values::uuid(text)).map(|_| Id::Uuid)
        }
        (None, Some(urn)) => {
            let text = leaf(urn, faults)?;
            if strip_prefix_ignore_case(text, "urn:").is_none() {
                faults.at(urn.at, format!("{}: a URNIdentifikator starts with urn:", holder.name));
                return None;
            }
            Some(Id::Urn(urn.at, text))
        }
        (Some(_), Some(urn)) => {
            faults.at(
                urn.at,
                format!("{} holds both a UUIDIdentifikator and a URNIdentifikator", holder.name),
            );
            None
        }
        (None, None) => {
            if !holder.children.iter().any(|c| c.name.ends_with("Identifikator")) {
                faults.at(
                    holder.at,
                    format!(
                        "{} must hold a UUIDIdentifikator or a URNIdentifikator in the namespace {SAGDOK}",
                        holder.name
                    ),
                );
            }
            None
        }
    }
}

/// The children called `name` in namespace `ns`; a same-named child in another namespace is a fault.
pub(crate) fn all<'a>(parent: &'a Element, ns: &str, name: &str, faults: &mut Faults) -> Vec<&'a Element> {
    let mut found = Vec::new();
    for c in parent.children.iter().filter(|c| c.name == name) {
        if c.ns.as_deref() == Some(ns) {
            found.push(c);
        } else {
            faults.at(
                c.at,
                format!(
                    "{name} must be in the namespace {ns}; this one is {}",
                    c.expanded_name()
                ),
            );
        }
    }
    found
}

/// The child `name` in namespace `ns`, if there is one; a second one is a fault.
pub(crate) fn child<'a>(parent: &'a Element, ns: &str, name: &str, faults: &mut Faults) -> Option<&'a Element> {
    let found = all(parent, ns, name, faults);
    if let Some(second) = found.get(1) {
        faults.at(second.at, format!("{name} appears more than once in {}", parent.name));
    }
    found.first().copied()
}

/// The child `name` in namespace `ns`, which must be there.
pub(crate) fn required<'a>(parent: &'a Element, ns: &str, name: &str, faults: &mut Faults) -> Option<&'a Element> {
    let found = child(parent, ns, name, faults);
    if found.is_none() && !parent.children.iter().any(|c| c.name == name) {
        faults.at(parent.at, format!("{} has no {name}", parent.name));
    }
    found
}

/// The trimmed text of an element that must hold text only.
pub(crate) fn leaf<'a>(element: &'a Element, faults: &mut Faults) -> Option<&'a str> {
    if let Some(inner) = element.children.first() {
        faults.at(
            inner.at,
            format!("{} must hold text, not the element {}", element.name, inner.name),
        );
        return None;
    }
    let text = element.text.trim();
    if text.is_empty() {
        faults.at(element.at, format!("{} is empty", element.name));
        return None;
    }
    Some(text)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}
