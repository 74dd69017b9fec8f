//! The SQL of sessions and sign-ins under way on PostgreSQL.

use super::sql::{at, exec, micros, opt};
use crate::store::{LoginRecord, SessionRecord};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;

pub async fn begin_login<C: GenericClient>(conn: &C, login: &LoginRecord, stale: Timestamp) -> anyhow::Result<()> {
    exec(conn, "DELETE FROM logins WHERE created_at < $1", &[&micros(stale)]).await?;
    exec(
        conn,
        "INSERT INTO logins (state_hash, nonce, pkce_verifier, return_to, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            &login.state_hash,
            &login.nonce,
            &login.pkce_verifier,
            &login.return_to,
            &micros(login.created_at),
        ],
    )
    .await?;
    Ok(())
}

pub async fn take_login<C: GenericClient>(
    conn: &C,
    state_hash: &str,
    stale: Timestamp,
) -> anyhow::Result<Option<LoginRecord>> {
    let Some(row) = opt(
        conn,
        "DELETE FROM logins WHERE state_hash = $1
         RETURNING state_hash, nonce, pkce_verifier, return_to, created_at",
        &[&state_hash],
    )
    .await?
    else {
        return Ok(None);
    };
    let login = LoginRecord {
        state_hash: row.try_get(0)?,
        nonce: row.try_get(1)?,
        pkce_verifier: row.try_get(2)?,
        return_to: row.try_get(3)?,
        created_at: at(&row, 4)?,
    };
    Ok(Some(login).filter(|l| l.created_at >= stale))
}

pub async fn create<C: GenericClient>(
    conn: &C,
    session: &SessionRecord,
    idle_before: Timestamp,
    begun_before: Timestamp,
) -> anyhow::Result<()> {
    exec(
        conn,
        "DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2",
        &[&micros(idle_before), &micros(begun_before)],
    )
    .await?;
    exec(
        conn,
        "INSERT INTO sessions (id_hash, subject, name, roles, csrf_token, created_at, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &session.id_hash,
            &session.subject,
            &session.name,
            &session.roles,
            &session.csrf_token,
            &micros(session.created_at),
            &micros(session.last_seen),
        ],
    )
    .await?;
    Ok(())
}

fn session_row(row: &Row) -> anyhow::Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: row.try_get(0)?,
        subject: row.try_get(1)?,
        name: row.try_get(2)?,
        roles: row.try_get(3)?,
        csrf_token: row.try_get(4)?,
        created_at: at(row, 5)?,
        last_seen: at(row, 6)?,
    })
}

pub async fn by_hash<C: GenericClient>(conn: &C, id_hash: &str) -> anyhow::Result<Option<SessionRecord>> {
    opt(
        conn,
        "SELECT id_hash, subject, name, roles, csrf_token, created_at, last_seen FROM sessions WHERE id_hash = $1",
        &[&id_hash],
    )
    .await?
    .as_ref()
    .map(session_row)
    .transpose()
}

pub async fn touch<C: GenericClient>(conn: &C, id_hash: &str, at: Timestamp) -> anyhow::Result<()> {
    exec(
        conn,
        "UPDATE sessions SET last_seen = GREATEST(last_seen, $2) WHERE id_hash = $1",
        &[&id_hash, &micros(at)],
    )
    .await?;
    Ok(())
}

pub async fn end<C: GenericClient>(conn: &C, id_hash: &str) -> anyhow::Result<bool> {
    Ok(exec(conn, "DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]).await? == 1)
}
