//! The SQL of deadlines on PostgreSQL: applying a message's changes, the scheduler's tick
//! (due deadlines taken with `FOR UPDATE SKIP LOCKED`, so each alert is written once even when
//! two ticks run at once), caseworker actions and the reports' rows.

use super::queries::case_ref_of;
use super::sql::{at, at_opt, exec, instant, micros, one, opt, rows};
use crate::store::{
    DeadlineAction, DeadlineChange, DeadlineEvent, DeadlineFilter, DeadlinePlan, DeadlineRecord, DeadlineRow,
    DeadlineState, DigestItem, NoticeRow, StateConflict,
};
use deadpool_postgres::GenericClient;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio_postgres::Row;

async fn event<C: GenericClient>(
    conn: &C,
    deadline: i64,
    at: i64,
    kind: &str,
    actor: &str,
    details: &Value,
) -> anyhow::Result<()> {
    exec(
        conn,
        "INSERT INTO deadline_events (deadline, at, event, actor, details) VALUES ($1, $2, $3, $4, $5)",
        &[&deadline, &at, &kind, &actor, &details.to_string()],
    )
    .await?;
    Ok(())
}

/// The first alert still ahead of `now`: a reminder, else the due time itself.
fn next_alert(reminders: &[i64], done: usize, due_at: i64) -> i64 {
    reminders.get(done).copied().unwrap_or(due_at)
}

/// Applies what a message does to its case's deadlines.
pub async fn apply<C: GenericClient>(
    conn: &C,
    changes: &[DeadlineChange],
    message: i64,
    case_id: i64,
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
                let open = rows(
                    conn,
                    "SELECT id FROM deadlines WHERE case_id = $1 AND state = 'open' ORDER BY id",
                    &[&case_id],
                )
                .await?;
                for row in open {
                    event(conn, row.try_get(0)?, now, kind, &actor, details).await?;
                }
                continue;
            }
            DeadlineChange::Transfer { policies, alert_at } => {
                transfer(conn, policies, case_id, (now, micros(*alert_at)), &actor).await?;
                continue;
            }
        };
        let latest = if new_case {
            None
        } else {
            opt(
                conn,
                "SELECT id, due_at, state, resolved_by FROM deadlines WHERE case_id = $1 AND policy = $2 AND scope = $3
                 ORDER BY id DESC LIMIT 1",
                &[&case_id, policy, scope],
            )
            .await?
        };
        let Some(latest) = latest else {
            if let DeadlineChange::Set(plan) = change {
                insert(conn, plan, message, case_id, now, &actor).await?;
            }
            continue;
        };
        let id: i64 = latest.try_get(0)?;
        let old_due: i64 = latest.try_get(1)?;
        let state: String = latest.try_get(2)?;
        let resolved_by: Option<String> = latest.try_get(3)?;
        match (change, state.as_str()) {
            (DeadlineChange::Cancel { .. }, "open") => {
                exec(
                    conn,
                    "UPDATE deadlines SET state = 'cancelled', next_alert_at = NULL, resolved_at = $2, resolved_by = $3
                     WHERE id = $1",
                    &[&id, &now, &actor],
                )
                .await?;
                event(conn, id, now, "cancelled", &actor, &json!({})).await?;
            }
            (DeadlineChange::Cancel { .. }, _) => {}
            (DeadlineChange::Set(plan), "cancelled") => insert(conn, plan, message, case_id, now, &actor).await?,
            (DeadlineChange::Set(plan), "open") => {
                let due = micros(plan.due_at);
                if due != old_due {
                    move_to(conn, id, plan, message, old_due, now, &actor).await?;
                }
                if let Some(outcome) = &plan.meets {
                    meet(conn, id, outcome, &actor, now, due).await?;
                }
            }
            (DeadlineChange::Set(plan), "missed") => {
                if micros(plan.due_at) != old_due {
                    insert(conn, plan, message, case_id, now, &actor).await?;
                } else if let Some(outcome) = &plan.meets {
                    meet(conn, id, outcome, &actor, now, old_due).await?;
                }
            }
            (DeadlineChange::Set(plan), _) => {
                if plan.reopens && resolved_by.is_some_and(|by| by.starts_with("receipt:")) {
                    reopen_by_message(conn, id, plan, message, old_due, now, &actor).await?;
                }
            }
            (DeadlineChange::Note { .. } | DeadlineChange::Transfer { .. }, _) => {
                anyhow::bail!("notes and transfers are applied above")
            }
        }
    }
    Ok(())
}

