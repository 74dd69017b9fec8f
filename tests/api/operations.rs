use crate::helpers::{example, parole_notice, problem, spawn_app};
use indgang::domain::Kind;
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn the_schemas_are_served_as_published() {
    let app = spawn_app().await;
    for kind in Kind::ALL {
        let response = app
            .client
            .get(format!("{}/v1/schemas/{}", app.address, kind.as_str()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/schema+json");
        let served: Value = response.json().await.unwrap();
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{}.v1.json", kind.as_str()));
        let published: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        assert_eq!(served, published);
        assert_eq!(served["$schema"], "https://json-schema.org/draft/2020-12/schema");
    }
    let unknown = app
        .client
        .get(format!("{}/v1/schemas/letter", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_openapi_document_covers_every_endpoint() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/release-notices",
        "/v1/housing-offers",
        "/v1/jobcenter-messages",
        "/v1/receipts/{receipt_id}",
        "/v1/cases",
        "/v1/cases/{case_ref}",
        "/v1/schemas/{kind}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is missing");
    }
    let body = &doc["paths"]["/v1/release-notices"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/ReleaseNoticeV1");
    assert_eq!(
        doc["components"]["schemas"]["ReleaseNoticeV1"]["properties"]["consent"]["enum"][0],
        "given"
    );
    for path in ["/v1/release-notices", "/v1/housing-offers", "/v1/jobcenter-messages"] {
        for status in ["200", "202", "400", "401", "403", "409", "413", "415", "422"] {
            assert!(
                doc["paths"][path]["post"]["responses"].get(status).is_some(),
                "{path} {status}"
            );
        }
        assert!(doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string());
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_problems() {
    let app = spawn_app().await;
    let missing = app
        .client
        .get(format!("{}/v1/nothing-here", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(missing).await["type"], "urn:indgang:problem:not-found");

    let wrong_method = app
        .client
        .delete(format!("{}/v1/release-notices", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        problem(wrong_method).await["type"],
        "urn:indgang:problem:method-not-allowed"
    );
}

#[tokio::test]
async fn rejections_are_counted_without_personal_data() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let valid = parole_notice();
    app.submit(Kind::ReleaseNotice, &token, &valid).await;
    app.submit(Kind::ReleaseNotice, &token, &valid).await;
    app.submit(
        Kind::ReleaseNotice,
        &token,
        &example(Kind::ReleaseNotice, "invalid/cpr-31-february"),
    )
    .await;
    app.submit_raw(Kind::ReleaseNotice, &token, "application/json", b"{".to_vec())
        .await;

    app.submit(Kind::ReleaseNotice, "igt_unknown", &valid).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let count = |labels: &str| -> u64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with("indgang_intake_messages_total{") && l.contains(labels))
            .unwrap_or_else(|| panic!("no line with {labels} in\n{metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(count("outcome=\"accepted\""), 1);
    assert_eq!(count("outcome=\"duplicate\""), 1);
    assert_eq!(count("reason=\"invalid\""), 1);
    assert_eq!(count("reason=\"malformed_json\""), 1);
    let refused = metrics
        .lines()
        .find(|l| l.starts_with("indgang_refused_credentials_total"))
        .unwrap();
    assert!(refused.ends_with(" 1"), "{refused}");
    assert!(!metrics.contains("150385") && !metrics.contains("Jonas"));
}
