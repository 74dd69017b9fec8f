//! The SQL of deadlines: applying a message's changes, the scheduler's tick, caseworker actions.

use super::queries::{instant, micros};
use crate::domain::CaseRef;
use crate::store::{
    DeadlineAction, DeadlineEvent, DeadlineFilter, DeadlineRecord, DeadlineRow, DeadlineState, DigestItem, NoticeRow,
    StateConflict,
};
use crate::store::{DeadlineChange, DeadlinePlan};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Value, json};

fn event(conn: &Connection, deadline: i64, at: i64, kind: &str, actor: &str, details: &Value) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO deadline_events (deadline, at, event, actor, details) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![deadline, at, kind, actor, details.to_string()])?;
    Ok(())
}

/// The first alert still ahead of `now`: a reminder, else the due time itself.
fn next_alert(reminders: &[i64], done: usize, due_at: i64) -> i64 {
    reminders.get(done).copied().unwrap_or(due_at)
}

/// Applies what a message does to its case's deadlines.
/// `(case_id, other_cases)`: the message's case, and the citizen's cases in other
/// municipalities (what a transfer closes), ascending.
/// `new_case`: the case was opened by this message, so it has no deadlines to move or cancel.
pub fn apply(
    conn: &Connection,
    changes: &[DeadlineChange],
    message: i64,
    (case_id, other_cases): (i64, &[i64]),
    new_case: bool,
    receipt_id: &str,
    at: Timestamp,
) -> anyhow::Result<()> {
    let now = micros(at);
    let actor = format!("receipt:{receipt_id}");
    for change in changes {
        let (policy, scope) = match change {
            DeadlineChange::Set(plan) => (&plan.policy, &plan.scope),
            DeadlineChange::Cancel { policy, scope } => (policy, scope),
            DeadlineChange::Note { event: kind, details } => {
                let open: Vec<i64> = conn
                    .prepare_cached("SELECT id FROM deadlines WHERE case_id = ?1 AND state = 'open'")?
                    .query_map([case_id], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for id in open {
                    event(conn, id, now, kind, &actor, details)?;
                }
                continue;
            }
            DeadlineChange::Transfer { policies, alert_at } => {
                transfer(conn, policies, other_cases, (now, micros(*alert_at)), &actor)?;
                continue;
            }
        };
        // The newest deadline of the policy and scope on the case. (No ORDER BY … LIMIT:
        // SQLite prepares such a statement again for each new binding.)
        let latest: Option<(i64, i64, String, Option<String>)> = if new_case {
            None
        } else {
            conn.prepare_cached(
                "SELECT id, due_at, state, resolved_by FROM deadlines WHERE case_id = ?1 AND policy = ?2 AND scope = ?3",
            )?
            .query_map(params![case_id, policy, scope], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<(i64, i64, String, Option<String>)>>>()?
            .into_iter()
            .max()
        };
        let Some((id, old_due, state, resolved_by)) = latest else {
            if let DeadlineChange::Set(plan) = change {
                insert(conn, plan, message, case_id, now, &actor)?;
            }
            continue;
        };
        match (change, state.as_str()) {
            (DeadlineChange::Cancel { .. }, "open") => {
                conn.prepare_cached(
                    "UPDATE deadlines SET state = 'cancelled', next_alert_at = NULL, resolved_at = ?2, resolved_by = ?3
                     WHERE id = ?1",
                )?
                .execute(params![id, now, actor])?;
                event(conn, id, now, "cancelled", &actor, &json!({}))?;
            }
            (DeadlineChange::Cancel { .. }, _) => {}
            // After a cancellation a new notice starts afresh.
            (DeadlineChange::Set(plan), "cancelled") => insert(conn, plan, message, case_id, now, &actor)?,
            (DeadlineChange::Set(plan), "open") => {
                let due = micros(plan.due_at);
                if due != old_due {
                    move_to(conn, id, plan, message, old_due, now, &actor)?;
                }
                if let Some(outcome) = &plan.meets {
                    meet(conn, id, outcome, &actor, now, due)?;
                }
            }
            // A missed deadline stays missed. A new due time (the release was put off) opens a
            // new deadline beside it; the same one, with the solution stated, meets it late.
            (DeadlineChange::Set(plan), "missed") => {
                if micros(plan.due_at) != old_due {
                    insert(conn, plan, message, case_id, now, &actor)?;
                } else if let Some(outcome) = &plan.meets {
                    meet(conn, id, outcome, &actor, now, old_due)?;
                }
            }
            // A met deadline stays met, unless a message met it and a later one takes the
            // solution back (`met_by` with another value): then it is open again. What a
            // caseworker resolved stands until a caseworker reopens it.
            (DeadlineChange::Set(plan), _) => {
                if plan.reopens && resolved_by.is_some_and(|by| by.starts_with("receipt:")) {
                    reopen_by_message(conn, id, plan, message, old_due, now, &actor)?;
                }
            }
            (DeadlineChange::Note { .. } | DeadlineChange::Transfer { .. }, _) => {
                unreachable!("notes and transfers are applied above")
            }
        }
    }
    Ok(())
}

/// Moves an open deadline to the plan's due time, with its reminders worked out afresh.
fn move_to(
    conn: &Connection,
    id: i64,
    plan: &DeadlinePlan,
    message: i64,
    old_due: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<()> {
    set_due(conn, id, plan, message)?;
    event(
        conn,
        id,
        now,
        "moved",
        actor,
        &json!({"from": instant(old_due)?.to_string(), "to": plan.due_at.to_string()}),
    )
}

/// The plan's due time and reminders (those still ahead), and the message they now belong to.
fn set_due(conn: &Connection, id: i64, plan: &DeadlinePlan, message: i64) -> anyhow::Result<()> {
    let reminders: Vec<i64> = plan.reminders.iter().map(|t| micros(*t)).collect();
    let due = micros(plan.due_at);
    conn.prepare_cached(
        "UPDATE deadlines SET message = ?2, due_at = ?3, reminders = ?4, reminders_done = 0, next_alert_at = ?5,
             team = COALESCE(team, ?6)
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        message,
        due,
        serde_json::to_string(&reminders)?,
        next_alert(&reminders, 0, due),
        plan.team
    ])?;
    Ok(())
}

/// Meets an open or missed deadline (`actor`: the message or caseworker that did it).
fn meet(conn: &Connection, id: i64, outcome: &str, actor: &str, now: i64, due: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE deadlines SET state = 'met', next_alert_at = NULL, resolved_at = ?2, resolved_by = ?3, outcome = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, now, actor, outcome])?;
    event(
        conn,
        id,
        now,
        "met",
        actor,
        &json!({"outcome": outcome, "on_time": now <= due}),
    )
}

