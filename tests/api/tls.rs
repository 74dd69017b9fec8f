//! The case-system webhook over real TLS: a receiver with its own certificate authority that
//! demands a client certificate (mutual TLS), as municipal integration platforms often do. The
//! gateway trusts the authority through `ca_certificate` and proves itself with
//! `client_certificate`.

use crate::helpers::{release_notice, spawn_app_with};
use crate::receiver::SECRET;
use indgang::domain::Kind;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Pki {
    ca_pem: String,
    server: (CertificateDer<'static>, PrivateKeyDer<'static>),
    ca_der: CertificateDer<'static>,
    /// The client's certificate and key, in one PEM file as `client_certificate` wants it.
    client_pem: String,
}

fn pki() -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "Testkommunens CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = params.signed_by(&server_key, &ca).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["indgang.kommune.example".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = params.signed_by(&client_key, &ca).unwrap();

    Pki {
        ca_pem: ca.pem(),
        ca_der: ca.der().clone(),
        server: (
            server.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        ),
        client_pem: format!("{}{}", client.pem(), client_key.serialize_pem()),
    }
}

#[derive(Default)]
struct Seen {
    events: Vec<Value>,
    refused_handshakes: usize,
}

/// An HTTPS receiver that requires a client certificate from the test CA; answers 204.
async fn tls_receiver(pki: &Pki) -> (u16, Arc<Mutex<Seen>>) {
    indgang::delivery::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), shared.clone());
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    seen.lock().unwrap().refused_handshakes += 1;
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                let body_start = loop {
                    let n = stream.read(&mut buffer).await.unwrap();
                    assert!(n > 0, "the request ended early");
                    request.extend_from_slice(&buffer[..n]);
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap();
                while request.len() < body_start + length {
                    let n = stream.read(&mut buffer).await.unwrap();
                    request.extend_from_slice(&buffer[..n]);
                }
                let event: Value = serde_json::from_slice(&request[body_start..body_start + length]).unwrap();
                seen.lock().unwrap().events.push(event);
                let _ = stream
                    .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, seen)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn the_webhook_goes_over_mutual_tls_to_a_receiver_with_its_own_ca() {
    let pki = pki();
    let (port, seen) = tls_receiver(&pki).await;
    let files = tempfile::tempdir().unwrap();
    let ca = write(files.path(), "ca.pem", &pki.ca_pem);
    let client = write(files.path(), "client.pem", &pki.client_pem);
    let url = format!("https://127.0.0.1:{port}/events");
    let mut env = vec![
        ("INDGANG__DESTINATIONS__ESDH__TYPE", "webhook"),
        ("INDGANG__DESTINATIONS__ESDH__URL", url.as_str()),
        ("INDGANG__DESTINATIONS__ESDH__SECRET", SECRET),
        ("INDGANG__DESTINATIONS__ESDH__CA_CERTIFICATE", ca.as_str()),
        ("INDGANG__DESTINATIONS__ESDH__CLIENT_CERTIFICATE", client.as_str()),
        ("INDGANG__ROUTING__DESTINATIONS", "esdh"),
    ];
    let app = spawn_app_with(&env).await;
    let token = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-1", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.events.len(), 1, "delivered over TLS");
        assert_eq!(seen.events[0]["subject"], receipt["case_ref"]);
        assert_eq!(seen.refused_handshakes, 0);
    }
    app.stop().await;

    // Without the client certificate the receiver refuses the handshake: retried, not lost.
    env.retain(|(key, _)| !key.ends_with("CLIENT_CERTIFICATE"));
    let app = spawn_app_with(&env).await;
    let token = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &token,
            &release_notice("KIF-2", "150385-1234", "751"),
        )
        .await;
    app.drain().await;
    let now = app.receipt(&receipt, &token).await;
    let esdh = &now["deliveries"][1];
    assert_eq!(esdh["destination"], "esdh");
    assert_eq!(esdh["state"], "retrying", "{now}");
    assert_eq!(seen.lock().unwrap().events.len(), 1);
    assert!(seen.lock().unwrap().refused_handshakes >= 1);
}
