//! The three submit endpoints. Order of checks, each with its own answer: credentials (401), the
//! token's kinds (403), content type (415), size (413), JSON syntax (400), `sender.id` against
//! the token (403), schema and domain rules (422, every fault), then filing (202, or 200 for a
//! repeat, 409 for a reused id with other content). A rejected message stores nothing; the
//! rejection is counted and logged without personal data.

mod body;

use crate::api::receipts::ReceiptBody;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::config::LimitSettings;
use crate::domain::Kind;
use crate::metrics::Metrics;
use crate::problem::{Problem, kinds};
use crate::store::{NewDelivery, NewMessage, Store, Subject, SubjectKind, SubmitOutcome};
use crate::validation::{self, Validator};
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
    pub delivery: std::sync::Arc<crate::delivery::Delivery>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/release-notices", web::post().to(submit_release_notice))
        .route("/v1/housing-offers", web::post().to(submit_housing_offer))
        .route("/v1/jobcenter-messages", web::post().to(submit_jobcenter_message));
}

/// One submit endpoint per kind: the same handler and the same documented answers.
macro_rules! submit_endpoint {
    ($name:ident, $kind:expr, $path:literal, $summary:literal, $body:literal) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "intake",
            request_body(content = inline(Object), content_type = "application/json", description = $body),
            responses(
                (status = 202, description = "Accepted and durably filed", body = ReceiptBody, headers(("Location" = String, description = "URL of the receipt"))),
                (status = 200, description = "The same message was accepted before; its original receipt", body = ReceiptBody),
                (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "Missing or unknown token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "The token may not send this kind or this sender.id", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "The message id was used before for different content", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "The body is over limits.max_body_bytes", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Schema or domain-rule violations, every one listed", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        pub async fn $name(
            req: HttpRequest,
            payload: web::Payload,
            principal: Principal,
            intake: web::Data<Intake>,
        ) -> HttpResponse {
            submit($kind, req, payload, principal, intake).await
        }
    };
}

submit_endpoint!(
    submit_release_notice,
    Kind::ReleaseNotice,
    "/v1/release-notices",
    "Submit a release notice from Kriminalforsorgen.",
    "A release notice: schemas/release-notice.v1.json"
);
submit_endpoint!(
    submit_housing_offer,
    Kind::HousingOffer,
    "/v1/housing-offers",
    "Submit a housing offer from the housing allocation office.",
    "A housing offer: schemas/housing-offer.v1.json"
);
submit_endpoint!(
    submit_jobcenter_message,
    Kind::JobcenterMessage,
    "/v1/jobcenter-messages",
    "Submit a message from the jobcenter.",
    "A jobcenter message: schemas/jobcenter-message.v1.json"
);

async fn submit(
    kind: Kind,
    req: HttpRequest,
    payload: web::Payload,
    principal: Principal,
    intake: web::Data<Intake>,
) -> HttpResponse {
    match handle(kind, &req, payload, &principal, &intake).await {
        Ok(response) => response,
        Err((reason, problem)) => {
            intake.metrics.intake(kind.as_str(), "rejected", reason);
            let faults = problem.violations.as_ref().map_or(0, Vec::len);
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

type Rejection = (&'static str, Problem);

async fn handle(
    kind: Kind,
    req: &HttpRequest,
    payload: web::Payload,
    principal: &Principal,
    intake: &Intake,
) -> Result<HttpResponse, Rejection> {
    let sender_id = match principal {
        Principal::Sender { sender_id, kinds, .. } if kinds.contains(&kind) => sender_id,
        Principal::Sender { .. } => {
            return Err((
                "kind_not_allowed",
                Problem::new(kinds::FORBIDDEN, format!("this token may not submit {kind} messages")),
            ));
        }
        Principal::Caseworker { .. } | Principal::Operator { .. } => {
            return Err((
                "not_a_sender",
                Problem::new(kinds::FORBIDDEN, "only sender tokens submit messages".to_owned()),
            ));
        }
    };
    body::require_json(req).map_err(|p| ("content_type", p))?;
    let bytes = body::read_limited(req, payload, intake.limits.max_body_bytes)
        .await
        .map_err(|p| {
            let reason = if p.status == 413 {
                "too_large"
            } else {
                "unreadable_body"
            };
            (reason, p)
        })?;
    let document = body::parse_json(&bytes).map_err(|p| ("malformed_json", p))?;
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

    let message = seal(intake, checked, now).map_err(|e| ("internal", crate::problem::internal(e)))?;
    let outcome = intake
        .store
        .submit(message)
        .await
        .map_err(|e| ("internal", crate::problem::internal(e)))?;
    Ok(match outcome {
        SubmitOutcome::Accepted(receipt) => {
            intake.metrics.intake(kind.as_str(), "accepted", "");
            intake.delivery.wake();
            tracing::info!(kind = kind.as_str(), sender = %receipt.sender_id, receipt = %receipt.receipt_id, case = %receipt.case_ref, warnings = receipt.warnings.len(), "message accepted");
            receipt_response(HttpResponse::Accepted(), receipt)
        }
        SubmitOutcome::Duplicate(receipt) => {
            intake.metrics.intake(kind.as_str(), "duplicate", "");
            tracing::info!(kind = kind.as_str(), sender = %receipt.sender_id, receipt = %receipt.receipt_id, "repeated message answered with its receipt");
            receipt_response(HttpResponse::Ok(), receipt)
        }
        SubmitOutcome::Conflict { existing_receipt_id } => {
            let detail = format!(
                "message_id was accepted before with other content (receipt {existing_receipt_id}); send changes as a new message with its own message_id"
            );
            return Err(("conflict", Problem::new(kinds::CONFLICT, detail)));
        }
    })
}

/// The message as the store takes it: canonical, hashed for matching and sealed.
fn seal(intake: &Intake, checked: validation::Checked, now: jiff::Timestamp) -> anyhow::Result<NewMessage> {
    let kind = checked.kind;
    let canonical = serde_json::to_vec(&checked.document)?;
    // A housing offer's messages (offer, update, withdrawal) belong together, named or not.
    let offer_hash = checked.document["offer_id"].as_str().map(|offer| {
        intake
            .vault
            .match_hash("offer", format!("{}\0{offer}", checked.sender_id).as_bytes())
    });
    let subject = match &checked.cpr {
        Some(cpr) => Subject {
            kind: SubjectKind::Citizen,
            match_hash: intake.vault.match_hash("cpr", cpr.expose_digits().as_bytes()),
            cpr_sealed: Some(intake.vault.encrypt(cpr.expose_digits().as_bytes())),
        },
        None => Subject {
            kind: SubjectKind::VacantDwelling,
            match_hash: offer_hash.unwrap_or_else(|| intake.vault.match_hash("message", &canonical)),
            cpr_sealed: None,
        },
    };
    let municipality = checked.municipality.to_string();
    let decision = intake.router.route(&crate::routing::Facts {
        kind,
        municipality: &municipality,
        sender_id: &checked.sender_id,
        document: &checked.document,
        birth_date: checked.cpr.as_ref().and_then(|c| c.birth_date()),
        on: crate::domain::copenhagen_date(now),
    });
    let deliveries = decision
        .targets()
        .into_iter()
        .map(|target| NewDelivery {
            delivery_id: format!("dlv_{}", uuid::Uuid::now_v7().simple()),
            destination: target.key(),
            routes: decision.routes.clone(),
        })
        .collect();
    let receipt_id = uuid::Uuid::now_v7().to_string();
    let deadlines = intake.policies.plan(&crate::deadlines::Arrival {
        kind,
        document: &checked.document,
        receipt_id: &receipt_id,
        received_at: now,
        team: decision.teams.first().map(String::as_str),
    });
    Ok(NewMessage {
        deliveries,
        deadlines,
        receipt_id,
        kind,
        sender_id: checked.sender_id.clone(),
        message_id: checked.message_id.clone(),
        content_hash: intake.vault.match_hash("content", &canonical),
        offer_hash,
        municipality: checked.municipality,
        subject,
        body_sealed: intake.vault.seal_document(&canonical),
        summary: validation::summary(kind, &checked.document),
        warnings: checked.warnings,
        received_at: now,
    })
}

fn receipt_response(mut builder: actix_web::HttpResponseBuilder, receipt: crate::store::Receipt) -> HttpResponse {
    let body = ReceiptBody::from(receipt);
    builder
        .insert_header((header::LOCATION, format!("/v1/receipts/{}", body.receipt_id)))
        .json(body)
}
