//! Caseworker emails as a mail client sees them, received by a real SMTP server over TCP and
//! parsed with an independent MIME parser: alerts to one address within the window collected in
//! one email, the daily digest per team on working days, and no personal data in any of them.

use crate::helpers::{TestApp, example_sender, examples_dir, release_notice, spawn_app_at, spawn_app_with};
use crate::smtp::{Mail, SmtpServer};
use indgang::domain::Kind;
use serde_json::Value;

/// What a caseworker's mail client shows of one email.
#[derive(Debug)]
struct Seen {
    to: String,
    subject: String,
    message_id: String,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    text: String,
    html: String,
    /// The calendar attachments' UIDs.
    calendar: Vec<String>,
    raw: String,
}

fn seen(mail: &Mail) -> Seen {
    use mail_parser::MimeHeaders;
    let parsed = mail_parser::MessageParser::default().parse(&mail.data).unwrap();
    let list = |value: &mail_parser::HeaderValue| -> Vec<String> {
        value
            .as_text_list()
            .map(|l| l.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    };
    let calendar = parsed
        .attachments()
        .filter(|a| a.content_type().is_some_and(|c| c.subtype() == Some("calendar")))
        .map(|a| {
            let text = String::from_utf8(a.contents().to_vec()).unwrap();
            let calendar = ical::IcalParser::new(text.as_bytes()).next().unwrap().unwrap();
            calendar.events[0]
                .properties
                .iter()
                .find(|p| p.name == "UID")
                .and_then(|p| p.value.clone())
                .unwrap()
        })
        .collect();
    Seen {
        to: mail.to.join(","),
        subject: parsed.subject().unwrap_or_default().to_owned(),
        message_id: parsed.message_id().unwrap_or_default().to_owned(),
        in_reply_to: list(parsed.in_reply_to()),
        references: list(parsed.references()),
        text: parsed.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
        html: parsed.body_html(0).unwrap_or_default().to_string(),
        calendar,
        raw: String::from_utf8_lossy(&mail.data).into_owned(),
    }
}

fn all_seen(smtp: &SmtpServer) -> Vec<Seen> {
    smtp.mails().iter().map(seen).collect()
}

/// The state and attempts of every delivery of a receipt to the team mailbox.
async fn mailbox_delivery(app: &TestApp, receipt: &Value, token: &str) -> (String, i64) {
    let now = app.receipt(receipt, token).await;
    let delivery = now["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "mail:intake")
        .unwrap()
        .clone();
    (
        delivery["state"].as_str().unwrap().to_owned(),
        delivery["attempts"].as_i64().unwrap(),
    )
}

fn case_ref(receipt: &Value) -> String {
    receipt["case_ref"].as_str().unwrap().to_owned()
}

/// A gateway sending through `smtp`, alerts collected within 2 minutes, and a prison's token.
async fn collecting(smtp: &SmtpServer) -> (TestApp, String) {
    let url = smtp.url();
    let app = spawn_app_with(&[("INDGANG__SMTP__URL", &url), ("INDGANG__ALERTS__GROUP_WINDOW", "2m")]).await;
    let prison = app.prison_token().await;
    (app, prison)
}

/// Release notices to Aarhus, one per (message id, CPR number), each accepted; their receipts.
async fn notices(app: &TestApp, prison: &str, which: &[(&str, &str)]) -> Vec<Value> {
    let mut receipts = Vec::new();
    for (id, cpr) in which {
        receipts.push(
            app.accept(Kind::ReleaseNotice, prison, &release_notice(id, cpr, "751"))
                .await,
        );
    }
    receipts
}

#[tokio::test]
async fn alerts_to_one_address_within_the_window_go_out_as_one_email() {
    let smtp = SmtpServer::start().await;
    let (app, prison) = collecting(&smtp).await;

    let mut receipts = Vec::new();
    for (i, cpr) in ["150385-1234", "010190-2345", "311299-3456"].iter().enumerate() {
        if i > 0 {
            app.advance_and_drain(30).await;
        }
        receipts.push(
            app.accept(
                Kind::ReleaseNotice,
                &prison,
                &release_notice(&format!("G-{i}"), cpr, "751"),
            )
            .await,
        );
    }
    // 12:01:59: the first notification has waited 1 min 59 s of its 2 minutes.
    app.advance_and_drain(59).await;
    assert!(smtp.mails().is_empty(), "nothing goes out before the window has passed");

    app.advance_and_drain(1).await;
    let mails = all_seen(&smtp);
    assert_eq!(mails.len(), 1, "three alerts within the window: one email");
    let mail = &mails[0];
    let cases: Vec<String> = receipts.iter().map(case_ref).collect();
    assert_eq!(mail.to, "<indgang@localhost>");
    assert_eq!(
        mail.subject,
        format!("3 beskeder fra indgang – sager {}", cases.join(", "))
    );
    for case in &cases {
        assert!(
            mail.text.contains(&format!(
                "Løsladelse 09.02.2027 – sag {case} – kvittér senest 24.11.2026"
            )),
            "each alert is listed with its own subject line: {}",
            mail.text
        );
        assert!(
            mail.html.contains(&format!("{case}\">")),
            "a link to the case: {}",
            mail.html
        );
        assert!(
            mail.text
                .contains("   Frist: Boligløsning på plads: 09.02.2027 kl. 16.00\n"),
            "each alert names its deadlines: {}",
            mail.text
        );
        assert!(
            mail.references.contains(&format!("case.{case}@localhost")),
            "the email threads with every case it is about: {:?}",
            mail.references
        );
    }
    assert!(
        mail.in_reply_to.is_empty(),
        "an email about several cases replies to none of them"
    );
    let id = regex_like_group_id(&mail.message_id);
    assert!(
        id,
        "a group's Message-ID is its first delivery id and a digest: {}",
        mail.message_id
    );
    let mut uids = mail.calendar.clone();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), mail.calendar.len(), "each deadline once");
    assert_eq!(mail.calendar.len(), 3 * 4, "four deadlines per notice");
    for receipt in &receipts {
        assert_eq!(
            mailbox_delivery(&app, receipt, &prison).await,
            ("delivered".to_owned(), 1)
        );
    }

    // A notice a minute after the email went out opens a window of its own, and an alert alone
    // in its window is an ordinary notification, threaded with its case.
    app.advance_and_drain(60).await;
    let late = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("G-late", "150385-1234", "751"),
        )
        .await;
    app.advance_and_drain(119).await;
    assert_eq!(smtp.mails().len(), 1);
    app.advance_and_drain(1).await;
    let mails = all_seen(&smtp);
    assert_eq!(mails.len(), 2);
    let single = &mails[1];
    assert_eq!(
        single.subject,
        format!(
            "Løsladelse 09.02.2027 – sag {} – kvittér senest 24.11.2026",
            case_ref(&late)
        )
    );
    assert_eq!(single.in_reply_to, vec![format!("case.{}@localhost", case_ref(&late))]);
    assert!(
        single
            .text
            .contains("Frister på sagen:\n- Kvittering for modtagelse: 24.11.2026 kl. 16.00\n\n"),
        "the notification names the deadlines its message set (the case's others stay as they were): {}",
        single.text
    );
}

