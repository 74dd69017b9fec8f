//! The three submit endpoints. Order of checks, each with its own answer: credentials (401), the
//! token's kinds (403), content type (415), size (413), JSON syntax (400), `sender.id` against
//! the token (403), schema and domain rules (422, every fault), then filing (202, or 200 for a
//! repeat, 409 for a reused id with other content). A rejected message stores nothing; the
//! rejection is counted and logged without personal data.

pub mod batch;
mod body;
pub mod filing;

pub use batch::{BatchAnswer, RowAnswer, file_batch};
use body::Format;

use crate::access::Sender;
use crate::api::receipts::ReceiptBody;
use crate::clock::Clock;
use crate::config::LimitSettings;
use crate::domain::Kind;
use crate::metrics::Metrics;
use crate::problem::{Problem, kinds};
use crate::store::{Store, SubmitOutcome};
use crate::validation::Validator;
use crate::vault::Vault;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// Everything a submission needs, built once at start-up.
pub struct Intake {
    pub store: std::sync::Arc<dyn Store>,
    pub validator: Validator,
    pub vault: std::sync::Arc<Vault>,
    pub metrics: std::sync::Arc<Metrics>,
    pub clock: Clock,
    pub limits: LimitSettings,
    pub router: crate::routing::Router,
    pub policies: crate::deadlines::Policies,
    /// The worker to wake when a message was filed (`None` outside a running gateway: it finds
    /// the deliveries at its next poll).
    pub delivery: Option<std::sync::Arc<crate::delivery::Delivery>>,
    /// How long an alert to a team waits for others to the same address (`alerts.group_window`).
    pub alert_delay: jiff::SignedDuration,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/release-notices", web::post().to(submit_release_notice))
        .route("/v1/housing-offers", web::post().to(submit_housing_offer))
        .route("/v1/jobcenter-messages", web::post().to(submit_jobcenter_message))
        .route(
            "/v1/housing-offers/batch",
            web::post().to(batch::submit_housing_offer_batch),
        );
}

/// One submit endpoint per kind: the same handler and the same documented answers; the media
/// types of the request body are each kind's (those `handle` allows).
macro_rules! submit_endpoint {
    ($name:ident, $kind:expr, $path:literal, $summary:literal, request_body($($request:tt)*)) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "intake",
            request_body($($request)*),
            responses(
                (status = 202, description = "Accepted and durably filed: the receipt, as XML when `Accept` prefers `application/xml` or `text/xml`", headers(("Location" = String, description = "URL of the receipt")),
                    content((ReceiptBody = "application/json"), (String = "application/xml"))),
                (status = 200, description = "The same message was accepted before: its original receipt", headers(("Location" = String, description = "URL of the receipt")),
                    content((ReceiptBody = "application/json"), (String = "application/xml"))),
                (status = 400, description = "Malformed JSON, or a body that could not be read", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "Missing, unknown or revoked token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "The token may not send this kind or this sender.id", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "The message id was used before for different content", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "The body is over limits.max_body_bytes", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "A Content-Type this endpoint does not take", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Schema or domain-rule violations, or faults in the partner's XML (with line and column), every one listed", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "Nothing filed: the disk takes no writes now, or the gateway is stopping; send again after Retry-After", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds"))),
            ),
            security(("bearer" = [])))]
        pub async fn $name(
            req: HttpRequest,
            payload: web::Payload,
            sender: Result<Sender, Problem>,
            intake: web::Data<Intake>,
        ) -> HttpResponse {
            submit($kind, req, payload, sender, intake).await
        }
    };
}

submit_endpoint!(
    submit_release_notice,
    Kind::ReleaseNotice,
    "/v1/release-notices",
    "Submit a release notice from Kriminalforsorgen.",
    request_body(
        description = "A release notice: the JSON of schemas/release-notice.v1.json, or Kriminalforsorgen's XML (schemas/xml/release-notice.v1.xsd; adapters/kriminalforsorgen/README.md)",
        content(
            (Object = "application/json"),
            (String = "application/xml"),
            (String = "text/xml"),
        )
    )
);
submit_endpoint!(
    submit_housing_offer,
    Kind::HousingOffer,
    "/v1/housing-offers",
    "Submit a housing offer from the housing allocation office.",
    request_body(
        description = "A housing offer: the JSON of schemas/housing-offer.v1.json",
        content((Object = "application/json"))
    )
);
submit_endpoint!(
    submit_jobcenter_message,
    Kind::JobcenterMessage,
    "/v1/jobcenter-messages",
    "Submit a message from the jobcenter.",
    request_body(
        description = "A jobcenter message: the JSON of schemas/jobcenter-message.v1.json, or an event in KOMBIT's Beskedfordeler envelope (adapters/jobcenter/README.md)",
        content(
            (Object = "application/json"),
            (String = "application/xml"),
            (String = "text/xml"),
        )
    )
);

