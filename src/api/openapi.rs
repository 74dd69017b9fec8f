//! The OpenAPI 3.1 document, generated from the handlers' annotations. The message bodies are the
//! JSON Schemas of `schemas/` themselves (OpenAPI 3.1 speaks JSON Schema 2020-12), put in as
//! components so the document and the validator can never disagree.

use crate::domain::Kind;
use crate::validation::schema_text;
use actix_web::HttpResponse;
use serde_json::{Value, json};
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "indgang", description = "The single municipal intake for release notices, housing offers and jobcenter messages."),
    paths(
        crate::intake::submit_release_notice,
        crate::intake::submit_housing_offer,
        crate::intake::submit_jobcenter_message,
        crate::intake::batch::submit_housing_offer_batch,
        super::receipts::get_receipt,
        super::cases::list_cases,
        super::cases::get_case,
        super::cases::search_cases,
        super::deadlines::list_deadlines,
        super::reports::get_report,
        super::deadlines::resolve_deadline,
        super::deadlines::reopen_deadline,
        super::deadlines::acknowledge,
        super::deliveries::list_dead_letters,
        super::deliveries::replay_dead_letter,
        super::deliveries::replay_dead_letters,
        super::deliveries::status,
        super::audit::list_audit,
        super::operations::get_schema,
        super::operations::healthz,
        super::operations::readyz,
        super::operations::metrics,
        document,
    ),
    components(schemas(crate::problem::Problem, crate::validation::Violation, crate::validation::Warning)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn component_name(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "ReleaseNoticeV1",
        Kind::HousingOffer => "HousingOfferV1",
        Kind::JobcenterMessage => "JobcenterMessageV1",
    }
}

fn intake_path(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "/v1/release-notices",
        Kind::HousingOffer => "/v1/housing-offers",
        Kind::JobcenterMessage => "/v1/jobcenter-messages",
    }
}

/// The whole document as JSON.
pub fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    for kind in Kind::ALL {
        let mut schema: Value = serde_json::from_str(schema_text(kind)).expect("embedded schemas are JSON");
        if let Some(object) = schema.as_object_mut() {
            object.remove("$schema");
        }
        doc["components"]["schemas"][component_name(kind)] = schema;
        let body = &mut doc["paths"][intake_path(kind)]["post"]["requestBody"]["content"]["application/json"];
        body["schema"] = json!({ "$ref": format!("#/components/schemas/{}", component_name(kind)) });
    }
    doc
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| build().to_string());

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document", body = Object)))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
