//! The SQL of the delivery outbox on PostgreSQL. Due deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED`, so two workers claiming at once never take the same rows.

use super::queries::{case_ref_of, kind_of};
use super::sql::{at, at_opt, exec, micros, one, opt, rows};
use crate::domain::CaseRef;
use crate::store::{
    About, AttemptNext, AttemptRecord, CalendarEntry, ClaimRequest, ClaimedDelivery, ClaimedMessage, DeadLetterFilter,
    DeliveryRecord, DeliveryState, DestinationQueue, Grouping, NewDigest, NewMessage, Replay,
};
use anyhow::Context;
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Row;

/// Writes a new message's deliveries, each due at its `not_before`.
pub async fn insert<C: GenericClient>(
    conn: &C,
    m: &NewMessage,
    message: i64,
    case_id: i64,
    case_ref: &CaseRef,
) -> anyhow::Result<Vec<DeliveryRecord>> {
    let at = micros(m.received_at);
    let mut records = Vec::with_capacity(m.deliveries.len());
    for d in &m.deliveries {
        exec(
            conn,
            "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
            &[
                &d.delivery_id,
                &message,
                &case_id,
                &d.destination,
                &serde_json::to_string(&d.routes)?,
                &micros(d.not_before),
                &at,
            ],
        )
        .await?;
        records.push(DeliveryRecord {
            delivery_id: d.delivery_id.clone(),
            destination: d.destination.clone(),
            routes: d.routes.clone(),
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Some(d.not_before),
            created_at: m.received_at,
            finished_at: None,
            last_status: None,
            last_error: None,
            dead_reason: None,
            purpose: "message".to_owned(),
            about: Some(About {
                receipt_id: m.receipt_id.clone(),
                case_ref: case_ref.clone(),
                kind: m.kind,
            }),
        });
    }
    Ok(records)
}

const RECORD_COLUMNS: &str = "d.delivery_id, d.destination, d.routes, d.state, d.attempts, d.next_attempt_at, \
     d.created_at, d.finished_at, d.last_status, d.last_error, d.dead_reason, m.receipt_id, c.case_ref, m.kind, \
     d.purpose";

const RECORD_FROM: &str = "deliveries d LEFT JOIN messages m ON m.id = d.message LEFT JOIN cases c ON c.id = d.case_id";

fn record_row(row: &Row) -> anyhow::Result<DeliveryRecord> {
    let state = DeliveryState::parse(row.try_get(3)?).unwrap_or(DeliveryState::Pending);
    let routes: String = row.try_get(2)?;
    let about = match (
        row.try_get::<_, Option<String>>(11)?,
        row.try_get::<_, Option<&str>>(12)?,
        row.try_get::<_, Option<&str>>(13)?,
    ) {
        (Some(receipt_id), Some(case_ref), Some(kind)) => Some(About {
            receipt_id,
            case_ref: case_ref_of(case_ref),
            kind: kind_of(kind)?,
        }),
        _ => None,
    };
    let open = matches!(state, DeliveryState::Pending | DeliveryState::Retrying);
    Ok(DeliveryRecord {
        delivery_id: row.try_get(0)?,
        destination: row.try_get(1)?,
        routes: serde_json::from_str(&routes).unwrap_or_default(),
        state,
        attempts: row.try_get(4)?,
        next_attempt_at: if open { Some(at(row, 5)?) } else { None },
        created_at: at(row, 6)?,
        finished_at: at_opt(row, 7)?,
        last_status: row.try_get(8)?,
        last_error: row.try_get(9)?,
        dead_reason: row.try_get(10)?,
        purpose: row.try_get(14)?,
        about,
    })
}

pub async fn of_receipt<C: GenericClient>(conn: &C, receipt_id: &str) -> anyhow::Result<Vec<DeliveryRecord>> {
    // Reminders and escalations hang on the message too, but they are the municipality's
    // business, not the sender's.
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE m.receipt_id = $1 AND d.purpose = 'message' ORDER BY d.id"
    );
    rows(conn, &sql, &[&receipt_id]).await?.iter().map(record_row).collect()
}

