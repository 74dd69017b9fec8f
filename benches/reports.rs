//! The report pages on a year of data: files a year of initial release notices (received through
//! 2026, releases 10 to 120 days after each, a tenth of them to Aarhus, the rest over the 98
//! municipalities, from five prisons), each with its deadlines, lets the scheduler mark the
//! passed ones missed, then renders each report page (computed, charted and templated, as the
//! server does) for Aarhus and for every municipality, at 31 December 2026.
//! `cargo bench --bench reports [-- NOTICES]` (default 20,000).

#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

use indgang::config::Settings;
use indgang::deadlines::{Arrival, Policies};
use indgang::domain::{Kind, Kommunekode};
use indgang::store::sqlite::SqliteStore;
use indgang::store::{NewMessage, Store, Subject, SubjectKind};
use indgang::web::reports::{ReportQuery, render};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PRISONS: [&str; 5] = [
    "Anstalten ved Horsens",
    "Vestre Fængsel",
    "Statsfængslet Østjylland",
    "Anstalten ved Søbysøgård",
    "Storstrøm Fængsel",
];

fn main() {
    let wanted: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let settings = Arc::new(Settings::load_from(None, Vec::new()).unwrap());
    let policies = Policies::from_settings(&settings).unwrap();
    let template: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/examples/release-notice/valid/initial-parole.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let municipalities: Vec<Kommunekode> = Kommunekode::all().collect();
    let aarhus = Kommunekode::parse("751").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("bench.db"), 4, 512, std::time::Duration::ZERO).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let year_start: Timestamp = "2026-01-01T09:00:00Z".parse().unwrap();
    let now: Timestamp = "2026-12-31T12:00:00Z".parse().unwrap();

    let started = Instant::now();
    let mut deadlines_stored = 0usize;
    runtime.block_on(async {
        let mut n = 0usize;
        while n < wanted {
            let mut batch = Vec::with_capacity(512);
            for _ in 0..512.min(wanted - n) {
                let received = year_start + jiff::SignedDuration::from_mins((n * 365 * 24 * 60 / wanted) as i64);
                let release =
                    indgang::domain::copenhagen_date(received) + jiff::Span::new().days(10 + (n % 111) as i64);
                let municipality = if n.is_multiple_of(10) {
                    aarhus
                } else {
                    municipalities[n % municipalities.len()]
                };
                let mut doc = template.clone();
                doc["release"]["expected_date"] = release.to_string().into();
                doc.as_object_mut().unwrap().remove("release_meeting");
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
                deadlines_stored += deadlines.len();
                let hash = |tag: u8| {
                    let mut h = [tag; 16];
                    h[..8].copy_from_slice(&(n as u64).to_le_bytes());
                    h
                };
                batch.push(NewMessage {
                    receipt_id,
                    kind: Kind::ReleaseNotice,
                    sender_id: format!("kif-{}", n % PRISONS.len()),
                    message_id: format!("B-{n}"),
                    content_hash: hash(1),
                    offer_hash: None,
                    municipality,
                    subject: Subject {
                        kind: SubjectKind::Citizen,
                        match_hash: hash(2),
                        cpr_sealed: Some(vec![0; 40]),
                    },
                    body_sealed: vec![0; 64],
                    summary: json!({
                        "notice_type": "initial",
                        "release.expected_date": release.to_string(),
                        "sender.name": PRISONS[n % PRISONS.len()],
                        "cover_letter": !n.is_multiple_of(3),
                    })
                    .to_string(),
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
        // The deadlines passed by now are missed, as the scheduler would have marked them.
        while store
            .fire_deadlines(now, 5000, jiff::SignedDuration::ZERO)
            .await
            .unwrap()
            == 5000
        {}
    });
    println!(
        "stored            {wanted} notices with {deadlines_stored} deadlines in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    for path in ["institutioner", "kommuner", "teams"] {
        for municipality in [Some("751".to_owned()), None] {
            let mut times: Vec<Duration> = (0..21)
                .map(|_| {
                    runtime.block_on(async {
                        let started = Instant::now();
                        let page = render(
                            store.clone(),
                            settings.clone(),
                            path,
                            municipality.clone(),
                            &ReportQuery::default(),
                            now,
                        )
                        .await
                        .unwrap();
                        let body = actix_web::body::to_bytes(page.into_body()).await.unwrap();
                        assert!(body.len() > 1000);
                        started.elapsed()
                    })
                })
                .collect();
            times.sort();
            println!(
                "/rapporter/{path:<14} {:<6} median {:>7.2} ms   worst {:>7.2} ms",
                municipality.as_deref().unwrap_or("alle"),
                times[times.len() / 2].as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3,
            );
        }
    }
}
