//! Copies the WAL back into the database file from a thread of its own, so that the bulk of that
//! work is off the writer's path. PASSIVE checkpoints never block the writer or readers.
//!
//! It runs once a second (`PERIOD`). Every commit rewrites the pages at the ends of the tables and
//! indexes, and a checkpoint copies only the latest copy of each page: run every 20 ms, as it did
//! before, it copied the same hot pages fifty times a second, 5.5–6.8 KB per message filed at full
//! speed, and fsynced the database file as often. Once a second it copies 3.3–3.5 KB per message,
//! and its CPU fell from 10–11 to 4–5 µs per message in the pipeline bench (docs/benchmarks.md).
//! The WAL is fsynced by the syncer before any answer, so how often it is copied back changes
//! nothing in what is durable; only how much WAL there is to read when the gateway starts after a
//! crash, which `WAL_AUTOCHECKPOINT` bounds either way.
//!
//! Under a steady stream of commits PASSIVE checkpoints never quite catch up (the WAL only starts
//! from the beginning again once every frame is copied), so the writer keeps SQLite's automatic
//! checkpoint (every `WAL_AUTOCHECKPOINT` = 65536 pages, 256 MiB). That one runs inside a commit:
//! it copies what the last PASSIVE run left and fsyncs the WAL and the database, 5–25 ms in which
//! nothing is filed. So that it finds little left to copy, the checkpointer runs every 20 ms
//! (`PERIOD_NEAR_FULL`) once the WAL is within `NEAR_FULL` pages of it, and waits less than a
//! second when, at the rate the WAL grew since the last run, it would get there sooner (at full
//! speed the WAL grows by some 150 MB a second).
//!
//! At 2,000 messages/s the WAL grows by 25–45 KB per message (small commits rewrite the same
//! pages); at 16384 pages the writer's checkpoint happened every 0.7 s and made most of the p99 at
//! that rate; at 65536 it happens a quarter as often (p99 at 2,000/s 11–14 ms, once 43, → 8–12
//! ms; p99.9 23–27 → 13–21 ms). The price is a WAL file of up to 256 MiB, and that much more to
//! read when the gateway starts after a crash.
//!
//! On close, a TRUNCATE checkpoint leaves an empty WAL behind, if no other process (a running
//! gateway, when this is a `token` command) is using the database: it never waits for one.

use anyhow::Context;
use rusqlite::Connection;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::WAL_AUTOCHECKPOINT;

/// How often the WAL is copied back while the writer's own checkpoint is far off.
const PERIOD: Duration = Duration::from_secs(1);
/// How often once the WAL is within `NEAR_FULL` pages of the writer's own checkpoint.
const PERIOD_NEAR_FULL: Duration = Duration::from_millis(20);
/// 32 MiB of WAL: a fifth of a second at full speed, ten runs at `PERIOD_NEAR_FULL`.
const NEAR_FULL: i64 = 8192;

pub struct Checkpointer {
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub fn start(connection: Connection) -> anyhow::Result<Checkpointer> {
        connection.execute_batch("PRAGMA busy_timeout = 5000;")?;
        let (stop, stopped) = channel();
        let thread = std::thread::Builder::new()
            .name("indgang-checkpoint".into())
            .spawn(move || run(connection, stopped))
            .context("starting the checkpoint thread")?;
        Ok(Checkpointer {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn close(&self) {
        self.stop.lock().expect("checkpointer lock").take();
        if let Some(thread) = self.thread.lock().expect("checkpointer lock").take() {
            let _ = thread.join();
        }
    }
}

fn run(connection: Connection, stopped: Receiver<()>) {
    let mut wait = PERIOD;
    let mut last = (Instant::now(), 0);
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
        wait = match checkpoint(&connection, "PASSIVE") {
            Ok(done) => {
                let now = Instant::now();
                let (then, pages_then) = std::mem::replace(&mut last, (now, done.wal_pages));
                // After the WAL started from the beginning again, the pages since are at most what
                // it grew by.
                let grown = if done.wal_pages >= pages_then {
                    done.wal_pages - pages_then
                } else {
                    done.wal_pages
                };
                next_wait(done.wal_pages, grown as f64 / now.duration_since(then).as_secs_f64())
            }
            Err(e) => {
                tracing::warn!(error = %e, "a WAL checkpoint failed; the next one will retry");
                PERIOD
            }
        };
    }
    let _ = connection.execute_batch("PRAGMA busy_timeout = 0;");
    match checkpoint(&connection, "TRUNCATE") {
        Ok(done) if !done.busy => {}
        Ok(_) => tracing::debug!("another connection is using the WAL; it stays as it is"),
        Err(e) => tracing::debug!(error = %e, "no final WAL checkpoint; the WAL is replayed on the next start"),
    }
}

/// How long to wait before the next checkpoint, after one that found `wal_pages` pages in the WAL
/// growing by `growth` pages a second: `PERIOD`, unless the WAL would come within `NEAR_FULL` pages
/// of the writer's own checkpoint before then; from there on `PERIOD_NEAR_FULL`.
fn next_wait(wal_pages: i64, growth: f64) -> Duration {
    let room = WAL_AUTOCHECKPOINT - NEAR_FULL - wal_pages;
    if room <= 0 {
        return PERIOD_NEAR_FULL;
    }
    if growth.is_nan() || growth <= 0.0 {
        return PERIOD;
    }
    Duration::try_from_secs_f64(room as f64 / growth)
        .unwrap_or(PERIOD)
        .clamp(PERIOD_NEAR_FULL, PERIOD)
}

struct Done {
    /// It could not finish because others were busy.
    busy: bool,
    /// Pages in the WAL since it last started from the beginning.
    wal_pages: i64,
}

fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<Done> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(Done {
            busy: row.get::<_, i64>(0)? == 1,
            wal_pages: row.get(1)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_copies_often_only_when_the_writers_own_checkpoint_is_near() {
        let far = WAL_AUTOCHECKPOINT - NEAR_FULL;
        // A quiet WAL, or one growing slowly: once a period.
        assert_eq!(next_wait(0, 0.0), PERIOD);
        assert_eq!(next_wait(1000, 100.0), PERIOD);
        assert_eq!(next_wait(far - 1, 0.0), PERIOD);
        // Near the writer's checkpoint, or soon to be: often, but not more often than that.
        assert_eq!(next_wait(far, 0.0), PERIOD_NEAR_FULL);
        assert_eq!(next_wait(WAL_AUTOCHECKPOINT + 10, 5000.0), PERIOD_NEAR_FULL);
        assert_eq!(next_wait(far - 10_000, 20_000.0), Duration::from_millis(500));
        assert_eq!(next_wait(far - 10, 1e9), PERIOD_NEAR_FULL);
    }
}
