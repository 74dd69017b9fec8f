//! Reading a page and acting on it as a person does: texts, attributes and computed styles;
//! clicks, typing, forms and keys, each helper that loads a page waiting until it has.

use super::{Chromium, Key, PATIENCE};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

impl Chromium {
    /// The text of the first element `css` selects, as it shows (hidden text left out).
    /// Panics, showing the page, when there is none.
    ///
    /// ```ignore
    /// assert_eq!(chromium.text("h1").await, "Velkommen til indgang");
    /// ```
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("the text of {css}: {e}"))
    }

    /// The text of every element `css` selects, in page order (rows of a table, say).
    ///
    /// ```ignore
    /// let rows = chromium.texts("table.inbox tbody tr").await;
    /// assert!(rows[0].contains("overskredet"));
    /// ```
    #[allow(dead_code, reason = "for the page tests: rows of a list")]
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let elements = self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding {css}: {e}"));
        let mut texts = Vec::with_capacity(elements.len());
        for element in elements {
            texts.push(
                element
                    .text()
                    .await
                    .unwrap_or_else(|e| panic!("the text of {css}: {e}")),
            );
        }
        texts
    }

    /// Whether the page has an element `css` selects (now: this does not wait).
    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding {css}: {e}"))
            .is_empty()
    }

    /// An attribute of the first element `css` selects.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("attribute {name} of {css}: {e}"))
    }

    /// A computed style of the first element `css` selects, as the browser reports it
    /// (colours as `rgba(11, 79, 138, 1)`): proof that the style sheet was applied.
    ///
    /// ```ignore
    /// assert_eq!(chromium.style("a.button", "background-color").await, "rgba(11, 79, 138, 1)");
    /// ```
    pub async fn style(&self, css: &str, property: &str) -> String {
        self.find(css)
            .await
            .css_value(property)
            .await
            .unwrap_or_else(|e| panic!("style {property} of {css}: {e}"))
    }

    /// Clicks the first element `css` selects, as a mouse would, and waits for the page that
    /// loads: a link followed, a form's button pressed. Panics when no new page loads; for a
    /// checkbox or anything else that stays on the page, use `toggle`.
    ///
    /// ```ignore
    /// chromium.click("a[href='/frister']").await;
    /// assert_eq!(chromium.path().await, "/frister");
    /// ```
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.mark_page().await;
        element.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
        self.await_new_page(&format!("clicking {css}")).await;
    }

    /// Clicks the first element `css` selects where no new page loads: a checkbox, a radio
    /// button, a `<details>` summary.
    ///
    /// ```ignore
    /// chromium.toggle("input[name=receipt][value='01a2…']").await;
    /// ```
    #[allow(dead_code, reason = "for the page tests: ticking rows to acknowledge")]
    pub async fn toggle(&self, css: &str) {
        let element = self.find(css).await;
        element.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Types `text` into the field `css` selects, after emptying it.
    ///
    /// ```ignore
    /// chromium.fill("input[name=cpr]", "150385-1234").await;
    /// chromium.submit("form.search").await;
    /// ```
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("emptying {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Submits the form `form` selects by clicking its (first) submit button, as a person
    /// does, and waits for the page the answer loads: the browser posts the form itself, so
    /// this works with JavaScript off too.
    ///
    /// ```ignore
    /// chromium.submit("form.acknowledge").await;
    /// assert!(chromium.text(".flash").await.contains("Kvitteret"));
    /// ```
    pub async fn submit(&self, form: &str) {
        self.click(&format!(
            "{form} button[type=submit], {form} button:not([type]), {form} input[type=submit]"
        ))
        .await;
    }

    /// Presses and releases one key where the focus is, through WebDriver actions (a real key
    /// event, as from a keyboard). Does not wait for a page: after an Enter that follows a link
    /// or submits a form, use `press_and_load`.
    ///
    /// ```ignore
    /// chromium.press(Key::Space).await;   // ticks the checkbox that has the focus
    /// ```
    pub async fn press(&self, key: Key) {
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("pressing {key:?}: {e}"));
    }

    /// Presses a key that loads a page (Enter on a link or a form's button) and waits for it.
    ///
    /// ```ignore
    /// chromium.tab_to("form.acknowledge button").await;
    /// chromium.press_and_load(Key::Enter).await;
    /// ```
    pub async fn press_and_load(&self, key: Key) {
        self.mark_page().await;
        self.press(key).await;
        self.await_new_page(&format!("pressing {key:?}")).await;
    }

    /// Whether the element with the focus is one `css` selects.
    pub async fn focused(&self, css: &str) -> bool {
        let active = self.client.active_element().await.expect("the active element");
        self.client
            .execute(
                "return arguments[0].matches(arguments[1]);",
                vec![serde_json::to_value(active).unwrap(), json!(css)],
            )
            .await
            .unwrap_or_else(|e| panic!("matching the focus against {css}: {e}"))
            .as_bool()
            .unwrap_or(false)
    }

    /// Presses Tab from where the focus is until an element `css` selects has it, and returns
    /// how many presses that took. Panics after 30, listing what got the focus on the way.
    ///
    /// ```ignore
    /// chromium.goto("/").await;
    /// chromium.tab_to("a[href^='/auth/login']").await;
    /// chromium.press_and_load(Key::Enter).await;
    /// ```
    pub async fn tab_to(&self, css: &str) -> usize {
        let mut visited = Vec::new();
        for presses in 1..=30 {
            self.press(Key::Tab).await;
            if self.focused(css).await {
                return presses;
            }
            let active = self.client.active_element().await.expect("the active element");
            visited.push(
                active
                    .html(false)
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(120)
                    .collect::<String>(),
            );
        }
        panic!(
            "Tab did not reach {css} on {} in 30 presses; the focus went to:\n{}",
            self.path().await,
            visited.join("\n")
        );
    }

    /// Marks the page the browser shows now, so that `await_new_page` can tell when another
    /// has replaced it (a redirect chain through the provider included).
    pub(super) async fn mark_page(&self) {
        self.client
            .execute("window.__indgangHarnessPage = true;", vec![])
            .await
            .expect("the page marked");
    }

    /// Waits until a page other than the one marked has loaded completely.
    pub(super) async fn await_new_page(&self, after: &str) {
        let begun = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__indgangHarnessPage !== true && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok();
            if loaded.as_ref().and_then(Value::as_bool) == Some(true) {
                return;
            }
            if begun.elapsed() > PATIENCE {
                panic!(
                    "no new page loaded within {PATIENCE:?} after {after} on {}; the console:\n{}",
                    self.path().await,
                    self.console_errors().await.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
