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
    let housing = deadline_id(&deadlines, "housing");
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

/// A release notice from Horsens to `municipality`, the release on `release`.
fn released(id: &str, cpr: &str, municipality: &str, release: &str) -> serde_json::Value {
    let mut notice = release_notice(id, cpr, municipality);
    notice["release"]["expected_date"] = release.into();
    notice.as_object_mut().unwrap().remove("release_meeting");
    notice
}

/// The cells of the table row headed `head` (`<th scope="row">`), as the page shows them.
fn row(page: &str, head: &str) -> Vec<String> {
    let start = format!("<th scope=\"row\">{head}</th>");
    let rest = page
        .split(&start)
        .nth(1)
        .unwrap_or_else(|| panic!("no row {head}: {page}"));
    let row = rest.split("</tr>").next().unwrap();
    row.split("<td class=\"num\">")
        .skip(1)
        .map(|cell| cell.split("</td>").next().unwrap().to_owned())
        .collect()
}

/// The chart's text alternative: the figures in words.
fn chart_words(page: &str) -> String {
    let svg = page.split("<svg ").nth(1).unwrap_or_else(|| panic!("no chart: {page}"));
    assert!(svg.starts_with("xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\""));
    svg.split("aria-label=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// A page's own text: no inline script or style, which the Content-Security-Policy forbids.
async fn page_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script") && !page.contains("style=") && !page.contains("<style"));
    page
}

/// Resolves the open housing deadline of a case with its first outcome, as a caseworker.
async fn resolve_housing(app: &TestApp, token: &str, case_ref: &str) {
    let open: serde_json::Value = app.get("/v1/deadlines?state=open", token).await.json().await.unwrap();
    let deadline = open["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy"] == "housing" && d["case_ref"] == case_ref)
        .expect("the case's housing deadline")
        .clone();
    let resolved = app
        .client
        .post(format!("{}/v1/deadlines/{}/resolve", app.address, deadline["id"]))
        .bearer_auth(token)
        .json(&serde_json::json!({ "outcome": deadline["outcomes"][0] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
}

#[tokio::test]
async fn the_reports_show_the_same_figures_in_chart_and_table_and_follow_what_happens() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let aarhus = app.caseworker_token("751").await;
    // Monday 23 November 2026: a release in Aarhus on 10 December, without housing.
    let first = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &released("KIF-R-1", "150385-1234", "751", "2026-12-10"),
        )
        .await;

    let alice = signed_in(app, "alice").await;
    let overview = page_of(alice.get(app, "/rapporter").await).await;
    assert!(overview.contains("aria-current=\"page\">Rapporter"));
    assert!(overview.contains("Aarhus Kommune"), "{overview}");
    for path in ["institutioner", "kommuner", "teams"] {
        assert!(overview.contains(&format!("href=\"/rapporter/{path}\"")));
    }

    let page = page_of(alice.get(app, "/rapporter/kommuner").await).await;
    assert!(page.contains("Målsætning 4"));
    assert!(
        chart_words(&page).contains("23. november 2026: 1"),
        "{}",
        chart_words(&page)
    );
    assert_eq!(row(&page, "23. november 2026 (nu)"), ["1"]);
    assert_eq!(row(&page, "16. november 2026"), ["0"], "a week ago nobody was known");
    assert_eq!(row(&page, "Aarhus (751)"), ["1", "0"]);
    assert!(!page.contains("<select"), "a caseworker has no municipality to choose");
    assert!(page.contains("<label for=\"fra\">") && page.contains("<label for=\"til\">"));

    // A second citizen due in Aarhus, one in Copenhagen: Aarhus's figure goes up, and only it.
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &released("KIF-R-2", "010190-2345", "751", "2026-12-01"),
    )
    .await;
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &released("KIF-R-3", "020290-3456", "101", "2026-12-01"),
    )
    .await;
    let page = page_of(alice.get(app, "/rapporter/kommuner").await).await;
    assert!(chart_words(&page).contains("23. november 2026: 2"));
    assert_eq!(row(&page, "23. november 2026 (nu)"), ["2"]);
    assert!(!page.contains("København (101)"), "another municipality is not shown");

    // The CSV link downloads the same report with the session.
    let csv_link = page
        .split("<a class=\"button\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    assert!(
        csv_link.starts_with("/v1/reports/municipalities?format=csv&"),
        "{csv_link}"
    );
    let csv = alice.get(app, &csv_link).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.text().await.unwrap().contains("751,Aarhus,2,0"));

    // The teams' deadlines before and after the housing deadline is resolved in time.
    let teams = page_of(alice.get(app, "/rapporter/teams").await).await;
    let before: Vec<String> = row(&teams, "intake");
    resolve_housing(app, &aarhus, first["case_ref"].as_str().unwrap()).await;
    let page = page_of(alice.get(app, "/rapporter/kommuner").await).await;
    assert!(chart_words(&page).contains("23. november 2026: 1"));
    assert_eq!(row(&page, "23. november 2026 (nu)"), ["1"], "the figure went down");
    let teams = page_of(alice.get(app, "/rapporter/teams").await).await;
    let after = row(&teams, "intake");
    let met = |cells: &[String]| cells[0].parse::<u32>().unwrap();
    assert_eq!(
        met(&after),
        met(&before) + 1,
        "one more met on time: {before:?} {after:?}"
    );
    assert!(
        chart_words(&teams).contains(&format!("intake: {} overholdt, {} overskredet", after[0], after[1])),
        "{}",
        chart_words(&teams)
    );
    assert!(teams.contains("<th scope=\"col\">Team</th>"));

    let institutions = page_of(alice.get(app, "/rapporter/institutioner").await).await;
    assert!(
        chart_words(&institutions).contains("Anstalten ved Horsens: 2 meddelelser"),
        "{}",
        chart_words(&institutions)
    );
    assert_eq!(row(&institutions, "Anstalten ved Horsens")[0], "2");

    // A week later the chart has a history.
    app.clock.set("2026-11-30T12:00:00Z".parse().unwrap());
    app.drain().await;
    let alice = signed_in(app, "alice").await;
    let page = page_of(alice.get(app, "/rapporter/kommuner").await).await;
    assert_eq!(row(&page, "23. november 2026"), ["1"], "as it stood a week ago");
    assert_eq!(row(&page, "30. november 2026 (nu)"), ["1"]);

    // A caseworker sees their own municipality only; an operator chooses.
    let refused = alice.get(app, "/rapporter/kommuner?kommune=101").await;
    assert_eq!(refused.status(), 403);
    assert!(text(refused).await.contains("Du har ikke adgang"));
    let carl = signed_in(app, "carl").await;
    let page = page_of(carl.get(app, "/rapporter/kommuner").await).await;
    assert_eq!(row(&page, "30. november 2026 (nu)"), ["1"]);
    assert!(page.contains("København (101)") && !page.contains("Aarhus (751)"));
    let olga = signed_in(app, "olga").await;
    let page = page_of(olga.get(app, "/rapporter/kommuner").await).await;
    assert_eq!(row(&page, "30. november 2026 (nu)"), ["2"], "every municipality");
    assert!(page.contains("<option value=\"\">Alle kommuner</option>"));
    let page = page_of(olga.get(app, "/rapporter/kommuner?kommune=751").await).await;
    assert_eq!(row(&page, "30. november 2026 (nu)"), ["1"]);
    assert!(page.contains("<option value=\"751\" selected>Aarhus (751)</option>"));

    let page = page_of(alice.get(app, "/rapporter/teams?fra=2026-01-01&til=2026-06-30").await).await;
    assert!(page.contains("1. januar 2026 – 30. juni 2026"));
    assert!(page.contains("href=\"&#x2f;v1&#x2f;reports&#x2f;teams?format=csv&amp;from=2026-01-01&amp;to=2026-07-01&amp;municipality=751\""));
    let bad = alice.get(app, "/rapporter/teams?fra=2026-12-01&til=2026-01-01").await;
    assert_eq!(bad.status(), 400);
    assert!(text(bad).await.contains("Fra-datoen skal ligge før til-datoen."));
    assert_eq!(alice.get(app, "/rapporter/andet").await.status(), 404);
    let post = post_form(&alice, app, "/rapporter/teams", "").await;
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn the_operations_page_replays_dead_letters_and_pauses_a_destination_for_operators_only() {
    use crate::receiver::{Receiver, Reply};
    let receiver = Receiver::start().await;
    let settings = receiver.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let it = crate::provider::spawn_with_provider(&env).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    receiver.script([Reply::status(400)]);
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("KIF-D-1", "150385-1234", "751"),
    )
    .await;
    app.drain().await;
    let operator = app.operator_token().await;
    let dead: serde_json::Value = app.get("/v1/dead-letters", &operator).await.json().await.unwrap();
    let delivery_id = dead["dead_letters"][0]["delivery_id"].as_str().unwrap().to_owned();

    let alice = signed_in(app, "alice").await;
    let refused = alice.get(app, "/drift").await;
    assert_eq!(refused.status(), 403, "a caseworker has no operations page");
    let page = text(refused).await;
    assert!(page.contains("Du har ikke adgang"));
    assert!(!page.contains("href=\"/drift\""), "nor a menu entry for it");

    let olga = signed_in(app, "olga").await;
    let page = page_of(olga.get(app, "/drift").await).await;
    assert!(page.contains("aria-current=\"page\">Drift"));
    assert!(page.contains("<th scope=\"row\">case_system</th>"), "{page}");
    assert!(page.contains(&format!("<code>{delivery_id}</code>")));
    assert!(page.contains("refused permanently"));
    assert_eq!(row(&page, "case_system"), ["0", "1"], "nothing queued, one dead letter");

    let csrf = olga.csrf_token(app).await;
    let forged = post_form(&olga, app, "/drift/genafsend", &format!("levering={delivery_id}")).await;
    assert_eq!(forged.status(), 403, "a form without the CSRF token is refused");
    let before = receiver.received().len();
    let done = post_form(
        &olga,
        app,
        "/drift/genafsend",
        &format!("csrf_token={csrf}&levering={delivery_id}"),
    )
    .await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/drift?genafsendt=1");
    app.drain().await;
    assert_eq!(receiver.received().len(), before + 1, "the dead letter went out again");
    let page = page_of(olga.get(app, "/drift?genafsendt=1").await).await;
    assert!(page.contains("1 levering er sendt igen."));
    assert!(page.contains("Der er ingen opgivne leveringer."));

    // Paused: nothing goes out until resumed.
    let paused = post_form(
        &olga,
        app,
        "/drift/pause",
        &format!("csrf_token={csrf}&modtager=case_system"),
    )
    .await;
    assert_eq!(paused.status(), 303);
    assert_eq!(paused.headers()["location"], "/drift?pauset=case_system");
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("KIF-D-2", "010190-2345", "751"),
    )
    .await;
    app.drain().await;
    assert_eq!(
        receiver.received().len(),
        before + 1,
        "a paused destination gets nothing"
    );
    let page = page_of(olga.get(app, "/drift?pauset=case_system").await).await;
    assert!(page.contains("case_system er pauset."));
    assert!(
        page.contains("Pauset af driften, til den genoptages (af "),
        "who paused it, and since when"
    );
    assert_eq!(row(&page, "case_system")[0], "1", "the notice waits in the queue");
    let status: serde_json::Value = app.get("/v1/status", &operator).await.json().await.unwrap();
    let case_system = status["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "case_system")
        .unwrap()
        .clone();
    assert_eq!(case_system["paused"], true);
    assert_eq!(case_system["paused_by_operator"], true);
    assert!(case_system["paused_by"].is_string(), "{case_system}");
    assert!(case_system["paused_since"].is_string(), "{case_system}");

    let resumed = post_form(
        &olga,
        app,
        "/drift/genoptag",
        &format!("csrf_token={csrf}&modtager=case_system"),
    )
    .await;
    assert_eq!(resumed.status(), 303);
    app.drain().await;
    assert_eq!(
        receiver.received().len(),
        before + 2,
        "resumed, the waiting notice goes out"
    );
    let page = page_of(olga.get(app, "/drift?genoptaget=case_system").await).await;
    assert!(page.contains("case_system er genoptaget."));
    assert!(!page.contains("Pauset af driften"));

    let unknown = post_form(
        &olga,
        app,
        "/drift/pause",
        &format!("csrf_token={csrf}&modtager=nowhere"),
    )
    .await;
    assert_eq!(unknown.status(), 404);

    let auditor = app.auditor_token().await;
    for (action, target) in [
        ("delivery.replay", delivery_id.as_str()),
        ("destination.pause", "case_system"),
        ("destination.resume", "case_system"),
    ] {
        let audit: serde_json::Value = app
            .get(&format!("/v1/audit?action={action}"), &auditor)
            .await
            .json()
            .await
            .unwrap();
        let entry = &audit["entries"][0];
        assert_eq!(entry["actor"], "olga", "{audit}");
        assert_eq!(entry["actor_kind"], "person");
        assert_eq!(entry["target"], target, "{audit}");
        assert_eq!(entry["outcome"], "ok", "{audit}");
    }
}

