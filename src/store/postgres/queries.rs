//! The SQL of messages, receipts, cases, tokens and the key check on PostgreSQL. Functions run
//! inside whatever transaction the caller holds.

use super::sql::{at, exec, micros, one, opt, rows};
use crate::domain::{CaseRef, Kind, copenhagen_date};
use crate::store::{
    CaseFilter, CaseRecord, CaseSummary, KeyCheck, MessageRecord, NewMessage, Receipt, SubjectKind, SubmitOutcome,
    TokenRecord,
};
use anyhow::Context;
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;

pub fn kind_of(text: &str) -> anyhow::Result<Kind> {
    Kind::parse(text).with_context(|| format!("unknown kind {text:?}"))
}

pub fn case_ref_of(text: &str) -> CaseRef {
    CaseRef::parse(text).unwrap_or_else(|| CaseRef::new(0, 0))
}

const RECEIPT_COLUMNS: &str =
    "m.receipt_id, c.case_ref, m.kind, m.sender_id, m.message_id, c.municipality, m.received_at, m.warnings";

fn receipt_row(row: &Row) -> anyhow::Result<Receipt> {
    let warnings: String = row.try_get(7)?;
    Ok(Receipt {
        receipt_id: row.try_get(0)?,
        case_ref: case_ref_of(row.try_get(1)?),
        kind: kind_of(row.try_get(2)?)?,
        sender_id: row.try_get(3)?,
        message_id: row.try_get(4)?,
        municipality: row.try_get(5)?,
        received_at: at(row, 6)?,
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        deliveries: Vec::new(),
    })
}

pub async fn file_message<C: GenericClient>(conn: &C, m: &NewMessage) -> anyhow::Result<SubmitOutcome> {
    let existing = opt(
        conn,
        "SELECT receipt_id, content_hash FROM messages WHERE sender_id = $1 AND message_id = $2",
        &[&m.sender_id, &m.message_id],
    )
    .await?;
    if let Some(row) = existing {
        let receipt_id: String = row.try_get(0)?;
        let content_hash: Vec<u8> = row.try_get(1)?;
        if content_hash != m.content_hash {
            return Ok(SubmitOutcome::Conflict {
                existing_receipt_id: receipt_id,
            });
        }
        let receipt = receipt(conn, &receipt_id)
            .await?
            .context("the earlier receipt has vanished")?;
        return Ok(SubmitOutcome::Duplicate(receipt));
    }

    let at = micros(m.received_at);
    let municipality = m.municipality.to_string();
    let earlier_offer = match (m.subject.kind, m.offer_hash) {
        (SubjectKind::VacantDwelling, Some(offer)) => opt(
            conn,
            "SELECT c.id, c.case_ref FROM messages m JOIN cases c ON c.id = m.case_id
             WHERE m.offer_hash = $1 AND c.municipality = $2 ORDER BY m.id DESC LIMIT 1",
            &[&offer.as_slice(), &municipality],
        )
        .await?
        .map(|row| Ok::<_, anyhow::Error>((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?)))
        .transpose()?,
        _ => None,
    };
    let case = match earlier_offer {
        Some(case) => Some(case),
        None => opt(
            conn,
            "SELECT id, case_ref FROM cases WHERE municipality = $1 AND subject_hash = $2",
            &[&municipality, &m.subject.match_hash.as_slice()],
        )
        .await?
        .map(|row| Ok::<_, anyhow::Error>((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?)))
        .transpose()?,
    };
    let new_case = case.is_none();
    let (case_id, case_ref) = match case {
        Some((id, case_ref)) => {
            exec(
                conn,
                "UPDATE cases SET updated_at = GREATEST(updated_at, $2) WHERE id = $1",
                &[&id, &at],
            )
            .await?;
            (
                id,
                CaseRef::parse(&case_ref).context("a stored case reference is malformed")?,
            )
        }
        None => {
            // Another instance may open cases at the same time: the number comes from the
            // sequence. Two opening the same citizen's case at once collide on the unique key,
            // and the loser's transaction runs again and finds the winner's case.
            let id: i64 = one(conn, "SELECT nextval('case_numbers')", &[]).await?.try_get(0)?;
            let case_ref = CaseRef::new(copenhagen_date(m.received_at).year(), id);
            exec(
                conn,
                "INSERT INTO cases (id, case_ref, municipality, subject_kind, subject_hash, cpr_sealed, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                &[
                    &id,
                    &case_ref.as_str(),
                    &municipality,
                    &m.subject.kind.as_str(),
                    &m.subject.match_hash.as_slice(),
                    &m.subject.cpr_sealed,
                    &at,
                ],
            )
            .await?;
            (id, case_ref)
        }
    };
    let warnings = serde_json::to_string(&m.warnings)?;
    let offer_hash = m.offer_hash.as_ref().map(|h| h.as_slice());
    let message: i64 = one(
        conn,
        "INSERT INTO messages (receipt_id, kind, sender_id, message_id, content_hash, offer_hash, case_id, received_at, body_sealed, summary, warnings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        &[
            &m.receipt_id,
            &m.kind.as_str(),
            &m.sender_id,
            &m.message_id,
            &m.content_hash.as_slice(),
            &offer_hash,
            &case_id,
            &at,
            &m.body_sealed,
            &m.summary,
            &warnings,
        ],
    )
    .await?
    .try_get(0)?;
    let deliveries = super::deliveries::insert(conn, m, message, case_id, &case_ref).await?;
    super::deadlines::apply(
        conn,
        &m.deadlines,
        message,
        case_id,
        new_case,
        &m.receipt_id,
        m.received_at,
    )
    .await?;
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

