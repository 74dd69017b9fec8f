//! The deadline scheduler at scale: files release notices until 1,000,000 deadlines are stored
//! and open, then times scheduler ticks with nothing, a little and a lot due. A tick reads the
//! due ones through the due alarms (on SQLite one per case, each leading to its case's
//! deadlines, one range of the table's key), so its cost follows what is due, not what is
//! stored. `cargo bench --bench scheduler [-- DEADLINES]`.

#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

use indgang::config::Settings;
use indgang::deadlines::{Arrival, Policies};
use indgang::domain::{Kind, Kommunekode};
use indgang::store::sqlite::SqliteStore;
use indgang::store::{NewMessage, Store, Subject, SubjectKind};
use jiff::Timestamp;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let wanted: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let settings = Settings::load_from(None, Vec::new()).unwrap();
    let policies = Policies::from_settings(&settings).unwrap();
    let received: Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
    let template: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/examples/release-notice/valid/initial-parole.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("bench.db"), 4, 512, std::time::Duration::ZERO).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Release dates spread over two years from February 2027; each notice makes four deadlines
    // (acknowledge, housing, benefit, action plan), each with its reminders.
    let started = Instant::now();
    let mut stored = 0usize;
    let mut n = 0usize;
    runtime.block_on(async {
        while stored < wanted {
            let mut batch = Vec::with_capacity(512);
            for _ in 0..512 {
                let mut doc = template.clone();
                let release = jiff::civil::date(2027, 2, 1) + jiff::Span::new().days((n % 730) as i64);
                doc["release"]["expected_date"] = release.to_string().into();
                let receipt_id = format!("bench-{n}");
                let deadlines = policies
                    .plan(&Arrival {
                        kind: Kind::ReleaseNotice,
                        document: &doc,
                        receipt_id: &receipt_id,
                        received_at: received,
                        team: Some("intake"),
                        alerts_at: received,
                    })
                    .expect("dates within the calendar");
                stored += deadlines.len();
                let hash = |tag: u8| {
                    let mut h = [tag; 16];
                    h[..8].copy_from_slice(&(n as u64).to_le_bytes());
                    h
                };
                batch.push(NewMessage {
                    receipt_id,
                    kind: Kind::ReleaseNotice,
                    sender_id: "kif-bench".into(),
                    message_id: format!("B-{n}"),
                    content_hash: hash(1),
                    offer_hash: None,
                    municipality: Kommunekode::parse("751").unwrap(),
                    subject: Subject {
                        kind: SubjectKind::Citizen,
                        match_hash: hash(2),
                        cpr_sealed: Some(vec![0; 40]),
                    },
                    body_sealed: vec![0; 64],
                    summary: "null".to_owned(),
                    warnings: Vec::new(),
                    received_at: received,
                    deliveries: Vec::new(),
                    deadlines,
                });
                n += 1;
            }
            let tasks: Vec<_> = batch
                .into_iter()
                .map(|m| {
                    let store = store.clone();
                    tokio::spawn(async move { store.submit(m).await.unwrap() })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        }
    });
    println!(
        "stored            {stored} open deadlines from {n} notices in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The acknowledgements fall due first (24 November); escalate them all out of the way so
    // that the ticks below see reminders spread over the release dates.
    let tick = |now: Timestamp| {
        runtime.block_on(async {
            let started = Instant::now();
            let mut fired = 0;
            loop {
                let k = store
                    .fire_deadlines(now, 500, jiff::SignedDuration::ZERO)
                    .await
                    .unwrap();
                fired += k;
                if k < 500 {
                    break;
                }
            }
            (fired, started.elapsed())
        })
    };
    let (fired, took) = tick("2026-11-24T16:00:00Z".parse().unwrap());
    println!(
        "catch-up          {fired} deadlines fired in {:.2} s ({:.1} us each)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / fired.max(1) as f64
    );

    let plan = rusqlite::Connection::open(dir.path().join("bench.db"))
        .unwrap()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT at, case_id FROM alarms WHERE at <= 0 ORDER BY at, case_id",
            [],
            |row| row.get::<_, String>(3),
        )
        .unwrap();
    println!("tick query plan   {plan}");

    // Reminders and breaches fall due at 16:00 Copenhagen time (15:00 UTC in winter).
    let mut now: Timestamp = "2026-11-24T16:00:00Z".parse().unwrap();
    for (label, at) in [
        ("nothing due", "2026-12-01T15:00:01Z"),
        ("first reminders", "2026-12-15T15:00:01Z"),
        ("a day later", "2026-12-16T15:00:01Z"),
        ("a week later", "2026-12-23T15:00:01Z"),
        ("a month later", "2027-01-22T15:00:01Z"),
        ("a second later", "2027-01-22T15:00:02Z"),
    ] {
        now = at.parse().unwrap();
        let (fired, took) = tick(now);
        let each = if fired == 0 {
            String::new()
        } else {
            format!("  ({:.1} us per due deadline)", took.as_secs_f64() * 1e6 / fired as f64)
        };
        println!(
            "tick {label:<16} {fired:>7} due  {:>9.3} ms{each}",
            took.as_secs_f64() * 1e3
        );
    }
    let (fired, took) = tick(now);
    println!(
        "tick again at once    {fired:>7} due  {:>9.3} ms  (an idle tick over {stored} stored)",
        took.as_secs_f64() * 1e3
    );

    // The reports' deadline rows, a month of due dates and the whole two years: as stored (a
    // scan of the table), then with an index on due_at as before migration 0005.
    let side = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    for index in [false, true] {
        if index {
            side.execute_batch("CREATE INDEX bench_by_due ON deadlines (due_at)")
                .unwrap();
        }
        for (label, from, to) in [
            ("a month", "2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"),
            ("everything", "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ] {
            let (from, to): (Timestamp, Timestamp) = (from.parse().unwrap(), to.parse().unwrap());
            let started = Instant::now();
            let rows = runtime
                .block_on(store.deadline_rows(Some("751".to_owned()), from, to))
                .unwrap();
            println!(
                "report rows {label:<10} {:>7} rows {:>9.1} ms{}",
                rows.len(),
                started.elapsed().as_secs_f64() * 1e3,
                if index { "  (with an index on due_at)" } else { "" }
            );
        }
    }
    runtime.block_on(store.close());
}
