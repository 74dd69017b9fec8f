//! Deadlines end to end through HTTP: created by messages, moved and cancelled by later ones,
//! reminders and escalations through the outbox (team emails as .eml files), exactly once and
//! across restarts, and the caseworker's actions. The clock is the test's.

use crate::helpers::{TestApp, example, release_notice, spawn_app_in, spawn_app_with};
use indgang::domain::Kind;
use jiff::Timestamp;
use serde_json::{Value, json};

async fn case(app: &TestApp, token: &str, case_ref: &str) -> Value {
    let response = app.get(&format!("/v1/cases/{case_ref}"), token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn deadline<'c>(case: &'c Value, policy: &str) -> &'c Value {
    case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|d| d["policy"] == policy)
        .unwrap_or_else(|| panic!("no {policy} deadline in {}", case["deadlines"]))
}

/// Every email written so far: (recipient, subject).
fn emails(app: &TestApp) -> Vec<(String, String)> {
    let Ok(folder) = std::fs::read_dir(app.data_dir.join("outbox")) else {
        return Vec::new();
    };
    let mut all: Vec<(String, String)> = folder
        .map(|entry| {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let to = mail.to().unwrap().first().unwrap().address().unwrap().to_owned();
            (to, mail.subject().unwrap().to_owned())
        })
        .collect();
    all.sort();
    all
}

fn about<'e>(emails: &'e [(String, String)], words: &str) -> Vec<&'e (String, String)> {
    emails.iter().filter(|(_, subject)| subject.contains(words)).collect()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[tokio::test]
async fn a_release_notice_creates_the_deadlines_of_the_policy() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case = case(&app, &aarhus, receipt["case_ref"].as_str().unwrap()).await;

    // Monday 23 November 12:00 UTC: acknowledge by Tuesday 16:00 Copenhagen time.
    assert_eq!(deadline(&case, "acknowledge")["due_at"], "2026-11-24T15:00:00Z");
    assert_eq!(deadline(&case, "acknowledge")["team"], "intake");
    // Release on Tuesday 9 February 2027: housing and the action plan (needs it) by then, the
    // benefit case ten working days before.
    assert_eq!(deadline(&case, "housing")["due_at"], "2027-02-09T15:00:00Z");
    assert_eq!(deadline(&case, "action_plan")["due_at"], "2027-02-09T15:00:00Z");
    assert_eq!(deadline(&case, "benefit")["due_at"], "2027-01-26T15:00:00Z");
    assert_eq!(deadline(&case, "housing")["title"], "Boligløsning på plads");
    assert_eq!(deadline(&case, "housing")["state"], "open");
    assert_eq!(deadline(&case, "housing")["history"][0]["event"], "created");
    assert!(
        deadline(&case, "housing")["outcomes"]
            .as_array()
            .unwrap()
            .contains(&json!("public_housing"))
    );
    assert_eq!(case["deadlines"].as_array().unwrap().len(), 4);

    // Without action_plan among the needs, no action-plan deadline.
    let mut other = release_notice("B", "010190-2345", "751");
    other["needs"] = json!(["housing"]);
    let receipt = app.accept(Kind::ReleaseNotice, &prison, &other).await;
    let case = crate::deadlines::case(&app, &aarhus, receipt["case_ref"].as_str().unwrap()).await;
    let policies: Vec<&str> = case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["policy"].as_str().unwrap())
        .collect();
    assert!(!policies.contains(&"action_plan"), "{policies:?}");
}

#[tokio::test]
async fn an_unacknowledged_message_escalates_to_the_lead_once() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap();
    app.drain().await;
    assert!(about(&emails(&app), "Frist overskredet").is_empty());

    app.clock.set(at("2026-11-24T15:00:01Z"));
    app.drain().await;
    let sent = emails(&app);
    let escalations = about(&sent, "Frist overskredet: Kvittering for modtagelse");
    assert_eq!(escalations.len(), 1, "{sent:?}");
    assert_eq!(
        escalations[0].0, "indgang-leder@localhost",
        "the lead gets the escalation"
    );
    assert!(escalations[0].1.contains(case_ref));
    let case = case(&app, &aarhus, case_ref).await;
    assert_eq!(deadline(&case, "acknowledge")["state"], "missed");

    app.advance_and_drain(3600).await;
    assert_eq!(
        about(&emails(&app), "Frist overskredet: Kvittering").len(),
        1,
        "exactly once"
    );
}

