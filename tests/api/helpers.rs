//! `spawn_app()`: a real gateway on port 0 with a fresh store (a SQLite file in a temporary
//! folder, or a PostgreSQL database of its own: `backend`), and a clock the test controls.

use indgang::auth::{Grant, create_token};
use indgang::clock::{Clock, ManualClock};
use indgang::config::Settings;
use indgang::domain::{Kind, Kommunekode};
use indgang::startup::Application;
use indgang::store::Store;
use jiff::Timestamp;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;

/// The instant the tests' clock shows unless they move it.
pub const NOW: &str = "2026-11-23T12:00:00Z";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub data_dir: PathBuf,
    pub delivery: Arc<indgang::delivery::Delivery>,
    pub scheduler: Arc<indgang::deadlines::scheduler::Scheduler>,
    pub auditor: Arc<indgang::audit::Auditor>,
    stopper: indgang::shutdown::Stopper,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: Option<TempDir>,
}

pub fn settings_for(data_dir: &Path, extra: &[(&str, &str)]) -> Settings {
    settings_with_file(None, data_dir, extra)
}

pub fn settings_with_file(file: Option<&Path>, data_dir: &Path, extra: &[(&str, &str)]) -> Settings {
    let mut env = vec![
        ("INDGANG__DATA_DIR".to_owned(), data_dir.display().to_string()),
        ("INDGANG__SERVER__BIND".to_owned(), "127.0.0.1:0".to_owned()),
        ("INDGANG__SERVER__WORKERS".to_owned(), "2".to_owned()),
        ("INDGANG__SECURITY__TOKEN_CACHE_SECONDS".to_owned(), "0".to_owned()),
        // Each alert on its own and at once, and no daily digest, unless a test asks for them
        // (tests/api/alerts.rs).
        ("INDGANG__ALERTS__GROUP_WINDOW".to_owned(), "0s".to_owned()),
        ("INDGANG__ALERTS__DIGEST_AT".to_owned(), String::new()),
    ];
    env.extend(crate::backend::storage_env(data_dir));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::load_from(file, env).expect("test settings")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut app = spawn_app_in(dir.path(), extra).await;
    app._dir = Some(dir);
    app
}

/// A gateway with a configuration file layered over the defaults.
pub async fn spawn_app_with_file(config: &Path, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut app = start(settings_with_file(Some(config), dir.path(), extra), dir.path()).await;
    app._dir = Some(dir);
    app
}

/// A gateway on an existing data folder (for restarts); the folder outlives the app.
pub async fn spawn_app_in(data_dir: &Path, extra: &[(&str, &str)]) -> TestApp {
    start(settings_for(data_dir, extra), data_dir).await
}

/// A second gateway on the database of `app` (its data folder's SQLite file, or its PostgreSQL
/// database), running beside it: several instances on one database. It has its own clock.
pub async fn spawn_second_instance(app: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_in(&app.data_dir, extra).await
}

/// As `spawn_app_in`, with the test's clock showing `at` from the start (before the scheduler's
/// first look).
pub async fn spawn_app_at(data_dir: &Path, at: &str, extra: &[(&str, &str)]) -> TestApp {
    start_at(settings_for(data_dir, extra), data_dir, at).await
}

async fn start(settings: Settings, data_dir: &Path) -> TestApp {
    start_at(settings, data_dir, NOW).await
}

/// A gateway whose clock is `clock`: `make` gets the test's manual clock (at `NOW`) to build it
/// on, e.g. one that fails on purpose.
pub async fn spawn_app_with_clock(extra: &[(&str, &str)], make: impl FnOnce(ManualClock) -> Clock) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (_, handle) = Clock::manual(NOW.parse().unwrap());
    let clock = make(handle.clone());
    let mut app = start_with(settings_for(dir.path(), extra), dir.path(), clock, handle).await;
    app._dir = Some(dir);
    app
}

async fn start_at(settings: Settings, data_dir: &Path, at: &str) -> TestApp {
    let (clock, handle) = Clock::manual(at.parse().unwrap());
    start_with(settings, data_dir, clock, handle).await
}

/// As `spawn_app_with_file`, but a gateway that cannot start is an error, not a panic (a test
/// that chose its port may try another).
pub async fn try_spawn_app_with_file(config: &Path, extra: &[(&str, &str)]) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (clock, handle) = Clock::manual(NOW.parse().unwrap());
    let app = Application::build_with_clock(settings_with_file(Some(config), dir.path(), extra), clock).await?;
    let mut app = running(app, dir.path(), handle);
    app._dir = Some(dir);
    Ok(app)
}

