//! What lets several gateway instances share one database, besides the row locks of the claims:
//! one deadline scheduler at a time, and wake-ups from one instance to the others.
//!
//! **The scheduler's lock.** An instance leads while it holds a session-level advisory lock
//! (`SCHEDULER_LOCK`) on a connection of its own, outside the pool. The others try to take it at
//! each scheduler tick; when the leader dies its connection closes, the server lets the lock go,
//! and the next tick of another instance takes it: within `scheduler.tick_ms` and a round trip.
//! The leader checks its connection at each tick and stops leading when it fails. Firing stays
//! safe without the lock (each deadline is fired under `FOR UPDATE SKIP LOCKED`, each digest has
//! a unique key): the lock keeps the others from doing the same work for nothing.
//!
//! **Wake-ups.** After a transaction that made a delivery due now commits, the store sends
//! `NOTIFY indgang_deliveries` on a pooled connection, one at a time per instance (a store that
//! commits many such transactions meanwhile sends one more, not one each). Each instance keeps
//! one connection that `LISTEN`s and wakes its delivery worker (on its own notifications too: a
//! housing answer wakes no worker directly); it reconnects with back-off
//! when lost, and the worker polls (`delivery.poll_interval_ms`) all along. The `NOTIFY` is sent
//! after the commit, not inside the transaction: PostgreSQL commits the transactions that
//! notify one at a time (under one lock for the whole server, held while the commit is flushed),
//! which would undo the sharing of commits between concurrent submissions.

use anyhow::Context;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Socket};

/// The session advisory lock of the deadline scheduler ("indgschd" in a number).
const SCHEDULER_LOCK: i64 = 0x696e_6467_7363_6864;

/// The channel on which instances tell each other that deliveries are due.
pub const CHANNEL: &str = "indgang_deliveries";

/// How long the leader's check of its connection, or taking the lock, may take.
const LOCK_CHECK: Duration = Duration::from_secs(5);

/// Back-off between attempts to listen again, from the first to the longest.
const LISTEN_RETRY: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));

/// Opens connections of their own (outside the pool) on the store's runtime.
#[derive(Clone)]
pub struct Dialer {
    pub config: Config,
    /// `None`: without TLS.
    pub tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    pub runtime: tokio::runtime::Handle,
}

impl Dialer {
    /// A connection; its notifications, if `notices` is given, are sent there. When the
    /// connection ends, `notices` is dropped.
    async fn dial(&self, notices: Option<mpsc::UnboundedSender<()>>) -> anyhow::Result<Client> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let opening = self.runtime.spawn(async move {
            match tls {
                None => open(&config, NoTls, notices).await,
                Some(tls) => open(&config, tls, notices).await,
            }
        });
        let opened = opening.await.context("opening a PostgreSQL connection")?;
        opened.map_err(anyhow::Error::from)
    }
}

async fn open<T>(
    config: &Config,
    tls: T,
    notices: Option<mpsc::UnboundedSender<()>>,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, mut connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    if let Some(notices) = &notices {
                        let _ = notices.send(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "a PostgreSQL connection of its own failed");
                    return;
                }
                None => return,
            }
        }
    });
    Ok(client)
}

/// The connection on which an instance holds, or tries to take, the scheduler's lock.
struct LockConnection {
    client: Client,
    holding: bool,
}

/// What the store keeps for sharing the database with other instances.
pub struct Sharing {
    dialer: Dialer,
    lock: tokio::sync::Mutex<Option<LockConnection>>,
    /// Kicked after a commit that made deliveries due; the notifier sends one `NOTIFY`.
    due: Arc<Due>,
    pool: deadpool_postgres::Pool,
    closed: watch::Sender<bool>,
}

/// Deliveries made due that the other instances have not been told of yet.
#[derive(Default)]
struct Due {
    kick: Notify,
    untold: AtomicBool,
}

impl Sharing {
    /// Starts the notifier on `pool`.
    pub fn new(dialer: Dialer, pool: deadpool_postgres::Pool) -> Sharing {
        let due = Arc::new(Due::default());
        let (closed, watching) = watch::channel(false);
        dialer.runtime.spawn(notifier(pool.clone(), due.clone(), watching));
        Sharing {
            dialer,
            lock: tokio::sync::Mutex::new(None),
            due,
            pool,
            closed,
        }
    }

    /// Tells the other instances (after the commit) that deliveries are due now.
    pub fn deliveries_due(&self) {
        self.due.untold.store(true, Ordering::SeqCst);
        self.due.kick.notify_one();
    }

