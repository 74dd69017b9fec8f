//! The checks beyond what a page shows: axe-core's accessibility rules, the browser's console
//! (Content-Security-Policy violations), zoom and sideways scrolling, and screenshots; with the
//! chromedriver commands beside the standard ones that they use.

use super::{Chromium, HEIGHT, JavaScript, WIDTH, tool};
use fantoccini::wd::WebDriverCompatibleCommand;
use openidconnect::url::{ParseError, Url};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// WCAG 2.1 level AA, as axe-core tags its rules (2.1 adds to 2.0, so all four).
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

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

impl Chromium {
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
    pub(super) async fn devtools(&self, command: &str, params: Value) -> Value {
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