/// A deadline a message met is open again, at the plan's due time, since a later message says
/// the solution is gone. Past its due time it is missed at the scheduler's next tick.
fn reopen_by_message(
    conn: &Connection,
    id: i64,
    plan: &DeadlinePlan,
    message: i64,
    old_due: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE deadlines SET state = 'open', resolved_at = NULL, resolved_by = NULL, outcome = NULL WHERE id = ?1",
    )?
    .execute([id])?;
    event(conn, id, now, "reopened", actor, &json!({}))?;
    if micros(plan.due_at) == old_due {
        set_due(conn, id, plan, message)
    } else {
        move_to(conn, id, plan, message, old_due, now, actor)
    }
}

/// The open deadlines of `policies` on the same citizen's cases in other municipalities are
/// closed as transferred (cancelled, outcome `transferred`): this message sets them on this
/// case, so the citizen counts once, where they will live. Each one's team is told.
///
/// `others`: the citizen's other cases, found by the filing's own search of the subject index
/// (queries::file_message; most citizens have none, and then that is all). Each one's open
/// deadlines of each policy are read through `deadlines_by_case`. One query joining both with
/// `json_each` over the policies was prepared again by SQLite at every run (so is a join of
/// `cases` with itself on `id = ?1`), and cost the writer two fifths of its work on a release
/// notice; a query of its own for the other cases cost 6,800 instructions per release notice.
fn transfer(
    conn: &Connection,
    policies: &[String],
    others: &[i64],
    (now, alert_at): (i64, i64),
    actor: &str,
) -> anyhow::Result<()> {
    for &case in others {
        for policy in policies {
            // The scope as a parameter and the state tested here: with `scope = ''` and
            // `state = 'open'` in the SQL, SQLite prepared the statement again at every run.
            let open: Vec<(i64, i64, Option<String>)> = conn
                .prepare_cached(
                    "SELECT id, message, remind_to, state FROM deadlines WHERE case_id = ?1 AND policy = ?2 AND scope = ?3",
                )?
                .query_map(params![case, policy, ""], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get::<_, String>(3)?))
                })?
                .filter(|row| row.as_ref().map_or(true, |(.., state)| state == "open"))
                .map(|row| row.map(|(id, message, remind_to, _)| (id, message, remind_to)))
                .collect::<rusqlite::Result<_>>()?;
            for (id, message, remind_to) in open {
                conn.prepare_cached(
                    "UPDATE deadlines SET state = 'cancelled', next_alert_at = NULL, resolved_at = ?2, resolved_by = ?3,
                         outcome = 'transferred'
                     WHERE id = ?1",
                )?
                .execute(params![id, now, actor])?;
                event(
                    conn,
                    id,
                    now,
                    "cancelled",
                    actor,
                    &json!({"reason": "another_municipality"}),
                )?;
                if let Some(to) = remind_to {
                    alert_delivery(conn, id, message, case, &to, "transfer", (now, alert_at))?;
                }
            }
        }
    }
    Ok(())
}

