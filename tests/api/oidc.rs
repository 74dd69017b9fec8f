//! Sign-in for caseworkers with OpenID Connect, against a real provider (`provider.rs`): the
//! whole sign-in, roles from the groups claim, a person without a role, sessions that end,
//! forged and replayed states, CSRF, and sign-out. Each sign-in and sign-out leaves an audit
//! entry naming the person.

use crate::helpers::*;
use crate::provider::{Browser, spawn_with_provider};
use indgang::domain::Kind;
use serde_json::{Value, json};

/// The audit entries of one action, as an auditor reads them.
async fn entries(app: &TestApp, action: &str) -> Vec<Value> {
    let auditor = app.auditor_token().await;
    let response = app.get(&format!("/v1/audit?action={action}"), &auditor).await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["entries"].as_array().unwrap().clone()
}

fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

#[tokio::test]
async fn a_caseworker_signs_in_and_works_the_cases_of_their_municipality_only() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let prison = app.prison_token().await;
    let own = app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
    let other = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("KIF-OTHER-1", "010190-1235", "101"),
        )
        .await;
    let browser = Browser::default();

    let callback = browser.sign_in(app, "alice").await;

    assert_eq!(callback.status(), 303);
    assert_eq!(callback.headers()["location"], "/auth/session");
    let cookie = set_cookie(&callback, "indgang_session");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on loopback: {cookie}");
    let session: Value = browser.session(app).await.json().await.unwrap();
    assert_eq!(session["subject"], "alice");
    assert_eq!(session["name"], "Alice Andersen");
    assert_eq!(
        session["roles"],
        json!([{"role": "caseworker", "municipality": "751", "team": "intake"}]),
        "the role comes from the group claim"
    );
    let cases = browser.get(app, "/v1/cases").await;
    assert_eq!(cases.status(), 200);
    let cases: Value = cases.json().await.unwrap();
    assert_eq!(cases["cases"].as_array().unwrap().len(), 1, "only Aarhus's case");
    let case = browser
        .get(app, &format!("/v1/cases/{}", own["case_ref"].as_str().unwrap()))
        .await;
    assert_eq!(case.status(), 200);
    let foreign = browser
        .get(app, &format!("/v1/cases/{}", other["case_ref"].as_str().unwrap()))
        .await;
    assert_eq!(
        foreign.status(),
        404,
        "another municipality's case is as one that does not exist"
    );
    let foreign_receipt = browser
        .get(app, &format!("/v1/receipts/{}", other["receipt_id"].as_str().unwrap()))
        .await;
    assert_eq!(foreign_receipt.status(), 404);
    let audit = browser.get(app, "/v1/audit").await;
    assert_eq!(audit.status(), 403, "a caseworker does not read the audit log");

    let sign_ins = entries(app, "session.sign-in").await;
    assert_eq!(sign_ins.len(), 1);
    assert_eq!(sign_ins[0]["actor_kind"], "person");
    assert_eq!(sign_ins[0]["actor"], "alice");
    assert_eq!(sign_ins[0]["actor_name"], "Alice Andersen");
    assert_eq!(sign_ins[0]["outcome"], "ok");
    let reads = entries(app, "case.read").await;
    assert_eq!(reads.len(), 2, "the case read and the foreign one asked for");
    for read in &reads {
        assert_eq!(read["actor_kind"], "person");
        assert_eq!(read["actor"], "alice");
        assert_eq!(read["actor_name"], "Alice Andersen");
    }
}

#[tokio::test]
async fn other_groups_give_team_lead_operator_and_auditor() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    for (login, role, allowed, refused) in [
        (
            "lead",
            json!({"role": "team_lead", "municipality": "751"}),
            "/v1/deadlines",
            "/v1/status",
        ),
        ("olga", json!({"role": "operator"}), "/v1/status", "/v1/cases"),
        ("audrey", json!({"role": "auditor"}), "/v1/audit", "/v1/cases"),
    ] {
        let browser = Browser::default();
        assert_eq!(browser.sign_in(app, login).await.status(), 303, "{login}");
        let session: Value = browser.session(app).await.json().await.unwrap();
        assert_eq!(session["roles"], json!([role]), "{login}");
        assert_eq!(browser.get(app, allowed).await.status(), 200, "{login} {allowed}");
        assert_eq!(browser.get(app, refused).await.status(), 403, "{login} {refused}");
    }
}

#[tokio::test]
async fn a_person_without_a_role_gets_403_naming_the_claim_and_no_session() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let browser = Browser::default();

    let callback = browser.sign_in(app, "bob").await;

    assert_eq!(callback.status(), 403, "not a loop back to the sign-in");
    assert!(
        !callback
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("indgang_session=")),
        "no session for a person without a role"
    );
    let problem = problem(callback).await;
    assert_eq!(problem["type"], "urn:indgang:problem:no-role");
    assert!(problem["detail"].as_str().unwrap().contains("\"groups\""), "{problem}");
    assert_eq!(browser.session(app).await.status(), 401);
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 401);
    let sign_ins = entries(app, "session.sign-in").await;
    assert_eq!(sign_ins.len(), 1);
    assert_eq!(sign_ins[0]["actor"], "bob");
    assert_eq!(sign_ins[0]["outcome"], "refused");
}

