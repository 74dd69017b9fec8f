//! The caseworker's walk through the pages in a real browser, as the issue tells it: sign in,
//! see a new release notice in the inbox, acknowledge it (by keyboard alone), open the case,
//! meet the housing deadline, see the Målsætning 4 figure go down, sign out — and the same core
//! actions with JavaScript off; and the answer on a vacant home given from its case page. Every
//! page on the way passes axe-core, fits the window at 200 % zoom, and is photographed for
//! docs/web.md.

use super::{Chromium, JavaScript, Key};
use crate::helpers::{TestApp, release_notice};
use crate::provider::spawn_with_provider;
use indgang::domain::Kind;
use serde_json::Value;

/// A release notice for a citizen of Aarhus due out within the month (the test clock is 23
/// November 2026), without housing: the citizen counts in the Målsætning 4 figure.
async fn notice_due_soon(app: &TestApp, message_id: &str, cpr: &str) -> (String, String, i64) {
    let prison = app.prison_token().await;
    let mut notice = release_notice(message_id, cpr, "751");
    notice["release"]["expected_date"] = "2026-12-10".into();
    let receipt = app.accept(Kind::ReleaseNotice, &prison, &notice).await;
    let case = receipt["case_ref"].as_str().unwrap().to_owned();
    let caseworker = app.caseworker_token("751").await;
    let deadlines: Value = app
        .get(&format!("/v1/cases/{case}"), &caseworker)
        .await
        .json()
        .await
        .unwrap();
    let housing = deadlines["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy"] == "housing" && d["state"] == "open")
        .unwrap_or_else(|| panic!("an open housing deadline: {deadlines}"))["id"]
        .as_i64()
        .unwrap();
    (case, receipt["receipt_id"].as_str().unwrap().to_owned(), housing)
}

/// Checks the page the browser shows as every page must be: no console errors (nothing the
/// policy blocked), no serious accessibility fault, no sideways scrolling at 200 %; and takes
/// its picture.
async fn as_every_page_must_be(chromium: &Chromium, picture: &str) {
    assert_eq!(
        chromium.console_errors().await,
        Vec::<String>::new(),
        "{}: nothing blocked, no script errors",
        chromium.path().await
    );
    chromium.assert_accessible().await;
    chromium.screenshot(picture).await;
    chromium.zoom(200).await;
    assert_eq!(
        chromium.sideways_overflow().await,
        0,
        "{}: at 200 % the page fits the window's width",
        chromium.path().await
    );
    chromium.zoom(100).await;
}

#[tokio::test]
async fn a_caseworker_goes_from_the_inbox_to_the_case_and_meets_the_housing_deadline() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let (case, receipt_id, housing) = notice_due_soon(app, "KIF-WALK-1", "150385-1234").await;
    let chromium = Chromium::start(app, JavaScript::On).await;

    chromium.sign_in_to("alice", "/indbakke").await;
    assert_eq!(chromium.path().await, "/indbakke");
    assert_eq!(chromium.signed_in_as().await.as_deref(), Some("Alice Andersen"));
    // What the provider's own pages logged (they ask the internet for a font) is theirs.
    chromium.console_errors().await;
    chromium.goto("/indbakke").await;
    assert!(
        chromium.text("#indbakke").await.contains(&case),
        "the new notice is in the inbox"
    );
    as_every_page_must_be(&chromium, "indbakke").await;

    // Acknowledged by keyboard alone: Tab to the row's button, Enter.
    chromium.goto("/indbakke").await;
    let button = format!("button[name=one][value='{receipt_id}']");
    chromium.tab_to(&button).await;
    chromium.press_and_load(Key::Enter).await;
    assert!(chromium.text(".flash").await.contains("1 besked er kvitteret"));
    assert!(!chromium.exists(&button).await, "acknowledged: out of the inbox");

    chromium.goto("/frister?vis=aabne").await;
    assert!(chromium.text("#frister").await.contains("Boligløsning på plads"));
    as_every_page_must_be(&chromium, "frister").await;

    chromium.click(&format!("#frister a[href='/sager/{case}']")).await;
    assert_eq!(chromium.path().await, format!("/sager/{case}"));
    let page = chromium.text("main").await;
    assert!(
        page.contains("150385-••••") && !page.contains("150385-1234"),
        "masked until asked"
    );
    as_every_page_must_be(&chromium, "sag").await;

    chromium.goto("/rapporter/kommuner").await;
    assert_eq!(
        due_without_housing(&chromium).await,
        "1",
        "the citizen counts in the figure"
    );
    as_every_page_must_be(&chromium, "rapporter").await;

    chromium.goto(&format!("/sager/{case}")).await;
    chromium
        .toggle(&format!("#udfald-{housing} option[value=public_housing]"))
        .await;
    chromium.click("button[aria-label='Løs: Boligløsning på plads']").await;
    assert!(chromium.exists(".flash").await, "a confirmation on the case page");
    chromium.goto("/rapporter/kommuner").await;
    assert_eq!(
        due_without_housing(&chromium).await,
        "0",
        "housed: the figure went down"
    );
    let caseworker = app.caseworker_token("751").await;
    let deadline: Value = app
        .get(&format!("/v1/cases/{case}"), &caseworker)
        .await
        .json()
        .await
        .unwrap();
    let met = deadline["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == housing)
        .unwrap();
    assert_eq!(met["state"], "met");
    assert_eq!(met["outcome"], "public_housing");

    chromium.goto("/soeg").await;
    as_every_page_must_be(&chromium, "soeg").await;

    chromium.sign_out().await;
    assert_eq!(chromium.session().await["status"], 401, "signed out");

    // The operator's page, in the same browser.
    chromium.sign_in_to("olga", "/drift").await;
    chromium.console_errors().await;
    chromium.goto("/drift").await;
    as_every_page_must_be(&chromium, "drift").await;
    chromium.sign_out().await;
}

