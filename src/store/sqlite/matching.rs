//! The SQL of housing needs and of the citizens seeking housing.

use super::deadlines::of_case;
use super::queries::{instant, micros};
use crate::domain::CaseRef;
use crate::store::{
    HousingAnswerRecord, HousingNeeds, HousingNeedsRecord, NewHousingAnswer, NewHousingNeeds, SeekerRow, StateConflict,
    VacantHomeRow,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::HashMap;

const NEEDS_COLUMNS: &str = "dog, cat, step_free, min_rooms, max_rent_dkk, preferred_postcodes, avoided_postcodes";

fn needs_row(row: &Row, at: usize) -> rusqlite::Result<HousingNeeds> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let text: String = row.get(at + i)?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    };
    Ok(HousingNeeds {
        dog: row.get(at)?,
        cat: row.get(at + 1)?,
        step_free: row.get(at + 2)?,
        min_rooms: row.get(at + 3)?,
        max_rent_dkk: row.get(at + 4)?,
        preferred_postcodes: list(5)?,
        avoided_postcodes: list(6)?,
    })
}

/// Records the needs, replacing those before; `None` when the case does not exist.
pub fn put(conn: &Connection, new: &NewHousingNeeds) -> anyhow::Result<Option<HousingNeedsRecord>> {
    let case_id: Option<i64> = conn
        .prepare_cached("SELECT id FROM cases WHERE id = ?1 AND case_ref = ?2")?
        .query_row(params![new.case_ref.number(), new.case_ref.as_str()], |row| row.get(0))
        .optional()?;
    let Some(case_id) = case_id else {
        return Ok(None);
    };
    let n = &new.needs;
    conn.prepare_cached(
        "INSERT INTO housing_needs (case_id, dog, cat, step_free, min_rooms, max_rent_dkk, preferred_postcodes,
             avoided_postcodes, note_sealed, recorded_at, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)
         ON CONFLICT (case_id) DO UPDATE SET dog = excluded.dog, cat = excluded.cat,
             step_free = excluded.step_free, min_rooms = excluded.min_rooms, max_rent_dkk = excluded.max_rent_dkk,
             preferred_postcodes = excluded.preferred_postcodes, avoided_postcodes = excluded.avoided_postcodes,
             note_sealed = excluded.note_sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )?
    .execute(params![
        case_id,
        n.dog,
        n.cat,
        n.step_free,
        n.min_rooms,
        n.max_rent_dkk,
        serde_json::to_string(&n.preferred_postcodes)?,
        serde_json::to_string(&n.avoided_postcodes)?,
        new.note_sealed,
        micros(new.at),
        new.actor,
    ])?;
    one(conn, &new.case_ref)
}

pub fn one(conn: &Connection, case_ref: &CaseRef) -> anyhow::Result<Option<HousingNeedsRecord>> {
    let sql = format!(
        "SELECT {NEEDS_COLUMNS}, n.note_sealed, n.recorded_at, n.updated_at, n.updated_by
         FROM housing_needs n JOIN cases c ON c.id = n.case_id WHERE c.id = ?1 AND c.case_ref = ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![case_ref.number(), case_ref.as_str()], |row| {
            Ok(HousingNeedsRecord {
                needs: needs_row(row, 0)?,
                note_sealed: row.get(7)?,
                recorded_at: instant(row.get(8)?)?,
                updated_at: instant(row.get(9)?)?,
                updated_by: row.get(10)?,
            })
        })
        .optional()?)
}

