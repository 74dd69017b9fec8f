//! The samples against the adapter and the gateway's JSON Schema: valid ones convert, validate and
//! round-trip; invalid ones are refused with a position; the ones that break rules beyond the XSD
//! are refused where the README says.

use crate::common::{JSON_EXAMPLES, files, name, read, read_json, schema_faults, validator};
use indgang_kriminalforsorgen::{from_canonical, to_canonical};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn canonical(path: &std::path::Path) -> Value {
    to_canonical(&read(path)).unwrap_or_else(|faults| panic!("{}: {faults:#?}", name(path)))
}

#[test]
fn valid_samples_convert_validate_and_round_trip() {
    let validator = validator();
    let samples = files("samples/valid", "xml");
    assert!(
        samples.len() >= 10,
        "at least 10 valid samples, found {}",
        samples.len()
    );
    for path in samples {
        let message = canonical(&path);
        let faults = schema_faults(&validator, &message);
        assert!(
            faults.is_empty(),
            "{}: the JSON Schema refuses its canonical JSON: {faults:#?}",
            name(&path)
        );
        let xml = from_canonical(&message).unwrap_or_else(|e| panic!("{}: {e}", name(&path)));
        let again = to_canonical(xml.as_bytes()).unwrap_or_else(|f| panic!("{}: {f:#?}\n{xml}", name(&path)));
        assert_eq!(again, message, "{}: the round trip changed the message", name(&path));
    }
}

#[test]
fn json_examples_convert_to_xml_and_back() {
    let examples = files(JSON_EXAMPLES, "json");
    assert!(!examples.is_empty());
    for path in examples {
        let message: Value = serde_json::from_slice(&read(&path)).expect("JSON");
        let xml = from_canonical(&message).unwrap_or_else(|e| panic!("{}: {e}", name(&path)));
        let back = to_canonical(xml.as_bytes()).unwrap_or_else(|f| panic!("{}: {f:#?}\n{xml}", name(&path)));
        assert_eq!(back, message, "{}", name(&path));
    }
}

#[test]
fn samples_made_from_the_json_examples_give_them_back() {
    for (sample, example) in [
        ("initial-parole", "initial-parole"),
        ("cancellation", "cancellation"),
        ("admission-sentence-latin1", "admission-sentence"),
        ("transfer-to-open-prison-latin1", "transfer-to-open-prison"),
        ("initial-consent-refused-crlf-no-declaration", "initial-consent-refused"),
        ("update-release-on-friday-prefixed", "update-release-on-friday"),
    ] {
        let message = canonical(std::path::Path::new(&format!("samples/valid/{sample}.xml")));
        assert_eq!(
            message,
            read_json(&format!("{JSON_EXAMPLES}/{example}.json")),
            "{sample}"
        );
    }
}