/// The Målsætning 4 figure now: the table row of today on the municipalities' report page.
async fn due_without_housing(chromium: &Chromium) -> String {
    let rows = chromium.texts("table tr").await;
    let today = rows
        .iter()
        .find(|row| row.starts_with("23. november 2026 (nu)"))
        .unwrap_or_else(|| panic!("a row for today in {rows:?}"));
    today.rsplit(' ').next().unwrap().trim().to_owned()
}

#[tokio::test]
async fn with_javascript_off_acknowledging_and_resolving_still_work() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let (case, receipt_id, housing) = notice_due_soon(app, "KIF-PLAIN-1", "010190-2345").await;
    let chromium = Chromium::start(app, JavaScript::Off).await;

    chromium.sign_in_to("alice", "/indbakke").await;
    chromium
        .toggle(&format!("input[name=receipt][value='{receipt_id}']"))
        .await;
    chromium.click("form[action='/indbakke/kvitter'] > p > button").await;
    assert!(chromium.text(".flash").await.contains("1 besked er kvitteret"));

    chromium.goto(&format!("/sager/{case}")).await;
    chromium
        .toggle(&format!("#udfald-{housing} option[value=public_housing]"))
        .await;
    chromium.click("button[aria-label='Løs: Boligløsning på plads']").await;
    assert!(chromium.exists(".flash").await);
    chromium.goto("/frister?vis=overholdte").await;
    assert!(chromium.text("#frister").await.contains("Almen bolig af alice"));
}

#[tokio::test]
async fn the_answer_on_a_vacant_home_is_given_from_its_case_page() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let (citizen, _, _) = notice_due_soon(app, "KIF-SVAR-1", "010190-2345").await;
    let allocation = app
        .sender_token(
            crate::helpers::example_sender(Kind::HousingOffer),
            &[Kind::HousingOffer],
        )
        .await;
    let mut offer = crate::helpers::example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    offer["municipality"] = "751".into();
    offer["available_from"] = "2026-12-15".into();
    let home = app.accept(Kind::HousingOffer, &allocation, &offer).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let chromium = Chromium::start(app, JavaScript::On).await;

    chromium.sign_in_to("alice", &format!("/sager/{home}")).await;
    // What the provider's own pages logged is theirs.
    chromium.console_errors().await;
    chromium.goto(&format!("/sager/{home}")).await;
    as_every_page_must_be(&chromium, "sag-ledig-bolig").await;
    chromium.toggle(&format!("#valg-{citizen}")).await;
    chromium.click("form[action$='/svar'] button").await;
    assert!(chromium.text(".flash").await.contains("Svaret på boligen er givet."));
    assert!(chromium.text("#svar + dl").await.contains(&citizen), "the answer shown");
    as_every_page_must_be(&chromium, "sag-ledig-bolig-besvaret").await;
}
