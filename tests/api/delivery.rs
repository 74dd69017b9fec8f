//! Delivery to the case system's webhook and the teams' mailboxes: signatures, retries, dead
//! letters, replay, order per case, restarts and a receiver that is down for a while. The clock
//! is the test's: instead of sleeping, a test moves it on and drains the due deliveries.

use crate::helpers::{TestApp, release_notice, spawn_app_in, spawn_app_with, spawn_app_with_file};
use crate::receiver::{Receiver, Reply};
use crate::smtp::SmtpServer;
use indgang::domain::Kind;
use mail_parser::MimeHeaders;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

async fn app_for(receiver: &Receiver, extra: &[(&str, &str)]) -> TestApp {
    let settings = receiver.settings();
    let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(extra);
    spawn_app_with(&all).await
}

/// The receipt's delivery to `destination`.
fn delivery<'r>(receipt: &'r Value, destination: &str) -> &'r Value {
    receipt["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == destination)
        .unwrap_or_else(|| panic!("no delivery to {destination} in {receipt}"))
}

#[tokio::test]
async fn the_case_system_gets_a_signed_cloudevent_with_the_message() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("indgang.toml");
    std::fs::write(
        &config,
        "[destinations.case_system.headers]\n\"X-Tenant\" = \"aarhus\"\n",
    )
    .unwrap();
    let settings = receiver.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_with_file(&config, &env).await;
    let token = app.prison_token().await;
    let notice = release_notice("KIF-1", "150385-1234", "751");

    let receipt = app.accept(Kind::ReleaseNotice, &token, &notice).await;
    assert_eq!(delivery(&receipt, "case_system")["state"], "pending");
    app.drain().await;

    let received = receiver.accepted();
    assert_eq!(received.len(), 1);
    assert_eq!(receiver.bad_signatures(), 0, "every request carried a valid signature");
    let event = &received[0].event;
    assert_eq!(received[0].content_type, "application/cloudevents+json; charset=utf-8");
    assert_eq!(received[0].extra_header.as_deref(), Some("aarhus"));
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "dk.indgang.release-notice.v1");
    assert_eq!(event["subject"], receipt["case_ref"]);
    assert_eq!(event["source"], "urn:indgang:kommune:751");
    assert_eq!(event["id"], received[0].id, "the event id is the webhook-id");
    assert_eq!(event["id"], delivery(&receipt, "case_system")["delivery_id"]);
    assert_eq!(event["data"]["message_id"], "KIF-1");
    assert_eq!(
        event["data"]["citizen"]["cpr"], "1503851234",
        "the case system gets the whole message"
    );

    let now = app.receipt(&receipt, &token).await;
    let state = delivery(&now, "case_system");
    assert_eq!(state["state"], "delivered");
    assert_eq!(state["attempts"], 1);
    assert_eq!(state["last_status"], 200);
    assert_eq!(delivery(&now, "mail:intake")["state"], "delivered");
}