/// `dlv_<32 hex>.<16 hex>`
fn regex_like_group_id(id: &str) -> bool {
    let Some((first, digest)) = id.split_once('@').and_then(|(local, _)| local.split_once('.')) else {
        return false;
    };
    first.starts_with("dlv_") && digest.len() == 16 && digest.chars().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_refused_group_is_retried_whole_and_arrives_once() {
    let smtp = SmtpServer::start().await;
    let (app, prison) = collecting(&smtp).await;
    let [first, second]: [Value; 2] = notices(&app, &prison, &[("R-1", "150385-1234"), ("R-2", "010190-2345")])
        .await
        .try_into()
        .unwrap();
    smtp.refuse([451]);
    app.advance_and_drain(120).await;
    assert!(smtp.mails().is_empty());
    for receipt in [&first, &second] {
        assert_eq!(
            mailbox_delivery(&app, receipt, &prison).await,
            ("retrying".to_owned(), 1)
        );
    }
    app.advance_and_drain(10).await;
    let mails = all_seen(&smtp);
    assert_eq!(mails.len(), 1, "the group arrives once, as one email");
    assert!(
        mails[0].subject.starts_with("2 beskeder fra indgang"),
        "{}",
        mails[0].subject
    );
    for receipt in [&first, &second] {
        assert_eq!(
            mailbox_delivery(&app, receipt, &prison).await,
            ("delivered".to_owned(), 2)
        );
    }
    app.advance_and_drain(3600).await;
    assert_eq!(smtp.mails().len(), 1, "and never again");
}

#[tokio::test]
async fn the_daily_digest_lists_a_teams_deadlines_once_per_working_day() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("INDGANG__SMTP__URL", url.as_str()),
        ("INDGANG__ALERTS__DIGEST_AT", "07:30"),
    ];
    // Monday 23 November 2026, 06:00 in Copenhagen.
    let app = spawn_app_at(dir.path(), "2026-11-23T05:00:00Z", &settings).await;
    let prison = app.prison_token().await;
    let receipt = app
        .accept(
            Kind::ReleaseNotice,
            &prison,
            &release_notice("D-1", "150385-1234", "751"),
        )
        .await;
    let case = case_ref(&receipt);
    app.drain().await;
    assert!(
        all_seen(&smtp).iter().all(|m| !m.subject.starts_with("Frister ")),
        "no digest before 07:30"
    );
    // A gateway started after digest_at sends the day's digest at once.
    app.stop().await;
    let app = spawn_app_at(dir.path(), "2026-11-23T12:00:00Z", &settings).await;
    app.drain().await;
    let digests = |smtp: &SmtpServer| -> Vec<Seen> {
        all_seen(smtp)
            .into_iter()
            .filter(|m| m.subject.starts_with("Frister "))
            .collect()
    };
    let monday = digests(&smtp);
    assert_eq!(monday.len(), 1, "the day's digest");
    let digest = &monday[0];
    assert_eq!(digest.to, "<indgang@localhost>");
    assert_eq!(digest.subject, "Frister 23.11.2026 – 1 forfalder senest 26.11.2026");
    assert!(
        digest.text.contains(&format!(
            "- 24.11.2026 kl. 16.00  Kvittering for modtagelse – sag {case}"
        )),
        "{}",
        digest.text
    );
    assert!(
        !digest.text.contains("Boligløsning"),
        "the housing deadline is months away"
    );
    assert!(digest.html.contains(&format!(">{case}</a>")), "{}", digest.html);
    assert!(digest.in_reply_to.is_empty() && digest.references.is_empty());
    assert!(digest.calendar.is_empty());

    // Not twice a day, not even after a restart.
    app.advance_and_drain(3600).await;
    app.stop().await;
    let app = spawn_app_at(dir.path(), "2026-11-23T14:00:00Z", &settings).await;
    app.drain().await;
    assert_eq!(digests(&smtp).len(), 1);

    // Tuesday: not before 07:30 in Copenhagen (06:30 UTC), then the acknowledgement is due today.
    app.clock.set("2026-11-24T06:29:00Z".parse().unwrap());
    app.drain().await;
    assert_eq!(digests(&smtp).len(), 1);
    app.clock.set("2026-11-24T06:30:00Z".parse().unwrap());
    app.drain().await;
    let tuesday = digests(&smtp);
    assert_eq!(tuesday.len(), 2);
    assert_eq!(tuesday[1].subject, "Frister 24.11.2026 – 1 forfalder senest 27.11.2026");

    // Wednesday: the acknowledgement was missed yesterday at 16:00 and nobody resolved it.
    app.clock.set("2026-11-25T07:00:00Z".parse().unwrap());
    app.drain().await;
    let wednesday = digests(&smtp);
    assert_eq!(wednesday.len(), 3);
    assert_eq!(
        wednesday[2].subject,
        "Frister 25.11.2026 – 0 forfalder senest 30.11.2026 – 1 overskredet"
    );
    assert!(
        wednesday[2]
            .text
            .contains("Overskredet, og ingen har meldt dem løst (1):"),
        "{}",
        wednesday[2].text
    );

    // Saturday is not a working day; Monday is.
    app.clock.set("2026-11-28T09:00:00Z".parse().unwrap());
    app.drain().await;
    assert_eq!(digests(&smtp).len(), 3, "no digest on a Saturday");
    app.clock.set("2026-11-30T09:00:00Z".parse().unwrap());
    app.drain().await;
    assert_eq!(digests(&smtp).len(), 4);
}

