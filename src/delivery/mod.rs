//! The delivery worker: passes every accepted message on to the destinations its routes chose,
//! at least once, in acceptance order per case and destination.
//!
//! Deliveries are rows of the outbox, written with the message. The worker claims due rows (a
//! claim is a lease until `delivery.claim_seconds` from now: a crash leaves it to expire, so a
//! claimed delivery is sent again rather than lost), sends them with at most
//! `delivery.concurrency` in flight, and records every attempt. A lease outlasts its attempt:
//! `check_settings` wants `claim_seconds` 10 s longer than the longest webhook or SMTP timeout,
//! and an attempt still sending when only those 10 s of its lease are left is given up (a retry).
//! On a store only this process uses (SQLite) a start releases every claim at once; on a shared
//! one (PostgreSQL, several instances) a claim may be a live instance's, and another instance
//! takes it over only once it has expired. Failures are retried on the schedule of `retry`; a
//! permanent refusal or an exhausted schedule makes a dead letter, which replay puts back with
//! the same delivery id. A destination that fails `delivery.pause_after_failures` times in a row
//! pauses: nothing is sent to it until the cool-down has passed, then one probe; other
//! destinations go on. An operator may also pause a destination (`pause`): then nothing at all,
//! not even a probe, is sent to it until the operator resumes it (`resume`).
//!
//! Both kinds of pause live in the database (`store::destinations`), not in this worker: every
//! instance on the database counts its failures into the same run, leaves a paused destination
//! out of its claims (the claim's own query reads the pauses, so a pause made on another instance
//! holds from that instance's commit on), and takes a probe only by winning it in the store, so
//! one probe goes out at a time in all. Pauses survive a restart: a destination an operator
//! paused stays paused until an operator resumes it, and one paused after failures waits out its
//! cool-down. The worker looks for probes due at most once per `delivery.poll_interval_ms`.

pub mod email;
pub mod ics;
pub mod retry;
mod target;
pub mod webhook;

use crate::clock::Clock;
use crate::config::{DeliverySettings, Settings, TeamSettings};
use crate::metrics::Metrics;
use crate::store::{
    AttemptNext, AttemptRecord, ClaimRequest, ClaimedDelivery, HealthNote, Hold, PauseChange, PausePolicy, Store,
};
use crate::vault::Vault;
use anyhow::bail;
use email::Mailer;
use jiff::Timestamp;
use lettre::message::Mailbox;
use retry::{RetryPolicy, Verdict};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};
pub use target::Target;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};
use webhook::Webhook;

/// The part of a claim's lease kept for recording the attempt's outcome: an attempt may send
/// for `delivery.claim_seconds` less this, and no transport's timeout may be longer.
const RECORDING_MARGIN_SECONDS: u64 = 10;

