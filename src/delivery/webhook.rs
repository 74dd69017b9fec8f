//! The case-system webhook: a CloudEvents 1.0 event in structured JSON mode, POSTed over HTTPS
//! (reqwest with rustls) and signed per Standard Webhooks: `webhook-id` (the delivery id, the
//! same on every attempt), `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body` with the destination's secret).

use super::retry::{Verdict, http_verdict, parse_retry_after};
use crate::config::DestinationSettings;
use crate::store::ClaimedMessage;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

/// How much of a refusing answer's body is kept with the attempt.
const EXCERPT_BYTES: usize = 512;

/// A connection to a receiver idle this long is not used again. Common receivers close idle
/// connections after 5 s (Node.js, Apache httpd, actix-web); a connection reused at the moment
/// the receiver closes it fails the attempt after the request has gone out, which the schedule
/// then retries seconds later for nothing. Dropping it first leaves no such moment.
pub const POOL_IDLE: Duration = Duration::from_secs(4);

pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Vec<u8>,
}

/// Checks a `[destinations.<id>]` table; errors name the key below the table.
pub fn check(d: &DestinationSettings) -> anyhow::Result<()> {
    Webhook::new(d).map(|_| ())
}

impl Webhook {
    pub fn new(d: &DestinationSettings) -> anyhow::Result<Webhook> {
        if d.kind != "webhook" {
            bail!("type: {:?} is not a destination type (webhook)", d.kind);
        }
        let url = reqwest::Url::parse(&d.url).map_err(|e| anyhow::anyhow!("url: {:?}: {e}", d.url))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => bail!("url: {:?}: use https (plain http only to this machine)", d.url),
            other => bail!("url: {:?}: {other} is not http(s)", d.url),
        }
        let secret = decode_secret(d.secret.expose_secret()).context("secret")?;
        if !(1..=300).contains(&d.timeout_seconds) {
            bail!("timeout_seconds: must lie between 1 and 300");
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &d.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| anyhow::anyhow!("headers: {name:?} is not a header name"))?;
            if name.as_str().starts_with("webhook-") || name == reqwest::header::CONTENT_TYPE {
                bail!("headers: {name} is set by the gateway");
            }
            let value =
                HeaderValue::from_str(value).map_err(|_| anyhow::anyhow!("headers.{name}: not a header value"))?;
            headers.insert(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(d.timeout_seconds))
            .connect_timeout(Duration::from_secs(d.timeout_seconds.min(10)))
            .pool_idle_timeout(POOL_IDLE)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("indgang/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers);
        if !d.client_certificate.is_empty() {
            let pem = std::fs::read(&d.client_certificate)
                .with_context(|| format!("client_certificate: cannot read {}", d.client_certificate))?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                anyhow::anyhow!(
                    "client_certificate: {} holds no certificate and key: {e}",
                    d.client_certificate
                )
            })?;
            builder = builder.identity(identity);
        }
        if !d.ca_certificate.is_empty() {
            let pem = std::fs::read(&d.ca_certificate)
                .with_context(|| format!("ca_certificate: cannot read {}", d.ca_certificate))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| anyhow::anyhow!("ca_certificate: {}: {e}", d.ca_certificate))?;
            if certificates.is_empty() {
                bail!("ca_certificate: {} holds no certificate", d.ca_certificate);
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        crate::delivery::install_crypto();
        let client = builder.build().context("building the HTTP client")?;
        Ok(Webhook { client, url, secret })
    }

    /// POSTs `body` and says how it went.
    pub async fn send(&self, delivery_id: &str, body: Vec<u8>) -> Verdict {
        let timestamp = jiff::Timestamp::now().as_second();
        let signature = sign(&self.secret, delivery_id, timestamp, &body);
        let request = self
            .client
            .post(self.url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/cloudevents+json; charset=utf-8",
            )
            .header("webhook-id", delivery_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
                let excerpt = if response.status().is_success() {
                    String::new()
                } else {
                    excerpt(response).await
                };
                http_verdict(status, retry_after, excerpt)
            }
            Err(e) => Verdict::Retry {
                status: None,
                error: describe(&e),
                retry_after: None,
            },
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The key of a Standard Webhooks secret: `whsec_` and the base64 of at least 24 bytes.
pub fn decode_secret(text: &str) -> anyhow::Result<Vec<u8>> {
    let encoded = text
        .strip_prefix("whsec_")
        .context("a Standard Webhooks secret starts with whsec_")?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| anyhow::anyhow!("the part after whsec_ is not base64"))?;
    if key.len() < 24 {
        bail!("the key is {} bytes; use at least 24 (32 recommended)", key.len());
    }
    Ok(key)
}