#[tokio::test]
async fn without_smtp_the_team_email_is_an_eml_file_without_personal_data() {
    let app = spawn_app_with(&[]).await;
    let token = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;

    let id = delivery(&receipt, "mail:intake")["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = app.data_dir.join("outbox").join(format!("{id}.eml"));
    let raw = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let case_ref = receipt["case_ref"].as_str().unwrap();
    assert_eq!(
        mail.subject().unwrap(),
        format!("Løsladelse 09.02.2027 – sag {case_ref} – kvittér senest 24.11.2026")
    );
    let html = mail.body_html(0).expect("an HTML alternative").into_owned();
    // MiniJinja escapes `/` in HTML as `&#x2f;`, which a browser reads back as `/`.
    let unescaped = html.replace("&#x2f;", "/");
    assert!(
        unescaped.contains(&format!("<a href=\"http://127.0.0.1:8080/sager/{case_ref}\">")),
        "{html}"
    );
    assert_eq!(
        mail.content_type().unwrap().subtype(),
        Some("mixed"),
        "text and HTML, and the calendar entries"
    );
    assert_eq!(mail.attachment_count(), 4, "one .ics per deadline the notice set");
    let thread = format!("case.{case_ref}@localhost");
    assert_eq!(
        mail.in_reply_to().as_text(),
        Some(thread.as_str()),
        "threads under the case"
    );
    assert_eq!(mail.references().as_text(), Some(thread.as_str()));
    assert_eq!(
        mail.to().unwrap().first().unwrap().address().unwrap(),
        "indgang@localhost"
    );
    let text = mail.body_text(0).unwrap();
    assert!(text.contains(&format!("/sager/{case_ref}")), "{text}");
    assert!(text.contains("Anstalten ved Horsens"), "{text}");
    let all = String::from_utf8_lossy(&raw);
    for personal in ["150385", "1503851234", "Jonas", "Mikkelsen", "Aarhus Vest"] {
        assert!(!all.contains(personal), "the email carries {personal:?}");
        assert!(!text.contains(personal), "the email text carries {personal:?}");
        assert!(!html.contains(personal), "the email's HTML carries {personal:?}");
    }
    assert!(
        mail.message_id().unwrap().starts_with(&id),
        "the Message-ID is the delivery id"
    );
}

#[tokio::test]
async fn team_emails_go_through_smtp_and_a_temporary_refusal_is_retried() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(&[("INDGANG__SMTP__URL", &url)]).await;
    let token = app.prison_token().await;
    smtp.refuse([451]);

    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    let after_refusal = app.receipt(&receipt, &token).await;
    let mail_delivery = delivery(&after_refusal, "mail:intake");
    assert_eq!(mail_delivery["state"], "retrying");
    assert_eq!(mail_delivery["last_status"], 451);
    assert!(smtp.mails().is_empty());

    app.advance_and_drain(10).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["<indgang@localhost>"]);
    assert_eq!(mails[0].from, "<indgang@localhost>", "smtp.from");
    let mail = mail_parser::MessageParser::default().parse(&mails[0].data).unwrap();
    assert!(mail.subject().unwrap().contains(receipt["case_ref"].as_str().unwrap()));
    assert!(!String::from_utf8_lossy(&mails[0].data).contains("150385"));
    assert_eq!(
        delivery(&app.receipt(&receipt, &token).await, "mail:intake")["state"],
        "delivered"
    );
}

#[tokio::test]
async fn a_permanent_smtp_refusal_is_a_dead_letter() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(&[("INDGANG__SMTP__URL", &url)]).await;
    let token = app.prison_token().await;
    smtp.refuse([550]);
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;

    let state = app.receipt(&receipt, &token).await;
    assert_eq!(delivery(&state, "mail:intake")["state"], "dead");
    let operator = app.operator_token().await;
    let status: Value = app.get("/v1/status", &operator).await.json().await.unwrap();
    let mailbox = status["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "mail:intake")
        .unwrap();
    assert_eq!(mailbox["dead_letters"], 1);
    assert_eq!(mailbox["type"], "mailbox");
    assert_eq!(
        mailbox["recipient"], "indgang@localhost",
        "the status names whom the dead letter was for"
    );
}

