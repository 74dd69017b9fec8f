//! The pages' frame: the front page in Danish, its style sheet from the binary, and the headers
//! that keep pages with personal data out of frames and caches.

use crate::helpers::*;

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
        page.contains("<a class=\"button\" href=\"/auth/login\">Log ind</a>"),
        "{page}"
    );
    assert!(!page.contains("ikke sat op"));
}
