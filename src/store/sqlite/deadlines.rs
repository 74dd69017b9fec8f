//! The SQL of deadlines: applying a message's changes, the scheduler's tick, caseworker actions.
//!
//! The scheduler finds what is due through `alarms` (migration 0016), one row per case and time
//! rather than an index entry per deadline. The invariant every writer here keeps: **every
//! deadline whose `next_alert_at` is t has an alarm of its case at some time <= t.** An alarm may
//! be early (stale: the deadline was met, cancelled or moved later, or its alert already went out)
//! but never late, so the tick that takes an alarm looks at its case's deadlines and fires those
//! whose `next_alert_at` has come; `deadlines.next_alert_at` stays the truth (and what the API
//! shows). Whoever sets a next alert earlier than the one before (a new deadline, a move, a
//! reopening) adds an alarm at it, one per case and transaction step (`apply` adds one for all the
//! deadlines of a message); setting it to NULL or later needs nothing.
//!
//! A case's deadlines are numbered within a block of ids of its own (migration 0017, [`block`]),
//! so that they are one range of the table's key, side by side in its B-tree, and no index entry
//! is written for them. The deadlines written before 0017 keep their ids, below the first block,
//! and are found through the partial index `deadlines_by_case_before_blocks`; [`of_case!`] asks
//! for both.

use super::prepared;
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

/// The first id of the first case's block: every deadline written before migration 0017 has a
/// smaller id. (The SQL of [`of_case!`] and of the migration's partial index spell it out.)
const BLOCKS_START: i64 = 1 << 40;
/// A case's block holds 2^20 deadline ids.
const BLOCK_BITS: u32 = 20;
/// The largest id a deadline may have: JSON readers that hold numbers as doubles (JavaScript)
/// take every id up to 2^53 exactly.
const LAST_ID: i64 = (1 << 53) - 1;
/// The last case whose block ends at or below [`LAST_ID`].
const LAST_CASE: i64 = ((LAST_ID + 1 - BLOCKS_START) >> BLOCK_BITS) - 1;

/// The ids of case `case_id`'s block: its first and last.
pub(super) fn block(case_id: i64) -> anyhow::Result<(i64, i64)> {
    anyhow::ensure!(
        (0..=LAST_CASE).contains(&case_id),
        "case {case_id} is beyond the deadline ids: no block of ids for its deadlines"
    );
    let first = BLOCKS_START + (case_id << BLOCK_BITS);
    Ok((first, first + (1 << BLOCK_BITS) - 1))
}

/// An SQL condition: the deadline `$d` (a table alias) belongs to the case whose id is `$c` (a
/// parameter or a column). Its block of ids (a range of the table's key, [`block`]), or for a
/// deadline written before migration 0017 its `case_id` through the partial index
/// `deadlines_by_case_before_blocks`. SQLite reads each side through its own key (`MULTI-INDEX
/// OR`).
macro_rules! of_case {
    ($d:literal, $c:literal) => {
        concat!(
            "(",
            $d,
            ".id BETWEEN 1099511627776 + (",
            $c,
            " << 20) AND 1099511627775 + ((",
            $c,
            " + 1) << 20)",
            " OR (",
            $d,
            ".id < 1099511627776 AND ",
            $d,
            ".case_id = ",
            $c,
            "))"
        )
    };
}
pub(super) use of_case;

/// Hands out the ids of new deadlines on one case, in its block: from the first for a case this
/// message opened, else from one past the highest id the block holds.
struct Ids {
    case_id: i64,
    new_case: bool,
    next: Option<i64>,
}