#[tokio::test]
async fn a_503_is_retried_on_schedule_and_then_delivered_with_the_same_id() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    receiver.script([Reply::status(503)]);

    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    let retrying = app.receipt(&receipt, &token).await;
    let state = delivery(&retrying, "case_system");
    assert_eq!(state["state"], "retrying");
    assert_eq!(state["last_status"], 503);
    let next: jiff::Timestamp = state["next_attempt_at"].as_str().unwrap().parse().unwrap();
    let wait = next.duration_since(app.clock.now()).as_secs_f64();
    assert!(
        (4.0..=6.0).contains(&wait),
        "the first retry comes after 5 s ± 20 %, not {wait} s"
    );

    app.advance_and_drain(3).await;
    assert_eq!(receiver.received().len(), 1, "nothing is sent before its time");
    app.advance_and_drain(4).await;

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].id, received[1].id, "a retry carries the same delivery id");
    let done = app.receipt(&receipt, &token).await;
    assert_eq!(delivery(&done, "case_system")["state"], "delivered");
    assert_eq!(delivery(&done, "case_system")["attempts"], 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    receiver.script([Reply {
        retry_after: Some("120".into()),
        ..Reply::status(429)
    }]);
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    let state = app.receipt(&receipt, &token).await;
    let next: jiff::Timestamp = delivery(&state, "case_system")["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(next.duration_since(app.clock.now()).as_secs(), 120);
}

#[tokio::test]
async fn a_400_is_a_dead_letter_at_once_and_replay_delivers_it_with_the_same_id() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    let operator = app.operator_token().await;
    receiver.script([Reply {
        body: "unknown field for 150385-1234".into(),
        ..Reply::status(400)
    }]);
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    let id = delivery(&receipt, "case_system")["delivery_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let state = app.receipt(&receipt, &token).await;
    assert_eq!(delivery(&state, "case_system")["state"], "dead");
    assert_eq!(delivery(&state, "case_system")["attempts"], 1, "a 400 is not retried");

    assert_eq!(
        app.get("/v1/dead-letters", &token).await.status(),
        403,
        "senders may not"
    );
    let listed: Value = app.get("/v1/dead-letters", &operator).await.json().await.unwrap();
    let dead = listed["dead_letters"].as_array().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["delivery_id"], id);
    assert_eq!(dead[0]["last_status"], 400);
    assert_eq!(dead[0]["case_ref"], receipt["case_ref"]);
    assert_eq!(dead[0]["dead_reason"], "refused permanently");
    let error = dead[0]["last_error"].as_str().unwrap();
    assert!(error.starts_with("HTTP 400"), "{error}");
    assert!(
        !error.contains("150385"),
        "the receiver's echo of a CPR number is masked: {error}"
    );

    let replayed = app
        .client
        .post(format!("{}/v1/dead-letters/{id}/replay", app.address))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 202);
    app.drain().await;

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].id, id, "the replay carries the same delivery id");
    let state = app.receipt(&receipt, &token).await;
    assert_eq!(delivery(&state, "case_system")["state"], "delivered");
    let listed: Value = app.get("/v1/dead-letters", &operator).await.json().await.unwrap();
    assert!(listed["dead_letters"].as_array().unwrap().is_empty());
    let again = app
        .client
        .post(format!("{}/v1/dead-letters/{id}/replay", app.address))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "only dead letters can be replayed");
}

#[tokio::test]
async fn a_refusal_with_an_endless_body_is_recorded_from_its_first_512_bytes_at_once() {
    let receiver = Receiver::start().await;
    let app = app_for(
        &receiver,
        &[("INDGANG__DESTINATIONS__CASE_SYSTEM__TIMEOUT_SECONDS", "5")],
    )
    .await;
    let token = app.prison_token().await;
    let operator = app.operator_token().await;
    // The receiver's error page starts and never ends; the destination's timeout is 5 s.
    receiver.script([Reply {
        body: "no such case system tenant ".repeat(100),
        endless: true,
        ..Reply::status(400)
    }]);
    app.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("KIF-1", "150385-1234", "751"),
    )
    .await;
    app.drain().await;

    let listed: Value = app.get("/v1/dead-letters", &operator).await.json().await.unwrap();
    let dead = &listed["dead_letters"][0];
    assert_eq!(dead["last_status"], 400);
    let error = dead["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("HTTP 400") && error.contains(": no such case system tenant no such"),
        "the start of the body is kept, not a timeout: {error}"
    );
    assert!(error.len() <= "HTTP 400 Bad Request: ".len() + 512, "{}", error.len());
}