    /// Whether this instance leads the scheduler: holds the lock, taking it if it is free.
    /// An error (the lock's connection failed) means not leading.
    pub async fn lead(&self) -> anyhow::Result<bool> {
        let mut slot = self.lock.lock().await;
        if *self.closed.borrow() {
            *slot = None;
            return Ok(false);
        }
        if slot.as_ref().is_some_and(|held| held.client.is_closed()) {
            lost(&mut slot);
        }
        if slot.is_none() {
            let client = self.dialer.dial(None).await.context("the scheduler's lock")?;
            *slot = Some(LockConnection { client, holding: false });
        }
        let held = slot.as_mut().expect("a connection was just opened");
        let sql = match held.holding {
            true => "SELECT true".to_owned(),
            false => format!("SELECT pg_try_advisory_lock({SCHEDULER_LOCK})"),
        };
        let answer = tokio::time::timeout(LOCK_CHECK, held.client.query_one(&sql, &[])).await;
        match answer {
            Ok(Ok(row)) => {
                held.holding = row.try_get(0)?;
                Ok(held.holding)
            }
            Ok(Err(e)) => {
                lost(&mut slot);
                Err(anyhow::Error::new(e).context("the scheduler's lock"))
            }
            Err(_) => {
                lost(&mut slot);
                anyhow::bail!("the scheduler's lock: PostgreSQL did not answer within {LOCK_CHECK:?}")
            }
        }
    }

    /// Calls `wake` whenever another instance (or this one) has made deliveries due, until the
    /// store is closed; listens again, with back-off, when the connection is lost.
    pub async fn listen(&self, wake: Box<dyn Fn() + Send + Sync>) {
        let mut closed = self.closed.subscribe();
        let mut wait = LISTEN_RETRY.0;
        while !*closed.borrow_and_update() {
            let (notices, mut notified) = mpsc::unbounded_channel();
            let listening = match self.dialer.dial(Some(notices)).await {
                Ok(client) => match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => Ok(client),
                    Err(e) => Err(anyhow::Error::new(e)),
                },
                Err(e) => Err(e),
            };
            match listening {
                Ok(_client) => {
                    wait = LISTEN_RETRY.0;
                    // What was made due while nobody listened.
                    wake();
                    loop {
                        tokio::select! {
                            notice = notified.recv() => match notice {
                                Some(()) => wake(),
                                None => break,
                            },
                            _ = closed.changed() => return,
                        }
                    }
                    tracing::warn!("lost the connection that listens for due deliveries; polling until it is back");
                }
                Err(e) => tracing::warn!(
                    error = %format!("{e:#}"),
                    retry_seconds = wait.as_secs(),
                    "cannot listen for due deliveries; polling until it can"
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = closed.changed() => return,
            }
            wait = (wait * 2).min(LISTEN_RETRY.1);
        }
    }

    /// Stops listening and notifying, and lets the scheduler's lock go (its connection closes).
    /// What is untold is told first: a command (`indgang replay`) closes the store as soon as its
    /// work is committed.
    pub async fn close(&self) {
        self.closed.send_replace(true);
        if self.due.untold.swap(false, Ordering::SeqCst) {
            let _ = tokio::time::timeout(LOCK_CHECK, notify(&self.pool)).await;
        }
        // Let go of the lock before returning, rather than when the server notices the
        // connection closed: an instance started next (a restart) takes over at its first tick.
        if let Some(held) = self.lock.lock().await.take()
            && held.holding
        {
            let unlock = held.client.batch_execute("SELECT pg_advisory_unlock_all()");
            let _ = tokio::time::timeout(LOCK_CHECK, unlock).await;
        }
    }
}

fn lost(slot: &mut Option<LockConnection>) {
    if slot.take().is_some_and(|held| held.holding) {
        tracing::warn!("the connection holding the scheduler's lock failed; this instance no longer leads");
    }
}

/// Sends one `NOTIFY` per kick; kicks that come while one is sent make one more.
async fn notifier(pool: deadpool_postgres::Pool, due: Arc<Due>, mut closed: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = due.kick.notified() => {}
            _ = closed.changed() => return,
        }
        if due.untold.swap(false, Ordering::SeqCst) {
            notify(&pool).await;
        }
    }
}

async fn notify(pool: &deadpool_postgres::Pool) {
    let sent = match pool.get().await {
        Ok(client) => client
            .batch_execute(&format!("NOTIFY {CHANNEL}"))
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(anyhow::Error::from(e)),
    };
    if let Err(e) = sent {
        // The others find the deliveries at their next poll.
        tracing::debug!(error = %format!("{e:#}"), "cannot tell the other instances that deliveries are due");
    }
}
