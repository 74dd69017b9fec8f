//! The SQL of the SQLite backend. Functions take a connection and run inside whatever
//! transaction the caller holds (the writer's group transaction for writes).

use super::prepared;
use crate::domain::{CaseRef, Kind, copenhagen_date};
use crate::store::{
    CaseFilter, CaseRecord, CaseSummary, KeyCheck, MessageRecord, NewMessage, Receipt, SubjectKind, SubmitOutcome,
    TokenRecord,
};
use anyhow::Context;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

pub(super) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(super) fn instant(micros: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e)))
}

pub(super) fn kind_of(text: &str) -> rusqlite::Result<Kind> {
    Kind::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown kind {text:?}").into(),
        )
    })
}

const RECEIPT_COLUMNS: &str =
    "m.receipt_id, c.case_ref, m.kind, m.sender_id, m.message_id, c.municipality, m.received_at, m.warnings";

fn receipt_row(row: &Row) -> rusqlite::Result<Receipt> {
    let case_ref: String = row.get(1)?;
    let warnings: String = row.get(7)?;
    Ok(Receipt {
        receipt_id: row.get(0)?,
        case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
        kind: kind_of(&row.get::<_, String>(2)?)?,
        sender_id: row.get(3)?,
        message_id: row.get(4)?,
        municipality: row.get(5)?,
        received_at: instant(row.get(6)?)?,
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        deliveries: Vec::new(),
    })
}

pub fn file_message(conn: &Connection, m: &NewMessage) -> anyhow::Result<SubmitOutcome> {
    let existing = prepared::query(
        conn,
        "SELECT receipt_id, content_hash FROM messages WHERE sender_id = ?1 AND message_id = ?2",
        params![m.sender_id, m.message_id],
        |row| Ok((row.get::<String>(0)?, row.get::<[u8; 16]>(1)?)),
    )?
    .pop();
    if let Some((receipt_id, content_hash)) = existing {
        if content_hash != m.content_hash {
            return Ok(SubmitOutcome::Conflict {
                existing_receipt_id: receipt_id,
            });
        }
        let receipt = receipt(conn, &receipt_id)?.context("the earlier receipt has vanished")?;
        return Ok(SubmitOutcome::Duplicate(receipt));
    }

    let at = micros(m.received_at);
    let municipality = m.municipality.to_string();
    let earlier_offer = match (m.subject.kind, m.offer_hash) {
        (SubjectKind::VacantDwelling, Some(offer)) => conn
            .prepare_cached(
                "SELECT c.id, c.case_ref FROM messages m JOIN cases c ON c.id = m.case_id
                 WHERE m.offer_hash = ?1 AND c.municipality = ?2 ORDER BY m.id DESC LIMIT 1",
            )?
            .query_row(params![offer, municipality], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?,
        _ => None,
    };
    // The subject's cases in every municipality, in one search of the subject index: the one
    // here is the message's; a citizen's others are what a transfer closes (deadlines::apply),
    // which searched the same index again for them. A message filed on the case of the offer it
    // follows (a citizen's case, when the offer named one) has that case's subject instead.
    let (case, other_cases) = match earlier_offer {
        Some((id, case_ref)) => {
            let (hash, kind): ([u8; 16], String) = conn
                .prepare_cached("SELECT subject_hash, subject_kind FROM cases WHERE id = ?1")?
                .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let others = match kind.as_str() {
                "citizen" => subject_cases(conn, &hash, |case, _| case != id)?.1,
                _ => Vec::new(),
            };
            (Some((id, case_ref)), others)
        }
        None => {
            let (here, others) = subject_cases(conn, &m.subject.match_hash, |_, place| place != municipality)?;
            match m.subject.kind {
                SubjectKind::Citizen => (here, others),
                _ => (here, Vec::new()),
            }
        }
    };
    let new_case = case.is_none();
    let (case_id, case_ref) = match case {
        Some((id, case_ref)) => {
            prepared::execute(
                conn,
                "UPDATE cases SET updated_at = MAX(updated_at, ?2) WHERE id = ?1",
                params![id, at],
            )?;
            (
                id,
                CaseRef::parse(&case_ref).context("a stored case reference is malformed")?,
            )
        }
        None => {
            // The writer thread is the only writer, so the next id is ours.
            let id: i64 = prepared::query(conn, "SELECT COALESCE(MAX(id), 0) + 1 FROM cases", &[], |row| {
                row.get(0)
            })?
            .pop()
            .context("the next case id")?;
            let case_ref = CaseRef::new(copenhagen_date(m.received_at).year(), id);
            prepared::execute(
                conn,
                "INSERT INTO cases (id, case_ref, municipality, subject_kind, subject_hash, cpr_sealed, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    id,
                    case_ref.as_str(),
                    municipality,
                    m.subject.kind.as_str(),
                    m.subject.match_hash,
                    m.subject.cpr_sealed,
                    at
                ],
            )?;
            (id, case_ref)
        }
    };
    let warnings = serde_json::to_string(&m.warnings)?;
    prepared::execute(
        conn,
        "INSERT INTO messages (receipt_id, kind, sender_id, message_id, content_hash, offer_hash, case_id, received_at, body_sealed, summary, warnings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            m.receipt_id,
            m.kind.as_str(),
            m.sender_id,
            m.message_id,
            m.content_hash,
            m.offer_hash,
            case_id,
            at,
            m.body_sealed,
            m.summary,
            warnings
        ],
    )?;
    let message = conn.last_insert_rowid();
    let deliveries = super::deliveries::insert(conn, m, message, case_id, &case_ref)?;
    super::deadlines::apply(
        conn,
        &m.deadlines,
        message,
        (case_id, &other_cases),
        new_case,
        &m.receipt_id,
        m.received_at,
    )?;
    Ok(SubmitOutcome::Accepted(Receipt {
        receipt_id: m.receipt_id.clone(),
        case_ref,
        kind: m.kind,
        sender_id: m.sender_id.clone(),
        message_id: m.message_id.clone(),
        municipality,
        received_at: m.received_at,
        warnings: m.warnings.clone(),
        deliveries,
    }))
}