/// Every string in a message that is personal: CPR numbers in both spellings, names,
/// addresses, notes (as the log privacy test collects them).
fn personal(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    crate::privacy::personal_strings(message, &mut out);
    out
}

#[tokio::test]
async fn no_email_of_any_template_carries_personal_data() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(&[
        ("INDGANG__SMTP__URL", &url),
        ("INDGANG__ALERTS__GROUP_WINDOW", "2m"),
        ("INDGANG__ALERTS__DIGEST_AT", "07:30"),
    ])
    .await;
    // Every valid example of every kind, with its CPR numbers, names and addresses.
    let mut secrets = Vec::new();
    for kind in Kind::ALL {
        let token = app.sender_token(example_sender(kind), &[kind]).await;
        let folder = examples_dir().join(kind.as_str()).join("valid");
        let mut files: Vec<_> = std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let message: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let response = app.submit(kind, &token, &message).await;
            if response.status() == 202 {
                secrets.extend(personal(&message));
            }
        }
    }
    // One more alone, a while later: an ordinary notification.
    app.advance_and_drain(600).await;
    let prison = app.prison_token().await;
    let alone = release_notice("alone", "150385-1234", "751");
    secrets.extend(personal(&alone));
    app.accept(Kind::ReleaseNotice, &prison, &alone).await;
    app.advance_and_drain(120).await;
    // Then through the reminders, the breaches and the digests of the months ahead.
    for _ in 0..90 {
        app.advance_and_drain(86_400).await;
        app.advance_and_drain(120).await;
    }
    assert!(secrets.len() > 20, "the test has personal data to look for");

    let mails = all_seen(&smtp);
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    for (template, words) in [
        ("collected", " beskeder fra indgang – "),
        ("notification", "kvittér senest"),
        ("reminder", "Påmindelse: "),
        ("escalation", "Frist overskredet: "),
        ("digest", "Frister "),
    ] {
        assert!(
            subjects.iter().any(|s| s.contains(words)),
            "no {template} email among {subjects:?}"
        );
    }
    for mail in &mails {
        assert!(
            !mail.text.is_empty() && !mail.html.is_empty(),
            "text and HTML: {}",
            mail.subject
        );
        for secret in &secrets {
            for part in [&mail.subject, &mail.text, &mail.html, &mail.raw] {
                assert!(
                    !part.contains(secret.as_str()),
                    "{secret:?} in the email {:?}",
                    mail.subject
                );
            }
        }
    }
}

