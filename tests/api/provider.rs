//! A real OpenID provider for the sign-in tests: the npm package `oidc-provider` (a certified
//! implementation), installed by tools/test.sh (`INDGANG_OIDC_PROVIDER_DIR`), started with
//! Node.js on a free loopback port with a configuration the test writes: one client (the
//! gateway) and people with `groups` claims. Its development interactions (a login form that
//! takes any password, and a consent form) let a scripted browser sign in.
//!
//! `Browser` is that scripted browser: a reqwest client with a cookie jar that follows
//! redirects itself, so a test can stop at the callback and play with it.

use crate::helpers::{TestApp, try_spawn_app_with_file};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// The provider's script: reads the configuration the test wrote, listens on a free loopback
/// port and prints its issuer on the first line.
const SCRIPT: &str = r#"
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { default: Provider } = await import(pathToFileURL(config.module).href);

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [config.client],
  findAccount: (ctx, id) => {
    const person = config.people[id];
    if (!person) return undefined;
    return { accountId: id, claims: () => ({ sub: id, name: person.name, groups: person.groups }) };
  },
  claims: { openid: ['sub'], profile: ['name'], groups: ['groups'] },
  // The groups in the ID token itself, as Entra ID puts them there.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['indgang-test-only'] },
});
server.on('request', provider.callback());
console.log(issuer);
"#;

pub const CLIENT_ID: &str = "indgang";
const CLIENT_SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

/// The people the provider knows, with their groups.
pub const PEOPLE: &[(&str, &str, &[&str])] = &[
    ("alice", "Alice Andersen", &["aarhus-modtagelse"]),
    ("lead", "Lene Leder", &["aarhus-ledere"]),
    ("olga", "Olga Operatør", &["it-drift"]),
    ("audrey", "Audrey Revisor", &["revision"]),
    ("carl", "Carl København", &["kbh-modtagelse"]),
    ("bob", "Bob Uden Rolle", &["kantine"]),
];

/// The role mapping the gateway is configured with.
const ROLES: &str = r#"
[[auth.oidc.roles]]
value = "aarhus-modtagelse"
role = "caseworker"
municipality = "751"
team = "intake"

[[auth.oidc.roles]]
value = "aarhus-ledere"
role = "team_lead"
municipality = "751"

[[auth.oidc.roles]]
value = "kbh-modtagelse"
role = "caseworker"
municipality = "101"

[[auth.oidc.roles]]
value = "it-drift"
role = "operator"

[[auth.oidc.roles]]
value = "revision"
role = "auditor"
"#;

