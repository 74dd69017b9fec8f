//! The SQL of destination pauses (`store::destinations`) on PostgreSQL, where several instances
//! write them at once: outcomes lock their destinations' rows (`FOR UPDATE`) before they are
//! counted, a first failure inserts the row (two first failures at once: the loser's
//! transaction runs again and finds the winner's row), and a probe is taken by one `UPDATE`
//! whose condition the second of two racing instances finds no longer true.

use super::sql::{at_opt, exec, micros, opt, rows};
use crate::store::{DestinationState, HealthNote, Hold, PauseChange, note};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use std::collections::BTreeMap;
use tokio_postgres::Row;

const COLUMNS: &str =
    "destination, failures_in_row, paused_until, pause_seconds, probe_until, held_at, held_by, held_by_name";

fn state_row(row: &Row) -> anyhow::Result<DestinationState> {
    let hold = match (at_opt(row, 5)?, row.try_get::<_, Option<String>>(6)?) {
        (Some(since), Some(by)) => Some(Hold {
            by,
            by_name: row.try_get(7)?,
            since,
        }),
        _ => None,
    };
    Ok(DestinationState {
        destination: row.try_get(0)?,
        failures_in_row: u32::try_from(row.try_get::<_, i64>(1)?).unwrap_or(u32::MAX),
        paused_until: at_opt(row, 2)?,
        pause_seconds: u64::try_from(row.try_get::<_, i64>(3)?).unwrap_or(0),
        probe_until: at_opt(row, 4)?,
        hold,
    })
}

pub async fn all<C: GenericClient>(conn: &C) -> anyhow::Result<Vec<DestinationState>> {
    rows(
        conn,
        &format!("SELECT {COLUMNS} FROM destination_pauses ORDER BY destination"),
        &[],
    )
    .await?
    .iter()
    .map(state_row)
    .collect()
}

/// The destination's row, locked until the transaction ends.
async fn locked<C: GenericClient>(conn: &C, destination: &str) -> anyhow::Result<Option<DestinationState>> {
    opt(
        conn,
        &format!("SELECT {COLUMNS} FROM destination_pauses WHERE destination = $1 FOR UPDATE"),
        &[&destination],
    )
    .await?
    .as_ref()
    .map(state_row)
    .transpose()
}

/// Writes the state: an insert for a row that was not there (a unique violation when another
/// transaction inserted it meanwhile, and this one runs again), else an update of the locked row.
async fn put<C: GenericClient>(conn: &C, s: &DestinationState, existed: bool) -> anyhow::Result<()> {
    let sql = if existed {
        "UPDATE destination_pauses SET failures_in_row = $2, paused_until = $3, pause_seconds = $4,
             probe_until = $5, held_at = $6, held_by = $7, held_by_name = $8
         WHERE destination = $1"
            .to_owned()
    } else {
        format!("INSERT INTO destination_pauses ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
    };
    exec(
        conn,
        &sql,
        &[
            &s.destination,
            &i64::from(s.failures_in_row),
            &s.paused_until.map(micros),
            &i64::try_from(s.pause_seconds).unwrap_or(i64::MAX),
            &s.probe_until.map(micros),
            &s.hold.as_ref().map(|h| micros(h.since)),
            &s.hold.as_ref().map(|h| h.by.as_str()),
            &s.hold.as_ref().and_then(|h| h.by_name.as_deref()),
        ],
    )
    .await?;
    Ok(())
}

/// Counts attempts' outcomes towards their destinations' pauses, in the attempts' transaction:
/// one query reads (and locks, in name order) the rows of the destinations concerned, mostly
/// none; the rows that changed are written back, in name order too.
pub async fn count<C: GenericClient>(conn: &C, notes: &[&HealthNote]) -> anyhow::Result<Vec<PauseChange>> {
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<&str> = notes.iter().map(|n| n.destination.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let found = rows(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM destination_pauses WHERE destination = ANY($1) ORDER BY destination FOR UPDATE"
        ),
        &[&names],
    )
    .await?
    .iter()
    .map(state_row)
    .collect::<anyhow::Result<Vec<_>>>()?;
    let mut states: BTreeMap<String, (Option<DestinationState>, Option<DestinationState>)> = found
        .into_iter()
        .map(|s| (s.destination.clone(), (Some(s.clone()), Some(s))))
        .collect();
    let mut changes = Vec::new();
    for n in notes {
        let (_, now) = states.entry(n.destination.clone()).or_insert((None, None));
        let (after, change) = note(now.take(), n);
        *now = after;
        changes.extend(change);
    }
    for (destination, (before, after)) in states {
        match after {
            Some(state) if before.as_ref() != Some(&state) => put(conn, &state, before.is_some()).await?,
            None if before.is_some() => {
                exec(
                    conn,
                    "DELETE FROM destination_pauses WHERE destination = $1",
                    &[&destination],
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(changes)
}

pub async fn hold<C: GenericClient>(conn: &C, destination: &str, hold: &Hold) -> anyhow::Result<()> {
    let before = locked(conn, destination).await?;
    let existed = before.is_some();
    let mut state = before.unwrap_or_else(|| DestinationState::new(destination));
    if state.hold.is_none() {
        state.hold = Some(hold.clone());
        put(conn, &state, existed).await?;
    }
    Ok(())
}

pub async fn resume<C: GenericClient>(conn: &C, destination: &str) -> anyhow::Result<bool> {
    Ok(opt(
        conn,
        "DELETE FROM destination_pauses WHERE destination = $1
         RETURNING held_at IS NOT NULL OR paused_until IS NOT NULL",
        &[&destination],
    )
    .await?
    .map(|row| row.try_get::<_, bool>(0))
    .transpose()?
    .unwrap_or(false))
}

pub async fn take_probe<C: GenericClient>(
    conn: &C,
    destination: &str,
    now: Timestamp,
    until: Timestamp,
) -> anyhow::Result<bool> {
    let taken = exec(
        conn,
        "UPDATE destination_pauses SET probe_until = $3
         WHERE destination = $1 AND held_at IS NULL AND paused_until <= $2
           AND (probe_until IS NULL OR probe_until <= $2)",
        &[&destination, &micros(now), &micros(until)],
    )
    .await?;
    Ok(taken == 1)
}

pub async fn drop_probe<C: GenericClient>(conn: &C, destination: &str) -> anyhow::Result<()> {
    exec(
        conn,
        "UPDATE destination_pauses SET probe_until = NULL WHERE destination = $1",
        &[&destination],
    )
    .await?;
    Ok(())
}
