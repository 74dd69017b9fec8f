//! Partner formats through the gateway: jobcenter events in the Beskedfordeler envelope and the
//! housing allocation office's CSV batches, read by the adapters under `adapters/`.

use crate::helpers::{problem, spawn_app_with};
use indgang::domain::Kind;
use serde_json::Value;
use std::path::PathBuf;

fn sample(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("adapters").join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

#[tokio::test]
async fn a_jobcenter_event_in_the_beskedfordeler_envelope_is_filed_like_json() {
    let app = spawn_app_with(&[]).await;
    let token = app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await;
    let aarhus = app.caseworker_token("751").await;
    let response = app
        .submit_raw(
            Kind::JobcenterMessage,
            &token,
            "application/xml",
            sample("jobcenter/samples/valid/appointment-default-namespace.xml"),
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(
        receipt["message_id"], "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "BeskedId is the message id"
    );
    let case: Value = app
        .get(&format!("/v1/cases/{}", receipt["case_ref"].as_str().unwrap()), &aarhus)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["messages"][0]["message"]["message_type"], "appointment");
    assert!(
        case["cpr"].as_str().unwrap().len() == 11,
        "the citizen from RelateretObjekt"
    );

    let again = app
        .submit_raw(
            Kind::JobcenterMessage,
            &token,
            "text/xml",
            sample("jobcenter/samples/valid/appointment-default-namespace.xml"),
        )
        .await;
    assert_eq!(again.status(), 200, "the same envelope again is the same message");
}

#[tokio::test]
async fn a_bad_envelope_is_refused_with_line_and_column_and_stores_nothing() {
    let app = spawn_app_with(&[]).await;
    let token = app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await;
    for name in [
        "doctype-external-entity",
        "billion-laughs",
        "unknown-beskedtype",
        "mismatched-end-tag",
    ] {
        let response = app
            .submit_raw(
                Kind::JobcenterMessage,
                &token,
                "application/xml",
                sample(&format!("jobcenter/samples/invalid/{name}.xml")),
            )
            .await;
        assert_eq!(response.status(), 422, "{name}");
        let body = problem(response).await;
        let first = &body["violations"][0];
        assert_eq!(first["rule"], "xml", "{name}: {body}");
        assert!(
            first["line"].as_u64().unwrap() >= 1 && first["column"].as_u64().unwrap() >= 1,
            "{name}: {body}"
        );
    }
    assert_eq!(app.stored_messages(), 0);

    let prison = app.prison_token().await;
    let response = app
        .submit_raw(Kind::ReleaseNotice, &prison, "text/csv", b"a;b\n1;2\n".to_vec())
        .await;
    assert_eq!(response.status(), 415);
}

async fn post_batch(
    app: &crate::helpers::TestApp,
    token: &str,
    body: Vec<u8>,
    content_type: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/housing-offers/batch", app.address))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_csv_batch_files_each_row_on_its_own_and_twice_files_nothing_twice() {
    let app = spawn_app_with(&[]).await;
    let office = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let file = sample("boligtildeling/samples/tilbud-crlf-bom.csv");

    let response = post_batch(&app, &office, file.clone(), "text/csv; charset=utf-8").await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(5), Some(7)),
        "{answer}"
    );
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    for row in rows {
        match row["status"].as_str().unwrap() {
            "accepted" => assert!(row["receipt"]["receipt_id"].is_string()),
            "rejected" => {
                let violations = row["problem"]["violations"].as_array().unwrap();
                assert!(!violations.is_empty());
                assert_eq!(violations[0]["line"], row["row"], "every reason names its row");
            }
            other => panic!("{other}"),
        }
    }
    assert!(
        rows.windows(2).all(|w| w[0]["row"].as_u64() < w[1]["row"].as_u64()),
        "in file order"
    );
    assert_eq!(app.stored_messages(), 5);

    let again: Value = post_batch(&app, &office, file, "text/csv").await.json().await.unwrap();
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(5))
    );
    assert_eq!(app.stored_messages(), 5, "the same file twice creates no duplicates");

    let faulty = post_batch(
        &app,
        &office,
        sample("boligtildeling/samples/file-faults/mangler-kolonne.csv"),
        "text/csv",
    )
    .await;
    assert_eq!(faulty.status(), 422);
    assert_eq!(
        post_batch(&app, &office, b"{}".to_vec(), "application/json")
            .await
            .status(),
        415
    );
    let prison = app.prison_token().await;
    assert_eq!(post_batch(&app, &prison, b"x".to_vec(), "text/csv").await.status(), 403);
}

