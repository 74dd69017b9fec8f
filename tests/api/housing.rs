//! The release-without-housing figure (Målsætning 4) follows the facts: a notice that names a
//! home, an accepted housing offer, a notice naming another municipality and a release put off
//! after its housing deadline passed, each as the municipality report and the case show it.

use crate::helpers::{TestApp, example, release_notice, spawn_app_with};
use indgang::domain::Kind;
use serde_json::{Value, json};

/// A notice of a release on Thursday 10 December 2026, 17 days after the tests' clock.
fn notice(id: &str, municipality: &str, housing: &str) -> Value {
    let mut n = release_notice(id, "150385-1234", municipality);
    n["release"]["expected_date"] = "2026-12-10".into();
    n["housing_at_release"] = housing.into();
    n.as_object_mut().unwrap().remove("release_meeting");
    n
}

fn update(id: &str, previous: &str, municipality: &str, housing: &str) -> Value {
    let mut n = notice(id, municipality, housing);
    n["notice_type"] = "update".into();
    n["previous_message_id"] = previous.into();
    n
}

/// The municipality report's lines, as an operator reads them.
async fn figure(app: &TestApp) -> Value {
    let operator = app.operator_token().await;
    let response = app.get("/v1/reports/municipalities", &operator).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["municipalities"].clone()
}

async fn deadlines(app: &TestApp, receipt: &Value, policy: &str) -> Vec<Value> {
    let token = app.caseworker_token(receipt["municipality"].as_str().unwrap()).await;
    let case: Value = app
        .get(&format!("/v1/cases/{}", receipt["case_ref"].as_str().unwrap()), &token)
        .await
        .json()
        .await
        .unwrap();
    case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["policy"] == policy)
        .cloned()
        .collect()
}

fn line(municipality: &str, name: &str, due: usize, released: usize) -> Value {
    json!({"municipality": municipality, "name": name,
           "due_within_30_days_without_housing": due, "released_without_housing": released})
}

#[tokio::test]
async fn a_notice_that_names_a_home_counts_no_citizen_until_a_later_one_says_none() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;

    let first = app
        .accept(Kind::ReleaseNotice, &prison, &notice("A", "751", "sl_107"))
        .await;

    assert_eq!(figure(&app).await, json!([]), "a home at release is a housing solution");
    let housing = deadlines(&app, &first, "housing").await;
    assert_eq!(housing.len(), 1);
    assert_eq!(housing[0]["state"], "met");
    assert_eq!(housing[0]["outcome"], "sl_107");
    assert_eq!(
        housing[0]["resolved_by"],
        format!("receipt:{}", first["receipt_id"].as_str().unwrap()),
        "the notice is the reason"
    );
    // No reminder of a deadline that is met.
    app.clock.set("2026-12-08T16:00:00Z".parse().unwrap());
    app.drain().await;
    assert_eq!(deadlines(&app, &first, "housing").await[0]["state"], "met");

    // The home falls through: the prison says "none" again.
    app.accept(Kind::ReleaseNotice, &prison, &update("B", "A", "751", "none"))
        .await;

    assert_eq!(figure(&app).await, json!([line("751", "Aarhus", 1, 0)]));
    let housing = deadlines(&app, &first, "housing").await;
    assert_eq!(housing.len(), 1);
    assert_eq!(housing[0]["state"], "open");
    assert!(housing[0].get("outcome").is_none());

    // A notice that says nothing of the housing leaves it as it is; one naming a home meets it.
    let mut silent = update("C", "B", "751", "none");
    silent.as_object_mut().unwrap().remove("housing_at_release");
    app.accept(Kind::ReleaseNotice, &prison, &silent).await;
    assert_eq!(deadlines(&app, &first, "housing").await[0]["state"], "open");
    app.accept(Kind::ReleaseNotice, &prison, &update("D", "C", "751", "public_housing"))
        .await;
    assert_eq!(figure(&app).await, json!([]));
    assert_eq!(deadlines(&app, &first, "housing").await[0]["outcome"], "public_housing");
}

