//! Group commit. One thread owns the writing connection. Submissions queue up while the previous
//! commit is being synced to disk; the thread then runs the whole queue in one transaction and
//! commits once. Every job's answer is released only after that commit returned, so nothing is
//! acknowledged before it is durable, and many submissions share one fsync.
//!
//! Jobs are isolated without savepoints (a savepoint copies every page it touches to a
//! sub-journal, which cost a tenth of the writer's time): when a job fails, the transaction is
//! rolled back, that job alone gets its error, and the others run again in a new transaction.
//! Jobs are therefore `Fn`, and must only touch the database.

use anyhow::Context;
use rusqlite::Connection;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

type Output = anyhow::Result<Box<dyn Any + Send>>;
type Work = Box<dyn Fn(&Connection) -> Output + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<Output>,
}

pub struct Writer {
    queue: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn start(connection: Connection, max_batch: usize) -> anyhow::Result<Writer> {
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("indgang-writer".into())
            .spawn(move || run(connection, rx, max_batch))
            .context("starting the writer thread")?;
        Ok(Writer {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `work` in the next group transaction and returns its result once committed.
    pub async fn write<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |conn| work(conn).map(|value| Box::new(value) as Box<dyn Any + Send>));
        {
            let queue = self.queue.lock().expect("writer queue lock");
            let sender = queue.as_ref().context("the store is closed")?;
            sender
                .send(Job { work, reply })
                .map_err(|_| anyhow::anyhow!("the writer thread has stopped"))?;
        }
        let output = answer.await.context("the writer thread dropped a job")??;
        Ok(*output.downcast::<T>().expect("a job answers with its own type"))
    }

    /// Stops taking jobs, lets the queued ones finish and waits for the thread.
    pub fn close(&self) {
        self.queue.lock().expect("writer queue lock").take();
        if let Some(thread) = self.thread.lock().expect("writer thread lock").take() {
            let _ = thread.join();
        }
    }
}

fn run(connection: Connection, mut rx: mpsc::UnboundedReceiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&connection, &mut batch);
    }
}

fn run_batch(conn: &Connection, batch: &mut Vec<Job>) {
    let size = batch.len();
    loop {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let cause = format!("{e:#}");
            for job in batch.drain(..) {
                let _ = job
                    .reply
                    .send(Err(anyhow::anyhow!("could not begin a transaction: {cause}")));
            }
            return;
        }
        let mut outputs = Vec::with_capacity(batch.len());
        let mut failed = None;
        for (index, job) in batch.iter().enumerate() {
            let output = std::panic::catch_unwind(AssertUnwindSafe(|| (job.work)(conn)))
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a write job panicked")));
            match output {
                Ok(value) => outputs.push(value),
                Err(e) => {
                    failed = Some((index, e));
                    break;
                }
            }
        }
        if let Some((index, error)) = failed {
            let _ = conn.execute_batch("ROLLBACK");
            let _ = batch.remove(index).reply.send(Err(error));
            if batch.is_empty() {
                return;
            }
            continue;
        }
        let commit_started = std::time::Instant::now();
        let committed = conn.execute_batch("COMMIT");
        let commit_micros = commit_started.elapsed().as_micros() as u64;
        if commit_micros > 100_000 {
            tracing::warn!(
                size,
                commit_micros,
                "a commit took over 100 ms: the disk is slow to sync"
            );
        }
        match committed {
            Ok(()) => {
                tracing::trace!(size, "group commit");
                for (job, output) in batch.drain(..).zip(outputs) {
                    let _ = job.reply.send(Ok(output));
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                tracing::error!(error = %e, size, "a group commit failed; no job in it is acknowledged");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(anyhow::anyhow!("the commit failed: {e}")));
                }
            }
        }
        return;
    }
}
