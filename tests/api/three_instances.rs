//! Three gateways on one PostgreSQL database behave as one, also when one of them is killed with
//! SIGKILL in the middle and started again: 64 clients submit through all three; afterwards every
//! message answered is stored exactly once, every delivery reached its receiver at least once
//! (twice only when it was in flight at the kill, recognisable by its delivery id), every
//! reminder and escalation that fell due during the run went out once, and per case the
//! receiver saw the messages in the order they were accepted. The test prints the counts.
//!
//! The deadlines are made to fall due while the three run by two policies of the test's own: one
//! due at the notice's `sent_at`, which each client sets a few seconds ahead (within
//! `intake.max_clock_skew_seconds`), so escalations fall due all through the run; one due the
//! working day after `sent_at` with a reminder one working day before, at a deadline time
//! (`calendar.deadline_time`, which takes seconds) a few seconds after the start: on a working
//! day those reminders fall due together in the middle of the run.

use crate::binary::{Served, prison_token, serve_configured};
use crate::helpers::release_notice;
use crate::receiver::Receiver;
use crate::smtp::SmtpServer;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const INSTANCES: usize = 3;
const CLIENTS: usize = 64;
/// Each client submits one message this often (with the time its answer takes besides).
const PACE: Duration = Duration::from_millis(600);
/// `delivery.concurrency` of each instance: no more deliveries than this are in flight in one.
const CONCURRENCY: usize = 16;
/// Each notice's `sent_at`, when its escalation falls due, is this far ahead of its submission.
const SENT_AHEAD: Duration = Duration::from_secs(3);
/// A receiver reads what the killed instance sent just before it died at most this long after.
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(500);
/// The deadline time is this far after the test starts its gateways.
const DUE_AFTER: Duration = Duration::from_secs(10);

/// How the client's submission of one message ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// 202 at the first instance that answered.
    Accepted,
    /// 200: the same message again after an answer was lost at the kill, filed before it.
    Repeated,
}