#[tokio::test]
async fn what_a_caseworker_resolved_is_not_undone_by_a_notice() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let first = app
        .accept(Kind::ReleaseNotice, &prison, &notice("A", "751", "none"))
        .await;
    let housing = deadlines(&app, &first, "housing").await[0]["id"].as_i64().unwrap();
    let resolved = app
        .client
        .post(format!("{}/v1/deadlines/{housing}/resolve", app.address))
        .bearer_auth(&aarhus)
        .json(&json!({"outcome": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);

    app.accept(Kind::ReleaseNotice, &prison, &update("B", "A", "751", "unknown"))
        .await;

    assert_eq!(deadlines(&app, &first, "housing").await[0]["state"], "met");
    assert_eq!(figure(&app).await, json!([]));
}

#[tokio::test]
async fn an_accepted_housing_offer_is_a_housing_solution() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let allocation = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let copenhagen = app.caseworker_token("101").await;
    let released = app
        .accept(Kind::ReleaseNotice, &prison, &notice("A", "101", "none"))
        .await;
    let mut offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    offer["citizen"]["cpr"] = "150385-1234".into();
    offer["answer_deadline"] = "2026-12-01".into();
    let offered = app.accept(Kind::HousingOffer, &allocation, &offer).await;
    assert_eq!(offered["case_ref"], released["case_ref"], "the citizen's case");
    assert_eq!(figure(&app).await, json!([line("101", "København", 1, 0)]));

    // Declined: still no housing. Reopened and accepted: housing.
    let answer = deadlines(&app, &offered, "offer_answer").await[0]["id"]
        .as_i64()
        .unwrap();
    let act = |path: String, body: Option<Value>| {
        let request = app.client.post(path).bearer_auth(&copenhagen);
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
        .send()
    };
    let base = format!("{}/v1/deadlines/{answer}", app.address);
    let declined = act(format!("{base}/resolve"), Some(json!({"outcome": "declined"})))
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    assert_eq!(figure(&app).await, json!([line("101", "København", 1, 0)]));
    assert_eq!(act(format!("{base}/reopen"), None).await.unwrap().status(), 200);
    let accepted = act(format!("{base}/resolve"), Some(json!({"outcome": "accepted"})))
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);

    assert_eq!(figure(&app).await, json!([]));
    let housing = deadlines(&app, &released, "housing").await;
    assert_eq!(housing[0]["state"], "met");
    assert_eq!(housing[0]["outcome"], "housing_offer");
    assert!(housing[0]["resolved_by"].as_str().unwrap().starts_with("tok_"));
}

#[tokio::test]
async fn a_notice_naming_another_municipality_moves_the_release_there() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app
        .accept(Kind::ReleaseNotice, &prison, &notice("A", "751", "none"))
        .await;
    assert_eq!(figure(&app).await, json!([line("751", "Aarhus", 1, 0)]));

    // The citizen will live in Copenhagen after the release.
    let copenhagen = app
        .accept(Kind::ReleaseNotice, &prison, &update("B", "A", "101", "none"))
        .await;

    assert_eq!(
        figure(&app).await,
        json!([line("101", "København", 1, 0)]),
        "the citizen counts once, where they will live"
    );
    for policy in ["housing", "benefit", "action_plan"] {
        let closed = deadlines(&app, &aarhus, policy).await;
        assert_eq!(closed.len(), 1, "{policy}");
        assert_eq!(closed[0]["state"], "cancelled", "{policy}");
        assert_eq!(closed[0]["outcome"], "transferred", "{policy}");
        let opened = deadlines(&app, &copenhagen, policy).await;
        assert_eq!(opened[0]["state"], "open", "{policy}");
    }
    assert_eq!(
        deadlines(&app, &aarhus, "acknowledge").await[0]["state"],
        "open",
        "Aarhus still acknowledges the notice it got"
    );

    // Aarhus's team is told, without personal data, and is not reminded or escalated to.
    app.drain().await;
    let mut told = Vec::new();
    for entry in std::fs::read_dir(app.data_dir.join("outbox")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        if mail.subject().unwrap().starts_with("Frist lukket") {
            for personal in ["150385", "1503851234", "Jonas", "Mikkelsen"] {
                assert!(!text.contains(personal), "{text}");
            }
            told.push(mail.subject().unwrap().to_owned());
        }
    }
    told.sort();
    let case_ref = aarhus["case_ref"].as_str().unwrap();
    assert_eq!(
        told,
        [
            format!("Frist lukket: Boligløsning på plads – sag {case_ref} – overgået til en anden kommune"),
            format!("Frist lukket: Ydelsessag startet – sag {case_ref} – overgået til en anden kommune"),
            format!("Frist lukket: § 141-handleplan tilbudt – sag {case_ref} – overgået til en anden kommune"),
        ]
    );
    app.clock.set("2026-12-11T08:00:00Z".parse().unwrap());
    app.drain().await;
    assert_eq!(
        figure(&app).await,
        json!([line("101", "København", 0, 1)]),
        "the release passed without housing in Copenhagen only"
    );
}

