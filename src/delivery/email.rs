//! Caseworker emails, through lettre: one alert (a notification, reminder, escalation or transfer),
//! several alerts to one address collected in one email, or a team's daily digest. With
//! `smtp.url` set they go to that server (STARTTLS or TLS from the start, through rustls; pooled
//! connections); without it each email is written as `<data_dir>/outbox/<Message-ID>.eml`, so
//! the gateway works out of the box.
//!
//! An email says that something arrived or is due and where to read it: the kind, the case
//! reference, the deadlines, the sending institution and a link. Never a CPR number, a name or
//! an address.

use super::retry::Verdict;
use crate::config::{Settings, TeamSettings};
use crate::domain::{Kind, copenhagen};
use crate::store::{ClaimedDelivery, ClaimedMessage};
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
                    let error = crate::domain::cpr::mask_cpr_like(&e.to_string());
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

/// "en løsladelsesmeddelelse", "et boligtilbud": the kind with its article.
pub fn kind_indefinite(kind: Kind) -> &'static str {
    match kind {
        Kind::ReleaseNotice => "en løsladelsesmeddelelse",
        Kind::HousingOffer => "et boligtilbud",
        Kind::JobcenterMessage => "en besked fra jobcentret",
    }
}

/// A date from the summary as dd.mm.yyyy.
fn danish_date(text: &str) -> Option<String> {
    let date: jiff::civil::Date = text.get(..10)?.parse().ok()?;
    Some(date.strftime("%d.%m.%Y").to_string())
}

fn danish_time(at: jiff::Timestamp) -> String {
    at.to_zoned(copenhagen()).strftime("%d.%m.%Y kl. %H.%M").to_string()
}

