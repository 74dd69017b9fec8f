//! A real browser for the page tests: headless Chromium (Debian's `chromium`), driven over
//! WebDriver by its `chromedriver`, both installed by tools/test.sh (`INDGANG_CHROMIUM`,
//! `INDGANG_CHROMEDRIVER`), against a gateway on port 0 with the real OpenID provider of
//! `provider.rs`. A test that needs them and does not find them fails saying "run
//! tools/test.sh".
//!
//! [`Chromium::start`] starts a chromedriver of its own on a free port and one browser window of
//! a fixed size (1280 × 900), with JavaScript on or off ([`JavaScript`]); both are killed when the
//! `Chromium` is dropped. A session costs a few seconds, so one test walks several checks with
//! it. Every helper panics with what it was doing when the browser fails it.
//!
//! What a page scenario reads like (the issue's item 5; the selectors are the pages' to choose):
//!
//! ```ignore
//! let it = spawn_with_provider(&[]).await;
//! let prison = it.app.prison_token().await;
//! let receipt = it.app.accept(Kind::ReleaseNotice, &prison, &parole_notice()).await;
//! let case = receipt["case_ref"].as_str().unwrap();
//! let chromium = Chromium::start(&it.app, JavaScript::On).await;
//!
//! chromium.sign_in_to("alice", "/indbakke").await;        // the provider's forms, for real
//! assert_eq!(chromium.signed_in_as().await.as_deref(), Some("Alice Andersen"));
//! assert!(chromium.text("main").await.contains(case));
//! chromium.assert_accessible().await;                     // axe-core: no serious/critical
//! chromium.screenshot("indbakke").await;                  // docs/web/indbakke.png when asked
//! chromium.tab_to("form.acknowledge button").await;       // keyboard alone
//! chromium.press_and_load(Key::Enter).await;
//! chromium.click(&format!("a[href='/sager/{case}']")).await;
//! chromium.goto("/rapporter").await;
//! let before = chromium.text("#uden-bolig .count").await;
//! chromium.goto(&format!("/sager/{case}")).await;
//! chromium.submit("form.resolve-housing").await;           // clicks the form's button
//! chromium.goto("/rapporter").await;
//! assert_ne!(chromium.text("#uden-bolig .count").await, before);
//! chromium.sign_out().await;                               // the header's form, and the provider
//! assert_eq!(chromium.session().await["status"], 401);
//!
//! // The same core actions with JavaScript off: plain forms.
//! let plain = Chromium::start(&it.app, JavaScript::Off).await;
//! plain.sign_in_to("alice", "/indbakke").await;
//! plain.submit("form.acknowledge").await;
//! ```
//!
//! The helpers:
//! - where: [`goto`](Chromium::goto) a path of the gateway, [`path`](Chromium::path) (the path
//!   and query where the browser is, or the whole URL when it is elsewhere);
//! - signing in and out: [`sign_in`](Chromium::sign_in) / [`sign_in_to`](Chromium::sign_in_to)
//!   (begin at `/auth/login`, then the provider's login form with any password, and its consent
//!   form), [`through_provider`](Chromium::through_provider) (the provider's forms only, after a
//!   page's own sign-in link was followed), [`signed_in_as`](Chromium::signed_in_as) (the name
//!   in the page header), [`session`](Chromium::session) (`/auth/session` as JSON),
//!   [`sign_out`](Chromium::sign_out) (the header's sign-out form);
//! - reading: [`text`](Chromium::text), [`texts`](Chromium::texts), [`exists`](Chromium::exists),
//!   [`attr`](Chromium::attr), [`style`](Chromium::style) (a computed style),
//!   [`console_errors`](Chromium::console_errors) (Content-Security-Policy violations included);
//! - acting: [`click`](Chromium::click) (a link or button that loads a page),
//!   [`toggle`](Chromium::toggle) (a checkbox), [`fill`](Chromium::fill),
//!   [`submit`](Chromium::submit), [`press`](Chromium::press) a key and
//!   [`press_and_load`](Chromium::press_and_load) (Enter on a link or button),
//!   [`tab_to`](Chromium::tab_to) an element with Tab alone, [`focused`](Chromium::focused);
//!
//! `click`, `submit` and `press_and_load` return once the page they load has loaded (they
//! panic when none does), so the next step reads the new page, never the old one.
//! - checking: [`assert_accessible`](Chromium::assert_accessible) / [`axe`](Chromium::axe)
//!   (axe-core, `INDGANG_AXE`, for WCAG 2.0/2.1 A and AA), [`zoom`](Chromium::zoom) and
//!   [`sideways_overflow`](Chromium::sideways_overflow) (200 % zoom without scrolling sideways),
//!   [`screenshot`](Chromium::screenshot) (into `$INDGANG_SCREENSHOTS`, else
//!   `target/screenshots/`);
//! - anything else: [`client`](Chromium::client), the fantoccini client itself.

mod front_page;

use crate::helpers::TestApp;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use openidconnect::url::{ParseError, Url};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub use fantoccini::key::Key;

/// The size of the page's area of the window, in CSS pixels at 100 %.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 900;

