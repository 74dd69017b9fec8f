//! `indgang sender add|list|remove`: client certificates that identify senders (mutual TLS).
//! A sender may have several at once (rollover) and tokens as well (`indgang token`).

use super::output::{Wanting, outln};
use crate::audit::{About, Actor, Auditor, outcome};
use crate::auth::valid_sender_id;
use crate::config::Settings;
use crate::domain::Kind;
use crate::startup::open_store;
use crate::store::{SenderCertificateRecord, Store};
use crate::tls::{ClientTrust, Verdict};
use anyhow::{Context, bail};
use clap::Subcommand;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Register a client certificate to a sender: by the certificate file, its SHA-256
    /// fingerprint, or the serial number in its subject.
    Add(AddArgs),
    /// List the registered certificates (removed ones too).
    List,
    /// Remove a registration by its id (crt_… or crs_…); requests with the certificate are
    /// refused from then on.
    Remove {
        /// The registration's id, as `sender add` and `sender list` show it (crt_… or crs_…).
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// The sender id the messages must carry in sender.id.
    #[arg(value_name = "ID")]
    sender: String,
    /// The kinds it may submit, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "KIND,…", required = true)]
    kinds: Vec<String>,
    /// The sender's certificate as a PEM file (only the certificate; no key).
    #[arg(long, value_name = "FILE.pem", group = "by")]
    certificate: Option<PathBuf>,
    /// The certificate's SHA-256 fingerprint in hex (colons allowed).
    #[arg(long, value_name = "HEX", group = "by")]
    fingerprint: Option<String>,
    /// The serial number in the certificate's subject (e.g. UI:DK-O:G:…); a renewed certificate
    /// with the same subject serial number is accepted without registering it again.
    #[arg(long, value_name = "TEXT", group = "by")]
    subject_serial: Option<String>,
}

/// The audit log's actions of these commands, beside `token.create` and `token.revoke`.
const SENDER_ADD: &str = "sender.add";
const SENDER_REMOVE: &str = "sender.remove";

pub async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    if settings.server.tls.client_ca.trim().is_empty() {
        eprintln!("note: server.tls.client_ca is not set, so the gateway asks for no client certificates");
    }
    let store = open_store(&settings).await?;
    let result = async {
        let vault = crate::startup::open_vault(&settings, store.as_ref()).await?;
        let auditor = Auditor::new(store.clone(), vault.audit_key(), crate::clock::Clock::system());
        match command {
            Command::Add(args) => add(store.as_ref(), &auditor, &settings, args).await,
            Command::List => list(store.as_ref()).await,
            Command::Remove { id } => {
                let removed = store.remove_certificate(&id, Timestamp::now()).await?;
                let outcome = if removed { outcome::OK } else { outcome::NOT_FOUND };
                let about = About::target(crate::validation::echo::cut(&id));
                auditor
                    .record(&Actor::command_line(), SENDER_REMOVE, about, outcome)
                    .await?;
                if !removed {
                    return Err(Wanting(format!(
                        "no registered certificate has the id {id:?} (see indgang sender list)"
                    ))
                    .into());
                }
                outln!("removed {id}");
                Ok(())
            }
        }
    }
    .await;
    store.close().await;
    result
}

