//! The SQL of the delivery outbox.

use super::queries::{instant, kind_of, micros};
use crate::domain::CaseRef;
use crate::store::{
    AttemptNext, AttemptRecord, CalendarEntry, ClaimRequest, ClaimedDelivery, DeadLetterFilter, DeliveryRecord,
    DeliveryState, DestinationQueue, NewMessage, Replay,
};
use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

/// Writes a new message's deliveries, due at once.
pub fn insert(
    conn: &Connection,
    m: &NewMessage,
    message: i64,
    case_id: i64,
    case_ref: &CaseRef,
) -> anyhow::Result<Vec<DeliveryRecord>> {
    let at = micros(m.received_at);
    let mut statement = conn.prepare_cached(
        "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
    )?;
    let mut records = Vec::with_capacity(m.deliveries.len());
    for d in &m.deliveries {
        statement.execute(params![
            d.delivery_id,
            message,
            case_id,
            d.destination,
            serde_json::to_string(&d.routes)?,
            at
        ])?;
        records.push(DeliveryRecord {
            delivery_id: d.delivery_id.clone(),
            destination: d.destination.clone(),
            routes: d.routes.clone(),
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Some(m.received_at),
            created_at: m.received_at,
            finished_at: None,
            last_status: None,
            last_error: None,
            dead_reason: None,
            receipt_id: m.receipt_id.clone(),
            case_ref: case_ref.clone(),
            kind: m.kind,
        });
    }
    Ok(records)
}

const RECORD_COLUMNS: &str = "d.delivery_id, d.destination, d.routes, d.state, d.attempts, d.next_attempt_at, \
     d.created_at, d.finished_at, d.last_status, d.last_error, d.dead_reason, m.receipt_id, c.case_ref, m.kind";

const RECORD_FROM: &str = "deliveries d JOIN messages m ON m.id = d.message JOIN cases c ON c.id = d.case_id";

fn record_row(row: &Row) -> rusqlite::Result<DeliveryRecord> {
    let state: String = row.get(3)?;
    let state = DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending);
    let routes: String = row.get(2)?;
    let case_ref: String = row.get(12)?;
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
        receipt_id: row.get(11)?,
        case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
        kind: kind_of(&row.get::<_, String>(13)?)?,
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