/// A case's id and reference.
type CaseHead = (i64, String);

/// The cases of a subject (its keyed hash): the one that `other` rejects (by id and
/// municipality), with its reference, and the ids of the citizen cases it accepts, ascending.
fn subject_cases(
    conn: &Connection,
    hash: &[u8; 16],
    other: impl Fn(i64, &str) -> bool,
) -> anyhow::Result<(Option<CaseHead>, Vec<i64>)> {
    let mut here = None;
    let mut others = Vec::new();
    let cases = prepared::query(
        conn,
        "SELECT id, case_ref, municipality, subject_kind FROM cases WHERE subject_hash = ?1",
        params![hash],
        |row| {
            Ok((
                row.get::<i64>(0)?,
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<String>(3)?,
            ))
        },
    )?;
    for (id, case_ref, municipality, kind) in cases {
        if !other(id, &municipality) {
            here = Some((id, case_ref));
        } else if kind == "citizen" {
            others.push(id);
        }
    }
    others.sort_unstable();
    Ok((here, others))
}

pub fn receipt(conn: &Connection, receipt_id: &str) -> anyhow::Result<Option<Receipt>> {
    let sql =
        format!("SELECT {RECEIPT_COLUMNS} FROM messages m JOIN cases c ON c.id = m.case_id WHERE m.receipt_id = ?1");
    let Some(mut receipt) = conn
        .prepare_cached(&sql)?
        .query_row([receipt_id], receipt_row)
        .optional()?
    else {
        return Ok(None);
    };
    receipt.deliveries = super::deliveries::of_receipt(conn, receipt_id)?;
    Ok(Some(receipt))
}