#[tokio::test]
async fn a_delivery_whose_schedule_runs_out_is_a_dead_letter_and_bulk_replay_brings_it_back() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[("INDGANG__DELIVERY__RETRY_SCHEDULE", "5s,10s")]).await;
    let token = app.prison_token().await;
    let operator = app.operator_token().await;
    receiver.script([Reply::status(500), Reply::status(502), Reply::status(504)]);
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    app.advance_and_drain(10).await;
    app.advance_and_drain(20).await;

    let state = app.receipt(&receipt, &token).await;
    let case_system = delivery(&state, "case_system");
    assert_eq!(case_system["state"], "dead");
    assert_eq!(case_system["attempts"], 3);
    assert_eq!(
        case_system["dead_reason"],
        "the retry schedule ran out after 3 failed attempts"
    );

    let everything = app
        .client
        .post(format!("{}/v1/dead-letters/replay", app.address))
        .bearer_auth(&operator)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(everything.status(), 400, "replaying every dead letter takes all: true");
    let bulk = app
        .client
        .post(format!("{}/v1/dead-letters/replay", app.address))
        .bearer_auth(&operator)
        .json(&serde_json::json!({"destination": "case_system", "since": "2026-11-23"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bulk.status(), 202);
    let answer: Value = bulk.json().await.unwrap();
    assert_eq!(answer["replayed"], serde_json::json!([case_system["delivery_id"]]));
    app.drain().await;
    assert_eq!(
        delivery(&app.receipt(&receipt, &token).await, "case_system")["state"],
        "delivered"
    );
}

#[tokio::test]
async fn a_bulk_replay_of_more_dead_letters_than_one_transaction_takes_puts_back_every_one_once() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    let operator = app.operator_token().await;
    // More than the 256 put back per transaction; each is refused for good at once.
    let n = 600;
    receiver.script((0..n).map(|_| Reply::status(400)));
    for i in 0..n {
        app.accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice(&format!("KIF-{i}"), &format!("{:02}0190{:04}", 1 + i % 28, i), "751"),
        )
        .await;
    }
    app.drain().await;

    let bulk = app
        .client
        .post(format!("{}/v1/dead-letters/replay", app.address))
        .bearer_auth(&operator)
        .json(&serde_json::json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(bulk.status(), 202);
    let answer: Value = bulk.json().await.unwrap();
    let replayed: std::collections::BTreeSet<&str> = answer["replayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(answer["replayed"].as_array().unwrap().len(), n, "each once");
    assert_eq!(replayed.len(), n);
    app.drain().await;
    assert_eq!(
        receiver.distinct_accepted().len(),
        n,
        "every one delivered after the replay"
    );
}

#[tokio::test]
async fn a_later_message_of_a_case_waits_while_the_first_is_retried_and_other_cases_go_on() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    receiver.script([Reply::status(503)]);

    app.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("FIRST", "150385-1234", "751"),
    )
    .await;
    app.drain().await;
    let mut update = release_notice("UPDATE", "150385-1234", "751");
    update["notice_type"] = "update".into();
    update["previous_message_id"] = "FIRST".into();
    app.accept(Kind::ReleaseNotice, &token, &update).await;
    app.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("OTHER", "010190-2345", "751"),
    )
    .await;
    app.drain().await;

    let ids = |received: Vec<crate::receiver::Received>| -> Vec<String> {
        received
            .iter()
            .map(|r| r.event["data"]["message_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(receiver.received()),
        ["FIRST", "OTHER"],
        "the update waits for its case's first notice; the other case does not"
    );
    app.advance_and_drain(10).await;
    assert_eq!(ids(receiver.accepted()), ["OTHER", "FIRST", "UPDATE"]);
}

#[tokio::test]
async fn deliveries_being_retried_survive_a_restart() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    receiver.script([Reply::status(503)]);
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    assert_eq!(
        delivery(&app.receipt(&receipt, &token).await, "case_system")["state"],
        "retrying"
    );
    let dir = app.stop().await.unwrap();

    let settings = receiver.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let again = spawn_app_in(dir.path(), &env).await;
    again.advance_and_drain(60).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].id, received[1].id);
    assert_eq!(
        delivery(&again.receipt(&receipt, &token).await, "case_system")["state"],
        "delivered"
    );
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_every_message_once_it_is_up() {
    let mut receiver = Receiver::start().await;
    let app = app_for(&receiver, &[("INDGANG__DELIVERY__PAUSE_AFTER_FAILURES", "3")]).await;
    let token = app.prison_token().await;
    let operator = app.operator_token().await;
    receiver.stop().await;

    let mut receipts = Vec::new();
    for i in 0..24 {
        // Eight citizens, three messages each: order per case matters too.
        let cpr = format!("0{}0185-12{:02}", 1 + i % 8, i % 8);
        let mut notice = release_notice(&format!("KIF-{i}"), &cpr, "751");
        if i >= 8 {
            notice["notice_type"] = "update".into();
        }
        receipts.push(app.accept(Kind::ReleaseNotice, &token, &notice).await);
    }
    app.drain().await;
    for _ in 0..3 {
        app.advance_and_drain(40).await;
    }

    let status: Value = app.get("/v1/status", &operator).await.json().await.unwrap();
    let case_system = status["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "case_system")
        .unwrap()
        .clone();
    assert_eq!(case_system["paused"], true, "{case_system}");
    assert_eq!(case_system["queue_depth"], 24);
    assert!(case_system["oldest_pending_seconds"].as_i64().unwrap() >= 120);
    assert_eq!(case_system["dead_letters"], 0);

    receiver.resume();
    for _ in 0..20 {
        app.advance_and_drain(600).await;
    }

    let accepted: std::collections::BTreeSet<String> = receipts
        .iter()
        .map(|r| delivery(r, "case_system")["delivery_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        receiver.distinct_accepted(),
        accepted,
        "every message, each id at least once"
    );
    for receipt in &receipts {
        assert_eq!(
            delivery(&app.receipt(receipt, &token).await, "case_system")["state"],
            "delivered"
        );
    }
    // Within a case the receiver saw the messages in acceptance order.
    let order: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.event["data"]["message_id"].as_str().unwrap().to_owned())
        .collect();
    for case in 0..8 {
        let seen: Vec<usize> = order
            .iter()
            .filter_map(|id| id.strip_prefix("KIF-").and_then(|n| n.parse::<usize>().ok()))
            .filter(|n| n % 8 == case)
            .collect();
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "case {case} out of order: {seen:?}"
        );
    }
    let status: Value = app.get("/v1/status", &operator).await.json().await.unwrap();
    let case_system = status["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "case_system")
        .unwrap()
        .clone();
    assert_eq!(case_system["paused"], false);
    assert_eq!(case_system["queue_depth"], 0);
}

#[tokio::test]
async fn a_paused_destination_is_probed_once_after_its_cool_down_and_others_go_on() {
    let mut receiver = Receiver::start().await;
    let app = app_for(
        &receiver,
        &[
            ("INDGANG__DELIVERY__PAUSE_AFTER_FAILURES", "2"),
            ("INDGANG__DELIVERY__PAUSE_SECONDS", "300"),
            ("INDGANG__DELIVERY__RETRY_SCHEDULE", "1s,1s,1s,1s,1s,1s"),
        ],
    )
    .await;
    let token = app.prison_token().await;
    receiver.stop().await;
    for i in 0..4 {
        let cpr = format!("0{}0185-1234", i + 1);
        app.accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice(&format!("KIF-{i}"), &cpr, "751"),
        )
        .await;
    }
    app.drain().await;
    // Paused after the failures: one-second retries come due, but nothing is sent …
    let attempts = |app: &TestApp| -> i64 {
        crate::backend::first_row(
            &app.data_dir,
            "SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery WHERE d.destination = 'case_system'",
            "SELECT COUNT(*)::text FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery WHERE d.destination = 'case_system'",
            &[],
        )[0]
        .parse()
        .unwrap()
    };
    let before = attempts(&app);
    app.advance_and_drain(60).await;
    assert_eq!(attempts(&app), before, "a paused destination is not hammered");
    // … while the team mailbox, another destination, goes on.
    let outbox = std::fs::read_dir(app.data_dir.join("outbox")).unwrap().count();
    assert_eq!(outbox, 4);
    // After the cool-down one probe goes out; it fails, and the pause starts again.
    app.advance_and_drain(300).await;
    assert_eq!(attempts(&app), before + 1, "one probe after the cool-down");
    receiver.resume();
    app.advance_and_drain(600).await;
    assert_eq!(receiver.distinct_accepted().len(), 4);
}

