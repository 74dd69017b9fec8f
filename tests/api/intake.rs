use crate::helpers::{
    example, filed, parole_notice, problem, release_notice, spawn_app, spawn_app_with, warning_codes,
};
use indgang::domain::Kind;
use serde_json::Value;

#[tokio::test]
async fn a_valid_notice_gets_202_a_receipt_and_a_location() {
    let app = spawn_app().await;
    let token = app.prison_token().await;

    let response = app.submit(Kind::ReleaseNotice, &token, &parole_notice()).await;

    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("x-request-id"));
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["kind"], "release-notice");
    assert_eq!(receipt["message_id"], "KIF-HOR-2026-004812");
    assert_eq!(receipt["received_at"], "2026-11-23T12:00:00Z");
    assert!(receipt["case_ref"].as_str().unwrap().starts_with("K-2026-"));
    assert_eq!(receipt["warnings"], serde_json::json!([]));
    assert_eq!(
        location,
        format!("/v1/receipts/{}", receipt["receipt_id"].as_str().unwrap())
    );

    let fetched = app.get(&location, &token).await;
    assert_eq!(fetched.status(), 200);
    assert_eq!(filed(&fetched.json::<Value>().await.unwrap()), filed(&receipt));
}

#[tokio::test]
async fn every_kind_has_its_endpoint() {
    let app = spawn_app().await;
    for (kind, sender, name) in [
        (
            Kind::HousingOffer,
            "boligtildeling-kbh",
            "valid/offer-named-citizen-dogs-allowed",
        ),
        (Kind::JobcenterMessage, "jobcenter-aarhus", "valid/appointment"),
    ] {
        let token = app.sender_token(sender, &[kind]).await;
        let response = app.submit(kind, &token, &example(kind, name)).await;
        assert_eq!(response.status(), 202, "{kind}");
        assert_eq!(response.json::<Value>().await.unwrap()["kind"], kind.as_str());
    }
}

#[tokio::test]
async fn release_notice_warnings_are_on_the_receipt() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let mut notice = release_notice("late-1", "0101901234", "751");
    notice["sent_at"] = "2026-11-20T09:00:00+01:00".into();
    // Friday 2026-12-04: 14 days after the notice.
    notice["release"]["expected_date"] = "2026-12-04".into();
    notice["release_meeting"]["date"] = "2026-12-01".into();

    let receipt: Value = app.accept(Kind::ReleaseNotice, &token, &notice).await;
    let codes = warning_codes(&receipt);
    assert_eq!(codes, ["late_notice", "release_on_friday"]);

    let mut past = release_notice("late-2", "0101901234", "751");
    past["release"]["expected_date"] = "2026-12-25".into();
    past["release_meeting"]["date"] = "2026-12-01".into();
    let receipt: Value = app.accept(Kind::ReleaseNotice, &token, &past).await;
    let codes = warning_codes(&receipt);
    assert_eq!(codes, ["release_on_holiday"]);

    let mut gone = release_notice("late-3", "0101901234", "751");
    gone["release"]["expected_date"] = "2026-11-10".into();
    gone["release_meeting"]["date"] = "2026-11-01".into();
    gone["sent_at"] = "2026-10-01T09:00:00+02:00".into();
    let receipt: Value = app.accept(Kind::ReleaseNotice, &token, &gone).await;
    let codes = warning_codes(&receipt);
    assert_eq!(codes, ["release_in_past"]);
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let response = app
        .submit_raw(
            Kind::ReleaseNotice,
            &token,
            "application/json",
            b"{\n  \"message_id\": \"a\",\n  oops\n}".to_vec(),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:malformed-json");
    assert!(body["detail"].as_str().unwrap().contains("line 3"), "{body}");
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn missing_unknown_and_malformed_credentials_are_401() {
    let app = spawn_app().await;
    let notice = parole_notice();
    let url = format!("{}/v1/release-notices", app.address);

    let without = app.client.post(&url).json(&notice).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert_eq!(without.headers()["www-authenticate"], "Bearer");
    assert_eq!(problem(without).await["type"], "urn:indgang:problem:unauthorized");

    let unknown = app.submit(Kind::ReleaseNotice, "igt_not-a-real-token", &notice).await;
    assert_eq!(unknown.status(), 401);

    let basic = app
        .client
        .post(&url)
        .header("Authorization", "Basic a2lmOnNlY3JldA==")
        .json(&notice)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let notice = parole_notice();
    assert_eq!(app.submit(Kind::ReleaseNotice, &token, &notice).await.status(), 202);

    let record = app
        .store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.sender_id.is_some())
        .unwrap();
    assert!(
        app.store
            .revoke_token(&record.id, jiff::Timestamp::now())
            .await
            .unwrap()
    );

    assert_eq!(app.submit(Kind::ReleaseNotice, &token, &notice).await.status(), 401);
}