async fn submit(
    kind: Kind,
    req: HttpRequest,
    payload: web::Payload,
    sender: Result<Sender, Problem>,
    intake: web::Data<Intake>,
) -> HttpResponse {
    let sender = match admitted(sender, kind, &intake) {
        Ok(sender) => sender,
        Err(problem) => return problem.response(),
    };
    let principal = &sender.principal;
    match handle(kind, &req, payload, &sender, &intake).await {
        Ok(response) => response,
        Err((reason, problem)) => {
            intake.metrics.intake(kind.as_str(), "rejected", reason);
            let faults = problem.faults;
            tracing::warn!(
                kind = kind.as_str(),
                token = principal.token_id(),
                status = problem.status,
                reason,
                faults,
                "message rejected"
            );
            problem.response()
        }
    }
}

pub type Rejection = (&'static str, Problem);

async fn handle(
    kind: Kind,
    req: &HttpRequest,
    payload: web::Payload,
    sender: &Sender,
    intake: &Intake,
) -> Result<HttpResponse, Rejection> {
    let sender_id = sender.may_submit(kind).map_err(|p| ("kind_not_allowed", p))?;
    let allowed: &[Format] = match kind {
        Kind::JobcenterMessage | Kind::ReleaseNotice => &[Format::Json, Format::Xml],
        Kind::HousingOffer => &[Format::Json],
    };
    let format = body::format(req, allowed).map_err(|p| ("content_type", p))?;
    let bytes = read(req, payload, intake.limits.max_body_bytes).await?;
    let document = match format {
        Format::Xml => from_xml(kind, &bytes)?,
        _ => body::parse_json(&bytes).map_err(|p| ("malformed_json", p))?,
    };
    let xml_receipt = wants_xml(req);
    let (status, receipt) = match file(kind, sender_id, document, intake).await? {
        Filed::Accepted(receipt) => (HttpResponse::Accepted(), receipt),
        Filed::Duplicate(receipt) => (HttpResponse::Ok(), receipt),
    };
    Ok(if xml_receipt {
        xml_receipt_response(status, receipt)
    } else {
        receipt_response(status, receipt)
    })
}

/// Whether the request's `Accept` asks for XML rather than JSON.
fn wants_xml(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            let xml = accept.find("application/xml").or_else(|| accept.find("text/xml"));
            let json = accept.find("application/json");
            matches!((xml, json), (Some(_), None)) || matches!((xml, json), (Some(x), Some(j)) if x < j)
        })
}

/// The sender (`access::Sender`), or the problem for a request without one: `401` as it is, a
/// `403` (credentials of another role) counted as rejected `not_a_sender`.
pub(crate) fn admitted(sender: Result<Sender, Problem>, kind: Kind, intake: &Intake) -> Result<Sender, Problem> {
    sender.inspect_err(|problem| {
        if problem.status == 403 {
            intake.metrics.intake(kind.as_str(), "rejected", "not_a_sender");
            tracing::warn!(
                kind = kind.as_str(),
                status = 403,
                reason = "not_a_sender",
                "message rejected"
            );
        }
    })
}

