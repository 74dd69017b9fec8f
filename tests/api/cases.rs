use crate::helpers::{example, filed, parole_notice, problem, release_notice, spawn_app};
use indgang::domain::Kind;
use serde_json::Value;

#[tokio::test]
async fn messages_about_one_citizen_in_one_municipality_share_a_case() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let jobcenter = app.sender_token("jobcenter-aarhus", &[Kind::JobcenterMessage]).await;

    let first: Value = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("c-1", "150385-1234", "751"),
        )
        .await;
    let mut appointment = example(Kind::JobcenterMessage, "valid/appointment");
    appointment["citizen"]["cpr"] = "1503851234".into();
    appointment["municipality"] = "751".into();
    let second: Value = app.accept(Kind::JobcenterMessage, &jobcenter, &appointment).await;
    let elsewhere: Value = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("c-2", "150385-1234", "730"),
        )
        .await;
    let someone_else: Value = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("c-3", "150385-1235", "751"),
        )
        .await;

    assert_eq!(first["case_ref"], second["case_ref"]);
    assert_ne!(
        first["case_ref"], elsewhere["case_ref"],
        "another municipality opens its own case"
    );
    assert_ne!(first["case_ref"], someone_else["case_ref"]);
}

#[tokio::test]
async fn a_caseworker_reads_a_case_of_their_municipality_with_its_messages() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let receipt: Value = app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let case_ref = receipt["case_ref"].as_str().unwrap();
    let aarhus = app.caseworker_token("751").await;

    let response = app.get(&format!("/v1/cases/{case_ref}"), &aarhus).await;

    assert_eq!(response.status(), 200);
    let case: Value = response.json().await.unwrap();
    assert_eq!(case["case_ref"], case_ref);
    assert_eq!(case["cpr"], "150385-1234");
    assert_eq!(case["subject"], "citizen");
    assert_eq!(filed(&case["messages"][0]["receipt"]), filed(&receipt));
    assert_eq!(case["messages"][0]["message"]["citizen"]["name"], "Jonas Mikkelsen");
    assert_eq!(case["messages"][0]["message"]["citizen"]["cpr"], "1503851234");
}

#[tokio::test]
async fn other_municipalities_and_senders_may_not_read_a_case() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let receipt: Value = app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let path = format!("/v1/cases/{}", receipt["case_ref"].as_str().unwrap());

    // Another municipality's case answers exactly as a case that does not exist: case
    // references are sequential, and a 403 would tell that this one exists.
    let odense = app.caseworker_token("461").await;
    let response = app.get(&path, &odense).await;
    assert_eq!(response.status(), 404);
    let theirs = problem(response).await;
    let response = app.get("/v1/cases/K-2026-999999", &odense).await;
    assert_eq!(response.status(), 404);
    assert_eq!(theirs, problem(response).await);
    assert_eq!(theirs["type"], "urn:indgang:problem:not-found");
    assert_eq!(app.get(&path, &prison).await.status(), 403);
    assert_eq!(app.get("/v1/cases", &prison).await.status(), 403);
    assert_eq!(app.get(&path, "igt_nobody").await.status(), 401);

    let aarhus = app.caseworker_token("751").await;
    assert_eq!(app.get("/v1/cases/K-2026-999999", &aarhus).await.status(), 404);
    // Odense's list does not show Aarhus's case.
    assert!(app.cases("461").await.is_empty());
}

#[tokio::test]
async fn the_case_list_has_no_personal_data_and_filters_by_kind_and_time() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let housing = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let notice_receipt: Value = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("l-1", "0101901234", "101"),
        )
        .await;
    app.clock.set("2026-11-24T12:00:00Z".parse().unwrap());
    let offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    let offer_receipt: Value = app.accept(Kind::HousingOffer, &housing, &offer).await;
    let vacant = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    assert_eq!(app.submit(Kind::HousingOffer, &housing, &vacant).await.status(), 202);

    let kbh = app.caseworker_token(offer["municipality"].as_str().unwrap()).await;
    let all: Value = app.get("/v1/cases", &kbh).await.json().await.unwrap();
    let text = all.to_string();
    assert!(!text.contains("0101901234") && !text.contains("010190-1234"), "{text}");

    let offers: Value = app
        .get("/v1/cases?kind=housing-offer", &kbh)
        .await
        .json()
        .await
        .unwrap();
    let refs: Vec<&str> = offers["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_ref"].as_str().unwrap())
        .collect();
    assert!(refs.contains(&offer_receipt["case_ref"].as_str().unwrap()));
    assert!(
        offers["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kinds"].as_array().unwrap().contains(&"housing-offer".into()))
    );

    let recent: Value = app.get("/v1/cases?since=2026-11-24", &kbh).await.json().await.unwrap();
    let recent: Vec<&str> = recent["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_ref"].as_str().unwrap())
        .collect();
    assert_eq!(recent.len(), 2, "the two offers of 24 November: {recent:?}");
    assert!(
        !recent.contains(&notice_receipt["case_ref"].as_str().unwrap()),
        "the notice of 23 November is older"
    );

    assert_eq!(app.get("/v1/cases?kind=letter", &kbh).await.status(), 400);
    assert_eq!(app.get("/v1/cases?since=yesterday", &kbh).await.status(), 400);
    assert_eq!(app.get("/v1/cases?limit=lots", &kbh).await.status(), 400);
}

#[tokio::test]
async fn receipts_are_visible_only_to_their_sender_and_municipality() {
    let app = spawn_app().await;
    let prison = app.prison_token().await;
    let response = app.submit(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();

    let aarhus = app.caseworker_token("751").await;
    assert_eq!(app.get(&location, &aarhus).await.status(), 200);
    let other_prison = app.sender_token("kif-vestre", &[Kind::ReleaseNotice]).await;
    assert_eq!(app.get(&location, &other_prison).await.status(), 404);
    let odense = app.caseworker_token("461").await;
    assert_eq!(app.get(&location, &odense).await.status(), 404);
    assert_eq!(app.get("/v1/receipts/nope", &prison).await.status(), 404);
}

#[tokio::test]
async fn a_withdrawal_without_a_citizen_follows_its_offer_to_the_citizens_case() {
    let app = spawn_app().await;
    let housing = app.sender_token("boligtildeling-kbh", &[Kind::HousingOffer]).await;
    let offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    let offered: Value = app.accept(Kind::HousingOffer, &housing, &offer).await;
    let mut withdrawal = example(Kind::HousingOffer, "valid/withdrawal");
    withdrawal["offer_id"] = offer["offer_id"].clone();
    assert!(withdrawal.get("citizen").is_none());

    let response = app.submit(Kind::HousingOffer, &housing, &withdrawal).await;

    assert_eq!(response.status(), 202);
    let withdrawn: Value = response.json().await.unwrap();
    assert_eq!(withdrawn["case_ref"], offered["case_ref"]);
    // A vacant dwelling's own offer still gets a case of its own.
    let vacant: Value = app
        .accept(
            Kind::HousingOffer,
            &housing,
            &example(Kind::HousingOffer, "valid/vacant-skaev-bolig"),
        )
        .await;
    assert_ne!(vacant["case_ref"], offered["case_ref"]);
    let kbh = app.caseworker_token("101").await;
    let case: Value = app
        .get(&format!("/v1/cases/{}", vacant["case_ref"].as_str().unwrap()), &kbh)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["subject"], "vacant_dwelling");
    assert!(case["cpr"].is_null());
}
