//! Group commit, in two stages so that the disk and the CPU work at the same time.
//!
//! One thread (the writer) owns the writing connection. Submissions queue up while it is busy;
//! it then runs the whole queue in one transaction and commits, which writes the transaction's
//! pages to the WAL. The connection runs with `synchronous=NORMAL`, so the commit does not wait
//! for the disk: the batch's answers go to a second thread (the syncer), which makes the WAL
//! durable with one `fdatasync` for every batch committed since its last one, and only then
//! releases the answers. Meanwhile the writer already runs the next batch. Nothing is
//! acknowledged before its data is on disk, and one fsync serves many submissions.
//!
//! While the syncer is still busy with an earlier batch, the writer keeps a small transaction
//! open and runs whatever arrives meanwhile in it, and commits once the syncer is free (or the
//! batch has reached `GATHER_BELOW` jobs). A job that arrives during an fsync waits for the next fsync either way; committing
//! it in a transaction of its own would only write the pages that every transaction touches
//! (the ends of the tables and indexes) to the WAL once more. This took the WAL from 23 to 19 KB
//! per message at full speed, and from 60 to 49 KB per message (the delivery worker's
//! transactions included) at a steady 2,000 messages/s, where one fsync used to carry several
//! small commits. When the syncer is free, the writer still waits until
//! `storage.commit_interval` (1 ms by default) after the last commit began, while waiting brings
//! more jobs (`Pace`): at 2,000 messages/s this took the WAL from 46–49 to 32–33 KB per message.
//!
//! Jobs are isolated without savepoints (a savepoint copies every page it touches to a
//! sub-journal, which cost a tenth of the writer's time): when a job fails, the transaction is
//! rolled back, that job alone gets its error, and the others run again in a new transaction.
//! Jobs are therefore `Fn`, and must only touch the database. An error of the database itself
//! (disk full, I/O error, busy) fails the whole batch at once instead.
//!
//! While the disk cannot take a write (full, or an I/O error) the jobs fail with
//! `store::Unavailable` (a `503` with `Retry-After` for the sender), `writable()` turns false and
//! `/readyz` answers `503`. After a failed commit or a failed fsync the state of the disk is
//! unknown and the connection must not go on: before its next batch the writer re-opens the
//! database (as a database server restarts after such a failure), with a TRUNCATE checkpoint
//! that writes every committed page into the database file again and fsyncs it, and hands the
//! syncer a new handle of the WAL. While it cannot write, it tries a small write every
//! `PROBE_EVERY` even when nothing is sent; the first commit that is synced again makes it
//! writable. The queue is bounded, so a slow disk slows the senders down instead of filling the
//! memory.

use super::prepared::WriterConnection;
use crate::store::Unavailable;
use anyhow::Context;
use rusqlite::Connection;
use std::any::Any;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc as sync_mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, oneshot};

type Output = anyhow::Result<Box<dyn Any + Send>>;
type Work = Box<dyn Fn(&Connection) -> Output + Send>;

/// Where a job's answer goes: its caller's oneshot, and, when the caller is an HTTP worker, the
/// worker's hand-back (see [`answer_batches_here`]).
struct Reply {
    to: oneshot::Sender<Output>,
    back: Option<HandBack>,
}

impl Reply {
    /// Answers at once, from the thread that calls this.
    fn send(self, output: Output) -> Result<(), Output> {
        self.to.send(output)
    }
}

/// Answers with their callers' oneshots, as handed to an HTTP worker in one message.
type Answers = Vec<(oneshot::Sender<Output>, Output)>;

/// Where an HTTP worker takes the answers of its jobs, which it sends on to their callers there.
type HandBack = mpsc::UnboundedSender<Answers>;

/// On an HTTP worker: `Wanted` once [`answer_batches_here`] was called, `On` with the worker's
/// hand-back once its first job started the task that sends the answers on.
enum Here {
    Off,
    Wanted,
    On(HandBack),
}

thread_local! {
    static HERE: std::cell::RefCell<Here> = const { std::cell::RefCell::new(Here::Off) };
}

