//! HTTPS in the gateway itself (`[server.tls]`) and client certificates for senders
//! (`server.tls.client_ca`, mutual TLS).
//!
//! The files are read and checked once at start (`startup::check`): a file that cannot be read,
//! a key that does not belong to the certificate, or a certificate that has expired stops the
//! start with a message that names the key.
//!
//! The handshake lets any client certificate through, or none ([`Deferred`]); whether it is
//! trusted is decided per request by the same WebPKI verifier (`ClientTrust::judge`), so that a
//! sender whose certificate is untrusted, expired or unregistered is told so in a `401`
//! problem+json instead of getting a TLS alert that explains nothing. The handshake still proves
//! that the client holds the private key of the certificate it shows: the signature checks are
//! the verifier's own.
//!
//! Certificate times are judged by the system clock, as the peers on the network judge them.

use crate::config::TlsSettings;
use anyhow::{Context, bail};
use jiff::Timestamp;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// A server certificate expiring within this many days is warned about at start and in `/readyz`.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// What the gateway serves HTTPS with.
pub struct ServerTls {
    pub config: rustls::ServerConfig,
    pub certificate: ServerCertificate,
    /// Set when `server.tls.client_ca` is.
    pub clients: Option<Arc<ClientTrust>>,
}

/// The server certificate's expiry, for the warning at start and in `/readyz`.
#[derive(Debug, Clone)]
pub struct ServerCertificate {
    pub not_after: Timestamp,
}

impl ServerCertificate {
    /// A warning when the certificate expires within `EXPIRY_WARNING_DAYS` of `now`.
    pub fn expiry_warning(&self, now: Timestamp) -> Option<String> {
        let left = self.not_after.duration_since(now);
        if left.is_negative() {
            return Some(format!(
                "server.tls.certificate expired at {}; renew it",
                self.not_after
            ));
        }
        let days = left.as_secs() / 86_400;
        (days < EXPIRY_WARNING_DAYS).then(|| {
            format!(
                "server.tls.certificate expires in {days} days, at {}; renew it",
                self.not_after
            )
        })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ServerTls {
    /// The TLS settings read and checked; `None` for plain HTTP.
    pub fn from_settings(settings: &TlsSettings) -> anyhow::Result<Option<ServerTls>> {
        if !settings.enabled() {
            return Ok(None);
        }
        let provider = provider();
        let chain = read_certificates(Path::new(settings.certificate.trim()), "server.tls.certificate")?;
        let key = read_private_key(Path::new(settings.private_key.trim()))?;
        let not_after = not_after(&chain[0]).context("server.tls.certificate")?;
        let now = Timestamp::now();
        if not_after < now {
            bail!("server.tls.certificate: the certificate expired at {not_after}; renew it");
        }
        let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                anyhow::anyhow!("server.tls.private_key: the key does not belong to server.tls.certificate")
            }
            e => anyhow::anyhow!("server.tls.private_key: cannot use the key: {e}"),
        })?;
        let clients = if settings.client_ca.trim().is_empty() {
            None
        } else {
            Some(Arc::new(ClientTrust::load(
                Path::new(settings.client_ca.trim()),
                &provider,
            )?))
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("server.tls: the TLS versions")?;
        let builder = match &clients {
            Some(trust) => builder.with_client_cert_verifier(Arc::new(Deferred(trust.verifier.clone()))),
            None => builder.with_no_client_auth(),
        };
        let config = builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
        Ok(Some(ServerTls {
            config,
            certificate: ServerCertificate { not_after },
            clients,
        }))
    }
}

fn read(path: &Path, key: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{key}: cannot read {}", path.display()))
}

/// Every certificate of a PEM file, in order; at least one.
pub fn read_certificates(path: &Path, key: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, key)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{key}: {} is not a PEM file of certificates: {e}", path.display()))?;
    if chain.is_empty() {
        bail!(
            "{key}: {} holds no certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    for certificate in &chain {
        not_after(certificate).with_context(|| format!("{key}: {}", path.display()))?;
    }
    Ok(chain)
}

fn read_private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let key = "server.tls.private_key";
    let pem = read(path, key)?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "server.tls.private_key can be read by others than its owner; chmod 600 it");
        }
    }
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| anyhow::anyhow!("{key}: {} holds no private key in PEM: {e}", path.display()))
}

