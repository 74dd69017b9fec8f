//! The case page and the search, as a caseworker signed in with the real OpenID provider uses
//! them: the timeline of a case across kinds, the CPR number and name shown only when asked
//! for (and audited), deadlines resolved and reopened, messages acknowledged and housing needs
//! saved from plain forms, the candidates for a vacant home, and a search by CPR number that
//! leaves the number in no URL.

use super::{post_form, signed_in, text};
use crate::helpers::*;
use indgang::domain::Kind;
use serde_json::{Value, json};

const CPR: &str = "150385-1234";
const NAME: &str = "Jonas Mikkelsen";

/// The newest entry of the audit log with `action`, as an auditor reads it (oldest first).
async fn last_audit(app: &TestApp, action: &str) -> Value {
    let audit: Value = app
        .get(&format!("/v1/audit?action={action}"), &app.auditor_token().await)
        .await
        .json()
        .await
        .unwrap();
    audit["entries"].as_array().unwrap().last().cloned().unwrap_or_default()
}

/// The id of the case's deadline of `policy`, as the API gives it.
async fn deadline_id(app: &TestApp, case_ref: &str, policy: &str) -> i64 {
    let token = app.caseworker_token("751").await;
    let case: Value = app
        .get(&format!("/v1/cases/{case_ref}"), &token)
        .await
        .json()
        .await
        .unwrap();
    crate::helpers::deadline_id(&case, policy)
}