/// Marks this thread, an HTTP worker (a tokio `LocalRuntime`, or a runtime with a `LocalSet`
/// under actix's own `System`), as one that takes its jobs' answers in one message per synced
/// batch.
///
/// Each answer sent from the syncer thread wakes its caller's runtime with a write to an event fd,
/// and a busy worker has registered again by the next answer, so the wakes did not merge: the
/// syncer made 0.96 such system calls per message, 15 % of its time (docs/benchmarks.md, "Sealing
/// through ring, and plain blocks from mimalloc"). Handed over in one message per worker, a batch's
/// answers cost one wake, and the worker sends each on to its caller on its own thread, without a
/// system call.
///
/// The first job written from the thread starts the task that does so there, with
/// `tokio::task::spawn_local`; where that cannot run, the thread's answers come straight from the
/// syncer as on every other thread. Answers whose worker has gone are sent straight to their
/// callers too. Nothing on a marked thread may wait for a write synchronously (`block_on`): the
/// answer would come through a task of that same thread.
pub fn answer_batches_here() {
    HERE.with_borrow_mut(|here| {
        if matches!(here, Here::Off) {
            *here = Here::Wanted;
        }
    });
}

/// This thread's hand-back, started at the first job of a marked thread.
fn hand_back() -> Option<HandBack> {
    HERE.with_borrow_mut(|here| match here {
        Here::Off => None,
        Here::On(back) if !back.is_closed() => Some(back.clone()),
        _ => {
            let (back, mut batches) = mpsc::unbounded_channel::<Answers>();
            let forward = async move {
                while let Some(batch) = batches.recv().await {
                    send_each(batch);
                }
            };
            // `spawn_local` panics outside a local runtime or `LocalSet`: then this thread is
            // answered as any other.
            if std::panic::catch_unwind(AssertUnwindSafe(|| tokio::task::spawn_local(forward))).is_err() {
                tracing::warn!("a thread marked for batched answers cannot run local tasks; it is answered directly");
                *here = Here::Off;
                return None;
            }
            *here = Here::On(back.clone());
            Some(back)
        }
    })
}

/// The answers of a synced batch: those of each HTTP worker handed to it in one message, the rest
/// sent straight to their callers.
fn answer(answers: impl Iterator<Item = (Reply, Output)>) {
    let mut workers: Vec<(HandBack, Answers)> = Vec::new();
    for (reply, output) in answers {
        let Some(back) = reply.back else {
            let _ = reply.to.send(output);
            continue;
        };
        match workers.iter_mut().find(|(worker, _)| worker.same_channel(&back)) {
            Some((_, theirs)) => theirs.push((reply.to, output)),
            None => workers.push((back, vec![(reply.to, output)])),
        }
    }
    for (worker, theirs) in workers {
        // A worker that has stopped gives its answers back; they go straight to their callers.
        if let Err(returned) = worker.send(theirs) {
            send_each(returned.0);
        }
    }
}

/// Sends each answer to its caller, from this thread.
fn send_each(answers: Answers) {
    for (to, output) in answers {
        let _ = to.send(output);
    }
}

struct Job {
    work: Work,
    reply: Reply,
}

/// The answers of one committed batch, waiting for the WAL to reach the disk, with the number of
/// write failures there had been when it was committed.
type Committed = (u64, Vec<(Reply, Output)>);

/// What the syncer is sent: a committed batch, or a new handle of the WAL after a re-open.
enum ToSyncer {
    Batch(Committed),
    Wal(File),
}

/// Opens the writing connection and a handle of its WAL: at the start, and again after a
/// failed commit or fsync.
pub type Opener = Box<dyn FnMut() -> anyhow::Result<(Connection, File)> + Send>;

/// How often the writer tries a small write while the disk takes none.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// What the writer knows of the syncer: how many committed batches wait for their fsync, and a
/// signal each time an fsync has finished.
#[derive(Default)]
struct Unsynced {
    batches: AtomicUsize,
    synced: Notify,
}

/// Whether the store can write, shared by the writer, the syncer and the store.
#[derive(Default)]
struct State {
    /// False from a failed write until a commit has been synced again.
    unwritable: AtomicBool,
    /// The connection must be re-opened before the next batch.
    broken: AtomicBool,
    /// Write failures so far: a batch committed before the last failure does not show that the
    /// disk works again.
    failures: AtomicU64,
}

