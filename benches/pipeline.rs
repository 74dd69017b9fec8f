//! The intake pipeline without HTTP, stage by stage, to see where a message's time goes:
//! validation (schema + domain rules), routing and deadline planning, sealing (hash + encryption), and filing through the
//! group-commit store with 64 concurrent submitters, three times: the message and its case alone,
//! with its outbox rows, and with its deadlines too (as the gateway files it).
//! `cargo bench --bench pipeline`. Routing, planning and sealing are the gateway's own functions
//! (`indgang::intake::filing`). `PIPELINE_MESSAGES=N` sends N messages instead of 50,000;
//! `PIPELINE_FILING=no` stops after sealing (tools/instructions.sh runs it so under callgrind).
//! After each filing run it prints what each of the store's threads spent per message (CPU time
//! and bytes handed to write(2), from /proc on Linux): the writer serialises filing, so its CPU
//! time bounds the rate, and its bytes are the WAL that the syncer fsyncs and the checkpointer
//! copies back.
//!
//! `PIPELINE_FILING=full` runs only the last filing (as the gateway files): with
//! `PIPELINE_MESSAGES=5000` it makes a run short enough for
//! `valgrind --tool=callgrind --toggle-collect='*run_batch*'`, whose instruction count divided
//! by the messages is the writer's work per message, repeatable on a busy machine (see
//! docs/benchmarks.md). `PIPELINE_SCRATCH_SQL` is run on each fresh database before its filing
//! (a scratch change of layout, e.g. `DROP INDEX deliveries_dead`), to count what an index costs.

#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

use indgang::config::Settings;
use indgang::deadlines::Policies;
use indgang::domain::Kind;
use indgang::intake::filing::{self, Planned};
use indgang::routing::Router;
use indgang::store::sqlite::SqliteStore;
use indgang::store::{NewMessage, Store};
use indgang::validation::{Checked, Validator};
use indgang::vault::Vault;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

fn message(n: usize) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/examples/release-notice/valid/initial-parole.json"
    );
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["message_id"] = format!("bench-{n:010}").into();
    doc["citizen"]["cpr"] = format!(
        "{:02}{:02}{:02}-{:04}",
        1 + n % 28,
        1 + (n / 28) % 12,
        50 + (n / 336) % 50,
        n % 4000
    )
    .into();
    doc["notes"] = "Ønsker bolig i Aarhus Vest og har en hund. ".repeat(32).into();
    doc
}

fn main() {
    let settings = Settings::load_from(None, Vec::new()).unwrap();
    let validator = Validator::from_settings(&settings).unwrap();
    let router = Router::from_settings(&settings).unwrap();
    let policies = Policies::from_settings(&settings).unwrap();
    let vault = Vault::from_master_key(&[7; 32]);
    let now = jiff::Timestamp::now();
    let n: usize = std::env::var("PIPELINE_MESSAGES")
        .ok()
        .map_or(50_000, |v| v.parse().expect("PIPELINE_MESSAGES: a number of messages"));
    let full_only = std::env::var("PIPELINE_FILING").is_ok_and(|v| v == "full");
    let bodies: Vec<Vec<u8>> = (0..n).map(|i| serde_json::to_vec(&message(i)).unwrap()).collect();
    println!("message size      {} bytes", bodies[0].len());

    // Warm-up: the allocator's first touch of fresh memory is not what a running gateway pays.
    for body in bodies.iter().take(5_000.min(n / 10)) {
        let doc: Value = serde_json::from_slice(body).unwrap();
        validator.check(Kind::ReleaseNotice, doc, now).unwrap();
    }
    // Each stage's input is made before its clock starts; a stage's output is kept for the next.
    // Each stage is a function of its own, so that tools/instructions.sh finds its instructions
    // under its name in callgrind's profile.
    let started = Instant::now();
    stage_parse_serde_json(&bodies);
    report("parse JSON (serde_json)", n, started);
    let started = Instant::now();
    let docs = stage_parse(&bodies);
    report("parse JSON (gateway)", n, started);
    let started = Instant::now();
    let checked = stage_check(&validator, docs, now);
    report("schema + domain rules + warnings", n, started);
    let started = Instant::now();
    let planned = stage_plan(&router, &policies, &checked, now);
    report("route + plan deadlines", n, started);
    let started = Instant::now();
    let messages = stage_seal(&vault, checked, planned, now);
    report("canonicalise + seal", n, started);
    if std::env::var("PIPELINE_FILING").is_ok_and(|v| v == "no") {
        return;
    }

    // Filing three times, each on a fresh database: what the writer pays for each part of a
    // message's transaction (the message and its case alone, as the foundation filed it; with
    // its outbox rows; with its deadlines too, as the gateway files it now).
    let bare: Vec<NewMessage> = messages
        .iter()
        .map(|m| NewMessage {
            deliveries: Vec::new(),
            deadlines: Vec::new(),
            ..m.clone()
        })
        .collect();
    let with_outbox: Vec<NewMessage> = messages
        .iter()
        .map(|m| NewMessage {
            deadlines: Vec::new(),
            ..m.clone()
        })
        .collect();
    if !full_only {
        file_all(bare, "file: message + case");
        file_all(with_outbox, "file: + outbox");
    }
    file_all(messages, "file: + outbox + deadlines");
}