#[test]
fn danish_letters_arrive_intact_in_both_encodings() {
    let text = |sample: &str, pointer: &str| {
        let message = canonical(std::path::Path::new(&format!("samples/valid/{sample}.xml")));
        message
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let latin1 = std::fs::read("samples/valid/transfer-to-open-prison-latin1.xml").expect("sample");
    assert!(latin1.starts_with(b"<?xml version='1.0' encoding='iso-8859-1'?>"));
    assert!(
        latin1.windows(2).any(|w| w == b"\xf8b"),
        "the sample holds ø as the single byte 0xF8"
    );
    assert_eq!(
        text("transfer-to-open-prison-latin1", "/transfer/to_institution/name"),
        "Anstalten ved Søbysøgård"
    );
    assert_eq!(
        text("transfer-to-open-prison-latin1", "/sender/contact/name"),
        "Søren Dalgaard"
    );
    assert!(text("admission-sentence-latin1", "/notes").contains("Lejemålet i Albertslund er opsagt; borgeren ønsker"));
    assert_eq!(text("initial-parole", "/sender/contact/name"), "Mette Kjærgaard");
    assert_eq!(text("admission-remand-skaev-bolig", "/citizen/name"), "Åse Ørum Æbelø");
    assert_eq!(text("arrest-released-by-police-bom", "/citizen/name"), "Torben Ågård");
}

/// Each invalid sample and a piece of the fault it must draw, so that each is refused for the
/// reason it was made for (and not for an accidental second fault).
const INVALID: &[(&str, &str)] = &[
    (
        "attribute-not-allowed",
        "the attribute kilde is not allowed on <Samtykke>",
    ),
    ("attribute-without-value", "an attribute name must be followed by ="),
    ("bad-enum-danish-need", "<Behov> must be one of housing,"),
    ("bad-enum-notice-type", "<Meddelelsestype> must be one of admission,"),
    ("boolean-ja", "<Tilsyn> must be true or false"),
    ("cdata-end-marker-in-text", "the sequence ]]> is not allowed in text"),
    ("char-control-character", "character U+0001 is not allowed"),
    (
        "char-reference-not-a-character",
        "the character reference does not name a character XML allows",
    ),
    ("comment-with-double-hyphen", "`--` was found in a comment"),
    ("cpr-nine-digits", "<CprNummer> must be a CPR number"),
    ("cpr-with-space", "<CprNummer> must be a CPR number"),
    ("date-30-february", "<ForventetDato> must be a calendar date"),
    ("date-danish-format", "<Indsaettelsesdato> must be a calendar date"),
    ("date-with-time-zone", "<Dato> must be a calendar date"),
    (
        "declaration-not-at-start",
        "an XML declaration is allowed only at the very start",
    ),
    ("doctype-billion-laughs", "entity declarations are refused"),
    ("doctype-external-entity-xxe", "entity declarations are refused"),
    ("doctype-internal-entity", "entity declarations are refused"),
    ("duplicate-attribute", "an attribute is repeated"),
    ("duplicate-need", "<Behovsliste> repeats a value"),
    ("duplicate-singular-element", "<Samtykke> appears more than once"),
    (
        "element-in-other-namespace",
        "unknown element <Samtykke> in the namespace urn:indgang:kriminalforsorgen:loesladelse:0",
    ),
    (
        "element-inside-text-element",
        "<Bemaerkninger> holds text only; the element <b> is not allowed",
    ),
    ("elements-out-of-order", "<Afsender> is out of order"),
    ("email-without-at", "<Email> must be an e-mail address"),
    ("empty-citizen-name", "<Navn> must be 1 to 200 characters"),
    ("encoding-declared-utf16-content-utf8", "names the encoding \"UTF-16\""),
    (
        "encoding-latin1-byte-declared-utf8",
        "byte 0xE6 is not valid UTF-8, the encoding its XML declaration names",
    ),
    (
        "encoding-latin1-byte-no-declaration",
        "byte 0xF8 is not valid UTF-8, the encoding of a document without",
    ),
    ("encoding-overlong-utf8", "byte 0xC0 is not valid UTF-8"),
    ("encoding-unsupported-name", "names the encoding \"x-klingon\""),
    ("encoding-utf8-sequence-cut-off", "byte 0xC3 is not valid UTF-8"),
    ("enum-upper-case", "<Art> must be one of parole,"),
    ("enum-with-surrounding-space", "<Samtykke> must be one of given,"),
    ("kommunekode-four-digits", "<Kommunekode> must be three digits"),
    ("message-id-with-space", "<MeddelelsesId> must be 1 to 128 characters"),
    ("mismatched-end-tag", "expected `</Navn>`, but `</Name>` was found"),
    ("missing-required-consent", "lacks the required element <Samtykke>"),
    (
        "missing-required-sender-name",
        "<Afsender> lacks the required element <Navn>",
    ),
    (
        "need-outside-list",
        "unknown element <Behov> in <Loesladelsesmeddelelse>",
    ),
    ("no-namespace", "found <Loesladelsesmeddelelse> without a namespace"),
    ("no-root-element", "the document has no root element"),
    (
        "notes-over-4000-characters",
        "<Bemaerkninger> must be at most 4000 characters",
    ),
    ("phone-with-letters", "<Telefon> must be 4 to 20 digits"),
    ("place-over-200-characters", "<Sted> must be 1 to 200 characters"),
    (
        "previous-message-id-empty",
        "<TidligereMeddelelsesId> must be 1 to 128 characters",
    ),
    ("sender-id-starting-with-hyphen", "<Id> must be 1 to 64 characters"),
    ("sent-at-hour-24", "<Afsendt> must be an instant"),
    ("sent-at-offset-beyond-14-hours", "<Afsendt> must be an instant"),
    ("sent-at-without-offset", "<Afsendt> must be an instant"),
    ("sentence-length-decimal", "<StraflaengdeDage> must be a whole number"),
    ("sentence-length-zero", "<StraflaengdeDage> must be a whole number"),
    ("text-after-root", "text is not allowed outside the root element"),
    ("text-in-element-only-content", "<Borger> holds elements only"),
    ("too-deep-nesting", "elements are nested more than 32 deep"),
    ("too-many-needs", "<Behovsliste> holds at most 9 <Behov> elements"),
    ("two-root-elements", "only one root element is allowed"),
    ("unbound-prefix", "the prefix kif of <kif:Samtykke> is not declared"),
    ("unclosed-root", "the element <Loesladelsesmeddelelse> is not closed"),
    ("undeclared-entity", "the entity &nbsp; is not defined"),
    ("unescaped-ampersand", "reference not closed"),
    (
        "unknown-element",
        "unknown element <Prioritet> in <Loesladelsesmeddelelse>",
    ),
    (
        "wrong-namespace",
        "found <Loesladelsesmeddelelse> in the namespace urn:indgang:kriminalforsorgen:loesladelse:2",
    ),
    ("wrong-root-element", "found <Henvendelse>"),
    ("xsi-nil", "the attribute xsi:nil is not allowed on <Bemaerkninger>"),
];

#[test]
fn invalid_samples_are_refused_with_a_position_and_the_right_reason() {
    let samples = files("samples/invalid", "xml");
    assert!(
        samples.len() >= 25,
        "at least 25 invalid samples, found {}",
        samples.len()
    );
    let names: BTreeSet<String> = samples
        .iter()
        .map(|p| name(p).trim_end_matches(".xml").to_owned())
        .collect();
    let listed: BTreeSet<String> = INVALID.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        names, listed,
        "every invalid sample is listed in INVALID, and every listed one exists"
    );
    for (sample, expected) in INVALID {
        let bytes = read(std::path::Path::new(&format!("samples/invalid/{sample}.xml")));
        let faults = match to_canonical(&bytes) {
            Ok(message) => panic!("{sample} was accepted: {message:#}"),
            Err(faults) => faults,
        };
        assert!(!faults.is_empty(), "{sample}");
        for fault in &faults {
            assert!(fault.line > 0 && fault.column > 0, "{sample}: {fault:?}");
        }
        assert!(
            faults.iter().any(|f| f.message.contains(expected)),
            "{sample}: no fault says {expected:?}: {faults:#?}"
        );
    }
}

