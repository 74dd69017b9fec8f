//! The SQL of housing needs and of the citizens seeking housing on PostgreSQL.

use super::sql::{at, at_opt, micros, opt, rows};
use crate::domain::CaseRef;
use crate::store::{
    HousingAnswerRecord, HousingNeeds, HousingNeedsRecord, NewHousingAnswer, NewHousingNeeds, SeekerRow, StateConflict,
    VacantHomeRow,
};
use deadpool_postgres::GenericClient;
use std::collections::HashMap;
use tokio_postgres::Row;

const NEEDS_COLUMNS: &str = "dog, cat, step_free, min_rooms, max_rent_dkk, preferred_postcodes, avoided_postcodes";

fn count(row: &Row, index: usize) -> anyhow::Result<Option<u32>> {
    Ok(row.try_get::<_, Option<i64>>(index)?.map(u32::try_from).transpose()?)
}

fn needs_row(row: &Row, at: usize) -> anyhow::Result<HousingNeeds> {
    let list = |i: usize| -> anyhow::Result<Vec<String>> {
        let text: &str = row.try_get(at + i)?;
        Ok(serde_json::from_str(text).unwrap_or_default())
    };
    Ok(HousingNeeds {
        dog: row.try_get(at)?,
        cat: row.try_get(at + 1)?,
        step_free: row.try_get(at + 2)?,
        min_rooms: count(row, at + 3)?,
        max_rent_dkk: count(row, at + 4)?,
        preferred_postcodes: list(5)?,
        avoided_postcodes: list(6)?,
    })
}

pub async fn put<C: GenericClient>(conn: &C, new: &NewHousingNeeds) -> anyhow::Result<Option<HousingNeedsRecord>> {
    let case = opt(
        conn,
        "SELECT id FROM cases WHERE id = $1 AND case_ref = $2",
        &[&new.case_ref.number(), &new.case_ref.as_str()],
    )
    .await?;
    let Some(case) = case else {
        return Ok(None);
    };
    let case_id: i64 = case.try_get(0)?;
    let n = &new.needs;
    super::sql::exec(
        conn,
        "INSERT INTO housing_needs (case_id, dog, cat, step_free, min_rooms, max_rent_dkk, preferred_postcodes,
             avoided_postcodes, note_sealed, recorded_at, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
         ON CONFLICT (case_id) DO UPDATE SET dog = excluded.dog, cat = excluded.cat,
             step_free = excluded.step_free, min_rooms = excluded.min_rooms, max_rent_dkk = excluded.max_rent_dkk,
             preferred_postcodes = excluded.preferred_postcodes, avoided_postcodes = excluded.avoided_postcodes,
             note_sealed = excluded.note_sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[
            &case_id,
            &n.dog,
            &n.cat,
            &n.step_free,
            &n.min_rooms.map(i64::from),
            &n.max_rent_dkk.map(i64::from),
            &serde_json::to_string(&n.preferred_postcodes)?,
            &serde_json::to_string(&n.avoided_postcodes)?,
            &new.note_sealed,
            &micros(new.at),
            &new.actor,
        ],
    )
    .await?;
    one(conn, &new.case_ref).await
}

pub async fn one<C: GenericClient>(conn: &C, case_ref: &CaseRef) -> anyhow::Result<Option<HousingNeedsRecord>> {
    let sql = format!(
        "SELECT {NEEDS_COLUMNS}, n.note_sealed, n.recorded_at, n.updated_at, n.updated_by
         FROM housing_needs n JOIN cases c ON c.id = n.case_id WHERE c.id = $1 AND c.case_ref = $2"
    );
    let Some(row) = opt(conn, &sql, &[&case_ref.number(), &case_ref.as_str()]).await? else {
        return Ok(None);
    };
    Ok(Some(HousingNeedsRecord {
        needs: needs_row(&row, 0)?,
        note_sealed: row.try_get(7)?,
        recorded_at: at(&row, 8)?,
        updated_at: at(&row, 9)?,
        updated_by: row.try_get(10)?,
    }))
}

