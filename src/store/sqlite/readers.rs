//! A small pool of read-only connections. WAL lets them read while the writer commits; queries
//! run on tokio's blocking threads so the HTTP workers never wait on the disk.
//!
//! A connection goes back to the pool from inside the blocking task, whatever happens to the
//! request that asked (cancelled, timed out) or to the query (panicked): the pool never shrinks.

use anyhow::Context;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

/// Holds a borrowed connection and its permit; dropping it returns both.
struct Lease {
    conn: Option<Connection>,
    idle: Arc<Mutex<Vec<Connection>>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A poisoned lock only means another lease panicked while pushing; the Vec is fine.
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }
}

impl Readers {
    pub fn new(connections: Vec<Connection>) -> Readers {
        let permits = Arc::new(Semaphore::new(connections.len()));
        Readers {
            idle: Arc::new(Mutex::new(connections)),
            permits,
        }
    }

    pub async fn read<T, F>(&self, query: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .context("the read pool is closed")?;
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .context("no idle read connection")?;
        let lease = Lease {
            conn: Some(conn),
            idle: self.idle.clone(),
            _permit: permit,
        };
        tokio::task::spawn_blocking(move || {
            let lease = lease;
            query(lease.conn.as_ref().expect("a lease holds its connection"))
        })
        .await
        .context("a read query panicked")?
    }

    pub fn close(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
