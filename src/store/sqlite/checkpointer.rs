//! Copies the WAL back into the database file from a thread of its own, so that the bulk of that
//! work is off the writer's path. PASSIVE checkpoints never block the writer or readers. Under a
//! steady stream of commits they never quite catch up, so the writer keeps SQLite's automatic
//! checkpoint (every 65536 pages, 256 MiB): by then nearly every frame is already copied, the
//! writer's own checkpoint is short, and the WAL starts from the beginning again, which keeps it
//! bounded.
//!
//! Short, but not free: it copies what the last PASSIVE run left and fsyncs the WAL and the
//! database inside a commit, 5–25 ms in which nothing is filed. At 2,000 messages/s the WAL grows
//! by about 45 KB per message (small commits rewrite the same pages), so at 16384 pages this
//! happened every 0.7 s and made most of the p99 at that rate; at 65536 it happens a quarter as
//! often (p99 at 2,000/s 11–14 ms, once 43, → 8–12 ms; p99.9 23–27 → 13–21 ms). The price is
//! a WAL file of up to 256 MiB, and that much more to read when the gateway starts after a crash.
//!
//! On close, a TRUNCATE checkpoint leaves an empty WAL behind, if no other process (a running
//! gateway, when this is a `token` command) is using the database: it never waits for one.

use anyhow::Context;
use rusqlite::Connection;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

const PERIOD: Duration = Duration::from_millis(20);

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
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(PERIOD) {
        if let Err(e) = checkpoint(&connection, "PASSIVE") {
            tracing::warn!(error = %e, "a WAL checkpoint failed; the next one will retry");
        }
    }
    let _ = connection.execute_batch("PRAGMA busy_timeout = 0;");
    match checkpoint(&connection, "TRUNCATE") {
        Ok(false) => {}
        Ok(true) => tracing::debug!("another connection is using the WAL; it stays as it is"),
        Err(e) => tracing::debug!(error = %e, "no final WAL checkpoint; the WAL is replayed on the next start"),
    }
}

/// Runs a checkpoint; `true` when it could not finish because others were busy.
fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<bool> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(row.get::<_, i64>(0)? == 1)
    })
}
