//! The audit log's SQL (store::audit): appending seals each entry in the writer's transaction,
//! where the entry before it is known.

use super::queries::{instant, micros};
use crate::store::audit::{AuditAnchor, AuditFilter, AuditHead, AuditRecord, NewAuditEntry, head_mac, seal};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Entries removed per transaction when the log is pruned.
pub const PRUNE_CHUNK: usize = 10_000;

fn blob(row: &Row, index: usize) -> rusqlite::Result<[u8; 32]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Blob, "a seal is not 32 bytes".into())
    })
}

/// One row of `audit_chain`: an entry id, its seal, and the row's own seal (the head's).
type ChainRow = (i64, [u8; 32], Option<Vec<u8>>);

fn chain_row(conn: &Connection, name: &str) -> anyhow::Result<Option<ChainRow>> {
    Ok(conn
        .prepare_cached("SELECT id, seal, mac FROM audit_chain WHERE name = ?1")?
        .query_row([name], |row| Ok((row.get(0)?, blob(row, 1)?, row.get(2)?)))
        .optional()?)
}

/// Where the chain starts and where it ends, as stored.
pub fn ends(conn: &Connection) -> anyhow::Result<(AuditAnchor, Option<AuditHead>)> {
    let anchor = chain_row(conn, "anchor")?
        .map(|(id, seal, _)| AuditAnchor { id, seal })
        .unwrap_or_default();
    let head = chain_row(conn, "head")?.map(|(id, seal, mac)| AuditHead {
        id,
        seal,
        mac: mac.and_then(|m| m.try_into().ok()).unwrap_or([0; 32]),
    });
    Ok((anchor, head))
}

/// Appends the entries in order after the current head; returns their ids.
pub fn append(conn: &Connection, entries: &[NewAuditEntry], key: &[u8; 32]) -> anyhow::Result<Vec<i64>> {
    let (anchor, head) = ends(conn)?;
    let (mut last, mut prev) = match head {
        Some(head) => (head.id, head.seal),
        None => (anchor.id, anchor.seal),
    };
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_log (id, at, actor_kind, actor, actor_name, address, action, case_ref, receipt_id,
             target, outcome, prev, seal)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut ids = Vec::with_capacity(entries.len());
    for e in entries {
        let id = last + 1;
        let sealed = seal(key, id, &prev, e);
        insert.execute(params![
            id,
            micros(e.at),
            e.actor_kind,
            e.actor,
            e.actor_name,
            e.address,
            e.action,
            e.case_ref,
            e.receipt_id,
            e.target,
            e.outcome,
            prev.as_slice(),
            sealed.as_slice(),
        ])?;
        ids.push(id);
        (last, prev) = (id, sealed);
    }
    conn.prepare_cached(
        "INSERT INTO audit_chain (name, id, seal, mac) VALUES ('head', ?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET id = excluded.id, seal = excluded.seal, mac = excluded.mac",
    )?
    .execute(params![last, prev.as_slice(), head_mac(key, last, &prev).as_slice()])?;
    Ok(ids)
}

const COLUMNS: &str =
    "id, at, actor_kind, actor, actor_name, address, action, case_ref, receipt_id, target, outcome, prev, seal";

fn record(row: &Row) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.get(0)?,
        entry: NewAuditEntry {
            at: instant(row.get(1)?)?,
            actor_kind: row.get(2)?,
            actor: row.get(3)?,
            actor_name: row.get(4)?,
            address: row.get(5)?,
            action: row.get(6)?,
            case_ref: row.get(7)?,
            receipt_id: row.get(8)?,
            target: row.get(9)?,
            outcome: row.get(10)?,
        },
        prev: blob(row, 11)?,
        seal: blob(row, 12)?,
    })
}

/// Entries in id order, filtered.
pub fn entries(conn: &Connection, f: &AuditFilter) -> anyhow::Result<Vec<AuditRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE id > ?1
           AND (?2 IS NULL OR actor = ?2)
           AND (?3 IS NULL OR case_ref = ?3)
           AND (?4 IS NULL OR action = ?4)
           AND (?5 IS NULL OR at >= ?5)
           AND (?6 IS NULL OR at < ?6)
         ORDER BY id
         LIMIT ?7"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                f.after,
                f.actor,
                f.case_ref,
                f.action,
                f.from.map(micros),
                f.to.map(micros),
                i64::try_from(f.limit).unwrap_or(i64::MAX)
            ],
            record,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Removes up to `PRUNE_CHUNK` of the oldest entries made before `before`, and moves the anchor
/// to the last one removed; returns how many went.
pub fn prune(conn: &Connection, before: Timestamp) -> anyhow::Result<usize> {
    let last: Option<(i64, [u8; 32])> = conn
        .prepare_cached(
            "SELECT id, seal FROM audit_log
             WHERE id = (SELECT MAX(id) FROM (SELECT id FROM audit_log WHERE at < ?1 ORDER BY id LIMIT ?2))",
        )?
        .query_row(params![micros(before), PRUNE_CHUNK as i64], |row| {
            Ok((row.get(0)?, blob(row, 1)?))
        })
        .optional()?;
    let Some((id, seal)) = last else { return Ok(0) };
    let removed = conn
        .prepare_cached("DELETE FROM audit_log WHERE id <= ?1")?
        .execute([id])?;
    conn.prepare_cached(
        "INSERT INTO audit_chain (name, id, seal) VALUES ('anchor', ?1, ?2)
         ON CONFLICT (name) DO UPDATE SET id = excluded.id, seal = excluded.seal",
    )?
    .execute(params![id, seal.as_slice()])?;
    Ok(removed)
}