async fn start_with(settings: Settings, data_dir: &Path, clock: Clock, handle: ManualClock) -> TestApp {
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("the gateway starts");
    running(app, data_dir, handle)
}

fn running(app: Application, data_dir: &Path, handle: ManualClock) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store();
    let delivery = app.delivery();
    let scheduler = app.scheduler();
    let auditor = app.auditor();
    let stopper = app.stopper();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client(),
        store,
        clock: handle,
        data_dir: data_dir.to_owned(),
        delivery,
        scheduler,
        auditor,
        stopper,
        running,
        _dir: None,
    }
}

/// An app that owns its data folder takes its PostgreSQL database with it; any app dropped also
/// drops the databases of folders that are gone.
impl Drop for TestApp {
    fn drop(&mut self) {
        match &self._dir {
            Some(dir) => crate::backend::drop_database_of(dir.path()),
            None => crate::backend::drop_left_behind(),
        }
    }
}

impl TestApp {
    /// Stops the server gracefully and waits until the store is closed. Returns the folder
    /// (kept alive) so a new app can start on the same data.
    pub async fn stop(mut self) -> Option<TempDir> {
        self.stopper.stop().await;
        (&mut self.running)
            .await
            .expect("the server task")
            .expect("the server ran");
        self._dir.take()
    }

    pub async fn sender_token(&self, sender_id: &str, kinds: &[Kind]) -> String {
        let grant = Grant::Sender {
            sender_id: sender_id.into(),
            kinds: kinds.to_vec(),
        };
        create_token(self.store.as_ref(), grant, Timestamp::now())
            .await
            .unwrap()
            .1
    }

    pub async fn auditor_token(&self) -> String {
        create_token(self.store.as_ref(), Grant::Auditor, Timestamp::now())
            .await
            .unwrap()
            .1
    }

    pub async fn operator_token(&self) -> String {
        create_token(self.store.as_ref(), Grant::Operator, Timestamp::now())
            .await
            .unwrap()
            .1
    }

    /// Fires the reminders and escalations due by the test's clock, sends every delivery due
    /// and waits for the outcomes.
    pub async fn drain(&self) {
        self.scheduler.tick().await.expect("the scheduler ticks");
        self.delivery.drain().await;
    }

    /// Moves the test's clock on and sends what fell due.
    pub async fn advance_and_drain(&self, seconds: u64) {
        self.clock.advance(std::time::Duration::from_secs(seconds));
        self.drain().await;
    }

    /// A receipt as its sender reads it now.
    pub async fn receipt(&self, receipt: &Value, token: &str) -> Value {
        let id = receipt["receipt_id"].as_str().unwrap();
        let response = self.get(&format!("/v1/receipts/{id}"), token).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The token of the prison that sends the release-notice examples (`kif-horsens`).
    pub async fn prison_token(&self) -> String {
        self.sender_token("kif-horsens", &[Kind::ReleaseNotice]).await
    }

    pub async fn caseworker_token(&self, municipality: &str) -> String {
        let grant = Grant::Caseworker {
            municipality: Kommunekode::parse(municipality).unwrap(),
            team: None,
        };
        create_token(self.store.as_ref(), grant, Timestamp::now())
            .await
            .unwrap()
            .1
    }

    pub async fn submit(&self, kind: Kind, token: &str, body: &Value) -> reqwest::Response {
        self.submit_raw(kind, token, "application/json", serde_json::to_vec(body).unwrap())
            .await
    }

    /// Submits a message that must be accepted (202) and returns its receipt.
    pub async fn accept(&self, kind: Kind, token: &str, body: &Value) -> Value {
        let response = self.submit(kind, token, body).await;
        assert_eq!(
            response.status(),
            202,
            "not accepted: {}",
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    pub async fn submit_raw(&self, kind: Kind, token: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.address, intake_path(kind)))
            .bearer_auth(token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("the request is answered")
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("the request is answered")
    }

    /// How many messages the database holds, read straight from the database.
    pub fn stored_messages(&self) -> i64 {
        crate::backend::stored_messages(&self.data_dir)
    }

    /// Every case of a municipality, as a caseworker sees the list.
    pub async fn cases(&self, municipality: &str) -> Vec<Value> {
        let token = self.caseworker_token(municipality).await;
        let response = self.get("/v1/cases", &token).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["cases"].as_array().unwrap().clone()
    }
}

pub fn intake_path(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "/v1/release-notices",
        Kind::HousingOffer => "/v1/housing-offers",
        Kind::JobcenterMessage => "/v1/jobcenter-messages",
    }
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/examples")
}

/// One of the schema examples, e.g. `example(Kind::ReleaseNotice, "valid/initial-parole")`.
pub fn example(kind: Kind, name: &str) -> Value {
    let path = examples_dir().join(kind.as_str()).join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The release-notice example most tests start from: a parole release to Aarhus (751).
pub fn parole_notice() -> Value {
    example(Kind::ReleaseNotice, "valid/initial-parole")
}

/// The sender id all examples of a kind use.
pub fn example_sender(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "kif-horsens",
        Kind::HousingOffer => "boligtildeling-kbh",
        Kind::JobcenterMessage => "jobcenter-aarhus",
    }
}

/// The id of the first deadline of `policy` in a case (or a list) as the API shows it, `{"deadlines": [...]}`.
pub fn deadline_id(case: &Value, policy: &str) -> i64 {
    case["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy"] == policy)
        .unwrap_or_else(|| panic!("no {policy} deadline in {}", case["deadlines"]))["id"]
        .as_i64()
        .unwrap()
}