/// A new secret for `[destinations.<id>].secret`.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` header value.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The CloudEvent for a delivery: the canonical message as `data`, the case as `subject`.
pub fn event(delivery_id: &str, m: &ClaimedMessage, message: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": delivery_id,
        "source": format!("urn:indgang:kommune:{}", m.municipality),
        "type": format!("dk.indgang.{}.v1", m.kind.as_str()),
        "subject": m.case_ref.as_str(),
        "time": m.received_at.to_string(),
        "datacontenttype": "application/json",
        "dataschema": format!("urn:indgang:schema:{}.v1", m.kind.as_str()),
        "indgangreceipt": m.receipt_id,
        "data": message,
    })
}

/// The answer on a vacant home as a CloudEvent (`dk.indgang.housing-answer.v1`), about the offer
/// `m` it answers; its data was sealed when the answer was given (`payload.sealed`), as it then
/// stood, so every attempt sends the same event.
pub fn housing_answer(
    delivery_id: &str,
    m: &ClaimedMessage,
    payload: Option<&Value>,
    vault: &crate::vault::Vault,
) -> anyhow::Result<Value> {
    let sealed = payload
        .and_then(|p| p.get("sealed"))
        .and_then(Value::as_str)
        .context("no sealed answer")?;
    let data: Value = serde_json::from_slice(&vault.open_document(&STANDARD.decode(sealed)?)?)?;
    Ok(json!({
        "specversion": "1.0",
        "id": delivery_id,
        "source": format!("urn:indgang:kommune:{}", m.municipality),
        "type": "dk.indgang.housing-answer.v1",
        "subject": m.case_ref.as_str(),
        "time": data.get("answered_at").cloned().unwrap_or(Value::Null),
        "datacontenttype": "application/json",
        "indgangreceipt": m.receipt_id,
        "data": data,
    }))
}

/// The start of a refusal's body: at most `EXCERPT_BYTES` are read, the rest never (dropping the
/// response closes the connection), so a receiver's large or endless error page costs nothing.
async fn excerpt(mut response: reqwest::Response) -> String {
    let status = response.status();
    let mut bytes = Vec::with_capacity(EXCERPT_BYTES);
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - bytes.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    text = crate::domain::cpr::mask_cpr_like(text.trim());
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

/// The causes of a request failure, innermost last, without the URL's query.
fn describe(e: &reqwest::Error) -> String {
    let mut parts = vec![if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    }];
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_must_be_standard_webhooks_secrets() {
        assert!(decode_secret(&generate_secret()).is_ok());
        assert!(decode_secret("hunter2").is_err());
        assert!(decode_secret("whsec_!!!").is_err());
        assert!(decode_secret("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn the_signature_covers_id_timestamp_and_body() {
        let key = b"0123456789abcdef0123456789abcdef";
        let a = sign(key, "dlv_1", 1_700_000_000, b"{}");
        assert!(a.starts_with("v1,"));
        assert_ne!(a, sign(key, "dlv_2", 1_700_000_000, b"{}"));
        assert_ne!(a, sign(key, "dlv_1", 1_700_000_001, b"{}"));
        assert_ne!(a, sign(key, "dlv_1", 1_700_000_000, b"{ }"));
    }
}