struct Run {
    data: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl Run {
    fn serve(&self) -> Served {
        serve_configured(&self.data, "info", Some(&self.config), &self.env)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_on_one_database_lose_nothing_and_send_nothing_twice_when_one_is_killed() {
    if crate::backend::postgres_only("three instances share one database") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let sender = prison_token(&data);
    let receiver = Receiver::start().await;
    let smtp = SmtpServer::start().await;

    // Arrange: the deadline time a few seconds ahead, Copenhagen time.
    let due = jiff::Timestamp::now() + DUE_AFTER;
    let due_time = due
        .in_tz("Europe/Copenhagen")
        .unwrap()
        .time()
        .strftime("%H:%M:%S")
        .to_string();
    let config = data.join("instances.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[calendar]
deadline_time = "{due_time}"

[deadlines.today]
name = "Frist i dag"
kinds = ["release-notice"]
due = "/sent_at"
scope = "message"
outcomes = ["done"]
escalate_to = "lead"

[deadlines.tomorrow]
name = "Frist i morgen"
kinds = ["release-notice"]
due = "/sent_at + 1"
reminders = [1]
scope = "message"
outcomes = ["done"]
escalate_to = "lead"
"#
        ),
    )
    .unwrap();
    let mut env = receiver.settings();
    let (smtp_url, concurrency) = (smtp.url(), CONCURRENCY.to_string());
    env.extend(
        [
            ("INDGANG__DESTINATIONS__CASE_SYSTEM__TIMEOUT_SECONDS", "5"),
            ("INDGANG__SMTP__URL", smtp_url.as_str()),
            ("INDGANG__SMTP__TIMEOUT_SECONDS", "5"),
            // A claim of the killed instance is taken over this long after it was made.
            ("INDGANG__DELIVERY__CLAIM_SECONDS", "15"),
            ("INDGANG__DELIVERY__CONCURRENCY", concurrency.as_str()),
            // Every alert alone, so that each email names one delivery; no digest.
            ("INDGANG__ALERTS__GROUP_MAX", "1"),
            ("INDGANG__ALERTS__DIGEST_AT", ""),
            ("INDGANG__SERVER__WORKERS", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let run = Arc::new(Run {
        data: data.clone(),
        config,
        env,
    });
    // All three on one folder: one key file, and (backend::storage_env) one database.
    let mut served: Vec<Option<Served>> = (0..INSTANCES).map(|_| Some(run.serve())).collect();
    let addresses: Arc<RwLock<Vec<String>>> = Arc::new(RwLock::new(
        served.iter().map(|s| s.as_ref().unwrap().address.clone()).collect(),
    ));

    // Act: 64 clients, each about one citizen (one case), round-robin over the three.
    let stop = Arc::new(AtomicBool::new(false));
    let client = crate::helpers::client();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, addresses, sender, stop) = (client.clone(), addresses.clone(), sender.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let cpr = format!("{:02}{:02}90{:04}", 1 + c % 28, 1 + c / 28, 1000 + c);
            let mut answers = Vec::new();
            let mut tries = 0usize;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let message_id = format!("three-{c}-{i}");
                let mut notice = release_notice(&message_id, &cpr, "751");
                notice["sent_at"] = (jiff::Timestamp::now() + SENT_AHEAD).to_string().into();
                let answer = loop {
                    tries += 1;
                    let address = addresses.read().unwrap()[(c + tries) % INSTANCES].clone();
                    let sent = client
                        .post(format!("{address}/v1/release-notices"))
                        .bearer_auth(&sender)
                        .json(&notice)
                        .timeout(Duration::from_secs(20))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 202 => break Answer::Accepted,
                        Ok(r) if r.status() == 200 => break Answer::Repeated,
                        Ok(r) if r.status() == 503 => {}
                        Ok(r) => panic!("{message_id}: unexpected {}: {}", r.status(), r.text().await.unwrap()),
                        // The instance is gone (killed): the same message to the next one.
                        Err(_) => {}
                    }
                    assert!(tries < 10_000, "{message_id} was never answered");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                };
                answers.push((message_id, answer));
                tokio::time::sleep(PACE).await;
            }
            answers
        }));
    }

    // Kill the second instance a second before the deadline time (so the reminders and
    // escalations fall due while it is away), start it again 1.5 s later, stop submitting
    // 3 s after the deadline time.
    let until = |at: jiff::Timestamp| Duration::try_from(at.duration_since(jiff::Timestamp::now())).unwrap_or_default();
    tokio::time::sleep(until(due - Duration::from_secs(1)).max(Duration::from_millis(1500))).await;
    let killed = served[1].take().unwrap();
    let (status, _) = tokio::task::spawn_blocking(move || killed.stop(libc::SIGKILL))
        .await
        .unwrap();
    assert!(!status.success(), "killed");
    // What the killed instance wrote to a socket before it died may be read by the receivers a
    // little later: a first arrival up to this long after its death still counts as in flight.
    let in_flight_until = Instant::now() + IN_FLIGHT_GRACE;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = {
        let run = run.clone();
        tokio::task::spawn_blocking(move || run.serve()).await.unwrap()
    };
    let restarted_at = Instant::now();
    addresses.write().unwrap()[1] = again.address.clone();
    served[1] = Some(again);
    tokio::time::sleep(until(due + Duration::from_secs(3)).max(Duration::from_secs(2))).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers: BTreeMap<String, Answer> = BTreeMap::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }

    // Let everything drain: nothing left to send, no alert due that has not been made.
    let drained = Instant::now();
    loop {
        let left = crate::backend::first_row(
            &data,
            "",
            "SELECT ((SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'retrying'))
                   + (SELECT COUNT(*) FROM deadlines WHERE next_alert_at IS NOT NULL
                        AND next_alert_at <= (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint)
                   + (SELECT COUNT(*) FROM deadlines WHERE policy = 'today'
                        AND due_at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint))::text",
            &[],
        );
        if left == ["0"] {
            break;
        }
        assert!(
            drained.elapsed() < Duration::from_secs(60),
            "still {} deliveries and alerts to go after 60 s",
            left[0]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // An answer on its way back may still be recorded.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for instance in served.into_iter().flatten() {
        let (status, _) = tokio::task::spawn_blocking(move || instance.stop(libc::SIGTERM))
            .await
            .unwrap();
        assert!(status.success(), "each instance stops cleanly");
    }

    // Assert.
    let counts = Counts::gather(&data, &answers, &receiver, &smtp, (in_flight_until, restarted_at));
    counts.print();
    counts.check();
    crate::backend::drop_database_of(&data);
}