/// A new deadline of `case_id`, created by `message`. Neither is a foreign key that SQLite checks
/// (migration 0014): the caller has just filed or read both in this transaction.
fn insert(
    conn: &Connection,
    plan: &DeadlinePlan,
    message: i64,
    case_id: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<()> {
    let reminders: Vec<i64> = plan.reminders.iter().map(|t| micros(*t)).collect();
    let due = micros(plan.due_at);
    conn.prepare_cached(
        "INSERT INTO deadlines (case_id, message, policy, scope, title, team, state, due_at, reminders, remind_to,
             escalate_to, next_alert_at, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        case_id,
        message,
        plan.policy,
        plan.scope,
        plan.title,
        plan.team,
        due,
        serde_json::to_string(&reminders)?,
        plan.remind_to,
        plan.escalate_to,
        next_alert(&reminders, 0, due),
        now,
        actor
    ])?;
    if let Some(outcome) = &plan.meets {
        meet(conn, conn.last_insert_rowid(), outcome, actor, now, due)?;
    }
    Ok(())
}

fn alert_delivery(
    conn: &Connection,
    deadline: i64,
    message: i64,
    case_id: i64,
    destination: &str,
    purpose: &str,
    (now, send_at): (i64, i64),
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at, created_at,
             purpose, deadline)
         VALUES (?1, ?2, ?3, ?4, '[]', 'pending', ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        format!("dlv_{}", uuid::Uuid::now_v7().simple()),
        message,
        case_id,
        destination,
        send_at,
        now,
        purpose,
        deadline
    ])?;
    Ok(())
}

