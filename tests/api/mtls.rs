//! HTTPS in the gateway itself and senders that prove who they are with a client certificate
//! (mutual TLS): a test authority, certificates made here with rcgen, a real rustls client, a
//! real gateway serving HTTPS on port 0, and the real binary registering certificates.

use crate::helpers::{parole_notice, problem, settings_for, spawn_app_in};
use indgang::startup::Application;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

/// An authority that issues server and client certificates.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Authority {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A certificate for `127.0.0.1`, valid until `until` (y, m, d).
    fn server(&self, until: (i32, u8, u8)) -> Issued {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(until.0, until.1, until.2);
        self.issue(params)
    }

    /// A client certificate for a sender's system.
    fn client(&self, name: &str) -> Issued {
        self.client_with(name, None, (2099, 1, 1))
    }

    fn client_with(&self, name: &str, subject_serial: Option<&str>, until: (i32, u8, u8)) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if let Some(serial) = subject_serial {
            params
                .distinguished_name
                .push(DnType::CustomDnType(vec![2, 5, 4, 5]), serial);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(until.0, until.1, until.2);
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            pem: certificate.pem(),
            der: certificate.der().clone(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }
}

struct Issued {
    pem: String,
    der: CertificateDer<'static>,
    key_pem: String,
    key_der: Vec<u8>,
}

impl Issued {
    fn fingerprint(&self) -> String {
        indgang::tls::fingerprint(&self.der)
    }

    fn credential_id(&self) -> String {
        format!("crt_{}", &self.fingerprint()[..12])
    }
}

/// A data folder with the gateway's PEM files, and the settings that name them.
struct Setup {
    dir: tempfile::TempDir,
    ca: Authority,
    env: Vec<(String, String)>,
}

