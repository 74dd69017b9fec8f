//! The audit log's SQL on PostgreSQL. Appending takes a transaction-scoped advisory lock first:
//! the chain needs the entry before each new one, and several instances may append at once.

use super::sql::{at, exec, micros, opt, rows};
use crate::store::audit::{AuditAnchor, AuditFilter, AuditHead, AuditRecord, NewAuditEntry, head_mac, seal};
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;

/// Entries removed per transaction when the log is pruned.
pub const PRUNE_CHUNK: usize = 10_000;

/// The advisory lock key of the audit chain ("indgang audit" in a number).
const CHAIN_LOCK: i64 = 0x696e_6467_6175_6474;

fn seal_at(row: &Row, index: usize) -> anyhow::Result<[u8; 32]> {
    let bytes: Vec<u8> = row.try_get(index)?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("a seal is not 32 bytes"))
}

async fn chain_row<C: GenericClient>(conn: &C, name: &str) -> anyhow::Result<Option<(i64, [u8; 32], Option<Vec<u8>>)>> {
    match opt(conn, "SELECT id, seal, mac FROM audit_chain WHERE name = $1", &[&name]).await? {
        Some(row) => Ok(Some((row.try_get(0)?, seal_at(&row, 1)?, row.try_get(2)?))),
        None => Ok(None),
    }
}

pub async fn ends<C: GenericClient>(conn: &C) -> anyhow::Result<(AuditAnchor, Option<AuditHead>)> {
    let anchor = chain_row(conn, "anchor")
        .await?
        .map(|(id, seal, _)| AuditAnchor { id, seal })
        .unwrap_or_default();
    let head = chain_row(conn, "head").await?.map(|(id, seal, mac)| AuditHead {
        id,
        seal,
        mac: mac.and_then(|m| m.try_into().ok()).unwrap_or([0; 32]),
    });
    Ok((anchor, head))
}

pub async fn append<C: GenericClient>(conn: &C, entries: &[NewAuditEntry], key: &[u8; 32]) -> anyhow::Result<Vec<i64>> {
    exec(conn, "SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK]).await?;
    let (anchor, head) = ends(conn).await?;
    let (mut last, mut prev) = match head {
        Some(head) => (head.id, head.seal),
        None => (anchor.id, anchor.seal),
    };
    let mut ids = Vec::with_capacity(entries.len());
    for e in entries {
        let id = last + 1;
        let sealed = seal(key, id, &prev, e);
        exec(
            conn,
            "INSERT INTO audit_log (id, at, actor_kind, actor, actor_name, address, action, case_ref, receipt_id,
                 target, outcome, prev, seal)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &id,
                &micros(e.at),
                &e.actor_kind,
                &e.actor,
                &e.actor_name,
                &e.address,
                &e.action,
                &e.case_ref,
                &e.receipt_id,
                &e.target,
                &e.outcome,
                &prev.as_slice(),
                &sealed.as_slice(),
            ],
        )
        .await?;
        ids.push(id);
        (last, prev) = (id, sealed);
    }
    exec(
        conn,
        "INSERT INTO audit_chain (name, id, seal, mac) VALUES ('head', $1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET id = excluded.id, seal = excluded.seal, mac = excluded.mac",
        &[&last, &prev.as_slice(), &head_mac(key, last, &prev).as_slice()],
    )
    .await?;
    Ok(ids)
}

const COLUMNS: &str =
    "id, at, actor_kind, actor, actor_name, address, action, case_ref, receipt_id, target, outcome, prev, seal";

fn record(row: &Row) -> anyhow::Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.try_get(0)?,
        entry: NewAuditEntry {
            at: at(row, 1)?,
            actor_kind: row.try_get(2)?,
            actor: row.try_get(3)?,
            actor_name: row.try_get(4)?,
            address: row.try_get(5)?,
            action: row.try_get(6)?,
            case_ref: row.try_get(7)?,
            receipt_id: row.try_get(8)?,
            target: row.try_get(9)?,
            outcome: row.try_get(10)?,
        },
        prev: seal_at(row, 11)?,
        seal: seal_at(row, 12)?,
    })
}

pub async fn entries<C: GenericClient>(conn: &C, f: &AuditFilter) -> anyhow::Result<Vec<AuditRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE id > $1
           AND ($2::text IS NULL OR actor = $2)
           AND ($3::text IS NULL OR case_ref = $3)
           AND ($4::text IS NULL OR action = $4)
           AND ($5::bigint IS NULL OR at >= $5)
           AND ($6::bigint IS NULL OR at < $6)
         ORDER BY id
         LIMIT $7"
    );
    rows(
        conn,
        &sql,
        &[
            &f.after,
            &f.actor,
            &f.case_ref,
            &f.action,
            &f.from.map(micros),
            &f.to.map(micros),
            &i64::try_from(f.limit).unwrap_or(i64::MAX),
        ],
    )
    .await?
    .iter()
    .map(record)
    .collect()
}

pub async fn prune<C: GenericClient>(conn: &C, before: Timestamp) -> anyhow::Result<usize> {
    exec(conn, "SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK]).await?;
    let last = opt(
        conn,
        "SELECT id, seal FROM audit_log
         WHERE id = (SELECT MAX(id) FROM (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2) AS oldest)",
        &[&micros(before), &(PRUNE_CHUNK as i64)],
    )
    .await?;
    let Some(last) = last else { return Ok(0) };
    let id: i64 = last.try_get(0)?;
    let seal = seal_at(&last, 1)?;
    let removed = exec(conn, "DELETE FROM audit_log WHERE id <= $1", &[&id]).await?;
    exec(
        conn,
        "INSERT INTO audit_chain (name, id, seal) VALUES ('anchor', $1, $2)
         ON CONFLICT (name) DO UPDATE SET id = excluded.id, seal = excluded.seal",
        &[&id, &seal.as_slice()],
    )
    .await?;
    Ok(usize::try_from(removed)?)
}