pub struct OidcProvider {
    pub issuer: String,
    child: Child,
    _dir: TempDir,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> String {
    std::env::var("INDGANG_OIDC_PROVIDER_DIR").unwrap_or_else(|_| {
        panic!("INDGANG_OIDC_PROVIDER_DIR is not set: run tools/test.sh, which installs oidc-provider")
    })
}

impl OidcProvider {
    /// Starts the provider with the gateway at `gateway` (its address) as its one client.
    pub fn start(gateway: &str) -> OidcProvider {
        let module = Path::new(&provider_dir()).join("node_modules/oidc-provider/lib/index.js");
        assert!(
            module.exists(),
            "{} is missing: run tools/test.sh, which installs oidc-provider",
            module.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let people: serde_json::Map<String, serde_json::Value> = PEOPLE
            .iter()
            .map(|(id, name, groups)| (id.to_string(), json!({ "name": name, "groups": groups })))
            .collect();
        let config = json!({
            "module": module,
            "client": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [format!("{gateway}/auth/callback")],
                "post_logout_redirect_uris": [format!("{gateway}/logget-ud")],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            },
            "people": people,
        });
        std::fs::write(dir.path().join("provider.mjs"), SCRIPT).unwrap();
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(dir.path().join("provider.mjs"))
            .arg(dir.path().join("config.json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts (Node.js 20 or newer is needed)");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        // The provider writes on; a closed pipe would stop it (EPIPE).
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = line.trim().to_owned();
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "the provider did not start: {line:?}"
        );
        OidcProvider {
            issuer,
            child,
            _dir: dir,
        }
    }
}

/// A free loopback port (for the gateway, whose address the provider must know first).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gateway with sign-in against a provider of its own, and the provider.
pub struct SignInApp {
    pub app: TestApp,
    pub provider: OidcProvider,
    _config: TempDir,
}

/// The gateway's configuration for sign-in at `issuer`, with the role mapping of `PEOPLE`.
pub fn gateway_config(gateway: &str, issuer: &str) -> String {
    format!(
        "[auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         redirect_url = \"{gateway}/auth/callback\"\npost_logout_redirect_url = \"{gateway}/logget-ud\"\n\
         scopes = [\"openid\", \"profile\", \"groups\"]\nroles_claim = \"groups\"\n{ROLES}"
    )
}

pub async fn spawn_with_provider(extra: &[(&str, &str)]) -> SignInApp {
    // The provider must know the gateway's address before the gateway starts, so the port is
    // chosen first and bound later; another test may take it in between. Then try another.
    for _ in 0..5 {
        let port = free_port();
        let gateway = format!("http://127.0.0.1:{port}");
        let provider = OidcProvider::start(&gateway);
        let config_dir = tempfile::tempdir().unwrap();
        let config = config_dir.path().join("indgang.toml");
        std::fs::write(&config, gateway_config(&gateway, &provider.issuer)).unwrap();
        let bind = format!("127.0.0.1:{port}");
        let mut env = vec![("INDGANG__SERVER__BIND", bind.as_str())];
        env.extend_from_slice(extra);
        match try_spawn_app_with_file(&config, &env).await {
            Ok(app) => {
                return SignInApp {
                    app,
                    provider,
                    _config: config_dir,
                };
            }
            Err(e) if format!("{e:#}").contains("Address already in use") => continue,
            Err(e) => panic!("the gateway starts: {e:#}"),
        }
    }
    panic!("five ports in a row were taken before the gateway could bind one")
}

/// A scripted browser: a cookie jar, redirects followed by hand.
pub struct Browser {
    pub client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        indgang::delivery::install_crypto();
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

impl Browser {
    /// Begins a sign-in at the gateway and goes through the provider's login and consent as
    /// `login`; returns the callback URL the provider sends the browser back to (not yet
    /// followed).
    pub async fn through_provider(&self, app: &TestApp, login: &str) -> reqwest::Url {
        self.through_provider_at(&app.address, login, "/auth/login").await
    }

    /// `through_provider`, beginning at `start` (a page that sends the browser to sign in, or
    /// `/auth/login?return_to=…`).
    pub async fn through_provider_from(&self, app: &TestApp, login: &str, start: &str) -> reqwest::Url {
        self.through_provider_at(&app.address, login, start).await
    }

    /// `through_provider` for the gateway at `address` (e.g. the real binary's), beginning at
    /// `start` (a page that sends the browser to sign in, or `/auth/login?return_to=…`).
    pub async fn through_provider_at(&self, address: &str, login: &str, start: &str) -> reqwest::Url {
        let mut response = self.client.get(format!("{address}{start}")).send().await.unwrap();
        assert_eq!(response.status(), 303, "{start} sends the browser on to sign in");
        for _ in 0..20 {
            if response.status().is_redirection() {
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                let url = response.url().join(&location).unwrap();
                if url.as_str().starts_with(&format!("{address}/auth/callback")) {
                    return url;
                }
                response = self.client.get(url).send().await.unwrap();
                continue;
            }
            let url = response.url().clone();
            let status = response.status();
            let page = response.text().await.unwrap();
            assert_eq!(status, 200, "the provider's page {url}: {page}");
            let form = if page.contains(r#"name="prompt" value="login""#) {
                format!("prompt=login&login={login}&password=any")
            } else if page.contains(r#"name="prompt" value="consent""#) {
                "prompt=consent".to_owned()
            } else {
                panic!("an unexpected page of the provider at {url}: {page}");
            };
            response = self
                .client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
        }
        panic!("the provider never sent the browser back to the gateway");
    }

    /// Signs in as `login`: the callback's answer (`303` with the session cookie, or a problem).
    pub async fn sign_in(&self, app: &TestApp, login: &str) -> reqwest::Response {
        let callback = self.through_provider(app, login).await;
        self.client.get(callback).send().await.unwrap()
    }

    /// The session as `GET /auth/session` shows it.
    pub async fn session(&self, app: &TestApp) -> reqwest::Response {
        self.client
            .get(format!("{}/auth/session", app.address))
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the signed-in session.
    pub async fn csrf_token(&self, app: &TestApp) -> String {
        let response = self.session(app).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["csrf_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", app.address)).send().await.unwrap()
    }
}