/// What a routed message is, in a few Danish words with its key date: "Løsladelse 09.02.2027".
fn headline(m: &ClaimedMessage) -> String {
    let text = |key: &str| m.summary.get(key).and_then(|v| v.as_str());
    let dated = |words: &str, key: &str| match text(key).and_then(danish_date) {
        Some(date) => format!("{words} {date}"),
        None => words.to_owned(),
    };
    match m.kind {
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

/// A vacant home in a few Danish lines, without its address, and how many citizens it suits
/// (`candidates`, counted when the email is made): the housing team can see at once whether to
/// find a tenant or pass the home on in time.
fn vacant_home_facts(summary: &serde_json::Value) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    let get = |key: &str| summary.get(key);
    let kind = match get("dwelling.kind").and_then(|v| v.as_str()).unwrap_or_default() {
        "public_housing" => "almen bolig",
        "private_rental" => "privat udlejning",
        "skaev_bolig" => "skæv bolig",
        "sl_107" => "servicelovens § 107",
        "sl_108" => "servicelovens § 108",
        "shared_supported" => "bofællesskab / særbolig",
        "youth_housing" => "ungdomsbolig",
        "senior_housing" => "ældrebolig",
        _ => "anden bolig",
    };
    let rooms = get("dwelling.rooms").and_then(|v| v.as_u64()).unwrap_or(0);
    facts.push(("Bolig", format!("{kind}, {rooms} vær.")));
    if let Some(rent) = get("dwelling.monthly_rent_dkk").and_then(|v| v.as_f64()) {
        facts.push(("Husleje", format!("{} om måneden", crate::matching::kroner(rent))));
    }
    let yes_no = |key: &str, yes: &str, no: &str| match get(key).and_then(|v| v.as_bool()) {
        Some(true) => yes.to_owned(),
        Some(false) => no.to_owned(),
        None => "ikke oplyst".to_owned(),
    };
    facts.push(("Hund", yes_no("dwelling.dogs_allowed", "tilladt", "ikke tilladt")));
    facts.push(("Niveaufri", yes_no("dwelling.step_free", "ja", "nej")));
    if let Some(postcode) = get("dwelling.address.postcode").and_then(|v| v.as_str()) {
        facts.push(("Postnummer", postcode.to_owned()));
    }
    if let Some(date) = get("available_from").and_then(|v| v.as_str()).and_then(danish_date) {
        facts.push(("Ledig fra", date));
    }
    match get("candidates").and_then(|v| v.as_u64()) {
        Some(0) => facts.push((
            "Kandidater",
            "ingen borgere søger en bolig, der passer; giv boligen videre i tide".to_owned(),
        )),
        Some(1) => facts.push(("Kandidater", "1 borger (se listen)".to_owned())),
        Some(n) => facts.push(("Kandidater", format!("{n} borgere (se listen)"))),
        None => {}
    }
    facts
}

/// The case page (`crate::web`); a browser not signed in is taken through sign-in and back.
fn case_link(public_url: &str, case_ref: &str) -> String {
    format!("{}/sager/{case_ref}", public_url.trim_end_matches('/'))
}

/// The template and view of one alert: the notification that a message was routed to a team,
/// or a reminder, escalation or transfer about one of its deadlines.
fn alert_view(
    d: &ClaimedDelivery,
    m: &ClaimedMessage,
    team: &TeamSettings,
    public_url: &str,
) -> (&'static str, crate::alerts::AlertView) {
    let text = |key: &str| m.summary.get(key).and_then(|v| v.as_str());
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(sender) = text("sender.name") {
        facts.push(("Afsender", sender.to_owned()));
    }
    facts.push(("Modtaget", danish_time(m.received_at)));
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
    let vacant = m.kind == Kind::HousingOffer
        && m.summary.get("vacant") == Some(&true.into())
        && text("offer_type") != Some("withdrawal");
    if vacant && d.purpose == "message" {
        facts.extend(vacant_home_facts(&m.summary));
    }
    // Only the notification asks for the acknowledgement; reminders are about their deadline.
    let acknowledge_by = m
        .acknowledge_by
        .filter(|_| d.purpose == "message")
        .map(|at| at.to_zoned(copenhagen()).strftime("%d.%m.%Y").to_string());
    if let Some(by) = &acknowledge_by {
        facts.push(("Kvittér senest", by.clone()));
    }
    let deadline = d.deadline.as_ref().map(|(title, due)| crate::alerts::DeadlineView {
        title: title.clone(),
        due: danish_time(*due),
        due_date: due.to_zoned(copenhagen()).strftime("%d.%m.%Y").to_string(),
    });
    let template = match (d.purpose.as_str(), &deadline) {
        ("reminder", Some(_)) => "reminder",
        ("escalation", Some(_)) => "escalation",
        ("transfer", Some(_)) => "transfer",
        _ => "notification",
    };
    let view = crate::alerts::AlertView {
        team: team.name.clone(),
        subject: String::new(),
        headline: headline(m),
        case_ref: m.case_ref.to_string(),
        kind: kind_name(m.kind).to_owned(),
        kind_indefinite: kind_indefinite(m.kind).to_owned(),
        // A vacant home's case page shows its candidates.
        link: case_link(public_url, m.case_ref.as_str()),
        facts: crate::alerts::Fact::aligned(facts),
        acknowledge_by,
        deadlines: if d.purpose == "message" {
            d.calendar
                .iter()
                .map(|e| crate::alerts::CaseDeadline {
                    title: e.title.clone(),
                    due: danish_time(e.due_at),
                    cancelled: e.cancelled,
                    met: e.met,
                })
                .collect()
        } else {
            Vec::new()
        },
        deadline,
    };
    (template, view)
}

/// The digest's view from the payload the scheduler stored.
fn digest_view(
    payload: &serde_json::Value,
    team_id: &str,
    team: &TeamSettings,
    public_url: &str,
) -> crate::alerts::DigestView {
    let base = public_url.trim_end_matches('/');
    let date = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(danish_date)
            .unwrap_or_default()
    };
    let entries = |key: &str| -> Vec<crate::alerts::DigestEntry> {
        payload
            .get(key)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let case_ref = item.get("case_ref")?.as_str()?;
                let due: jiff::Timestamp = item.get("due_at")?.as_str()?.parse().ok()?;
                Some(crate::alerts::DigestEntry {
                    case_ref: case_ref.to_owned(),
                    title: item.get("title")?.as_str()?.to_owned(),
                    due: danish_time(due),
                    link: case_link(public_url, case_ref),
                })
            })
            .collect()
    };
    let total = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_u64())
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    crate::alerts::DigestView {
        team: team.name.clone(),
        subject: String::new(),
        date: date("day"),
        until: date("until"),
        due: entries("due"),
        due_total: total("due_total"),
        overdue: entries("overdue"),
        overdue_total: total("overdue_total"),
        link: format!("{base}/frister?vis=aabne&team={team_id}"),
    }
}