impl State {
    fn writable(&self) -> bool {
        !self.unwritable.load(Ordering::SeqCst)
    }

    fn fail(&self, reopen: bool) {
        self.failures.fetch_add(1, Ordering::SeqCst);
        if reopen {
            self.broken.store(true, Ordering::SeqCst);
        }
        if !self.unwritable.swap(true, Ordering::SeqCst) {
            tracing::error!("the store cannot write; submissions are answered 503 until it can");
        }
    }

    /// A batch committed when there had been `failures` failures has reached the disk.
    fn synced(&self, failures: u64) {
        if failures == self.failures.load(Ordering::SeqCst) && self.unwritable.swap(false, Ordering::SeqCst) {
            tracing::info!("the store writes again");
        }
    }
}

pub struct Writer {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    state: Arc<State>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer on the connection `open` makes (which must use `synchronous=NORMAL` in
    /// WAL mode) and the syncer on the WAL handle it returns with it. Commits carry at most
    /// `max_batch` jobs and begin at least `commit_interval` apart while that pays (`Pace`).
    pub fn start(mut open: Opener, max_batch: usize, commit_interval: Duration) -> anyhow::Result<Writer> {
        let (connection, wal) = open()?;
        let (tx, rx) = mpsc::channel(4 * max_batch);
        let (committed_tx, committed_rx) = sync_mpsc::channel();
        let state = Arc::new(State::default());
        let unsynced = Arc::new(Unsynced::default());
        let sync_state = state.clone();
        let sync_unsynced = unsynced.clone();
        let syncer = std::thread::Builder::new()
            .name("indgang-syncer".into())
            .spawn(move || sync(wal, committed_rx, &sync_state, &sync_unsynced))
            .context("starting the syncer thread")?;
        let write_state = state.clone();
        let writer = std::thread::Builder::new()
            .name("indgang-writer".into())
            .spawn(move || {
                // The writer waits for a job or for the syncer, whichever comes first, on a
                // small runtime of its own (made and dropped on this thread, outside any other).
                let waiter = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
                    Ok(waiter) => waiter,
                    Err(e) => {
                        tracing::error!(error = %e, "the writer could not start; the store stops");
                        write_state.fail(false);
                        return;
                    }
                };
                let mut queue = Queue {
                    rx,
                    waiter,
                    unsynced,
                    max_batch,
                    pace: Pace::new(commit_interval),
                };
                run(connection, &mut open, &mut queue, committed_tx, &write_state)
            })
            .context("starting the writer thread")?;
        Ok(Writer {
            queue: Mutex::new(Some(tx)),
            state,
            threads: Mutex::new(vec![writer, syncer]),
        })
    }

    /// False while the disk takes no writes: from a failed write until a commit has been
    /// synced again.
    pub fn writable(&self) -> bool {
        self.state.writable()
    }