/// The deliveries of every message of a case (as `of_receipt` gives one message's), in one
/// query rather than one per message: the case page shows them all.
pub async fn of_case<C: GenericClient>(conn: &C, case_id: i64) -> anyhow::Result<Vec<DeliveryRecord>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM}
         WHERE d.message IN (SELECT id FROM messages WHERE case_id = $1) AND d.purpose = 'message' ORDER BY d.id"
    );
    rows(conn, &sql, &[&case_id]).await?.iter().map(record_row).collect()
}

/// Team addresses, whose alerts are grouped.
const TEAM_DESTINATION: &str = "(d.destination LIKE 'mail:%' OR d.destination LIKE 'lead:%')";

/// The `OFFSET 0` that ends each "earlier open delivery of the same case and destination"
/// subquery below. It keeps the subquery a subplan run once per candidate row, which looks its
/// case and destination up in `deliveries_open_by_case` (see `OPEN_E`): without it PostgreSQL turns the
/// `NOT EXISTS` into an anti join, and when the table's statistics are stale (taken while the
/// queue was nearly empty, as after a burst of new deliveries that autovacuum has not analysed
/// yet, or always with autovacuum off) it plans that join as a nested loop whose inner side is a
/// full scan of an open-deliveries index with a join filter: quadratic in the open deliveries
/// (0.5 s per claim with 30,000 open, a minute per group query). See docs/postgres.md.
const PER_ROW: &str = "OFFSET 0";

/// "`e` is open", said as in the predicate of `deliveries_open_by_case` (migration 0004) and no
/// other index's, so that the subplans of `PER_ROW` can only use that index, even when the table
/// has never been analysed.
const OPEN_E: &str = "e.state <> 'delivered' AND e.state <> 'dead'";

/// The due deliveries, oldest due first, that no other transaction holds, locked until this
/// transaction ends (by then they are marked claimed). Paused destinations are left out, but for
/// the probe of `$2` after an automatic pause (`store::destinations`). A delivery waits while an
/// earlier one of its case and destination is open; the check is made row by row (`PER_ROW`), so
/// a run of waiting deliveries at the head of the due order costs one index probe each and the
/// rows behind it are still claimed.
fn due_sql() -> String {
    format!(
        "SELECT d.id, d.destination, {TEAM_DESTINATION} AND d.purpose <> 'digest' AND NOT d.alone FROM deliveries d
         WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= $1
           AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
           AND ($2::text IS NULL OR d.destination = $2)
           AND NOT (d.id = ANY($3::bigint[]))
           AND NOT EXISTS (
               SELECT 1 FROM deliveries e
               WHERE e.case_id = d.case_id AND e.destination = d.destination AND e.id < d.id
                 AND {OPEN_E}
               {PER_ROW})
           AND NOT EXISTS (
               SELECT 1 FROM destination_pauses p
               WHERE p.destination = d.destination
                 AND (p.held_at IS NOT NULL OR (p.paused_until IS NOT NULL AND $2::text IS NULL)))
         ORDER BY d.next_attempt_at, d.id
         LIMIT $4
         FOR UPDATE OF d SKIP LOCKED"
    )
}

pub async fn claim<C: GenericClient>(conn: &C, r: &ClaimRequest) -> anyhow::Result<Vec<Vec<ClaimedDelivery>>> {
    // The claim's queries read in the order of an index (`deliveries_due`, and
    // `deliveries_open_by_destination` for a group) and stop at their limit. On a table never
    // analysed the planner guesses few due rows and would rather read them all and sort them:
    // with 38,000 due, half a second per claim. Until this transaction ends, a sort is its last
    // resort (PostgreSQL still sorts where no index gives the order).
    exec(conn, "SET LOCAL enable_sort = off", &[]).await?;
    let now = micros(r.now);
    let limit = i64::try_from(r.limit).unwrap_or(i64::MAX);
    let due: Vec<(i64, String, bool)> = rows(conn, &due_sql(), &[&now, &r.only, &r.busy, &limit])
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut taken = HashSet::new();
    let mut groups: Vec<Vec<i64>> = Vec::with_capacity(due.len());
    for (row, destination, groupable) in due {
        if taken.contains(&row) {
            continue;
        }
        let mut members = match r.group {
            Some(grouping) if groupable => group_of(conn, &destination, grouping, now, &r.busy).await?,
            _ => Vec::new(),
        };
        members.retain(|m| !taken.contains(m));
        let behind = waiting_behind(conn, &members).await?;
        members.retain(|m| !behind.contains(m));
        if members.is_empty() {
            members.push(row);
        }
        taken.extend(members.iter().copied());
        groups.push(members);
    }
    let all: Vec<i64> = groups.iter().flatten().copied().collect();
    let mut claimed = claim_rows(conn, &all, r.until).await?;
    groups
        .into_iter()
        .map(|members| {
            members
                .into_iter()
                .map(|id| {
                    claimed
                        .remove(&id)
                        .context("a claimed delivery vanished within its claim")
                })
                .collect()
        })
        .collect()
}