#[tokio::test]
async fn sigterm_lets_an_attempt_in_flight_finish_and_be_recorded() {
    let receiver = Receiver::start().await;
    let app = app_for(&receiver, &[]).await;
    let token = app.prison_token().await;
    receiver.script([Reply {
        delay: Duration::from_millis(700),
        ..Reply::status(200)
    }]);
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    receiver.wait_for(1).await;
    let data_dir = app.data_dir.clone();
    let dir = app.stop().await.unwrap();

    let row = crate::backend::first_row(
        &data_dir,
        "SELECT state, attempts FROM deliveries WHERE delivery_id = ?1",
        "SELECT state, attempts::text FROM deliveries WHERE delivery_id = $1",
        &[delivery(&receipt, "case_system")["delivery_id"].as_str().unwrap()],
    );
    assert_eq!((row[0].as_str(), row[1].as_str()), ("delivered", "1"));
    drop(dir);
}

#[tokio::test]
async fn routes_send_messages_to_their_teams_and_the_rest_to_the_single_intake() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("routes.toml");
    std::fs::write(
        &config,
        r#"
[teams.misbrug]
name = "Misbrugscenteret"
mailbox = "misbrug@kommune.example"
lead = "leder@kommune.example"

[teams.ungeteam]
name = "Ungeteamet"
mailbox = "unge@kommune.example"
lead = "ungeleder@kommune.example"

[[routing.routes]]
name = "addiction"
needs = ["addiction_treatment"]
teams = ["misbrug"]
continue = true

[[routing.routes]]
name = "young"
age_under = 25
teams = ["ungeteam"]
"#,
    )
    .unwrap();
    let app = spawn_app_with_file(&config, &[]).await;
    let token = app.prison_token().await;
    let targets = |receipt: &Value| -> Vec<String> {
        receipt["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["destination"].as_str().unwrap().to_owned())
            .collect()
    };

    // 41 years old and in need of addiction treatment.
    let addiction = app
        .accept(Kind::ReleaseNotice, &token, &release_notice("A", "150385-1234", "751"))
        .await;
    assert_eq!(targets(&addiction), ["mail:misbrug"]);
    assert_eq!(addiction["deliveries"][0]["routes"], serde_json::json!(["addiction"]));
    // 22 years old (born 2004), addiction too: both routes.
    let both = app
        .accept(Kind::ReleaseNotice, &token, &release_notice("B", "150304-4321", "751"))
        .await;
    assert_eq!(targets(&both), ["mail:misbrug", "mail:ungeteam"]);
    // 41, no addiction: the single intake.
    let mut plain = release_notice("C", "010185-1111", "751");
    plain["needs"] = serde_json::json!(["housing"]);
    let rest = app.accept(Kind::ReleaseNotice, &token, &plain).await;
    assert_eq!(targets(&rest), ["mail:intake"]);
    assert_eq!(rest["deliveries"][0]["routes"], serde_json::json!(["default"]));

    app.drain().await;
    let mut recipients: Vec<String> = std::fs::read_dir(app.data_dir.join("outbox"))
        .unwrap()
        .map(|entry| {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
            mail.to().unwrap().first().unwrap().address().unwrap().to_owned()
        })
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        [
            "indgang@localhost",
            "misbrug@kommune.example",
            "misbrug@kommune.example",
            "unge@kommune.example"
        ]
    );
}

