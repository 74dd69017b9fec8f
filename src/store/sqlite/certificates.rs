//! The SQL of senders' client certificates (`sender_certificates`, migration 0008).

use super::queries::{instant, micros};
use crate::domain::Kind;
use crate::store::SenderCertificateRecord;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLUMNS: &str = "id, sender_id, kinds, fingerprint, subject_serial, not_after, created_at, revoked_at";

fn row(row: &Row) -> rusqlite::Result<SenderCertificateRecord> {
    let kinds: String = row.get(2)?;
    Ok(SenderCertificateRecord {
        id: row.get(0)?,
        sender_id: row.get(1)?,
        kinds: kinds.split(',').filter_map(Kind::parse).collect(),
        fingerprint: row.get(3)?,
        subject_serial: row.get(4)?,
        not_after: row.get::<_, Option<i64>>(5)?.map(instant).transpose()?,
        created_at: instant(row.get(6)?)?,
        revoked_at: row.get::<_, Option<i64>>(7)?.map(instant).transpose()?,
    })
}

pub fn insert(conn: &Connection, r: &SenderCertificateRecord) -> anyhow::Result<()> {
    let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
    conn.prepare_cached(
        "INSERT INTO sender_certificates (id, sender_id, kinds, fingerprint, subject_serial, not_after, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.id,
        r.sender_id,
        kinds.join(","),
        r.fingerprint,
        r.subject_serial,
        r.not_after.map(micros),
        micros(r.created_at)
    ])?;
    Ok(())
}

/// A registration by fingerprint wins over one by subject serial number.
pub fn live(
    conn: &Connection,
    fingerprint: &str,
    subject_serial: Option<&str>,
) -> anyhow::Result<Option<SenderCertificateRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sender_certificates
         WHERE revoked_at IS NULL AND (fingerprint = ?1 OR subject_serial = ?2)
         ORDER BY fingerprint IS NULL LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![fingerprint, subject_serial], row)
        .optional()?)
}

pub fn all(conn: &Connection) -> anyhow::Result<Vec<SenderCertificateRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM sender_certificates ORDER BY created_at, id");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn remove(conn: &Connection, id: &str, at: Timestamp) -> anyhow::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE sender_certificates SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, micros(at)])?;
    Ok(changed == 1)
}
