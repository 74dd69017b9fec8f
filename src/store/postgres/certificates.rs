//! The SQL of senders' client certificates on PostgreSQL.

use super::sql::{at, at_opt, exec, micros, opt, rows};
use crate::domain::Kind;
use crate::store::SenderCertificateRecord;
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;

const COLUMNS: &str = "id, sender_id, kinds, fingerprint, subject_serial, not_after, created_at, revoked_at";

fn record(row: &Row) -> anyhow::Result<SenderCertificateRecord> {
    let kinds: &str = row.try_get(2)?;
    Ok(SenderCertificateRecord {
        id: row.try_get(0)?,
        sender_id: row.try_get(1)?,
        kinds: kinds.split(',').filter_map(Kind::parse).collect(),
        fingerprint: row.try_get(3)?,
        subject_serial: row.try_get(4)?,
        not_after: at_opt(row, 5)?,
        created_at: at(row, 6)?,
        revoked_at: at_opt(row, 7)?,
    })
}

pub async fn insert<C: GenericClient>(conn: &C, r: &SenderCertificateRecord) -> anyhow::Result<()> {
    let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
    exec(
        conn,
        "INSERT INTO sender_certificates (id, sender_id, kinds, fingerprint, subject_serial, not_after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &r.id,
            &r.sender_id,
            &kinds.join(","),
            &r.fingerprint,
            &r.subject_serial,
            &r.not_after.map(micros),
            &micros(r.created_at),
        ],
    )
    .await?;
    Ok(())
}

pub async fn live<C: GenericClient>(
    conn: &C,
    fingerprint: &str,
    subject_serial: Option<&str>,
) -> anyhow::Result<Option<SenderCertificateRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sender_certificates
         WHERE revoked_at IS NULL AND (fingerprint = $1 OR subject_serial = $2::text)
         ORDER BY fingerprint IS NULL LIMIT 1"
    );
    opt(conn, &sql, &[&fingerprint, &subject_serial])
        .await?
        .as_ref()
        .map(record)
        .transpose()
}

pub async fn all<C: GenericClient>(conn: &C) -> anyhow::Result<Vec<SenderCertificateRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM sender_certificates ORDER BY created_at, id COLLATE \"C\"");
    rows(conn, &sql, &[]).await?.iter().map(record).collect()
}

pub async fn remove<C: GenericClient>(conn: &C, id: &str, at: Timestamp) -> anyhow::Result<bool> {
    let changed = exec(
        conn,
        "UPDATE sender_certificates SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &micros(at)],
    )
    .await?;
    Ok(changed == 1)
}