impl Ids {
    fn next(&mut self, conn: &Connection) -> anyhow::Result<i64> {
        let (first, last) = block(self.case_id)?;
        let id = match self.next {
            Some(id) => id,
            None if self.new_case => first,
            None => prepared::query(
                conn,
                "SELECT id FROM deadlines WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC LIMIT 1",
                params![first, last],
                |row| row.get::<i64>(0),
            )?
            .into_iter()
            .next()
            .map_or(first, |highest| highest + 1),
        };
        anyhow::ensure!(
            id <= last,
            "case {} has used all {} deadline ids of its block",
            self.case_id,
            1 << BLOCK_BITS
        );
        self.next = Some(id + 1);
        Ok(id)
    }
}

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
    // The earliest next alert this message sets on the case: one alarm for all of them, written
    // at the end (a release notice's four deadlines make one alarm row, not four index entries).
    let mut alarm: Option<i64> = None;
    let mut ids = Ids {
        case_id,
        new_case,
        next: None,
    };
    for change in changes {
        let (policy, scope) = match change {
            DeadlineChange::Set(plan) => (&plan.policy, &plan.scope),
            DeadlineChange::Cancel { policy, scope } => (policy, scope),
            DeadlineChange::Note { event: kind, details } => {
                let open: Vec<i64> = conn
                    .prepare_cached(concat!(
                        "SELECT d.id FROM deadlines d WHERE ",
                        of_case!("d", "?1"),
                        " AND d.state = 'open'"
                    ))?
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
        type Latest = (i64, i64, String, Option<String>, Option<i64>);
        let latest: Option<Latest> = if new_case {
            None
        } else {
            conn.prepare_cached(LATEST)?
                .query_map(params![case_id, policy, scope], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<Latest>>>()?
                .into_iter()
                .max()
        };
        let Some((id, old_due, state, resolved_by, old_alert)) = latest else {
            if let DeadlineChange::Set(plan) = change {
                earliest(&mut alarm, insert(conn, plan, &mut ids, message, now, &actor)?);
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
            (DeadlineChange::Set(plan), "cancelled") => {
                earliest(&mut alarm, insert(conn, plan, &mut ids, message, now, &actor)?);
            }
            (DeadlineChange::Set(plan), "open") => {
                let due = micros(plan.due_at);
                if due != old_due {
                    let next = move_to(conn, id, plan, message, old_due, now, &actor)?;
                    // Its alarm, at or before its old next alert, still does for a later one.
                    if old_alert.is_none_or(|old| next < old) {
                        earliest(&mut alarm, Some(next));
                    }
                }
                if let Some(outcome) = &plan.meets {
                    meet(conn, id, outcome, &actor, now, due)?;
                }
            }
            // A missed deadline stays missed. A new due time (the release was put off) opens a
            // new deadline beside it; the same one, with the solution stated, meets it late.
            (DeadlineChange::Set(plan), "missed") => {
                if micros(plan.due_at) != old_due {
                    earliest(&mut alarm, insert(conn, plan, &mut ids, message, now, &actor)?);
                } else if let Some(outcome) = &plan.meets {
                    meet(conn, id, outcome, &actor, now, old_due)?;
                }
            }
            // A met deadline stays met, unless a message met it and a later one takes the
            // solution back (`met_by` with another value): then it is open again. What a
            // caseworker resolved stands until a caseworker reopens it.
            (DeadlineChange::Set(plan), _) => {
                if plan.reopens && resolved_by.is_some_and(|by| by.starts_with("receipt:")) {
                    let next = reopen_by_message(conn, id, plan, message, old_due, now, &actor)?;
                    earliest(&mut alarm, Some(next));
                }
            }
            (DeadlineChange::Note { .. } | DeadlineChange::Transfer { .. }, _) => {
                unreachable!("notes and transfers are applied above")
            }
        }
    }
    if let Some(at) = alarm {
        add_alarm(conn, at, case_id)?;
    }
    Ok(())
}

/// The deadlines of a policy and scope on a case (the newest is the one that counts).
const LATEST: &str = concat!(
    "SELECT d.id, d.due_at, d.state, d.resolved_by, d.next_alert_at FROM deadlines d WHERE ",
    of_case!("d", "?1"),
    " AND d.policy = ?2 AND d.scope = ?3"
);

/// Keeps the earlier of two alarm times.
fn earliest(alarm: &mut Option<i64>, at: Option<i64>) {
    if let Some(at) = at {
        *alarm = Some(alarm.map_or(at, |before| before.min(at)));
    }
}

/// An alarm of the case at `at` (see the module's invariant). The same one twice is one row.
fn add_alarm(conn: &Connection, at: i64, case_id: i64) -> anyhow::Result<()> {
    prepared::execute(
        conn,
        "INSERT OR IGNORE INTO alarms (at, case_id) VALUES (?1, ?2)",
        params![at, case_id],
    )?;
    Ok(())
}

/// Moves an open deadline to the plan's due time, with its reminders worked out afresh; returns
/// its next alert (the caller owes it an alarm).
fn move_to(
    conn: &Connection,
    id: i64,
    plan: &DeadlinePlan,
    message: i64,
    old_due: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<i64> {
    let next = set_due(conn, id, plan, message)?;
    event(
        conn,
        id,
        now,
        "moved",
        actor,
        &json!({"from": instant(old_due)?.to_string(), "to": plan.due_at.to_string()}),
    )?;
    Ok(next)
}

/// The plan's due time and reminders (those still ahead), and the message they now belong to;
/// returns the next alert it sets (the caller owes it an alarm).
fn set_due(conn: &Connection, id: i64, plan: &DeadlinePlan, message: i64) -> anyhow::Result<i64> {
    let reminders: Vec<i64> = plan.reminders.iter().map(|t| micros(*t)).collect();
    let due = micros(plan.due_at);
    let next = next_alert(&reminders, 0, due);
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
        next,
        plan.team
    ])?;
    Ok(next)
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
/// the solution is gone. Past its due time it is missed at the scheduler's next tick. Returns its
/// next alert (the caller owes it an alarm).
fn reopen_by_message(
    conn: &Connection,
    id: i64,
    plan: &DeadlinePlan,
    message: i64,
    old_due: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<i64> {
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
/// deadlines of each policy are read through the case's block of ids. One query joining both with
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
                .prepare_cached(concat!(
                    "SELECT d.id, d.message, d.remind_to, d.state FROM deadlines d WHERE ",
                    of_case!("d", "?1"),
                    " AND d.policy = ?2 AND d.scope = ?3"
                ))?
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

/// A new deadline of the case of `ids`, with the next id of its block, created by `message`.
/// Neither case nor message is a foreign key that SQLite checks (migration 0014): the caller has
/// just filed or read both in this transaction. Returns its next alert, which the caller owes an
/// alarm; none when the message meets it at once.
fn insert(
    conn: &Connection,
    plan: &DeadlinePlan,
    ids: &mut Ids,
    message: i64,
    now: i64,
    actor: &str,
) -> anyhow::Result<Option<i64>> {
    let (id, case_id) = (ids.next(conn)?, ids.case_id);
    let reminders: Vec<i64> = plan.reminders.iter().map(|t| micros(*t)).collect();
    let due = micros(plan.due_at);
    let next = next_alert(&reminders, 0, due);
    prepared::execute(
        conn,
        "INSERT INTO deadlines (id, case_id, message, policy, scope, title, team, state, due_at, reminders, remind_to,
             escalate_to, next_alert_at, created_at, created_by)
         VALUES (?14, ?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
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
            next,
            now,
            actor,
            id
        ],
    )?;
    if let Some(outcome) = &plan.meets {
        meet(conn, id, outcome, actor, now, due)?;
        return Ok(None);
    }
    Ok(Some(next))
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
///
/// The due deadlines are found through the due alarms (earliest first): each alarm taken is
/// deleted, its case's deadlines are read (the case's block of ids), those whose next alert
/// has come are fired, earliest first, and the case gets one alarm at its next alert still set.
/// Alarms are taken until `limit` deadlines were looked at, `limit` alarms were taken (stale
/// ones find nothing) or none is due any more. Returns how many deadlines it looked at, or
/// `limit` when it stopped at `limit` alarms: a return below `limit` means that nothing due is
/// left, and the scheduler asks again otherwise.
pub fn fire(conn: &Connection, now: Timestamp, limit: usize, alert_delay: SignedDuration) -> anyhow::Result<usize> {
    let send_at = micros(now.saturating_add(alert_delay).unwrap_or(now));
    let now = micros(now);
    let mut looked = 0;
    // Alarms taken, stale ones too: a job stops at `limit` of them as well, so that a backlog
    // of stale alarms (deadlines met or moved later) never holds the writer for long.
    let mut taken = 0;
    while looked < limit && taken < limit {
        let wanted = limit - looked.max(taken);
        // The first `wanted` rows read, without `LIMIT ?2`: SQLite 3.54 prepares a statement
        // again whenever the value bound to its LIMIT changes, and `wanted` does.
        let alarms: Vec<(i64, i64)> = conn
            .prepare_cached("SELECT at, case_id FROM alarms WHERE at <= ?1 ORDER BY at, case_id")?
            .query_map([now], |row| Ok((row.get(0)?, row.get(1)?)))?
            .take(wanted)
            .collect::<rusqlite::Result<_>>()?;
        // Each case once, with the earliest next alert it keeps: its deadlines not yet due, and
        // then what firing leaves on the due ones.
        let mut cases: Vec<(i64, Option<i64>)> = Vec::new();
        let mut due: Vec<Due> = Vec::new();
        // The alarms taken are the first ones in key order: one range of the primary key, deleted
        // in one statement. (The alarms written below are all later than `now`.)
        if let Some((at, case_id)) = alarms.last() {
            conn.prepare_cached("DELETE FROM alarms WHERE (at, case_id) <= (?1, ?2)")?
                .execute(params![at, case_id])?;
        }
        for (_, case_id) in &alarms {
            if cases.iter().any(|(case, _)| case == case_id) {
                continue;
            }
            let mut next: Option<i64> = None;
            let mut statement = conn.prepare_cached(OF_CASE_ALERTS)?;
            let mut rows = statement.query([case_id])?;
            while let Some(row) = rows.next()? {
                let Some(alert) = row.get::<_, Option<i64>>(8)? else {
                    continue;
                };
                if alert > now {
                    earliest(&mut next, Some(alert));
                    continue;
                }
                due.push(Due {
                    alert,
                    id: row.get(0)?,
                    message: row.get(1)?,
                    case_id: *case_id,
                    state: row.get(2)?,
                    due_at: row.get(3)?,
                    reminders: row.get(4)?,
                    done: row.get(5)?,
                    remind_to: row.get(6)?,
                    escalate_to: row.get(7)?,
                });
            }
            cases.push((*case_id, next));
        }
        // The alerts in the order of their times across the cases, as one index over all
        // deadlines gave them.
        due.sort_by_key(|d| (d.alert, d.id));
        for d in &due {
            let next = fire_one(conn, d, now, send_at)?;
            if let Some((_, case_next)) = cases.iter_mut().find(|(case, _)| *case == d.case_id) {
                earliest(case_next, next);
            }
        }
        for (case_id, next) in &cases {
            if let Some(at) = next {
                add_alarm(conn, *at, *case_id)?;
            }
        }
        looked += due.len();
        taken += alarms.len();
        if alarms.len() < wanted {
            return Ok(looked);
        }
    }
    // Stopped at the limit: more may be due, and the caller asks again while a job answers
    // `limit` (the scheduler's loop).
    Ok(looked.max(limit))
}

/// What the tick reads of a case's deadlines.
const OF_CASE_ALERTS: &str = concat!(
    "SELECT d.id, d.message, d.state, d.due_at, d.reminders, d.reminders_done, d.remind_to, d.escalate_to,
         d.next_alert_at
     FROM deadlines d WHERE ",
    of_case!("d", "?1")
);

/// A deadline whose next alert has come, as the tick read it.
struct Due {
    alert: i64,
    id: i64,
    message: i64,
    case_id: i64,
    state: String,
    due_at: i64,
    reminders: String,
    done: i64,
    remind_to: Option<String>,
    escalate_to: Option<String>,
}

/// Fires one due deadline (see `fire`); returns its next alert, if any is left.
fn fire_one(conn: &Connection, d: &Due, now: i64, send_at: i64) -> anyhow::Result<Option<i64>> {
    if d.state != "open" {
        conn.prepare_cached("UPDATE deadlines SET next_alert_at = NULL WHERE id = ?1")?
            .execute([d.id])?;
        return Ok(None);
    }
    if now >= d.due_at {
        conn.prepare_cached("UPDATE deadlines SET state = 'missed', next_alert_at = NULL WHERE id = ?1")?
            .execute([d.id])?;
        event(conn, d.id, now, "missed", "scheduler", &json!({}))?;
        if let Some(to) = &d.escalate_to {
            alert_delivery(conn, d.id, d.message, d.case_id, to, "escalation", (now, send_at))?;
        }
        return Ok(None);
    }
    let reminders: Vec<i64> = serde_json::from_str(&d.reminders)?;
    let behind = reminders.iter().filter(|at| **at <= now).count();
    let done = usize::try_from(d.done).unwrap_or(0);
    if behind > done {
        if let Some(to) = &d.remind_to {
            alert_delivery(conn, d.id, d.message, d.case_id, to, "reminder", (now, send_at))?;
        }
        let skipped = behind - done - 1;
        event(
            conn,
            d.id,
            now,
            "reminded",
            "scheduler",
            &json!({"reminder": behind, "of": reminders.len(), "skipped": skipped}),
        )?;
    }
    let next = next_alert(&reminders, behind.max(done), d.due_at);
    conn.prepare_cached("UPDATE deadlines SET reminders_done = ?2, next_alert_at = ?3 WHERE id = ?1")?
        .execute(params![d.id, behind.max(done) as i64, next])?;
    Ok(Some(next))
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
        "SELECT {COLUMNS} FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE {} ORDER BY d.due_at, d.id",
        of_case!("d", "?1")
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

/// A municipality's deadlines by due time; those due at the same time in the order they were
/// created (the ids of different cases' blocks are not in that order), as on PostgreSQL.
pub fn list(conn: &Connection, f: &DeadlineFilter) -> anyhow::Result<Vec<DeadlineRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cases c JOIN deadlines d ON {}
         WHERE c.municipality = ?1
           AND (?2 IS NULL OR d.state = ?2)
           AND (?3 IS NULL OR d.team = ?3)
           AND (?4 IS NULL OR d.due_at < ?4)
           AND (?6 IS NULL OR d.policy = ?6)
           AND (?7 = 0 OR d.state IN ('open', 'missed'))
         ORDER BY d.due_at, d.created_at, d.id LIMIT ?5 OFFSET ?8",
        of_case!("d", "c.id")
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
                    .prepare_cached(concat!(
                        "SELECT d.id, d.due_at, d.state FROM deadlines d WHERE ",
                        of_case!("d", "?1"),
                        " AND d.policy = ?2 AND d.scope = ''"
                    ))?
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
            let (reminders, due, case_id): (String, i64, i64) = conn
                .prepare_cached("SELECT reminders, due_at, case_id FROM deadlines WHERE id = ?1")?
                .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
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
            if let Some(at) = next {
                add_alarm(conn, at, case_id)?;
            }
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
        .prepare_cached(concat!(
            "SELECT d.id FROM messages m JOIN deadlines d ON ",
            of_case!("d", "m.case_id"),
            " WHERE m.receipt_id = ?1 AND d.scope = ?2 AND d.state IN ('open', 'missed')"
        ))?
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

const DIGEST_ITEMS: &str = concat!(
    "SELECT x.team, c.case_ref, x.title, x.due_at, x.state
     FROM (SELECT DISTINCT a.case_id FROM alarms a WHERE a.at < ?2) a JOIN deadlines x ON ",
    of_case!("x", "a.case_id"),
    // The unary `+`s: without them SQLite builds an automatic index on `state` over the whole
    // table at every run and reads the open deadlines due before the horizon once per case
    // (found in review); with them it reads each case's deadlines through `of_case!`.
    " JOIN cases c ON c.id = a.case_id
     WHERE +x.next_alert_at IS NOT NULL AND +x.next_alert_at < ?2 AND +x.due_at < ?2 AND +x.state = 'open'
       AND +x.team IN (SELECT value FROM json_each(?1))
     UNION ALL
     SELECT x.team, c.case_ref, x.title, x.due_at, x.state FROM deadlines x JOIN cases c ON c.id = x.case_id
     WHERE x.state = 'missed' AND x.team IN (SELECT value FROM json_each(?1))
     ORDER BY 4, 2"
);

/// The open deadlines of `teams` due before `horizon` and their missed ones. The open ones are
/// found through `alarms`: an open deadline's next alert is at the latest its due time, and every
/// next alert before `horizon` has an alarm of its case before `horizon` (the module's
/// invariant), so the cases with such an alarm hold them all; their rows decide as before.
pub fn digest_items(conn: &Connection, teams: &[String], horizon: Timestamp) -> anyhow::Result<Vec<DigestItem>> {
    let teams = serde_json::to_string(teams)?;
    let mut statement = conn.prepare_cached(DIGEST_ITEMS)?;
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::MetByResolving;
    use rusqlite::StatementStatus;

    /// A database at the current schema with cases 1 and 2 and a message on each.
    fn database() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        super::super::migrate(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO cases VALUES (1, 'K-2026-000001', '751', 'citizen', x'01', x'03', 5, 6);
             INSERT INTO cases VALUES (2, 'K-2026-000002', '751', 'citizen', x'02', x'03', 5, 6);
             INSERT INTO messages VALUES (1, 'r-1', 'release-notice', 'kif', 'm-1', x'00', NULL, 1, 0, x'00', '{}', '[]');
             INSERT INTO messages VALUES (2, 'r-2', 'release-notice', 'kif', 'm-2', x'00', NULL, 2, 0, x'00', '{}', '[]');",
        )
        .unwrap();
        conn
    }

    fn at(micros: i64) -> Timestamp {
        Timestamp::from_microsecond(micros).unwrap()
    }

    /// The id of case `case`'s deadline number `n` (0, 1, …) in the order written.
    pub(in crate::store::sqlite) fn id(case: i64, n: i64) -> i64 {
        block(case).unwrap().0 + n
    }

    fn plan(policy: &str, due: i64, reminders: &[i64]) -> DeadlineChange {
        DeadlineChange::Set(DeadlinePlan {
            policy: policy.to_owned(),
            title: policy.to_owned(),
            scope: String::new(),
            team: Some("team-a".to_owned()),
            due_at: at(due),
            reminders: reminders.iter().map(|r| at(*r)).collect(),
            remind_to: Some("mail:team-a".to_owned()),
            escalate_to: Some("lead:team-a".to_owned()),
            meets: None,
            reopens: false,
        })
    }

    /// The alarms, in their key's order: `(at, case_id)`.
    pub(in crate::store::sqlite) fn alarms(conn: &Connection) -> Vec<(i64, i64)> {
        conn.prepare("SELECT at, case_id FROM alarms ORDER BY at, case_id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// The invariant: every next alert has an alarm of its case at or before it.
    fn assert_covered(conn: &Connection) {
        let late: Vec<(i64, i64)> = conn
            .prepare(
                "SELECT d.id, d.next_alert_at FROM deadlines d WHERE d.next_alert_at IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.case_id = d.case_id AND a.at <= d.next_alert_at)",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(late, Vec::new(), "deadlines whose next alert has no alarm in time");
    }

    /// (deadline, purpose) of every alert written, in the order written.
    fn alerts(conn: &Connection) -> Vec<(i64, String)> {
        conn.prepare("SELECT deadline, purpose FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn state(conn: &Connection, id: i64) -> (String, Option<i64>) {
        conn.query_row(
            "SELECT state, next_alert_at FROM deadlines WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
    }

    fn tick(conn: &Connection, now: i64) -> usize {
        let looked = fire(conn, at(now), 64, SignedDuration::ZERO).unwrap();
        assert_covered(conn);
        looked
    }

    /// A message's deadlines make one alarm; a deadline moved earlier, a caseworker's reopening
    /// and the tick's own re-arming each keep every next alert covered, so each alert fires on
    /// time, and a stale alarm fires nothing.
    #[test]
    fn every_next_alert_has_an_alarm_in_time() {
        let conn = database();
        apply(
            &conn,
            &[plan("plan", 10_000, &[1_000, 5_000]), plan("housing", 20_000, &[])],
            1,
            (1, &[]),
            true,
            "r-1",
            at(10),
        )
        .unwrap();
        assert_eq!(
            alarms(&conn),
            vec![(1_000, 1)],
            "one alarm for the message's two deadlines"
        );
        assert_covered(&conn);
        let (plan_id, housing_id) = (id(1, 0), id(1, 1));

        // The second message moves the housing deadline before the plan's first reminder.
        apply(&conn, &[plan("housing", 800, &[])], 2, (1, &[]), false, "r-2", at(100)).unwrap();
        assert_eq!(alarms(&conn), vec![(800, 1), (1_000, 1)]);
        assert_covered(&conn);
        assert_eq!(tick(&conn, 799), 0);
        assert_eq!(tick(&conn, 800), 1, "the moved deadline fires at its new time");
        assert_eq!(state(&conn, housing_id), ("missed".to_owned(), None));
        assert_eq!(alerts(&conn), vec![(housing_id, "escalation".to_owned())]);
        assert_eq!(alarms(&conn), vec![(1_000, 1)]);

        // The plan's first reminder, then the tick's alarm at its second.
        assert_eq!(tick(&conn, 1_000), 1);
        assert_eq!(state(&conn, plan_id), ("open".to_owned(), Some(5_000)));
        assert_eq!(alarms(&conn), vec![(5_000, 1)]);

        // A caseworker meets it: the alarm is stale, and its tick fires nothing and leaves none.
        let resolve = DeadlineAction::Resolve {
            outcome: "plan".to_owned(),
            meets: Vec::<MetByResolving>::new(),
        };
        act(&conn, plan_id, &resolve, "user:a", at(1_500)).unwrap();
        assert_eq!(tick(&conn, 5_000), 0);
        assert_eq!(alarms(&conn), Vec::new());

        // Reopened after its second reminder's time: the due time is its next alert, with an alarm.
        let reopen = DeadlineAction::Reopen { reason: None };
        act(&conn, plan_id, &reopen, "user:a", at(6_000)).unwrap();
        assert_eq!(state(&conn, plan_id), ("open".to_owned(), Some(10_000)));
        assert_eq!(alarms(&conn), vec![(10_000, 1)]);
        assert_covered(&conn);
        assert_eq!(tick(&conn, 9_999), 0);
        assert_eq!(tick(&conn, 10_000), 1);
        assert_eq!(state(&conn, plan_id), ("missed".to_owned(), None));
        assert_eq!(
            alerts(&conn),
            vec![
                (housing_id, "escalation".to_owned()),
                (plan_id, "reminder".to_owned()),
                (plan_id, "escalation".to_owned())
            ]
        );
        assert_eq!(alarms(&conn), Vec::new());
    }

    /// A backlog of stale alarms (cases whose deadlines were met or moved later) is worked off
    /// `limit` alarms a job, each job answering `limit` so that the scheduler asks again, and
    /// a real alert behind them still goes out.
    #[test]
    fn stale_alarms_are_taken_a_limit_at_a_time() {
        let conn = database();
        apply(&conn, &[plan("a", 100, &[])], 1, (1, &[]), true, "r-1", at(10)).unwrap();
        conn.execute_batch("INSERT INTO alarms (at, case_id) VALUES (50, 7), (50, 8), (50, 9)")
            .unwrap();
        let fire = |limit| fire(&conn, at(400), limit, SignedDuration::ZERO).unwrap();
        assert_eq!(fire(2), 2, "two stale alarms taken, nothing looked at");
        assert_eq!(alarms(&conn), vec![(50, 9), (100, 1)]);
        assert_eq!(fire(2), 2, "the last stale one and case 1's, whose deadline fires");
        assert_eq!(alerts(&conn).len(), 1);
        assert_eq!(fire(2), 0, "nothing due is left");
        assert_eq!(alarms(&conn), Vec::new());
    }

    /// Alerts of several cases go out in the order of their times, as with one index over all
    /// deadlines; a call with a limit below what is due returns at least the limit, and the
    /// next call (which the scheduler makes then) fires the rest.
    #[test]
    fn alerts_go_out_earliest_first_across_cases() {
        // Case 1 with deadlines due at 100 and 300, case 2 with one due at 200.
        let two_cases = || {
            let conn = database();
            apply(
                &conn,
                &[plan("a", 100, &[]), plan("c", 300, &[])],
                1,
                (1, &[]),
                true,
                "r-1",
                at(10),
            )
            .unwrap();
            apply(&conn, &[plan("b", 200, &[])], 2, (2, &[]), true, "r-2", at(10)).unwrap();
            conn
        };
        let conn = two_cases();
        assert_eq!(alarms(&conn), vec![(100, 1), (200, 2)]);
        assert_eq!(tick(&conn, 400), 3);
        let order: Vec<i64> = alerts(&conn).into_iter().map(|(id, _)| id).collect();
        assert_eq!(
            order,
            vec![id(1, 0), id(2, 0), id(1, 1)],
            "case 1's at 100, case 2's at 200, case 1's at 300"
        );

        let conn = two_cases();
        assert_eq!(
            fire(&conn, at(400), 1, SignedDuration::ZERO).unwrap(),
            2,
            "case 1's two"
        );
        assert_covered(&conn);
        assert_eq!(fire(&conn, at(400), 1, SignedDuration::ZERO).unwrap(), 1);
        assert_eq!(fire(&conn, at(400), 1, SignedDuration::ZERO).unwrap(), 0);
        assert_eq!(alerts(&conn).len(), 3);
    }

    /// The digest finds the open deadlines through the alarms due before its horizon and the
    /// missed ones through their index: it reads no deadline beyond those.
    #[test]
    fn the_digest_reads_the_deadlines_of_cases_with_an_alarm() {
        let conn = database();
        apply(
            &conn,
            &[plan("a", 1_000, &[500]), plan("b", 9_000, &[])],
            1,
            (1, &[]),
            true,
            "r-1",
            at(10),
        )
        .unwrap();
        apply(&conn, &[plan("c", 3_000, &[])], 2, (2, &[]), true, "r-2", at(10)).unwrap();
        let steps: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {DIGEST_ITEMS}"))
            .unwrap()
            .query_map(params!["[\"team-a\"]", 2_000], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            !steps
                .iter()
                .any(|step| step.starts_with("SCAN x") || step.starts_with("SCAN c") || step.contains("AUTOMATIC")),
            "no scan of the deadlines or cases, and no index built over them: {steps:?}"
        );
        assert!(
            steps.contains(&"SEARCH x USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)".to_owned())
                && steps.contains(&"SEARCH x USING INDEX deadlines_by_case_before_blocks (case_id=?)".to_owned()),
            "each case's deadlines through its block and the older index: {steps:?}"
        );
        let items = digest_items(&conn, &["team-a".to_owned()], at(2_000)).unwrap();
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, vec!["a"], "due before the horizon: a; b and c are later");
        let items = digest_items(&conn, &["team-a".to_owned()], at(9_500)).unwrap();
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, vec!["a", "c", "b"]);
    }

    /// A case's new deadlines take the next ids of its block, after those it has, and a deadline
    /// written before the blocks (migration 0017, a small id found through the older index) is
    /// still moved, listed and fired as one of its case's; another case's are not.
    #[test]
    fn a_cases_deadlines_are_its_block_and_its_older_ones() {
        let conn = database();
        // Case 1 has a deadline from before the blocks; case 2 one in its block.
        conn.execute_batch(
            "INSERT INTO deadlines VALUES (9, 1, 1, 'old', '', 'Old', 'team-a', 'open', 50000, '[]', 0,
                 'mail:team-a', 'lead:team-a', 50000, 5, 'receipt:r-0', NULL, NULL, NULL);
             INSERT INTO alarms VALUES (50000, 1);",
        )
        .unwrap();
        apply(&conn, &[plan("other", 800, &[])], 2, (2, &[]), true, "r-2", at(10)).unwrap();
        apply(
            &conn,
            &[plan("a", 1_000, &[]), plan("b", 2_000, &[])],
            1,
            (1, &[]),
            false,
            "r-1",
            at(10),
        )
        .unwrap();
        // A later message: the old deadline moved earlier, one more new one after a and b.
        apply(
            &conn,
            &[plan("old", 3_000, &[]), plan("c", 4_000, &[])],
            1,
            (1, &[]),
            false,
            "r-1b",
            at(20),
        )
        .unwrap();
        let listed: Vec<(i64, String)> = for_case(&conn, 1)
            .unwrap()
            .into_iter()
            .map(|d| (d.id, d.policy))
            .collect();
        assert_eq!(
            listed,
            vec![
                (id(1, 0), "a".to_owned()),
                (id(1, 1), "b".to_owned()),
                (9, "old".to_owned()),
                (id(1, 2), "c".to_owned())
            ],
            "the case's four by due time, the old one moved to 3,000; nothing of case 2"
        );
        assert_eq!(state(&conn, 9), ("open".to_owned(), Some(3_000)));
        assert_eq!(id(2, 0), id(1, 0) + (1 << 20), "each case a block of 2^20");
        assert_eq!(tick(&conn, 3_500), 4, "case 2's, a, b and the old one, missed");
        let escalated: Vec<i64> = alerts(&conn).into_iter().map(|(id, _)| id).collect();
        assert_eq!(escalated, vec![id(2, 0), id(1, 0), id(1, 1), 9]);
        let items = digest_items(&conn, &["team-a".to_owned()], at(5_000)).unwrap();
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, vec!["other", "a", "b", "Old", "c"]);
    }

    /// A municipality's list puts deadlines due at the same time in the order they were created,
    /// not in the order of their cases' blocks.
    #[test]
    fn the_list_orders_a_tie_by_creation_across_cases() {
        let conn = database();
        apply(&conn, &[plan("b", 900, &[])], 2, (2, &[]), true, "r-2", at(10)).unwrap();
        apply(&conn, &[plan("a", 900, &[])], 1, (1, &[]), true, "r-1", at(20)).unwrap();
        let filter = DeadlineFilter {
            municipality: "751".to_owned(),
            limit: 10,
            ..DeadlineFilter::default()
        };
        let listed: Vec<i64> = list(&conn, &filter).unwrap().iter().map(|d| d.id).collect();
        assert_eq!(
            listed,
            vec![id(2, 0), id(1, 0)],
            "case 2's, created first, then case 1's"
        );
    }

    /// Deadline ids stay below 2^53 (exact in every JSON reader); a case beyond them, or a case
    /// whose block is full, is refused with an error, not given another case's ids.
    #[test]
    fn a_case_never_takes_ids_beyond_its_block() {
        let (first, last) = block(1).unwrap();
        assert_eq!((first, last), ((1 << 40) + (1 << 20), (1 << 40) + (2 << 20) - 1));
        let highest = ((1i64 << 53) - (1 << 40)) / (1 << 20) - 1;
        assert_eq!(block(highest).unwrap().1, (1 << 53) - 1);
        assert!(block(highest + 1).is_err());
        assert!(block(-1).is_err());
        assert!(block(i64::MAX).is_err());

        let conn = database();
        conn.execute(
            "INSERT INTO deadlines (id, case_id, message, policy, scope, title, state, due_at, reminders,
                 created_at, created_by)
             VALUES (?1, 1, 1, 'last', '', 'Last', 'open', 900, '[]', 5, 'receipt:r-0')",
            [last],
        )
        .unwrap();
        let full = apply(&conn, &[plan("a", 1_000, &[])], 1, (1, &[]), false, "r-1", at(10));
        assert!(
            full.unwrap_err()
                .to_string()
                .contains("has used all 1048576 deadline ids"),
            "a full block is an error"
        );
    }

    /// The statements of the alarms are not prepared again when their bound values change
    /// (docs/benchmarks.md, "The writer's work per message").
    #[test]
    fn the_alarms_statements_are_prepared_once() {
        let conn = database();
        for (message, case, now) in [(1, 1, 10), (2, 2, 20)] {
            apply(
                &conn,
                &[plan("a", 1_000 * now, &[100 * now])],
                message,
                (case, &[]),
                case == 1,
                "r",
                at(now),
            )
            .unwrap();
        }
        apply(&conn, &[plan("a", 5_000, &[])], 2, (1, &[]), false, "r", at(30)).unwrap();
        for now in [1_000, 2_000, 5_000, 20_000] {
            tick(&conn, now);
        }
        for sql in [
            "SELECT at, case_id FROM alarms WHERE at <= ?1 ORDER BY at, case_id",
            "DELETE FROM alarms WHERE (at, case_id) <= (?1, ?2)",
            "INSERT OR IGNORE INTO alarms (at, case_id) VALUES (?1, ?2)",
            OF_CASE_ALERTS,
            LATEST,
        ] {
            let statement = conn.prepare_cached(sql).unwrap();
            assert!(statement.get_status(StatementStatus::VmStep) > 0, "not run: {sql}");
            assert_eq!(
                statement.get_status(StatementStatus::RePrepare),
                0,
                "prepared again: {sql}"
            );
        }
    }
}
