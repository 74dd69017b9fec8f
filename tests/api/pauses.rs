//! Destination pauses live in the database: an operator's pause holds across a restart and on
//! every instance on the same database, and failures seen by several instances count towards one
//! automatic pause.

use crate::helpers::{NOW, TestApp, release_notice, spawn_app_at, spawn_app_in, spawn_app_with, spawn_second_instance};
use crate::receiver::Receiver;
use indgang::auth::{Grant, create_token};
use indgang::domain::Kind;
use serde_json::Value;

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// An operator token: its id and its secret.
async fn operator(app: &TestApp) -> (String, String) {
    let (record, secret) = create_token(app.store.as_ref(), Grant::Operator, jiff::Timestamp::now())
        .await
        .unwrap();
    (record.id, secret)
}

async fn act(app: &TestApp, action: &str, destination: &str, token: &str) -> Value {
    let response = app
        .client
        .post(format!("{}/v1/destinations/{destination}/{action}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{action} {destination}");
    response.json().await.unwrap()
}

async fn status_of(app: &TestApp, destination: &str, token: &str) -> Value {
    let status: Value = app.get("/v1/status", token).await.json().await.unwrap();
    status["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == destination)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_operators_pause_holds_across_a_restart_with_who_paused_and_since_when() {
    let receiver = Receiver::start().await;
    let env = receiver.settings();
    let app = spawn_app_with(&pairs(&env)).await;
    let prison = app.prison_token().await;
    let (operator_id, operator) = operator(&app).await;

    let paused = act(&app, "pause", "case_system", &operator).await;
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["paused_by_operator"], true);
    assert_eq!(paused["paused_by"], operator_id.as_str());
    assert_eq!(paused["paused_since"], NOW);

    let dir = app.stop().await.unwrap();
    let again = spawn_app_in(dir.path(), &pairs(&env)).await;
    again
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-P-1", "150385-1234", "751"),
        )
        .await;
    again.advance_and_drain(3600).await;
    assert_eq!(receiver.received().len(), 0, "still paused after the restart");
    let shown = status_of(&again, "case_system", &operator).await;
    assert_eq!(shown["paused_by_operator"], true, "{shown}");
    assert_eq!(shown["paused_by"], operator_id.as_str());
    assert_eq!(shown["paused_since"], NOW);
    assert_eq!(shown["queue_depth"], 1);

    let resumed = act(&again, "resume", "case_system", &operator).await;
    assert_eq!(resumed["paused"], false);
    assert!(resumed.get("paused_by").is_none(), "{resumed}");
    again.drain().await;
    assert_eq!(receiver.received().len(), 1, "resumed, the waiting notice goes out");
}

/// The message ids the receiver has been sent.
fn sent(receiver: &Receiver) -> Vec<String> {
    receiver
        .received()
        .iter()
        .map(|r| r.event["data"]["message_id"].as_str().unwrap().to_owned())
        .collect()
}

/// How far the clock of `spawn_behind`'s second instance is behind the first's, in seconds.
const BEHIND: u64 = 5;

/// A second instance on the first's database whose clock is `BEHIND` seconds behind: what the
/// first accepts is not yet due on it, so only the first sends it, though the second is woken
/// (by NOTIFY on PostgreSQL) and polls; the test moves the second's clock on when it should send.
async fn spawn_behind(a: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let at: jiff::Timestamp = NOW.parse().unwrap();
    let at = at - jiff::SignedDuration::from_secs(BEHIND as i64);
    spawn_app_at(&a.data_dir, &at.to_string(), extra).await
}

