//! The SQL of the delivery outbox.

use super::deadlines::of_case;
use super::prepared;
use super::queries::{instant, kind_of, micros};
use crate::domain::CaseRef;
use crate::store::{
    About, AttemptNext, AttemptRecord, CalendarEntry, ClaimRequest, ClaimedDelivery, ClaimedMessage, DeadLetterFilter,
    DeliveryRecord, DeliveryState, DestinationQueue, Grouping, NewDigest, NewMessage, Replay,
};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::HashSet;

/// Writes a new message's deliveries, each due at its `not_before`.
pub fn insert(
    conn: &Connection,
    m: &NewMessage,
    message: i64,
    case_id: i64,
    case_ref: &CaseRef,
) -> anyhow::Result<Vec<DeliveryRecord>> {
    let at = micros(m.received_at);
    let mut records = Vec::with_capacity(m.deliveries.len());
    for d in &m.deliveries {
        prepared::execute(
            conn,
            "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
            params![
                d.delivery_id,
                message,
                case_id,
                d.destination,
                serde_json::to_string(&d.routes)?,
                micros(d.not_before),
                at
            ],
        )?;
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

fn record_row(row: &Row) -> rusqlite::Result<DeliveryRecord> {
    let state: String = row.get(3)?;
    let state = DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending);
    let routes: String = row.get(2)?;
    let about = match (
        row.get::<_, Option<String>>(11)?,
        row.get::<_, Option<String>>(12)?,
        row.get::<_, Option<String>>(13)?,
    ) {
        (Some(receipt_id), Some(case_ref), Some(kind)) => Some(About {
            receipt_id,
            case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
            kind: kind_of(&kind)?,
        }),
        _ => None,
    };
    let open = matches!(state, DeliveryState::Pending | DeliveryState::Retrying);
    Ok(DeliveryRecord {
        delivery_id: row.get(0)?,
        destination: row.get(1)?,
        routes: serde_json::from_str(&routes).unwrap_or_default(),
        state,
        attempts: row.get(4)?,
        next_attempt_at: if open { Some(instant(row.get(5)?)?) } else { None },
        created_at: instant(row.get(6)?)?,
        finished_at: row.get::<_, Option<i64>>(7)?.map(instant).transpose()?,
        last_status: row.get(8)?,
        last_error: row.get(9)?,
        dead_reason: row.get(10)?,
        purpose: row.get(14)?,
        about,
    })
}

pub fn of_receipt(conn: &Connection, receipt_id: &str) -> anyhow::Result<Vec<DeliveryRecord>> {
    // Reminders and escalations hang on the message too, but they are the municipality's
    // business, not the sender's.
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE m.receipt_id = ?1 AND d.purpose = 'message' ORDER BY d.id"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([receipt_id], record_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The deliveries of every message of a case (as `of_receipt` gives one message's), in one
/// query rather than one per message: the case page shows them all.
pub fn of_case(conn: &Connection, case_id: i64) -> anyhow::Result<Vec<DeliveryRecord>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM}
         WHERE d.message IN (SELECT id FROM messages WHERE case_id = ?1) AND d.purpose = 'message' ORDER BY d.id"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([case_id], record_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Team addresses, whose alerts are grouped.
const TEAM_DESTINATION: &str = "(d.destination LIKE 'mail:%' OR d.destination LIKE 'lead:%')";

/// The due deliveries, oldest due first (the order of `deliveries_due`, so SQLite reads no more
/// rows than are taken). No `LIMIT ?`: SQLite plans with a bound limit's value and prepares the
/// statement again whenever it is bound anew, which on every pass of the worker cost more than
/// the query; the caller stops reading instead. Paused destinations are left out, but for the
/// probe of `?2` after an automatic pause (`store::destinations`).
fn due_sql() -> String {
    format!(
        "SELECT d.id, d.destination, {TEAM_DESTINATION} AND d.purpose != 'digest' AND NOT d.alone FROM deliveries d
         WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= ?1
           AND (d.claimed_until IS NULL OR d.claimed_until <= ?1)
           AND (?2 IS NULL OR d.destination = ?2)
           AND d.id NOT IN (SELECT value FROM json_each(?3))
           AND NOT EXISTS (
               SELECT 1 FROM deliveries e
               WHERE e.case_id = d.case_id AND e.destination = d.destination AND e.id < d.id
                 AND e.state IN ('pending', 'retrying'))
           AND NOT EXISTS (
               SELECT 1 FROM destination_pauses p
               WHERE p.destination = d.destination
                 AND (p.held_at IS NOT NULL OR (p.paused_until IS NOT NULL AND ?2 IS NULL)))
         ORDER BY d.next_attempt_at, d.id"
    )
}

pub fn claim(conn: &Connection, r: &ClaimRequest) -> anyhow::Result<Vec<Vec<ClaimedDelivery>>> {
    let now = micros(r.now);
    let busy = serde_json::to_string(&r.busy)?;
    let due: Vec<(i64, String, bool)> = conn
        .prepare_cached(&due_sql())?
        .query_map(params![now, r.only, busy], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .take(r.limit)
        .collect::<rusqlite::Result<_>>()?;
    let mut taken = HashSet::new();
    let mut groups = Vec::with_capacity(due.len());
    for (row, destination, groupable) in due {
        if taken.contains(&row) {
            continue;
        }
        let mut members = match r.group {
            Some(grouping) if groupable => group_of(conn, &destination, grouping, now, &busy)?,
            _ => Vec::new(),
        };
        members.retain(|m| !taken.contains(m));
        if members.is_empty() {
            members.push(row);
        }
        let mut group = Vec::with_capacity(members.len());
        for member in members {
            taken.insert(member);
            group.push(claim_one(conn, member, r.until)?);
        }
        groups.push(group);
    }
    Ok(groups)
}

/// The alerts to one address that may go out together, in acceptance order (the order of
/// `deliveries_open_by_destination`); as `due_sql`, without a bound limit.
fn group_sql() -> String {
    let ready = |t: &str| {
        format!(
            "{t}.next_attempt_at <= ?2 AND ({t}.claimed_until IS NULL OR {t}.claimed_until <= ?3) \
             AND NOT {t}.alone AND {t}.id NOT IN (SELECT value FROM json_each(?4))"
        )
    };
    format!(
        "SELECT d.id FROM deliveries d
         WHERE d.destination = ?1 AND d.state IN ('pending', 'retrying') AND d.purpose != 'digest'
           AND {}
           AND NOT EXISTS (
               SELECT 1 FROM deliveries e
               WHERE e.case_id = d.case_id AND e.destination = d.destination AND e.id < d.id
                 AND e.state IN ('pending', 'retrying') AND NOT ({}))
         ORDER BY d.id",
        ready("d"),
        ready("e")
    )
}

/// The open alerts to one team address that may go out now in one email: due by the horizon,
/// not being sent, and not behind an earlier delivery of their case that stays behind.
fn group_of(conn: &Connection, destination: &str, g: Grouping, now: i64, busy: &str) -> anyhow::Result<Vec<i64>> {
    Ok(conn
        .prepare_cached(&group_sql())?
        .query_map(params![destination, micros(g.horizon), now, busy], |row| row.get(0))?
        .take(g.max)
        .collect::<rusqlite::Result<_>>()?)
}

/// Marks one delivery claimed until `until` and reads what sending it needs.
fn claim_one(conn: &Connection, row: i64, until: Timestamp) -> anyhow::Result<ClaimedDelivery> {
    conn.prepare_cached("UPDATE deliveries SET claimed_until = ?2 WHERE id = ?1")?
        .execute(params![row, micros(until)])?;
    let mut select = conn.prepare_cached(concat!(
        "SELECT d.id, d.delivery_id, d.destination, d.attempts, d.failures, m.receipt_id, c.case_ref, m.kind,
                c.municipality, m.received_at, m.body_sealed, m.summary, d.purpose, x.title, x.due_at,
                (SELECT a.due_at FROM deadlines a WHERE ",
        of_case!("a", "d.case_id"),
        " AND a.scope = 'message:' || m.receipt_id),
                d.deadline, d.message, d.case_id, d.created_at, d.payload
         FROM deliveries d LEFT JOIN messages m ON m.id = d.message LEFT JOIN cases c ON c.id = d.case_id
              LEFT JOIN deadlines x ON x.id = d.deadline
         WHERE d.id = ?1"
    ))?;
    let (mut delivery, deadline, message) = select.query_row([row], |row| {
        let message = match row.get::<_, Option<String>>(5)? {
            Some(receipt_id) => {
                let case_ref: String = row.get(6)?;
                let summary: String = row.get(11)?;
                Some(ClaimedMessage {
                    receipt_id,
                    case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
                    kind: kind_of(&row.get::<_, String>(7)?)?,
                    municipality: row.get(8)?,
                    received_at: instant(row.get(9)?)?,
                    body_sealed: row.get(10)?,
                    summary: serde_json::from_str(&summary).unwrap_or_default(),
                    acknowledge_by: row.get::<_, Option<i64>>(15)?.map(instant).transpose()?,
                })
            }
            None => None,
        };
        let delivery = ClaimedDelivery {
            row: row.get(0)?,
            delivery_id: row.get(1)?,
            destination: row.get(2)?,
            attempts: row.get(3)?,
            failures: row.get(4)?,
            created_at: instant(row.get(19)?)?,
            purpose: row.get(12)?,
            message,
            deadline: match (row.get::<_, Option<String>>(13)?, row.get::<_, Option<i64>>(14)?) {
                (Some(title), Some(due)) => Some((title, instant(due)?)),
                _ => None,
            },
            calendar: Vec::new(),
            payload: row
                .get::<_, Option<String>>(20)?
                .and_then(|text| serde_json::from_str(&text).ok()),
        };
        Ok((
            delivery,
            row.get::<_, Option<i64>>(16)?,
            row.get::<_, Option<i64>>(17)?.zip(row.get::<_, Option<i64>>(18)?),
        ))
    })?;
    if let (Some((message, case_id)), Some(about)) = (message, &delivery.message) {
        delivery.calendar = calendar(conn, deadline, message, case_id, &about.receipt_id)?;
    }
    Ok(delivery)
}

/// The calendar entries of a delivery: its deadline (an alert), or the deadlines its message
/// set, moved or cancelled (a notification).
fn calendar(
    conn: &Connection,
    deadline: Option<i64>,
    message: i64,
    case_id: i64,
    receipt_id: &str,
) -> anyhow::Result<Vec<CalendarEntry>> {
    let mut statement = conn.prepare_cached(concat!(
        "SELECT x.id, x.title, x.due_at, x.state,
                (SELECT COUNT(*) FROM deadline_events e WHERE e.deadline = x.id
                 AND e.event IN ('moved', 'cancelled', 'met', 'reopened'))
         FROM deadlines x
         WHERE ",
        of_case!("x", "?1"),
        " AND (x.id = ?2 OR (?2 IS NULL AND (x.message = ?3 OR x.resolved_by = 'receipt:' || ?4)))"
    ))?;
    let entries = statement
        .query_map(params![case_id, deadline, message, receipt_id], |row| {
            let state: String = row.get(3)?;
            Ok(CalendarEntry {
                deadline: row.get(0)?,
                title: row.get(1)?,
                due_at: instant(row.get(2)?)?,
                cancelled: state == "cancelled",
                met: state == "met",
                sequence: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut entries = entries;
    entries.sort_by_key(|e| (e.due_at, e.deadline));
    Ok(entries)
}

pub fn record_attempt(conn: &Connection, a: &AttemptRecord) -> anyhow::Result<()> {
    let finished = micros(a.started_at) + a.latency_us;
    let (outcome, state, next, dead_reason) = match &a.next {
        AttemptNext::Delivered => ("delivered", "delivered", None, None),
        AttemptNext::Retry { at } | AttemptNext::Alone { at } => ("retry", "retrying", Some(micros(*at)), None),
        AttemptNext::Dead { reason } => ("dead", "dead", None, Some(reason.as_str())),
    };
    conn.prepare_cached(
        "INSERT INTO delivery_attempts (delivery, number, started_at, latency_us, outcome, status, error)
         SELECT ?1, attempts + 1, ?2, ?3, ?4, ?5, ?6 FROM deliveries WHERE id = ?1",
    )?
    .execute(params![
        a.row,
        micros(a.started_at),
        a.latency_us,
        outcome,
        a.status,
        a.error
    ])?;
    conn.prepare_cached(
        "UPDATE deliveries SET
             state = ?2,
             attempts = attempts + 1,
             failures = failures + (?2 != 'delivered'),
             next_attempt_at = COALESCE(?3, next_attempt_at),
             claimed_until = NULL,
             finished_at = CASE WHEN ?3 IS NULL THEN ?4 END,
             last_status = ?5,
             last_error = ?6,
             dead_reason = ?7,
             alone = alone OR ?8
         WHERE id = ?1",
    )?
    .execute(params![
        a.row,
        state,
        next,
        finished,
        a.status,
        a.error,
        dead_reason,
        matches!(a.next, AttemptNext::Alone { .. })
    ])?;
    Ok(())
}

pub fn release_claims(conn: &Connection) -> anyhow::Result<u64> {
    Ok(conn.execute(
        "UPDATE deliveries SET claimed_until = NULL WHERE claimed_until IS NOT NULL AND state IN ('pending', 'retrying')",
        [],
    )? as u64)
}

const DEAD_WHERE: &str = "d.state = 'dead'
       AND (?1 IS NULL OR d.destination = ?1)
       AND (?2 IS NULL OR d.finished_at >= ?2)
       AND (?3 IS NULL OR d.finished_at < ?3)";

pub fn dead_letters(conn: &Connection, f: &DeadLetterFilter) -> anyhow::Result<Vec<DeliveryRecord>> {
    let sql =
        format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {DEAD_WHERE} ORDER BY d.finished_at, d.id LIMIT ?4");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(
            params![f.destination, f.since.map(micros), f.until.map(micros), f.limit],
            record_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Puts dead letters back in the queue: the one named, or of those matching, at most `limit`
/// after row `after` in row order. Returns their delivery ids and the last row put back.
pub fn replay(
    conn: &Connection,
    selection: &Replay,
    after: i64,
    limit: usize,
    now: Timestamp,
) -> anyhow::Result<(Vec<String>, Option<i64>)> {
    let found: Vec<(String, i64)> = match selection {
        // Through `deliveries_dead_by_id`: a delivery's id is indexed only while it is dead.
        Replay::One(id) => conn
            .prepare_cached("SELECT delivery_id, id FROM deliveries WHERE delivery_id = ?1 AND state = 'dead'")?
            .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?,
        Replay::Matching(f) => {
            let sql = format!(
                "SELECT d.delivery_id, d.id FROM deliveries d WHERE {DEAD_WHERE} AND d.id > ?4 ORDER BY d.id LIMIT ?5"
            );
            conn.prepare_cached(&sql)?
                .query_map(
                    params![
                        f.destination,
                        f.since.map(micros),
                        f.until.map(micros),
                        after,
                        limit as i64
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?
                .collect::<rusqlite::Result<_>>()?
        }
    };
    let last = found.last().map(|(_, row)| *row);
    let ids: Vec<String> = found.into_iter().map(|(id, _)| id).collect();
    let mut update = conn.prepare_cached(
        "UPDATE deliveries SET state = 'pending', failures = 0, next_attempt_at = ?2, claimed_until = NULL,
             finished_at = NULL, dead_reason = NULL
         WHERE delivery_id = ?1 AND state = 'dead'",
    )?;
    for id in &ids {
        update.execute(params![id, micros(now)])?;
    }
    Ok((ids, last))
}

pub fn queues(conn: &Connection) -> anyhow::Result<Vec<DestinationQueue>> {
    let mut statement = conn.prepare_cached(
        "SELECT destination, SUM(open), MIN(CASE WHEN open THEN created_at END), SUM(dead) FROM (
             SELECT destination, 1 AS open, 0 AS dead, created_at FROM deliveries WHERE state IN ('pending', 'retrying')
             UNION ALL
             SELECT destination, 0, 1, NULL FROM deliveries WHERE state = 'dead')
         GROUP BY destination ORDER BY destination",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(DestinationQueue {
            destination: row.get(0)?,
            queue_depth: row.get(1)?,
            oldest_pending_at: row.get::<_, Option<i64>>(2)?.map(instant).transpose()?,
            dead_letters: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Writes each digest not yet made for its team and day, with its delivery when it lists
/// anything; returns how many were new.
pub fn add_digests(conn: &Connection, digests: &[NewDigest], now: Timestamp) -> anyhow::Result<usize> {
    let now = micros(now);
    let mut made = 0;
    for digest in digests {
        let day = digest.day.to_string();
        let known = conn
            .prepare_cached("SELECT 1 FROM digests WHERE team = ?1 AND day = ?2")?
            .query_row(params![digest.team, day], |_| Ok(()))
            .optional()?;
        if known.is_some() {
            continue;
        }
        let delivery = match &digest.payload {
            Some(payload) => {
                conn.prepare_cached(
                    "INSERT INTO deliveries (delivery_id, destination, routes, state, next_attempt_at, created_at,
                         purpose, payload)
                     VALUES (?1, ?2, '[]', 'pending', ?3, ?3, 'digest', ?4)",
                )?
                .execute(params![
                    format!("dlv_{}", uuid::Uuid::now_v7().simple()),
                    digest.destination,
                    now,
                    serde_json::to_string(payload)?
                ])?;
                Some(conn.last_insert_rowid())
            }
            None => None,
        };
        conn.prepare_cached("INSERT INTO digests (team, day, created_at, delivery) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![digest.team, day, now, delivery])?;
        made += 1;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite plans with the value bound to a `LIMIT ?` and prepares such a statement again
    /// whenever it is bound anew. The query for due deliveries runs on every pass of the worker,
    /// so it has no such limit and is prepared once. (The query for a group is prepared again for
    /// each group, since SQLite reads bound values when it checks a partial index's condition;
    /// passing them through a materialised row avoided that but made SQLite sort every open
    /// delivery of the address, so it runs once per collected email instead.)
    #[test]
    fn the_due_query_is_not_prepared_again_on_each_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claim.db");
        drop(super::super::SqliteStore::open(&path, 1, 10, std::time::Duration::ZERO).unwrap());
        let conn = Connection::open(&path).unwrap();
        let now = Timestamp::now();
        for limit in [1, 7, 3, 64] {
            let request = ClaimRequest {
                now: now + jiff::SignedDuration::from_secs(limit as i64),
                until: now,
                limit,
                only: None,
                busy: vec![1, limit as i64],
                group: None,
            };
            claim(&conn, &request).unwrap();
        }
        let statement = conn.prepare_cached(&due_sql()).unwrap();
        assert_eq!(statement.get_status(rusqlite::StatementStatus::RePrepare), 0);
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", due_sql()))
            .unwrap()
            .query_map(params![0, None::<String>, "[]"], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "read in index order, so taking the first rows stops the query: {plan:?}"
        );
    }
}