/// The alerts to one address that may go out together, in acceptance order.
fn group_sql() -> String {
    let ready = |t: &str| {
        format!(
            "{t}.next_attempt_at <= $2 AND ({t}.claimed_until IS NULL OR {t}.claimed_until <= $3) \
             AND NOT {t}.alone AND NOT ({t}.id = ANY($4::bigint[]))"
        )
    };
    format!(
        "SELECT d.id FROM deliveries d
         WHERE d.destination = $1 AND d.state IN ('pending', 'retrying') AND d.purpose <> 'digest'
           AND {}
           AND NOT EXISTS (
               SELECT 1 FROM deliveries e
               WHERE e.case_id = d.case_id AND e.destination = d.destination AND e.id < d.id
                 AND {OPEN_E} AND NOT ({})
               {PER_ROW})
         ORDER BY d.id
         LIMIT $5
         FOR UPDATE OF d SKIP LOCKED",
        ready("d"),
        ready("e")
    )
}

/// The members of a group that wait behind an earlier open delivery of their case and
/// destination outside the group. `group_sql` lets an earlier delivery that is ready join the
/// group; but one that another instance's claim has locked (and not yet marked claimed) looks
/// ready and is skipped, and the later one must not go out beside it.
async fn waiting_behind<C: GenericClient>(conn: &C, members: &[i64]) -> anyhow::Result<HashSet<i64>> {
    if members.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT d.id FROM deliveries d
         WHERE d.id = ANY($1::bigint[])
           AND EXISTS (
               SELECT 1 FROM deliveries e
               WHERE e.case_id = d.case_id AND e.destination = d.destination AND e.id < d.id
                 AND {OPEN_E} AND NOT (e.id = ANY($1::bigint[]))
               {PER_ROW})"
    );
    rows(conn, &sql, &[&members])
        .await?
        .iter()
        .map(|row| Ok(row.try_get(0)?))
        .collect()
}

/// The open alerts to one team address that may go out now in one email.
async fn group_of<C: GenericClient>(
    conn: &C,
    destination: &str,
    g: Grouping,
    now: i64,
    busy: &[i64],
) -> anyhow::Result<Vec<i64>> {
    let max = i64::try_from(g.max).unwrap_or(i64::MAX);
    rows(
        conn,
        &group_sql(),
        &[&destination, &micros(g.horizon), &now, &busy, &max],
    )
    .await?
    .iter()
    .map(|row| Ok(row.try_get(0)?))
    .collect()
}

