//! Several gateways on one PostgreSQL database behave as one: a starting instance leaves alone
//! what another is sending, one scheduler at a time with another taking over when it stops,
//! wake-ups by NOTIFY, and per-case order across workers. Two apps in one test share a data
//! folder, and so its database and key. On the SQLite run each test says it is PostgreSQL only:
//! SQLite is one process per data folder.

use crate::helpers::{TestApp, release_notice, spawn_app_in};
use crate::receiver::{Receiver, Reply};
use indgang::domain::Kind;
use std::path::Path;
use std::time::Duration;

fn postgres_only() -> bool {
    if !crate::backend::postgres() {
        eprintln!("PostgreSQL only, run with INDGANG_TEST_STORAGE=postgres");
    }
    !crate::backend::postgres()
}

/// Two gateways on the database of `dir`, with the same settings.
async fn two(dir: &Path, env: &[(String, String)]) -> (TestApp, TestApp) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = spawn_app_in(dir, &env).await;
    let b = spawn_app_in(dir, &env).await;
    (a, b)
}

/// The reminders and escalations written to the outbox so far.
fn alerts(dir: &Path) -> i64 {
    crate::backend::first_row(
        dir,
        "",
        "SELECT COUNT(*)::text FROM deliveries WHERE purpose IN ('reminder', 'escalation')",
        &[],
    )[0]
    .parse()
    .unwrap()
}

#[tokio::test]
async fn an_instance_starting_leaves_alone_what_another_is_sending() {
    if postgres_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    // The receiver takes its time with the first request: instance A is sending it while B
    // starts.
    receiver.script([Reply {
        delay: Duration::from_secs(3),
        ..Reply::status(200)
    }]);
    let env = receiver.settings();
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = spawn_app_in(dir.path(), &envs).await;
    let token = a.prison_token().await;
    let receipt = a
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    receiver.wait_for(1).await;

    let b = spawn_app_in(dir.path(), &envs).await;
    // B's worker has started (a start on SQLite releases every claim) and looks again and again.
    for _ in 0..5 {
        b.delivery.drain().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        receiver.received().len(),
        1,
        "B does not send again what A has claimed and is sending"
    );

    a.delivery.drain().await;
    let now = a.receipt(&receipt, &token).await;
    let state = now["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "case_system")
        .unwrap()
        .clone();
    assert_eq!(state["state"], "delivered");
    assert_eq!(state["attempts"], 1);
    b.drain().await;
    assert_eq!(receiver.received().len(), 1, "sent once");
    drop((a, b));
    crate::backend::drop_database_of(dir.path());
}

#[tokio::test]
async fn one_scheduler_fires_and_another_takes_over_when_it_stops() {
    if postgres_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(dir.path(), &[]).await;
    // Both schedulers tick at start (and every second): one of them leads.
    let mut leader = None;
    for _ in 0..100 {
        match (a.scheduler.leading(), b.scheduler.leading()) {
            (true, false) => leader = Some(true),
            (false, true) => leader = Some(false),
            (true, true) => panic!("two schedulers lead at once"),
            (false, false) => {}
        }
        if leader.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (leader, follower) = match leader.expect("one scheduler leads") {
        true => (a, b),
        false => (b, a),
    };
    let prison = leader.prison_token().await;
    leader
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;

    // The acknowledgement is due on Tuesday 16:00 Copenhagen time; by the follower's clock it
    // has passed, by the leader's not yet.
    follower.clock.advance(Duration::from_secs(28 * 3600));
    assert_eq!(
        follower.scheduler.tick().await.unwrap(),
        0,
        "the follower fires nothing"
    );
    assert_eq!(alerts(dir.path()), 0);
    leader.clock.advance(Duration::from_secs(28 * 3600));
    leader.scheduler.tick().await.unwrap();
    let fired = alerts(dir.path());
    assert!(fired > 0, "the leader fires the escalation");
    assert_eq!(follower.scheduler.tick().await.unwrap(), 0);
    assert!(leader.scheduler.leading() && !follower.scheduler.leading());

    // The leader stops; its lock goes with its connection, and the follower's next tick takes it.
    leader.stop().await;
    for _ in 0..100 {
        if follower.scheduler.leading() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(follower.scheduler.leading(), "the follower leads within seconds");
    let metrics = follower
        .client
        .get(format!("{}/metrics", follower.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("indgang_scheduler_leader 1"), "{metrics}");
    // Past the release: the other deadlines are missed and escalated, by the new leader.
    follower.clock.set("2027-02-10T12:00:00Z".parse().unwrap());
    follower.scheduler.tick().await.unwrap();
    assert!(alerts(dir.path()) > fired, "the new leader fires what falls due");
    drop(follower);
    crate::backend::drop_database_of(dir.path());
}

#[tokio::test]
async fn a_message_accepted_by_one_instance_is_delivered_by_another_woken_by_notify() {
    if postgres_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let mut env = receiver.settings();
    // Polling alone would find the message after a minute.
    env.push(("INDGANG__DELIVERY__POLL_INTERVAL_MS".into(), "60000".into()));
    let (a, b) = two(dir.path(), &env).await;
    // A sends nothing: its worker has stopped.
    a.delivery.stop().await;
    // B's worker has made its first pass, and its listener is up, before the message comes.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let token = a.prison_token().await;
    a.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("KIF-1", "150385-1234", "751"),
    )
    .await;
    receiver.wait_for(1).await;
    assert_eq!(receiver.received()[0].event["data"]["message_id"], "KIF-1");
    drop((a, b));
    crate::backend::drop_database_of(dir.path());
}

#[tokio::test]
async fn the_messages_of_a_case_arrive_in_order_from_two_workers() {
    if postgres_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    // The first notice takes a while: meanwhile the updates are due, and either worker may look.
    receiver.script([Reply {
        delay: Duration::from_secs(2),
        ..Reply::status(200)
    }]);
    let (a, b) = two(dir.path(), &receiver.settings()).await;
    let token = a.prison_token().await;
    a.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("FIRST", "150385-1234", "751"),
    )
    .await;
    receiver.wait_for(1).await;
    let mut previous = "FIRST".to_owned();
    for (i, app) in [&b, &a, &b, &a].into_iter().enumerate() {
        let id = format!("UPDATE-{i}");
        let mut update = release_notice(&id, "150385-1234", "751");
        update["notice_type"] = "update".into();
        update["previous_message_id"] = previous.clone().into();
        app.accept(Kind::ReleaseNotice, &token, &update).await;
        tokio::join!(a.delivery.drain(), b.delivery.drain());
        previous = id;
    }
    for _ in 0..3 {
        tokio::join!(a.delivery.drain(), b.delivery.drain());
    }

    let arrived: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.event["data"]["message_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        arrived,
        ["FIRST", "UPDATE-0", "UPDATE-1", "UPDATE-2", "UPDATE-3"],
        "in acceptance order, each once"
    );
    drop((a, b));
    crate::backend::drop_database_of(dir.path());
}
