//! The pages' frame: the front page in Danish, its style sheet from the binary, and the headers
//! that keep pages with personal data out of frames and caches.

use crate::helpers::*;
use indgang::domain::Kind;

mod case;

#[tokio::test]
async fn the_front_page_is_danish_html_with_protective_headers_and_its_own_style_sheet() {
    let app = spawn_app().await;
    let response = app.client.get(format!("{}/", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"));
    assert!(!policy.contains("unsafe-inline"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("<html lang=\"da\">"));
    assert!(page.contains("Velkommen til indgang"));
    let style = page
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(style.starts_with("/static/app.") && style.ends_with(".css"), "{style}");

    let css = app.client.get(format!("{}{style}", app.address)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(css.text().await.unwrap().contains("--accent"));

    let head = app.client.head(format!("{}/", app.address)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let post = app.client.post(format!("{}/", app.address)).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");

    assert!(
        page.contains("Log ind er ikke sat op"),
        "without auth.oidc.issuer there is no sign-in to offer"
    );
    let logout = app
        .client
        .get(format!("{}/auth/logout", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 405);
    assert_eq!(logout.headers()["allow"], "POST");

    let api = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert!(
        api.headers().get("content-security-policy").is_none(),
        "the API's answers are left as they are"
    );
}

#[tokio::test]
async fn with_sign_in_set_up_the_front_page_offers_it() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let page = it
        .app
        .client
        .get(format!("{}/", it.app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<a class=\"button\" href=\"/auth/login?return_to=%2Findbakke\">Log ind</a>"),
        "{page}"
    );
    assert!(!page.contains("ikke sat op"));
}

/// Signs `login` in with a scripted browser and follows the callback to the page it returns to.
pub(crate) async fn signed_in(app: &TestApp, login: &str) -> crate::provider::Browser {
    let browser = crate::provider::Browser::default();
    let callback = browser.sign_in(app, login).await;
    assert_eq!(callback.status(), 303, "{login} signs in");
    browser
}

pub(crate) async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

/// Posts a page form as a browser does.
pub(crate) async fn post_form(
    browser: &crate::provider::Browser,
    app: &TestApp,
    path: &str,
    form: &str,
) -> reqwest::Response {
    browser
        .client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_inbox_shows_the_teams_new_messages_and_acknowledges_them_with_a_plain_form() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;

    let asked = app
        .client
        .get(format!("{}/indbakke?side=2", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        asked.status(),
        303,
        "not signed in: to the sign-in, and back here after"
    );
    assert_eq!(
        asked.headers()["location"],
        "/auth/login?return_to=%2Findbakke%3Fside%3D2"
    );

    let prison = app.prison_token().await;
    let first = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-IN-1", "150385-1234", "751"),
        )
        .await;
    let second = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-IN-2", "010190-2345", "751"),
        )
        .await;
    let elsewhere = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-IN-3", "020290-3456", "101"),
        )
        .await;
    let case_of = |receipt: &serde_json::Value| receipt["case_ref"].as_str().unwrap().to_owned();

    let alice = signed_in(app, "alice").await;
    let inbox = alice.get(app, "/indbakke").await;
    assert_eq!(inbox.status(), 200);
    assert_eq!(inbox.headers()["cache-control"], "no-store");
    let page = text(inbox).await;
    assert!(
        page.contains("Alice Andersen"),
        "the page header names who is signed in"
    );
    assert!(page.contains("aria-current=\"page\">Indbakke"));
    for receipt in [&first, &second] {
        assert!(
            page.contains(&format!("href=\"/sager/{}\"", case_of(receipt))),
            "{page}"
        );
    }
    assert!(
        !page.contains(&case_of(&elsewhere)),
        "another municipality's message is not shown"
    );
    assert!(page.contains("Løsladelse"));
    assert!(!page.contains("150385"), "no CPR number in the inbox");

    let csrf = alice.csrf_token(app).await;
    let first_id = first["receipt_id"].as_str().unwrap();
    let forged = post_form(&alice, app, "/indbakke/kvitter", &format!("one={first_id}")).await;
    assert_eq!(
        forged.status(),
        403,
        "a form without the session's CSRF token is refused"
    );
    assert!(
        forged.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        forged.headers()
    );

    let done = post_form(
        &alice,
        app,
        "/indbakke/kvitter",
        &format!("csrf_token={csrf}&one={first_id}"),
    )
    .await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/indbakke?kvitteret=1");
    let page = text(alice.get(app, "/indbakke?kvitteret=1").await).await;
    assert!(page.contains("1 besked er kvitteret."));
    assert!(
        !page.contains(&format!("value=\"{first_id}\"")),
        "the acknowledged message left the inbox"
    );
    assert!(page.contains(&case_of(&second)));

    let deadlines = alice.get(app, &format!("/v1/receipts/{first_id}")).await;
    assert_eq!(deadlines.status(), 200);
    let audit = app
        .get("/v1/audit?action=deadline.acknowledge", &app.auditor_token().await)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor_kind"], "person", "{audit}");
    assert_eq!(entry["actor"], "alice", "{audit}");
    assert_eq!(entry["case_ref"], case_of(&first).as_str());

    let other = format!("csrf_token={csrf}&one={}", elsewhere["receipt_id"].as_str().unwrap());
    let refused = post_form(&alice, app, "/indbakke/kvitter", &other).await;
    assert_eq!(
        refused.status(),
        404,
        "another municipality's message is as one that does not exist"
    );
    assert!(text(refused).await.contains("Siden findes ikke"));

    let olga = signed_in(app, "olga").await;
    let operator = olga.get(app, "/indbakke").await;
    assert_eq!(operator.status(), 403);
    let page = text(operator).await;
    assert!(
        page.contains("Du har ikke adgang") && page.contains("Olga Operatør"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/drift\""),
        "an operator's menu leads to the operations page"
    );
}

#[tokio::test]
async fn the_deadlines_page_lists_by_view_and_resolves_and_reopens_with_plain_forms() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-FR-1", "150385-1234", "751"),
        )
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap();

    let alice = signed_in(app, "alice").await;
    let page = text(alice.get(app, "/frister").await).await;
    assert!(
        page.contains("<td>Boligløsning på plads</td>") && page.contains("<td>Kvittering for modtagelse</td>"),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/sager/{case_ref}\"")));
    assert!(!page.contains("150385"), "no CPR number on the deadlines page");

    let deadlines: serde_json::Value = alice.get(app, "/v1/deadlines?state=open").await.json().await.unwrap();
    let housing = deadlines["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy"] == "housing")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let csrf = alice.csrf_token(app).await;

    let unknown = post_form(
        &alice,
        app,
        &format!("/frister/{housing}/loes"),
        &format!("csrf_token={csrf}&outcome=nope"),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    assert!(text(unknown).await.contains("Det kunne ikke lade sig gøre"));

    let form = format!("csrf_token={csrf}&outcome=public_housing&tilbage=%2Ffrister%3Fvis%3Daabne");
    let resolved = post_form(&alice, app, &format!("/frister/{housing}/loes"), &form).await;
    assert_eq!(resolved.status(), 303);
    assert_eq!(resolved.headers()["location"], "/frister?vis=aabne&besked=loest");
    let page = text(alice.get(app, "/frister?vis=aabne&besked=loest").await).await;
    assert!(page.contains("Fristen er løst."));
    assert!(
        !page.contains("<td>Boligløsning på plads</td>"),
        "met: no longer among the open ones"
    );

    let met = text(alice.get(app, "/frister?vis=overholdte").await).await;
    assert!(
        met.contains("<td>Boligløsning på plads</td>") && met.contains("Almen bolig af alice"),
        "{met}"
    );

    let form = format!("csrf_token={csrf}&reason=not_done&tilbage=%2Ffrister%3Fvis%3Doverholdte");
    let reopened = post_form(&alice, app, &format!("/frister/{housing}/genaabn"), &form).await;
    assert_eq!(reopened.status(), 303);
    assert_eq!(
        reopened.headers()["location"],
        "/frister?vis=overholdte&besked=genaabnet"
    );
    let page = text(alice.get(app, "/frister?vis=aabne&frist=housing").await).await;
    assert!(page.contains("<td>Boligløsning på plads</td>"), "open again: {page}");
    assert!(
        !page.contains("<td>Kvittering for modtagelse</td>"),
        "only the kind chosen"
    );
    let case: serde_json::Value = alice
        .get(app, &format!("/v1/cases/{case_ref}"))
        .await
        .json()
        .await
        .unwrap();
    let history = case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == housing)
        .unwrap()["history"]
        .clone();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "reopened" && e["details"]["reason"] == "not_done"),
        "the reason is kept in the deadline's history: {history}"
    );

    let wrong = alice.get(app, "/frister?vis=senere").await;
    assert_eq!(wrong.status(), 400);
    assert!(text(wrong).await.contains("Den visning findes ikke."));

    let carl = signed_in(app, "carl").await;
    let csrf = carl.csrf_token(app).await;
    let other = post_form(
        &carl,
        app,
        &format!("/frister/{housing}/genaabn"),
        &format!("csrf_token={csrf}&reason=other"),
    )
    .await;
    assert_eq!(
        other.status(),
        404,
        "another municipality's deadline is as one that does not exist"
    );
}

#[tokio::test]
async fn the_team_emails_link_leads_through_sign_in_back_to_the_case_page_and_holds_nothing_personal() {
    let it =
        crate::provider::spawn_with_provider(&[("INDGANG__WEB__PUBLIC_URL", "https://indgang.aarhus.example/")]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-MAIL-1", "150385-1234", "751"),
        )
        .await;
    let case_ref = receipt["case_ref"].as_str().unwrap();
    app.drain().await;

    let outbox: Vec<String> = std::fs::read_dir(app.data_dir.join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let link = format!("https://indgang.aarhus.example/sager/{case_ref}");
    let email = outbox
        .iter()
        .find(|text| text.contains(&link))
        .unwrap_or_else(|| panic!("{outbox:?}"));
    assert!(!email.contains("/v1/"), "the email leads to the page, not the API");

    // The link's path, opened by a browser that is not signed in: through the provider and back.
    let browser = crate::provider::Browser::default();
    let path = format!("/sager/{case_ref}");
    let callback = browser.through_provider_from(app, "alice", &path).await;
    let back = browser.client.get(callback).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(
        back.headers()["location"],
        path.as_str(),
        "back to the page the link named"
    );
}