#[inline(never)]
fn stage_parse_serde_json(bodies: &[Vec<u8>]) {
    for body in bodies {
        drop(std::hint::black_box(serde_json::from_slice::<Value>(body).unwrap()));
    }
}

/// What the gateway reads with: the same Value, a repeated member refused.
#[inline(never)]
fn stage_parse(bodies: &[Vec<u8>]) -> Vec<Value> {
    bodies
        .iter()
        .map(|body| indgang::validation::json::from_slice(body).unwrap())
        .collect()
}

#[inline(never)]
fn stage_check(validator: &Validator, docs: Vec<Value>, now: jiff::Timestamp) -> Vec<Checked> {
    docs.into_iter()
        .map(|doc| validator.check(Kind::ReleaseNotice, doc, now).unwrap())
        .collect()
}

/// Routing and deadline planning, as the gateway does them (two minutes' alert delay, the
/// default `alerts.group_window`).
#[inline(never)]
fn stage_plan(router: &Router, policies: &Policies, checked: &[Checked], now: jiff::Timestamp) -> Vec<Planned> {
    checked
        .iter()
        .map(|c| filing::plan(router, policies, jiff::SignedDuration::from_mins(2), c, now).unwrap())
        .collect()
}

#[inline(never)]
fn stage_seal(vault: &Vault, checked: Vec<Checked>, planned: Vec<Planned>, now: jiff::Timestamp) -> Vec<NewMessage> {
    checked
        .into_iter()
        .zip(planned)
        .map(|(c, p)| filing::seal(vault, c, p, now).unwrap())
        .collect()
}

/// Files `messages` on a fresh store from 64 concurrent submitters (group commit), and prints
/// the time per message and what the store's own threads spent on each.
fn file_all(messages: Vec<NewMessage>, stage: &str) {
    let n = messages.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, 4, 512, std::time::Duration::ZERO).unwrap());
    // `PIPELINE_SCRATCH_SQL`: SQL run on the fresh database before filing (a dropped or changed
    // index), to measure what one B-tree entry costs the writer without a migration of its own.
    if let Ok(sql) = std::env::var("PIPELINE_SCRATCH_SQL") {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        conn.execute_batch(&sql).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let threads_before = store_threads();
    let started = Instant::now();
    runtime.block_on(async {
        let queue = Arc::new(std::sync::Mutex::new(messages));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let queue = queue.clone();
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap().pop();
                    let Some(message) = next else { break };
                    store.submit(message).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    report(stage, n, started);
    // What the store's own threads spent per message: the writer is the one that serialises
    // filing, and what it writes is what the syncer fsyncs and the checkpointer copies back.
    for (name, after) in store_threads() {
        let before = threads_before
            .iter()
            .find(|(n, _)| *n == name)
            .map_or((0, 0), |(_, t)| *t);
        println!(
            "  {name:<20} {:>6.1} us CPU/message  {:>7.0} bytes written/message",
            (after.0 - before.0) as f64 * 1e6 / TICKS_PER_SECOND / n as f64,
            (after.1 - before.1) as f64 / n as f64
        );
    }
    runtime.block_on(store.close());
}

const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (clock ticks) and bytes handed to write(2) of the store's threads, by thread name,
/// from /proc (Linux; empty elsewhere).
fn store_threads() -> Vec<(String, (u64, u64))> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut threads: Vec<(String, (u64, u64))> = tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?.trim().to_owned();
            if !name.starts_with("indgang-") {
                return None;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // The fields after the parenthesised name: utime and stime are the 12th and 13th.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let cpu = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            let io = std::fs::read_to_string(dir.join("io")).ok()?;
            let written = io
                .lines()
                .find_map(|line| line.strip_prefix("wchar: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            Some((name, (cpu, written)))
        })
        .collect();
    threads.sort();
    threads
}

fn report(stage: &str, n: usize, started: Instant) {
    let elapsed = started.elapsed();
    println!(
        "{stage:<36} {:>8.1} us/message  {:>9.0} messages/s",
        elapsed.as_secs_f64() * 1e6 / n as f64,
        n as f64 / elapsed.as_secs_f64()
    );
}