/// Marks the deliveries `ids` claimed until `until` and reads what sending them needs: three
/// statements for the whole claim, not three per delivery (each is a round trip to the server).
async fn claim_rows<C: GenericClient>(
    conn: &C,
    ids: &[i64],
    until: Timestamp,
) -> anyhow::Result<HashMap<i64, ClaimedDelivery>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    exec(
        conn,
        "UPDATE deliveries SET claimed_until = $2 WHERE id = ANY($1::bigint[])",
        &[&ids, &micros(until)],
    )
    .await?;
    let rows = rows(
        conn,
        "SELECT d.id, d.delivery_id, d.destination, d.attempts, d.failures, m.receipt_id, c.case_ref, m.kind,
                c.municipality, m.received_at, m.body_sealed, m.summary, d.purpose, x.title, x.due_at,
                (SELECT a.due_at FROM deadlines a WHERE a.case_id = d.case_id AND a.scope = 'message:' || m.receipt_id
                 LIMIT 1),
                d.deadline, d.message, d.case_id, d.created_at, d.payload
         FROM deliveries d LEFT JOIN messages m ON m.id = d.message LEFT JOIN cases c ON c.id = d.case_id
              LEFT JOIN deadlines x ON x.id = d.deadline
         WHERE d.id = ANY($1::bigint[])",
        &[&ids],
    )
    .await?;
    let mut claimed = HashMap::with_capacity(rows.len());
    // Of each delivery about a message: its row, deadline, message, case and receipt id.
    let mut about = Vec::new();
    for row in &rows {
        let message = match row.try_get::<_, Option<String>>(5)? {
            Some(receipt_id) => {
                let summary: String = row.try_get(11)?;
                Some(ClaimedMessage {
                    receipt_id,
                    case_ref: case_ref_of(row.try_get(6)?),
                    kind: kind_of(row.try_get(7)?)?,
                    municipality: row.try_get(8)?,
                    received_at: at(row, 9)?,
                    body_sealed: row.try_get(10)?,
                    summary: serde_json::from_str(&summary).unwrap_or_default(),
                    acknowledge_by: at_opt(row, 15)?,
                })
            }
            None => None,
        };
        let delivery = ClaimedDelivery {
            row: row.try_get(0)?,
            delivery_id: row.try_get(1)?,
            destination: row.try_get(2)?,
            attempts: row.try_get(3)?,
            failures: row.try_get(4)?,
            created_at: at(row, 19)?,
            purpose: row.try_get(12)?,
            message,
            deadline: match (row.try_get::<_, Option<String>>(13)?, at_opt(row, 14)?) {
                (Some(title), Some(due)) => Some((title, due)),
                _ => None,
            },
            calendar: Vec::new(),
            payload: row
                .try_get::<_, Option<String>>(20)?
                .and_then(|text| serde_json::from_str(&text).ok()),
        };
        let deadline: Option<i64> = row.try_get(16)?;
        let message: Option<i64> = row.try_get(17)?;
        let case_id: Option<i64> = row.try_get(18)?;
        if let (Some(message), Some(case_id), Some(on)) = (message, case_id, &delivery.message) {
            about.push((delivery.row, deadline, message, case_id, on.receipt_id.clone()));
        }
        claimed.insert(delivery.row, delivery);
    }
    for (row, entry) in calendars(conn, &about).await? {
        if let Some(delivery) = claimed.get_mut(&row) {
            delivery.calendar.push(entry);
        }
    }
    for delivery in claimed.values_mut() {
        delivery.calendar.sort_by_key(|e| (e.due_at, e.deadline));
    }
    Ok(claimed)
}

/// The calendar entries of deliveries about a message, by delivery row: its deadline (an
/// alert), or the deadlines its message set, moved or cancelled (a notification). One query for
/// all of them.
async fn calendars<C: GenericClient>(
    conn: &C,
    about: &[(i64, Option<i64>, i64, i64, String)],
) -> anyhow::Result<Vec<(i64, CalendarEntry)>> {
    if about.is_empty() {
        return Ok(Vec::new());
    }
    let deliveries: Vec<i64> = about.iter().map(|a| a.0).collect();
    let deadlines: Vec<Option<i64>> = about.iter().map(|a| a.1).collect();
    let messages: Vec<i64> = about.iter().map(|a| a.2).collect();
    let cases: Vec<i64> = about.iter().map(|a| a.3).collect();
    let receipts: Vec<&str> = about.iter().map(|a| a.4.as_str()).collect();
    rows(
        conn,
        "SELECT q.delivery, x.id, x.title, x.due_at, x.state,
                (SELECT COUNT(*) FROM deadline_events e WHERE e.deadline = x.id
                 AND e.event IN ('moved', 'cancelled', 'met', 'reopened'))
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[])
                  AS q (delivery, deadline, message, case_id, receipt_id)
         JOIN deadlines x ON x.case_id = q.case_id
          AND (x.id = q.deadline
               OR (q.deadline IS NULL AND (x.message = q.message OR x.resolved_by = 'receipt:' || q.receipt_id)))",
        &[&deliveries, &deadlines, &messages, &cases, &receipts],
    )
    .await?
    .iter()
    .map(|row| {
        let state: &str = row.try_get(4)?;
        Ok((
            row.try_get(0)?,
            CalendarEntry {
                deadline: row.try_get(1)?,
                title: row.try_get(2)?,
                due_at: at(row, 3)?,
                cancelled: state == "cancelled",
                met: state == "met",
                sequence: row.try_get(5)?,
            },
        ))
    })
    .collect()
}

