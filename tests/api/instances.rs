//! Several gateways on one PostgreSQL database behave as one: a starting instance leaves alone
//! what another is sending, one scheduler at a time with another taking over when it stops,
//! wake-ups by NOTIFY, and per-case order across workers; a leader whose lock connection is cut
//! stops leading and the deadlines still fire once. Two apps in one test share a data
//! folder, and so its database and key. On the SQLite run each such test says it is PostgreSQL
//! only: SQLite is one process per data folder. And on both: an attempt never outruns its claim.

use crate::helpers::{TestApp, release_notice, spawn_app_in, spawn_app_with};
use crate::receiver::{Receiver, Reply};
use indgang::domain::Kind;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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
    if crate::backend::postgres_only("several instances share one database") {
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
    if crate::backend::postgres_only("several instances share one database") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(dir.path(), &[]).await;
    // Both schedulers tick at start (and every second): one of them leads.
    let (leader, follower) = match leader_of(&a, &b).await {
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

/// Which of the two leads, once one does: `true` for the first.
async fn leader_of(a: &TestApp, b: &TestApp) -> bool {
    for _ in 0..100 {
        match (a.scheduler.leading(), b.scheduler.leading()) {
            (true, false) => return true,
            (false, true) => return false,
            (true, true) => panic!("two schedulers lead at once"),
            (false, false) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no scheduler leads within ten seconds");
}

#[tokio::test]
async fn a_leader_whose_lock_connection_is_cut_stops_leading_and_reminders_go_on_once() {
    if crate::backend::postgres_only("several instances share one database") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(dir.path(), &[]).await;
    let first_led = leader_of(&a, &b).await;

    // The database ends the lock's connection while the instance runs on (a failover, an idle
    // timeout, an operator's pg_terminate_backend). The scheduler's lock by its key
    // (0x696e_6467_7363_6864, which pg_locks shows as its two halves): other advisory locks,
    // the audit chain's taken by each append's transaction, can be held at the same moment.
    let cut = crate::backend::first_row(
        dir.path(),
        "",
        "SELECT COUNT(pg_terminate_backend(pid))::text FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND classid = 1768842343 AND objid = 1935894628 AND objsubid = 1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        &[],
    );
    assert_eq!(cut[0], "1", "one connection held the scheduler's lock");
    let (old, other) = if first_led { (&a, &b) } else { (&b, &a) };
    // The old leader notices at its next tick and stops leading; then one of the two (never
    // both) takes the lock again.
    assert!(old.scheduler.tick().await.is_ok());
    for _ in 0..50 {
        if !old.scheduler.leading() || other.scheduler.leading() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now_first = leader_of(&a, &b).await;
    let (leader, follower) = if now_first { (&a, &b) } else { (&b, &a) };

    // Deadlines still fire, once: both clocks past the acknowledgement's due time, both ticking.
    let prison = leader.prison_token().await;
    leader
        .accept(Kind::ReleaseNotice, &prison, &release_notice("A", "150385-1234", "751"))
        .await;
    for app in [leader, follower] {
        app.clock.advance(Duration::from_secs(28 * 3600));
    }
    for app in [follower, leader, follower, leader] {
        app.scheduler.tick().await.unwrap();
    }
    let fired = alerts(dir.path());
    assert!(fired > 0, "the new leader fires the escalation");
    for app in [follower, leader] {
        app.scheduler.tick().await.unwrap();
    }
    assert_eq!(alerts(dir.path()), fired, "nothing fires twice");
    assert!(leader.scheduler.leading() && !follower.scheduler.leading());
    drop((a, b));
    crate::backend::drop_database_of(dir.path());
}

#[tokio::test]
async fn a_message_accepted_by_one_instance_is_delivered_by_another_woken_by_notify() {
    if crate::backend::postgres_only("several instances share one database") {
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

    // The listening connections are cut: B listens again (after a second's back-off) and is
    // woken for the next message all the same.
    let cut = crate::backend::first_row(
        dir.path(),
        "",
        "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid))::text FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        &[],
    );
    assert_eq!(cut, ["2"], "each instance's listening connection is cut");
    a.accept(
        Kind::ReleaseNotice,
        &token,
        &release_notice("KIF-2", "010190-2345", "751"),
    )
    .await;
    receiver.wait_for(2).await;
    assert_eq!(receiver.received()[1].event["data"]["message_id"], "KIF-2");
    drop((a, b));
    crate::backend::drop_database_of(dir.path());
}

#[tokio::test]
async fn the_messages_of_a_case_arrive_in_order_from_two_workers() {
    if crate::backend::postgres_only("several instances share one database") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    // The first notice takes a while and then fails: meanwhile, and until its retry, the
    // updates are due, and either worker may look.
    receiver.script([Reply {
        delay: Duration::from_secs(2),
        ..Reply::status(503)
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
    assert_eq!(receiver.received().len(), 1, "the updates wait for the first notice");
    // Past the first notice's retry, by both instances' clocks.
    for app in [&a, &b] {
        app.clock.advance(Duration::from_secs(60));
    }
    for _ in 0..10 {
        if receiver.accepted().len() >= 5 {
            break;
        }
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

/// An SMTP server that takes a second over each answer: each within the gateway's SMTP timeout,
/// the whole conversation far longer. Returns its `smtp.url`.
async fn slow_smtp() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let slow = Duration::from_secs(1);
                tokio::time::sleep(slow).await;
                write.write_all(b"220 slow ESMTP\r\n").await?;
                let mut in_data = false;
                while let Some(line) = lines.next_line().await? {
                    let answer: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        b"250 queued\r\n"
                    } else {
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => b"221 bye\r\n",
                            _ => b"250 ok\r\n",
                        }
                    };
                    tokio::time::sleep(slow).await;
                    write.write_all(answer).await?;
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    format!("smtp://127.0.0.1:{port}")
}

#[tokio::test]
async fn an_attempt_that_would_outrun_its_claim_is_given_up_and_retried() {
    let url = slow_smtp().await;
    // A lease of 12 s leaves an attempt 2 s; the SMTP conversation takes five or more.
    let app = spawn_app_with(&[
        ("INDGANG__SMTP__URL", url.as_str()),
        ("INDGANG__SMTP__TIMEOUT_SECONDS", "2"),
        ("INDGANG__DELIVERY__CLAIM_SECONDS", "12"),
    ])
    .await;
    let token = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.delivery.drain().await;

    let now = app.receipt(&receipt, &token).await;
    let email = now["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "mail:intake")
        .unwrap()
        .clone();
    assert_eq!(email["state"], "retrying", "{email}");
    assert!(
        email["last_error"].as_str().unwrap().contains("delivery.claim_seconds"),
        "{email}"
    );
}