pub fn claim(conn: &Connection, r: &ClaimRequest) -> anyhow::Result<Vec<ClaimedDelivery>> {
    let now = micros(r.now);
    let exclude = serde_json::to_string(&r.exclude)?;
    let busy = serde_json::to_string(&r.busy)?;
    let rows: Vec<i64> = conn
        .prepare_cached(
            "SELECT d.id FROM deliveries d
             WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= ?1
               AND (d.claimed_until IS NULL OR d.claimed_until <= ?1)
               AND (?3 IS NULL OR d.destination = ?3)
               AND d.destination NOT IN (SELECT value FROM json_each(?4))
               AND d.id NOT IN (SELECT value FROM json_each(?5))
               AND NOT EXISTS (
                   SELECT 1 FROM deliveries e
                   WHERE e.case_id = d.case_id AND e.destination = d.destination AND e.id < d.id
                     AND e.state IN ('pending', 'retrying'))
             ORDER BY d.next_attempt_at, d.id
             LIMIT ?2",
        )?
        .query_map(params![now, r.limit as i64, r.only, exclude, busy], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare_cached("UPDATE deliveries SET claimed_until = ?2 WHERE id = ?1")?;
    let mut select = conn.prepare_cached(
        "SELECT d.id, d.delivery_id, d.destination, d.attempts, d.failures, m.receipt_id, c.case_ref, m.kind,
                c.municipality, m.received_at, m.body_sealed, m.summary, d.purpose, x.title, x.due_at,
                (SELECT a.due_at FROM deadlines a WHERE a.case_id = d.case_id AND a.scope = 'message:' || m.receipt_id),
                d.deadline, d.message, d.case_id
         FROM deliveries d JOIN messages m ON m.id = d.message JOIN cases c ON c.id = d.case_id
              LEFT JOIN deadlines x ON x.id = d.deadline
         WHERE d.id = ?1",
    )?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        update.execute(params![row, micros(r.until)])?;
        let (mut delivery, deadline, message, case_id) = select.query_row([row], |row| {
            let case_ref: String = row.get(6)?;
            let summary: String = row.get(11)?;
            let delivery = ClaimedDelivery {
                row: row.get(0)?,
                delivery_id: row.get(1)?,
                destination: row.get(2)?,
                attempts: row.get(3)?,
                failures: row.get(4)?,
                receipt_id: row.get(5)?,
                case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
                kind: kind_of(&row.get::<_, String>(7)?)?,
                municipality: row.get(8)?,
                received_at: instant(row.get(9)?)?,
                body_sealed: row.get(10)?,
                summary: serde_json::from_str(&summary).unwrap_or_default(),
                purpose: row.get(12)?,
                deadline: match (row.get::<_, Option<String>>(13)?, row.get::<_, Option<i64>>(14)?) {
                    (Some(title), Some(due)) => Some((title, instant(due)?)),
                    _ => None,
                },
                acknowledge_by: row.get::<_, Option<i64>>(15)?.map(instant).transpose()?,
                calendar: Vec::new(),
            };
            Ok((
                delivery,
                row.get::<_, Option<i64>>(16)?,
                row.get::<_, i64>(17)?,
                row.get::<_, i64>(18)?,
            ))
        })?;
        delivery.calendar = calendar(conn, deadline, message, case_id, &delivery.receipt_id)?;
        claimed.push(delivery);
    }
    Ok(claimed)
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
    let mut statement = conn.prepare_cached(
        "SELECT x.id, x.title, x.due_at, x.state,
                (SELECT COUNT(*) FROM deadline_events e WHERE e.deadline = x.id AND e.event IN ('moved', 'cancelled'))
         FROM deadlines x
         WHERE x.case_id = ?1
           AND (x.id = ?2 OR (?2 IS NULL AND (x.message = ?3 OR x.resolved_by = 'receipt:' || ?4)))",
    )?;
    let entries = statement
        .query_map(params![case_id, deadline, message, receipt_id], |row| {
            let state: String = row.get(3)?;
            Ok(CalendarEntry {
                deadline: row.get(0)?,
                title: row.get(1)?,
                due_at: instant(row.get(2)?)?,
                cancelled: state == "cancelled",
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
        AttemptNext::Retry { at } => ("retry", "retrying", Some(micros(*at)), None),
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
             dead_reason = ?7
         WHERE id = ?1",
    )?
    .execute(params![a.row, state, next, finished, a.status, a.error, dead_reason])?;
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

pub fn replay(conn: &Connection, selection: &Replay, now: Timestamp) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = match selection {
        Replay::One(id) => conn
            .prepare_cached("SELECT delivery_id FROM deliveries WHERE delivery_id = ?1 AND state = 'dead'")?
            .query_map([id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?,
        Replay::Matching(f) => {
            let sql = format!("SELECT d.delivery_id FROM deliveries d WHERE {DEAD_WHERE} ORDER BY d.id");
            conn.prepare_cached(&sql)?
                .query_map(
                    params![f.destination, f.since.map(micros), f.until.map(micros)],
                    |row| row.get(0),
                )?
                .collect::<rusqlite::Result<_>>()?
        }
    };
    let mut update = conn.prepare_cached(
        "UPDATE deliveries SET state = 'pending', failures = 0, next_attempt_at = ?2, claimed_until = NULL,
             finished_at = NULL, dead_reason = NULL
         WHERE delivery_id = ?1 AND state = 'dead'",
    )?;
    for id in &ids {
        update.execute(params![id, micros(now)])?;
    }
    Ok(ids)
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