/// The email a group of deliveries to one team address carries: one alert, several alerts
/// collected in one email, or the team's daily digest. Plain text with an HTML alternative and
/// a calendar file for each deadline the alerts set, move or cancel. Every email about a case
/// names that case's thread root in `References` (and, when it is about one case only, in
/// `In-Reply-To`), so a mail client shows a case's alerts as one conversation.
pub fn render(
    group: &[ClaimedDelivery],
    (team_id, team): (&str, &TeamSettings),
    to: &str,
    from: &Mailbox,
    public_url: &str,
    templates: &crate::alerts::Templates,
) -> anyhow::Result<Message> {
    let to: Mailbox = to.parse().context("the team's address")?;
    let first = group.first().context("an empty group")?;
    let domain = from.email.domain().to_owned();
    let rendered = match (&first.payload, group.len()) {
        (Some(payload), _) if first.purpose == "digest" => {
            templates.digest(digest_view(payload, team_id, team, public_url))?
        }
        _ => {
            let mut alerts = Vec::with_capacity(group.len());
            for d in group {
                let m = d.message.as_ref().context("an alert without its message")?;
                alerts.push(alert_view(d, m, team, public_url));
            }
            if alerts.len() == 1 {
                let (template, view) = alerts.pop().expect("one alert");
                templates.alert(template, view)?
            } else {
                templates.collected(&team.name, alerts)?
            }
        }
    };
    let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html));
    // Each deadline once, as its latest state.
    let mut calendar: Vec<(&crate::store::CalendarEntry, &ClaimedMessage)> = Vec::new();
    for d in group {
        let Some(m) = &d.message else { continue };
        for entry in &d.calendar {
            match calendar.iter_mut().find(|(e, _)| e.deadline == entry.deadline) {
                Some(known) if known.0.sequence < entry.sequence => *known = (entry, m),
                Some(_) => {}
                None => calendar.push((entry, m)),
            }
        }
    }
    let now = jiff::Timestamp::now();
    for (entry, m) in calendar {
        let method = if entry.cancelled || entry.met {
            "CANCEL"
        } else {
            "REQUEST"
        };
        let ics = super::ics::deadline_event(
            entry,
            m.case_ref.as_str(),
            &case_link(public_url, m.case_ref.as_str()),
            from.email.as_ref(),
            to.email.as_ref(),
            &domain,
            now,
        );
        let content_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
            .context("the calendar content type")?;
        body = body.singlepart(Attachment::new(format!("frist-{}.ics", entry.deadline)).body(ics, content_type));
    }
    let mut threads: Vec<String> = Vec::new();
    for m in group.iter().filter_map(|d| d.message.as_ref()) {
        let thread = format!("<case.{}@{domain}>", m.case_ref);
        if !threads.contains(&thread) {
            threads.push(thread);
        }
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(format!("<{}@{domain}>", message_id(group))));
    if let [thread] = threads.as_slice() {
        builder = builder.in_reply_to(thread.clone());
    }
    if !threads.is_empty() {
        builder = builder.references(threads.join(" "));
    }
    builder.date_now().multipart(body).context("building the email")
}

/// The local part of the Message-ID: the delivery id of a single delivery; for a group, the
/// first one's with a digest of all, so the same group sent again has the same id and another
/// group another.
pub fn message_id(group: &[ClaimedDelivery]) -> String {
    use sha2::Digest;
    match group {
        [one] => one.delivery_id.clone(),
        _ => {
            let mut hash = sha2::Sha256::new();
            for d in group {
                hash.update(d.delivery_id.as_bytes());
                hash.update(b"\n");
            }
            let digest = hex::encode(&hash.finalize()[..8]);
            let first = group.first().map_or("", |d| d.delivery_id.as_str());
            format!("{first}.{digest}")
        }
    }
}