    /// Runs `work` in the next group transaction and returns its result once it is durable.
    pub async fn write<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (to, answer) = oneshot::channel();
        let reply = Reply { to, back: hand_back() };
        let work: Work = Box::new(move |conn| work(conn).map(|value| Box::new(value) as Box<dyn Any + Send>));
        let sender = self
            .queue
            .lock()
            .expect("writer queue lock")
            .clone()
            .context("the store is closed")?;
        sender
            .send(Job { work, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the writer thread has stopped"))?;
        let output = answer.await.context("the writer thread dropped a job")??;
        Ok(*output.downcast::<T>().expect("a job answers with its own type"))
    }

    /// Stops taking jobs, lets the queued ones finish (committed and synced) and waits for the
    /// threads.
    pub fn close(&self) {
        self.queue.lock().expect("writer queue lock").take();
        for thread in self.threads.lock().expect("writer threads lock").drain(..) {
            let _ = thread.join();
        }
    }
}

/// A batch this large commits at once, while the syncer is still busy, instead of gathering
/// more: its commit then overlaps the fsync. Gathering saves most when batches are small (at low
/// rates); under full load, when batches are large anyway, waiting for the fsync before
/// committing put the commit on every round trip and cost about a tenth of the throughput.
const GATHER_BELOW: usize = 16;

/// The writer's side of the job queue.
struct Queue {
    rx: mpsc::Receiver<Job>,
    waiter: tokio::runtime::Runtime,
    unsynced: Arc<Unsynced>,
    max_batch: usize,
    pace: Pace,
}

/// The least time between two commits (`storage.commit_interval`), kept only while it pays.
///
/// At a moderate rate the syncer is often idle when a job arrives, so each job committed at
/// once: at 2,000 messages/s one or two per commit, each commit writing the pages every commit
/// touches (the ends of the tables and indexes) to the WAL again and needing an fsync of its
/// own (46–49 KB of WAL per message). Waiting until `interval` after the last commit began lets
/// the jobs of that millisecond share one commit (32–33 KB, a third fewer fsyncs, the server's
/// CPU per message some 5 % lower; the answers about 1 ms later: tokio's timer counts whole
/// milliseconds, so a wait may last up to a millisecond longer than asked). A job that comes when
/// the last commit is older than that commits at once, so a quiet gateway answers as fast as
/// before; under full load batches are large and commit at once anyway (`GATHER_BELOW`).
///
/// A lone sender that waits for each answer before sending the next gains nothing from waiting:
/// nobody else's job comes. So a wait that brought no job turns waiting off, and a batch of more
/// than one job (others were sending meanwhile) turns it on again.
struct Pace {
    interval: Duration,
    committed_at: Option<Instant>,
    paying: bool,
    /// A wait since the last commit ended with no job.
    waited_in_vain: bool,
}

impl Pace {
    fn new(interval: Duration) -> Pace {
        Pace {
            interval,
            committed_at: None,
            paying: true,
            waited_in_vain: false,
        }
    }

    /// Until when to wait for more jobs before committing, if at all.
    fn due(&self) -> Option<Instant> {
        let due = self.committed_at? + self.interval;
        (self.paying && Instant::now() < due).then_some(due)
    }