#[tokio::test]
async fn a_release_put_off_after_the_housing_deadline_passed_counts_again() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let first = app
        .accept(Kind::ReleaseNotice, &prison, &notice("A", "751", "none"))
        .await;
    app.clock.set("2026-12-11T08:00:00Z".parse().unwrap());
    app.drain().await;
    assert_eq!(figure(&app).await, json!([line("751", "Aarhus", 0, 1)]));

    // The release is put off to 30 December.
    let mut later = update("B", "A", "751", "none");
    later["release"]["expected_date"] = "2026-12-30".into();
    app.accept(Kind::ReleaseNotice, &prison, &later).await;

    assert_eq!(
        figure(&app).await,
        json!([line("751", "Aarhus", 1, 1)]),
        "due within 30 days without housing again; the missed deadline stays missed"
    );
    let housing = deadlines(&app, &first, "housing").await;
    let states: Vec<(&str, &str)> = housing
        .iter()
        .map(|d| (d["state"].as_str().unwrap(), d["due_at"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("missed", "2026-12-10T15:00:00Z"), ("open", "2026-12-30T15:00:00Z")]
    );
    // The same date again changes nothing.
    let mut again = update("C", "B", "751", "none");
    again["release"]["expected_date"] = "2026-12-30".into();
    app.accept(Kind::ReleaseNotice, &prison, &again).await;
    assert_eq!(deadlines(&app, &first, "housing").await.len(), 2);
}

#[tokio::test]
async fn a_housing_deadline_the_notice_met_is_no_task_in_the_team_email_or_calendar() {
    use mail_parser::MimeHeaders;
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    app.accept(Kind::ReleaseNotice, &prison, &notice("A", "751", "owner"))
        .await;

    app.drain().await;

    let mut notifications = Vec::new();
    for entry in std::fs::read_dir(app.data_dir.join("outbox")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let text = mail.body_text(0).unwrap().into_owned();
        let calendar: Vec<String> = mail
            .attachments()
            .map(|a| String::from_utf8(a.contents().to_vec()).unwrap())
            .filter(|ics| ics.contains("SUMMARY:Frist: Boligløsning på plads"))
            .collect();
        assert!(mail.attachments().all(|a| a.content_type().unwrap().ctype() == "text"));
        notifications.push((text, calendar));
    }
    assert_eq!(notifications.len(), 1);
    let (text, calendar) = &notifications[0];
    assert!(
        text.contains("- Boligløsning på plads: 10.12.2026 kl. 16.00 (opfyldt)"),
        "{text}"
    );
    assert_eq!(calendar.len(), 1);
    assert!(
        calendar[0].contains("METHOD:CANCEL"),
        "no calendar task for a deadline already met: {}",
        calendar[0]
    );
}
