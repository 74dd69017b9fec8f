//! A small pool of read-only connections. WAL lets them read while the writer commits; queries
//! run on tokio's blocking threads so the HTTP workers never wait on the disk.

use anyhow::Context;
use rusqlite::Connection;
use std::sync::Mutex;
use tokio::sync::Semaphore;

pub struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub fn new(connections: Vec<Connection>) -> Readers {
        let permits = Semaphore::new(connections.len());
        Readers {
            idle: Mutex::new(connections),
            permits,
        }
    }

    pub async fn read<T, F>(&self, query: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.context("the read pool is closed")?;
        let conn = self
            .idle
            .lock()
            .expect("read pool lock")
            .pop()
            .context("no idle read connection")?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = query(&conn);
            (conn, result)
        })
        .await
        .context("a read query panicked")?;
        self.idle.lock().expect("read pool lock").push(conn);
        result
    }

    pub fn close(&self) {
        self.permits.close();
        self.idle.lock().expect("read pool lock").clear();
    }
}