/// A notice, its update and a housing offer on one citizen's case in Aarhus; the case reference.
async fn citizen_case(app: &TestApp) -> String {
    let prison = app.prison_token().await;
    let notice = release_notice("KIF-SAG-1", CPR, "751");
    let first = app.accept(Kind::ReleaseNotice, &prison, &notice).await;
    let mut update = release_notice("KIF-SAG-2", CPR, "751");
    update["notice_type"] = "update".into();
    update["previous_message_id"] = "KIF-SAG-1".into();
    update["release"]["expected_date"] = "2027-02-12".into();
    app.accept(Kind::ReleaseNotice, &prison, &update).await;
    let allocation = app
        .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
        .await;
    let mut offer = example(Kind::HousingOffer, "valid/offer-named-citizen-dogs-allowed");
    offer["municipality"] = "751".into();
    offer["citizen"]["cpr"] = CPR.into();
    offer["citizen"]["name"] = NAME.into();
    offer["answer_deadline"] = "2026-12-01".into();
    let offered = app.accept(Kind::HousingOffer, &allocation, &offer).await;
    assert_eq!(offered["case_ref"], first["case_ref"]);
    app.drain().await;
    first["case_ref"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_case_page_shows_the_timeline_masks_the_citizen_until_asked_and_acts_on_deadlines() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let case_ref = citizen_case(app).await;
    let alice = signed_in(app, "alice").await;

    let shown = alice.get(app, &format!("/sager/{case_ref}")).await;
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["cache-control"], "no-store");
    let page = text(shown).await;
    assert!(
        page.contains(&format!("<title>Sag {case_ref} – indgang</title>")),
        "{page}"
    );
    let offer = page.find("Boligtilbud").expect("the housing offer");
    let update = page
        .find("Forventet løsladelse nu 12. februar 2027 fra Anstalten ved Horsens")
        .expect("the update");
    let notice = page
        .find("Forventet løsladelse 9. februar 2027 fra Anstalten ved Horsens")
        .expect("the notice");
    assert!(offer < update && update < notice, "newest first");
    assert!(page.contains("svar senest 1. december 2026"), "{page}");
    assert!(
        page.contains("mail:intake") && page.contains("leveret"),
        "where each went"
    );
    assert!(page.contains("150385-••••"));
    assert!(!page.contains(CPR) && !page.contains(NAME), "masked until asked");
    let read = last_audit(app, "case.read").await;
    assert_eq!(
        (read["actor"].as_str(), read["case_ref"].as_str()),
        (Some("alice"), Some(case_ref.as_str()))
    );

    // Shown when asked, by a form: in the answer, not in its title, and audited.
    let csrf = alice.csrf_token(app).await;
    let forged = post_form(&alice, app, &format!("/sager/{case_ref}/vis"), "").await;
    assert_eq!(forged.status(), 403, "a form without the CSRF token is refused");
    let revealed = post_form(
        &alice,
        app,
        &format!("/sager/{case_ref}/vis"),
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(revealed.status(), 200);
    let page = text(revealed).await;
    assert!(page.contains(CPR) && page.contains(NAME), "{page}");
    let title = page.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(!title.contains("150385") && !title.contains(NAME));
    let entry = last_audit(app, "case.reveal").await;
    assert_eq!(entry["actor"], "alice");
    assert_eq!(entry["actor_kind"], "person");
    assert_eq!(entry["case_ref"], case_ref.as_str());
    assert_eq!(entry["outcome"], "ok");

    // The housing deadline resolved from the page is met, by alice, and audited.
    let housing = deadline_id(app, &case_ref, "housing").await;
    let resolved = post_form(
        &alice,
        app,
        &format!("/sager/{case_ref}/loes"),
        &format!("csrf_token={csrf}&frist={housing}&udfald=public_housing"),
    )
    .await;
    assert_eq!(resolved.status(), 303);
    let back = resolved.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, format!("/sager/{case_ref}?udfoert=loest#frister"));
    let page = text(alice.get(app, back.split('#').next().unwrap()).await).await;
    assert!(page.contains("Fristen er løst."));
    assert!(page.contains("overholdt"), "{page}");
    assert!(page.contains("af alice: Almen bolig"), "{page}");
    let entry = last_audit(app, "deadline.resolve").await;
    assert_eq!(
        (entry["actor"].as_str(), entry["outcome"].as_str()),
        (Some("alice"), Some("ok"))
    );
    let again = post_form(
        &alice,
        app,
        &format!("/sager/{case_ref}/loes"),
        &format!("csrf_token={csrf}&frist={housing}&udfald=public_housing"),
    )
    .await;
    assert_eq!(again.status(), 409, "already met");
    assert!(text(again).await.contains("Fristen er ændret i mellemtiden"));

    // Reopened with a reason from the list: the page says why.
    let reopened = post_form(
        &alice,
        app,
        &format!("/sager/{case_ref}/genaabn"),
        &format!("csrf_token={csrf}&frist={housing}&grund=new_information"),
    )
    .await;
    assert_eq!(reopened.status(), 303);
    let page = text(alice.get(app, &format!("/sager/{case_ref}?udfoert=genaabnet")).await).await;
    assert!(page.contains("Fristen er åbnet igen."));
    assert!(page.contains("Åbnet igen: Nye oplysninger i sagen"), "{page}");

    // The messages not yet acknowledged, acknowledged from the case.
    assert!(page.contains("Kvittér for alle 3 nye beskeder på sagen"), "{page}");
    let receipt = page
        .split("name=\"one\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let acknowledged = post_form(
        &alice,
        app,
        &format!("/sager/{case_ref}/kvitter"),
        &format!("csrf_token={csrf}&one={receipt}"),
    )
    .await;
    assert_eq!(acknowledged.status(), 303);
    let page = text(alice.get(app, &format!("/sager/{case_ref}")).await).await;
    assert!(page.contains("Kvittér for alle 2 nye beskeder på sagen"));
    assert!(page.contains("af alice</p>"), "who acknowledged: {page}");

    // Another municipality's caseworker finds nothing, exactly as for a case that does not exist.
    let carl = signed_in(app, "carl").await;
    let elsewhere = carl.get(app, &format!("/sager/{case_ref}")).await;
    assert_eq!(elsewhere.status(), 404);
    let missing = carl.get(app, "/sager/K-2026-999999").await;
    assert_eq!(missing.status(), 404);
    let (elsewhere, missing) = (text(elsewhere).await, text(missing).await);
    assert!(elsewhere.contains("Siden findes ikke") && !elsewhere.contains(CPR));
    assert_eq!(
        elsewhere.split("Fejlnummer").next(),
        missing.split("Fejlnummer").next(),
        "the same page for both"
    );
}

