//! The real binary, its real log output: no CPR number, name or address in any line, whatever
//! was submitted, accepted or refused. Nothing personal in the team emails it writes, and
//! nothing personal in clear in the database file.

use crate::binary::{serve, token};
use crate::helpers::{example_sender, examples_dir, intake_path};
use indgang::domain::Kind;
use serde_json::Value;

/// Every string in a message that is personal: CPR numbers (in both spellings), names, addresses, notes.
pub fn personal_strings(message: &Value, out: &mut Vec<String>) {
    if let Some(cpr) = message.pointer("/citizen/cpr").and_then(Value::as_str) {
        let digits: String = cpr.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 10 {
            out.push(format!("{}-{}", &digits[..6], &digits[6..]));
            out.push(digits);
        }
    }
    for pointer in [
        "/citizen/name",
        "/dwelling/address/street",
        "/notes",
        "/sender/contact/name",
        "/sender/contact/email",
        "/sender/contact/phone",
    ] {
        if let Some(text) = message.pointer(pointer).and_then(Value::as_str) {
            out.push(text.to_owned());
        }
    }
}

#[tokio::test]
async fn logs_emails_and_the_database_file_carry_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut tokens = std::collections::HashMap::new();
    for kind in Kind::ALL {
        tokens.insert(
            kind,
            token(
                data,
                &[
                    "--role",
                    "sender",
                    "--sender",
                    example_sender(kind),
                    "--kinds",
                    kind.as_str(),
                ],
            ),
        );
    }
    let caseworker = token(data, &["--role", "caseworker", "--municipality", "751"]);

    let served = serve(data, "debug");
    let address = served.address.clone();

    let client = crate::helpers::client();
    let mut personal = Vec::new();
    let mut case_refs = Vec::new();
    for kind in Kind::ALL {
        for verdict in ["valid", "invalid"] {
            for entry in std::fs::read_dir(examples_dir().join(kind.as_str()).join(verdict)).unwrap() {
                let message: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
                personal_strings(&message, &mut personal);
                for _ in 0..2 {
                    let response = client
                        .post(format!("{address}{}", intake_path(kind)))
                        .bearer_auth(&tokens[&kind])
                        .json(&message)
                        .send()
                        .await
                        .unwrap();
                    if response.status() == 202 {
                        let receipt: Value = response.json().await.unwrap();
                        case_refs.push(receipt["case_ref"].as_str().unwrap().to_owned());
                    }
                }
            }
        }
    }
    for case_ref in &case_refs {
        client
            .get(format!("{address}/v1/cases/{case_ref}"))
            .bearer_auth(&caseworker)
            .send()
            .await
            .unwrap();
    }
    assert!(!case_refs.is_empty() && personal.len() > 20);
    // The team emails (no SMTP configured: .eml files) are written by the delivery worker.
    let outbox = data.join("outbox");
    for _ in 0..500 {
        let written = std::fs::read_dir(&outbox).map_or(0, |d| {
            d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml"))
                .count()
        });
        if written * 2 >= case_refs.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut emails = String::new();
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        emails.push_str(&String::from_utf8_lossy(&raw));
        emails.push_str(mail.subject().unwrap_or_default());
        emails.push_str(&mail.body_text(0).unwrap_or_default());
    }
    assert!(emails.contains("K-2026-"), "the test read the emails");
    for secret in &personal {
        assert!(
            !emails.contains(secret.as_str()),
            "an email contains personal data: {secret:?}"
        );
    }

    let lines = served.lines.clone();
    let (status, stderr) = served.stop(libc::SIGTERM);
    assert!(status.success(), "SIGTERM stops the gateway cleanly");
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("message accepted")),
        "the test saw the request logs"
    );
    assert!(lines.iter().any(|l| l.contains("message rejected")));
    assert!(
        lines.iter().any(|l| l.contains("delivered")),
        "the test saw the delivery logs"
    );
    let log = format!("{}\n{stderr}", lines.join("\n"));
    for secret in &personal {
        assert!(
            !log.contains(secret.as_str()),
            "the log contains personal data: {secret:?}"
        );
    }
    for line in lines.iter().filter(|l| l.contains("\"route\"")) {
        assert!(
            line.contains("\"request_id\""),
            "a request's line without its request id: {line}"
        );
    }

    let stored = crate::backend::stored_bytes(data);
    assert!(stored.len() > 1000, "the database was read: {} bytes", stored.len());
    for secret in personal.iter().filter(|s| s.len() >= 10) {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "stored in clear: {secret:?}"
        );
    }
}