/// One scheduler step: every deadline whose next alert is due. A passed due time makes the
/// deadline missed and sends the escalation, and nothing else; otherwise the latest reminder
/// that fell due is sent (earlier ones that fell due meanwhile are skipped, not flooded).
pub fn fire(conn: &Connection, now: Timestamp, limit: usize, alert_delay: SignedDuration) -> anyhow::Result<usize> {
    let send_at = micros(now.saturating_add(alert_delay).unwrap_or(now));
    let now = micros(now);
    type Due = (i64, i64, i64, String, i64, String, i64, Option<String>, Option<String>);
    let due: Vec<Due> = conn
        .prepare_cached(
            "SELECT id, message, case_id, state, due_at, reminders, reminders_done, remind_to, escalate_to
             FROM deadlines WHERE next_alert_at IS NOT NULL AND next_alert_at <= ?1
             ORDER BY next_alert_at LIMIT ?2",
        )?
        .query_map(params![now, limit as i64], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, message, case_id, state, due_at, reminders, done, remind_to, escalate_to) in &due {
        if state != "open" {
            conn.prepare_cached("UPDATE deadlines SET next_alert_at = NULL WHERE id = ?1")?
                .execute([id])?;
            continue;
        }
        if now >= *due_at {
            conn.prepare_cached("UPDATE deadlines SET state = 'missed', next_alert_at = NULL WHERE id = ?1")?
                .execute([id])?;
            event(conn, *id, now, "missed", "scheduler", &json!({}))?;
            if let Some(to) = escalate_to {
                alert_delivery(conn, *id, *message, *case_id, to, "escalation", (now, send_at))?;
            }
            continue;
        }
        let reminders: Vec<i64> = serde_json::from_str(reminders)?;
        let behind = reminders.iter().filter(|at| **at <= now).count();
        let done = usize::try_from(*done).unwrap_or(0);
        if behind > done {
            if let Some(to) = remind_to {
                alert_delivery(conn, *id, *message, *case_id, to, "reminder", (now, send_at))?;
            }
            let skipped = behind - done - 1;
            event(
                conn,
                *id,
                now,
                "reminded",
                "scheduler",
                &json!({"reminder": behind, "of": reminders.len(), "skipped": skipped}),
            )?;
        }
        conn.prepare_cached("UPDATE deadlines SET reminders_done = ?2, next_alert_at = ?3 WHERE id = ?1")?
            .execute(params![
                id,
                behind.max(done) as i64,
                next_alert(&reminders, behind.max(done), *due_at)
            ])?;
    }
    Ok(due.len())
}

const COLUMNS: &str = "d.id, c.case_ref, c.municipality, d.policy, d.title, d.scope, d.team, d.state, d.due_at, \
     d.next_alert_at, d.created_at, d.resolved_at, d.resolved_by, d.outcome, d.created_by";

fn record_row(row: &Row) -> rusqlite::Result<DeadlineRecord> {
    let case_ref: String = row.get(1)?;
    let state: String = row.get(7)?;
    Ok(DeadlineRecord {
        id: row.get(0)?,
        case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
        municipality: row.get(2)?,
        policy: row.get(3)?,
        title: row.get(4)?,
        scope: row.get(5)?,
        team: row.get(6)?,
        state: DeadlineState::parse(&state).unwrap_or(DeadlineState::Open),
        due_at: instant(row.get(8)?)?,
        next_alert_at: row.get::<_, Option<i64>>(9)?.map(instant).transpose()?,
        created_at: instant(row.get(10)?)?,
        resolved_at: row.get::<_, Option<i64>>(11)?.map(instant).transpose()?,
        resolved_by: row.get(12)?,
        outcome: row.get(13)?,
        events: Vec::new(),
    })
}

