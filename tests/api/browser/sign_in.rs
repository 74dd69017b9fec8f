//! Signing in and out through the real provider's forms, and who the pages say is signed in.

use super::Chromium;
use openidconnect::url::Url;
use serde_json::Value;

impl Chromium {
    /// Signs in as `login` (one of `provider::PEOPLE`) and comes back to `/`. See `sign_in_to`.
    #[allow(dead_code, reason = "for the page tests")]
    pub async fn sign_in(&self, login: &str) {
        self.sign_in_to(login, "/").await;
    }

    /// Begins a sign-in at `/auth/login?return_to=RETURN_TO`, goes through the provider's forms
    /// as `login` (see `through_provider`) and waits until the gateway has sent the browser on
    /// to `return_to`.
    ///
    /// ```ignore
    /// chromium.sign_in_to("alice", "/indbakke").await;
    /// assert_eq!(chromium.path().await, "/indbakke");
    /// ```
    pub async fn sign_in_to(&self, login: &str, return_to: &str) {
        let url = Url::parse_with_params(&format!("{}/auth/login", self.gateway), &[("return_to", return_to)]).unwrap();
        self.client
            .goto(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("going to {url}: {e}"));
        self.through_provider(login).await;
    }

    /// At the provider (after a page's sign-in link was followed): types `login` and any
    /// password into its login form and submits it, submits its consent form, and waits until
    /// the browser is back at the gateway. With JavaScript off as well: the forms are plain.
    pub async fn through_provider(&self, login: &str) {
        for _ in 0..10 {
            if self.on_gateway().await {
                return;
            }
            if self.exists("input[name=login]").await {
                self.fill("input[name=login]", login).await;
                self.fill("input[name=password]", "any").await;
                self.submit("form").await;
            } else if self.exists("input[name=prompt][value=consent]").await {
                self.submit("form").await;
            } else {
                panic!(
                    "an unexpected page at the provider, {}:\n{}",
                    self.path().await,
                    self.page_text().await
                );
            }
        }
        panic!("the provider never sent the browser back to the gateway");
    }

    /// The name of the signed-in person as the page header shows it (`.who`), or `None` when
    /// the page shows nobody.
    pub async fn signed_in_as(&self) -> Option<String> {
        if self.exists("header .who").await {
            Some(self.text("header .who").await)
        } else {
            None
        }
    }

    /// Goes to `/auth/session` and reads it: the person and their roles while signed in, a
    /// problem (`status` 401) when not.
    pub async fn session(&self) -> Value {
        self.goto("/auth/session").await;
        let text = self.text("body").await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("/auth/session is not JSON ({e}): {text}"))
    }

    /// Signs out with the page header's sign-out button (a plain form POST to `/auth/logout`
    /// with its `csrf_token`), then confirms at the provider's sign-out page, so the browser is
    /// signed out both here and there.
    pub async fn sign_out(&self) {
        self.submit("form[action='/auth/logout']").await;
        if !self.on_gateway().await && self.exists("button[name=logout][value=yes]").await {
            self.click("button[name=logout][value=yes]").await;
        }
    }
}