/// Every citizen case of the municipality that has needs recorded or a release notice, with its
/// notices' summaries and the state of its latest `housing_policy` deadline. Which of them seek
/// housing is the matching module's decision.
pub fn seekers(
    conn: &Connection,
    municipality: &str,
    housing_policy: &str,
    only: Option<i64>,
) -> anyhow::Result<Vec<SeekerRow>> {
    let mut rows: Vec<SeekerRow> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let sql = format!(
        "SELECT c.id, c.case_ref, {NEEDS_COLUMNS}, n.recorded_at
         FROM cases c LEFT JOIN housing_needs n ON n.case_id = c.id
         WHERE c.municipality = ?1 AND c.subject_kind = 'citizen' AND (?2 IS NULL OR c.id = ?2)
           AND (n.case_id IS NOT NULL
                OR EXISTS (SELECT 1 FROM messages m WHERE m.case_id = c.id AND m.kind = 'release-notice'))
         ORDER BY c.id"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut query = statement.query(params![municipality, only])?;
    while let Some(row) = query.next()? {
        let id: i64 = row.get(0)?;
        let case_ref: String = row.get(1)?;
        let Some(case_ref) = CaseRef::parse(&case_ref) else {
            continue;
        };
        let recorded: Option<i64> = row.get(9)?;
        let needs = match recorded {
            Some(_) => Some(needs_row(row, 2)?),
            None => None,
        };
        index.insert(id, rows.len());
        rows.push(SeekerRow {
            case_ref,
            needs,
            needs_recorded_at: recorded.map(instant).transpose()?,
            notices: Vec::new(),
            housing_deadline: None,
        });
    }
    let mut statement = conn.prepare_cached(
        "SELECT m.case_id, m.received_at, m.summary FROM messages m JOIN cases c ON c.id = m.case_id
         WHERE c.municipality = ?1 AND c.subject_kind = 'citizen' AND m.kind = 'release-notice'
           AND (?2 IS NULL OR c.id = ?2)
         ORDER BY m.id",
    )?;
    let mut query = statement.query(params![municipality, only])?;
    while let Some(row) = query.next()? {
        let id: i64 = row.get(0)?;
        if let Some(&i) = index.get(&id) {
            let summary: String = row.get(2)?;
            rows[i].notices.push((
                instant(row.get(1)?)?,
                serde_json::from_str(&summary).unwrap_or_default(),
            ));
        }
    }
    let mut statement = conn.prepare_cached(concat!(
        "SELECT d.case_id, d.state FROM cases c JOIN deadlines d ON ",
        of_case!("d", "c.id"),
        " WHERE c.municipality = ?1 AND c.subject_kind = 'citizen' AND d.policy = ?2
           AND (?3 IS NULL OR c.id = ?3)
         ORDER BY d.id"
    ))?;
    let mut query = statement.query(params![municipality, housing_policy, only])?;
    while let Some(row) = query.next()? {
        let id: i64 = row.get(0)?;
        if let Some(&i) = index.get(&id) {
            rows[i].housing_deadline = Some(row.get(1)?);
        }
    }
    Ok(rows)
}

/// Records the answer on a vacant home and, when it goes somewhere, its delivery, in the caller's
/// transaction. A home answered already is a `StateConflict`; a case that does not exist (or an
/// offer not on it) is an error.
pub fn answer(conn: &Connection, new: &NewHousingAnswer) -> anyhow::Result<HousingAnswerRecord> {
    use base64::Engine;
    let (home_id, message): (i64, i64) = conn
        .prepare_cached(
            "SELECT c.id, m.id FROM cases c JOIN messages m ON m.case_id = c.id
             WHERE c.id = ?1 AND c.case_ref = ?2 AND m.receipt_id = ?3",
        )?
        .query_row(
            params![new.home.number(), new.home.as_str(), new.offer_receipt_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| anyhow::anyhow!("no such offer on {}", new.home))?;
    if let Some(before) = answers(conn, &new.home)?.into_iter().find(|a| a.home == new.home) {
        // The same answer again (a client that lost the reply) is the answer given; another is
        // refused: the allocation office has been told.
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
    let delivery = match &new.delivery {
        Some((destination, sealed)) => {
            let payload = serde_json::json!({
                "sealed": base64::engine::general_purpose::STANDARD.encode(sealed)
            });
            conn.prepare_cached(
                "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at,
                     created_at, purpose, payload)
                 VALUES (?1, ?2, ?3, ?4, '[]', 'pending', ?5, ?5, 'housing-answer', ?6)",
            )?
            .execute(params![
                format!("dlv_{}", uuid::Uuid::now_v7().simple()),
                message,
                home_id,
                destination,
                now,
                payload.to_string(),
            ])?;
            Some(conn.last_insert_rowid())
        }
        None => None,
    };
    conn.prepare_cached(
        "INSERT INTO housing_answers (home_case_id, message, offer_id, answer, citizen_case_id, candidate_rank,
             reason, answered_at, answered_by, delivery)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        home_id,
        message,
        new.offer_id,
        if new.candidate.is_some() { "candidate" } else { "none" },
        new.candidate.as_ref().map(|(c, _)| c.number()),
        new.candidate.as_ref().map(|(_, rank)| rank),
        new.reason,
        now,
        new.actor,
        delivery,
    ])?;
    answers(conn, &new.home)?
        .into_iter()
        .find(|a| a.home == new.home)
        .ok_or_else(|| anyhow::anyhow!("the answer just written is gone"))
}