/// rustls needs one process-wide crypto provider; ours is ring.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Checks `[delivery]`, `[smtp]`, `[teams]` and `[destinations]`: bounds, the retry schedule,
/// the SMTP URL and addresses, the team addresses and each webhook destination.
pub fn check_settings(settings: &Settings) -> anyhow::Result<()> {
    let d = &settings.delivery;
    if !(1..=1024).contains(&d.concurrency) {
        bail!("delivery.concurrency: must lie between 1 and 1024");
    }
    if !(10..=60_000).contains(&d.poll_interval_ms) {
        bail!("delivery.poll_interval_ms: must lie between 10 and 60000");
    }
    retry::schedule(d)?;
    if !(1..=86_400).contains(&d.retry_after_max_seconds) {
        bail!("delivery.retry_after_max_seconds: must lie between 1 and 86400");
    }
    if d.jitter_percent > 50 {
        bail!("delivery.jitter_percent: at most 50");
    }
    if d.pause_after_failures == 0 {
        bail!("delivery.pause_after_failures: at least 1");
    }
    if d.pause_seconds == 0 || d.pause_max_seconds < d.pause_seconds {
        bail!("delivery.pause_seconds: at least 1, and delivery.pause_max_seconds at least as long");
    }
    let longest = settings
        .destinations
        .values()
        .map(|d| d.timeout_seconds)
        .chain([settings.smtp.timeout_seconds])
        .max()
        .unwrap_or(0);
    if d.claim_seconds < longest + RECORDING_MARGIN_SECONDS {
        bail!(
            "delivery.claim_seconds: at least {RECORDING_MARGIN_SECONDS} s more than the longest timeout ({longest} s), or an attempt still running could be started again"
        );
    }
    let public_url = &settings.web.public_url;
    if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
        bail!("web.public_url: {public_url:?} is not an http(s) URL");
    }
    if !settings.smtp.url.is_empty() {
        email::check_smtp_url(&settings.smtp.url).map_err(|e| anyhow::anyhow!("smtp.url: {e}"))?;
    }
    settings
        .smtp
        .from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| anyhow::anyhow!("smtp.from: {:?} is not an email address: {e}", settings.smtp.from))?;
    if settings.smtp.timeout_seconds == 0 || settings.smtp.timeout_seconds > 600 {
        bail!("smtp.timeout_seconds: must lie between 1 and 600");
    }
    for (id, team) in &settings.teams {
        if !crate::config::valid_id(id) {
            bail!("teams.{id}: a team id is lower-case letters, digits and '_'");
        }
        for (key, address) in [("mailbox", &team.mailbox), ("lead", &team.lead)] {
            address
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| anyhow::anyhow!("teams.{id}.{key}: {address:?} is not an email address: {e}"))?;
        }
    }
    for (id, destination) in &settings.destinations {
        if !crate::config::valid_id(id) {
            bail!("destinations.{id}: a destination id is lower-case letters, digits and '_'");
        }
        webhook::check(destination).map_err(|e| anyhow::anyhow!("destinations.{id}.{e:#}"))?;
    }
    Ok(())
}

pub struct Delivery {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    clock: Clock,
    metrics: Arc<Metrics>,
    policy: RetryPolicy,
    settings: DeliverySettings,
    /// The base of links to the pages in emails (`web.public_url`).
    public_url: String,
    webhooks: HashMap<String, Webhook>,
    teams: BTreeMap<String, TeamSettings>,
    mailer: Mailer,
    templates: crate::alerts::Templates,
    from: Mailbox,
    group_window: jiff::SignedDuration,
    group_max: usize,
    /// The destinations whose probe this worker has taken and not yet sent.
    probing: Mutex<HashSet<String>>,
    /// When this worker last looked for probes due (`None`: look on the next pass).
    probes_looked: Mutex<Option<Instant>>,
    permits: Arc<Semaphore>,
    in_flight: watch::Sender<usize>,
    /// The rows being sent now.
    busy: Mutex<HashSet<i64>>,
    /// One pass at a time: a pass's claims are counted in flight before the next looks.
    passing: tokio::sync::Mutex<()>,
    wake: Notify,
    stopping: AtomicBool,
    /// Attempts on their way to the store, recorded many to a transaction.
    recorder: mpsc::UnboundedSender<(AttemptRecord, oneshot::Sender<anyhow::Result<()>>)>,
    pause_policy: PausePolicy,
    /// The matching rules and the housing deadline's policy: a vacant home's email counts its
    /// candidates (docs/matching.md).
    matching: (crate::matching::MatchRules, String),
}

/// Writes attempt records as they come, all that have queued up in one store call: attempts
/// finish one by one, and a transaction each would cost the writer more than the sending.
async fn record(
    store: Arc<dyn Store>,
    mut queue: mpsc::UnboundedReceiver<(AttemptRecord, oneshot::Sender<anyhow::Result<()>>)>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let (records, waiting): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let result = store.record_attempts(records).await;
        for change in result.as_deref().unwrap_or_default() {
            match change {
                PauseChange::Paused {
                    destination,
                    failures_in_row,
                    pause_seconds,
                } => tracing::warn!(
                    destination,
                    failures_in_row,
                    pause_seconds,
                    "destination paused after failing"
                ),
                PauseChange::Ended { destination } => {
                    tracing::info!(destination, "destination answers again; no longer paused")
                }
            }
        }
        for reply in waiting {
            let _ = reply.send(match &result {
                Ok(_) => Ok(()),
                Err(e) => Err(anyhow::anyhow!("{e:#}")),
            });
        }
    }
}

/// One group's attempt in flight: counted, its rows busy and a permit held from `start` until
/// the guard is dropped, whether the attempt ends normally or its task panics (a panic that left
/// the count up would make `stop` wait for ever).
struct Flight {
    worker: Arc<Delivery>,
    rows: Vec<i64>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    landed: bool,
}