    /// A commit begins of a batch that held `size` jobs (some may have failed and left it).
    fn commit(&mut self, size: usize) {
        self.committed_at = Some(Instant::now());
        if size > 1 {
            self.paying = true;
        } else if self.waited_in_vain {
            self.paying = false;
        }
        self.waited_in_vain = false;
    }
}

impl Queue {
    /// Adds what is queued to `batch`, up to a full batch.
    fn take_queued(&mut self, batch: &mut Vec<Job>) {
        while batch.len() < self.max_batch {
            match self.rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }

    /// The next job; while the store cannot write, a probe after `PROBE_EVERY` without one.
    /// `None` once the queue is closed.
    fn next(&mut self, state: &State) -> Option<Job> {
        if state.writable() {
            return self.rx.blocking_recv();
        }
        let Queue { rx, waiter, .. } = self;
        match waiter.block_on(async { tokio::time::timeout(PROBE_EVERY, rx.recv()).await }) {
            Ok(job) => job,
            Err(_) => Some(probe()),
        }
    }

    /// While the syncer is busy with earlier batches (or the last commit is recent, see `Pace`)
    /// and the batch is small, waits for more jobs and adds them to `batch`: true when it did,
    /// false when it is time to commit.
    fn gather(&mut self, batch: &mut Vec<Job>, state: &State) -> bool {
        let Queue {
            rx, waiter, unsynced, ..
        } = self;
        loop {
            if batch.len() >= GATHER_BELOW.min(self.max_batch) || state.broken.load(Ordering::SeqCst) {
                return false;
            }
            if let Ok(job) = rx.try_recv() {
                batch.push(job);
                self.take_queued(batch);
                return true;
            }
            if unsynced.batches.load(Ordering::SeqCst) == 0 {
                // The syncer is free. Commit now, unless the last commit began less than
                // `commit_interval` ago and waiting has lately brought more jobs (see `Pace`).
                let Some(due) = self.pace.due() else {
                    return false;
                };
                let arrived = waiter.block_on(async {
                    tokio::select! {
                        job = rx.recv() => Some(job),
                        () = tokio::time::sleep_until(due.into()) => None,
                    }
                });
                return match arrived {
                    Some(Some(job)) => {
                        batch.push(job);
                        self.take_queued(batch);
                        true
                    }
                    // Closed: commit what there is.
                    Some(None) => false,
                    // Nothing came: time to commit.
                    None => {
                        self.pace.waited_in_vain = true;
                        false
                    }
                };
            }
            let arrived = waiter.block_on(async {
                tokio::select! {
                    job = rx.recv() => Some(job),
                    () = unsynced.synced.notified() => None,
                }
            });
            match arrived {
                Some(Some(job)) => {
                    batch.push(job);
                    self.take_queued(batch);
                    return true;
                }
                // Closed: commit what there is.
                Some(None) => return false,
                // An fsync finished (or an earlier signal was left over): look again.
                None => {}
            }
        }
    }
}

/// A small write that shows whether the disk takes writes again: the schema version, rewritten
/// as it is. Nobody waits for its answer.
fn probe() -> Job {
    let (to, _) = oneshot::channel();
    let reply = Reply { to, back: None };
    Job {
        work: Box::new(|conn| {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            conn.pragma_update(None, "user_version", version)?;
            Ok(Box::new(()))
        }),
        reply,
    }
}

fn unavailable(what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Unavailable(what.to_string()))
}

fn run(
    connection: Connection,
    open: &mut Opener,
    queue: &mut Queue,
    syncer: sync_mpsc::Sender<ToSyncer>,
    state: &State,
) {
    let mut connection = WriterConnection::new(connection);
    let mut batch = Vec::with_capacity(queue.max_batch);
    while let Some(first) = queue.next(state) {
        batch.push(first);
        queue.take_queued(&mut batch);
        if state.broken.load(Ordering::SeqCst) {
            match reopen(open) {
                Ok((reopened, wal)) => {
                    connection = WriterConnection::new(reopened);
                    state.broken.store(false, Ordering::SeqCst);
                    if syncer.send(ToSyncer::Wal(wal)).is_err() {
                        tracing::error!("the syncer thread has stopped");
                    }
                    tracing::warn!("the store re-opened the database after a failed write");
                }
                Err(e) => {
                    let cause = format!("{e:#}");
                    tracing::debug!(error = %cause, "the database cannot be re-opened yet");
                    for job in batch.drain(..) {
                        let _ = job.reply.send(Err(unavailable(format!(
                            "the database cannot be re-opened after a failed write: {cause}"
                        ))));
                    }
                    continue;
                }
            }
        }
        let answers = run_batch(&connection, &mut batch, queue, state);
        if answers.is_empty() {
            continue;
        }
        queue.unsynced.batches.fetch_add(1, Ordering::SeqCst);
        let failures = state.failures.load(Ordering::SeqCst);
        if syncer.send(ToSyncer::Batch((failures, answers))).is_err() {
            queue.unsynced.batches.fetch_sub(1, Ordering::SeqCst);
            tracing::error!("the syncer thread has stopped; answers are lost and their senders will retry");
        }
    }
}

/// Opens the database again, as a restart would, and writes every page committed to the WAL
/// into the database file (a TRUNCATE checkpoint, which fsyncs it): after a failed fsync the
/// WAL on the disk may lack pages that the operating system has since forgotten were unwritten.
fn reopen(open: &mut Opener) -> anyhow::Result<(Connection, File)> {
    let (connection, wal) = open()?;
    let busy: i64 = connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .context("checkpointing the WAL")?;
    anyhow::ensure!(busy == 0, "the WAL checkpoint could not finish (readers were busy)");
    Ok((connection, wal))
}

/// Runs a batch to its commit, adding to it what arrives while the syncer is busy. Returns the
/// answers that wait for the sync; jobs that failed have had their answer already.
fn run_batch(conn: &Connection, batch: &mut Vec<Job>, queue: &mut Queue, state: &State) -> Vec<(Reply, Output)> {
    // The most jobs the batch held, failed ones included: what tells `Pace` that others send.
    let mut most = 0;
    loop {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            if is_disk_failure(&e) {
                state.fail(false);
            }
            let cause = format!("{e:#}");
            for job in batch.drain(..) {
                let _ = job
                    .reply
                    .send(Err(unavailable(format!("could not begin a transaction: {cause}"))));
            }
            return Vec::new();
        }
        let mut outputs = Vec::with_capacity(batch.len());
        let mut failed = None;
        'gathering: loop {
            for (index, job) in batch.iter().enumerate().skip(outputs.len()) {
                let output = std::panic::catch_unwind(AssertUnwindSafe(|| (job.work)(conn)))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a write job panicked")));
                match output {
                    Ok(value) => outputs.push(value),
                    Err(e) => {
                        failed = Some((index, e));
                        break 'gathering;
                    }
                }
            }
            if !queue.gather(batch, state) {
                break;
            }
        }
        let size = batch.len();
        most = most.max(size);
        if let Some((index, error)) = failed {
            rollback(conn, state);
            if let Some(disk) = database_failure(&error) {
                if disk {
                    state.fail(false);
                }
                let cause = format!("{error:#}");
                tracing::error!(error = %cause, size, "the database failed; no job in the batch is filed");
                for job in batch.drain(..) {
                    let _ = job
                        .reply
                        .send(Err(unavailable(format!("the database failed: {cause}"))));
                }
                return Vec::new();
            }
            let _ = batch.remove(index).reply.send(Err(error));
            if batch.is_empty() {
                return Vec::new();
            }
            continue;
        }
        let started = Instant::now();
        queue.pace.commit(most);
        let committed = conn.execute_batch("COMMIT");
        let commit_micros = started.elapsed().as_micros() as u64;
        if commit_micros > 100_000 {
            tracing::warn!(size, commit_micros, "a commit took over 100 ms: the disk is slow");
        }
        return match committed {
            Ok(()) => batch
                .drain(..)
                .map(|job| job.reply)
                .zip(outputs.into_iter().map(Ok))
                .collect(),
            Err(e) => {
                rollback(conn, state);
                state.fail(true);
                tracing::error!(error = %e, size, "a group commit failed; no job in it is acknowledged and the database is re-opened before the next");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(unavailable(format!("the commit failed: {e}"))));
                }
                Vec::new()
            }
        };
    }
}