#[test]
fn indgang_import_files_a_csv_batch_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("adapters/boligtildeling/samples/tilbud-lf-uden-bom.csv");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_indgang"))
            .args(["import"])
            .arg(&file)
            .env("INDGANG__DATA_DIR", dir.path())
            .envs(crate::backend::storage_env(std::path::Path::new(&dir.path())))
            .output()
            .unwrap()
    };
    let first = run();
    // (`--sender` defaults to boligtildeling.)
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(!first.status.success(), "a rejected row makes the exit code non-zero");
    assert!(
        stdout.contains("4 rows: 3 accepted, 0 already filed, 1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 6: "),
        "the rejected row is named by its line: {stdout}"
    );
    let second = run();
    let stdout = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(
        stdout.contains("4 rows: 0 accepted, 3 already filed, 1 rejected"),
        "{stdout}"
    );
}

fn samples(folder: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("adapters/kriminalforsorgen/samples")
        .join(folder);
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn kriminalforsorgen_xml_samples_get_the_gateways_verdict_the_xsd_gives() {
    let app = spawn_app_with(&[]).await;
    let mut tokens = std::collections::HashMap::new();
    let valid = samples("valid");
    assert!(valid.len() >= 10);
    for (name, bytes) in &valid {
        let canonical = indgang_kriminalforsorgen::to_canonical(bytes).unwrap();
        let sender = canonical["sender"]["id"].as_str().unwrap().to_owned();
        if !tokens.contains_key(&sender) {
            let token = app.sender_token(&sender, &[Kind::ReleaseNotice]).await;
            tokens.insert(sender.clone(), token);
        }
        let response = app
            .submit_raw(Kind::ReleaseNotice, &tokens[&sender], "application/xml", bytes.clone())
            .await;
        let status = response.status().as_u16();
        assert!(
            status == 202 || status == 200,
            "{name}: {status} {}",
            response.text().await.unwrap()
        );
    }
    let invalid = samples("invalid");
    assert!(invalid.len() >= 25);
    let token = app.prison_token().await;
    for (name, bytes) in &invalid {
        let response = app
            .submit_raw(Kind::ReleaseNotice, &token, "text/xml", bytes.clone())
            .await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{name}: {status}");
    }
    // Rules no XSD can say: valid XML, refused by the gateway's schema and domain rules.
    for (name, bytes) in samples("invalid-rules")
        .iter()
        .filter(|(n, _)| n.starts_with("domain-") || n.starts_with("schema-"))
    {
        let canonical = indgang_kriminalforsorgen::to_canonical(bytes).unwrap();
        let sender = canonical["sender"]["id"].as_str().unwrap().to_owned();
        let token = app.sender_token(&sender, &[Kind::ReleaseNotice]).await;
        let response = app
            .submit_raw(Kind::ReleaseNotice, &token, "application/xml", bytes.clone())
            .await;
        assert_eq!(response.status(), 422, "{name}");
    }
}

#[tokio::test]
async fn an_xml_notice_in_latin1_arrives_intact_and_gets_an_xml_receipt_when_asked() {
    let app = spawn_app_with(&[]).await;
    let (_, bytes) = samples("valid")
        .into_iter()
        .find(|(n, _)| n == "transfer-to-open-prison-latin1.xml")
        .unwrap();
    let canonical = indgang_kriminalforsorgen::to_canonical(&bytes).unwrap();
    let token = app
        .sender_token(canonical["sender"]["id"].as_str().unwrap(), &[Kind::ReleaseNotice])
        .await;
    let response = app
        .client
        .post(format!("{}/v1/release-notices", app.address))
        .bearer_auth(&token)
        .header("Content-Type", "application/xml")
        .header("Accept", "application/xml")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["content-type"], "application/xml; charset=utf-8");
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<receipt xmlns=\"urn:indgang:receipt:1\">"), "{xml}");
    let case_ref = xml
        .split("<case_ref>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let caseworker = app.caseworker_token(canonical["municipality"].as_str().unwrap()).await;
    let case: Value = app
        .get(&format!("/v1/cases/{case_ref}"), &caseworker)
        .await
        .json()
        .await
        .unwrap();
    let stored = &case["messages"][0]["message"];
    assert_eq!(stored["sender"]["name"], canonical["sender"]["name"]);
    let text = serde_json::to_string(stored).unwrap();
    assert!(
        text.contains('ø') || text.contains('å') || text.contains('æ'),
        "æ, ø, å arrive intact: {text}"
    );
}