async fn read(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<web::BytesMut, Rejection> {
    body::read_limited(req, payload, limit).await.map_err(|p| {
        let reason = if p.status == 413 {
            "too_large"
        } else {
            "unreadable_body"
        };
        (reason, p)
    })
}

fn from_xml(kind: Kind, bytes: &[u8]) -> Result<serde_json::Value, Rejection> {
    xml_to_canonical(kind, bytes).map_err(|faults| ("invalid_xml", Problem::invalid(faults)))
}

/// A partner's XML through the kind's adapter (the gateway and `indgang validate` both use
/// this); its faults carry line and column.
pub fn xml_to_canonical(kind: Kind, bytes: &[u8]) -> Result<serde_json::Value, Vec<crate::validation::Violation>> {
    let at = |line, column, message| crate::validation::Violation::at("xml", line, column, message);
    match kind {
        Kind::JobcenterMessage => indgang_jobcenter::to_canonical(bytes)
            .map_err(|faults| faults.into_iter().map(|f| at(f.line, f.column, f.message)).collect()),
        Kind::ReleaseNotice => indgang_kriminalforsorgen::to_canonical(bytes)
            .map_err(|faults| faults.into_iter().map(|f| at(f.line, f.column, f.message)).collect()),
        Kind::HousingOffer => Err(vec![crate::validation::Violation {
            pointer: String::new(),
            rule: "xml".to_owned(),
            message: "housing offers come as JSON or CSV, not XML".to_owned(),
            line: None,
            column: None,
        }]),
    }
}

/// How a message that was filed came out.
pub enum Filed {
    Accepted(crate::store::Receipt),
    Duplicate(crate::store::Receipt),
}

/// Checks a canonical message from `sender_id` and files it: the sender check (403), the
/// schema and domain rules (422), then the store (409 for a reused id with other content).
pub async fn file(
    kind: Kind,
    sender_id: &str,
    document: serde_json::Value,
    intake: &Intake,
) -> Result<Filed, Rejection> {
    // A well-formed sender.id of another sender is a matter of rights (403); a malformed one is
    // a fault in the message (422, below).
    if let Some(claimed) = crate::validation::member(&document, "/sender/id").and_then(|v| v.as_str())
        && crate::auth::valid_sender_id(claimed)
        && claimed != sender_id
    {
        let detail = format!("this token sends as {sender_id:?}; sender.id says otherwise");
        return Err(("sender_mismatch", Problem::new(kinds::FORBIDDEN, detail)));
    }
    let now = intake.clock.now();
    let checked = intake
        .validator
        .check(kind, document, now)
        .map_err(|v| ("invalid", Problem::invalid(v)))?;

    let message = filing::plan(&intake.router, &intake.policies, intake.alert_delay, &checked, now)
        .and_then(|planned| filing::seal(&intake.vault, checked, planned, now))
        .map_err(|e| ("internal", crate::problem::internal(e)))?;
    // Only a delivery due now (a webhook) needs the worker at once: a team email waits
    // `alerts.group_window`, and the worker's poll finds it then. Each wake costs the writer a
    // claim of its own, which at a steady rate was a second transaction per message.
    let due_now = message.deliveries.iter().any(|d| d.not_before <= now);
    let outcome = intake.store.submit(message).await.map_err(|e| {
        let problem = crate::problem::internal(e);
        (
            if problem.status == 503 {
                "unavailable"
            } else {
                "internal"
            },
            problem,
        )
    })?;
    match outcome {
        SubmitOutcome::Accepted(receipt) => {
            intake.metrics.intake(kind.as_str(), "accepted", "");
            if let Some(delivery) = intake.delivery.as_ref().filter(|_| due_now) {
                delivery.wake();
            }
            tracing::info!(kind = kind.as_str(), sender = %receipt.sender_id, receipt = %receipt.receipt_id, case = %receipt.case_ref, warnings = receipt.warnings.len(), "message accepted");
            Ok(Filed::Accepted(receipt))
        }
        SubmitOutcome::Duplicate(receipt) => {
            intake.metrics.intake(kind.as_str(), "duplicate", "");
            tracing::info!(kind = kind.as_str(), sender = %receipt.sender_id, receipt = %receipt.receipt_id, "repeated message answered with its receipt");
            Ok(Filed::Duplicate(receipt))
        }
        SubmitOutcome::Conflict { existing_receipt_id } => {
            let detail = format!(
                "message_id was accepted before with other content (receipt {existing_receipt_id}); send changes as a new message with its own message_id"
            );
            Err(("conflict", Problem::new(kinds::CONFLICT, detail)))
        }
    }
}

/// The receipt as XML (`urn:indgang:receipt:1`), for partners that send XML and ask for it.
fn xml_receipt_response(mut builder: actix_web::HttpResponseBuilder, receipt: crate::store::Receipt) -> HttpResponse {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<receipt xmlns=\"urn:indgang:receipt:1\">\n");
    for (name, value) in [
        ("receipt_id", receipt.receipt_id.clone()),
        ("case_ref", receipt.case_ref.to_string()),
        ("kind", receipt.kind.as_str().to_owned()),
        ("message_id", receipt.message_id.clone()),
        ("sender_id", receipt.sender_id.clone()),
        ("municipality", receipt.municipality.clone()),
        ("received_at", receipt.received_at.to_string()),
    ] {
        xml.push_str(&format!("  <{name}>{}</{name}>\n", escape(&value)));
    }
    xml.push_str("  <warnings>\n");
    for warning in &receipt.warnings {
        xml.push_str(&format!(
            "    <warning code=\"{}\">{}</warning>\n",
            escape(&warning.code),
            escape(&warning.message)
        ));
    }
    xml.push_str("  </warnings>\n</receipt>\n");
    builder
        .insert_header((header::LOCATION, format!("/v1/receipts/{}", receipt.receipt_id)))
        .content_type("application/xml; charset=utf-8")
        .body(xml)
}

fn receipt_response(mut builder: actix_web::HttpResponseBuilder, receipt: crate::store::Receipt) -> HttpResponse {
    builder.insert_header((header::LOCATION, format!("/v1/receipts/{}", receipt.receipt_id)));
    crate::api::receipts::receipt_answer(builder, &receipt)
}
