//! The scheduler: every `scheduler.tick_ms` it lets the store fire the reminders and breach
//! escalations that are due (by the index on the next alert, or SQLite's alarms, so a tick costs
//! what is due, not what is stored). Each alert is written to the delivery outbox in the same transaction that
//! marks it sent, so it goes out exactly once across restarts and then has the outbox's retries.
//!
//! It also makes each team's daily digest: on working days, from `alerts.digest_at`
//! (Copenhagen), a list of the team's open deadlines due within `alerts.digest_working_days`
//! working days and of its missed ones nobody has resolved, stored with its delivery and marked
//! made for the team and day in one transaction, so a restart does not send it twice.
//!
//! Of several instances on one database only the leader does this (`Store::lead`: the holder of
//! an advisory lock on PostgreSQL, always the one process on SQLite); the others ask again at
//! every tick, so one of them takes over within a tick or two when the leader stops or dies.

use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::Delivery;
use crate::delivery::Target;
use crate::domain::copenhagen;
use crate::domain::working_days::Calendar;
use crate::store::{DeadlineState, DigestItem, NewDigest, Store};
use anyhow::Context;
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Deadlines looked at per store call, each call one job of the writer: submissions are filed
/// between them (at 500 a job, one held them back for as long as 500 alerts took to write).
const BATCH: usize = 64;

/// Deadlines a digest shows per list; it counts them all.
const DIGEST_SHOWS: usize = 100;

/// When and for whom the daily digests are made.
struct DigestPlan {
    at: Time,
    working_days: i32,
    calendar: Calendar,
    teams: Vec<String>,
    /// The last day whose digests are made (in memory: the store knows it across restarts).
    done: Mutex<Option<Date>>,
}

pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Clock,
    delivery: Arc<Delivery>,
    tick: Duration,
    alert_delay: SignedDuration,
    digest: Option<DigestPlan>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Whether this instance led at its last tick.
    leading: AtomicBool,
    /// One tick at a time: a tick (a test's) that comes while the loop's is under way waits for
    /// it to commit, rather than skip the deadlines it has locked and return before they are
    /// written (on PostgreSQL, where the two would otherwise run side by side).
    ticking: tokio::sync::Mutex<()>,
    stopping: AtomicBool,
    stop: Notify,
}

impl Scheduler {
    pub fn new(
        settings: &Settings,
        store: Arc<dyn Store>,
        clock: Clock,
        delivery: Arc<Delivery>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> anyhow::Result<Scheduler> {
        let digest = match settings.alerts.digest_at()? {
            Some(at) => Some(DigestPlan {
                at,
                working_days: settings.alerts.digest_working_days,
                calendar: Calendar::from_settings(&settings.calendar)?,
                teams: settings.teams.keys().cloned().collect(),
                done: Mutex::new(None),
            }),
            None => None,
        };
        Ok(Scheduler {
            store,
            clock,
            delivery,
            tick: Duration::from_millis(settings.scheduler.tick_ms),
            alert_delay: settings.alerts.group_window()?,
            digest,
            metrics,
            leading: AtomicBool::new(false),
            ticking: tokio::sync::Mutex::new(()),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        })
    }

    /// Whether this instance led the scheduler at its last tick.
    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Asks the store whether this instance leads, and says so when that changes.
    async fn lead(&self) -> bool {
        let leading = match self.store.lead().await {
            Ok(leading) => leading,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot tell whether this instance runs the deadline scheduler; it does not meanwhile");
                false
            }
        };
        let was = self.leading.swap(leading, Ordering::SeqCst);
        self.metrics.scheduler_leader(leading);
        match (was, leading) {
            (false, true) => tracing::info!("this instance runs the deadline scheduler"),
            (true, false) => tracing::warn!("this instance no longer runs the deadline scheduler"),
            _ => {}
        }
        leading
    }

    /// Fires everything due now and makes the day's digests when their time has come; returns
    /// how many deadlines were looked at. An instance that does not lead does nothing (0).
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let _one_at_a_time = self.ticking.lock().await;
        if !self.lead().await {
            return Ok(0);
        }
        let now = self.clock.now();
        let mut total = 0;
        loop {
            let n = self.store.fire_deadlines(now, BATCH, self.alert_delay).await?;
            total += n;
            if n < BATCH {
                break;
            }
        }
        let digests = match self.digests(now).await {
            Ok(made) => made,
            Err(e) => {
                // The alerts fired above still go out; the digest is tried again next tick.
                tracing::error!(error = %format!("{e:#}"), "cannot make the daily digests");
                0
            }
        };
        if total > 0 || digests > 0 {
            self.delivery.wake();
        }
        Ok(total)
    }

    /// Makes the digests of today (Copenhagen) if it is a working day, their time has come and
    /// they are not made yet; returns how many were new.
    async fn digests(&self, now: Timestamp) -> anyhow::Result<usize> {
        let Some(plan) = &self.digest else { return Ok(0) };
        let local = now.to_zoned(copenhagen());
        let day = local.date();
        if local.time() < plan.at || !plan.calendar.is_working_day(day) || plan.teams.is_empty() {
            return Ok(0);
        }
        if *plan.done.lock().expect("digest lock") == Some(day) {
            return Ok(0);
        }
        let until = plan
            .calendar
            .add_working_days(day, plan.working_days)
            .context("the digest's horizon lies beyond the calendar's range")?;
        let horizon = until.checked_add(1.day())?.to_zoned(copenhagen())?.timestamp();
        let items = self.store.digest_items(plan.teams.clone(), horizon).await?;
        let digests = plan
            .teams
            .iter()
            .map(|team| {
                let mine: Vec<&DigestItem> = items.iter().filter(|i| &i.team == team).collect();
                NewDigest {
                    team: team.clone(),
                    day,
                    destination: Target::Mailbox(team.clone()).key(),
                    payload: payload(&mine, day, until, now),
                }
            })
            .collect();
        let made = self.store.add_digests(digests, now).await?;
        if made > 0 {
            tracing::info!(digests = made, day = %day, "daily digests made");
        }
        *plan.done.lock().expect("digest lock") = Some(day);
        Ok(made)
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

/// What one team's digest lists, or `None` when there is nothing: overdue are the missed
/// deadlines and the open ones past due (the scheduler marks them missed at its next look).
fn payload(items: &[&DigestItem], day: Date, until: Date, now: Timestamp) -> Option<serde_json::Value> {
    if items.is_empty() {
        return None;
    }
    let (overdue, due): (Vec<&DigestItem>, Vec<&DigestItem>) = items
        .iter()
        .partition(|i| i.state == DeadlineState::Missed || i.due_at <= now);
    let entries = |list: &[&DigestItem]| {
        list.iter()
            .take(DIGEST_SHOWS)
            .map(|i| json!({"case_ref": i.case_ref.as_str(), "title": i.title, "due_at": i.due_at.to_string()}))
            .collect::<Vec<_>>()
    };
    Some(json!({
        "day": day.to_string(),
        "until": until.to_string(),
        "due": entries(&due),
        "due_total": due.len(),
        "overdue": entries(&overdue),
        "overdue_total": overdue.len(),
    }))
}