#[tokio::test]
async fn housing_needs_are_saved_from_the_case_page_and_a_vacant_home_lists_its_candidates() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let mut notice = release_notice("KIF-BOLIG-1", CPR, "751");
    notice["release"]["expected_date"] = "2026-12-10".into();
    let citizen = app.accept(Kind::ReleaseNotice, &prison, &notice).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = signed_in(app, "alice").await;
    let csrf = alice.csrf_token(app).await;

    let page = text(alice.get(app, &format!("/sager/{citizen}")).await).await;
    assert!(page.contains("<h2 id=\"boligbehov\">Boligbehov</h2>"));
    assert!(
        page.contains("Indkomst ved løsladelsen: kontanthjælp."),
        "the hint: {page}"
    );

    let refused = post_form(
        &alice,
        app,
        &format!("/sager/{citizen}/boligbehov"),
        &format!("csrf_token={csrf}&hund=ja&vaerelser=0&husleje=5200&oensket=8000"),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let page = text(refused).await;
    assert!(page.contains("Antal værelser skal være et helt tal fra 1 til 20."));
    assert!(page.contains("value=\"5200\""), "the form again as entered");
    assert_eq!(last_audit(app, "housing-needs.write").await["outcome"], "refused");

    let saved = post_form(
        &alice,
        app,
        &format!("/sager/{citizen}/boligbehov"),
        &format!("csrf_token={csrf}&hund=ja&vaerelser=2&husleje=5.200&oensket=8000+8210&note=Vil+gerne+bo+t%C3%A6t+p%C3%A5+sin+s%C3%B8ster"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let page = text(alice.get(app, &format!("/sager/{citizen}?udfoert=boligbehov")).await).await;
    assert!(page.contains("Boligbehovet er gemt."));
    assert!(page.contains("name=\"hund\" value=\"ja\" checked"));
    assert!(page.contains("value=\"5200\"") && page.contains("value=\"8000 8210\""));
    assert!(page.contains("Vil gerne bo tæt på sin søster"));
    let entry = last_audit(app, "housing-needs.write").await;
    assert_eq!(
        (entry["actor"].as_str(), entry["outcome"].as_str()),
        (Some("alice"), Some("ok"))
    );
    let token = app.caseworker_token("751").await;
    let needs: Value = app
        .get(&format!("/v1/cases/{citizen}/housing-needs"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            needs["dog"].clone(),
            needs["min_rooms"].clone(),
            needs["max_rent_dkk"].clone()
        ),
        (json!(true), json!(2), json!(5200)),
        "the same needs as the API reads them"
    );

    // A vacant home in Aarhus: the citizen is a candidate, with the reasons, and a link.
    let allocation = app
        .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
        .await;
    let mut offer = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    offer["municipality"] = "751".into();
    offer["dwelling"]["address"] = json!({ "street": "Vestergade 1", "postcode": "8000", "city": "Aarhus C" });
    offer["dwelling"]["rooms"] = 2.into();
    offer["dwelling"]["monthly_rent_dkk"] = 4850.into();
    offer["available_from"] = "2026-12-15".into();
    let home = app.accept(Kind::HousingOffer, &allocation, &offer).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = text(alice.get(app, &format!("/sager/{home}")).await).await;
    assert!(page.contains("Kandidater til boligen"));
    assert!(
        page.contains("Skæv bolig, 2 vær., husleje 4.850 kr. om måneden"),
        "the home: {page}"
    );
    assert!(
        page.contains(&format!("<a href=\"/sager/{citizen}\">{citizen}</a>")),
        "{page}"
    );
    assert!(page.contains("hund tilladt"), "the reasons in Danish: {page}");
    assert!(!page.contains("Vestergade"), "no address");
    assert!(!page.contains("Vis CPR-nummer"), "no citizen on a vacant home's case");
    let read = last_audit(app, "case.read").await;
    assert_eq!(
        (read["actor"].as_str(), read["case_ref"].as_str()),
        (Some("alice"), Some(home.as_str()))
    );
    assert_eq!(
        last_audit(app, "candidates.read").await,
        Value::Null,
        "one look at the page, one entry: its case.read"
    );
}

#[tokio::test]
async fn the_answer_on_a_vacant_home_is_chosen_from_the_ranked_list_and_shown_on_both_cases() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let mut notice = release_notice("KIF-SVAR-1", CPR, "751");
    notice["release"]["expected_date"] = "2026-12-10".into();
    let citizen = app.accept(Kind::ReleaseNotice, &prison, &notice).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let allocation = app
        .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
        .await;
    let mut offer = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    offer["municipality"] = "751".into();
    offer["available_from"] = "2026-12-15".into();
    let home = app.accept(Kind::HousingOffer, &allocation, &offer).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = signed_in(app, "alice").await;
    let csrf = alice.csrf_token(app).await;

    let page = text(alice.get(app, &format!("/sager/{home}")).await).await;
    assert!(
        page.contains("<h2 id=\"svar\">Svar til boligtildelingen</h2>"),
        "{page}"
    );
    assert!(page.contains("<legend>Hvem foreslår I til boligen?</legend>"));
    assert!(
        page.contains(&format!("<label for=\"valg-{citizen}\">Nr. 1: sag {citizen}</label>")),
        "{page}"
    );
    assert!(page.contains("<label for=\"svar-grund\">"));
    assert!(page.contains("<option value=\"passed_on\">boligen er givet videre</option>"));

    // Sent with nothing chosen: refused in Danish, nothing recorded.
    let refused = post_form(
        &alice,
        app,
        &format!("/sager/{home}/svar"),
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(text(refused).await.contains("Vælg en kandidat"));
    assert_eq!(last_audit(app, "housing.answer").await["outcome"], "refused");

    let given = post_form(
        &alice,
        app,
        &format!("/sager/{home}/svar"),
        &format!("csrf_token={csrf}&valg={citizen}&grund=other"),
    )
    .await;
    assert_eq!(given.status(), 303);
    let page = text(alice.get(app, &format!("/sager/{home}?udfoert=svaret")).await).await;
    assert!(page.contains("Svaret på boligen er givet."));
    assert!(
        page.contains(&format!(
            "Foreslået: <a href=\"/sager/{citizen}\">{citizen}</a> (nr. 1 på listen)"
        )),
        "{page}"
    );
    assert!(
        !page.contains("<legend>Hvem foreslår"),
        "no second answer: the form is gone"
    );
    let entry = last_audit(app, "housing.answer").await;
    assert_eq!(
        (
            entry["actor"].as_str(),
            entry["outcome"].as_str(),
            entry["case_ref"].as_str()
        ),
        (Some("alice"), Some("ok"), Some(home.as_str()))
    );
    assert_eq!(
        last_audit(app, "deadline.resolve").await["actor"],
        "alice",
        "the deadline to answer resolved by the same person"
    );

    let page = text(alice.get(app, &format!("/sager/{citizen}")).await).await;
    assert!(
        page.contains(&format!(
            "Foreslået til ledig bolig på sag <a href=\"/sager/{home}\">{home}</a>"
        )),
        "{page}"
    );
}

#[tokio::test]
async fn a_search_by_cpr_number_finds_the_case_and_leaves_the_number_in_no_url() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let case_ref = app
        .accept(Kind::ReleaseNotice, &prison, &release_notice("KIF-SOEG-1", CPR, "751"))
        .await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = signed_in(app, "alice").await;
    let csrf = alice.csrf_token(app).await;
    let mut visited: Vec<String> = Vec::new();

    let form = alice.get(app, "/soeg").await;
    visited.push(form.url().to_string());
    assert_eq!(form.status(), 200);
    let page = text(form).await;
    assert!(page.contains("aria-current=\"page\">Søg") && page.contains("<label for=\"cpr\">CPR-nummer</label>"));

    let mut search = async |form: &str| {
        let response = post_form(&alice, app, "/soeg", form).await;
        visited.push(response.url().to_string());
        if let Some(location) = response.headers().get("location") {
            visited.push(location.to_str().unwrap().to_owned());
        }
        response
    };
    let found = search(&format!("csrf_token={csrf}&cpr={CPR}")).await;
    assert_eq!(found.status(), 303);
    assert_eq!(found.headers()["location"], format!("/sager/{case_ref}").as_str());
    let entry = last_audit(app, "case.search").await;
    assert_eq!(
        (entry["actor"].as_str(), entry["case_ref"].as_str()),
        (Some("alice"), Some(case_ref.as_str()))
    );

    let compact = search(&format!("csrf_token={csrf}&cpr=1503851234")).await;
    assert_eq!(compact.status(), 303, "ten digits without the dash too");

    let bad = search(&format!("csrf_token={csrf}&cpr=150385-12")).await;
    assert_eq!(bad.status(), 422);
    let page = text(bad).await;
    assert!(page.contains("Det er ikke et gyldigt CPR-nummer."));
    assert!(!page.contains("150385"), "the entered value is not echoed");

    let empty = search(&format!("csrf_token={csrf}&efter=cpr&cpr=")).await;
    assert_eq!(empty.status(), 422);
    assert!(text(empty).await.contains("Det er ikke et gyldigt CPR-nummer."));

    let none = search(&format!("csrf_token={csrf}&cpr=010190-2345")).await;
    assert_eq!(none.status(), 200);
    assert!(
        text(none)
            .await
            .contains("Der er ingen sag i kommunen med det CPR-nummer.")
    );
    assert_eq!(last_audit(app, "case.search").await["outcome"], "not-found");

    let by_ref = search(&format!("csrf_token={csrf}&sag={}", case_ref.to_lowercase())).await;
    assert_eq!(by_ref.status(), 303);
    assert_eq!(by_ref.headers()["location"], format!("/sager/{case_ref}").as_str());
    let not_a_ref = search(&format!("csrf_token={csrf}&sag=sag+12")).await;
    assert_eq!(not_a_ref.status(), 422);
    assert!(
        text(not_a_ref)
            .await
            .contains("Et sagsnummer skrives som K-2026-000123.")
    );

    let forged = search(&format!("cpr={CPR}")).await;
    assert_eq!(forged.status(), 403, "a form without the CSRF token is refused");

    for url in &visited {
        assert!(
            !url.contains("150385") && !url.contains("1503851234"),
            "a CPR number in a URL: {url}"
        );
    }
    assert!(visited.len() >= 8, "{visited:?}");
}

#[tokio::test]
async fn a_long_case_is_shown_fifty_messages_to_a_page() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let mut case_ref = String::new();
    for i in 0..200 {
        let notice = release_notice(&format!("KIF-LANG-{i}"), CPR, "751");
        case_ref = app.accept(Kind::ReleaseNotice, &prison, &notice).await["case_ref"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let alice = signed_in(app, "alice").await;

    let first = alice.get(app, &format!("/sager/{case_ref}")).await;
    assert_eq!(first.status(), 200);
    let page = text(first).await;
    assert!(page.contains("200 beskeder, den nyeste først."));
    assert_eq!(page.matches("<li class=\"entry\">").count(), 50);
    assert!(page.contains(&format!(
        "href=\"/sager/{case_ref}?side=2#tidslinje\" rel=\"next\">Ældre beskeder"
    )));
    assert!(!page.contains("rel=\"prev\""));

    let last = text(alice.get(app, &format!("/sager/{case_ref}?side=4")).await).await;
    assert_eq!(last.matches("<li class=\"entry\">").count(), 50);
    assert!(last.contains("rel=\"prev\">Nyere beskeder") && !last.contains("rel=\"next\""));
    let beyond = text(alice.get(app, &format!("/sager/{case_ref}?side=9")).await).await;
    assert!(beyond.contains("Side 4"), "a page beyond the end shows the last");
}

/// The real binary's log output while a caseworker searches by CPR number, opens the case and
/// shows the number and name: none of them in any line.
#[tokio::test]
async fn searching_and_revealing_leave_no_cpr_number_or_name_in_the_log() {
    let data = tempfile::tempdir().unwrap();
    let prison = crate::binary::prison_token(data.path());
    let port = crate::provider::free_port();
    let gateway = format!("http://127.0.0.1:{port}");
    let provider = crate::provider::OidcProvider::start(&gateway);
    let config = data.path().join("indgang.toml");
    std::fs::write(&config, crate::provider::gateway_config(&gateway, &provider.issuer)).unwrap();
    let served = crate::binary::serve_configured(
        data.path(),
        "debug",
        Some(&config),
        &[("INDGANG__SERVER__BIND".to_owned(), format!("127.0.0.1:{port}"))],
    );
    let address = served.address.clone();
    let client = crate::helpers::client();
    let receipt: Value = client
        .post(format!("{address}/v1/release-notices"))
        .bearer_auth(&prison)
        .json(&release_notice("KIF-LOG-1", CPR, "751"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_ref = receipt["case_ref"].as_str().unwrap().to_owned();

    let alice = crate::provider::Browser::default();
    let callback = alice.through_provider_at(&address, "alice", "/auth/login").await;
    assert_eq!(alice.client.get(callback).send().await.unwrap().status(), 303);
    let session: Value = alice
        .client
        .get(format!("{address}/auth/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let post = async |path: &str, form: String| {
        alice
            .client
            .post(format!("{address}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap()
    };
    let found = post("/soeg", format!("csrf_token={csrf}&cpr={CPR}")).await;
    assert_eq!(found.headers()["location"], format!("/sager/{case_ref}").as_str());
    assert_eq!(
        post("/soeg", format!("csrf_token={csrf}&cpr=150385-12")).await.status(),
        422
    );
    let page = alice
        .client
        .get(format!("{address}/sager/{case_ref}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let revealed = post(&format!("/sager/{case_ref}/vis"), format!("csrf_token={csrf}")).await;
    assert!(revealed.text().await.unwrap().contains(NAME));

    let lines = served.lines.clone();
    let (status, stderr) = served.stop(libc::SIGTERM);
    assert!(status.success());
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("case read") && l.contains(&case_ref)),
        "the test saw the page's log lines"
    );
    let log = format!("{}\n{stderr}", lines.join("\n"));
    for secret in ["150385", "1503851234", NAME, "Mikkelsen"] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
}