/// WCAG 2.1 level AA, as axe-core tags its rules (2.1 adds to 2.0, so all four).
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// How long a page may take to load, and a wait for the browser to come back.
const PATIENCE: Duration = Duration::from_secs(20);

/// How long a script may run: axe-core on a long page takes seconds, more on a busy machine.
const SCRIPT_PATIENCE: Duration = Duration::from_secs(90);

/// Whether the browser runs the pages' scripts. `Off` is Chromium's content setting (as a
/// person who turned JavaScript off has it), so every core action must work with plain forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JavaScript {
    On,
    Off,
}

/// The path of a tool tools/test.sh installs, from its variable.
fn tool(variable: &str, what: &str) -> String {
    let path = std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run tools/test.sh, which installs {what}"));
    assert!(
        Path::new(&path).exists(),
        "{variable}={path} does not exist: run tools/test.sh, which installs {what}"
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver, the leader of its own process group, in which it starts Chromium and Chromium
/// its helpers: dropping it kills the group, so no browser outlives its test.
struct Driver {
    child: Child,
    /// Chromium's profile, removed after the browser is gone.
    profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // touched. The group is the chromedriver this Driver started and its children.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// A WebDriver command chromedriver has beside the standard ones.
#[derive(Debug)]
struct Extension {
    /// The path after `session/{id}/`.
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for Extension {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _: &Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// One violation axe-core found on a page.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    pub help: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    /// A CSS selector of each element that breaks the rule.
    pub targets: Vec<String>,
}

impl Violation {
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "- {} ({}): {} <{}>",
            self.id,
            self.impact.as_deref().unwrap_or("no impact"),
            self.help,
            self.help_url
        )?;
        for target in &self.targets {
            write!(f, "\n    at {target}")?;
        }
        Ok(())
    }
}

/// Headless Chromium in front of one gateway. See the module's documentation.
pub struct Chromium {
    client: Client,
    /// The gateway's address, `http://127.0.0.1:PORT`.
    gateway: String,
    javascript: JavaScript,
    _driver: Driver,
}

impl Chromium {
    /// Starts chromedriver and a browser session for the gateway of `app`, with JavaScript on
    /// or off. The window is 1280 × 900; nothing is loaded yet (`goto` next).
    ///
    /// ```ignore
    /// let it = spawn_with_provider(&[]).await;
    /// let chromium = Chromium::start(&it.app, JavaScript::On).await;
    /// chromium.goto("/").await;
    /// ```
    pub async fn start(app: &TestApp, javascript: JavaScript) -> Chromium {
        let chromedriver = tool("INDGANG_CHROMEDRIVER", "chromium-driver");
        let chromium = tool("INDGANG_CHROMIUM", "chromium");
        let port = free_port();
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{chromedriver} does not start ({e}): run tools/test.sh"));
        let driver = Driver { child, profile };
        let begun = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                begun.elapsed() < PATIENCE,
                "chromedriver did not listen on port {port} within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut prefs = json!({});
        if javascript == JavaScript::Off {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // The tests run as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--lang=da-DK",
                    // Nothing but loopback: the provider's pages name a web font, which must
                    // fail at once rather than wait on a name lookup.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    format!("--user-data-dir={}", driver.profile.path().display()),
                ],
                "prefs": prefs,
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {chromium}: {e}"));
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(SCRIPT_PATIENCE),
                Some(PATIENCE),
                Some(Duration::ZERO),
            ))
            .await
            .expect("timeouts set");
        let chromium = Chromium {
            client,
            gateway: app.address.clone(),
            javascript,
            _driver: driver,
        };
        chromium.fit_window().await;
        chromium
    }

    /// Makes the page's area (not the window with its frame) WIDTH × HEIGHT CSS pixels.
    async fn fit_window(&self) {
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("the window's inner size");
        let inner = |i: usize| u32::try_from(inner[i].as_u64().unwrap_or_default()).unwrap_or_default();
        let (outer_width, outer_height) = self.client.get_window_size().await.expect("the window's size");
        let frame = |outer: u64, inner: u32| u32::try_from(outer).unwrap_or_default().saturating_sub(inner);
        self.client
            .set_window_size(
                WIDTH + frame(outer_width, inner(0)),
                HEIGHT + frame(outer_height, inner(1)),
            )
            .await
            .expect("the window resized");
    }

    /// The fantoccini client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Goes to `path` of the gateway (`/`, `/indbakke?side=2`) and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.gateway);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("going to {url}: {e}"));
    }

    /// Where the browser is: the path and query on the gateway (`/auth/session`), or the whole
    /// URL when it is elsewhere (at the provider).
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        let url = url.as_str();
        match url.strip_prefix(&self.gateway) {
            Some(path) if path.starts_with('/') => path.to_owned(),
            _ => url.to_owned(),
        }
    }

    async fn on_gateway(&self) -> bool {
        self.path().await.starts_with('/')
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!(
                "no element {css} on {}: {e}\n--- the page reads:\n{}",
                self.path().await,
                self.page_text().await
            ),
        }
    }

    /// The text of the whole page as it shows, for failure messages.
    async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

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
    async fn mark_page(&self) {
        self.client
            .execute("window.__indgangHarnessPage = true;", vec![])
            .await
            .expect("the page marked");
    }

    /// Waits until a page other than the one marked has loaded completely.
    async fn await_new_page(&self, after: &str) {
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

    /// What the browser's console has logged at level error since the last call (or the
    /// start): script errors, failed loads and every Content-Security-Policy violation.
    ///
    /// ```ignore
    /// chromium.goto("/").await;
    /// assert_eq!(chromium.console_errors().await, Vec::<String>::new());
    /// ```
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(Extension {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
            .expect("the browser's console log");
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// A command of the Chrome DevTools protocol, through chromedriver.
    async fn devtools(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Extension {
                path: "goog/cdp/execute",
                body: json!({ "cmd": command, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    /// Zooms the page to `percent` as the browser's zoom does: the same window, `percent / 100`
    /// device pixels to the CSS pixel, so at 200 % the page has 640 CSS pixels of width. `100`
    /// goes back.
    ///
    /// ```ignore
    /// chromium.zoom(200).await;
    /// assert_eq!(chromium.sideways_overflow().await, 0, "no scrolling sideways at 200 %");
    /// ```
    pub async fn zoom(&self, percent: u32) {
        if percent == 100 {
            self.devtools("Emulation.clearDeviceMetricsOverride", json!({})).await;
        } else {
            self.devtools(
                "Emulation.setDeviceMetricsOverride",
                json!({
                    "width": WIDTH * 100 / percent,
                    "height": HEIGHT * 100 / percent,
                    "deviceScaleFactor": f64::from(percent) / 100.0,
                    "mobile": false,
                }),
            )
            .await;
        }
    }

    /// How many CSS pixels the page is wider than the window: 0 when nobody must scroll
    /// sideways to read it.
    pub async fn sideways_overflow(&self) -> i64 {
        self.client
            .execute(
                "const page = document.documentElement; return page.scrollWidth - page.clientWidth;",
                vec![],
            )
            .await
            .expect("the page's width")
            .as_i64()
            .unwrap_or_default()
    }

    /// Saves a picture of the whole page (not only the window) as `NAME.png` in
    /// `$INDGANG_SCREENSHOTS` (relative to the repository, e.g. `docs/web`) when that is set,
    /// else in `target/screenshots/`, and returns its path.
    ///
    /// ```ignore
    /// chromium.screenshot("indbakke").await;   // INDGANG_SCREENSHOTS=docs/web: docs/web/indbakke.png
    /// ```
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let shot = self
            .devtools(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("a screenshot's data"))
            .expect("a screenshot in base64");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = match std::env::var_os("INDGANG_SCREENSHOTS") {
            Some(dir) => root.join(dir),
            None => root.join("target/screenshots"),
        };
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("making {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Runs axe-core in the page for WCAG 2.0 and 2.1, levels A and AA, and returns every
    /// violation it finds, of any impact. axe.min.js (`INDGANG_AXE`) is injected through
    /// WebDriver, so it runs whatever the page's Content-Security-Policy; it needs a session
    /// with `JavaScript::On` (with JavaScript off Chromium never runs the timers its checks
    /// wait on), so check pages in such a session.
    pub async fn axe(&self) -> Vec<Violation> {
        assert_eq!(
            self.javascript,
            JavaScript::On,
            "axe-core cannot run in a session with JavaScript off: check the page in one with JavaScript::On"
        );
        static AXE: OnceLock<String> = OnceLock::new();
        let source = AXE.get_or_init(|| {
            let path = tool("INDGANG_AXE", "axe-core");
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
        });
        self.client
            .execute(&format!("{source}\n;return typeof axe;"), vec![])
            .await
            .expect("axe-core injected");
        let found = self
            .client
            .execute(
                "return axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, \
                 resultTypes: ['violations'] }).then(results => results.violations.map(v => ({ \
                 id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, \
                 targets: v.nodes.map(n => n.target.join(' ')) })));",
                vec![json!(AXE_TAGS)],
            )
            .await
            .expect("axe-core ran");
        serde_json::from_value(found).expect("axe-core's violations")
    }

    /// Fails with a readable list (rule, impact, help, where) when axe-core finds a violation
    /// of impact serious or critical on the page; lesser ones are printed, not failed.
    ///
    /// ```ignore
    /// chromium.goto("/frister").await;
    /// chromium.assert_accessible().await;
    /// ```
    pub async fn assert_accessible(&self) {
        let path = self.path().await;
        let (serious, lesser): (Vec<Violation>, Vec<Violation>) =
            self.axe().await.into_iter().partition(Violation::is_serious);
        for violation in &lesser {
            eprintln!("axe-core on {path}, not failed:\n{violation}");
        }
        if !serious.is_empty() {
            let list: Vec<String> = serious.iter().map(ToString::to_string).collect();
            panic!(
                "axe-core found {} serious or critical violation(s) of WCAG 2.1 AA on {path}:\n{}",
                serious.len(),
                list.join("\n")
            );
        }
    }
}