#[tokio::test]
async fn acknowledging_a_message_meets_its_deadline_and_nothing_escalates() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let copenhagen = app.caseworker_token("101").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let id = receipt["receipt_id"].as_str().unwrap();
    let path = format!("{}/v1/receipts/{id}/acknowledge", app.address);

    let foreign = app.client.post(&path).bearer_auth(&copenhagen).send().await.unwrap();
    assert_eq!(foreign.status(), 404, "another municipality's message");
    let response = app.client.post(&path).bearer_auth(&aarhus).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let met: Value = response.json().await.unwrap();
    assert_eq!(met["deadlines"][0]["state"], "met");
    assert_eq!(met["deadlines"][0]["outcome"], "acknowledged");
    assert!(met["deadlines"][0]["resolved_by"].as_str().unwrap().starts_with("tok_"));

    app.clock.set(at("2026-11-25T08:00:00Z"));
    app.drain().await;
    assert!(about(&emails(&app), "Frist overskredet: Kvittering").is_empty());
}

#[tokio::test]
async fn reminders_go_out_once_and_after_downtime_only_the_latest_then_the_breach() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), &[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    let ack = format!(
        "{}/v1/receipts/{}/acknowledge",
        app.address,
        receipt["receipt_id"].as_str().unwrap()
    );
    app.client.post(&ack).bearer_auth(&aarhus).send().await.unwrap();

    // The first housing reminder, 30 working days before the release.
    let first = case(&app, &aarhus, &case_ref).await;
    let first = at(deadline(&first, "housing")["next_alert_at"].as_str().unwrap());
    app.clock.set(first + jiff::SignedDuration::from_secs(1));
    app.drain().await;
    assert_eq!(about(&emails(&app), "Påmindelse: Boligløsning på plads").len(), 1);
    app.drain().await;
    assert_eq!(
        about(&emails(&app), "Påmindelse: Boligløsning på plads").len(),
        1,
        "once"
    );
    let subject = &about(&emails(&app), "Påmindelse: Boligløsning")[0].1.clone();
    assert_eq!(
        subject,
        &format!("Påmindelse: Boligløsning på plads – sag {case_ref} – frist 09.02.2027")
    );
    app.stop().await;

    // Down until Friday 5 February 2027, 12:00 UTC: the 14- and 7-day reminders fell due
    // meanwhile, the 2-day one (16:00 that day) not yet. One reminder, the latest.
    let again = spawn_app_in(dir.path(), &[]).await;
    again.clock.set(at("2027-02-05T12:00:00Z"));
    again.drain().await;
    assert_eq!(about(&emails(&again), "Påmindelse: Boligløsning på plads").len(), 2);
    let case = case(&again, &aarhus, &case_ref).await;
    let history = deadline(&case, "housing")["history"].as_array().unwrap().clone();
    let reminded: Vec<&Value> = history.iter().filter(|e| e["event"] == "reminded").collect();
    assert_eq!(reminded.len(), 2);
    assert_eq!(
        reminded[1]["details"]["skipped"], 1,
        "the 14-day reminder was skipped, not sent late"
    );

    // Down again past the release: the breach escalation only, no stale 2-day reminder.
    again.stop().await;
    let last = spawn_app_in(dir.path(), &[]).await;
    last.clock.set(at("2027-02-10T08:00:00Z"));
    last.drain().await;
    let sent = emails(&last);
    assert_eq!(about(&sent, "Påmindelse: Boligløsning på plads").len(), 2, "{sent:?}");
    let breach = about(&sent, "Frist overskredet: Boligløsning på plads");
    assert_eq!(breach.len(), 1);
    assert_eq!(breach[0].0, "indgang-leder@localhost");
    let case = crate::deadlines::case(&last, &aarhus, &case_ref).await;
    assert_eq!(deadline(&case, "housing")["state"], "missed");
    for entry in std::fs::read_dir(last.data_dir.join("outbox")).unwrap() {
        let raw = String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()).into_owned();
        for personal in ["150385", "1503851234", "Jonas", "Mikkelsen", "Aarhus Vest"] {
            assert!(!raw.contains(personal), "a reminder or escalation carries {personal:?}");
        }
    }
    last.drain().await;
    assert_eq!(emails(&last).len(), sent.len(), "nothing more once everything is sent");
}