pub async fn receipt<C: GenericClient>(conn: &C, receipt_id: &str) -> anyhow::Result<Option<Receipt>> {
    let sql =
        format!("SELECT {RECEIPT_COLUMNS} FROM messages m JOIN cases c ON c.id = m.case_id WHERE m.receipt_id = $1");
    let Some(row) = opt(conn, &sql, &[&receipt_id]).await? else {
        return Ok(None);
    };
    let mut receipt = receipt_row(&row)?;
    receipt.deliveries = super::deliveries::of_receipt(conn, receipt_id).await?;
    Ok(Some(receipt))
}

pub async fn case<C: GenericClient>(conn: &C, case_ref: &CaseRef) -> anyhow::Result<Option<CaseRecord>> {
    let Some(head) = opt(
        conn,
        "SELECT id, municipality, subject_kind, cpr_sealed, created_at FROM cases WHERE id = $1 AND case_ref = $2",
        &[&case_ref.number(), &case_ref.as_str()],
    )
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = head.try_get(0)?;
    let sql = format!(
        "SELECT {RECEIPT_COLUMNS}, m.body_sealed, m.summary FROM messages m JOIN cases c ON c.id = m.case_id
         WHERE m.case_id = $1 ORDER BY m.id"
    );
    let mut messages = Vec::new();
    for row in rows(conn, &sql, &[&id]).await? {
        let summary: String = row.try_get(9)?;
        let receipt = receipt_row(&row)?;
        messages.push(MessageRecord {
            receipt,
            body_sealed: row.try_get(8)?,
            summary: serde_json::from_str(&summary).unwrap_or_default(),
        });
    }
    crate::store::hand_out_deliveries(&mut messages, super::deliveries::of_case(conn, id).await?);
    Ok(Some(CaseRecord {
        case_ref: case_ref.clone(),
        municipality: head.try_get(1)?,
        subject_kind: head.try_get(2)?,
        cpr_sealed: head.try_get(3)?,
        opened_at: at(&head, 4)?,
        messages,
        deadlines: super::deadlines::for_case(conn, id).await?,
    }))
}