async fn move_to<C: GenericClient>(
    conn: &C,
    id: i64,
    plan: &DeadlinePlan,
    message: i64,
    old_due: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<()> {
    set_due(conn, id, plan, message).await?;
    event(
        conn,
        id,
        now,
        "moved",
        actor,
        &json!({"from": instant(old_due)?.to_string(), "to": plan.due_at.to_string()}),
    )
    .await
}

async fn set_due<C: GenericClient>(conn: &C, id: i64, plan: &DeadlinePlan, message: i64) -> anyhow::Result<()> {
    let reminders: Vec<i64> = plan.reminders.iter().map(|t| micros(*t)).collect();
    let due = micros(plan.due_at);
    exec(
        conn,
        "UPDATE deadlines SET message = $2, due_at = $3, reminders = $4, reminders_done = 0, next_alert_at = $5,
             team = COALESCE(team, $6)
         WHERE id = $1",
        &[
            &id,
            &message,
            &due,
            &serde_json::to_string(&reminders)?,
            &next_alert(&reminders, 0, due),
            &plan.team,
        ],
    )
    .await?;
    Ok(())
}

async fn meet<C: GenericClient>(
    conn: &C,
    id: i64,
    outcome: &str,
    actor: &str,
    now: i64,
    due: i64,
) -> anyhow::Result<()> {
    exec(
        conn,
        "UPDATE deadlines SET state = 'met', next_alert_at = NULL, resolved_at = $2, resolved_by = $3, outcome = $4
         WHERE id = $1",
        &[&id, &now, &actor, &outcome],
    )
    .await?;
    event(
        conn,
        id,
        now,
        "met",
        actor,
        &json!({"outcome": outcome, "on_time": now <= due}),
    )
    .await
}

async fn reopen_by_message<C: GenericClient>(
    conn: &C,
    id: i64,
    plan: &DeadlinePlan,
    message: i64,
    old_due: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<()> {
    exec(
        conn,
        "UPDATE deadlines SET state = 'open', resolved_at = NULL, resolved_by = NULL, outcome = NULL WHERE id = $1",
        &[&id],
    )
    .await?;
    event(conn, id, now, "reopened", actor, &json!({})).await?;
    if micros(plan.due_at) == old_due {
        set_due(conn, id, plan, message).await
    } else {
        move_to(conn, id, plan, message, old_due, now, actor).await
    }
}

async fn transfer<C: GenericClient>(
    conn: &C,
    policies: &[String],
    case_id: i64,
    (now, alert_at): (i64, i64),
    actor: &str,
) -> anyhow::Result<()> {
    let elsewhere = rows(
        conn,
        "SELECT d.id, d.message, d.case_id, d.remind_to
         FROM cases here JOIN cases c ON c.subject_hash = here.subject_hash AND c.id <> here.id
              JOIN deadlines d ON d.case_id = c.id
         WHERE here.id = $1 AND here.subject_kind = 'citizen' AND c.subject_kind = 'citizen'
           AND d.state = 'open' AND d.scope = '' AND d.policy = ANY($2::text[])
         ORDER BY d.id",
        &[&case_id, &policies],
    )
    .await?;
    for row in elsewhere {
        let id: i64 = row.try_get(0)?;
        exec(
            conn,
            "UPDATE deadlines SET state = 'cancelled', next_alert_at = NULL, resolved_at = $2, resolved_by = $3,
                 outcome = 'transferred'
             WHERE id = $1",
            &[&id, &now, &actor],
        )
        .await?;
        event(
            conn,
            id,
            now,
            "cancelled",
            actor,
            &json!({"reason": "another_municipality"}),
        )
        .await?;
        if let Some(to) = row.try_get::<_, Option<String>>(3)? {
            alert_delivery(
                conn,
                id,
                row.try_get(1)?,
                row.try_get(2)?,
                &to,
                "transfer",
                (now, alert_at),
            )
            .await?;
        }
    }
    Ok(())
}

async fn insert<C: GenericClient>(
    conn: &C,
    plan: &DeadlinePlan,
    message: i64,
    case_id: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<()> {
    let reminders: Vec<i64> = plan.reminders.iter().map(|t| micros(*t)).collect();
    let due = micros(plan.due_at);
    let id: i64 = one(
        conn,
        "INSERT INTO deadlines (case_id, message, policy, scope, title, team, state, due_at, reminders, remind_to,
             escalate_to, next_alert_at, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        &[
            &case_id,
            &message,
            &plan.policy,
            &plan.scope,
            &plan.title,
            &plan.team,
            &due,
            &serde_json::to_string(&reminders)?,
            &plan.remind_to,
            &plan.escalate_to,
            &next_alert(&reminders, 0, due),
            &now,
            &actor,
        ],
    )
    .await?
    .try_get(0)?;
    if let Some(outcome) = &plan.meets {
        meet(conn, id, outcome, actor, now, due).await?;
    }
    Ok(())
}

async fn alert_delivery<C: GenericClient>(
    conn: &C,
    deadline: i64,
    message: i64,
    case_id: i64,
    destination: &str,
    purpose: &str,
    (now, send_at): (i64, i64),
) -> anyhow::Result<()> {
    exec(
        conn,
        "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at, created_at,
             purpose, deadline)
         VALUES ($1, $2, $3, $4, '[]', 'pending', $5, $6, $7, $8)",
        &[
            &format!("dlv_{}", uuid::Uuid::now_v7().simple()),
            &message,
            &case_id,
            &destination,
            &send_at,
            &now,
            &purpose,
            &deadline,
        ],
    )
    .await?;
    Ok(())
}

/// One scheduler step, as the SQLite store's; the due deadlines are locked (and others' locked
/// ones skipped) so that a deadline is fired by one transaction only.
pub async fn fire<C: GenericClient>(
    conn: &C,
    now: Timestamp,
    limit: usize,
    alert_delay: SignedDuration,
) -> anyhow::Result<usize> {
    let send_at = micros(now.saturating_add(alert_delay).unwrap_or(now));
    let now = micros(now);
    let due = rows(
        conn,
        "SELECT id, message, case_id, state, due_at, reminders, reminders_done, remind_to, escalate_to
         FROM deadlines WHERE next_alert_at IS NOT NULL AND next_alert_at <= $1
         ORDER BY next_alert_at, id LIMIT $2
         FOR UPDATE SKIP LOCKED",
        &[&now, &(limit as i64)],
    )
    .await?;
    for row in &due {
        let id: i64 = row.try_get(0)?;
        let message: i64 = row.try_get(1)?;
        let case_id: i64 = row.try_get(2)?;
        let state: &str = row.try_get(3)?;
        let due_at: i64 = row.try_get(4)?;
        let reminders: &str = row.try_get(5)?;
        let done: i64 = row.try_get(6)?;
        let remind_to: Option<String> = row.try_get(7)?;
        let escalate_to: Option<String> = row.try_get(8)?;
        if state != "open" {
            exec(conn, "UPDATE deadlines SET next_alert_at = NULL WHERE id = $1", &[&id]).await?;
            continue;
        }
        if now >= due_at {
            exec(
                conn,
                "UPDATE deadlines SET state = 'missed', next_alert_at = NULL WHERE id = $1",
                &[&id],
            )
            .await?;
            event(conn, id, now, "missed", "scheduler", &json!({})).await?;
            if let Some(to) = escalate_to {
                alert_delivery(conn, id, message, case_id, &to, "escalation", (now, send_at)).await?;
            }
            continue;
        }
        let reminders: Vec<i64> = serde_json::from_str(reminders)?;
        let behind = reminders.iter().filter(|at| **at <= now).count();
        let done = usize::try_from(done).unwrap_or(0);
        if behind > done {
            if let Some(to) = remind_to {
                alert_delivery(conn, id, message, case_id, &to, "reminder", (now, send_at)).await?;
            }
            let skipped = behind - done - 1;
            event(
                conn,
                id,
                now,
                "reminded",
                "scheduler",
                &json!({"reminder": behind, "of": reminders.len(), "skipped": skipped}),
            )
            .await?;
        }
        exec(
            conn,
            "UPDATE deadlines SET reminders_done = $2, next_alert_at = $3 WHERE id = $1",
            &[
                &id,
                &(behind.max(done) as i64),
                &next_alert(&reminders, behind.max(done), due_at),
            ],
        )
        .await?;
    }
    Ok(due.len())
}

const COLUMNS: &str = "d.id, c.case_ref, c.municipality, d.policy, d.title, d.scope, d.team, d.state, d.due_at, \
     d.next_alert_at, d.created_at, d.resolved_at, d.resolved_by, d.outcome, d.created_by";

fn record_row(row: &Row) -> anyhow::Result<DeadlineRecord> {
    Ok(DeadlineRecord {
        id: row.try_get(0)?,
        case_ref: case_ref_of(row.try_get(1)?),
        municipality: row.try_get(2)?,
        policy: row.try_get(3)?,
        title: row.try_get(4)?,
        scope: row.try_get(5)?,
        team: row.try_get(6)?,
        state: DeadlineState::parse(row.try_get(7)?).unwrap_or(DeadlineState::Open),
        due_at: at(row, 8)?,
        next_alert_at: at_opt(row, 9)?,
        created_at: at(row, 10)?,
        resolved_at: at_opt(row, 11)?,
        resolved_by: row.try_get(12)?,
        outcome: row.try_get(13)?,
        events: Vec::new(),
    })
}

/// The history: the creation (from the row), then every event.
async fn with_events<C: GenericClient>(conn: &C, mut record: DeadlineRecord) -> anyhow::Result<DeadlineRecord> {
    let head = one(
        conn,
        "SELECT d.created_by, (SELECT e.details::json ->> 'from' FROM deadline_events e
                               WHERE e.deadline = d.id AND e.event = 'moved' ORDER BY e.id LIMIT 1)
         FROM deadlines d WHERE d.id = $1",
        &[&record.id],
    )
    .await?;
    let created_by: String = head.try_get(0)?;
    let due_at = match head.try_get::<_, Option<String>>(1)? {
        Some(first) => Value::from(first),
        None => Value::from(record.due_at.to_string()),
    };
    record.events = vec![DeadlineEvent {
        at: record.created_at,
        event: "created".to_owned(),
        actor: created_by,
        details: json!({ "due_at": due_at }),
    }];
    for row in rows(
        conn,
        "SELECT at, event, actor, details FROM deadline_events WHERE deadline = $1 ORDER BY id",
        &[&record.id],
    )
    .await?
    {
        let details: String = row.try_get(3)?;
        record.events.push(DeadlineEvent {
            at: at(&row, 0)?,
            event: row.try_get(1)?,
            actor: row.try_get(2)?,
            details: serde_json::from_str(&details).unwrap_or(Value::Null),
        });
    }
    Ok(record)
}

pub async fn for_case<C: GenericClient>(conn: &C, case_id: i64) -> anyhow::Result<Vec<DeadlineRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.case_id = $1 ORDER BY d.due_at, d.id"
    );
    let mut records = Vec::new();
    for row in rows(conn, &sql, &[&case_id]).await? {
        records.push(with_events(conn, record_row(&row)?).await?);
    }
    Ok(records)
}

