//! The audit log: every look at personal data and every change leaves exactly one entry, no
//! entry holds a CPR number, only auditors read it, and `indgang audit verify` names any entry
//! changed or removed in the database.

use crate::binary::cli;
use crate::helpers::*;
use indgang::domain::Kind;
use serde_json::{Value, json};
use std::process::Command;

const CPR: &str = "150385-1234";

async fn audit(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get(&format!("/v1/audit{query}"), token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The entries as (action, outcome, case_ref, target), oldest first, without the auditor's own
/// reads.
fn lines(page: &Value) -> Vec<(String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "audit.read")
        .map(|e| {
            (
                text(&e["action"]),
                text(&e["outcome"]),
                text(&e["case_ref"]),
                text(&e["target"]),
            )
        })
        .collect()
}

fn row(action: &str, outcome: &str, case_ref: &str, target: &str) -> (String, String, String, String) {
    (action.into(), outcome.into(), case_ref.into(), target.into())
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_look_at_personal_data_and_every_change_leaves_exactly_one_entry() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let operator = app.operator_token().await;
    let auditor = app.auditor_token().await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", CPR, "751"))
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    let receipt_id = receipt["receipt_id"].as_str().unwrap().to_owned();
    assert!(
        lines(&audit(&app, &auditor, "").await).is_empty(),
        "filing a message is not a person's action"
    );

    assert_eq!(app.get(&format!("/v1/cases/{case_ref}"), &aarhus).await.status(), 200);
    assert_eq!(app.get("/v1/cases/K-2026-999999", &aarhus).await.status(), 404);
    let found: Value = post(&app, &aarhus, "/v1/case-search", json!({"cpr": CPR}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["cases"][0]["case_ref"], case_ref.as_str());
    let missing = post(&app, &aarhus, "/v1/case-search", json!({"cpr": "010190-2345"})).await;
    assert_eq!(missing.status(), 200);
    let bad = post(&app, &aarhus, "/v1/case-search", json!({"cpr": "311399-1234"})).await;
    assert_eq!(bad.status(), 400);
    assert!(
        !bad.text().await.unwrap().contains("311399"),
        "a refused search does not repeat the number"
    );
    let ack = post(
        &app,
        &aarhus,
        &format!("/v1/receipts/{receipt_id}/acknowledge"),
        json!({}),
    )
    .await;
    assert_eq!(ack.status(), 200);
    let case: Value = app
        .get(&format!("/v1/cases/{case_ref}"), &aarhus)
        .await
        .json()
        .await
        .unwrap();
    let housing = deadline_id(&case, "housing");
    let resolve = format!("/v1/deadlines/{housing}/resolve");
    let reopen = format!("/v1/deadlines/{housing}/reopen");
    assert_eq!(
        post(&app, &aarhus, &resolve, json!({"outcome": "public_housing"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&app, &aarhus, &resolve, json!({"outcome": "public_housing"}))
            .await
            .status(),
        409
    );
    assert_eq!(post(&app, &aarhus, &reopen, json!({})).await.status(), 200);
    assert_eq!(
        post(&app, &aarhus, "/v1/deadlines/99999/reopen", json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(
        post(&app, &operator, "/v1/dead-letters/dlv_nothing/replay", json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(
        post(&app, &operator, "/v1/dead-letters/replay", json!({"all": true}))
            .await
            .status(),
        202
    );

    let page = audit(&app, &auditor, "").await;
    let h = housing.to_string();
    assert_eq!(
        lines(&page),
        [
            row("case.read", "ok", &case_ref, ""),
            row("case.read", "not-found", "K-2026-999999", ""),
            row("case.search", "ok", &case_ref, ""),
            row("case.search", "not-found", "", ""),
            row("case.search", "refused", "", ""),
            row("deadline.acknowledge", "ok", &case_ref, ""),
            row("case.read", "ok", &case_ref, ""),
            row("deadline.resolve", "ok", &case_ref, &h),
            row("deadline.resolve", "conflict", &case_ref, &h),
            row("deadline.reopen", "ok", &case_ref, &h),
            row("deadline.reopen", "not-found", "", "99999"),
            row("delivery.replay", "not-found", "", "dlv_nothing"),
            row("delivery.replay", "ok", "", "dead letters (0)"),
        ]
    );
    let entries = page["entries"].as_array().unwrap();
    let first = &entries[0];
    assert_eq!(first["actor_kind"], "token");
    assert!(first["actor"].as_str().unwrap().starts_with("tok_"));
    assert_eq!(first["address"], "127.0.0.1");
    assert!(first["at"].as_str().unwrap().ends_with('Z'));
    let acknowledged = entries.iter().find(|e| e["action"] == "deadline.acknowledge").unwrap();
    assert_eq!(acknowledged["receipt_id"], receipt_id.as_str());

    // No CPR number anywhere in the log, in any form, nor in the database's audit rows.
    let text = page.to_string();
    assert!(!text.contains("150385") && !text.contains("1503851234"));
    let dump = crate::backend::first_row(
        &app.data_dir,
        "SELECT group_concat(actor || action || coalesce(case_ref, '') || coalesce(target, '') || coalesce(receipt_id, ''), '|') FROM audit_log",
        "SELECT string_agg(actor || action || coalesce(case_ref, '') || coalesce(target, '') || coalesce(receipt_id, ''), '|') FROM audit_log",
        &[],
    )
    .remove(0);
    assert!(!dump.contains("150385") && !dump.contains("010190"));
}

#[tokio::test]
async fn only_auditors_read_the_log_filtered_and_paged_and_their_reading_is_recorded() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let operator = app.operator_token().await;
    let auditor = app.auditor_token().await;
    for token in [&prison, &aarhus, &operator] {
        let refused = app.get("/v1/audit", token).await;
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(app.get("/v1/audit", "igt_nonsense").await.status(), 401);
    let receipt = app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let case_ref = receipt["case_ref"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/v1/cases/{case_ref}"), &aarhus).await.status(), 200);
    }
    assert_eq!(
        app.get(
            &format!("/v1/receipts/{}", receipt["receipt_id"].as_str().unwrap()),
            &auditor
        )
        .await
        .status(),
        403,
        "an auditor reads the audit log, nothing else"
    );

    let by_case = audit(&app, &auditor, &format!("?case={case_ref}&action=case.read&limit=2")).await;
    assert_eq!(by_case["entries"].as_array().unwrap().len(), 2);
    let after = by_case["next_after"]
        .as_i64()
        .expect("a full page says where the next starts");
    let rest = audit(
        &app,
        &auditor,
        &format!("?case={case_ref}&action=case.read&after={after}"),
    )
    .await;
    assert_eq!(rest["entries"].as_array().unwrap().len(), 1);
    assert!(rest.get("next_after").is_none());

    let reads = audit(&app, &auditor, "?action=audit.read").await;
    assert_eq!(
        reads["entries"].as_array().unwrap().len(),
        2,
        "the auditor's two reads before this one (this one is recorded with its answer)"
    );
    let actor = by_case["entries"][0]["actor"].as_str().unwrap();
    let mine = audit(&app, &auditor, &format!("?actor={actor}")).await;
    assert!(mine["entries"].as_array().unwrap().iter().all(|e| e["actor"] == actor));
    let bad = app.get("/v1/audit?limit=0", &auditor).await;
    assert_eq!(bad.status(), 400);
    let unknown = app.get("/v1/audit?who=me", &auditor).await;
    assert_eq!(unknown.status(), 400, "an unknown filter is refused, not ignored");
}

fn verify(data_dir: &std::path::Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(["audit", "verify"])
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .output()
        .unwrap();
    (output.status.code().unwrap(), String::from_utf8(output.stdout).unwrap())
}

#[tokio::test]
async fn audit_verify_names_an_entry_changed_or_removed_in_the_database() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let case_ref = receipt["case_ref"].as_str().unwrap();
    for _ in 0..6 {
        assert_eq!(app.get(&format!("/v1/cases/{case_ref}"), &aarhus).await.status(), 200);
    }
    let dir = app.stop().await.unwrap();
    let data = dir.path();

    // Tokens made and dead letters replayed on the command line are on record too.
    let made = crate::binary::token(data, &["--role", "auditor"]);
    assert!(made.starts_with("igt_"));
    let listed = cli(data, &["token", "list"]);
    let id = listed
        .lines()
        .find(|l| l.contains("auditor"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    cli(data, &["token", "revoke", &id]);
    cli(data, &["replay", "--all"]);
    let exported = cli(data, &["audit", "export", "--since", "2000-01-01"]);
    let entries: Vec<Value> = exported.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions[6..],
        ["token.create", "token.revoke", "delivery.replay", "audit.export"]
    );
    assert_eq!(entries[6]["actor_kind"], "cli");

    let (code, out) = verify(data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 10 entries checked"), "{out}");

    crate::backend::execute(data, "UPDATE audit_log SET outcome = 'not-found' WHERE id = 2");
    let (code, out) = verify(data);
    assert_eq!(code, 1);
    assert!(out.contains("entry 2 was changed after it was written"), "{out}");
    assert!(out.contains("NOT intact: 1 fault in 10 entries"), "{out}");

    crate::backend::execute(data, "UPDATE audit_log SET outcome = 'ok' WHERE id = 2");
    assert_eq!(verify(data).0, 0, "put back as it was, the chain holds again");
    crate::backend::execute(data, "DELETE FROM audit_log WHERE id = 4");
    let (code, out) = verify(data);
    assert_eq!(code, 1);
    assert!(out.contains("entry 4 is missing"), "{out}");

    crate::backend::execute(data, "DELETE FROM audit_log WHERE id >= 8");
    let (_, out) = verify(data);
    assert!(
        out.contains("entries 8 to 10 are missing (the last entries written)"),
        "{out}"
    );
}

#[tokio::test]
async fn entries_past_the_retention_are_pruned_and_the_rest_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), &[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        app.get(&format!("/v1/cases/{case_ref}"), &aarhus).await;
    }
    app.clock.advance(std::time::Duration::from_secs(40 * 86_400));
    for _ in 0..2 {
        app.get(&format!("/v1/cases/{case_ref}"), &aarhus).await;
    }
    let pruned = app
        .auditor
        .prune(jiff::SignedDuration::from_hours(24 * 30))
        .await
        .unwrap();
    assert_eq!(pruned, 3);
    app.stop().await;
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("intact: 2 entries checked (the chain starts after entry 3, pruned)"),
        "{out}"
    );
}