#[tokio::test]
async fn alerts_written_while_the_mail_server_is_down_arrive_once_it_is_up() {
    // A port nobody listens on yet, held so that no other test's server takes it meanwhile.
    let (reserved, port) = SmtpServer::reserve();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[
        ("INDGANG__SMTP__URL", &url),
        ("INDGANG__DELIVERY__PAUSE_AFTER_FAILURES", "2"),
    ])
    .await;
    let token = app.prison_token().await;
    let mut receipts = Vec::new();
    for i in 0..5 {
        let cpr = format!("0{}0185-1234", i + 1);
        receipts.push(
            app.accept(
                Kind::ReleaseNotice,
                &token,
                &release_notice(&format!("KIF-{i}"), &cpr, "751"),
            )
            .await,
        );
    }
    app.drain().await;
    app.advance_and_drain(60).await;
    for receipt in &receipts {
        assert_ne!(
            delivery(&app.receipt(receipt, &token).await, "mail:intake")["state"],
            "delivered"
        );
    }

    let smtp = SmtpServer::start_on(reserved).await;
    for _ in 0..10 {
        app.advance_and_drain(600).await;
    }
    let mails = smtp.mails();
    let mut ids: Vec<String> = mails
        .iter()
        .map(|m| {
            let mail = mail_parser::MessageParser::default().parse(&m.data).unwrap();
            mail.message_id().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(mails.len(), 5, "each alert once");
    assert_eq!(ids.len(), 5);
    for receipt in &receipts {
        assert_eq!(
            delivery(&app.receipt(receipt, &token).await, "mail:intake")["state"],
            "delivered"
        );
    }
}

/// A receiver as a server with a keep-alive timeout sees it at its worst: a request that comes on
/// a connection idle for `idle_close` or longer meets the connection being closed (the close
/// crosses the request), and is not answered. Every other request is answered `200`. Counts the
/// connections and the answered requests.
struct ClosingReceiver {
    port: u16,
    connections: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
}

impl ClosingReceiver {
    async fn start(idle_close: Duration) -> ClosingReceiver {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let (count, done) = (connections.clone(), answered.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let done = done.clone();
                tokio::spawn(async move {
                    let mut stream = tokio::io::BufReader::new(stream);
                    let mut idle_since: Option<std::time::Instant> = None;
                    loop {
                        let mut length = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap();
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        if idle_since.is_some_and(|at| at.elapsed() >= idle_close) {
                            return;
                        }
                        let mut body = vec![0; length];
                        stream.read_exact(&mut body).await.unwrap();
                        stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .await
                            .unwrap();
                        done.fetch_add(1, Ordering::SeqCst);
                        idle_since = Some(std::time::Instant::now());
                    }
                });
            }
        });
        ClosingReceiver {
            port,
            connections,
            answered,
        }
    }

    fn settings(&self) -> Vec<(String, String)> {
        vec![
            ("INDGANG__DESTINATIONS__CASE_SYSTEM__TYPE".into(), "webhook".into()),
            (
                "INDGANG__DESTINATIONS__CASE_SYSTEM__URL".into(),
                format!("http://127.0.0.1:{}/events", self.port),
            ),
            (
                "INDGANG__DESTINATIONS__CASE_SYSTEM__SECRET".into(),
                crate::receiver::SECRET.into(),
            ),
            (
                "INDGANG__DESTINATIONS__CASE_SYSTEM__TIMEOUT_SECONDS".into(),
                "30".into(),
            ),
            ("INDGANG__ROUTING__DESTINATIONS".into(), "case_system".into()),
        ]
    }
}

#[tokio::test]
async fn a_connection_the_receiver_may_be_closing_is_not_used_again() {
    // Receivers commonly close connections idle for 5 s; this one closes them at 4.5 s, later
    // than the gateway stops using them.
    let receiver = ClosingReceiver::start(Duration::from_millis(4_500)).await;
    assert!(indgang::delivery::webhook::POOL_IDLE < Duration::from_millis(4_500));
    let settings = receiver.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_with(&env).await;
    let token = app.prison_token().await;

    app.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("KIF-1", "150385-1234", "751"),
    )
    .await;
    app.drain().await;
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 1);

    // Idle longer than the gateway keeps a connection, as long as the receiver does.
    tokio::time::sleep(Duration::from_millis(4_600)).await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-2", "010190-2345", "751"),
        )
        .await;
    app.drain().await;

    assert_eq!(
        delivery(&app.receipt(&receipt, &token).await, "case_system")["state"],
        "delivered",
        "the second delivery went out on a new connection, at the first attempt"
    );
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 2);
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 2);
}
