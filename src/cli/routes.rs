//! `indgang routes test FILE…`: which routes, teams and destinations a message would get, with
//! the configuration given; nothing is sent and nothing is stored.

use super::output::{counted, outln};
use super::validate::{Failure, check_file, parse_kind};
use crate::config::Settings;
use crate::domain::{Kind, copenhagen_date};
use crate::routing::{Facts, Router};
use crate::validation::Validator;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Route message files (canonical JSON) and print where they would go.
    Test {
        /// The kind of every file; without it, each file's kind is told from its content.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// Print JSON lines (one object per file) instead of text.
        #[arg(long)]
        json: bool,
        /// The message files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

pub fn run(settings: &Settings, command: Command) -> ExitCode {
    let Command::Test { kind, json, files } = command;
    let (validator, router) =
        match Validator::from_settings(settings).and_then(|v| Ok((v, Router::from_settings(settings)?))) {
            Ok(both) => both,
            Err(e) => {
                eprintln!("indgang: {e:#}");
                return ExitCode::from(2);
            }
        };
    let now = jiff::Timestamp::now();
    let mut code = ExitCode::SUCCESS;
    for file in &files {
        let checked = match check_file(&validator, kind, None, file, now) {
            Ok(checked) => checked,
            Err(Failure::Unreadable(error)) => {
                eprintln!("indgang: {}: {error}", file.display());
                code = ExitCode::from(2);
                continue;
            }
            Err(Failure::Invalid { violations, .. }) => {
                eprintln!(
                    "{}: not a valid message ({}; see indgang validate)",
                    file.display(),
                    counted(violations.len(), "fault", "faults")
                );
                code = ExitCode::from(1);
                continue;
            }
        };
        let municipality = checked.municipality.to_string();
        let decision = router.route(&Facts {
            kind: checked.kind,
            municipality: &municipality,
            sender_id: &checked.sender_id,
            document: &checked.document,
            birth_date: checked.cpr.as_ref().and_then(|c| c.birth_date()),
            on: copenhagen_date(now),
        });
        let deliveries: Vec<String> = decision.targets().iter().map(|t| t.key()).collect();
        if json {
            let out = serde_json::json!({
                "file": file.display().to_string(),
                "kind": checked.kind,
                "routes": decision.routes,
                "teams": decision.teams,
                "destinations": decision.destinations,
                "deliveries": deliveries,
            });
            outln!("{out}");
            continue;
        }
        outln!("{}: {}", file.display(), checked.kind);
        outln!("  routes        {}", decision.routes.join(", "));
        let teams: Vec<String> = decision
            .teams
            .iter()
            .map(|id| match settings.teams.get(id) {
                Some(team) => format!("{id} ({}, {})", team.name, team.mailbox),
                None => id.clone(),
            })
            .collect();
        outln!("  teams         {}", none_if_empty(&teams));
        let destinations: Vec<String> = decision
            .destinations
            .iter()
            .map(|id| match settings.destinations.get(id) {
                Some(d) => format!("{id} ({})", d.url),
                None => id.clone(),
            })
            .collect();
        outln!("  destinations  {}", none_if_empty(&destinations));
        outln!("  deliveries    {}", deliveries.join(", "));
    }
    code
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
