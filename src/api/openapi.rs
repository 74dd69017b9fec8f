//! The OpenAPI 3.1 document, generated from the handlers' annotations, with the message bodies
//! taken from the JSON Schemas of `schemas/` (OpenAPI 3.1 speaks JSON Schema 2020-12), so the
//! document and the validator can never disagree.
//!
//! The document is bundled: every `$ref` in it resolves from the document's root. Each message
//! schema goes in as a component (`ReleaseNoticeV1` …) without its `$id` and `$schema`, each of
//! its `$defs` as a component of its own named after it (`ReleaseNoticeV1_date` …), and its
//! references are rewritten to point there. `schemas/*.json` stay as they are for partners.
//!
//! What every operation shares is added here rather than on each handler: `500` and `503` (the
//! gateway stopping answers `503` to anything), `401` wherever a bearer token is needed, the
//! `x-request-id` header on every answer, and `HEAD` wherever `GET` is (RFC 9110).

use crate::domain::Kind;
use crate::validation::schema_text;
use actix_web::HttpResponse;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
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
        super::housing::put_housing_needs,
        super::housing::get_housing_needs,
        super::housing::get_candidates,
        super::answer::post_housing_answer,
        super::deadlines::list_deadlines,
        super::reports::get_report,
        super::deadlines::resolve_deadline,
        super::deadlines::reopen_deadline,
        super::deadlines::acknowledge,
        super::deliveries::list_dead_letters,
        super::deliveries::replay_dead_letter,
        super::deliveries::replay_dead_letters,
        super::deliveries::pause_destination,
        super::deliveries::resume_destination,
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
        // A person signed in with OpenID Connect (`/auth/login`, outside this document) is
        // admitted by the session cookie wherever a token is: the same endpoints, by role.
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "indgang_session",
                "The session of a person signed in at /auth/login (`__Host-indgang_session` over HTTPS); \
                 a request that changes something also carries the session's CSRF token in X-CSRF-Token",
            ))),
        );
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                if let Some(security) = operation.security.as_mut().filter(|s| !s.is_empty()) {
                    security.push(SecurityRequirement::new("session", Vec::<String>::new()));
                }
            }
        }
    }
}

/// The component that holds a kind's message schema.
pub fn component_name(kind: Kind) -> &'static str {
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
        for (name, schema) in bundled(kind) {
            doc["components"]["schemas"][name] = schema;
        }
        let body = &mut doc["paths"][intake_path(kind)]["post"]["requestBody"]["content"]["application/json"];
        body["schema"] = json!({ "$ref": format!("#/components/schemas/{}", component_name(kind)) });
    }
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
    {
        let Some(item) = item.as_object_mut() else { continue };
        for operation in item.values_mut() {
            shared_answers(operation);
        }
        if let Some(get) = item.get("get") {
            let head = head_of(get);
            item.insert("head".to_owned(), head);
        }
    }
    doc
}

/// A kind's message schema and its `$defs` as components, each `$ref` rewritten to point at
/// them: (component name, schema), the message itself last.
fn bundled(kind: Kind) -> Vec<(String, Value)> {
    let name = component_name(kind);
    let mut schema: Value = serde_json::from_str(schema_text(kind)).expect("embedded schemas are JSON");
    let root = schema.as_object_mut().expect("a message schema is an object");
    root.remove("$schema");
    root.remove("$id");
    let defs = match root.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    let mut components = Vec::with_capacity(defs.len() + 1);
    for (def, mut def_schema) in defs {
        rewrite_refs(&mut def_schema, name);
        components.push((def_component(name, &def), def_schema));
    }
    rewrite_refs(&mut schema, name);
    components.push((name.to_owned(), schema));
    components
}

/// The component of the definition `def` of the message schema `name`: the two joined by `_`,
/// which no name of a Rust type in the document has.
fn def_component(name: &str, def: &str) -> String {
    assert!(
        !def.is_empty() && def.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "{name}: $defs/{def} is not a name a component can have"
    );
    format!("{name}_{def}")
}