/// `samples/invalid-rules/` holds documents the XSD accepts but the gateway refuses; the prefix of
/// each name says who refuses it: `adapter-` the adapter itself, `schema-` the JSON Schema (rules
/// XSD 1.0 cannot express), `domain-` the gateway's domain rules (which pass the JSON Schema).
#[test]
fn invalid_rules_samples_are_refused_beyond_the_xsd() {
    let validator = validator();
    let samples = files("samples/invalid-rules", "xml");
    assert!(!samples.is_empty());
    for path in samples {
        let name = name(&path);
        let result = to_canonical(&read(&path));
        if name.starts_with("adapter-") {
            let faults = result.expect_err(&name);
            assert!(faults.iter().all(|f| f.line > 0 && f.column > 0), "{name}: {faults:?}");
            continue;
        }
        let message = result.unwrap_or_else(|faults| panic!("{name}: {faults:#?}"));
        let faults = schema_faults(&validator, &message);
        if name.starts_with("schema-") {
            assert!(!faults.is_empty(), "{name}: the JSON Schema accepts it");
        } else if name.starts_with("domain-") {
            assert!(
                faults.is_empty(),
                "{name}: the JSON Schema refuses it already: {faults:#?}"
            );
        } else {
            panic!("{name}: name it adapter-, schema- or domain-");
        }
    }
}

/// Every member of the JSON Schema (walked from the schema file itself), and every code of every
/// enumeration, appears in the canonical JSON of at least one valid sample.
#[test]
fn valid_samples_cover_every_member_and_every_code() {
    let schema = read_json(crate::common::SCHEMA);
    let mut expected = BTreeMap::new();
    members(&schema, &schema, "", &mut expected);
    assert!(expected.len() > 30, "the walk found the members: {expected:?}");

    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files("samples/valid", "xml") {
        collect(&canonical(&path), "", &mut seen);
    }
    for (member, codes) in &expected {
        let Some(values) = seen.get(member) else {
            panic!("no valid sample has {member}");
        };
        for code in codes {
            assert!(values.contains(code), "no valid sample has {member} = {code}");
        }
    }
    let types = &seen["/notice_type"];
    assert_eq!(types.len(), 5, "every notice type: {types:?}");
}

fn resolve<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => &root["$defs"][name],
        None => node,
    }
}

fn members(root: &Value, node: &Value, path: &str, out: &mut BTreeMap<String, Vec<String>>) {
    let node = resolve(root, node);
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, property) in properties {
        let member = format!("{path}/{key}");
        let property = resolve(root, property);
        let codes = property
            .get("enum")
            .or_else(|| property.get("items").and_then(|items| items.get("enum")))
            .and_then(Value::as_array)
            .map(|codes| codes.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        out.insert(member.clone(), codes);
        members(root, property, &member, out);
    }
}

fn collect(value: &Value, path: &str, seen: &mut BTreeMap<String, BTreeSet<String>>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                let member = format!("{path}/{key}");
                seen.entry(member.clone()).or_default();
                collect(value, &member, seen);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, path, seen);
            }
        }
        Value::String(s) => {
            seen.entry(path.to_owned()).or_default().insert(s.clone());
        }
        _ => {}
    }
}