#[tokio::test]
async fn a_session_ends_when_idle_too_long() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let browser = Browser::default();
    assert_eq!(browser.sign_in(app, "alice").await.status(), 303);
    app.clock.advance(std::time::Duration::from_secs(29 * 60));
    assert_eq!(
        browser.get(app, "/v1/cases").await.status(),
        200,
        "used within 30 minutes"
    );
    app.clock.advance(std::time::Duration::from_secs(29 * 60));
    assert_eq!(
        browser.get(app, "/v1/cases").await.status(),
        200,
        "each use moves the idle end"
    );

    app.clock.advance(std::time::Duration::from_secs(31 * 60));

    let ended = browser.get(app, "/v1/cases").await;
    assert_eq!(ended.status(), 401);
    let problem = problem(ended).await;
    assert!(problem["detail"].as_str().unwrap().contains("idle"), "{problem}");
    app.clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 401, "it stays ended");
}

#[tokio::test]
async fn a_session_ends_at_its_longest_lifetime_however_busy() {
    let it = spawn_with_provider(&[
        ("INDGANG__AUTH__SESSION__IDLE_MINUTES", "50"),
        ("INDGANG__AUTH__SESSION__MAX_HOURS", "1"),
    ])
    .await;
    let app = &it.app;
    let browser = Browser::default();
    assert_eq!(browser.sign_in(app, "alice").await.status(), 303);
    app.clock.advance(std::time::Duration::from_secs(40 * 60));
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 200);

    app.clock.advance(std::time::Duration::from_secs(21 * 60));

    let ended = browser.get(app, "/v1/cases").await;
    assert_eq!(ended.status(), 401, "61 minutes after sign-in, used 21 minutes ago");
    assert!(
        problem(ended).await["detail"]
            .as_str()
            .unwrap()
            .contains("longest lifetime")
    );
}

#[tokio::test]
async fn a_forged_state_or_a_callback_used_twice_is_refused() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;

    // A state changed on the way back.
    let browser = Browser::default();
    let mut forged = browser.through_provider(app, "alice").await;
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { format!("{v}x") } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let answer = browser.client.get(forged).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(problem(answer).await["type"], "urn:indgang:problem:sign-in-failed");
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 401);

    // A callback taken in another browser (a link sent to a caseworker to sign them in as
    // somebody else).
    let callback = browser.through_provider(app, "alice").await;
    let other = Browser::default();
    assert_eq!(other.client.get(callback.clone()).send().await.unwrap().status(), 400);

    // The same callback twice.
    let browser = Browser::default();
    let callback = browser.through_provider(app, "alice").await;
    assert_eq!(browser.client.get(callback.clone()).send().await.unwrap().status(), 303);
    let again = Browser::default();
    // The login cookie of the first sign-in, as an attacker who copied it all would send it.
    let state = callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let replayed = again
        .client
        .get(callback)
        .header("cookie", format!("indgang_login={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 400, "a state works once");
    assert_eq!(problem(replayed).await["type"], "urn:indgang:problem:sign-in-failed");
}

#[tokio::test]
async fn changes_made_with_the_session_cookie_need_the_csrf_token_and_bearer_tokens_do_not() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let browser = Browser::default();
    assert_eq!(browser.sign_in(app, "alice").await.status(), 303);
    let search = |csrf: Option<String>| {
        let mut request = browser
            .client
            .post(format!("{}/v1/case-search", app.address))
            .header("content-type", "application/json")
            .body(r#"{"cpr": "150385-1234"}"#);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };

    let without = search(None).await.unwrap();
    assert_eq!(without.status(), 403);
    assert_eq!(problem(without).await["type"], "urn:indgang:problem:csrf");
    let wrong = search(Some("not-the-token".to_owned())).await.unwrap();
    assert_eq!(wrong.status(), 403);
    let token = browser.csrf_token(app).await;
    assert_eq!(search(Some(token)).await.unwrap().status(), 200);
    assert!(
        entries(app, "case.search").await.len() == 1,
        "only the search with the token was made"
    );

    let caseworker = app.caseworker_token("751").await;
    let with_bearer = app
        .client
        .post(format!("{}/v1/case-search", app.address))
        .bearer_auth(&caseworker)
        .json(&json!({"cpr": "150385-1234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), 200, "a bearer token needs no CSRF token");
}

#[tokio::test]
async fn sign_out_ends_the_session_here_and_sends_the_browser_to_the_provider() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let browser = Browser::default();
    assert_eq!(browser.sign_in(app, "alice").await.status(), 303);
    let logout = || browser.client.post(format!("{}/auth/logout", app.address));

    let refused = logout().send().await.unwrap();
    assert_eq!(refused.status(), 403, "sign-out is a change: it needs the CSRF token");
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 200, "still signed in");
    let token = browser.csrf_token(app).await;
    let out = logout()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}"))
        .send()
        .await
        .unwrap();

    assert_eq!(out.status(), 303);
    let location = out.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/session/end", it.provider.issuer)),
        "{location}"
    );
    assert!(location.contains("client_id=indgang"), "{location}");
    let cookie = set_cookie(&out, "indgang_session");
    assert!(cookie.contains("Max-Age=0"), "the cookie is removed: {cookie}");
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 401);
    let sign_outs = entries(app, "session.sign-out").await;
    assert_eq!(sign_outs.len(), 1);
    assert_eq!(sign_outs[0]["actor_kind"], "person");
    assert_eq!(sign_outs[0]["actor"], "alice");
    assert_eq!(sign_outs[0]["actor_name"], "Alice Andersen");
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_stops_the_start_naming_the_issuer() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!("http://127.0.0.1:{port}");
    let settings = settings_for(
        dir.path(),
        &[
            ("INDGANG__AUTH__OIDC__ISSUER", issuer.as_str()),
            ("INDGANG__AUTH__OIDC__CLIENT_ID", "indgang"),
            (
                "INDGANG__AUTH__OIDC__REDIRECT_URL",
                "http://127.0.0.1:8080/auth/callback",
            ),
        ],
    );

    let error = indgang::startup::Application::build(settings)
        .await
        .err()
        .expect("the start fails");

    let message = format!("{error:#}");
    assert!(message.starts_with("auth.oidc.issuer: "), "{message}");
    assert!(message.contains(&issuer), "{message}");
}