pub fn case(conn: &Connection, case_ref: &CaseRef) -> anyhow::Result<Option<CaseRecord>> {
    let head = conn
        .prepare_cached(
            "SELECT id, municipality, subject_kind, cpr_sealed, created_at FROM cases WHERE id = ?1 AND case_ref = ?2",
        )?
        .query_row(params![case_ref.number(), case_ref.as_str()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                instant(row.get(4)?)?,
            ))
        })
        .optional()?;
    let Some((id, municipality, subject_kind, cpr_sealed, opened_at)) = head else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {RECEIPT_COLUMNS}, m.body_sealed, m.summary FROM messages m JOIN cases c ON c.id = m.case_id
         WHERE m.case_id = ?1 ORDER BY m.id"
    );
    let messages = conn
        .prepare_cached(&sql)?
        .query_map([id], |row| {
            let summary: String = row.get(9)?;
            Ok(MessageRecord {
                receipt: receipt_row(row)?,
                body_sealed: row.get(8)?,
                summary: serde_json::from_str(&summary).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut messages = messages;
    crate::store::hand_out_deliveries(&mut messages, super::deliveries::of_case(conn, id)?);
    Ok(Some(CaseRecord {
        case_ref: case_ref.clone(),
        municipality,
        subject_kind,
        cpr_sealed,
        opened_at,
        messages,
        deadlines: super::deadlines::for_case(conn, id)?,
    }))
}

pub fn cases(conn: &Connection, filter: &CaseFilter) -> anyhow::Result<Vec<CaseSummary>> {
    let mut statement = conn.prepare_cached(
        "SELECT c.case_ref, c.municipality, c.subject_kind, c.created_at, c.updated_at, COUNT(m.id), GROUP_CONCAT(DISTINCT m.kind)
         FROM cases c JOIN messages m ON m.case_id = c.id
         WHERE c.municipality = ?1
           AND (?2 IS NULL OR c.updated_at >= ?2)
           AND (?3 IS NULL OR EXISTS (SELECT 1 FROM messages k WHERE k.case_id = c.id AND k.kind = ?3))
           AND (?5 IS NULL OR c.subject_hash = ?5)
         GROUP BY c.id
         ORDER BY c.updated_at DESC, c.id DESC
         LIMIT ?4",
    )?;
    let rows = statement.query_map(
        params![
            filter.municipality,
            filter.since.map(micros),
            filter.kind.map(Kind::as_str),
            filter.limit,
            filter.subject.as_ref().map(|h| h.as_slice())
        ],
        |row| {
            let case_ref: String = row.get(0)?;
            let kinds: String = row.get(6)?;
            Ok(CaseSummary {
                case_ref: CaseRef::parse(&case_ref).unwrap_or_else(|| CaseRef::new(0, 0)),
                municipality: row.get(1)?,
                subject_kind: row.get(2)?,
                opened_at: instant(row.get(3)?)?,
                last_message_at: instant(row.get(4)?)?,
                message_count: row.get(5)?,
                kinds: kinds.split(',').filter_map(Kind::parse).collect(),
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

const TOKEN_COLUMNS: &str = "id, hash, role, sender_id, kinds, municipality, team, created_at, revoked_at";

fn token_row(row: &Row) -> rusqlite::Result<TokenRecord> {
    let kinds: String = row.get(4)?;
    Ok(TokenRecord {
        id: row.get(0)?,
        hash: row.get(1)?,
        role: row.get(2)?,
        sender_id: row.get(3)?,
        kinds: kinds.split(',').filter_map(Kind::parse).collect(),
        municipality: row.get(5)?,
        team: row.get(6)?,
        created_at: instant(row.get(7)?)?,
        revoked_at: row.get::<_, Option<i64>>(8)?.map(instant).transpose()?,
    })
}

pub fn insert_token(conn: &Connection, t: &TokenRecord) -> anyhow::Result<()> {
    let kinds: Vec<&str> = t.kinds.iter().map(|k| k.as_str()).collect();
    conn.prepare_cached(
        "INSERT INTO tokens (id, hash, role, sender_id, kinds, municipality, team, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.id,
        t.hash,
        t.role,
        t.sender_id,
        kinds.join(","),
        t.municipality,
        t.team,
        micros(t.created_at)
    ])?;
    Ok(())
}

pub fn token_by_hash(conn: &Connection, hash: &str) -> anyhow::Result<Option<TokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([hash], token_row).optional()?)
}

pub fn tokens(conn: &Connection) -> anyhow::Result<Vec<TokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([], token_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn revoke_token(conn: &Connection, id: &str, at: Timestamp) -> anyhow::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, micros(at)])?;
    Ok(changed == 1)
}

pub fn key_check(conn: &Connection, value: &str) -> anyhow::Result<KeyCheck> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |row| row.get(0))
        .optional()?;
    Ok(match stored {
        Some(stored) if stored == value => KeyCheck::Matches,
        Some(_) => KeyCheck::Mismatch,
        None => {
            conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?1)", [value])?;
            KeyCheck::FirstUse
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A citizen's cases are read in one search, the one of the municipality apart from the
    /// others (citizen cases only, ascending), and SQLite keeps the statement prepared whatever
    /// the hash bound.
    #[test]
    fn a_subjects_cases_are_read_in_one_search() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::migrate(&conn).unwrap();
        let hash = [7u8; 16];
        for (id, municipality, kind) in [(3, "751", "citizen"), (1, "101", "citizen"), (2, "147", "citizen")] {
            conn.execute(
                "INSERT INTO cases VALUES (?1, ?2, ?3, ?4, ?5, NULL, 5, 6)",
                params![id, format!("K-2026-00000{id}"), municipality, kind, hash],
            )
            .unwrap();
        }
        let (here, others) = subject_cases(&conn, &hash, |_, place| place != "751").unwrap();
        assert_eq!(here, Some((3, "K-2026-000003".to_owned())));
        assert_eq!(others, vec![1, 2]);
        let (here, others) = subject_cases(&conn, &hash, |id, _| id != 2).unwrap();
        assert_eq!((here.map(|(id, _)| id), others), (Some(2), vec![1, 3]));
        assert_eq!(subject_cases(&conn, &[8; 16], |_, _| true).unwrap(), (None, Vec::new()));
        let statement = conn
            .prepare_cached("SELECT id, case_ref, municipality, subject_kind FROM cases WHERE subject_hash = ?1")
            .unwrap();
        assert!(statement.get_status(StatementStatus::VmStep) > 0);
        assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
    }
}