/// The history: the creation (from the row), then every event.
fn with_events(conn: &Connection, mut record: DeadlineRecord) -> anyhow::Result<DeadlineRecord> {
    let (created_by, first_due): (String, Value) = conn
        .prepare_cached(
            "SELECT d.created_by, (SELECT json_extract(e.details, '$.from') FROM deadline_events e
                                   WHERE e.deadline = d.id AND e.event = 'moved' ORDER BY e.id LIMIT 1)
             FROM deadlines d WHERE d.id = ?1",
        )?
        .query_row([record.id], |row| {
            let first: Option<String> = row.get(1)?;
            Ok((row.get(0)?, first.map_or(Value::Null, Value::from)))
        })?;
    let due_at = match first_due {
        Value::Null => Value::from(record.due_at.to_string()),
        earlier => earlier,
    };
    record.events = vec![DeadlineEvent {
        at: record.created_at,
        event: "created".to_owned(),
        actor: created_by,
        details: json!({ "due_at": due_at }),
    }];
    let later: Vec<DeadlineEvent> = conn
        .prepare_cached("SELECT at, event, actor, details FROM deadline_events WHERE deadline = ?1 ORDER BY id")?
        .query_map([record.id], |row| {
            let details: String = row.get(3)?;
            Ok(DeadlineEvent {
                at: instant(row.get(0)?)?,
                event: row.get(1)?,
                actor: row.get(2)?,
                details: serde_json::from_str(&details).unwrap_or(Value::Null),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    record.events.extend(later);
    Ok(record)
}

pub fn for_case(conn: &Connection, case_id: i64) -> anyhow::Result<Vec<DeadlineRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.case_id = ?1 ORDER BY d.due_at, d.id"
    );
    let records = conn
        .prepare_cached(&sql)?
        .query_map([case_id], record_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    records.into_iter().map(|r| with_events(conn, r)).collect()
}

pub fn one(conn: &Connection, id: i64) -> anyhow::Result<Option<DeadlineRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.id = ?1");
    let record = conn.prepare_cached(&sql)?.query_row([id], record_row).optional()?;
    record.map(|r| with_events(conn, r)).transpose()
}

pub fn list(conn: &Connection, f: &DeadlineFilter) -> anyhow::Result<Vec<DeadlineRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id
         WHERE c.municipality = ?1
           AND (?2 IS NULL OR d.state = ?2)
           AND (?3 IS NULL OR d.team = ?3)
           AND (?4 IS NULL OR d.due_at < ?4)
           AND (?6 IS NULL OR d.policy = ?6)
           AND (?7 = 0 OR d.state IN ('open', 'missed'))
         ORDER BY d.due_at, d.id LIMIT ?5 OFFSET ?8"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                f.municipality,
                f.state.map(DeadlineState::as_str),
                f.team,
                f.due_before.map(micros),
                f.limit,
                f.policy,
                f.pending,
                f.offset
            ],
            record_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn act(
    conn: &Connection,
    id: i64,
    action: &DeadlineAction,
    actor: &str,
    at: Timestamp,
) -> anyhow::Result<Option<DeadlineRecord>> {
    let now = micros(at);
    let Some(current) = one(conn, id)? else {
        return Ok(None);
    };
    match (action, current.state) {
        (DeadlineAction::Resolve { .. }, DeadlineState::Met | DeadlineState::Cancelled) => {
            return Err(StateConflict(format!("the deadline is {}; reopen it first", current.state.as_str())).into());
        }
        (DeadlineAction::Reopen { .. }, DeadlineState::Open) => {
            return Err(StateConflict("the deadline is open".to_owned()).into());
        }
        _ => {}
    }
    match action {
        DeadlineAction::Resolve { outcome, meets } => {
            meet(conn, id, outcome, actor, now, micros(current.due_at))?;
            // An accepted housing offer meets the housing deadline of the same case.
            let case_id = current.case_ref.number();
            for m in meets
                .iter()
                .filter(|m| m.policy == current.policy && m.outcomes.contains(outcome))
            {
                let latest: Option<(i64, i64, String)> = conn
                    .prepare_cached(
                        "SELECT id, due_at, state FROM deadlines WHERE case_id = ?1 AND policy = ?2 AND scope = ''",
                    )?
                    .query_map(params![case_id, m.meets], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<rusqlite::Result<Vec<(i64, i64, String)>>>()?
                    .into_iter()
                    .max();
                if let Some((other, due, state)) = latest
                    && (state == "open" || state == "missed")
                {
                    meet(conn, other, &m.outcome, actor, now, due)?;
                }
            }
        }
        DeadlineAction::Reopen { reason } => {
            let (reminders, due): (String, i64) = conn
                .prepare_cached("SELECT reminders, due_at FROM deadlines WHERE id = ?1")?
                .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let reminders: Vec<i64> = serde_json::from_str(&reminders)?;
            let behind = reminders.iter().filter(|r| **r <= now).count();
            // Past its due time it is missed again at once, without a second escalation.
            let (state, next) = if due <= now {
                ("missed", None)
            } else {
                ("open", Some(next_alert(&reminders, behind, due)))
            };
            conn.prepare_cached(
                "UPDATE deadlines SET state = ?4, resolved_at = NULL, resolved_by = NULL, outcome = NULL,
                     reminders_done = ?2, next_alert_at = ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, behind as i64, next, state])?;
            let details = match reason {
                Some(reason) => json!({ "reason": reason }),
                None => json!({}),
            };
            event(conn, id, now, "reopened", actor, &details)?;
        }
    }
    one(conn, id)
}