/// The answers given on this vacant home's case, or naming this citizen's case.
pub fn answers(conn: &Connection, case_ref: &CaseRef) -> anyhow::Result<Vec<HousingAnswerRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT h.case_ref, a.offer_id, c.case_ref, a.candidate_rank, a.reason, a.answered_at, a.answered_by,
                d.delivery_id
         FROM housing_answers a JOIN cases h ON h.id = a.home_case_id
              LEFT JOIN cases c ON c.id = a.citizen_case_id LEFT JOIN deliveries d ON d.id = a.delivery
         WHERE (a.home_case_id = ?1 OR a.citizen_case_id = ?1)
           AND ?2 IN (h.case_ref, c.case_ref)
         ORDER BY a.id",
    )?;
    let rows = statement
        .query_map(params![case_ref.number(), case_ref.as_str()], |row| {
            let home: String = row.get(0)?;
            let candidate: Option<String> = row.get(2)?;
            Ok(HousingAnswerRecord {
                home: CaseRef::parse(&home).unwrap_or_else(|| CaseRef::new(0, 0)),
                offer_id: row.get(1)?,
                candidate: candidate.as_deref().and_then(CaseRef::parse),
                candidate_rank: row.get(3)?,
                reason: row.get(4)?,
                answered_at: instant(row.get(5)?)?,
                answered_by: row.get(6)?,
                delivery_id: row.get(7)?,
                repeated: false,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The vacant homes whose case was opened in `[from, to)`, with their answers.
pub fn vacant_homes(
    conn: &Connection,
    municipality: Option<&str>,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    housing_policy: &str,
) -> anyhow::Result<Vec<VacantHomeRow>> {
    let mut statement = conn.prepare_cached(concat!(
        "SELECT c.municipality, c.created_at,
                (SELECT MAX(d.due_at) FROM deadlines d WHERE ",
        of_case!("d", "c.id"),
        " AND d.policy = 'offer_answer'),
                a.answered_at, a.citizen_case_id IS NOT NULL,
                a.citizen_case_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM deadlines h WHERE ",
        of_case!("h", "a.citizen_case_id"),
        " AND h.policy = ?4 AND h.state = 'met' AND h.outcome = 'housing_offer')
         FROM cases c LEFT JOIN housing_answers a ON a.home_case_id = c.id
         WHERE c.subject_kind = 'vacant_dwelling' AND c.created_at >= ?1 AND c.created_at < ?2
           AND (?3 IS NULL OR c.municipality = ?3)
         ORDER BY c.id"
    ))?;
    let rows = statement
        .query_map(params![micros(from), micros(to), municipality, housing_policy], |row| {
            Ok(VacantHomeRow {
                municipality: row.get(0)?,
                offered_at: instant(row.get(1)?)?,
                answer_due: row.get::<_, Option<i64>>(2)?.map(instant).transpose()?,
                answered_at: row.get::<_, Option<i64>>(3)?.map(instant).transpose()?,
                candidate_named: row.get(4)?,
                accepted: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