#[tokio::test]
async fn a_sender_is_held_to_its_kinds_and_its_sender_id() {
    let app = spawn_app().await;
    let housing_only = app.sender_token("kif-horsens", &[Kind::HousingOffer]).await;
    let notice = parole_notice();

    let wrong_kind = app.submit(Kind::ReleaseNotice, &housing_only, &notice).await;
    assert_eq!(wrong_kind.status(), 403);
    assert_eq!(problem(wrong_kind).await["type"], "urn:indgang:problem:forbidden");

    let other_prison = app.sender_token("kif-vestre", &[Kind::ReleaseNotice]).await;
    let wrong_sender = app.submit(Kind::ReleaseNotice, &other_prison, &notice).await;
    assert_eq!(wrong_sender.status(), 403);
    assert!(
        problem(wrong_sender).await["detail"]
            .as_str()
            .unwrap()
            .contains("sender.id")
    );

    let caseworker = app.caseworker_token("751").await;
    assert_eq!(
        app.submit(Kind::ReleaseNotice, &caseworker, &notice).await.status(),
        403
    );
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with(&[("INDGANG__LIMITS__MAX_BODY_BYTES", "2048")]).await;
    let token = app.prison_token().await;
    let mut notice = parole_notice();
    notice["notes"] = "x".repeat(3000).into();

    let response = app.submit(Kind::ReleaseNotice, &token, &notice).await;
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await["type"], "urn:indgang:problem:payload-too-large");

    // Without a Content-Length (chunked), the limit holds too.
    let body = serde_json::to_vec(&notice).unwrap();
    let stream = futures_util::stream::iter(
        body.chunks(512)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = app
        .client
        .post(format!("{}/v1/release-notices", app.address))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let body = serde_json::to_vec(&parole_notice()).unwrap();

    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"] {
        let response = app
            .submit_raw(Kind::ReleaseNotice, &token, content_type, body.clone())
            .await;
        assert_eq!(response.status(), 415, "{content_type}");
        assert_eq!(
            problem(response).await["type"],
            "urn:indgang:problem:unsupported-media-type"
        );
    }
    let with_charset = app
        .submit_raw(Kind::ReleaseNotice, &token, "application/json; charset=utf-8", body)
        .await;
    assert_eq!(with_charset.status(), 202);
}

#[tokio::test]
async fn every_violation_is_listed_with_its_pointer() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let mut notice = parole_notice();
    notice["citizen"]["cpr"] = "310290-1234".into(); // no 31 February
    notice["municipality"] = "411".into(); // Christiansø is no municipality
    notice["consent"] = "maybe".into();
    notice["release"]["kind"] = serde_json::Value::Null;
    notice.as_object_mut().unwrap().remove("custody");
    notice["surprise"] = true.into();

    let response = app.submit(Kind::ReleaseNotice, &token, &notice).await;

    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:invalid-message");
    let pointers: Vec<&str> = body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pointer"].as_str().unwrap())
        .collect();
    for expected in [
        "/citizen/cpr",
        "/municipality",
        "/consent",
        "/release/kind",
        "/custody",
        "/surprise",
    ] {
        assert!(pointers.contains(&expected), "{expected:?} missing from {pointers:?}");
    }
    let text = body.to_string();
    assert!(!text.contains("310290"), "a rejected CPR number is not echoed: {text}");
    assert!(
        app.cases("751").await.is_empty(),
        "nothing is stored for a rejected message"
    );
}

#[tokio::test]
async fn a_municipality_not_served_is_refused() {
    let app = spawn_app_with(&[("INDGANG__MUNICIPALITIES", "751,730")]).await;
    let token = app.prison_token().await;
    let notice = release_notice("elsewhere-1", "0101901234", "101");

    let response = app.submit(Kind::ReleaseNotice, &token, &notice).await;

    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["violations"][0]["pointer"], "/municipality");
    assert!(
        body["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not served")
    );
}

#[tokio::test]
async fn a_hyphen_in_the_cpr_number_is_optional() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    let a = app
        .submit(
            Kind::ReleaseNotice,
            &token,
            &release_notice("h-1", "010190-1234", "751"),
        )
        .await;
    assert_eq!(a.status(), 202);
    let a: Value = a.json().await.unwrap();
    let b = app
        .submit(Kind::ReleaseNotice, &token, &release_notice("h-2", "0101901234", "751"))
        .await;
    assert_eq!(b.status(), 202);
    let b: Value = b.json().await.unwrap();
    assert!(a["case_ref"].is_string());
    assert_eq!(a["case_ref"], b["case_ref"]);
}

#[tokio::test]
async fn a_message_id_carrying_the_cpr_number_is_refused() {
    let app = spawn_app().await;
    let token = app.prison_token().await;
    for id in ["notice-0101901234", "0101901234", "x-010190-1234-2"] {
        let response = app
            .submit(Kind::ReleaseNotice, &token, &release_notice(id, "010190-1234", "751"))
            .await;
        assert_eq!(response.status(), 422, "{id}");
        let body = problem(response).await;
        assert_eq!(body["violations"][0]["pointer"], "/message_id");
        assert!(!body.to_string().contains("0101901234"));
    }
    assert_eq!(app.stored_messages(), 0);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    // As docs/errors.md says: any case of the scheme, one or more spaces before the token.
    let app = spawn_app().await;
    let token = app.prison_token().await;
    for (i, header) in [format!("bearer {token}"), format!("BEARER   {token}  ")]
        .into_iter()
        .enumerate()
    {
        let response = app
            .client
            .post(format!("{}/v1/release-notices", app.address))
            .header("Authorization", header)
            .json(&release_notice(&format!("scheme-{i}"), "0101901234", "751"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
}