impl Setup {
    /// A gateway certificate from `ca` valid until `until`, and `ca` as `client_ca`.
    fn new(until: (i32, u8, u8)) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ca = Authority::new("Testkommunens CA");
        let server = ca.server(until);
        let write = |name: &str, text: &str| -> String {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let env = vec![
            (
                "INDGANG__SERVER__TLS__CERTIFICATE".to_owned(),
                write("server.pem", &server.pem),
            ),
            (
                "INDGANG__SERVER__TLS__PRIVATE_KEY".to_owned(),
                write("server.key", &server.key_pem),
            ),
            (
                "INDGANG__SERVER__TLS__CLIENT_CA".to_owned(),
                write("client-ca.pem", &ca.pem()),
            ),
        ];
        Setup { dir, ca, env }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The real binary on this data folder, with the TLS settings.
    fn indgang(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_indgang"))
            .args(args)
            .env("INDGANG__DATA_DIR", self.dir.path())
            .envs(crate::backend::storage_env(std::path::Path::new(&self.dir.path())))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    /// `indgang sender ARGS…`, which must succeed; its standard output.
    fn sender(&self, args: &[&str]) -> String {
        let mut all = vec!["sender"];
        all.extend_from_slice(args);
        let output = self.indgang(&all);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Registers a client certificate to `sender` for release notices, from its PEM file.
    fn register(&self, sender: &str, certificate: &Issued) -> String {
        let path = self.file(&format!("{}.pem", certificate.credential_id()), &certificate.pem);
        self.sender(&[
            "add",
            sender,
            "--kinds",
            "release-notice",
            "--certificate",
            path.to_str().unwrap(),
        ])
    }
}

/// A rustls client that trusts `ca` and shows `identity`, if any.
fn https_client(ca: &Authority, identity: Option<&Issued>) -> reqwest::Client {
    indgang::delivery::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some(issued) => builder
            .with_client_auth_cert(
                vec![issued.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.key_der.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap()
}

fn https(app: &crate::helpers::TestApp) -> String {
    app.address.replacen("http://", "https://", 1)
}

async fn submit(client: &reqwest::Client, base: &str, notice: &Value) -> reqwest::Response {
    client
        .post(format!("{base}/v1/release-notices"))
        .json(notice)
        .send()
        .await
        .unwrap()
}

fn notice(message_id: &str) -> Value {
    let mut notice = parole_notice();
    notice["message_id"] = message_id.into();
    notice
}

#[tokio::test]
async fn a_registered_certificate_acts_as_its_sender_and_the_receipt_names_it() {
    let setup = Setup::new((2099, 1, 1));
    let prison = setup.ca.client("kif-horsens.kriminalforsorgen.example");
    let printed = setup.register("kif-horsens", &prison);
    assert!(printed.contains(&prison.credential_id()), "{printed}");
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;
    let base = https(&app);
    let client = https_client(&setup.ca, Some(&prison));

    let response = submit(&client, &base, &notice("KIF-HOR-MTLS-1")).await;

    assert_eq!(response.status(), 202);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["sender_id"], "kif-horsens");
    // The sender reads its own receipt with the same certificate.
    let location = format!("{base}/v1/receipts/{}", receipt["receipt_id"].as_str().unwrap());
    let again = client.get(&location).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["sender_id"], "kif-horsens");
    // Tokens still work over HTTPS, without a client certificate.
    let token = app.caseworker_token("751").await;
    let cases = https_client(&setup.ca, None)
        .get(format!("{base}/v1/cases"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(cases.status(), 200);
    let listed = setup.sender(&["list"]);
    let line = listed.lines().find(|l| l.starts_with(&prison.credential_id())).unwrap();
    assert!(line.contains("kif-horsens") && line.contains("live"), "{listed}");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_certificate_is_refused_saying_it_expired() {
    let setup = Setup::new((2099, 1, 1));
    let expired = setup.ca.client_with("kif-horsens", None, (2021, 1, 1));
    // Registration refuses it too, so it cannot be registered by file; by fingerprint it can.
    let path = setup.file("expired.pem", &expired.pem);
    let refused = setup.indgang(&[
        "sender",
        "add",
        "kif-horsens",
        "--kinds",
        "release-notice",
        "--certificate",
        path.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "the input found wanting");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("expired"));
    setup.sender(&[
        "add",
        "kif-horsens",
        "--kinds",
        "release-notice",
        "--fingerprint",
        &expired.fingerprint(),
    ]);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;

    let response = submit(
        &https_client(&setup.ca, Some(&expired)),
        &https(&app),
        &notice("KIF-EXP-1"),
    )
    .await;

    assert_eq!(response.status(), 401);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:certificate-expired");
    assert!(body["detail"].as_str().unwrap().contains("2021-01-01"), "{body}");
    assert_eq!(app.stored_messages(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_certificate_from_another_authority_is_refused_as_untrusted() {
    let setup = Setup::new((2099, 1, 1));
    let other = Authority::new("Another authority");
    let stranger = other.client("kif-horsens");
    // Registering it is refused: client_ca does not trust it.
    let path = setup.file("stranger.pem", &stranger.pem);
    let refused = setup.indgang(&[
        "sender",
        "add",
        "kif-horsens",
        "--kinds",
        "release-notice",
        "--certificate",
        path.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "the input found wanting");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("server.tls.client_ca"));
    // Even registered by fingerprint, an untrusted certificate identifies nobody.
    setup.sender(&[
        "add",
        "kif-horsens",
        "--kinds",
        "release-notice",
        "--fingerprint",
        &stranger.fingerprint(),
    ]);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;

    let response = submit(
        &https_client(&setup.ca, Some(&stranger)),
        &https(&app),
        &notice("KIF-OTH-1"),
    )
    .await;

    assert_eq!(response.status(), 401);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:certificate-untrusted");
    assert!(body["detail"].as_str().unwrap().contains("authority"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_trusted_but_unregistered_certificate_is_refused_with_its_fingerprint() {
    let setup = Setup::new((2099, 1, 1));
    let unknown = setup.ca.client("kif-horsens");
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;

    let response = submit(
        &https_client(&setup.ca, Some(&unknown)),
        &https(&app),
        &notice("KIF-UNR-1"),
    )
    .await;

    assert_eq!(response.status(), 401);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:certificate-unregistered");
    assert!(
        body["detail"].as_str().unwrap().contains(&unknown.fingerprint()),
        "{body}"
    );
    // Neither a token nor a certificate: 401 that names both ways in.
    let none = submit(&https_client(&setup.ca, None), &https(&app), &notice("KIF-UNR-2")).await;
    assert_eq!(none.status(), 401);
    let body = problem(none).await;
    assert_eq!(body["type"], "urn:indgang:problem:unauthorized");
    assert!(
        body["detail"].as_str().unwrap().contains("client certificate"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_certificate_registered_to_another_sender_cannot_send_as_this_one() {
    let setup = Setup::new((2099, 1, 1));
    let vestre = setup.ca.client("kif-vestre");
    setup.register("kif-vestre", &vestre);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;

    // The example notice says sender.id kif-horsens.
    let response = submit(
        &https_client(&setup.ca, Some(&vestre)),
        &https(&app),
        &notice("KIF-OTHER-1"),
    )
    .await;

    assert_eq!(response.status(), 403);
    let body = problem(response).await;
    assert_eq!(body["type"], "urn:indgang:problem:forbidden");
    assert!(body["detail"].as_str().unwrap().contains("kif-vestre"), "{body}");
    assert_eq!(app.stored_messages(), 0);
    app.stop().await;
}

#[tokio::test]
async fn sender_remove_revokes_a_certificate_and_rollover_keeps_two_at_once() {
    let setup = Setup::new((2099, 1, 1));
    let old = setup.ca.client("kif-horsens 2025");
    let new = setup.ca.client("kif-horsens 2026");
    setup.register("kif-horsens", &old);
    setup.register("kif-horsens", &new);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;
    let base = https(&app);
    let (old_client, new_client) = (https_client(&setup.ca, Some(&old)), https_client(&setup.ca, Some(&new)));

    // Both work while the sender rolls over.
    assert_eq!(submit(&old_client, &base, &notice("KIF-ROLL-1")).await.status(), 202);
    assert_eq!(submit(&new_client, &base, &notice("KIF-ROLL-2")).await.status(), 202);

    let removed = setup.sender(&["remove", &old.credential_id()]);
    assert!(removed.contains(&old.credential_id()), "{removed}");

    let refused = submit(&old_client, &base, &notice("KIF-ROLL-3")).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        problem(refused).await["type"],
        "urn:indgang:problem:certificate-unregistered"
    );
    assert_eq!(submit(&new_client, &base, &notice("KIF-ROLL-4")).await.status(), 202);
    let listed = setup.sender(&["list"]);
    let line = listed.lines().find(|l| l.starts_with(&old.credential_id())).unwrap();
    assert!(line.contains("removed"), "{listed}");
    // Both registrations and the removal are in the audit log.
    let exported = setup.indgang(&["audit", "export"]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let entries: Vec<Value> = String::from_utf8_lossy(&exported.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap_or_default()))
        .collect();
    assert!(
        actions.contains(&("sender.add", &format!("{} (kif-horsens)", new.credential_id()))),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("sender.remove", &old.credential_id())),
        "{actions:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sender_registered_by_subject_serial_number_keeps_working_with_a_renewed_certificate() {
    let setup = Setup::new((2099, 1, 1));
    let serial = "UI:DK-O:G:0f3c9e52-kif-horsens";
    let first = setup.ca.client_with("kif-horsens", Some(serial), (2099, 1, 1));
    let renewed = setup.ca.client_with("kif-horsens", Some(serial), (2099, 6, 1));
    let other = setup
        .ca
        .client_with("kif-horsens", Some("UI:DK-O:G:another"), (2099, 1, 1));
    setup.sender(&[
        "add",
        "kif-horsens",
        "--kinds",
        "release-notice",
        "--subject-serial",
        serial,
    ]);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;
    let base = https(&app);

    let response = submit(&https_client(&setup.ca, Some(&first)), &base, &notice("KIF-SN-1")).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["sender_id"], "kif-horsens");
    let renewed = submit(&https_client(&setup.ca, Some(&renewed)), &base, &notice("KIF-SN-2")).await;
    assert_eq!(renewed.status(), 202);
    let other = submit(&https_client(&setup.ca, Some(&other)), &base, &notice("KIF-SN-3")).await;
    assert_eq!(other.status(), 401);
    app.stop().await;
}

/// The error `Application::build` stops with, as the binary prints it.
async fn start_error(dir: &Path, env: &[(&str, &str)]) -> String {
    match Application::build(settings_for(dir, env)).await {
        Ok(_) => panic!("the gateway started"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn a_certificate_or_key_that_cannot_be_used_stops_the_start_naming_the_key() {
    let setup = Setup::new((2099, 1, 1));
    let mut env = setup.env();

    // A file that cannot be read.
    let missing = setup.dir.path().join("missing.pem").display().to_string();
    env[0].1 = &missing;
    let error = start_error(setup.dir.path(), &env).await;
    assert!(error.starts_with("server.tls.certificate: cannot read"), "{error}");

    // A key that belongs to another certificate.
    let other = setup.ca.server((2099, 1, 1));
    let other_key = setup.file("other.key", &other.key_pem).display().to_string();
    let mut env = setup.env();
    env[1].1 = &other_key;
    let error = start_error(setup.dir.path(), &env).await;
    assert!(
        error.starts_with("server.tls.private_key: the key does not belong"),
        "{error}"
    );

    // An expired certificate, with its own key.
    let expired = setup.ca.server((2021, 1, 1));
    let expired_pem = setup.file("expired.pem", &expired.pem).display().to_string();
    let expired_key = setup.file("expired.key", &expired.key_pem).display().to_string();
    let mut env = setup.env();
    env[0].1 = &expired_pem;
    env[1].1 = &expired_key;
    let error = start_error(setup.dir.path(), &env).await;
    assert!(
        error.starts_with("server.tls.certificate: the certificate expired"),
        "{error}"
    );

    // check-config says what it will serve.
    let ok = setup.indgang(&["check-config"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains(
            "tls              HTTPS (server.tls.certificate), client certificates for senders (server.tls.client_ca)"
        ),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // The real binary refuses the same before it starts, exit code 2, naming the key.
    let output = Command::new(env!("CARGO_BIN_EXE_indgang"))
        .arg("check-config")
        .env("INDGANG__DATA_DIR", setup.dir.path())
        .envs(crate::backend::storage_env(std::path::Path::new(&setup.dir.path())))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("server.tls.certificate: the certificate expired"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The day `days` from now (UTC), as rcgen wants it.
fn in_days(days: i64) -> (i32, u8, u8) {
    let day = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    (i32::from(day.year()), day.month() as u8, day.day() as u8)
}

#[tokio::test]
async fn serve_says_it_serves_https_and_warns_at_start_of_a_certificate_expiring_within_30_days() {
    let setup = Setup::new(in_days(10));

    let served = crate::binary::serve_with(setup.dir.path(), "info", &setup.env);

    assert!(served.address.starts_with("https://127.0.0.1:"), "{}", served.address);
    let lines = served.lines.lock().unwrap().clone();
    let warning = lines
        .iter()
        .find(|line| line.contains("server.tls.certificate expires in"))
        .unwrap_or_else(|| panic!("no warning in {lines:?}"));
    assert!(warning.contains("\"WARN\""), "{warning}");
    // It answers over HTTPS (and has its signal handler in place by then).
    let ready = https_client(&setup.ca, None)
        .get(format!("{}/readyz", served.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let (status, stderr) = served.stop(libc::SIGTERM);
    assert!(status.success(), "{stderr}");
}

#[tokio::test]
async fn a_server_certificate_expiring_within_30_days_is_warned_about_in_readyz() {
    let setup = Setup::new(in_days(10));
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;

    let response = https_client(&setup.ca, None)
        .get(format!("{}/readyz", https(&app)))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let warning = body["warnings"][0].as_str().unwrap();
    assert!(warning.starts_with("server.tls.certificate expires in"), "{body}");
    app.stop().await;

    // A certificate with years left: no warning.
    let setup = Setup::new((2099, 1, 1));
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;
    let body: Value = https_client(&setup.ca, None)
        .get(format!("{}/readyz", https(&app)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ready" }));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_an_https_gateway_stops_new_requests_get_their_503_over_https() {
    use futures_util::StreamExt;
    let setup = Setup::new((2099, 1, 1));
    let prison = setup.ca.client("kif-horsens");
    setup.register("kif-horsens", &prison);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;
    let base = https(&app);
    // A submission whose body is held back keeps the stop waiting for it.
    let body = serde_json::to_vec(&notice("KIF-STOP-1")).unwrap();
    let length = body.len();
    let (first, rest) = (body[..10].to_vec(), body[10..].to_vec());
    let (release, held) = tokio::sync::oneshot::channel::<()>();
    let chunks =
        futures_util::stream::iter([Ok::<_, std::io::Error>(first)]).chain(futures_util::stream::once(async move {
            let _ = held.await;
            Ok(rest)
        }));
    let client = https_client(&setup.ca, Some(&prison));
    let url = format!("{base}/v1/release-notices");
    let slow = tokio::spawn(async move {
        client
            .post(url)
            .header("content-type", "application/json")
            .header("content-length", length)
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap()
            .status()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = https_client(&setup.ca, None)
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("an answer over HTTPS while stopping");

    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(problem(refused).await["type"], "urn:indgang:problem:unavailable");
    release.send(()).unwrap();
    assert_eq!(slow.await.unwrap(), 202);
    stopping.await.unwrap();
}

#[tokio::test]
async fn over_https_a_head_the_parser_cannot_read_is_answered_with_a_problem_too() {
    use crate::helpers::{assert_problem_answer, raw_exchange, unreadable_heads};
    let setup = Setup::new((2099, 1, 1));
    let prison = setup.ca.client("kif-horsens");
    setup.register("kif-horsens", &prison);
    let app = spawn_app_in(setup.dir.path(), &setup.env()).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    indgang::delivery::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(setup.ca.der()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();

    for (what, request, status, problem_type) in unreadable_heads() {
        let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
        let stream = connector.connect(name.clone(), tcp).await.unwrap();
        let answer = raw_exchange(stream, &request).await;
        assert_problem_answer(what, &answer, status, problem_type);
    }
    let served = https_client(&setup.ca, Some(&prison))
        .get(format!("{}/healthz", https(&app)))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let submitted = submit(
        &https_client(&setup.ca, Some(&prison)),
        &https(&app),
        &notice("KIF-AFTER"),
    )
    .await;
    assert_eq!(
        submitted.status(),
        202,
        "a client certificate is still read from the connection"
    );
}
