//! Housing offers as a CSV batch (`POST /v1/housing-offers/batch`, `indgang import`): the
//! allocation office's export, read by the `indgang-boligtildeling` adapter. Each row is
//! accepted or rejected on its own, with its row number and every reason; the answer lists
//! every row's outcome. Rows carry stable message ids, so the same file sent twice files
//! nothing twice (the second time every row is a `duplicate`).

use super::{Filed, Intake, Rejection, body, file, read};
use crate::access::Sender;
use crate::api::receipts::ReceiptBody;
use crate::domain::Kind;
use crate::problem::Problem;
use crate::validation::Violation;
use actix_web::{HttpRequest, HttpResponse, web};
use body::Format;
use serde::Serialize;

/// One row's outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowAnswer {
    /// The row's line in the file, as a person counts lines (the header is line 1).
    pub row: usize,
    /// `accepted`, `duplicate` (sent before; the earlier receipt) or `rejected`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptBody>,
    /// Why the row was rejected: every fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub rows: Vec<RowAnswer>,
}

/// A CSV fault as a violation at its line (the column's name goes into the message).
pub fn csv_violation(fault: indgang_boligtildeling::Fault, line: Option<usize>) -> Violation {
    Violation {
        pointer: String::new(),
        rule: "csv".to_owned(),
        message: match &fault.column {
            Some(column) => format!("{column}: {}", fault.message),
            None => fault.message,
        },
        line: line.and_then(|r| u32::try_from(r).ok()),
        column: None,
    }
}

/// File-level faults of a CSV batch (no header, unknown columns …).
fn file_faults(faults: Vec<indgang_boligtildeling::Fault>) -> Problem {
    Problem::invalid(
        faults
            .into_iter()
            .map(|f| {
                let line = f.row;
                csv_violation(f, line)
            })
            .collect(),
    )
}

/// Parses a CSV batch for `sender_id`; file-level faults are a 422 with every fault.
pub fn parse(bytes: &[u8], sender_id: &str) -> Result<Vec<indgang_boligtildeling::Row>, Problem> {
    let sender = indgang_boligtildeling::Sender {
        id: sender_id.to_owned(),
        name: sender_id.to_owned(),
    };
    indgang_boligtildeling::parse_batch(bytes, &sender).map_err(file_faults)
}

/// Rows of a batch filed at the same time. The store commits them in groups either way; all rows
/// at once put thousands of jobs in the writer's queue ahead of every submission that came
/// meanwhile, and 32 at a time still took so much of the writer that the p99 of 2,000
/// submissions/s went from 36 to 135 ms while 10,000 rows were filed (8: 55 → 51 ms, the batch
/// 12 s instead of 7; docs/benchmarks.md).
const FILED_AT_ONCE: usize = 8;

/// Files every row that the adapter could read, `FILED_AT_ONCE` at a time, and answers for every
/// row in file order.
pub async fn file_batch(intake: &Intake, sender_id: &str, rows: Vec<indgang_boligtildeling::Row>) -> BatchAnswer {
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let tasks = rows.by_ref().take(FILED_AT_ONCE).map(|row| async move {
            let outcome = match row.result {
                Ok(document) => file(Kind::HousingOffer, sender_id, document, intake).await,
                Err(faults) => Err((
                    "invalid",
                    Problem::invalid(faults.into_iter().map(|f| csv_violation(f, Some(row.row))).collect()),
                )),
            };
            (row.row, outcome)
        });
        outcomes.extend(futures_util::future::join_all(tasks).await);
    }
    let mut answer = BatchAnswer {
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        rows: Vec::with_capacity(outcomes.len()),
    };
    for (row, outcome) in outcomes {
        answer.rows.push(match outcome {
            Ok(Filed::Accepted(receipt)) => {
                answer.accepted += 1;
                RowAnswer {
                    row,
                    status: "accepted",
                    receipt: Some(ReceiptBody::from(receipt)),
                    problem: None,
                }
            }
            Ok(Filed::Duplicate(receipt)) => {
                answer.duplicates += 1;
                RowAnswer {
                    row,
                    status: "duplicate",
                    receipt: Some(ReceiptBody::from(receipt)),
                    problem: None,
                }
            }
            Err((reason, problem)) => {
                answer.rejected += 1;
                intake.metrics.intake(Kind::HousingOffer.as_str(), "rejected", reason);
                RowAnswer {
                    row,
                    status: "rejected",
                    receipt: None,
                    problem: Some(problem),
                }
            }
        });
    }
    answer
}

/// Submit the housing allocation office's CSV export: every row is filed or rejected on its own.
#[utoipa::path(post, path = "/v1/housing-offers/batch", tag = "intake",
    request_body(content = String, content_type = "text/csv", description = "Semicolon-separated, a header row; adapters/boligtildeling/README.md"),
    responses(
        (status = 200, description = "Every row's outcome", body = BatchAnswer),
        (status = 400, description = "The body could not be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a sender token that may send housing offers", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over limits.max_batch_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not text/csv", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file cannot be read as a batch (header, columns, encoding)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn submit_housing_offer_batch(
    req: HttpRequest,
    payload: web::Payload,
    sender: Result<Sender, Problem>,
    intake: web::Data<Intake>,
) -> HttpResponse {
    let sender = match super::admitted(sender, Kind::HousingOffer, &intake) {
        Ok(sender) => sender,
        Err(problem) => return problem.response(),
    };
    let principal = &sender.principal;
    let result: Result<(BatchAnswer, Vec<u8>), Rejection> = async {
        let sender_id = sender
            .may_submit(Kind::HousingOffer)
            .map_err(|p| ("kind_not_allowed", p))?
            .to_owned();
        body::format(&req, &[Format::Csv]).map_err(|p| ("content_type", p))?;
        let bytes = read(&req, payload, intake.limits.max_batch_bytes).await?;
        // Parsing, checking and answering for 10,000 rows is long work: apart from the HTTP
        // worker, whose other requests would wait for it.
        let intake = intake.clone();
        crate::apart::apart(async move {
            let rows = parse(&bytes, &sender_id).map_err(|p| ("invalid_csv", p))?;
            let mut answer = file_batch(&intake, &sender_id, rows).await;
            let body = serde_json::to_vec(&answer).map_err(|e| ("internal", crate::problem::internal(e.into())))?;
            answer.rows.clear();
            Ok((answer, body))
        })
        .await
        .map_err(|e| ("internal", crate::problem::internal(e)))?
    }
    .await;
    match result {
        Ok((answer, body)) => {
            tracing::info!(
                token = principal.token_id(),
                accepted = answer.accepted,
                duplicates = answer.duplicates,
                rejected = answer.rejected,
                "housing-offer batch filed"
            );
            HttpResponse::Ok().content_type("application/json").body(body)
        }
        Err((reason, problem)) => {
            intake.metrics.intake(Kind::HousingOffer.as_str(), "rejected", reason);
            tracing::warn!(
                token = principal.token_id(),
                status = problem.status,
                reason,
                "housing-offer batch refused"
            );
            problem.response()
        }
    }
}