async fn add(store: &dyn Store, auditor: &Auditor, settings: &Settings, args: AddArgs) -> anyhow::Result<()> {
    if !valid_sender_id(&args.sender) {
        bail!(
            "{:?} is not a sender id (letters, digits, '.', '_', '-'; at most 64)",
            args.sender
        );
    }
    let kinds = args
        .kinds
        .iter()
        .map(|k| {
            Kind::parse(k.trim())
                .with_context(|| format!("--kinds: {k:?} is not release-notice, housing-offer or jobcenter-message"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = Timestamp::now();
    let mut record = SenderCertificateRecord {
        id: String::new(),
        sender_id: args.sender.clone(),
        kinds,
        fingerprint: None,
        subject_serial: None,
        not_after: None,
        created_at: now,
        revoked_at: None,
    };
    if let Some(path) = &args.certificate {
        let chain = crate::tls::read_certificates(path, "--certificate")?;
        check_trusted(settings, &chain)?;
        let fingerprint = crate::tls::fingerprint(&chain[0]);
        record.id = crate::tls::credential_id(&fingerprint);
        record.not_after = Some(crate::tls::not_after(&chain[0])?);
        record.fingerprint = Some(fingerprint);
    } else if let Some(hex) = &args.fingerprint {
        let fingerprint: String = hex
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        if fingerprint.len() != 64 || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("--fingerprint: {hex:?} is not a SHA-256 fingerprint (64 hex digits)");
        }
        record.id = crate::tls::credential_id(&fingerprint);
        record.fingerprint = Some(fingerprint);
    } else if let Some(serial) = &args.subject_serial {
        let serial = serial.trim();
        if serial.is_empty() {
            bail!("--subject-serial: empty");
        }
        record.id = format!("crs_{}", &hex::encode(Sha256::digest(serial.as_bytes()))[..12]);
        record.subject_serial = Some(serial.to_owned());
    } else {
        bail!("name the certificate: --certificate FILE.pem, --fingerprint HEX or --subject-serial TEXT");
    }
    let registered = store.sender_certificates().await?;
    if let Some(other) = registered.iter().find(|r| {
        r.revoked_at.is_none()
            && (r.id == record.id
                || (r.fingerprint.is_some() && r.fingerprint == record.fingerprint)
                || (r.subject_serial.is_some() && r.subject_serial == record.subject_serial))
    }) {
        return Err(Wanting(format!(
            "this certificate is registered already, as {} to sender {}; remove that first (indgang sender remove {})",
            other.id, other.sender_id, other.id
        ))
        .into());
    }
    store.register_certificate(record.clone()).await?;
    auditor
        .record(
            &Actor::command_line(),
            SENDER_ADD,
            About::target(format!("{} ({})", record.id, record.sender_id)),
            outcome::OK,
        )
        .await?;
    outln!("registered {} ({})", record.id, describe(&record));
    Ok(())
}

/// A certificate the gateway would not trust is refused now rather than at the first request.
fn check_trusted(settings: &Settings, chain: &[rustls::pki_types::CertificateDer<'static>]) -> anyhow::Result<()> {
    let path = settings.server.tls.client_ca.trim();
    if path.is_empty() {
        return Ok(());
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let trust = ClientTrust::load(std::path::Path::new(path), &provider)?;
    match trust.judge(chain) {
        Verdict::Trusted => Ok(()),
        Verdict::Expired { not_after } => Err(Wanting(format!(
            "--certificate: the certificate has expired{}",
            not_after.map_or_else(String::new, |at| format!(" (at {at})"))
        ))
        .into()),
        Verdict::NotYetValid => Ok(()),
        Verdict::Untrusted(reason) => Err(Wanting(format!(
            "--certificate: server.tls.client_ca does not trust it: {reason}"
        ))
        .into()),
    }
}

fn describe(record: &SenderCertificateRecord) -> String {
    let kinds: Vec<&str> = record.kinds.iter().map(|k| k.as_str()).collect();
    let by = match (&record.fingerprint, &record.subject_serial) {
        (Some(fingerprint), _) => format!("sha256 {fingerprint}"),
        (None, Some(serial)) => format!("subject serial {serial}"),
        (None, None) => "?".to_owned(),
    };
    format!("sender {} may submit {}; {by}", record.sender_id, kinds.join(","))
}

async fn list(store: &dyn Store) -> anyhow::Result<()> {
    let now = Timestamp::now();
    outln!(
        "{:<18} {:<20} {:<26} {:<26} {:<28} match",
        "id",
        "sender",
        "kinds",
        "expires",
        "state"
    );
    for record in store.sender_certificates().await? {
        let kinds: Vec<&str> = record.kinds.iter().map(|k| k.as_str()).collect();
        let state = match (record.revoked_at, record.not_after) {
            (Some(at), _) => format!("removed {}", at.strftime("%Y-%m-%d")),
            (None, Some(at)) if at < now => "expired".to_owned(),
            (None, Some(at)) if at.duration_since(now).as_hours() < 24 * crate::tls::EXPIRY_WARNING_DAYS => {
                "live, expires soon".to_owned()
            }
            (None, _) => "live".to_owned(),
        };
        let by = match (&record.fingerprint, &record.subject_serial) {
            (Some(fingerprint), _) => format!("sha256 {fingerprint}"),
            (None, Some(serial)) => format!("subject serial {serial}"),
            (None, None) => String::new(),
        };
        outln!(
            "{:<18} {:<20} {:<26} {:<26} {:<28} {by}",
            record.id,
            record.sender_id,
            kinds.join(","),
            record.not_after.map_or_else(|| "-".to_owned(), |at| at.to_string()),
            state
        );
    }
    Ok(())
}