/// Records attempts: two statements for a batch, not two per attempt. A delivery named twice in
/// a batch has its attempts recorded in order, one statement pair per round.
pub async fn record_attempts<C: GenericClient>(conn: &C, attempts: &[AttemptRecord]) -> anyhow::Result<()> {
    let mut rounds: Vec<Vec<&AttemptRecord>> = Vec::new();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for attempt in attempts {
        let round = seen.entry(attempt.row).or_default();
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(attempt);
        *round += 1;
    }
    for round in rounds {
        record_round(conn, &round).await?;
    }
    Ok(())
}

/// Attempts of different deliveries.
async fn record_round<C: GenericClient>(conn: &C, attempts: &[&AttemptRecord]) -> anyhow::Result<()> {
    let n = attempts.len();
    let (mut rows, mut started, mut latency, mut outcomes, mut statuses, mut errors) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut states, mut nexts, mut finished, mut dead_reasons, mut alone) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for a in attempts {
        let (outcome, state, next, dead_reason) = match &a.next {
            AttemptNext::Delivered => ("delivered", "delivered", None, None),
            AttemptNext::Retry { at } | AttemptNext::Alone { at } => ("retry", "retrying", Some(micros(*at)), None),
            AttemptNext::Dead { reason } => ("dead", "dead", None, Some(reason.as_str())),
        };
        rows.push(a.row);
        started.push(micros(a.started_at));
        latency.push(a.latency_us);
        outcomes.push(outcome);
        statuses.push(a.status);
        errors.push(a.error.as_deref());
        states.push(state);
        nexts.push(next);
        finished.push(micros(a.started_at) + a.latency_us);
        dead_reasons.push(dead_reason);
        alone.push(matches!(a.next, AttemptNext::Alone { .. }));
    }
    exec(
        conn,
        "INSERT INTO delivery_attempts (delivery, number, started_at, latency_us, outcome, status, error)
         SELECT q.delivery, d.attempts + 1, q.started_at, q.latency_us, q.outcome, q.status, q.error
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY
                  AS q (delivery, started_at, latency_us, outcome, status, error, n)
         JOIN deliveries d ON d.id = q.delivery
         ORDER BY q.n",
        &[&rows, &started, &latency, &outcomes, &statuses, &errors],
    )
    .await?;
    exec(
        conn,
        "UPDATE deliveries d SET
             state = q.state,
             attempts = d.attempts + 1,
             failures = d.failures + CASE WHEN q.state <> 'delivered' THEN 1 ELSE 0 END,
             next_attempt_at = COALESCE(q.next, d.next_attempt_at),
             claimed_until = NULL,
             finished_at = CASE WHEN q.next IS NULL THEN q.finished END,
             last_status = q.status,
             last_error = q.error,
             dead_reason = q.dead_reason,
             alone = d.alone OR q.alone
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
                     $8::bool[])
                  AS q (delivery, state, next, finished, status, error, dead_reason, alone)
         WHERE d.id = q.delivery",
        &[
            &rows,
            &states,
            &nexts,
            &finished,
            &statuses,
            &errors,
            &dead_reasons,
            &alone,
        ],
    )
    .await?;
    Ok(())
}

const DEAD_WHERE: &str = "d.state = 'dead'
       AND ($1::text IS NULL OR d.destination = $1)
       AND ($2::bigint IS NULL OR d.finished_at >= $2)
       AND ($3::bigint IS NULL OR d.finished_at < $3)";

pub async fn dead_letters<C: GenericClient>(conn: &C, f: &DeadLetterFilter) -> anyhow::Result<Vec<DeliveryRecord>> {
    let sql =
        format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {DEAD_WHERE} ORDER BY d.finished_at, d.id LIMIT $4");
    rows(
        conn,
        &sql,
        &[
            &f.destination,
            &f.since.map(micros),
            &f.until.map(micros),
            &i64::from(f.limit),
        ],
    )
    .await?
    .iter()
    .map(record_row)
    .collect()
}