pub async fn seekers<C: GenericClient>(
    conn: &C,
    municipality: &str,
    housing_policy: &str,
    only: Option<i64>,
) -> anyhow::Result<Vec<SeekerRow>> {
    let mut seekers: Vec<SeekerRow> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let sql = format!(
        "SELECT c.id, c.case_ref, {NEEDS_COLUMNS}, n.recorded_at
         FROM cases c LEFT JOIN housing_needs n ON n.case_id = c.id
         WHERE c.municipality = $1 AND c.subject_kind = 'citizen' AND ($2::bigint IS NULL OR c.id = $2)
           AND (n.case_id IS NOT NULL
                OR EXISTS (SELECT 1 FROM messages m WHERE m.case_id = c.id AND m.kind = 'release-notice'))
         ORDER BY c.id"
    );
    for row in rows(conn, &sql, &[&municipality, &only]).await? {
        let id: i64 = row.try_get(0)?;
        let Some(case_ref) = CaseRef::parse(row.try_get(1)?) else {
            continue;
        };
        let recorded = at_opt(&row, 9)?;
        let needs = match recorded {
            Some(_) => Some(needs_row(&row, 2)?),
            None => None,
        };
        index.insert(id, seekers.len());
        seekers.push(SeekerRow {
            case_ref,
            needs,
            needs_recorded_at: recorded,
            notices: Vec::new(),
            housing_deadline: None,
        });
    }
    for row in rows(
        conn,
        "SELECT m.case_id, m.received_at, m.summary FROM messages m JOIN cases c ON c.id = m.case_id
         WHERE c.municipality = $1 AND c.subject_kind = 'citizen' AND m.kind = 'release-notice'
           AND ($2::bigint IS NULL OR c.id = $2)
         ORDER BY m.id",
        &[&municipality, &only],
    )
    .await?
    {
        let id: i64 = row.try_get(0)?;
        if let Some(&i) = index.get(&id) {
            let summary: &str = row.try_get(2)?;
            seekers[i]
                .notices
                .push((at(&row, 1)?, serde_json::from_str(summary).unwrap_or_default()));
        }
    }
    for row in rows(
        conn,
        "SELECT d.case_id, d.state FROM deadlines d JOIN cases c ON c.id = d.case_id
         WHERE c.municipality = $1 AND c.subject_kind = 'citizen' AND d.policy = $2
           AND ($3::bigint IS NULL OR c.id = $3)
         ORDER BY d.id",
        &[&municipality, &housing_policy, &only],
    )
    .await?
    {
        let id: i64 = row.try_get(0)?;
        if let Some(&i) = index.get(&id) {
            seekers[i].housing_deadline = Some(row.try_get(1)?);
        }
    }
    Ok(seekers)
}

/// Records the answer on a vacant home and, when it goes somewhere, its delivery, in the caller's
/// transaction; as SQLite's `matching::answer`.
pub async fn answer<C: GenericClient>(conn: &C, new: &NewHousingAnswer) -> anyhow::Result<HousingAnswerRecord> {
    use base64::Engine;
    let found = opt(
        conn,
        "SELECT c.id, m.id FROM cases c JOIN messages m ON m.case_id = c.id
         WHERE c.id = $1 AND c.case_ref = $2 AND m.receipt_id = $3",
        &[&new.home.number(), &new.home.as_str(), &new.offer_receipt_id],
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("no such offer on {}", new.home))?;
    let (home_id, message): (i64, i64) = (found.try_get(0)?, found.try_get(1)?);
    // The home's row is locked, so that two answers at once are one after the other.
    super::sql::exec(conn, "SELECT id FROM cases WHERE id = $1 FOR UPDATE", &[&home_id]).await?;
    if let Some(before) = answers(conn, &new.home).await?.into_iter().find(|a| a.home == new.home) {
        let candidate = new.candidate.as_ref().map(|(c, _)| c);
        if before.candidate.as_ref() == candidate && before.reason == new.reason {
            return Ok(HousingAnswerRecord {
                repeated: true,
                ..before
            });
        }
        return Err(StateConflict("the vacant home has been answered already".to_owned()).into());
    }
    let now = micros(new.at);
    let delivery: Option<i64> = match &new.delivery {
        Some((destination, sealed)) => {
            let payload = serde_json::json!({
                "sealed": base64::engine::general_purpose::STANDARD.encode(sealed)
            })
            .to_string();
            let row = super::sql::one(
                conn,
                "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at,
                     created_at, purpose, payload)
                 VALUES ($1, $2, $3, $4, '[]', 'pending', $5, $5, 'housing-answer', $6)
                 RETURNING id",
                &[
                    &format!("dlv_{}", uuid::Uuid::now_v7().simple()),
                    &message,
                    &home_id,
                    destination,
                    &now,
                    &payload,
                ],
            )
            .await?;
            Some(row.try_get(0)?)
        }
        None => None,
    };
    super::sql::exec(
        conn,
        "INSERT INTO housing_answers (home_case_id, message, offer_id, answer, citizen_case_id, candidate_rank,
             reason, answered_at, answered_by, delivery)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &home_id,
            &message,
            &new.offer_id,
            &if new.candidate.is_some() { "candidate" } else { "none" },
            &new.candidate.as_ref().map(|(c, _)| c.number()),
            &new.candidate.as_ref().map(|(_, rank)| i64::from(*rank)),
            &new.reason,
            &now,
            &new.actor,
            &delivery,
        ],
    )
    .await?;
    answers(conn, &new.home)
        .await?
        .into_iter()
        .find(|a| a.home == new.home)
        .ok_or_else(|| anyhow::anyhow!("the answer just written is gone"))
}