impl Flight {
    fn start(worker: Arc<Delivery>, rows: Vec<i64>, permit: tokio::sync::OwnedSemaphorePermit) -> Flight {
        worker.in_flight.send_modify(|n| *n += 1);
        worker.busy.lock().expect("busy lock").extend(rows.iter().copied());
        Flight {
            worker,
            rows,
            permit: Some(permit),
            landed: false,
        }
    }

    /// Sends the group and records its outcome.
    async fn fly(mut self, group: Vec<ClaimedDelivery>) {
        self.worker.attempt(group).await;
        self.landed = true;
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        if !self.landed {
            tracing::error!(
                deliveries = self.rows.len(),
                "a delivery attempt ended without an outcome (it panicked); its claim expires and it is sent again"
            );
        }
        // A panic elsewhere while the lock was held must not keep the count up.
        let mut busy = self
            .worker
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for row in &self.rows {
            busy.remove(row);
        }
        drop(busy);
        drop(self.permit.take());
        self.worker.in_flight.send_modify(|n| *n -= 1);
        // The next delivery of the same case may be due now.
        self.worker.wake.notify_one();
    }
}

impl Delivery {
    pub fn new(
        settings: &Settings,
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Delivery> {
        let webhooks = settings
            .destinations
            .iter()
            .map(|(id, d)| {
                Webhook::new(d)
                    .map(|w| (id.clone(), w))
                    .map_err(|e| anyhow::anyhow!("destinations.{id}.{e:#}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let (recorder, queue) = mpsc::unbounded_channel();
        tokio::spawn(record(store.clone(), queue));
        Ok(Delivery {
            recorder,
            store,
            vault,
            clock,
            metrics,
            policy: RetryPolicy::new(settings)?,
            settings: settings.delivery.clone(),
            public_url: settings.web.public_url.clone(),
            webhooks,
            teams: settings.teams.clone(),
            mailer: Mailer::new(settings)?,
            templates: crate::alerts::Templates::load(settings.alerts.templates_dir())?,
            from: settings.smtp.from.parse()?,
            group_window: settings.alerts.group_window()?,
            group_max: settings.alerts.group_max,
            probing: Mutex::new(HashSet::new()),
            probes_looked: Mutex::new(None),
            pause_policy: PausePolicy {
                after_failures: settings.delivery.pause_after_failures,
                first_seconds: settings.delivery.pause_seconds,
                max_seconds: settings.delivery.pause_max_seconds,
            },
            permits: Arc::new(Semaphore::new(settings.delivery.concurrency)),
            in_flight: watch::Sender::new(0),
            busy: Mutex::new(HashSet::new()),
            passing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            matching: (
                crate::matching::MatchRules::from_settings(&settings.matching)?,
                settings.reports.housing_policy.clone(),
            ),
        })
    }

    /// Tells the worker that something may be due (a message was just accepted).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `stop`: claims and sends due deliveries whenever woken, and at least every
    /// `delivery.poll_interval_ms`.
    pub async fn run(self: Arc<Self>) {
        let release = match self.store.shared() {
            // A claim may be a live instance's: it is taken over once it expires.
            true => Ok(0),
            false => self.store.release_claims().await,
        };
        match release {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                deliveries = n,
                "deliveries claimed when the gateway last stopped are sent again"
            ),
            Err(e) => {
                tracing::error!(error = %e, "cannot release earlier claims; they expire after delivery.claim_seconds")
            }
        }
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        while !self.stopping.load(Ordering::SeqCst) {
            self.pass().await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        self.idle().await;
    }

    /// Stops claiming and waits until the attempts in flight have finished and are recorded.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.idle().await;
    }

    /// Sends everything due now (by the clock), waits for the outcomes, and goes on while that
    /// makes more deliveries due (a later message of a case waits for the earlier). Tests use
    /// this with a manual clock instead of sleeping.
    pub async fn drain(self: &Arc<Self>) {
        loop {
            self.idle().await;
            // By the test's clock, not after a poll interval.
            *self.probes_looked.lock().expect("probes lock") = None;
            // Done only when a pass that found nothing in flight claims nothing. Reading the count
            // after the pass instead would let an attempt that held back a later delivery of its
            // case end in between (on a runtime with more than one thread) and leave that
            // delivery due, unclaimed, after `drain` returned.
            let (claimed, quiet) = self.pass_from().await;
            if claimed == 0 && quiet {
                return;
            }
        }
    }

    async fn idle(&self) {
        let mut watcher = self.in_flight.subscribe();
        let _ = watcher.wait_for(|n| *n == 0).await;
    }

    /// An operator pauses a destination: nothing more is claimed for it, by any instance on the
    /// database (attempts already under way finish), until an operator resumes it. `false` for a
    /// destination the configuration does not know.
    pub async fn pause(&self, destination: &str, hold: Hold) -> anyhow::Result<bool> {
        if !self.destinations().iter().any(|d| d == destination) {
            return Ok(false);
        }
        self.store.hold_destination(destination, hold).await?;
        tracing::warn!(destination, "destination paused by an operator");
        Ok(true)
    }

    /// An operator resumes a destination: ends its pause, the operator's or the automatic one
    /// (the run of failures starts over), and sends what is due at once. `false` for a
    /// destination the configuration does not know.
    pub async fn resume(&self, destination: &str) -> anyhow::Result<bool> {
        if !self.destinations().iter().any(|d| d == destination) {
            return Ok(false);
        }
        self.store.resume_destination(destination).await?;
        tracing::info!(destination, "destination resumed by an operator");
        self.wake();
        Ok(true)
    }

    /// The address behind a team destination (`mail:<team>`, `lead:<team>`).
    pub fn recipient(&self, destination: &str) -> Option<String> {
        match Target::parse(destination) {
            Target::Mailbox(team) => self.teams.get(&team).map(|t| t.mailbox.clone()),
            Target::Lead(team) => self.teams.get(&team).map(|t| t.lead.clone()),
            Target::Webhook(_) => None,
        }
    }

    /// Every destination the configuration knows: the webhooks and the team mailboxes.
    pub fn destinations(&self) -> Vec<String> {
        let mut all: Vec<String> = self.webhooks.keys().cloned().collect();
        all.extend(self.teams.keys().map(|t| Target::Mailbox(t.clone()).key()));
        all.extend(self.teams.keys().map(|t| Target::Lead(t.clone()).key()));
        all.sort();
        all
    }

    /// Claims what is due and starts sending it; returns how many were claimed.
    async fn pass(self: &Arc<Self>) -> usize {
        self.pass_from().await.0
    }

    /// As `pass`; also says whether no attempt was in flight when it began. Attempts start only
    /// in a pass, so then none ended while it looked: what it did not claim was not due.
    async fn pass_from(self: &Arc<Self>) -> (usize, bool) {
        let _one_at_a_time = self.passing.lock().await;
        let quiet = *self.in_flight.borrow() == 0;
        (self.pass_locked().await, quiet)
    }

    async fn pass_locked(self: &Arc<Self>) -> usize {
        let mut total = 0;
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return total;
            }
            let free = self.permits.available_permits();
            // Claim in batches: one claim per finished attempt would cost the writer a
            // transaction each.
            let busy_now = *self.in_flight.borrow();
            if free == 0 || (busy_now > 0 && free < self.settings.concurrency.div_ceil(4)) {
                return total;
            }
            let now = self.clock.now();
            let probes = self.probes_due(now).await;
            let until = now + jiff::SignedDuration::from_secs(self.settings.claim_seconds as i64);
            let busy: Vec<i64> = self.busy.lock().expect("busy lock").iter().copied().collect();
            let mut claimed = Vec::new();
            for destination in probes {
                if claimed.len() >= free {
                    break;
                }
                match self.store.take_probe(&destination, now, until).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot take a probe");
                        continue;
                    }
                }
                let request = ClaimRequest {
                    now,
                    until,
                    limit: 1,
                    only: Some(destination.clone()),
                    busy: busy.clone(),
                    group: self.grouping(now),
                };
                match self.store.claim_deliveries(request).await {
                    Ok(found) if !found.is_empty() => {
                        tracing::info!(destination, "probing a paused destination");
                        self.probing.lock().expect("probing lock").insert(destination);
                        claimed.extend(found);
                    }
                    Ok(_) => self.give_back_probe(&destination).await,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot claim deliveries");
                        self.give_back_probe(&destination).await;
                        return total;
                    }
                }
            }
            let limit = free - claimed.len();
            let request = ClaimRequest {
                now,
                until,
                limit,
                only: None,
                busy,
                group: self.grouping(now),
            };
            let found = if limit == 0 {
                Vec::new()
            } else {
                match self.store.claim_deliveries(request).await {
                    Ok(found) => found,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot claim deliveries");
                        Vec::new()
                    }
                }
            };
            // Rows joined into a group count too: fewer groups than the limit may still mean
            // more is due.
            let full = limit > 0 && found.iter().map(Vec::len).sum::<usize>() >= limit;
            claimed.extend(found);
            if claimed.is_empty() {
                return total;
            }
            total += claimed.len();
            for group in claimed {
                let permit = self
                    .permits
                    .clone()
                    .try_acquire_owned()
                    .expect("claims never exceed the free permits");
                let flight = Flight::start(self.clone(), group.iter().map(|d| d.row).collect(), permit);
                tokio::spawn(flight.fly(group));
            }
            if !full {
                return total;
            }
        }
    }

    /// How alerts to a team address are grouped, when `alerts.group_window` is not zero.
    fn grouping(&self, now: Timestamp) -> Option<crate::store::Grouping> {
        (!self.group_window.is_zero()).then(|| crate::store::Grouping {
            horizon: now.saturating_add(self.group_window).unwrap_or(now),
            max: self.group_max,
        })
    }

    /// The paused destinations whose cool-down has passed at `now` and whose probe nobody has
    /// taken; looked for at most once per poll interval, as they come due at most that late.
    async fn probes_due(&self, now: Timestamp) -> Vec<String> {
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        {
            let mut looked = self.probes_looked.lock().expect("probes lock");
            if looked.is_some_and(|at| at.elapsed() < poll) {
                return Vec::new();
            }
            *looked = Some(Instant::now());
        }
        match self.store.destination_states().await {
            Ok(states) => states
                .into_iter()
                .filter(|s| s.probe_due(now))
                .map(|s| s.destination)
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read which destinations are paused");
                Vec::new()
            }
        }
    }

    /// Gives back a probe taken when nothing of its destination was due.
    async fn give_back_probe(&self, destination: &str) {
        if let Err(e) = self.store.drop_probe(destination).await {
            tracing::warn!(destination, error = %e, "cannot give back a probe; another may be taken once it expires");
        }
    }

    /// Sends a group (one delivery, or alerts to one team address as one email) and records
    /// the outcome for each of its deliveries.
    async fn attempt(&self, group: Vec<ClaimedDelivery>) {
        let Some(d) = group.first() else { return };
        let started_at = self.clock.now();
        let started = Instant::now();
        // The transports' timeouts bound each request (lettre's each read and write of the SMTP
        // conversation); this bounds the whole attempt, so that its lease cannot run out while
        // it is still sending and another instance claims it again.
        let budget = Duration::from_secs(self.settings.claim_seconds.saturating_sub(RECORDING_MARGIN_SECONDS));
        let verdict = match tokio::time::timeout(budget, self.send(&group)).await {
            Ok(verdict) => verdict,
            Err(_) => Verdict::Retry {
                status: None,
                error: format!(
                    "the attempt took longer than delivery.claim_seconds allows ({} s)",
                    budget.as_secs()
                ),
                retry_after: None,
            },
        };
        let latency = started.elapsed();
        let now = self.clock.now();
        let probe = self.probing.lock().expect("probing lock").remove(&d.destination);
        let mut health = Some(HealthNote {
            destination: d.destination.clone(),
            failed: matches!(verdict, Verdict::Retry { .. }),
            probe,
            at: now,
            policy: self.pause_policy,
        });
        let status = verdict.status();
        // A receiver's answer text stays in the store (masked); the log gets our own words only.
        let fault = match &verdict {
            Verdict::Delivered { .. } => None,
            Verdict::Retry { status: Some(_), .. } | Verdict::Permanent { status: Some(_), .. } => Some("refused"),
            Verdict::Retry { error, .. } | Verdict::Permanent { error, .. } => Some(error.as_str()),
        };
        // One outcome for the whole group, so that it stays together: the failures counted are
        // those of its member that has failed most.
        let failures = group
            .iter()
            .map(|d| usize::try_from(d.failures).unwrap_or(0))
            .max()
            .unwrap_or(0)
            + 1;
        let next = match &verdict {
            Verdict::Delivered { .. } => AttemptNext::Delivered,
            Verdict::Retry { retry_after, .. } => match self.policy.wait(failures, *retry_after) {
                Some(wait) => AttemptNext::Retry {
                    at: now + jiff::SignedDuration::try_from(wait).unwrap_or_default(),
                },
                None => AttemptNext::Dead {
                    reason: format!("the retry schedule ran out after {failures} failed attempts"),
                },
            },
            Verdict::Permanent { .. } if group.len() > 1 => AttemptNext::Alone { at: now },
            Verdict::Permanent { .. } => AttemptNext::Dead {
                reason: "refused permanently".to_owned(),
            },
        };
        let mut waiting = Vec::with_capacity(group.len());
        for d in &group {
            let next = next.clone();
            let outcome = match &next {
                AttemptNext::Delivered => "delivered",
                AttemptNext::Retry { .. } | AttemptNext::Alone { .. } => "retry",
                AttemptNext::Dead { .. } => "dead",
            };
            self.metrics.delivery(&d.destination, outcome);
            let case = d.case_ref().map(|c| c.as_str());
            let with = group.len();
            match &next {
                AttemptNext::Delivered => tracing::info!(
                    delivery = %d.delivery_id, destination = %d.destination, case, purpose = %d.purpose, with,
                    attempt = d.attempts + 1, latency_ms = latency.as_millis() as u64, "delivered"
                ),
                AttemptNext::Retry { at } => tracing::warn!(
                    delivery = %d.delivery_id, destination = %d.destination, case, purpose = %d.purpose, with,
                    attempt = d.attempts + 1, status, error = fault, next_attempt = %at, "delivery failed; will retry"
                ),
                AttemptNext::Alone { .. } => tracing::warn!(
                    delivery = %d.delivery_id, destination = %d.destination, case, purpose = %d.purpose, with,
                    attempt = d.attempts + 1, status, error = fault,
                    "a collected email was refused; its alerts are sent again one by one"
                ),
                AttemptNext::Dead { reason } => tracing::error!(
                    delivery = %d.delivery_id, destination = %d.destination, case, purpose = %d.purpose, with,
                    attempt = d.attempts + 1, status, error = fault, reason, "delivery is a dead letter"
                ),
            }
            let record = AttemptRecord {
                row: d.row,
                started_at,
                latency_us: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
                status,
                error: verdict.error().map(str::to_owned),
                next,
                // The group counts once.
                health: health.take(),
            };
            let (reply, recorded) = oneshot::channel();
            match self.recorder.send((record, reply)) {
                Ok(()) => waiting.push((d, recorded)),
                Err(_) => {
                    tracing::error!(delivery = %d.delivery_id, error = "the recorder stopped", "cannot record a delivery attempt")
                }
            }
        }
        for (d, recorded) in waiting {
            let result = recorded
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the recorder stopped")));
            if let Err(e) = result {
                // The claim expires and the delivery is sent again: at least once, never lost.
                tracing::error!(delivery = %d.delivery_id, error = %e, "cannot record a delivery attempt");
            }
        }
    }

    /// The group, with the number of candidates in the summary of each notification about a
    /// vacant home (`candidates`), counted now against the citizens seeking housing. A count
    /// that cannot be made is left out: the email goes without it rather than not at all.
    async fn count_candidates(&self, group: &[ClaimedDelivery]) -> Vec<ClaimedDelivery> {
        let mut group = group.to_vec();
        for d in group.iter_mut().filter(|d| d.purpose == "message") {
            let Some(m) = d.message.as_mut() else { continue };
            if m.kind != crate::domain::Kind::HousingOffer || m.summary.get("vacant") != Some(&true.into()) {
                continue;
            }
            let Some(home) = crate::matching::Home::from_summary(&m.summary) else {
                continue;
            };
            let (rules, policy) = &self.matching;
            match self
                .store
                .housing_seekers(m.municipality.clone(), policy.clone(), None)
                .await
            {
                Ok(rows) => {
                    let seekers: Vec<_> = rows.iter().filter_map(crate::matching::seeker).collect();
                    let today = crate::domain::copenhagen_date(self.clock.now());
                    let ranking = crate::matching::rank(&home, &seekers, today, rules);
                    if let Some(summary) = m.summary.as_object_mut() {
                        summary.insert("candidates".to_owned(), ranking.candidates.len().into());
                    }
                }
                Err(e) => {
                    tracing::warn!(case = %m.case_ref, error = %e, "cannot count the candidates for a vacant home")
                }
            }
        }
        group
    }

    async fn send(&self, group: &[ClaimedDelivery]) -> Verdict {
        let gone = |what: String| Verdict::Permanent {
            status: None,
            error: format!("{what} is no longer configured"),
        };
        let Some(d) = group.first() else {
            return Verdict::Delivered { status: None };
        };
        match Target::parse(&d.destination) {
            Target::Webhook(id) => {
                let Some(webhook) = self.webhooks.get(&id) else {
                    return gone(format!("destination {id}"));
                };
                let Some(m) = &d.message else {
                    return Verdict::Permanent {
                        status: None,
                        error: "a webhook delivery without a message".to_owned(),
                    };
                };
                if d.purpose == "housing-answer" {
                    return match webhook::housing_answer(&d.delivery_id, m, d.payload.as_ref(), &self.vault) {
                        Ok(event) => {
                            let body = serde_json::to_vec(&event).expect("JSON values serialise");
                            webhook.send(&d.delivery_id, body).await
                        }
                        Err(e) => Verdict::Permanent {
                            status: None,
                            error: format!("cannot open the stored answer: {e}"),
                        },
                    };
                }
                let message = match self
                    .vault
                    .open_document(&m.body_sealed)
                    .and_then(|bytes| Ok(serde_json::from_slice(&bytes)?))
                {
                    Ok(message) => message,
                    Err(e) => {
                        return Verdict::Permanent {
                            status: None,
                            error: format!("cannot open the stored message: {e}"),
                        };
                    }
                };
                let body =
                    serde_json::to_vec(&webhook::event(&d.delivery_id, m, message)).expect("JSON values serialise");
                webhook.send(&d.delivery_id, body).await
            }
            Target::Mailbox(team_id) | Target::Lead(team_id) => {
                let Some(team) = self.teams.get(&team_id) else {
                    return gone(format!("team {team_id}"));
                };
                let to = if d.destination.starts_with("lead:") {
                    &team.lead
                } else {
                    &team.mailbox
                };
                let group = self.count_candidates(group).await;
                let rendered = email::render(
                    &group,
                    (&team_id, team),
                    to,
                    &self.from,
                    &self.public_url,
                    &self.templates,
                );
                match rendered {
                    Ok(message) => self.mailer.send(&email::message_id(&group), message).await,
                    Err(e) => Verdict::Permanent {
                        status: None,
                        error: format!("{e:#}"),
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_attempt_that_panics_does_not_keep_stop_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let env = [("INDGANG__DATA_DIR".to_owned(), dir.path().display().to_string())];
        let settings = Settings::load_from(None, env).unwrap();
        let store: Arc<dyn Store> = crate::startup::open_store(&settings).await.unwrap();
        let vault = Arc::new(crate::startup::open_vault(&settings, store.as_ref()).await.unwrap());
        let worker = Arc::new(Delivery::new(&settings, store.clone(), vault, Clock::system(), Arc::default()).unwrap());
        let permit = worker.permits.clone().try_acquire_owned().unwrap();

        // As `pass` starts an attempt, whose sending then panics.
        let flight = Flight::start(worker.clone(), vec![7], permit);
        let attempt = tokio::spawn(async move {
            let _flight = flight;
            panic!("a send that panics");
        });
        assert!(attempt.await.unwrap_err().is_panic());

        tokio::time::timeout(Duration::from_secs(30), worker.stop())
            .await
            .expect("stop returns once nothing is in flight");
        assert!(worker.busy.lock().unwrap().is_empty(), "the row is no longer busy");
        assert_eq!(
            worker.permits.available_permits(),
            settings.delivery.concurrency,
            "the permit is back"
        );
        store.close().await;
    }
}