pub async fn cases<C: GenericClient>(conn: &C, filter: &CaseFilter) -> anyhow::Result<Vec<CaseSummary>> {
    let subject = filter.subject.as_ref().map(|h| h.as_slice());
    let rows = rows(
        conn,
        "SELECT c.case_ref, c.municipality, c.subject_kind, c.created_at, c.updated_at, COUNT(m.id),
                string_agg(DISTINCT m.kind, ',')
         FROM cases c JOIN messages m ON m.case_id = c.id
         WHERE c.municipality = $1
           AND ($2::bigint IS NULL OR c.updated_at >= $2)
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM messages k WHERE k.case_id = c.id AND k.kind = $3))
           AND ($5::bytea IS NULL OR c.subject_hash = $5)
         GROUP BY c.id
         ORDER BY c.updated_at DESC, c.id DESC
         LIMIT $4",
        &[
            &filter.municipality,
            &filter.since.map(micros),
            &filter.kind.map(Kind::as_str),
            &i64::from(filter.limit),
            &subject,
        ],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let kinds: String = row.try_get(6)?;
            Ok(CaseSummary {
                case_ref: case_ref_of(row.try_get(0)?),
                municipality: row.try_get(1)?,
                subject_kind: row.try_get(2)?,
                opened_at: at(row, 3)?,
                last_message_at: at(row, 4)?,
                message_count: row.try_get(5)?,
                kinds: kinds.split(',').filter_map(Kind::parse).collect(),
            })
        })
        .collect()
}

const TOKEN_COLUMNS: &str = "id, hash, role, sender_id, kinds, municipality, team, created_at, revoked_at";

fn token_row(row: &Row) -> anyhow::Result<TokenRecord> {
    let kinds: String = row.try_get(4)?;
    Ok(TokenRecord {
        id: row.try_get(0)?,
        hash: row.try_get(1)?,
        role: row.try_get(2)?,
        sender_id: row.try_get(3)?,
        kinds: kinds.split(',').filter_map(Kind::parse).collect(),
        municipality: row.try_get(5)?,
        team: row.try_get(6)?,
        created_at: at(row, 7)?,
        revoked_at: super::sql::at_opt(row, 8)?,
    })
}

pub async fn insert_token<C: GenericClient>(conn: &C, t: &TokenRecord) -> anyhow::Result<()> {
    let kinds: Vec<&str> = t.kinds.iter().map(|k| k.as_str()).collect();
    exec(
        conn,
        "INSERT INTO tokens (id, hash, role, sender_id, kinds, municipality, team, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &t.id,
            &t.hash,
            &t.role,
            &t.sender_id,
            &kinds.join(","),
            &t.municipality,
            &t.team,
            &micros(t.created_at),
        ],
    )
    .await?;
    Ok(())
}

pub async fn token_by_hash<C: GenericClient>(conn: &C, hash: &str) -> anyhow::Result<Option<TokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1");
    opt(conn, &sql, &[&hash]).await?.as_ref().map(token_row).transpose()
}

pub async fn tokens<C: GenericClient>(conn: &C) -> anyhow::Result<Vec<TokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id COLLATE \"C\"");
    rows(conn, &sql, &[]).await?.iter().map(token_row).collect()
}

pub async fn revoke_token<C: GenericClient>(conn: &C, id: &str, at: Timestamp) -> anyhow::Result<bool> {
    let changed = exec(
        conn,
        "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &micros(at)],
    )
    .await?;
    Ok(changed == 1)
}

pub async fn key_check<C: GenericClient>(conn: &C, value: &str) -> anyhow::Result<KeyCheck> {
    let stored: Option<String> = opt(conn, "SELECT value FROM meta WHERE key = 'key_check'", &[])
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    Ok(match stored {
        Some(stored) if stored == value => KeyCheck::Matches,
        Some(_) => KeyCheck::Mismatch,
        None => {
            exec(
                conn,
                "INSERT INTO meta (key, value) VALUES ('key_check', $1)",
                &[&value],
            )
            .await?;
            KeyCheck::FirstUse
        }
    })
}
