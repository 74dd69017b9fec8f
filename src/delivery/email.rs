//! Team mailbox notifications, through lettre. With `smtp.url` set they go to that server
//! (STARTTLS or TLS from the start, through rustls; pooled connections); without it each email
//! is written as `<data_dir>/outbox/<delivery id>.eml`, so the gateway works out of the box.
//!
//! A notification says that something arrived and where to read it: the kind, the case
//! reference, the sending institution and a link. Never a CPR number, a name or an address.

use super::retry::Verdict;
use crate::config::{Settings, TeamSettings};
use crate::domain::{Kind, copenhagen};
use crate::store::ClaimedDelivery;
use anyhow::{Context, bail};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, Message, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// The URL lettre gets: `smtp://` to another host requires STARTTLS unless the URL says
/// otherwise.
fn effective_url(text: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(text).map_err(|e| anyhow::anyhow!("{text:?}: {e}"))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    match url.scheme() {
        "smtps" => {}
        "smtp" => {
            let loopback = host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            let has_tls = url.query_pairs().any(|(k, _)| k == "tls");
            if !has_tls && !loopback {
                url.query_pairs_mut().append_pair("tls", "required");
            }
        }
        other => bail!("{text:?}: {other} is not smtp or smtps"),
    }
    if host.is_empty() {
        bail!("{text:?} names no host");
    }
    Ok(url.to_string())
}

pub fn check_smtp_url(text: &str) -> anyhow::Result<()> {
    let url = effective_url(text)?;
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&url).map_err(|e| anyhow::anyhow!("{text:?}: {e}"))?;
    Ok(())
}

impl Mailer {
    pub fn new(settings: &Settings) -> anyhow::Result<Mailer> {
        let smtp = &settings.smtp;
        if smtp.url.trim().is_empty() {
            let folder = settings.data_dir.join("outbox");
            std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
            tracing::info!(folder = %folder.display(), "no SMTP server configured (smtp.url): emails are written to this folder as .eml files");
            return Ok(Mailer::Folder(folder));
        }
        super::install_crypto();
        let url = effective_url(&smtp.url)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| anyhow::anyhow!("smtp.url: {e}"))?
            .timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
        if !smtp.username.is_empty() {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(smtp.username.clone(), password));
        }
        Ok(Mailer::Smtp(builder.build()))
    }

    pub async fn send(&self, delivery_id: &str, message: Message) -> Verdict {
        match self {
            Mailer::Smtp(transport) => match transport.send(message).await {
                Ok(response) => Verdict::Delivered {
                    status: code_of(&response.code().to_string()),
                },
                Err(e) => {
                    let status = e.status().and_then(|code| code_of(&code.to_string()));
                    let error = super::mask_cpr_like(&e.to_string());
                    if e.is_permanent() {
                        Verdict::Permanent { status, error }
                    } else {
                        Verdict::Retry {
                            status,
                            error,
                            retry_after: None,
                        }
                    }
                }
            },
            Mailer::Folder(folder) => {
                let path = folder.join(format!("{delivery_id}.eml"));
                let bytes = message.formatted();
                match tokio::task::spawn_blocking(move || write_durably(&path, &bytes)).await {
                    Ok(Ok(())) => Verdict::Delivered { status: None },
                    Ok(Err(e)) => Verdict::Retry {
                        status: None,
                        error: format!("writing the .eml file: {e:#}"),
                        retry_after: None,
                    },
                    Err(e) => Verdict::Retry {
                        status: None,
                        error: format!("writing the .eml file: {e}"),
                        retry_after: None,
                    },
                }
            }
        }
    }
}

