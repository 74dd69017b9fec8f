//! The email templates: Danish by default (`src/alerts/templates/`, embedded), each overridable
//! by a file of the same name in `alerts.templates_dir`. Every alert has a plain-text template
//! (`<name>.txt`) and an HTML alternative (`<name>.html`, auto-escaped), for `notification`
//! (a routed message), `reminder` and `escalation`. Templates are MiniJinja; they see `team`,
//! `subject`, `opening`, `case_ref`, `kind`, `link`, `facts` (each with `label`, `value` and
//! `label_padded`, the label and colon padded to line the values up) and, for reminders and
//! escalations, `deadline` (`title`, `due`). The values are those the email may show: never a
//! CPR number, a name or an address.

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;
use std::path::Path;

pub const NAMES: [&str; 6] = [
    "notification.txt",
    "notification.html",
    "reminder.txt",
    "reminder.html",
    "escalation.txt",
    "escalation.html",
];

fn embedded(name: &str) -> &'static str {
    match name {
        "notification.txt" => include_str!("templates/notification.txt"),
        "notification.html" => include_str!("templates/notification.html"),
        "reminder.txt" => include_str!("templates/reminder.txt"),
        "reminder.html" => include_str!("templates/reminder.html"),
        "escalation.txt" => include_str!("templates/escalation.txt"),
        "escalation.html" => include_str!("templates/escalation.html"),
        _ => "",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub label_padded: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineView {
    pub title: String,
    pub due: String,
}

/// What a template sees.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub team: String,
    pub subject: String,
    pub opening: String,
    pub case_ref: String,
    pub kind: String,
    pub link: String,
    pub facts: Vec<Fact>,
    pub deadline: Option<DeadlineView>,
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
        for name in NAMES {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("alerts.templates_dir: cannot read {}", path.display()))?,
                None => embedded(name).to_owned(),
            };
            env.add_template_owned(name, source)
                .map_err(|e| anyhow::anyhow!("alerts.templates_dir: {name}: {e}"))?;
        }
        Ok(Templates { env })
    }

    /// Renders `<purpose>.txt` and `<purpose>.html`.
    pub fn render(&self, purpose: &str, view: &View) -> anyhow::Result<(String, String)> {
        let text = self
            .env
            .get_template(&format!("{purpose}.txt"))?
            .render(minijinja::value::Serde(view))
            .with_context(|| format!("rendering {purpose}.txt"))?;
        let html = self
            .env
            .get_template(&format!("{purpose}.html"))?
            .render(minijinja::value::Serde(view))
            .with_context(|| format!("rendering {purpose}.html"))?;
        Ok((text, html))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            team: "Én indgang".into(),
            subject: "Løsladelse 09.02.2027 – sag K-2026-000001".into(),
            opening: "Der er kommet en <løsladelsesmeddelelse>.".into(),
            case_ref: "K-2026-000001".into(),
            kind: "løsladelsesmeddelelse".into(),
            link: "https://indgang.example/v1/cases/K-2026-000001".into(),
            facts: vec![Fact {
                label: "Afsender".into(),
                value: "Anstalten ved Horsens".into(),
                label_padded: "Afsender: ".into(),
            }],
            deadline: None,
        }
    }

    #[test]
    fn the_embedded_templates_render_and_html_is_escaped() {
        let templates = Templates::load(None).unwrap();
        let (text, html) = templates.render("notification", &view()).unwrap();
        assert!(text.starts_with("Til Én indgang\n"));
        assert!(text.contains("Afsender: Anstalten ved Horsens\n"));
        assert!(html.contains("&lt;løsladelsesmeddelelse&gt;"), "{html}");
    }

    #[test]
    fn a_file_overrides_its_template_and_a_broken_one_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reminder.txt"), "Husk {{ case_ref }}!\n").unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let (text, _) = templates.render("reminder", &view()).unwrap();
        assert_eq!(text, "Husk K-2026-000001!\n");
        std::fs::write(dir.path().join("escalation.html"), "{% if %}").unwrap();
        let error = format!("{:#}", Templates::load(Some(dir.path())).unwrap_err());
        assert!(error.contains("escalation.html"), "{error}");
    }
}