pub async fn one_deadline<C: GenericClient>(conn: &C, id: i64) -> anyhow::Result<Option<DeadlineRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.id = $1");
    match opt(conn, &sql, &[&id]).await? {
        Some(row) => Ok(Some(with_events(conn, record_row(&row)?).await?)),
        None => Ok(None),
    }
}

pub async fn list<C: GenericClient>(conn: &C, f: &DeadlineFilter) -> anyhow::Result<Vec<DeadlineRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id
         WHERE c.municipality = $1
           AND ($2::text IS NULL OR d.state = $2)
           AND ($3::text IS NULL OR d.team = $3)
           AND ($4::bigint IS NULL OR d.due_at < $4)
           AND ($6::text IS NULL OR d.policy = $6)
           AND (NOT $7::boolean OR d.state IN ('open', 'missed'))
         ORDER BY d.due_at, d.id LIMIT $5 OFFSET $8"
    );
    rows(
        conn,
        &sql,
        &[
            &f.municipality,
            &f.state.map(DeadlineState::as_str),
            &f.team,
            &f.due_before.map(micros),
            &i64::from(f.limit),
            &f.policy,
            &f.pending,
            &i64::from(f.offset),
        ],
    )
    .await?
    .iter()
    .map(record_row)
    .collect()
}

