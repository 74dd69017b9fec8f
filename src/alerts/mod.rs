//! The email templates: Danish by default (`src/alerts/templates/`, embedded), each overridable
//! by a file of the same name in `alerts.templates_dir`. Every email has three templates: the
//! subject (`<name>.subject`, one line), the plain text (`<name>.txt`) and the HTML alternative
//! (`<name>.html`, auto-escaped). The names:
//!
//! - `notification`, `reminder`, `escalation`, `transfer` (a deadline closed because another
//!   municipality took it over): one alert, seeing an [`AlertView`];
//! - `collected`: several alerts to one address within `alerts.group_window`, seeing a
//!   [`CollectedView`] (each alert with its own rendered subject);
//! - `digest`: a team's daily list of deadlines, seeing a [`DigestView`].
//!
//! The values are those an email may show: case references, kinds, deadline titles and dates,
//! the sending institution, links. Never a CPR number, a name or an address: no view has a
//! field that could hold one.

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;
use std::path::Path;

/// The emails, each with a subject, a text and an HTML template.
pub const EMAILS: [&str; 6] = [
    "notification",
    "reminder",
    "escalation",
    "transfer",
    "collected",
    "digest",
];
const PARTS: [&str; 3] = ["subject", "txt", "html"];

fn embedded(name: &str) -> &'static str {
    match name {
        "notification.subject" => include_str!("templates/notification.subject"),
        "notification.txt" => include_str!("templates/notification.txt"),
        "notification.html" => include_str!("templates/notification.html"),
        "reminder.subject" => include_str!("templates/reminder.subject"),
        "reminder.txt" => include_str!("templates/reminder.txt"),
        "reminder.html" => include_str!("templates/reminder.html"),
        "escalation.subject" => include_str!("templates/escalation.subject"),
        "escalation.txt" => include_str!("templates/escalation.txt"),
        "escalation.html" => include_str!("templates/escalation.html"),
        "transfer.subject" => include_str!("templates/transfer.subject"),
        "transfer.txt" => include_str!("templates/transfer.txt"),
        "transfer.html" => include_str!("templates/transfer.html"),
        "collected.subject" => include_str!("templates/collected.subject"),
        "collected.txt" => include_str!("templates/collected.txt"),
        "collected.html" => include_str!("templates/collected.html"),
        "digest.subject" => include_str!("templates/digest.subject"),
        "digest.txt" => include_str!("templates/digest.txt"),
        "digest.html" => include_str!("templates/digest.html"),
        _ => "",
    }
}

/// Every template file name, `notification.subject` to `digest.html`.
pub fn file_names() -> impl Iterator<Item = String> {
    EMAILS
        .iter()
        .flat_map(|name| PARTS.iter().map(move |part| format!("{name}.{part}")))
}

#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
    /// The label and its colon, padded so the values of a list line up in plain text.
    pub label_padded: String,
}

