//! The front page in a real browser: Danish, styled by its own style sheet with nothing the
//! Content-Security-Policy blocks, free of serious accessibility faults, readable at 200 % zoom,
//! and the way in by keyboard alone; signing in through the real provider and out again, with
//! JavaScript on and off.

use super::{Chromium, JavaScript, Key};
use crate::provider::spawn_with_provider;

#[tokio::test]
async fn the_front_page_is_danish_styled_accessible_at_200_percent_and_signs_in_by_keyboard() {
    let it = spawn_with_provider(&[]).await;
    let chromium = Chromium::start(&it.app, JavaScript::On).await;
    // The harness itself: scripts run, and axe-core finds what is wrong with a page.
    chromium
        .client()
        .goto("data:text/html;charset=utf-8,<p>uændret</p><script>document.querySelector('p').textContent = 'ændret'</script>")
        .await
        .unwrap();
    assert_eq!(chromium.text("p").await, "ændret");
    let faults: Vec<String> = chromium.axe().await.into_iter().map(|v| v.id).collect();
    assert!(faults.contains(&"html-has-lang".to_owned()), "{faults:?}");
    chromium.console_errors().await;

    chromium.goto("/").await;

    assert_eq!(chromium.attr("html", "lang").await.as_deref(), Some("da"));
    assert_eq!(chromium.text("h1").await, "Velkommen til indgang");
    assert_eq!(
        chromium.style("a.button", "background-color").await,
        "rgba(11, 79, 138, 1)",
        "the sign-in link has the accent colour of app.css"
    );
    assert_eq!(
        chromium.console_errors().await,
        Vec::<String>::new(),
        "nothing blocked by the Content-Security-Policy, no script errors"
    );
    chromium.assert_accessible().await;
    chromium.screenshot("forside").await;

    chromium.zoom(200).await;
    assert_eq!(
        chromium.sideways_overflow().await,
        0,
        "at 200 % the page fits the window's width"
    );
    assert!(
        chromium
            .client()
            .find(fantoccini::Locator::Css("a[href^='/auth/login']"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    chromium.assert_accessible().await;
    chromium.zoom(100).await;

    // By keyboard alone: Tab to the sign-in link, Enter, then the provider's forms.
    chromium.goto("/").await;
    let presses = chromium.tab_to("a[href^='/auth/login']").await;
    assert!(
        presses <= 3,
        "the sign-in link is among the first stops ({presses} presses)"
    );
    chromium.press_and_load(Key::Enter).await;
    assert!(
        !chromium.path().await.starts_with('/'),
        "Enter followed the link to the provider"
    );
    chromium.through_provider("alice").await;
    if let Some(name) = chromium.signed_in_as().await {
        assert_eq!(name, "Alice Andersen", "the page header names the person");
    }
    let session = chromium.session().await;
    assert_eq!(session["subject"], "alice");
    assert_eq!(session["name"], "Alice Andersen");

    chromium.goto("/").await;
    chromium.sign_out().await;
    assert_eq!(chromium.session().await["status"], 401, "signed out");
    chromium.goto("/auth/login").await;
    assert!(
        chromium.exists("input[name=password]").await,
        "signed out at the provider too: signing in again asks for the password"
    );
}

#[tokio::test]
async fn with_javascript_off_sign_in_and_the_sign_out_form_still_work() {
    let it = spawn_with_provider(&[]).await;
    let chromium = Chromium::start(&it.app, JavaScript::Off).await;
    chromium
        .client()
        .goto("data:text/html;charset=utf-8,<p>uændret</p><script>document.querySelector('p').textContent = 'ændret'</script>")
        .await
        .unwrap();
    assert_eq!(chromium.text("p").await, "uændret", "the browser runs no script");

    chromium.sign_in_to("alice", "/auth/session").await;

    assert_eq!(chromium.path().await, "/auth/session");
    let session = chromium.session().await;
    assert_eq!(session["name"], "Alice Andersen");
    assert_eq!(session["roles"][0]["role"], "caseworker");

    chromium.goto("/").await;
    assert_eq!(
        chromium.style("a", "color").await,
        "rgba(11, 79, 138, 1)",
        "the style sheet applies without JavaScript"
    );
    chromium.sign_out().await;
    assert_eq!(chromium.session().await["status"], 401, "signed out");
    chromium.goto("/auth/login").await;
    assert!(
        chromium.exists("input[name=password]").await,
        "signed out at the provider too"
    );
}