pub async fn act<C: GenericClient>(
    conn: &C,
    id: i64,
    action: &DeadlineAction,
    actor: &str,
    at: Timestamp,
) -> anyhow::Result<Option<DeadlineRecord>> {
    let now = micros(at);
    // Locked, so that two caseworkers acting at once act one after the other.
    if opt(conn, "SELECT 1 FROM deadlines WHERE id = $1 FOR UPDATE", &[&id])
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let Some(current) = one_deadline(conn, id).await? else {
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
            meet(conn, id, outcome, actor, now, micros(current.due_at)).await?;
            let case_id = current.case_ref.number();
            for m in meets
                .iter()
                .filter(|m| m.policy == current.policy && m.outcomes.contains(outcome))
            {
                let latest = opt(
                    conn,
                    "SELECT id, due_at, state FROM deadlines WHERE case_id = $1 AND policy = $2 AND scope = ''
                     ORDER BY id DESC LIMIT 1",
                    &[&case_id, &m.meets],
                )
                .await?;
                if let Some(row) = latest {
                    let state: &str = row.try_get(2)?;
                    if state == "open" || state == "missed" {
                        meet(conn, row.try_get(0)?, &m.outcome, actor, now, row.try_get(1)?).await?;
                    }
                }
            }
        }
        DeadlineAction::Reopen { reason } => {
            let row = one(conn, "SELECT reminders, due_at FROM deadlines WHERE id = $1", &[&id]).await?;
            let reminders: Vec<i64> = serde_json::from_str(row.try_get(0)?)?;
            let due: i64 = row.try_get(1)?;
            let behind = reminders.iter().filter(|r| **r <= now).count();
            let (state, next) = if due <= now {
                ("missed", None)
            } else {
                ("open", Some(next_alert(&reminders, behind, due)))
            };
            exec(
                conn,
                "UPDATE deadlines SET state = $4, resolved_at = NULL, resolved_by = NULL, outcome = NULL,
                     reminders_done = $2, next_alert_at = $3
                 WHERE id = $1",
                &[&id, &(behind as i64), &next, &state],
            )
            .await?;
            let details = match reason {
                Some(reason) => json!({ "reason": reason }),
                None => json!({}),
            };
            event(conn, id, now, "reopened", actor, &details).await?;
        }
    }
    one_deadline(conn, id).await
}

