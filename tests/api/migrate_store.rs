//! `indgang migrate-store`: an installation on SQLite, filled through the API, moves to
//! PostgreSQL with the real binary, and a gateway on PostgreSQL with the same key serves it as it
//! was. It needs both stores, so it runs on the PostgreSQL run (`INDGANG_TEST_STORAGE=postgres`)
//! and says so on the SQLite one.

use crate::helpers::{TestApp, deadline_id, example, release_notice, spawn_app_in};
use crate::receiver::{Receiver, Reply};
use indgang::domain::Kind;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// The binary with this data folder and no storage URL of the test run's own.
fn indgang(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(args)
        .env("INDGANG__DATA_DIR", data_dir)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The per-table lines of migrate-store's output: table → (sqlite, postgres).
fn counts(stdout: &str) -> BTreeMap<String, (String, String)> {
    stdout
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (table, sqlite, postgres) = (words.next()?, words.next()?, words.next()?);
            sqlite.parse::<i64>().ok()?;
            Some((table.to_owned(), (sqlite.to_owned(), postgres.to_owned())))
        })
        .collect()
}

async fn json_of(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_sqlite_installation_moves_to_postgres_and_reads_back_as_it_was() {
    if crate::backend::postgres_only("it needs both stores") {
        return;
    }
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("indgang.db").display());
    let webhook = receiver.settings();
    let mut on_sqlite: Vec<(&str, &str)> = webhook.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let on_postgres = on_sqlite.clone();
    on_sqlite.push(("INDGANG__STORAGE__URL", &sqlite));

    // Arrange: a gateway on SQLite, filled through the API.
    let app = spawn_app_in(dir.path(), &on_sqlite).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let operator = app.operator_token().await;
    let housing = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let jobcenter = app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await;
    // The release notice's webhook is refused for good: a dead letter.
    receiver.script([Reply::status(400)]);
    let notice = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-M1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    // More cases than a clash on the case number would be retried (a sequence left at 1 must show).
    for day in 1..=7 {
        let cpr = format!("0{day}0385-1234");
        app.accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice(&format!("KIF-C{day}"), &cpr, "751"),
        )
        .await;
    }
    app.accept(
        Kind::HousingOffer,
        &housing,
        &example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed"),
    )
    .await;
    app.accept(
        Kind::JobcenterMessage,
        &jobcenter,
        &example(Kind::JobcenterMessage, "valid/appointment"),
    )
    .await;
    app.drain().await;
    let case_ref = notice["case_ref"].as_str().unwrap().to_owned();
    let case_path = format!("/v1/cases/{case_ref}");
    // Reading the case (CPR number and all) is an audit entry.
    let case: Value = json_of(&app, &case_path, &aarhus).await;
    let housing_deadline = deadline_id(&case, "housing");
    let resolved = app
        .client
        .post(format!("{}/v1/deadlines/{housing_deadline}/resolve", app.address))
        .bearer_auth(&aarhus)
        .json(&json!({"outcome": "public_housing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    // Housing needs: flags (SQLite's 0/1, PostgreSQL's BOOLEAN) and a sealed note.
    let needs_path = format!("{case_path}/housing-needs");
    let recorded = app
        .client
        .put(format!("{}{needs_path}", app.address))
        .bearer_auth(&aarhus)
        .json(&json!({"dog": true, "step_free": true, "max_rent_dkk": 5200, "note": "Hunden hedder Bella"}))
        .send()
        .await
        .unwrap();
    assert_eq!(recorded.status(), 200, "{}", recorded.text().await.unwrap());
    let needs = json_of(&app, &needs_path, &aarhus).await;
    assert_eq!((&needs["dog"], &needs["cat"]), (&json!(true), &json!(false)), "{needs}");
    let fingerprint = "ab".repeat(32);
    let registered = indgang(
        dir.path(),
        &[
            "sender",
            "add",
            "kif-horsens",
            "--kinds",
            "release-notice",
            "--fingerprint",
            &fingerprint,
        ],
        &[("INDGANG__STORAGE__URL", &sqlite)],
    );
    assert!(registered.status.success(), "{}", text(&registered.stderr));
    let dead: Value = json_of(&app, "/v1/dead-letters", &operator).await;
    assert_eq!(dead["dead_letters"].as_array().unwrap().len(), 1, "{dead}");
    let receipt = app.receipt(&notice, &prison).await;
    let case: Value = json_of(&app, &case_path, &aarhus).await;

    let postgres = crate::backend::storage_env(dir.path()).remove(0).1;
    let migrate = |data: &Path| {
        indgang(
            data,
            &[
                "migrate-store",
                "--from",
                &format!("sqlite:{}", dir.path().display()),
                "--to",
                &postgres,
            ],
            &[],
        )
    };
    // A gateway still running on the SQLite folder: refused, nothing copied.
    let running = migrate(dir.path());
    assert_eq!(running.status.code(), Some(1), "{}", text(&running.stdout));
    assert!(
        text(&running.stderr).contains("is in use by another process"),
        "{}",
        text(&running.stderr)
    );
    drop(app.stop().await);

    // Act: the real binary copies the stopped installation.
    let moved = migrate(dir.path());
    let stdout = text(&moved.stdout);
    assert!(moved.status.success(), "{stdout}{}", text(&moved.stderr));
    eprintln!("indgang migrate-store printed:\n{stdout}");
    let counts = counts(&stdout);
    for table in [
        "meta",
        "cases",
        "messages",
        "tokens",
        "deadlines",
        "deadline_events",
        "deliveries",
        "delivery_attempts",
        "audit_log",
        "audit_chain",
        "sender_certificates",
        "housing_needs",
    ] {
        let (from, to) = &counts[table];
        assert_eq!(from, to, "{table}: {stdout}");
        assert_ne!(from, "0", "{table} had rows to copy: {stdout}");
    }
    assert_eq!(counts["messages"].1, "10", "{stdout}");
    assert_eq!(counts["tokens"].1, "5", "{stdout}");
    assert!(stdout.ends_with(", the counts match\n"), "{stdout}");
    let last_number: u64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("case numbers go on after "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .parse()
        .unwrap();
    assert_eq!(counts["cases"].1, last_number.to_string(), "{stdout}");
    // Again into the same database: refused, nothing written twice.
    let again = migrate(dir.path());
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stdout));
    assert!(
        text(&again.stderr).contains("already holds data"),
        "{}",
        text(&again.stderr)
    );

    // Assert: a gateway on PostgreSQL with the same key file serves the same data.
    let app = spawn_app_in(dir.path(), &on_postgres).await;
    assert_eq!(
        json_of(&app, &case_path, &aarhus).await,
        case,
        "the case with its CPR number, messages, deliveries and deadlines, read with the copied token"
    );
    assert_eq!(case["cpr"], "150385-1234");
    assert_eq!(
        json_of(&app, &needs_path, &aarhus).await,
        needs,
        "the housing needs, note unsealed"
    );
    assert_eq!(app.receipt(&notice, &prison).await, receipt);
    let deadline = case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == housing_deadline)
        .unwrap();
    assert_eq!(deadline["state"], "met", "the resolved deadline: {deadline}");
    let dead_after: Value = json_of(&app, "/v1/dead-letters", &operator).await;
    assert_eq!(dead_after["dead_letters"], dead["dead_letters"]);
    let next = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-M2", "010203-1231", "751"),
        )
        .await;
    let next_number: u64 = next["case_ref"]
        .as_str()
        .unwrap()
        .rsplit('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(next_number, last_number + 1, "the next case number: {next}");
    drop(app.stop().await);
    let storage = crate::backend::storage_env(dir.path());
    let env: Vec<(&str, &str)> = storage.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let verify = indgang(dir.path(), &["audit", "verify"], &env);
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert!(
        text(&verify.stdout).starts_with("the audit log is intact"),
        "{}",
        text(&verify.stdout)
    );
    crate::backend::drop_database_of(dir.path());
}