/// The answers given on this vacant home's case, or naming this citizen's case.
pub async fn answers<C: GenericClient>(conn: &C, case_ref: &CaseRef) -> anyhow::Result<Vec<HousingAnswerRecord>> {
    let found = rows(
        conn,
        "SELECT h.case_ref, a.offer_id, c.case_ref, a.candidate_rank, a.reason, a.answered_at, a.answered_by,
                d.delivery_id
         FROM housing_answers a JOIN cases h ON h.id = a.home_case_id
              LEFT JOIN cases c ON c.id = a.citizen_case_id LEFT JOIN deliveries d ON d.id = a.delivery
         WHERE (a.home_case_id = $1 OR a.citizen_case_id = $1)
           AND $2 IN (h.case_ref, c.case_ref)
         ORDER BY a.id",
        &[&case_ref.number(), &case_ref.as_str()],
    )
    .await?;
    found
        .iter()
        .map(|row| {
            let home: &str = row.try_get(0)?;
            let candidate: Option<&str> = row.try_get(2)?;
            Ok(HousingAnswerRecord {
                home: CaseRef::parse(home).unwrap_or_else(|| CaseRef::new(0, 0)),
                offer_id: row.try_get(1)?,
                candidate: candidate.and_then(CaseRef::parse),
                candidate_rank: count(row, 3)?,
                reason: row.try_get(4)?,
                answered_at: at(row, 5)?,
                answered_by: row.try_get(6)?,
                delivery_id: row.try_get(7)?,
                repeated: false,
            })
        })
        .collect()
}

/// The vacant homes whose case was opened in `[from, to)`, with their answers; as SQLite's.
pub async fn vacant_homes<C: GenericClient>(
    conn: &C,
    municipality: Option<&str>,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    housing_policy: &str,
) -> anyhow::Result<Vec<VacantHomeRow>> {
    let found = rows(
        conn,
        "SELECT c.municipality, c.created_at,
                (SELECT MAX(d.due_at) FROM deadlines d WHERE d.case_id = c.id AND d.policy = 'offer_answer'),
                a.answered_at, a.citizen_case_id IS NOT NULL,
                a.citizen_case_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM deadlines h WHERE h.case_id = a.citizen_case_id AND h.policy = $4
                      AND h.state = 'met' AND h.outcome = 'housing_offer')
         FROM cases c LEFT JOIN housing_answers a ON a.home_case_id = c.id
         WHERE c.subject_kind = 'vacant_dwelling' AND c.created_at >= $1 AND c.created_at < $2
           AND ($3::TEXT IS NULL OR c.municipality = $3)
         ORDER BY c.id",
        &[&micros(from), &micros(to), &municipality, &housing_policy],
    )
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(VacantHomeRow {
                municipality: row.try_get(0)?,
                offered_at: at(row, 1)?,
                answer_due: at_opt(row, 2)?,
                answered_at: at_opt(row, 3)?,
                candidate_named: row.try_get(4)?,
                accepted: row.try_get(5)?,
            })
        })
        .collect()
}
