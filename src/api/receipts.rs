use crate::access::ReceiptReader;
use crate::domain::Kind;
use crate::problem::{Problem, internal, kinds};
use crate::store::{Receipt, Store};
use crate::validation::Warning;
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// The answer to an accepted message. It holds no personal data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptBody {
    pub receipt_id: String,
    /// The case the message was filed on, e.g. `K-2026-000123`.
    #[schema(value_type = String, example = "K-2026-000123")]
    pub case_ref: crate::domain::CaseRef,
    pub kind: Kind,
    pub message_id: String,
    pub sender_id: String,
    pub municipality: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub warnings: Vec<Warning>,
    /// Every destination the message goes to, and how far it got.
    pub deliveries: Vec<super::deliveries::DeliveryBody>,
}

impl From<Receipt> for ReceiptBody {
    fn from(r: Receipt) -> Self {
        ReceiptBody {
            receipt_id: r.receipt_id,
            case_ref: r.case_ref,
            kind: r.kind,
            message_id: r.message_id,
            sender_id: r.sender_id,
            municipality: r.municipality,
            received_at: r.received_at.to_string(),
            warnings: r.warnings,
            deliveries: r.deliveries.iter().map(super::deliveries::DeliveryBody::from).collect(),
        }
    }
}

/// A receipt: for the sender that sent the message, or a caseworker of its municipality.
#[utoipa::path(get, path = "/v1/receipts/{receipt_id}", tag = "intake",
    params(("receipt_id" = String, Path, description = "From the 202 answer")),
    responses(
        (status = 200, body = ReceiptBody),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such receipt visible to these credentials", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_receipt(
    path: web::Path<String>,
    reader: ReceiptReader,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, Problem> {
    let receipt = store.receipt(&path).await.map_err(internal)?;
    let visible = receipt.filter(|r| reader.may_read(r));
    match visible {
        Some(receipt) => Ok(HttpResponse::Ok().json(ReceiptBody::from(receipt))),
        None => Err(Problem::new(
            kinds::NOT_FOUND,
            "no such receipt for these credentials".to_owned(),
        )),
    }
}
