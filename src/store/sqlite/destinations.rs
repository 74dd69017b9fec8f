//! The SQL of destination pauses (`store::destinations`). Every write runs on the one writer, so
//! a read and the write after it see no other change in between.

use super::queries::{instant, micros};
use crate::store::{DestinationState, HealthNote, Hold, PauseChange, note};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLUMNS: &str =
    "destination, failures_in_row, paused_until, pause_seconds, probe_until, held_at, held_by, held_by_name";

fn state_row(row: &Row) -> rusqlite::Result<DestinationState> {
    let at = |i: usize| row.get::<_, Option<i64>>(i)?.map(instant).transpose();
    let hold = match (at(5)?, row.get::<_, Option<String>>(6)?) {
        (Some(since), Some(by)) => Some(Hold {
            by,
            by_name: row.get(7)?,
            since,
        }),
        _ => None,
    };
    Ok(DestinationState {
        destination: row.get(0)?,
        failures_in_row: u32::try_from(row.get::<_, i64>(1)?).unwrap_or(u32::MAX),
        paused_until: at(2)?,
        pause_seconds: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
        probe_until: at(4)?,
        hold,
    })
}

pub fn all(conn: &Connection) -> anyhow::Result<Vec<DestinationState>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM destination_pauses ORDER BY destination"
        ))?
        .query_map([], state_row)?
        .collect::<rusqlite::Result<_>>()?)
}

fn one(conn: &Connection, destination: &str) -> anyhow::Result<Option<DestinationState>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM destination_pauses WHERE destination = ?1"
        ))?
        .query_row([destination], state_row)
        .optional()?)
}

fn put(conn: &Connection, s: &DestinationState) -> anyhow::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO destination_pauses ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        s.destination,
        i64::from(s.failures_in_row),
        s.paused_until.map(micros),
        i64::try_from(s.pause_seconds).unwrap_or(i64::MAX),
        s.probe_until.map(micros),
        s.hold.as_ref().map(|h| micros(h.since)),
        s.hold.as_ref().map(|h| h.by.as_str()),
        s.hold.as_ref().and_then(|h| h.by_name.as_deref()),
    ])?;
    Ok(())
}

/// Counts an attempt's outcome towards its destination's pause (in the attempts' transaction).
pub fn count(conn: &Connection, n: &HealthNote) -> anyhow::Result<Option<PauseChange>> {
    let before = one(conn, &n.destination)?;
    let existed = before.is_some();
    let (after, change) = note(before, n);
    match after {
        Some(state) => put(conn, &state)?,
        None if existed => {
            conn.prepare_cached("DELETE FROM destination_pauses WHERE destination = ?1")?
                .execute([&n.destination])?;
        }
        None => {}
    }
    Ok(change)
}

pub fn hold(conn: &Connection, destination: &str, hold: &Hold) -> anyhow::Result<()> {
    let mut state = one(conn, destination)?.unwrap_or_else(|| DestinationState::new(destination));
    if state.hold.is_none() {
        state.hold = Some(hold.clone());
        put(conn, &state)?;
    }
    Ok(())
}

pub fn resume(conn: &Connection, destination: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM destination_pauses WHERE destination = ?1
             RETURNING held_at IS NOT NULL OR paused_until IS NOT NULL",
        )?
        .query_row([destination], |row| row.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

pub fn take_probe(conn: &Connection, destination: &str, now: Timestamp, until: Timestamp) -> anyhow::Result<bool> {
    let taken = conn
        .prepare_cached(
            "UPDATE destination_pauses SET probe_until = ?3
             WHERE destination = ?1 AND held_at IS NULL AND paused_until <= ?2
               AND (probe_until IS NULL OR probe_until <= ?2)",
        )?
        .execute(params![destination, micros(now), micros(until)])?;
    Ok(taken == 1)
}

pub fn drop_probe(conn: &Connection, destination: &str) -> anyhow::Result<()> {
    conn.prepare_cached("UPDATE destination_pauses SET probe_until = NULL WHERE destination = ?1")?
        .execute([destination])?;
    Ok(())
}