/// Puts dead letters back in the queue: the one named, or of those matching, at most `limit`
/// after row `after` in row order. Returns their delivery ids and the last row put back.
pub async fn replay<C: GenericClient>(
    conn: &C,
    selection: &Replay,
    after: i64,
    limit: usize,
    now: Timestamp,
) -> anyhow::Result<(Vec<String>, Option<i64>)> {
    let found = match selection {
        Replay::One(id) => {
            rows(
                conn,
                "SELECT delivery_id, id FROM deliveries WHERE delivery_id = $1 AND state = 'dead'",
                &[id],
            )
            .await?
        }
        Replay::Matching(f) => {
            let sql = format!(
                "SELECT d.delivery_id, d.id FROM deliveries d WHERE {DEAD_WHERE} AND d.id > $4 ORDER BY d.id LIMIT $5"
            );
            rows(
                conn,
                &sql,
                &[
                    &f.destination,
                    &f.since.map(micros),
                    &f.until.map(micros),
                    &after,
                    &(limit as i64),
                ],
            )
            .await?
        }
    };
    let found: Vec<(String, i64)> = found
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<anyhow::Result<_>>()?;
    let last = found.last().map(|(_, row)| *row);
    let ids: Vec<String> = found.into_iter().map(|(id, _)| id).collect();
    for id in &ids {
        exec(
            conn,
            "UPDATE deliveries SET state = 'pending', failures = 0, next_attempt_at = $2, claimed_until = NULL,
                 finished_at = NULL, dead_reason = NULL
             WHERE delivery_id = $1 AND state = 'dead'",
            &[id, &micros(now)],
        )
        .await?;
    }
    Ok((ids, last))
}

pub async fn queues<C: GenericClient>(conn: &C) -> anyhow::Result<Vec<DestinationQueue>> {
    rows(
        conn,
        "SELECT destination,
                COUNT(*) FILTER (WHERE state IN ('pending', 'retrying')),
                MIN(created_at) FILTER (WHERE state IN ('pending', 'retrying')),
                COUNT(*) FILTER (WHERE state = 'dead')
         FROM deliveries WHERE state IN ('pending', 'retrying', 'dead')
         GROUP BY destination ORDER BY destination COLLATE \"C\"",
        &[],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(DestinationQueue {
            destination: row.try_get(0)?,
            queue_depth: row.try_get(1)?,
            oldest_pending_at: at_opt(row, 2)?,
            dead_letters: row.try_get(3)?,
        })
    })
    .collect()
}

/// Writes each digest not yet made for its team and day, with its delivery when it lists
/// anything; returns how many were new.
pub async fn add_digests<C: GenericClient>(conn: &C, digests: &[NewDigest], now: Timestamp) -> anyhow::Result<usize> {
    let now = micros(now);
    let mut made = 0;
    for digest in digests {
        let day = digest.day.to_string();
        let known = opt(
            conn,
            "SELECT 1 FROM digests WHERE team = $1 AND day = $2",
            &[&digest.team, &day],
        )
        .await?;
        if known.is_some() {
            continue;
        }
        let delivery: Option<i64> = match &digest.payload {
            Some(payload) => Some(
                one(
                    conn,
                    "INSERT INTO deliveries (delivery_id, destination, routes, state, next_attempt_at, created_at,
                         purpose, payload)
                     VALUES ($1, $2, '[]', 'pending', $3, $3, 'digest', $4) RETURNING id",
                    &[
                        &format!("dlv_{}", uuid::Uuid::now_v7().simple()),
                        &digest.destination,
                        &now,
                        &serde_json::to_string(payload)?,
                    ],
                )
                .await?
                .try_get(0)?,
            ),
            None => None,
        };
        // Another instance making the same digest at once collides here; the transaction runs
        // again and finds the digest made.
        exec(
            conn,
            "INSERT INTO digests (team, day, created_at, delivery) VALUES ($1, $2, $3, $4)",
            &[&digest.team, &day, &now, &delivery],
        )
        .await?;
        made += 1;
    }
    Ok(made)
}