#[tokio::test]
async fn paused_through_one_instance_the_other_sends_nothing_and_resumed_through_it_the_first_sends() {
    let receiver = Receiver::start().await;
    let env = receiver.settings();
    let a = spawn_app_with(&pairs(&env)).await;
    let b = spawn_second_instance(&a, &pairs(&env)).await;
    let prison = a.prison_token().await;
    let (_, operator) = operator(&a).await;

    act(&a, "pause", "case_system", &operator).await;
    // Each instance has a clock of its own: a message accepted through B an hour ahead is due
    // on B alone, so it is B that would send it.
    b.clock.advance(std::time::Duration::from_secs(3600));
    b.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("KIF-B", "150385-1234", "751"),
    )
    .await;
    b.drain().await;
    assert_eq!(
        sent(&receiver),
        Vec::<String>::new(),
        "paused through A: B sends nothing to it"
    );
    assert_eq!(
        status_of(&b, "case_system", &operator).await["paused_by_operator"],
        true
    );

    // Two hours ahead on A, a message accepted through A is due on A alone.
    a.clock.advance(std::time::Duration::from_secs(7200));
    a.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("KIF-A", "010190-2345", "751"),
    )
    .await;
    a.drain().await;
    assert_eq!(sent(&receiver), Vec::<String>::new(), "nor A");

    act(&b, "resume", "case_system", &operator).await;
    a.drain().await;
    assert!(
        sent(&receiver).contains(&"KIF-A".to_owned()),
        "resumed through B: A sends"
    );
    b.drain().await;
    receiver.wait_for(2).await;
    b.stop().await;
}

#[tokio::test]
async fn failures_seen_by_two_instances_count_towards_one_automatic_pause() {
    let mut receiver = Receiver::start().await;
    let mut env = receiver.settings();
    env.push(("INDGANG__DELIVERY__PAUSE_AFTER_FAILURES".to_owned(), "2".to_owned()));
    env.push(("INDGANG__DELIVERY__RETRY_SCHEDULE".to_owned(), "10s,10s,10s".to_owned()));
    env.push(("INDGANG__DELIVERY__JITTER_PERCENT".to_owned(), "0".to_owned()));
    let a = spawn_app_with(&pairs(&env)).await;
    let b = spawn_behind(&a, &pairs(&env)).await;
    let prison = a.prison_token().await;
    let (_, operator) = operator(&a).await;
    receiver.stop().await;

    a.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("KIF-P-3", "150385-1234", "751"),
    )
    .await;
    a.drain().await;
    let one = status_of(&b, "case_system", &operator).await;
    assert_eq!(
        (one["failures_in_row"].as_i64(), &one["paused"]),
        (Some(1), &Value::Bool(false))
    );
    // The retry falls due on B's clock too (10 s after A's now); B's failure is the second in a row.
    b.advance_and_drain(BEHIND + 10).await;
    let two = status_of(&a, "case_system", &operator).await;
    assert_eq!(two["failures_in_row"], 2, "{two}");
    assert_eq!(two["paused"], true, "{two}");
    assert!(two["paused_until"].is_string(), "{two}");
    b.stop().await;
}

#[tokio::test]
async fn after_the_cool_down_one_probe_goes_out_from_two_instances() {
    let mut receiver = Receiver::start().await;
    let mut env = receiver.settings();
    env.push(("INDGANG__DELIVERY__PAUSE_AFTER_FAILURES".to_owned(), "1".to_owned()));
    env.push(("INDGANG__DELIVERY__PAUSE_SECONDS".to_owned(), "60".to_owned()));
    env.push(("INDGANG__DELIVERY__RETRY_SCHEDULE".to_owned(), "1s,1s,1s".to_owned()));
    let a = spawn_app_with(&pairs(&env)).await;
    let b = spawn_behind(&a, &pairs(&env)).await;
    let prison = a.prison_token().await;
    receiver.stop().await;
    a.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("KIF-P-4", "150385-1234", "751"),
    )
    .await;
    a.drain().await;
    // Paused after one failure; three more citizens' messages wait behind the pause.
    for (i, cpr) in ["010190-2345", "020190-2345", "030190-2345"].iter().enumerate() {
        a.accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice(&format!("KIF-P-5{i}"), cpr, "751"),
        )
        .await;
    }
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
    assert_eq!(attempts(&a), 1);

    a.clock.advance(std::time::Duration::from_secs(61));
    b.clock.advance(std::time::Duration::from_secs(BEHIND + 61));
    tokio::join!(a.drain(), b.drain());
    assert_eq!(attempts(&a), 2, "one probe between the two instances");
    b.stop().await;
}