#[tokio::test]
async fn the_housing_report_page_counts_the_vacant_homes_offered_and_answered() {
    let it = crate::provider::spawn_with_provider(&[]).await;
    let app = &it.app;
    let allocation = app
        .sender_token(example_sender(Kind::HousingOffer), &[Kind::HousingOffer])
        .await;
    let mut offer = example(Kind::HousingOffer, "valid/vacant-skaev-bolig");
    offer["municipality"] = "751".into();
    let home = app.accept(Kind::HousingOffer, &allocation, &offer).await["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let aarhus = app.caseworker_token("751").await;
    let answered = app
        .client
        .post(format!("{}/v1/cases/{home}/housing-answer", app.address))
        .bearer_auth(&aarhus)
        .json(&serde_json::json!({ "reason": "no_candidate_fits" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);

    let alice = signed_in(app, "alice").await;
    let overview = page_of(alice.get(app, "/rapporter").await).await;
    assert!(overview.contains("href=\"/rapporter/boliger\""));
    let page = page_of(alice.get(app, "/rapporter/boliger").await).await;
    assert!(page.contains("Ledige boliger til anvisning"));
    assert!(
        chart_words(&page).contains("2026-11 Aarhus: 1 tilbudt, 1 besvaret rettidigt"),
        "{}",
        chart_words(&page)
    );
    assert_eq!(row(&page, "2026-11 Aarhus"), ["1", "1", "1", "0", "0", "0"]);
}