#[tokio::test]
async fn without_an_issuer_sign_in_is_off() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/auth/login", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        problem(response).await["detail"]
            .as_str()
            .unwrap()
            .contains("auth.oidc.issuer")
    );
}

#[tokio::test]
async fn a_token_exchange_the_provider_refuses_signs_nobody_in() {
    let it = spawn_with_provider(&[("INDGANG__AUTH__OIDC__CLIENT_SECRET", "not-the-secret")]).await;
    let app = &it.app;
    let browser = Browser::default();

    let callback = browser.sign_in(app, "alice").await;

    assert_eq!(callback.status(), 400);
    assert_eq!(problem(callback).await["type"], "urn:indgang:problem:sign-in-failed");
    assert_eq!(browser.session(app).await.status(), 401);
    assert!(entries(app, "session.sign-in").await.is_empty());
}

#[test]
fn a_bad_sign_in_configuration_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let check = |extra: &[(&str, &str)]| {
        let settings = settings_for(dir.path(), extra);
        indgang::startup::check(&settings).unwrap_err().to_string()
    };
    let issuer = ("INDGANG__AUTH__OIDC__ISSUER", "https://login.example.dk/tenant/v2.0");
    let client = ("INDGANG__AUTH__OIDC__CLIENT_ID", "indgang");
    let redirect = (
        "INDGANG__AUTH__OIDC__REDIRECT_URL",
        "https://indgang.kommune.dk/auth/callback",
    );
    assert!(check(&[issuer, redirect]).starts_with("auth.oidc.client_id: "));
    assert!(check(&[issuer, client]).starts_with("auth.oidc.redirect_url: "));
    assert!(
        check(&[
            ("INDGANG__AUTH__OIDC__ISSUER", "http://login.example.dk"),
            client,
            redirect
        ])
        .starts_with("auth.oidc.issuer: ")
    );
    assert!(
        check(&[
            issuer,
            client,
            ("INDGANG__AUTH__OIDC__REDIRECT_URL", "https://indgang.kommune.dk/")
        ])
        .contains("/auth/callback")
    );
    assert!(
        settings_for_result(dir.path(), &[("INDGANG__AUTH__SESSION__IDLE_MINUTES", "0")])
            .starts_with("auth.session.idle_minutes: ")
    );
}

fn settings_for_result(dir: &std::path::Path, extra: &[(&str, &str)]) -> String {
    let mut env = vec![("INDGANG__DATA_DIR".to_owned(), dir.display().to_string())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    indgang::config::Settings::load_from(None, env).unwrap_err().to_string()
}

#[tokio::test]
async fn signing_in_again_ends_the_browsers_previous_session() {
    let it = spawn_with_provider(&[]).await;
    let app = &it.app;
    let browser = Browser::default();
    let first = browser.sign_in(app, "alice").await;
    let old = set_cookie(&first, "indgang_session");
    let old = old.split(';').next().unwrap().to_owned();

    let second = browser.sign_in(app, "alice").await;

    assert_eq!(second.status(), 303);
    assert_ne!(
        set_cookie(&second, "indgang_session").split(';').next().unwrap(),
        old,
        "a new id"
    );
    assert_eq!(browser.get(app, "/v1/cases").await.status(), 200);
    let with_old = app
        .client
        .get(format!("{}/v1/cases", app.address))
        .header("cookie", old)
        .send()
        .await
        .unwrap();
    assert_eq!(with_old.status(), 401, "the first session's id works no more");
}
