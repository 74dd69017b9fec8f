//! The caseworkers' pages at the size the issue names: a team with 1,000 open deadlines (250
//! release notices, four deadlines each) and one case with 200 messages (a notice and 199
//! updates). Starts the gateway on port 0 with an SQLite file, files the messages over HTTP as
//! a prison would, signs a caseworker in (a session in the store, as the sign-in makes one),
//! then asks each page again and again over loopback and prints the median, p99 and worst time
//! from request to the last byte of the answer. `cargo bench --bench pages [-- ROUNDS]`.

#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

use indgang::auth::{Grant, Role, create_token, hash_token};
use indgang::config::Settings;
use indgang::domain::{Kind, Kommunekode};
use indgang::startup::Application;
use indgang::store::SessionRecord;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::time::{Duration, Instant};

const NOTICES: usize = 250;
const UPDATES: usize = 199;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(rounds));
}

async fn run(rounds: usize) {
    indgang::delivery::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("INDGANG__DATA_DIR", dir.path().display().to_string()),
        ("INDGANG__SERVER__BIND", "127.0.0.1:0".to_owned()),
        ("INDGANG__SERVER__WORKERS", "2".to_owned()),
        ("INDGANG__LOG__LEVEL", "warn".to_owned()),
    ];
    let settings = Settings::load_from(None, env.iter().map(|(k, v)| (k.to_string(), v.clone()))).unwrap();
    let app = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store();
    let stopper = app.stopper();
    let running = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let grant = Grant::Sender {
        sender_id: "kif-horsens".into(),
        kinds: vec![Kind::ReleaseNotice],
    };
    let (_, prison) = create_token(store.as_ref(), grant, Timestamp::now()).await.unwrap();
    let template: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/examples/release-notice/valid/initial-parole.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let submit = |doc: Value| {
        let request = client
            .post(format!("{address}/v1/release-notices"))
            .bearer_auth(&prison)
            .json(&doc);
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
            answer.json::<Value>().await.unwrap()
        }
    };

    let started = Instant::now();
    for n in 0..NOTICES {
        let mut doc = template.clone();
        doc["message_id"] = format!("BENCH-{n}").into();
        // A distinct valid CPR number per notice: day 01–28, month, year, and a serial.
        doc["citizen"]["cpr"] = format!(
            "{:02}{:02}{:02}-{:04}",
            1 + n % 28,
            1 + (n / 28) % 12,
            60 + n % 30,
            1000 + n
        )
        .into();
        submit(doc).await;
    }
    let mut first = template.clone();
    first["message_id"] = "BENCH-CASE-0".into();
    first["citizen"]["cpr"] = "150385-1234".into();
    let case_ref = submit(first).await["case_ref"].as_str().unwrap().to_owned();
    for n in 1..=UPDATES {
        let mut update = template.clone();
        update["message_id"] = format!("BENCH-CASE-{n}").into();
        update["citizen"]["cpr"] = "150385-1234".into();
        update["notice_type"] = "update".into();
        update["previous_message_id"] = format!("BENCH-CASE-{}", n - 1).into();
        submit(update).await;
    }
    println!(
        "filed             {} notices over HTTP in {:.1} s; case {case_ref} has {} messages",
        NOTICES + 1 + UPDATES,
        started.elapsed().as_secs_f64(),
        UPDATES + 1
    );

    // A caseworker of the team, signed in: the session the sign-in would make.
    let id = "bench-session-id-that-is-long-enough-0123456789";
    let now = Timestamp::now();
    let roles = vec![Role::Caseworker {
        municipality: Kommunekode::parse("751").unwrap().to_string(),
        team: Some("intake".to_owned()),
    }];
    store
        .create_session(
            SessionRecord {
                id_hash: hash_token(id),
                subject: "bench".into(),
                name: Some("Benchmark".into()),
                roles: serde_json::to_string(&roles).unwrap(),
                csrf_token: "bench-csrf".into(),
                created_at: now,
                last_seen: now,
            },
            now - SignedDuration::from_hours(1),
            now - SignedDuration::from_hours(24),
        )
        .await
        .unwrap();
    let open: Value = client
        .get(format!("{address}/v1/deadlines?state=open&team=intake&limit=1000"))
        .header("cookie", format!("indgang_session={id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    println!(
        "open deadlines    {} of team intake (the list stops at 1,000)",
        open["deadlines"].as_array().map_or(0, Vec::len)
    );

    let pages = [
        ("inbox", "/indbakke".to_owned()),
        ("inbox, page 5", "/indbakke?side=5".to_owned()),
        ("deadlines, open", "/frister?vis=aabne".to_owned()),
        ("deadlines, week", "/frister?vis=uge".to_owned()),
        ("case, 200 msgs", format!("/sager/{case_ref}")),
        ("reports", "/rapporter".to_owned()),
    ];
    println!("page              {rounds} rounds each: median / p99 / worst (ms), bytes");
    for (label, path) in pages {
        let mut times = Vec::with_capacity(rounds);
        let mut bytes = 0;
        let mut status = 0;
        for _ in 0..rounds {
            let asked = Instant::now();
            let answer = client
                .get(format!("{address}{path}"))
                .header("cookie", format!("indgang_session={id}"))
                .send()
                .await
                .unwrap();
            status = answer.status().as_u16();
            bytes = answer.bytes().await.unwrap().len();
            times.push(asked.elapsed());
        }
        if status != 200 {
            println!("{label:<17} answered {status}: not measured");
            continue;
        }
        times.sort();
        println!(
            "{label:<17} {:>6.2} / {:>6.2} / {:>6.2}   {bytes}",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap())
        );
    }
    stopper.stop().await;
    running.await.unwrap().unwrap();
}
