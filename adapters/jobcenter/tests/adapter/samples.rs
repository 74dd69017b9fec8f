//! The samples in `samples/`: each valid envelope gives canonical JSON that validates against the
//! published schema; each invalid one is refused for the reason it was written with, at its place.

use indgang_adapter_common::test_support;
use indgang_jobcenter::{BESKEDTYPER, is_envelope, to_canonical};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn samples(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn read(kind: &str, name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(kind)
            .join(name),
    )
    .unwrap()
}

fn validator() -> jsonschema::Validator {
    test_support::validator(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/jobcenter-message.v1.json"))
}

#[test]
fn every_valid_envelope_validates_against_the_schema() {
    let validator = validator();
    let expected = [
        ("appointment-cancelled-danish-time.xml", "appointment_cancelled"),
        ("appointment-default-namespace.xml", "appointment"),
        ("benefit-application-received.xml", "benefit_application_received"),
        ("benefit-decision-in-modtagbeskedinput.xml", "benefit_decision"),
        ("case-closed-minimal-bom-crlf.xml", "case_closed"),
        ("other-with-cdata-and-references.xml", "other"),
    ];
    let files = samples("valid");
    assert_eq!(files.len(), expected.len());
    let mut ids = BTreeSet::new();
    for (file, (name, message_type)) in files.iter().zip(expected) {
        assert_eq!(file.file_name().unwrap(), name);
        let bytes = std::fs::read(file).unwrap();
        assert!(is_envelope(&bytes), "{name}");
        let message = to_canonical(&bytes).unwrap_or_else(|f| panic!("{name}: {f:?}"));
        let errors: Vec<String> = validator.iter_errors(&message).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(message["message_type"], message_type, "{name}");
        assert_eq!(message["citizen"]["cpr"], "1503851234", "{name}");
        ids.insert(message["message_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), expected.len(), "every sample has its own BeskedId");
    // Every kind of event in the table has a sample.
    let kinds: BTreeSet<&str> = expected.iter().map(|(_, t)| *t).collect();
    assert_eq!(kinds, BESKEDTYPER.iter().map(|(_, t, _)| *t).collect());
}

#[test]
fn an_envelope_maps_field_by_field() {
    let message = to_canonical(&read("valid", "benefit-application-received.xml")).unwrap();
    assert_eq!(
        message,
        json!({
            "message_id": "6f1c2e5a-0b7d-4c1e-9a3f-5d2b8e7c4a10",
            "sent_at": "2026-11-16T10:15:00+01:00",
            "message_type": "benefit_application_received",
            "sender": {
                "id": "jobcenter-aarhus",
                "name": "Jobcenter Aarhus",
                "contact": { "name": "Anders Kragh", "email": "anders.kragh@aarhus.dk", "phone": "+45 89 40 20 00" }
            },
            "municipality": "751",
            "citizen": { "cpr": "1503851234", "name": "Jonas Mikkelsen" },
            "benefit": { "kind": "social_assistance", "decision": "pending" },
            "due_date": "2026-12-01",
            "reference": "JCA-SAG-2026-44812",
            "notes": "Ansøgning om kontanthjælp modtaget før løsladelsen. Borgeren skal aflevere kontoudtog senest fristen."
        })
    );
}

#[test]
fn the_variants_read_the_same_way() {
    // Upper-case UUID, default namespaces, Z offset.
    let appointment = to_canonical(&read("valid", "appointment-default-namespace.xml")).unwrap();
    assert_eq!(appointment["message_id"], "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
    assert_eq!(appointment["sent_at"], "2026-11-18T08:00:00+00:00");
    assert_eq!(appointment["appointment"]["at"], "2027-02-10T10:00:00+01:00");
    assert!(appointment["sender"]["contact"].get("email").is_none());
    // Times without an offset are Danish time; the CPR URN's scheme is read in any case.
    let cancelled = to_canonical(&read("valid", "appointment-cancelled-danish-time.xml")).unwrap();
    assert_eq!(cancelled["sent_at"], "2026-11-19T11:20:00+01:00");
    assert_eq!(cancelled["appointment"]["at"], "2027-02-10T10:00:00+01:00");
    assert!(cancelled["citizen"].get("name").is_none());
    // Inside ModtagBeskedInput.
    let decision = to_canonical(&read("valid", "benefit-decision-in-modtagbeskedinput.xml")).unwrap();
    assert_eq!(
        decision["benefit"],
        json!({"kind": "social_assistance", "decision": "granted", "effective_from": "2027-02-09"})
    );
    // Byte order mark and CRLF; nothing optional.
    let closed = to_canonical(&read("valid", "case-closed-minimal-bom-crlf.xml")).unwrap();
    assert_eq!(closed.as_object().unwrap().len(), 6);
    assert!(closed["sender"].get("contact").is_none());
    // CDATA, predefined entities and character references; a second, non-CPR related object.
    let other = to_canonical(&read("valid", "other-with-cdata-and-references.xml")).unwrap();
    assert_eq!(other["citizen"]["name"], "Søren Ærbø Ibæk");
    assert_eq!(
        other["notes"],
        "Borgeren har bedt om en ny sagsbehandler; ønsket er sendt videre til teamleder & \"Modtagelsen\" <Aarhus>. Svar <inden> fristen."
    );
}

#[test]
fn every_invalid_envelope_is_refused_where_it_is_wrong() {
    // (file, line, column, words the fault must contain)
    let expected: &[(&str, u32, u32, &str)] = &[
        (
            "appointment-without-moede.xml",
            48,
            5,
            "an appointment message needs Moede",
        ),
        (
            "benefit-kind-in-danish.xml",
            63,
            9,
            "Art: `kontanthjaelp` is not one of social_assistance",
        ),
        (
            "besked-id-not-uuid.xml",
            6,
            5,
            "BeskedId: `JCA-2026-78231` is not a UUID",
        ),
        ("billion-laughs.xml", 2, 1, "a DOCTYPE is not allowed"),
        (
            "cpr-in-payload.xml",
            61,
            9,
            "{urn:indgang:jobcenter:1}Cpr is not part of Borger",
        ),
        (
            "cpr-urn-with-hyphen.xml",
            22,
            11,
            "a CPR URN is urn:oio:cpr-nr: followed by ten digits",
        ),
        ("decision-without-afgoerelse.xml", 62, 7, "Ydelse has no Afgoerelse"),
        (
            "declared-iso-8859-1.xml",
            1,
            21,
            "must be UTF-8; it declares the encoding ISO-8859-1",
        ),
        ("doctype-external-entity.xml", 2, 1, "a DOCTYPE is not allowed"),
        ("frist-30-february.xml", 66, 7, "Frist: `2027-02-30` is not a date"),
        ("kommune-with-letter.xml", 49, 7, "Kommune: `75l` is not a kommunekode"),
        ("latin1-bytes-undeclared.xml", 68, 28, "not UTF-8"),
        ("mismatched-end-tag.xml", 67, 40, "not well-formed"),
        ("missing-besked-id.xml", 2, 1, "Haendelsesbesked has no BeskedId"),
        ("missing-payload-members.xml", 48, 5, "Jobcenterbesked has no Kommune"),
        ("nested-too-deep.xml", 63, 317, "nested more than 32 deep"),
        ("not-an-envelope.xml", 2, 1, "not a Beskedfordeler envelope"),
        (
            "payload-as-json-text.xml",
            47,
            3,
            "Beskeddata must carry the element Jobcenterbesked",
        ),
        (
            "payload-wrong-namespace.xml",
            48,
            5,
            "not {urn:indgang:jobcenter:2}Jobcenterbesked",
        ),
        (
            "relateret-objekt-not-cpr.xml",
            10,
            5,
            "no RelateretObjekt names the citizen",
        ),
        (
            "sent-at-danish-format.xml",
            42,
            9,
            "Dannelsestidspunkt: `16-11-2026 10:15` is not a date and time",
        ),
        (
            "tilladt-modtager-not-cvr.xml",
            18,
            9,
            "TilladtModtager must be urn:oio:cvr-nr:",
        ),
        (
            "two-citizens.xml",
            28,
            7,
            "more than one RelateretObjekt names a citizen",
        ),
        (
            "undeclared-entity.xml",
            68,
            50,
            "the entity reference &nbsp; is not allowed",
        ),
        (
            "unknown-beskedtype.xml",
            12,
            9,
            "Beskedtype 99999999-aaaa-4bbb-8ccc-dddddddddddd is not a kind of event",
        ),
        ("unsupported-version.xml", 8, 3, "BeskedVersion `2.0` is not supported"),
        (
            "wrong-namespace.xml",
            2,
            1,
            "this one is {urn:oio:besked:kuvert:2.0}Haendelsesbesked",
        ),
    ];
    let files = samples("invalid");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        expected.iter().map(|e| e.0).collect::<Vec<_>>(),
        "one expectation per sample"
    );
    for (file, &(name, line, column, words)) in files.iter().zip(expected) {
        let faults = to_canonical(&std::fs::read(file).unwrap()).expect_err(name);
        let first = &faults[0];
        assert!(
            first.line == line && first.column == column && first.message.contains(words),
            "{name}: expected {line}:{column} {words:?}, got {faults:?}"
        );
        for fault in &faults {
            assert!(
                !fault.message.contains("150385"),
                "{name}: a fault repeats the CPR number"
            );
            assert!(!fault.message.contains("Mikkelsen"), "{name}: a fault repeats the name");
        }
    }
}

#[test]
fn every_fault_is_reported_in_document_order() {
    let faults = to_canonical(&read("invalid", "missing-payload-members.xml")).unwrap_err();
    let found: Vec<(u32, &str)> = faults.iter().map(|f| (f.line, f.message.as_str())).collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!((found[0].0, found[1].0, found[2].0), (48, 49, 50));
    assert!(found[1].1.contains("Afsender has no Navn"));
    assert!(found[2].1.contains("`Jobcenter Aarhus` is not an institution code"));
}

#[test]
fn json_is_never_taken_for_an_envelope() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/examples/jobcenter-message/valid");
    for file in std::fs::read_dir(dir).unwrap() {
        assert!(!is_envelope(&std::fs::read(file.unwrap().path()).unwrap()));
    }
    for file in samples("invalid") {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // Only the file that is not an envelope at all fails the sniff.
        assert_eq!(is_envelope(&bytes), name != "not-an-envelope.xml", "{name}");
    }
}

#[test]
fn size_is_bounded() {
    let mut big = read("valid", "benefit-application-received.xml");
    big.resize(indgang_jobcenter::MAX_BYTES + 1, b' ');
    let faults = to_canonical(&big).unwrap_err();
    assert!(faults[0].message.contains("at most 1048576 bytes"));
    assert!(to_canonical(b"\xFF\xFE<\0").unwrap_err()[0].message.contains("UTF-16"));
}

#[test]
fn the_readme_shows_what_the_adapter_does() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = |after: &str, fence: &str| {
        let body = &readme[readme.find(after).unwrap()..];
        let body = &body[body.find(fence).unwrap() + fence.len()..];
        body[..body.find("```").unwrap()].to_owned()
    };
    let sample = read("valid", "benefit-application-received.xml");
    assert_eq!(block("## A complete envelope", "```xml\n").as_bytes(), sample);
    let shown: Value = serde_json::from_str(&block("gives", "```json\n")).unwrap();
    assert_eq!(to_canonical(&sample).unwrap(), shown);

    let all: Vec<String> = samples("invalid")
        .iter()
        .flat_map(|f| to_canonical(&std::fs::read(f).unwrap()).unwrap_err())
        .map(|f| f.to_string())
        .collect();
    for line in block("For example:", "```text\n").lines() {
        assert!(
            all.iter().any(|f| f == line),
            "the README shows a fault the adapter does not give: {line}"
        );
    }
}