impl Fact {
    /// Facts with their labels padded to the longest.
    pub fn aligned(facts: Vec<(&str, String)>) -> Vec<Fact> {
        let width = facts.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) + 2;
        facts
            .into_iter()
            .map(|(label, value)| Fact {
                label: label.to_owned(),
                value,
                label_padded: format!("{label}:{}", " ".repeat(width - label.chars().count() - 1)),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineView {
    pub title: String,
    /// dd.mm.yyyy kl. hh.mm
    pub due: String,
    /// dd.mm.yyyy
    pub due_date: String,
}

/// What the templates of one alert see.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub team: String,
    /// The rendered subject (empty while the subject itself is rendered).
    pub subject: String,
    /// What arrived, with its key date: "Løsladelse 09.02.2027".
    pub headline: String,
    pub case_ref: String,
    /// The kind in Danish: "løsladelsesmeddelelse", and with its article: "en løsladelsesmeddelelse".
    pub kind: String,
    pub kind_indefinite: String,
    pub link: String,
    pub facts: Vec<Fact>,
    /// For a notification whose message must be acknowledged: by when (dd.mm.yyyy).
    pub acknowledge_by: Option<String>,
    /// For a reminder or an escalation: the deadline.
    pub deadline: Option<DeadlineView>,
    /// For a notification: the deadlines its message set, moved or cancelled on the case.
    pub deadlines: Vec<CaseDeadline>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseDeadline {
    pub title: String,
    /// dd.mm.yyyy kl. hh.mm
    pub due: String,
    pub cancelled: bool,
    /// Met already (by the message: a home at release).
    pub met: bool,
}

/// What the templates of several alerts in one email see.
#[derive(Debug, Clone, Serialize)]
pub struct CollectedView {
    pub team: String,
    pub subject: String,
    /// The case references, each once, in the order of the alerts.
    pub cases: Vec<String>,
    /// Each alert, its `subject` rendered from its own subject template.
    pub alerts: Vec<AlertView>,
}

/// A deadline in the digest.
#[derive(Debug, Clone, Serialize)]
pub struct DigestEntry {
    pub case_ref: String,
    pub title: String,
    /// dd.mm.yyyy kl. hh.mm
    pub due: String,
    pub link: String,
}

/// What the digest's templates see.
#[derive(Debug, Clone, Serialize)]
pub struct DigestView {
    pub team: String,
    pub subject: String,
    /// The day it is for, dd.mm.yyyy, and the last day its `due` list covers.
    pub date: String,
    pub until: String,
    /// Open deadlines due by the end of `until`, and missed ones nobody has resolved; each list
    /// shows at most a hundred, its `_total` counts them all.
    pub due: Vec<DigestEntry>,
    pub due_total: usize,
    pub overdue: Vec<DigestEntry>,
    pub overdue_total: usize,
    /// Where the team's deadlines are listed.
    pub link: String,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// The embedded templates, with those in `dir` (when given) taking their place. A template
    /// that does not compile stops the start, naming the file.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters"),
        );
        for name in file_names() {
            let source = match dir.map(|d| d.join(&name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("alerts.templates_dir: cannot read {}", path.display()))?,
                None => embedded(&name).to_owned(),
            };
            env.add_template_owned(name.clone(), source)
                .map_err(|e| anyhow::anyhow!("alerts.templates_dir: {name}: {e}"))?;
        }
        Ok(Templates { env })
    }

    fn one(&self, name: &str, view: &impl Serialize) -> anyhow::Result<String> {
        self.env
            .get_template(name)?
            .render(minijinja::value::Serde(view))
            .with_context(|| format!("rendering {name}"))
    }

    /// The subject of `<name>.subject`: one line, runs of white space made one space.
    pub fn subject(&self, name: &str, view: &impl Serialize) -> anyhow::Result<String> {
        let text = self.one(&format!("{name}.subject"), view)?;
        let subject = text.split_whitespace().collect::<Vec<_>>().join(" ");
        anyhow::ensure!(!subject.is_empty(), "{name}.subject renders an empty subject");
        Ok(subject)
    }

    /// Renders `<name>.txt` and `<name>.html`, with `subject` already in the view.
    pub fn bodies(&self, name: &str, view: &impl Serialize) -> anyhow::Result<(String, String)> {
        Ok((
            self.one(&format!("{name}.txt"), view)?,
            self.one(&format!("{name}.html"), view)?,
        ))
    }

    /// One alert: its subject, then its bodies.
    pub fn alert(&self, name: &str, mut view: AlertView) -> anyhow::Result<Rendered> {
        view.subject = self.subject(name, &view)?;
        let (text, html) = self.bodies(name, &view)?;
        Ok(Rendered {
            subject: view.subject,
            text,
            html,
        })
    }

    /// Several alerts in one email; each is `(template name, view)`.
    pub fn collected(&self, team: &str, alerts: Vec<(&str, AlertView)>) -> anyhow::Result<Rendered> {
        let mut views = Vec::with_capacity(alerts.len());
        let mut cases: Vec<String> = Vec::new();
        for (name, mut view) in alerts {
            view.subject = self.subject(name, &view)?;
            if !cases.contains(&view.case_ref) {
                cases.push(view.case_ref.clone());
            }
            views.push(view);
        }
        let mut view = CollectedView {
            team: team.to_owned(),
            subject: String::new(),
            cases,
            alerts: views,
        };
        view.subject = self.subject("collected", &view)?;
        let (text, html) = self.bodies("collected", &view)?;
        Ok(Rendered {
            subject: view.subject,
            text,
            html,
        })
    }

    pub fn digest(&self, mut view: DigestView) -> anyhow::Result<Rendered> {
        view.subject = self.subject("digest", &view)?;
        let (text, html) = self.bodies("digest", &view)?;
        Ok(Rendered {
            subject: view.subject,
            text,
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> AlertView {
        AlertView {
            team: "Én indgang".into(),
            subject: String::new(),
            headline: "Løsladelse 09.02.2027".into(),
            case_ref: "K-2026-000001".into(),
            kind: "løsladelsesmeddelelse".into(),
            kind_indefinite: "en <løsladelsesmeddelelse>".into(),
            link: "https://indgang.example/sager/K-2026-000001".into(),
            facts: Fact::aligned(vec![
                ("Afsender", "Anstalten ved Horsens".into()),
                ("Kvittér senest", "24.11.2026".into()),
            ]),
            acknowledge_by: Some("24.11.2026".into()),
            deadline: None,
            deadlines: vec![CaseDeadline {
                title: "Boligløsning på plads".into(),
                due: "09.02.2027 kl. 16.00".into(),
                cancelled: false,
                met: false,
            }],
        }
    }

    #[test]
    fn the_embedded_templates_render_and_html_is_escaped() {
        let templates = Templates::load(None).unwrap();
        let email = templates.alert("notification", view()).unwrap();
        assert_eq!(
            email.subject,
            "Løsladelse 09.02.2027 – sag K-2026-000001 – kvittér senest 24.11.2026"
        );
        assert!(email.text.starts_with("Til Én indgang\n"), "{}", email.text);
        assert!(
            email.text.contains("Afsender:       Anstalten ved Horsens\n"),
            "{}",
            email.text
        );
        assert!(email.html.contains("&lt;løsladelsesmeddelelse&gt;"), "{}", email.html);
        assert!(
            email
                .text
                .contains("Frister på sagen:\n- Boligløsning på plads: 09.02.2027 kl. 16.00\n"),
            "{}",
            email.text
        );
    }

    #[test]
    fn a_file_overrides_its_template_and_a_broken_one_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reminder.txt"), "Husk {{ case_ref }}!\n").unwrap();
        std::fs::write(dir.path().join("reminder.subject"), "Husk\n  {{ case_ref }}\n").unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let email = templates.alert("reminder", view()).unwrap();
        assert_eq!(email.text, "Husk K-2026-000001!\n");
        assert_eq!(email.subject, "Husk K-2026-000001");
        std::fs::write(dir.path().join("escalation.html"), "{% if %}").unwrap();
        let error = format!("{:#}", Templates::load(Some(dir.path())).unwrap_err());
        assert!(error.contains("escalation.html"), "{error}");
    }
}