fn code_of(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// Writes the file under a temporary name, syncs it and renames it into place, so a reader
/// never sees half an email and a crash leaves none.
fn write_durably(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("eml.tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    std::fs::rename(&temporary, path)?;
    if let Some(folder) = path.parent() {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// The Danish name of a kind, as a caseworker reads it.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "løsladelsesmeddelelse",
        Kind::HousingOffer => "boligtilbud",
        Kind::JobcenterMessage => "besked fra jobcentret",
    }
}

/// A date from the summary as dd.mm.yyyy.
fn danish_date(text: &str) -> Option<String> {
    let date: jiff::civil::Date = text.get(..10)?.parse().ok()?;
    Some(date.strftime("%d.%m.%Y").to_string())
}

/// What a routed message is, in a few Danish words with its key date: "Løsladelse 09.02.2027".
fn headline(d: &ClaimedDelivery) -> String {
    let text = |key: &str| d.summary.get(key).and_then(|v| v.as_str());
    let dated = |words: &str, key: &str| match text(key).and_then(danish_date) {
        Some(date) => format!("{words} {date}"),
        None => words.to_owned(),
    };
    match d.kind {
        Kind::ReleaseNotice => match text("notice_type").unwrap_or_default() {
            "admission" => "Indsættelse".to_owned(),
            "update" => dated("Ændret løsladelse", "release.expected_date"),
            "transfer" => dated("Overførsel, løsladelse", "release.expected_date"),
            "cancellation" => "Aflyst løsladelse".to_owned(),
            _ => dated("Løsladelse", "release.expected_date"),
        },
        Kind::HousingOffer => match text("offer_type").unwrap_or_default() {
            "update" => dated("Ændret boligtilbud, svarfrist", "answer_deadline"),
            "withdrawal" => "Trukket boligtilbud".to_owned(),
            _ => dated("Boligtilbud, svarfrist", "answer_deadline"),
        },
        Kind::JobcenterMessage => match text("message_type").unwrap_or_default() {
            "appointment" => dated("Jobcenter: møde", "appointment.at"),
            "appointment_cancelled" => "Jobcenter: møde aflyst".to_owned(),
            "benefit_application_received" => "Jobcenter: ansøgning om ydelse modtaget".to_owned(),
            "benefit_decision" => "Jobcenter: afgørelse om ydelse".to_owned(),
            "case_closed" => "Jobcenter: sag lukket".to_owned(),
            _ => "Jobcenter: besked".to_owned(),
        },
    }
}

/// The email a delivery carries: the notification that a message was routed to a team, or a
/// reminder or escalation about one of its deadlines. Plain text with an HTML alternative; every
/// email about a case names the same thread root in `In-Reply-To` and `References`, so a mail
/// client shows a case's alerts as one conversation.
pub fn render(
    d: &ClaimedDelivery,
    team: &TeamSettings,
    to: &str,
    from: &Mailbox,
    public_url: &str,
    templates: &crate::alerts::Templates,
) -> anyhow::Result<Message> {
    let to: Mailbox = to.parse().context("the team's address")?;
    let summary = &d.summary;
    let text = |key: &str| summary.get(key).and_then(|v| v.as_str());
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(sender) = text("sender.name") {
        facts.push(("Afsender", sender.to_owned()));
    }
    let received = d.received_at.to_zoned(copenhagen());
    facts.push(("Modtaget", received.strftime("%d.%m.%Y kl. %H.%M").to_string()));
    let dated = [
        ("release.expected_date", "Løsladelse"),
        ("answer_deadline", "Svarfrist"),
        ("appointment.at", "Møde"),
        ("due_date", "Frist"),
    ];
    for (key, label) in dated {
        if let Some(date) = text(key).and_then(danish_date) {
            facts.push((label, date));
        }
    }
    // Only the notification asks for the acknowledgement; reminders are about their deadline.
    let acknowledge_by = d
        .acknowledge_by
        .filter(|_| d.purpose == "message")
        .map(|at| at.to_zoned(copenhagen()).strftime("%d.%m.%Y").to_string());
    if let Some(by) = &acknowledge_by {
        facts.push(("Kvittér senest", by.clone()));
    }
    let link = format!("{}/v1/cases/{}", public_url.trim_end_matches('/'), d.case_ref);
    let kind = kind_name(d.kind);
    let case = &d.case_ref;
    let due_text = d
        .deadline
        .as_ref()
        .map(|(_, due)| due.to_zoned(copenhagen()).strftime("%d.%m.%Y kl. %H.%M").to_string());
    let (template, subject, opening) = match (d.purpose.as_str(), &d.deadline, &due_text) {
        ("reminder", Some((title, _)), Some(due)) => (
            "reminder",
            format!("Påmindelse: {title} – sag {case} – frist {}", &due[..10]),
            format!("Påmindelse: fristen \"{title}\" på sag {case} udløber {due}."),
        ),
        ("escalation", Some((title, _)), Some(due)) => (
            "escalation",
            format!("Frist overskredet: {title} – sag {case}"),
            format!(
                "Fristen \"{title}\" på sag {case} udløb {due}, uden at nogen har meldt den løst. Sørg for, at nogen tager over."
            ),
        ),
        _ => {
            let mut subject = format!("{} – sag {case}", headline(d));
            if let Some(by) = &acknowledge_by {
                subject.push_str(&format!(" – kvittér senest {by}"));
            }
            (
                "notification",
                subject,
                format!("Der er kommet en {kind} på sag {case}."),
            )
        }
    };
    let width = facts.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) + 2;
    let view = crate::alerts::View {
        team: team.name.clone(),
        subject: subject.clone(),
        opening,
        case_ref: case.to_string(),
        kind: kind.to_owned(),
        link: link.clone(),
        facts: facts
            .iter()
            .map(|(label, value)| crate::alerts::Fact {
                label: (*label).to_owned(),
                value: value.clone(),
                label_padded: format!("{label}:{}", " ".repeat(width - label.chars().count() - 1)),
            })
            .collect(),
        deadline: d
            .deadline
            .as_ref()
            .zip(due_text)
            .map(|((title, _), due)| crate::alerts::DeadlineView {
                title: title.clone(),
                due,
            }),
    };
    let (plain, html) = templates.render(template, &view)?;
    let domain = from.email.domain().to_owned();
    let thread = format!("<case.{case}@{domain}>");
    let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(plain, html));
    let now = jiff::Timestamp::now();
    for entry in &d.calendar {
        let method = if entry.cancelled { "CANCEL" } else { "REQUEST" };
        let ics = super::ics::deadline_event(
            entry,
            case.as_str(),
            &link,
            from.email.as_ref(),
            to.email.as_ref(),
            &domain,
            now,
        );
        let content_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
            .context("the calendar content type")?;
        body = body.singlepart(Attachment::new(format!("frist-{}.ics", entry.deadline)).body(ics, content_type));
    }
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{}@{domain}>", d.delivery_id)))
        .in_reply_to(thread.clone())
        .references(thread)
        .date_now()
        .multipart(body)
        .context("building the email")
}