#[tokio::test]
async fn an_update_moves_the_deadlines_and_a_cancellation_cancels_them() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap();

    let mut update = release_notice("B", "150385-1234", "751");
    update["notice_type"] = "update".into();
    update["previous_message_id"] = "A".into();
    update["release"]["expected_date"] = "2027-03-02".into();
    app.accept(Kind::ReleaseNotice, &prison, &update).await;
    let moved = case(&app, &aarhus, case_ref).await;
    let housing = deadline(&moved, "housing");
    assert_eq!(housing["due_at"], "2027-03-02T15:00:00Z");
    let events: Vec<&str> = housing["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["created", "moved"]);
    assert_eq!(housing["history"][1]["details"]["from"], "2027-02-09T15:00:00Z");
    assert_eq!(
        moved["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["policy"] == "housing")
            .count(),
        1,
        "moved, not duplicated"
    );

    let mut cancellation = release_notice("C", "150385-1234", "751");
    cancellation["notice_type"] = "cancellation".into();
    cancellation["previous_message_id"] = "A".into();
    cancellation.as_object_mut().unwrap().remove("release");
    cancellation.as_object_mut().unwrap().remove("release_meeting");
    let response = app.submit(Kind::ReleaseNotice, &prison, &cancellation).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let cancelled = case(&app, &aarhus, case_ref).await;
    for policy in ["housing", "benefit", "action_plan"] {
        assert_eq!(deadline(&cancelled, policy)["state"], "cancelled", "{policy}");
        assert!(deadline(&cancelled, policy).get("next_alert_at").is_none());
    }
    let acknowledgements = cancelled["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["policy"] == "acknowledge")
        .count();
    assert_eq!(acknowledgements, 3, "every message still has to be acknowledged");

    app.clock.set(at("2027-03-05T08:00:00Z"));
    app.drain().await;
    assert!(
        about(&emails(&app), "Boligløsning").is_empty(),
        "a cancelled deadline alerts nobody"
    );
}

#[tokio::test]
async fn caseworkers_resolve_and_reopen_deadlines_and_list_them() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let copenhagen = app.caseworker_token("101").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case = case(&app, &aarhus, receipt["case_ref"].as_str().unwrap()).await;
    let housing = deadline(&case, "housing")["id"].as_i64().unwrap();
    let resolve = format!("{}/v1/deadlines/{housing}/resolve", app.address);

    let post = |token: &str, url: &str, body: Value| app.client.post(url).bearer_auth(token).json(&body).send();
    assert_eq!(
        post(&copenhagen, &resolve, json!({"outcome": "public_housing"}))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        post(&prison, &resolve, json!({"outcome": "public_housing"}))
            .await
            .unwrap()
            .status(),
        403
    );
    let wrong = post(&aarhus, &resolve, json!({"outcome": "case_started"}))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400, "an outcome of another deadline");
    let done = post(&aarhus, &resolve, json!({"outcome": "public_housing"}))
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["state"], "met");
    assert_eq!(done["outcome"], "public_housing");
    assert_eq!(
        done["history"].as_array().unwrap().last().unwrap()["details"]["on_time"],
        true
    );
    assert_eq!(
        post(&aarhus, &resolve, json!({"outcome": "owner"}))
            .await
            .unwrap()
            .status(),
        409
    );

    let open: Value = app
        .get("/v1/deadlines?state=open&due_before=2027-01-31", &aarhus)
        .await
        .json()
        .await
        .unwrap();
    let policies: Vec<&str> = open["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        policies,
        ["acknowledge", "benefit"],
        "soonest first; housing is met, the rest due later"
    );
    let met: Value = app
        .get("/v1/deadlines?state=met&team=intake", &aarhus)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(met["deadlines"].as_array().unwrap().len(), 1);
    let theirs: Value = app.get("/v1/deadlines", &copenhagen).await.json().await.unwrap();
    assert!(
        theirs["deadlines"].as_array().unwrap().is_empty(),
        "own municipality only"
    );
    assert_eq!(app.get("/v1/deadlines?state=late", &aarhus).await.status(), 400);

    let reopen = format!("{}/v1/deadlines/{housing}/reopen", app.address);
    let reopened: Value = post(&aarhus, &reopen, json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(reopened["state"], "open");
    assert!(reopened.get("outcome").is_none());
    let events: Vec<&str> = reopened["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["created", "met", "reopened"]);
    assert_eq!(post(&aarhus, &reopen, json!({})).await.unwrap().status(), 409);
}

#[tokio::test]
async fn a_housing_offer_has_an_answer_deadline_that_updates_move_and_withdrawals_cancel() {
    let app = spawn_app_with(&[]).await;
    let office = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let copenhagen = app.caseworker_token("101").await;
    let mut offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    offer["answer_deadline"] = "2026-12-04".into();
    let receipt = app.accept(Kind::HousingOffer, &office, &offer).await;
    let case_ref = receipt["case_ref"].as_str().unwrap();
    let first = case(&app, &copenhagen, case_ref).await;
    assert_eq!(deadline(&first, "offer_answer")["due_at"], "2026-12-04T15:00:00Z");
    assert_eq!(
        deadline(&first, "offer_answer")["scope"],
        format!("offer:{}", offer["offer_id"].as_str().unwrap())
    );

    let mut update = example(Kind::HousingOffer, "valid/update-extended-deadline");
    update["answer_deadline"] = "2026-12-11".into();
    app.accept(Kind::HousingOffer, &office, &update).await;
    let moved = case(&app, &copenhagen, case_ref).await;
    assert_eq!(deadline(&moved, "offer_answer")["due_at"], "2026-12-11T15:00:00Z");

    let mut withdrawal = update.clone();
    withdrawal["message_id"] = "WITHDRAW-1".into();
    withdrawal["offer_type"] = "withdrawal".into();
    withdrawal["withdrawal_reason"] = "Boligen er udlejet til anden side.".into();
    let response = app.submit(Kind::HousingOffer, &office, &withdrawal).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let gone = case(&app, &copenhagen, case_ref).await;
    assert_eq!(deadline(&gone, "offer_answer")["state"], "cancelled");
}

#[tokio::test]
async fn jobcenter_appointments_and_due_dates_have_deadlines_and_a_cancelled_appointment_has_none() {
    let app = spawn_app_with(&[]).await;
    let jobcenter = app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await;
    let aarhus = app.caseworker_token("751").await;
    let appointment = example(Kind::JobcenterMessage, "valid/appointment");
    let receipt = app.accept(Kind::JobcenterMessage, &jobcenter, &appointment).await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    let first = case(&app, &aarhus, &case_ref).await;
    // The meeting itself, to the minute; the reminder two working days before, at 16:00.
    assert_eq!(deadline(&first, "appointment")["due_at"], "2027-02-10T09:00:00Z");
    assert_eq!(deadline(&first, "appointment")["next_alert_at"], "2027-02-08T15:00:00Z");

    let application = example(Kind::JobcenterMessage, "valid/benefit-application-received");
    app.accept(Kind::JobcenterMessage, &jobcenter, &application).await;
    let second = case(&app, &aarhus, &case_ref).await;
    assert_eq!(deadline(&second, "jobcenter_due")["due_at"], "2026-11-30T15:00:00Z");

    let mut cancelled = example(Kind::JobcenterMessage, "valid/appointment-cancelled");
    cancelled["citizen"]["cpr"] = "150385-1234".into();
    let response = app.submit(Kind::JobcenterMessage, &jobcenter, &cancelled).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let third = case(&app, &aarhus, &case_ref).await;
    assert_eq!(deadline(&third, "appointment")["state"], "cancelled");
    assert_eq!(deadline(&third, "jobcenter_due")["state"], "open");
}

#[tokio::test]
async fn a_transfer_keeps_the_deadlines_and_records_the_new_institution() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let odense = app.caseworker_token("461").await;
    let transfer = example(Kind::ReleaseNotice, "valid/transfer-to-open-prison");
    let mut initial = transfer.clone();
    initial["message_id"] = "FIRST".into();
    initial["notice_type"] = "initial".into();
    initial.as_object_mut().unwrap().remove("transfer");
    initial.as_object_mut().unwrap().remove("previous_message_id");
    let receipt = app.accept(Kind::ReleaseNotice, &prison, &initial).await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    let before = case(&app, &odense, &case_ref).await;

    app.accept(Kind::ReleaseNotice, &prison, &transfer).await;
    let after = case(&app, &odense, &case_ref).await;
    let housing = deadline(&after, "housing");
    assert_eq!(housing["state"], "open");
    assert_eq!(
        housing["due_at"],
        deadline(&before, "housing")["due_at"],
        "the deadlines stay"
    );
    let last = housing["history"].as_array().unwrap().last().unwrap();
    assert_eq!(last["event"], "transferred");
    assert_eq!(last["details"]["to_institution"], "kif-soebysoegaard");
}