/// When a certificate expires.
pub fn not_after(certificate: &CertificateDer<'_>) -> anyhow::Result<Timestamp> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate.as_ref())
        .map_err(|e| anyhow::anyhow!("not an X.509 certificate: {e}"))?;
    Timestamp::from_second(parsed.validity().not_after.timestamp()).context("the certificate's expiry")
}

/// The SHA-256 fingerprint of a certificate (of its DER bytes), lower-case hex.
pub fn fingerprint(certificate: &CertificateDer<'_>) -> String {
    hex::encode(Sha256::digest(certificate.as_ref()))
}

/// The credential id a certificate acts under: `crt_` and the first 12 hex digits of its
/// fingerprint.
pub fn credential_id(fingerprint: &str) -> String {
    format!("crt_{}", &fingerprint[..12.min(fingerprint.len())])
}

/// The serial number in the certificate's subject (`serialNumber`, 2.5.4.5), as Danish OCES
/// organisation and system certificates carry it (`UI:DK-O:G:…`); not the certificate's own
/// serial number.
pub fn subject_serial(certificate: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate.as_ref()).ok()?;
    parsed
        .subject()
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .next()
        .and_then(|attribute| attribute.as_str().ok())
        .map(str::to_owned)
}

/// The chain a client showed in the handshake (end entity first), kept with its connection.
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Arc<[CertificateDer<'static>]>);

/// For `HttpServer::on_connect`: keeps the client's certificate chain, if it showed one, with
/// the connection, where `Principal`'s extractor finds it.
pub fn on_connect(io: &dyn std::any::Any, extensions: &mut actix_web::dev::Extensions) {
    use actix_tls::accept::rustls_0_23::TlsStream;
    if let Some(stream) = io.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() {
        let (_, connection) = stream.get_ref();
        if let Some(chain) = connection.peer_certificates().filter(|chain| !chain.is_empty()) {
            extensions.insert(PeerCertificates(chain.iter().map(|c| c.clone().into_owned()).collect()));
        }
    }
}

/// The verdict on a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Trusted,
    Expired {
        not_after: Option<Timestamp>,
    },
    NotYetValid,
    /// Not issued by an authority of `server.tls.client_ca`, or not usable for client
    /// authentication; the reason in words.
    Untrusted(String),
}

/// The authorities of `server.tls.client_ca` and the verifier built from them.
#[derive(Debug)]
pub struct ClientTrust {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ClientTrust {
    pub fn load(path: &Path, provider: &Arc<CryptoProvider>) -> anyhow::Result<ClientTrust> {
        let key = "server.tls.client_ca";
        let mut roots = RootCertStore::empty();
        for certificate in read_certificates(path, key)? {
            roots.add(certificate).map_err(|e| {
                anyhow::anyhow!(
                    "{key}: {} holds a certificate that cannot be an authority: {e}",
                    path.display()
                )
            })?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        Ok(ClientTrust { verifier })
    }

    /// Whether the chain a client showed is trusted now.
    pub fn judge(&self, chain: &[CertificateDer<'static>]) -> Verdict {
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return Verdict::Untrusted("no certificate".to_owned());
        };
        match self
            .verifier
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
        {
            Ok(_) => Verdict::Trusted,
            Err(rustls::Error::InvalidCertificate(error)) => match error {
                CertificateError::Expired => Verdict::Expired {
                    not_after: not_after(end_entity).ok(),
                },
                CertificateError::ExpiredContext { not_after: at, .. } => Verdict::Expired {
                    not_after: Timestamp::from_second(at.as_secs() as i64).ok(),
                },
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => Verdict::NotYetValid,
                CertificateError::UnknownIssuer => {
                    Verdict::Untrusted("it is not issued by an authority this gateway trusts".to_owned())
                }
                CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                    Verdict::Untrusted("it is not for client authentication (extended key usage)".to_owned())
                }
                CertificateError::BadSignature => {
                    Verdict::Untrusted("its signature does not verify against its issuer".to_owned())
                }
                other => Verdict::Untrusted(format!("it cannot be verified: {other:?}")),
            },
            Err(other) => Verdict::Untrusted(format!("it cannot be verified: {other}")),
        }
    }
}

/// The client certificate verifier given to rustls: it asks for a certificate from the
/// authorities of `client_ca` (and lets a client without one in), accepts every chain so
/// that the request can be answered with the reason, and checks the handshake signatures
/// with the real verifier, so the client must hold the certificate's key.
#[derive(Debug)]
struct Deferred(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for Deferred {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Judged per request by `ClientTrust::judge`, which answers with the reason.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