/// Rewrites every `$ref` within the message schema `name` from the schema's own root to the
/// document's: `#/$defs/x…` to the component of `x`, any other `#…` into the message's
/// component. A reference to anything outside the schema cannot be bundled.
fn rewrite_refs(value: &mut Value, name: &str) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                match (key.as_str(), member) {
                    ("$ref", Value::String(reference)) => *reference = bundled_ref(reference, name),
                    (_, member) => rewrite_refs(member, name),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_refs(item, name)),
        _ => {}
    }
}

fn bundled_ref(reference: &str, name: &str) -> String {
    if let Some(rest) = reference.strip_prefix("#/$defs/") {
        let (def, deeper) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        return format!("#/components/schemas/{}{deeper}", def_component(name, def));
    }
    match reference.strip_prefix('#') {
        Some(within) => format!("#/components/schemas/{name}{within}"),
        None => panic!("{name}: $ref {reference} points outside the schema and cannot be bundled"),
    }
}

/// A problem answer, as every error status is.
fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { crate::problem::CONTENT_TYPE: { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// The answers every operation can give besides its own, and the `x-request-id` header on each.
fn shared_answers(operation: &mut Value) {
    let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    if secured {
        responses
            .entry("401")
            .or_insert_with(|| problem("Missing, unknown or revoked token"));
        responses["401"]["headers"]["WWW-Authenticate"] = json!({
            "description": "Always `Bearer`",
            "schema": { "type": "string" }
        });
    }
    responses
        .entry("500")
        .or_insert_with(|| problem("Internal error; the log line with the answer's x-request-id has the cause"));
    responses.entry("503").or_insert_with(|| {
        problem(
            "Nothing was done: the gateway is stopping, or its disk takes no writes now; send again after Retry-After",
        )
    });
    responses["503"]["headers"]["Retry-After"] = json!({
        "description": "Seconds to wait before sending again",
        "schema": { "type": "integer", "minimum": 1 }
    });
    for (status, response) in responses.iter_mut() {
        if response["description"].as_str().is_none_or(str::is_empty) {
            // The standard's name for the status where the handler gives no description.
            let reason = status
                .parse()
                .ok()
                .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason());
            response["description"] = reason.unwrap_or(status.as_str()).into();
        }
        response["headers"]["x-request-id"] = json!({
            "description": "The id the log lines of this request carry",
            "schema": { "type": "string" }
        });
    }
}

/// The `HEAD` operation of a `GET`: the same answers, without their bodies.
fn head_of(get: &Value) -> Value {
    let mut head = get.clone();
    if let Some(id) = get["operationId"].as_str() {
        head["operationId"] = format!("{id}_head").into();
    }
    head["description"] = "As GET, with the same status and headers and no body (RFC 9110).".into();
    head
}

/// The schema of a parameter that takes an RFC 3339 instant or a date (`YYYY-MM-DD`, the start of
/// that day in Copenhagen), as `super::parse_instant` reads them.
pub fn instant_or_date() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    let either = AnyOfBuilder::new()
        .item(string(KnownFormat::DateTime))
        .item(string(KnownFormat::Date))
        .build();
    Schema::AnyOf(either)
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| build().to_string());

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` string in `value`.
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    match (key.as_str(), member) {
                        ("$ref", Value::String(reference)) => found.push(reference.clone()),
                        (_, member) => refs(member, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_from_the_root_of_the_document() {
        let doc = build();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.iter().any(|r| r == "#/components/schemas/ReleaseNoticeV1_date"));
        for reference in found {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{reference} points outside the document"));
            assert!(doc.pointer(pointer).is_some(), "{reference} points to nothing");
        }
        let text = doc.to_string();
        assert!(!text.contains("\"$id\"") && !text.contains("\"$schema\"") && !text.contains("$defs"));
    }

    #[test]
    fn a_reference_into_a_schema_s_own_root_or_definitions_is_rewritten_into_its_components() {
        assert_eq!(
            bundled_ref("#/$defs/citizen/properties/cpr", "X"),
            "#/components/schemas/X_citizen/properties/cpr"
        );
        assert_eq!(bundled_ref("#", "X"), "#/components/schemas/X");
        assert_eq!(
            bundled_ref("#/properties/a", "X"),
            "#/components/schemas/X/properties/a"
        );
    }

    #[test]
    #[should_panic(expected = "points outside the schema")]
    fn a_reference_to_another_document_cannot_be_bundled() {
        bundled_ref("https://example.org/other.json#/$defs/x", "X");
    }
}