#[tokio::test]
async fn a_met_deadline_stays_met_a_late_reopen_is_missed_and_receipts_hide_alerts() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    let first = case(&app, &aarhus, &case_ref).await;
    let housing = deadline(&first, "housing")["id"].as_i64().unwrap();
    let resolved = app
        .client
        .post(format!("{}/v1/deadlines/{housing}/resolve", app.address))
        .bearer_auth(&aarhus)
        .json(&json!({"outcome": "sl_107"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);

    // An update with the same release date does not bring the housing deadline back.
    let mut update = release_notice("B", "150385-1234", "751");
    update["notice_type"] = "update".into();
    update["previous_message_id"] = "A".into();
    app.accept(Kind::ReleaseNotice, &prison, &update).await;
    let after = case(&app, &aarhus, &case_ref).await;
    let housing_deadlines: Vec<&Value> = after["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["policy"] == "housing")
        .collect();
    assert_eq!(housing_deadlines.len(), 1);
    assert_eq!(housing_deadlines[0]["state"], "met");

    // The acknowledgement escalates; the sender's receipt does not show that.
    app.clock.set(at("2026-11-25T08:00:00Z"));
    app.drain().await;
    let seen = app.receipt(&receipt, &prison).await;
    let destinations: Vec<&str> = seen["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["destination"].as_str().unwrap())
        .collect();
    assert_eq!(
        destinations,
        ["mail:intake"],
        "no lead:intake escalation on the sender's receipt"
    );

    // Reopened after its due time, the acknowledgement is missed again at once, with no second escalation.
    let missed = case(&app, &aarhus, &case_ref).await;
    let acknowledge = deadline(&missed, "acknowledge")["id"].as_i64().unwrap();
    let escalations = about(&emails(&app), "Frist overskredet: Kvittering").len();
    let resolve = app
        .client
        .post(format!("{}/v1/deadlines/{acknowledge}/resolve", app.address))
        .bearer_auth(&aarhus)
        .json(&json!({"outcome": "acknowledged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolve.status(), 200);
    let reopened: Value = app
        .client
        .post(format!("{}/v1/deadlines/{acknowledge}/reopen", app.address))
        .bearer_auth(&aarhus)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reopened["state"], "missed");
    app.advance_and_drain(60).await;
    assert_eq!(about(&emails(&app), "Frist overskredet: Kvittering").len(), escalations);
    let again = app
        .client
        .post(format!("{}/v1/deadlines/{acknowledge}/reopen", app.address))
        .bearer_auth(&aarhus)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        200,
        "a missed deadline can be reopened (it stays missed)"
    );
}

/// The calendar attachments of the emails to `to` whose subject contains `words`:
/// (METHOD, UID, SEQUENCE, DTSTART, SUMMARY) per attachment, parsed with the `ical` crate.
fn calendar_of(app: &TestApp, words: &str) -> Vec<(String, String, String, String, String)> {
    use mail_parser::MimeHeaders;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(app.data_dir.join("outbox")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        if !mail.subject().unwrap().contains(words) {
            continue;
        }
        for attachment in mail.attachments() {
            let content_type = attachment.content_type().unwrap();
            assert_eq!(
                (content_type.ctype(), content_type.subtype()),
                ("text", Some("calendar"))
            );
            let text = String::from_utf8(attachment.contents().to_vec()).unwrap();
            assert!(text.contains("\r\n"), "content lines end with CRLF");
            let calendar = ical::IcalParser::new(text.as_bytes())
                .next()
                .expect("one calendar")
                .expect("parses");
            let property = |props: &[ical::property::Property], name: &str| {
                props
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.value.clone())
                    .unwrap_or_default()
            };
            let method = property(&calendar.properties, "METHOD");
            assert_eq!(content_type.attribute("method"), Some(method.as_str()));
            let event = &calendar.events[0].properties;
            found.push((
                method,
                property(event, "UID"),
                property(event, "SEQUENCE"),
                property(event, "DTSTART"),
                property(event, "SUMMARY"),
            ));
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn calendar_entries_follow_a_deadline_through_a_move_and_a_cancellation() {
    let app = spawn_app_with(&[]).await;
    let prison = app.prison_token().await;
    let receipt = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();
    app.drain().await;
    let first = calendar_of(&app, "Løsladelse 09.02.2027");
    assert_eq!(first.len(), 4, "acknowledge, housing, benefit, action plan: {first:?}");
    let housing = first
        .iter()
        .find(|e| e.4.starts_with("Frist: Boligløsning på plads"))
        .unwrap()
        .clone();
    assert_eq!(housing.0, "REQUEST");
    assert_eq!(housing.2, "0");
    assert_eq!(housing.3, "20270209T150000Z");
    assert_eq!(housing.4, format!("Frist: Boligløsning på plads – sag {case_ref}"));
    for (_, _, _, _, summary) in &first {
        assert!(!summary.contains("Jonas") && !summary.contains("150385"));
    }

    let mut update = release_notice("B", "150385-1234", "751");
    update["notice_type"] = "update".into();
    update["previous_message_id"] = "A".into();
    update["release"]["expected_date"] = "2027-03-02".into();
    app.accept(Kind::ReleaseNotice, &prison, &update).await;
    app.drain().await;
    let moved = calendar_of(&app, "Ændret løsladelse");
    let moved_housing = moved.iter().find(|e| e.1 == housing.1).expect("the same UID");
    assert_eq!(moved_housing.0, "REQUEST");
    assert_eq!(moved_housing.2, "1", "a higher SEQUENCE replaces the entry");
    assert_eq!(moved_housing.3, "20270302T150000Z");

    let mut cancellation = release_notice("C", "150385-1234", "751");
    cancellation["notice_type"] = "cancellation".into();
    cancellation["previous_message_id"] = "A".into();
    cancellation.as_object_mut().unwrap().remove("release");
    cancellation.as_object_mut().unwrap().remove("release_meeting");
    app.accept(Kind::ReleaseNotice, &prison, &cancellation).await;
    app.drain().await;
    let cancelled = calendar_of(&app, "Aflyst løsladelse");
    let cancelled_housing = cancelled.iter().find(|e| e.1 == housing.1).expect("the same UID");
    assert_eq!(cancelled_housing.0, "CANCEL");
    assert_eq!(cancelled_housing.2, "2");
}