pub fn acknowledge(
    conn: &Connection,
    receipt_id: &str,
    actor: &str,
    at: Timestamp,
) -> anyhow::Result<Vec<DeadlineRecord>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT d.id FROM messages m JOIN deadlines d ON d.case_id = m.case_id
             WHERE m.receipt_id = ?1 AND d.scope = ?2 AND d.state IN ('open', 'missed')",
        )?
        .query_map(params![receipt_id, format!("message:{receipt_id}")], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut met = Vec::new();
    for id in ids {
        let outcome = DeadlineAction::Resolve {
            outcome: "acknowledged".to_owned(),
            meets: Vec::new(),
        };
        met.extend(act(conn, id, &outcome, actor, at)?);
    }
    Ok(met)
}

pub fn release_notices(
    conn: &Connection,
    municipality: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Vec<NoticeRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT c.municipality, m.sender_id, m.received_at, m.summary, m.warnings
             FROM messages m JOIN cases c ON c.id = m.case_id
             WHERE m.kind = 'release-notice' AND m.received_at >= ?2 AND m.received_at < ?3
               AND (?1 IS NULL OR c.municipality = ?1)
             ORDER BY m.id",
        )?
        .query_map(params![municipality, micros(from), micros(to)], |row| {
            let summary: String = row.get(3)?;
            let warnings: String = row.get(4)?;
            Ok(NoticeRow {
                municipality: row.get(0)?,
                sender_id: row.get(1)?,
                received_at: instant(row.get(2)?)?,
                summary: serde_json::from_str(&summary).unwrap_or(Value::Null),
                warning_codes: serde_json::from_str::<Vec<Value>>(&warnings)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|w| w["code"].as_str().map(str::to_owned))
                    .collect(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn deadline_rows(
    conn: &Connection,
    municipality: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Vec<DeadlineRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT c.municipality, d.case_id, d.policy, d.team, d.state, d.due_at, d.resolved_at, d.created_at
             FROM deadlines d JOIN cases c ON c.id = d.case_id
             WHERE d.due_at >= ?2 AND d.due_at < ?3 AND (?1 IS NULL OR c.municipality = ?1)
             ORDER BY d.id",
        )?
        .query_map(params![municipality, micros(from), micros(to)], |row| {
            let state: String = row.get(4)?;
            Ok(DeadlineRow {
                municipality: row.get(0)?,
                case_id: row.get(1)?,
                policy: row.get(2)?,
                team: row.get(3)?,
                state: DeadlineState::parse(&state).unwrap_or(DeadlineState::Open),
                due_at: instant(row.get(5)?)?,
                resolved_at: row.get::<_, Option<i64>>(6)?.map(instant).transpose()?,
                created_at: instant(row.get(7)?)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The open deadlines of `teams` due before `horizon` (found through the alert index: an open
/// deadline's next alert is at the latest its due time) and their missed ones.
pub fn digest_items(conn: &Connection, teams: &[String], horizon: Timestamp) -> anyhow::Result<Vec<DigestItem>> {
    let teams = serde_json::to_string(teams)?;
    let mut statement = conn.prepare_cached(
        "SELECT x.team, c.case_ref, x.title, x.due_at, x.state FROM deadlines x JOIN cases c ON c.id = x.case_id
         WHERE x.next_alert_at IS NOT NULL AND x.next_alert_at < ?2 AND x.due_at < ?2 AND x.state = 'open'
           AND x.team IN (SELECT value FROM json_each(?1))
         UNION ALL
         SELECT x.team, c.case_ref, x.title, x.due_at, x.state FROM deadlines x JOIN cases c ON c.id = x.case_id
         WHERE x.state = 'missed' AND x.team IN (SELECT value FROM json_each(?1))
         ORDER BY 4, 2",
    )?;
    let items = statement
        .query_map(params![teams, micros(horizon)], |row| {
            let case_ref: String = row.get(1)?;
            let state: String = row.get(4)?;
            Ok(DigestItem {
                team: row.get(0)?,
                case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
                title: row.get(2)?,
                due_at: instant(row.get(3)?)?,
                state: DeadlineState::parse(&state).unwrap_or(DeadlineState::Open),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items)
}