fn rollback(conn: &Connection, state: &State) {
    let _ = conn.execute_batch("ROLLBACK");
    super::wal_vfs::rolled_back(conn);
    if !conn.is_autocommit() {
        tracing::error!("a transaction could not be rolled back; the database is re-opened before the next");
        state.fail(true);
    }
}

/// Whether an error of SQLite says the disk does not take writes.
fn is_disk_failure(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if matches!(e.code, DiskFull | SystemIoFailure | CannotOpen | ReadOnly | DatabaseCorrupt))
}

/// Errors of the database as a whole rather than of one job's data: `Some(true)` for the disk
/// (full, I/O error), `Some(false)` for others that pass (busy, locked, out of memory).
fn database_failure(error: &anyhow::Error) -> Option<bool> {
    use rusqlite::ErrorCode::*;
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<rusqlite::Error>() {
            Some(e) if is_disk_failure(e) => Some(true),
            Some(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, DatabaseBusy | DatabaseLocked | OutOfMemory) =>
            {
                Some(false)
            }
            _ => None,
        })
}

/// Makes committed batches durable: one `fdatasync` of the WAL for all batches committed so far,
/// then their answers. An fsync issued after a commit returned covers that commit's frames.
fn sync(mut wal: File, from_writer: sync_mpsc::Receiver<ToSyncer>, state: &State, unsynced: &Unsynced) {
    let mut next = None;
    loop {
        let first = match next.take().map_or_else(|| from_writer.recv().ok(), Some) {
            None => return,
            Some(ToSyncer::Wal(reopened)) => {
                wal = reopened;
                continue;
            }
            Some(ToSyncer::Batch(batch)) => batch,
        };
        let mut ready = vec![first];
        for more in from_writer.try_iter() {
            match more {
                ToSyncer::Batch(batch) => ready.push(batch),
                // The batches before it are synced through the old handle first.
                wal @ ToSyncer::Wal(_) => {
                    next = Some(wal);
                    break;
                }
            }
        }
        // Once a commit or an fsync has failed, nothing is acknowledged until the database has been
        // re-opened: after a failed fsync a later one may succeed although earlier frames never
        // reached the disk, and a crash would then lose every frame after them.
        let synced = wal.sync_data().and_then(|()| {
            if state.broken.load(Ordering::SeqCst) {
                Err(std::io::Error::other(
                    "an earlier write failed; the database is re-opened first",
                ))
            } else {
                Ok(())
            }
        });
        // The writer may commit what it gathered meanwhile.
        unsynced.batches.fetch_sub(ready.len(), Ordering::SeqCst);
        unsynced.synced.notify_one();
        match synced {
            Ok(()) => {
                let latest = ready.iter().map(|(failures, _)| *failures).max().unwrap_or(0);
                state.synced(latest);
                answer(ready.into_iter().flat_map(|(_, answers)| answers));
            }
            Err(e) => {
                // The data is committed but not known to be on disk: it is not acknowledged. A
                // sender that retries is answered from the stored message once the disk works.
                tracing::error!(error = %e, "syncing the WAL failed; the batches are not acknowledged and the database is re-opened");
                state.fail(true);
                for (reply, _) in ready.into_iter().flat_map(|(_, answers)| answers) {
                    let _ = reply.send(Err(unavailable(format!("syncing the WAL failed: {e}"))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &std::path::Path) -> Writer {
        paced_writer(dir, Duration::ZERO)
    }

    fn paced_writer(dir: &std::path::Path, commit_interval: Duration) -> Writer {
        let path = dir.join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t (x INTEGER NOT NULL UNIQUE); INSERT INTO t VALUES (0);",
            )
            .unwrap();
        let wal = dir.join("t.db-wal");
        let open: Opener = Box::new(move || {
            let conn = Connection::open(&path)?;
            // The first read opens (and makes) the WAL.
            conn.execute_batch("PRAGMA synchronous = NORMAL; SELECT COUNT(*) FROM t;")?;
            Ok((conn, File::open(&wal)?))
        });
        Writer::start(open, 64, commit_interval).unwrap()
    }

    /// Files one row and answers how many rows were committed before its batch, as another
    /// connection sees them: jobs of one commit see the same number.
    async fn file(writer: &Writer, dir: &std::path::Path, value: i64) -> i64 {
        let path = dir.join("t.db");
        writer
            .write(move |conn| {
                conn.execute("INSERT INTO t VALUES (?1)", [value])?;
                let before = Connection::open(&path)?.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))?;
                Ok(before)
            })
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_that_come_soon_after_a_commit_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        // Long enough that a slow fsync of the first commit on a busy machine still leaves the third
        // job inside the interval.
        let writer = Arc::new(paced_writer(dir.path(), Duration::from_millis(1500)));
        // The first commit goes at once; then one job at once and another 100 ms later.
        assert_eq!(file(&writer, dir.path(), 1).await, 1);
        let second = tokio::spawn({
            let (writer, dir) = (writer.clone(), dir.path().to_owned());
            async move { file(&writer, &dir, 2).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let third = file(&writer, dir.path(), 3).await;
        // Both saw the two rows committed before them: they were filed in one commit.
        assert_eq!((second.await.unwrap(), third), (2, 2));
        assert_eq!(count(dir.path()), 4);
        writer.close();
    }

    #[tokio::test]
    async fn a_lone_sender_does_not_wait_for_others_that_never_come() {
        let dir = tempfile::tempdir().unwrap();
        let writer = paced_writer(dir.path(), Duration::from_millis(500));
        let started = std::time::Instant::now();
        // One sender, each job after the answer to the last: the first wait finds nobody, and
        // the writer stops waiting (five waits would take 2.5 s).
        for value in 1..=6 {
            file(&writer, dir.path(), value).await;
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(1500),
            "six jobs one after another took {took:?}"
        );
        writer.close();
    }

    fn count(dir: &std::path::Path) -> i64 {
        let conn = Connection::open(dir.join("t.db")).unwrap();
        conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_fails_alone_and_the_rest_of_its_batch_is_filed() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Arc::new(writer(dir.path()));
        let jobs = (1..=40).map(|x: i64| {
            let writer = writer.clone();
            // Every tenth job breaks the UNIQUE constraint.
            let value = if x % 10 == 0 { 0 } else { x };
            tokio::spawn(async move {
                writer
                    .write(move |conn| Ok(conn.execute("INSERT INTO t VALUES (?1)", [value])?))
                    .await
            })
        });
        let results = futures_util::future::join_all(jobs).await;

        let failed = results.iter().filter(|r| r.as_ref().unwrap().is_err()).count();
        assert_eq!(failed, 4);
        assert_eq!(count(dir.path()), 1 + 36);
        assert!(writer.writable());
        writer.close();
    }

    /// On a thread marked by `answer_batches_here` (an HTTP worker), every job's answer reaches
    /// its own caller through the worker's hand-back, and once the `LocalSet` that ran the
    /// hand-back's task is gone, the next jobs on the thread start another.
    #[test]
    fn answers_reach_their_callers_through_the_workers_hand_back() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Arc::new(writer(dir.path()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for round in 1..=2i64 {
            let local = tokio::task::LocalSet::new();
            let answers = local.block_on(&runtime, async {
                answer_batches_here();
                let jobs = (0..50i64).map(|x| {
                    let writer = writer.clone();
                    tokio::task::spawn_local(async move {
                        writer
                            .write(move |conn| {
                                conn.execute("INSERT INTO t VALUES (?1)", [round * 100 + x])?;
                                Ok(round * 1000 + x)
                            })
                            .await
                            .unwrap()
                    })
                });
                let answers = futures_util::future::join_all(jobs).await;
                assert!(HERE.with_borrow(|here| matches!(here, Here::On(back) if !back.is_closed())));
                answers.into_iter().map(Result::unwrap).collect::<Vec<_>>()
            });
            assert_eq!(answers, (0..50).map(|x| round * 1000 + x).collect::<Vec<_>>());
            drop(local);
            assert!(HERE.with_borrow(|here| matches!(here, Here::On(back) if back.is_closed())));
        }
        assert_eq!(count(dir.path()), 1 + 100);
        writer.close();
    }

    /// A synced batch's answers: those of each open hand-back in one message, in order; those
    /// of a hand-back whose worker has gone, and those without one, straight to their callers.
    #[test]
    fn a_batch_is_answered_per_worker_and_directly_where_no_worker_takes_it() {
        let (first, mut first_gets) = mpsc::unbounded_channel::<Answers>();
        let (second, mut second_gets) = mpsc::unbounded_channel::<Answers>();
        let (gone, gone_gets) = mpsc::unbounded_channel::<Answers>();
        drop(gone_gets);
        let backs = [Some(first), Some(second), Some(gone), None];
        let mut waiting = Vec::new();
        let answers: Vec<(Reply, Output)> = (0..12usize)
            .map(|i| {
                let (to, answer) = oneshot::channel();
                waiting.push(answer);
                let reply = Reply {
                    to,
                    back: backs[i % 4].clone(),
                };
                (reply, Ok(Box::new(i) as Box<dyn Any + Send>))
            })
            .collect();
        answer(answers.into_iter());
        let value = |output: Output| *output.unwrap().downcast::<usize>().unwrap();
        for (worker, gets) in [(0, &mut first_gets), (1, &mut second_gets)] {
            let batch = gets.try_recv().expect("one message for the worker");
            assert!(gets.try_recv().is_err(), "only one");
            let mut order = Vec::new();
            for (to, output) in batch {
                let i = value(output);
                order.push(i);
                let _ = to.send(Ok(Box::new(i)));
            }
            assert_eq!(order, [worker, worker + 4, worker + 8]);
        }
        for (i, mut answer) in waiting.into_iter().enumerate() {
            assert_eq!(value(answer.try_recv().expect("every caller answered")), i);
        }
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_dead_writer() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        let panicked = writer.write(|_conn| -> anyhow::Result<()> { panic!("boom") }).await;
        assert!(panicked.is_err());
        writer
            .write(|conn| Ok(conn.execute("INSERT INTO t VALUES (7)", [])?))
            .await
            .unwrap();
        assert_eq!(count(dir.path()), 2);
        writer.close();
    }

    #[tokio::test]
    async fn close_finishes_the_queued_work_and_then_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        writer
            .write(|conn| Ok(conn.execute("INSERT INTO t VALUES (1)", [])?))
            .await
            .unwrap();
        writer.close();
        assert!(writer.write(|_| Ok(())).await.is_err());
        assert_eq!(count(dir.path()), 2);
    }
}
