//! The scheduler: every `scheduler.tick_ms` it lets the store fire the reminders and breach
//! escalations that are due (by the index on the next alert, so a tick costs what is due, not
//! what is stored). Each alert is written to the delivery outbox in the same transaction that
//! marks it sent, so it goes out exactly once across restarts and then has the outbox's retries.

use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Deadlines looked at per store call.
const BATCH: usize = 500;

pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Clock,
    delivery: Arc<Delivery>,
    tick: Duration,
    stopping: AtomicBool,
    stop: Notify,
}

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, clock: Clock, delivery: Arc<Delivery>, tick: Duration) -> Scheduler {
        Scheduler {
            store,
            clock,
            delivery,
            tick,
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        }
    }

    /// Fires everything due now; returns how many deadlines were looked at.
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let mut total = 0;
        loop {
            let n = self.store.fire_deadlines(now, BATCH).await?;
            total += n;
            if n < BATCH {
                break;
            }
        }
        if total > 0 {
            self.delivery.wake();
        }
        Ok(total)
    }

    pub async fn run(self: Arc<Self>) {
        while !self.stopping.load(Ordering::SeqCst) {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "the deadline scheduler cannot read or write the store");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.tick) => {}
                _ = self.stop.notified() => {}
            }
        }
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify_one();
    }
}