/// A valid release notice with its own message id and CPR number.
pub fn release_notice(message_id: &str, cpr: &str, municipality: &str) -> Value {
    let mut notice = parole_notice();
    notice["message_id"] = message_id.into();
    notice["citizen"]["cpr"] = cpr.into();
    notice["municipality"] = municipality.into();
    notice
}

pub async fn problem(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "problems are application/problem+json"
    );
    response.json().await.unwrap()
}

/// The codes of a receipt's warnings, in order.
pub fn warning_codes(receipt: &Value) -> Vec<String> {
    receipt["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_owned())
        .collect()
}

/// An HTTP client for talking to the gateway (rustls needs its crypto provider first).
pub fn client() -> reqwest::Client {
    indgang::delivery::install_crypto();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A receipt without its deliveries, whose states move on as the worker sends them.
pub fn filed(receipt: &Value) -> Value {
    let mut receipt = receipt.clone();
    receipt.as_object_mut().unwrap().remove("deliveries");
    receipt
}

/// An answer read off a raw connection, up to its end.
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The server ended the connection in order (FIN, and `close_notify` over TLS), not with a
    /// reset.
    pub closed_cleanly: bool,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as it is over `stream` (plain TCP or TLS), as a client that does not follow
/// HTTP would, and reads until the server closes the connection.
pub async fn raw_exchange<S>(mut stream: S, request: &[u8]) -> RawAnswer
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The server may answer and stop reading before the request is all sent.
    let _ = stream.write_all(request).await;
    let _ = stream.flush().await;
    let mut received = Vec::new();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection after answering");
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an answer with a head: {text:?} ({ended:?})"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawAnswer {
        status,
        headers,
        body: body.as_bytes().to_vec(),
        closed_cleanly: ended.is_ok(),
    }
}

/// Request heads that the HTTP parser itself refuses, and what each is answered: a URL of
/// 100 KB, one of 200 KB (the head is then over 128 KiB too), 100 headers, a malformed header.
pub fn unreadable_heads() -> Vec<(&'static str, Vec<u8>, u16, &'static str)> {
    let url = |n: usize| format!("/v1/cases?q={}", "a".repeat(n));
    let many: String = (0..100).map(|i| format!("x-header-{i}: {i}\r\n")).collect();
    vec![
        (
            "a 100 KB URL",
            format!("GET {} HTTP/1.1\r\nhost: gateway\r\n\r\n", url(100_000)).into_bytes(),
            414,
            "urn:indgang:problem:uri-too-long",
        ),
        (
            "a 200 KB URL",
            format!("GET {} HTTP/1.1\r\nhost: gateway\r\n\r\n", url(200_000)).into_bytes(),
            414,
            "urn:indgang:problem:uri-too-long",
        ),
        (
            "100 headers",
            format!("GET /healthz HTTP/1.1\r\nhost: gateway\r\n{many}\r\n").into_bytes(),
            431,
            "urn:indgang:problem:headers-too-large",
        ),
        (
            "a header without a colon",
            b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nno colon here\r\n\r\n".to_vec(),
            400,
            "urn:indgang:problem:malformed-request",
        ),
    ]
}

/// Checks the answer to one of `unreadable_heads`.
pub fn assert_problem_answer(what: &str, answer: &RawAnswer, status: u16, problem_type: &str) {
    assert_eq!(answer.status, status, "{what}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(answer.header("connection"), Some("close"), "{what}");
    // Its request id, as every answer has one (the log line of the refusal carries it).
    let id = answer
        .header("x-request-id")
        .unwrap_or_else(|| panic!("{what}: no x-request-id"));
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{what}: {id}");
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(body["type"], problem_type, "{what}");
    assert_eq!(body["status"], status, "{what}");
    assert!(body["detail"].is_string(), "{what}");
    assert!(answer.closed_cleanly, "{what}: the connection was reset, not closed");
}
