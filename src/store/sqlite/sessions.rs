//! The SQL of sessions and sign-ins under way.

use super::queries::{instant, micros};
use crate::store::{LoginRecord, SessionRecord};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Stores a sign-in under way, and forgets those begun before `stale`.
pub fn begin_login(conn: &Connection, login: &LoginRecord, stale: Timestamp) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM logins WHERE created_at < ?1")?
        .execute([micros(stale)])?;
    conn.prepare_cached(
        "INSERT INTO logins (state_hash, nonce, pkce_verifier, return_to, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        login.state_hash,
        login.nonce,
        login.pkce_verifier,
        login.return_to,
        micros(login.created_at)
    ])?;
    Ok(())
}

/// Takes the sign-in with this state, once; `None` when there is none begun since `stale`.
pub fn take_login(conn: &Connection, state_hash: &str, stale: Timestamp) -> anyhow::Result<Option<LoginRecord>> {
    let login = conn
        .prepare_cached(
            "DELETE FROM logins WHERE state_hash = ?1
             RETURNING state_hash, nonce, pkce_verifier, return_to, created_at",
        )?
        .query_row([state_hash], |row| {
            Ok(LoginRecord {
                state_hash: row.get(0)?,
                nonce: row.get(1)?,
                pkce_verifier: row.get(2)?,
                return_to: row.get(3)?,
                created_at: instant(row.get(4)?)?,
            })
        })
        .optional()?;
    Ok(login.filter(|l| l.created_at >= stale))
}

/// Stores a new session, and removes those that ended (idle since `idle_before`, or begun
/// before `begun_before`).
pub fn create(
    conn: &Connection,
    session: &SessionRecord,
    idle_before: Timestamp,
    begun_before: Timestamp,
) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2")?
        .execute([micros(idle_before), micros(begun_before)])?;
    conn.prepare_cached(
        "INSERT INTO sessions (id_hash, subject, name, roles, csrf_token, created_at, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        session.id_hash,
        session.subject,
        session.name,
        session.roles,
        session.csrf_token,
        micros(session.created_at),
        micros(session.last_seen)
    ])?;
    Ok(())
}

fn session_row(row: &Row) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: row.get(0)?,
        subject: row.get(1)?,
        name: row.get(2)?,
        roles: row.get(3)?,
        csrf_token: row.get(4)?,
        created_at: instant(row.get(5)?)?,
        last_seen: instant(row.get(6)?)?,
    })
}

pub fn by_hash(conn: &Connection, id_hash: &str) -> anyhow::Result<Option<SessionRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT id_hash, subject, name, roles, csrf_token, created_at, last_seen FROM sessions WHERE id_hash = ?1",
        )?
        .query_row([id_hash], session_row)
        .optional()?)
}

pub fn touch(conn: &Connection, id_hash: &str, at: Timestamp) -> anyhow::Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen = max(last_seen, ?2) WHERE id_hash = ?1")?
        .execute(params![id_hash, micros(at)])?;
    Ok(())
}

/// Ends a session; `false` when there was none.
pub fn end(conn: &Connection, id_hash: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?
        .execute([id_hash])?
        == 1)
}
