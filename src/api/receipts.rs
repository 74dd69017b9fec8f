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

/// The JSON of a receipt's answer: the bytes `serde_json` writes for its [`ReceiptBody`],
/// written from the receipt where it lies. `ReceiptBody` copies every string of the receipt and
/// of each delivery only to be serialised once, and `serde_json` looks at every byte of every
/// string through its escape table; this borrows the strings and copies those with nothing to
/// escape as they are (`json::write_string`, as the canonical form is written), into a buffer
/// sized for a whole receipt. `ReceiptBody` stays the documented shape; a test holds the two to
/// the same bytes.
pub fn receipt_json(r: &Receipt) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    member(&mut out, b"{\"receipt_id\":", &r.receipt_id);
    member(&mut out, b",\"case_ref\":", r.case_ref.as_str());
    out.extend_from_slice(b",\"kind\":");
    serde_json::to_writer(&mut out, &r.kind).expect("writing to a Vec");
    member(&mut out, b",\"message_id\":", &r.message_id);
    member(&mut out, b",\"sender_id\":", &r.sender_id);
    member(&mut out, b",\"municipality\":", &r.municipality);
    out.extend_from_slice(b",\"received_at\":");
    write_timestamp(&mut out, r.received_at);
    out.extend_from_slice(b",\"warnings\":[");
    for (i, w) in r.warnings.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        member(&mut out, b"{\"code\":", &w.code);
        member(&mut out, b",\"pointer\":", &w.pointer);
        member(&mut out, b",\"message\":", &w.message);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"deliveries\":[");
    for (i, d) in r.deliveries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_delivery(&mut out, d);
    }
    out.extend_from_slice(b"]}");
    out
}

/// A delivery as `DeliveryBody` serialises: its members in its order, the absent ones left out.
fn write_delivery(out: &mut Vec<u8>, d: &crate::store::DeliveryRecord) {
    use crate::validation::json::write_string;
    member(out, b"{\"delivery_id\":", &d.delivery_id);
    member(out, b",\"destination\":", &d.destination);
    out.extend_from_slice(b",\"state\":");
    serde_json::to_writer(&mut *out, &d.state).expect("writing to a Vec");
    out.extend_from_slice(b",\"attempts\":");
    serde_json::to_writer(&mut *out, &d.attempts).expect("writing to a Vec");
    if let Some(at) = d.next_attempt_at {
        out.extend_from_slice(b",\"next_attempt_at\":");
        write_timestamp(out, at);
    }
    if let Some(at) = d.finished_at {
        out.extend_from_slice(b",\"finished_at\":");
        write_timestamp(out, at);
    }
    if let Some(status) = d.last_status {
        out.extend_from_slice(b",\"last_status\":");
        serde_json::to_writer(&mut *out, &status).expect("writing to a Vec");
    }
    if let Some(error) = &d.last_error {
        member(out, b",\"last_error\":", error);
    }
    if let Some(reason) = &d.dead_reason {
        member(out, b",\"dead_reason\":", reason);
    }
    out.extend_from_slice(b",\"routes\":[");
    for (i, route) in d.routes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, route);
    }
    out.extend_from_slice(b"]}");
}

/// A member with a string value: `head` (its name, with the comma or brace before it), then the
/// string as JSON.
fn member(out: &mut Vec<u8>, head: &[u8], value: &str) {
    out.extend_from_slice(head);
    crate::validation::json::write_string(out, value);
}

/// A timestamp as the string its `Display` gives (RFC 3339: digits, `-`, `:`, `.`, `T` and `Z`,
/// nothing to escape), without making a `String` of it first.
fn write_timestamp(out: &mut Vec<u8>, at: jiff::Timestamp) {
    use std::io::Write;
    write!(out, "\"{at}\"").expect("writing to a Vec");
}

/// An answer of a receipt as JSON (`receipt_json`), with the content type `.json()` gives.
pub fn receipt_answer(mut builder: actix_web::HttpResponseBuilder, receipt: &Receipt) -> HttpResponse {
    builder
        .content_type(actix_web::http::header::ContentType::json())
        .body(receipt_json(receipt))
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
        Some(receipt) => Ok(receipt_answer(HttpResponse::Ok(), &receipt)),
        None => Err(Problem::new(
            kinds::NOT_FOUND,
            "no such receipt for these credentials".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CaseRef;
    use crate::store::{About, DeliveryRecord, DeliveryState};

    fn delivery(n: i64, state: DeliveryState, done: bool) -> DeliveryRecord {
        let at: jiff::Timestamp = "2026-12-03T19:04:05.123456789Z".parse().unwrap();
        DeliveryRecord {
            delivery_id: format!("dlv_{n}"),
            destination: if n == 0 {
                "mail:team-\"aarhus\"".to_owned()
            } else {
                format!("dest-{n}")
            },
            routes: (0..n).map(|i| format!("route-{i}")).collect(),
            state,
            attempts: n,
            next_attempt_at: (!done).then_some(at),
            created_at: at,
            finished_at: done.then_some(at),
            last_status: done.then_some(503),
            last_error: done.then(|| "refused: \u{1}\\ \"x\" æøå".to_owned()),
            dead_reason: (state == DeliveryState::Dead).then(|| "gave up".to_owned()),
            purpose: "message".to_owned(),
            about: Some(About {
                receipt_id: "r".to_owned(),
                case_ref: CaseRef::new(2026, 1),
                kind: Kind::ReleaseNotice,
            }),
        }
    }

    /// The answer written from the receipt is, byte for byte, what `ReceiptBody` serialises to:
    /// with and without warnings and deliveries, every optional member present and absent, and
    /// texts that need escapes.
    #[test]
    fn the_receipt_json_is_the_receipt_body_serialised() {
        let receipt = Receipt {
            receipt_id: "rcpt_0193a1b2-c3d4".to_owned(),
            case_ref: CaseRef::new(2026, 123),
            kind: Kind::ReleaseNotice,
            sender_id: "kif-load".to_owned(),
            message_id: "msg \"1\"\n".to_owned(),
            municipality: "0751".to_owned(),
            received_at: "2026-12-03T19:04:05.5Z".parse().unwrap(),
            warnings: vec![Warning {
                code: "late_notice".to_owned(),
                pointer: "/release/expected_date".to_owned(),
                message: "the release is in 3 days <soon> & \"close\"".to_owned(),
            }],
            deliveries: vec![
                delivery(0, DeliveryState::Pending, false),
                delivery(2, DeliveryState::Delivered, true),
                delivery(1, DeliveryState::Dead, true),
                delivery(3, DeliveryState::Retrying, false),
            ],
        };
        let bare = Receipt {
            warnings: Vec::new(),
            deliveries: Vec::new(),
            ..receipt.clone()
        };
        for receipt in [receipt, bare] {
            let expected = serde_json::to_vec(&ReceiptBody::from(receipt.clone())).unwrap();
            assert_eq!(
                String::from_utf8(receipt_json(&receipt)).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }
}
