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
//!
//! Where things are: the session and navigation here; reading and acting in `browser/page.rs`,
//! signing in and out in `browser/sign_in.rs`, the checks in `browser/checks.rs`. The tests of a
//! page go in a module of their own under `browser/` (as `front_page.rs`), so that
//! `tools/test.sh --test api browser::` runs every browser test and refreshes every screenshot.

mod checks;
mod front_page;
mod page;
mod scenario;
mod sign_in;

use crate::helpers::TestApp;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub use fantoccini::key::Key;

/// The size of the page's area of the window, in CSS pixels at 100 %.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 900;

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
}