/// Every figure the test prints and checks.
#[derive(Debug, Default)]
struct Counts {
    accepted: usize,
    repeated: usize,
    stored: usize,
    stored_distinct: usize,
    unanswered_stored: usize,
    missing: Vec<String>,
    deliveries: usize,
    delivered: usize,
    not_delivered: usize,
    never_arrived: Vec<String>,
    arrivals: usize,
    duplicated: BTreeSet<String>,
    duplicated_after_kill: BTreeSet<String>,
    duplicated_after_restart: usize,
    escalations_due: usize,
    escalations: usize,
    escalations_distinct: usize,
    reminders_due: usize,
    reminders: usize,
    reminders_distinct: usize,
    alert_duplicates: usize,
    cases: usize,
    out_of_order: Vec<String>,
}

impl Counts {
    fn gather(
        data: &Path,
        answers: &BTreeMap<String, Answer>,
        receiver: &Receiver,
        smtp: &SmtpServer,
        (in_flight_until, restarted_at): (Instant, Instant),
    ) -> Counts {
        let row = |sql: &str| crate::backend::first_row(data, "", sql, &[]);
        let number = |text: &str| text.parse::<usize>().unwrap();
        let mut c = Counts {
            accepted: answers.values().filter(|a| **a == Answer::Accepted).count(),
            repeated: answers.values().filter(|a| **a == Answer::Repeated).count(),
            ..Counts::default()
        };

        let stored = row(
            "SELECT COUNT(*)::text, COUNT(DISTINCT message_id)::text, COALESCE(string_agg(message_id, ','), '')
             FROM messages WHERE sender_id = 'kif-horsens'",
        );
        c.stored = number(&stored[0]);
        c.stored_distinct = number(&stored[1]);
        let stored_ids: BTreeSet<&str> = stored[2].split(',').filter(|s| !s.is_empty()).collect();
        c.missing = answers
            .keys()
            .filter(|id| !stored_ids.contains(id.as_str()))
            .cloned()
            .collect();
        c.unanswered_stored = stored_ids.iter().filter(|id| !answers.contains_key(**id)).count();

        // Every delivery id at the receivers: webhooks by `webhook-id`, emails by Message-ID.
        let mut arrived: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
        for r in receiver.received() {
            arrived.entry(r.id.clone()).or_default().push(r.at);
        }
        for mail in smtp.mails() {
            arrived.entry(message_id(&mail.data)).or_default().push(mail.at);
        }
        c.arrivals = arrived.values().map(Vec::len).sum();
        for (id, times) in &arrived {
            if times.len() > 1 {
                c.duplicated.insert(id.clone());
                if times[0] >= in_flight_until {
                    c.duplicated_after_kill.insert(id.clone());
                }
                if times[0] >= restarted_at {
                    c.duplicated_after_restart += 1;
                }
            }
        }
        let deliveries = row(
            "SELECT COUNT(*)::text, COUNT(*) FILTER (WHERE state = 'delivered')::text,
                    COALESCE(string_agg(delivery_id, ','), '')
             FROM deliveries",
        );
        c.deliveries = number(&deliveries[0]);
        c.delivered = number(&deliveries[1]);
        c.not_delivered = c.deliveries - c.delivered;
        c.never_arrived = deliveries[2]
            .split(',')
            .filter(|id| !id.is_empty() && !arrived.contains_key(*id))
            .map(str::to_owned)
            .collect();

        // Alerts: the database says which fell due; each must be made once and arrive once.
        let alerts = row("SELECT (SELECT COUNT(*) FROM deadlines WHERE policy = 'today')::text,
                    (SELECT COUNT(*) FROM deliveries WHERE purpose = 'escalation')::text,
                    (SELECT COUNT(DISTINCT deadline) FROM deliveries WHERE purpose = 'escalation')::text,
                    (SELECT COALESCE(SUM(json_array_length(reminders::json)), 0) FROM deadlines
                     WHERE policy = 'tomorrow')::text,
                    (SELECT COUNT(*) FROM deliveries WHERE purpose = 'reminder')::text,
                    (SELECT COUNT(DISTINCT deadline) FROM deliveries WHERE purpose = 'reminder')::text,
                    (SELECT COALESCE(string_agg(delivery_id, ','), '') FROM deliveries
                     WHERE purpose IN ('reminder', 'escalation'))");
        c.escalations_due = number(&alerts[0]);
        c.escalations = number(&alerts[1]);
        c.escalations_distinct = number(&alerts[2]);
        c.reminders_due = number(&alerts[3]);
        c.reminders = number(&alerts[4]);
        c.reminders_distinct = number(&alerts[5]);
        c.alert_duplicates = alerts[6]
            .split(',')
            .filter(|id| arrived.get(*id).is_some_and(|t| t.len() > 1))
            .count();

        // Per case (one per client), the messages reached the case system in the order the
        // client's submissions were accepted; a duplicate may repeat the last, never go back.
        let mut by_case: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for r in receiver.received() {
            let case = r.event["subject"].as_str().unwrap().to_owned();
            let message = r.event["data"]["message_id"].as_str().unwrap();
            let index = message.rsplit('-').next().unwrap().parse().unwrap();
            by_case.entry(case).or_default().push(index);
        }
        c.cases = by_case.len();
        for (case, order) in by_case {
            if order.windows(2).any(|w| w[1] < w[0]) {
                c.out_of_order.push(format!("{case}: {order:?}"));
            }
        }
        c
    }

    fn print(&self) {
        eprintln!("three instances, {CLIENTS} clients, one killed with SIGKILL and started again:");
        eprintln!(
            "  messages: {} answered 202, {} answered 200 (sent again after the kill took the answer), \
             {} stored ({} distinct message ids), {} stored unanswered, {} answered and not stored",
            self.accepted,
            self.repeated,
            self.stored,
            self.stored_distinct,
            self.unanswered_stored,
            self.missing.len()
        );
        eprintln!(
            "  deliveries: {} in the outbox, {} delivered, {} not; {} arrivals at the receivers, \
             {} delivery ids never arrived, {} arrived more than once ({} of them first after the kill, \
             {} first after the restart)",
            self.deliveries,
            self.delivered,
            self.not_delivered,
            self.arrivals,
            self.never_arrived.len(),
            self.duplicated.len(),
            self.duplicated_after_kill.len(),
            self.duplicated_after_restart
        );
        eprintln!(
            "  alerts: {} escalations due, {} made ({} deadlines); {} reminders due, {} made ({} deadlines); \
             {} alert emails arrived more than once",
            self.escalations_due,
            self.escalations,
            self.escalations_distinct,
            self.reminders_due,
            self.reminders,
            self.reminders_distinct,
            self.alert_duplicates
        );
        eprintln!(
            "  order: {} cases, {} with messages out of order at the case system",
            self.cases,
            self.out_of_order.len()
        );
    }

    fn check(&self) {
        assert!(self.accepted > CLIENTS, "the clients got enough through: {self:?}");
        assert!(self.missing.is_empty(), "answered and not stored: {:?}", self.missing);
        assert_eq!(self.stored, self.stored_distinct, "each message stored once");
        assert_eq!(
            self.stored,
            self.accepted + self.repeated,
            "every stored message was answered (the clients sent each again until answered)"
        );
        assert_eq!(self.not_delivered, 0, "every delivery delivered");
        assert!(self.never_arrived.is_empty(), "never arrived: {:?}", self.never_arrived);
        assert!(
            self.duplicated_after_kill.is_empty(),
            "sent twice though not in flight at the kill: {:?}",
            self.duplicated_after_kill
        );
        assert!(
            self.duplicated.len() <= CONCURRENCY,
            "more sent twice ({}) than the killed instance can have had in flight ({CONCURRENCY})",
            self.duplicated.len()
        );
        assert!(self.escalations_due > 0, "escalations fell due during the run");
        assert_eq!(self.escalations, self.escalations_due, "each escalation made once");
        assert_eq!(self.escalations_distinct, self.escalations_due, "one per deadline");
        assert_eq!(self.reminders, self.reminders_due, "each reminder made once");
        assert_eq!(self.reminders_distinct, self.reminders_due, "one per deadline");
        assert_eq!(self.cases, CLIENTS, "every case reached the case system");
        assert!(self.out_of_order.is_empty(), "out of order: {:?}", self.out_of_order);
    }
}

/// The local part of an email's Message-ID: the delivery id (alerts go alone here).
fn message_id(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .expect("every email has a Message-ID");
    let id = line["message-id:".len()..].trim().trim_start_matches('<');
    id.split('@').next().unwrap().to_owned()
}