pub async fn acknowledge<C: GenericClient>(
    conn: &C,
    receipt_id: &str,
    actor: &str,
    at: Timestamp,
) -> anyhow::Result<Vec<DeadlineRecord>> {
    let ids = rows(
        conn,
        "SELECT d.id FROM messages m JOIN deadlines d ON d.case_id = m.case_id
         WHERE m.receipt_id = $1 AND d.scope = $2 AND d.state IN ('open', 'missed') ORDER BY d.id",
        &[&receipt_id, &format!("message:{receipt_id}")],
    )
    .await?;
    let mut met = Vec::new();
    for row in ids {
        let outcome = DeadlineAction::Resolve {
            outcome: "acknowledged".to_owned(),
            meets: Vec::new(),
        };
        met.extend(act(conn, row.try_get(0)?, &outcome, actor, at).await?);
    }
    Ok(met)
}

pub async fn release_notices<C: GenericClient>(
    conn: &C,
    municipality: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Vec<NoticeRow>> {
    rows(
        conn,
        "SELECT c.municipality, m.sender_id, m.received_at, m.summary, m.warnings
         FROM messages m JOIN cases c ON c.id = m.case_id
         WHERE m.kind = 'release-notice' AND m.received_at >= $2 AND m.received_at < $3
           AND ($1::text IS NULL OR c.municipality = $1)
         ORDER BY m.id",
        &[&municipality, &micros(from), &micros(to)],
    )
    .await?
    .iter()
    .map(|row| {
        let summary: &str = row.try_get(3)?;
        let warnings: &str = row.try_get(4)?;
        Ok(NoticeRow {
            municipality: row.try_get(0)?,
            sender_id: row.try_get(1)?,
            received_at: at(row, 2)?,
            summary: serde_json::from_str(summary).unwrap_or(Value::Null),
            warning_codes: serde_json::from_str::<Vec<Value>>(warnings)
                .unwrap_or_default()
                .iter()
                .filter_map(|w| w["code"].as_str().map(str::to_owned))
                .collect(),
        })
    })
    .collect()
}

pub async fn deadline_rows<C: GenericClient>(
    conn: &C,
    municipality: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Vec<DeadlineRow>> {
    rows(
        conn,
        "SELECT c.municipality, d.case_id, d.policy, d.team, d.state, d.due_at, d.resolved_at, d.created_at
         FROM deadlines d JOIN cases c ON c.id = d.case_id
         WHERE d.due_at >= $2 AND d.due_at < $3 AND ($1::text IS NULL OR c.municipality = $1)
         ORDER BY d.id",
        &[&municipality, &micros(from), &micros(to)],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(DeadlineRow {
            municipality: row.try_get(0)?,
            case_id: row.try_get(1)?,
            policy: row.try_get(2)?,
            team: row.try_get(3)?,
            state: DeadlineState::parse(row.try_get(4)?).unwrap_or(DeadlineState::Open),
            due_at: at(row, 5)?,
            resolved_at: at_opt(row, 6)?,
            created_at: at(row, 7)?,
        })
    })
    .collect()
}

pub async fn digest_items<C: GenericClient>(
    conn: &C,
    teams: &[String],
    horizon: Timestamp,
) -> anyhow::Result<Vec<DigestItem>> {
    rows(
        conn,
        "SELECT x.team, c.case_ref, x.title, x.due_at, x.state FROM deadlines x JOIN cases c ON c.id = x.case_id
         WHERE x.next_alert_at IS NOT NULL AND x.next_alert_at < $2 AND x.due_at < $2 AND x.state = 'open'
           AND x.team = ANY($1::text[])
         UNION ALL
         SELECT x.team, c.case_ref, x.title, x.due_at, x.state FROM deadlines x JOIN cases c ON c.id = x.case_id
         WHERE x.state = 'missed' AND x.team = ANY($1::text[])
         ORDER BY 4, 2",
        &[&teams, &micros(horizon)],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(DigestItem {
            team: row.try_get(0)?,
            case_ref: case_ref_of(row.try_get(1)?),
            title: row.try_get(2)?,
            due_at: at(row, 3)?,
            state: DeadlineState::parse(row.try_get(4)?).unwrap_or(DeadlineState::Open),
        })
    })
    .collect()
}