#[tokio::test]
async fn a_refused_digest_is_a_dead_letter_about_no_message_and_replays() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(
        dir.path(),
        "2026-11-23T05:00:00Z",
        &[("INDGANG__SMTP__URL", &url), ("INDGANG__ALERTS__DIGEST_AT", "07:30")],
    )
    .await;
    let prison = app.prison_token().await;
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("DL-1", "150385-1234", "751"),
    )
    .await;
    app.drain().await;
    smtp.refuse([550]);
    app.clock.set("2026-11-23T07:00:00Z".parse().unwrap());
    app.drain().await;
    let operator = app.operator_token().await;
    let dead: Value = app.get("/v1/dead-letters", &operator).await.json().await.unwrap();
    let letters = dead["dead_letters"].as_array().unwrap();
    assert_eq!(letters.len(), 1, "{dead}");
    assert_eq!(letters[0]["purpose"], "digest");
    assert_eq!(letters[0]["destination"], "mail:intake");
    assert!(letters[0].get("case_ref").is_none() && letters[0].get("receipt_id").is_none());

    let replay = app
        .client
        .post(format!("{}/v1/dead-letters/replay", app.address))
        .bearer_auth(&operator)
        .json(&serde_json::json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 202);
    app.drain().await;
    let digests: Vec<Seen> = all_seen(&smtp)
        .into_iter()
        .filter(|m| m.subject.starts_with("Frister 23.11.2026"))
        .collect();
    assert_eq!(digests.len(), 1, "the replayed digest arrives, once");
}

#[tokio::test]
async fn a_collected_email_refused_for_good_is_sent_again_one_alert_at_a_time() {
    let smtp = SmtpServer::start().await;
    let (app, prison) = collecting(&smtp).await;
    let [first, second]: [Value; 2] = notices(&app, &prison, &[("P-1", "150385-1234"), ("P-2", "010190-2345")])
        .await
        .try_into()
        .unwrap();
    // 552: too large, say. One alert that cannot go does not take the other with it.
    smtp.refuse([552]);
    app.advance_and_drain(120).await;
    let mails = all_seen(&smtp);
    assert_eq!(mails.len(), 2, "each alert on its own after the refusal");
    for receipt in [&first, &second] {
        let case = case_ref(receipt);
        let about: Vec<&Seen> = mails.iter().filter(|m| m.subject.contains(&case)).collect();
        assert_eq!(about.len(), 1, "one email about {case}");
        assert!(!about[0].subject.contains("beskeder fra indgang"));
        assert_eq!(
            mailbox_delivery(&app, receipt, &prison).await,
            ("delivered".to_owned(), 2)
        );
    }
    // And later alerts to the address are collected again.
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("P-3", "311299-3456", "751"),
    )
    .await;
    app.accept(
        Kind::ReleaseNotice,
        &prison,
        &release_notice("P-4", "020202-4567", "751"),
    )
    .await;
    app.advance_and_drain(120).await;
    let mails = all_seen(&smtp);
    assert_eq!(mails.len(), 3);
    assert!(
        mails[2].subject.starts_with("2 beskeder fra indgang"),
        "{}",
        mails[2].subject
    );
}
