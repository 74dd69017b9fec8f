//! `indgang import [--kind housing-offer] [--sender ID] FILE.csv`: files a CSV batch of housing
//! offers straight into the database, row by row as `POST /v1/housing-offers/batch` does, with a
//! progress bar on a terminal. A running gateway sends the deliveries within
//! `delivery.poll_interval_ms`. The rows' outcomes go to standard output (the rejected rows and a
//! summary, or `--json`: one JSON object per row), not to the log.

use super::output::{Wanting, counted, outln};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::Kind;
use crate::intake::{Intake, batch};
use crate::startup::{open_store, open_vault};
use anyhow::{Context, bail};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// The kind of the rows; housing-offer, the only kind that comes as CSV.
    #[arg(long, value_parser = super::validate::parse_kind, default_value = "housing-offer")]
    kind: Kind,
    /// The sender the rows are filed as: the allocation office's sender id.
    #[arg(long = "sender", value_name = "ID", default_value = "boligtildeling")]
    sender: String,
    /// Print every row's outcome as JSON lines (one object per row) instead of a summary.
    #[arg(long)]
    json: bool,
    /// The allocation office's CSV export.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Rows filed per step of the progress bar.
const STEP: usize = 100;

pub async fn run(settings: Settings, args: Args) -> anyhow::Result<()> {
    if args.kind != Kind::HousingOffer {
        bail!("--kind: only housing-offer comes as CSV");
    }
    if !crate::auth::valid_sender_id(&args.sender) {
        bail!("--sender: {:?} is not a sender id", args.sender);
    }
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let rows = batch::parse(&bytes, &args.sender).map_err(|problem| {
        let faults: Vec<String> = problem
            .violations
            .unwrap_or_default()
            .into_iter()
            .map(|v| match v.line {
                Some(line) => format!("line {line}: {}", v.message),
                None => v.message,
            })
            .collect();
        Wanting(format!(
            "{} cannot be read as a batch:\n  {}",
            args.file.display(),
            faults.join("\n  ")
        ))
    })?;
    let store = open_store(&settings).await?;
    let result = async {
        let vault = Arc::new(open_vault(&settings, store.as_ref()).await?);
        let intake = Intake {
            store: store.clone(),
            validator: crate::validation::Validator::from_settings(&settings)?,
            vault,
            metrics: Arc::new(crate::metrics::Metrics::default()),
            clock: Clock::system(),
            limits: settings.limits.clone(),
            router: crate::routing::Router::from_settings(&settings)?,
            policies: crate::deadlines::Policies::from_settings(&settings)?,
            delivery: None,
            alert_delay: settings.alerts.group_window()?,
        };
        let total = rows.len();
        let bar = std::io::stderr().is_terminal();
        let mut answers = Vec::with_capacity(total);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(STEP).collect();
            let answer = batch::file_batch(&intake, &args.sender, chunk).await;
            answers.extend(answer.rows);
            if bar {
                let done = answers.len();
                let filled = done * 30 / total.max(1);
                eprint!(
                    "\r[{}{}] {done}/{total} rows",
                    "#".repeat(filled),
                    "-".repeat(30 - filled)
                );
                let _ = std::io::stderr().flush();
            }
        }
        if bar {
            eprintln!();
        }
        Ok::<_, anyhow::Error>(answers)
    }
    .await;
    store.close().await;
    let answers = result?;
    let count = |status: &str| answers.iter().filter(|a| a.status == status).count();
    if args.json {
        for answer in &answers {
            outln!("{}", serde_json::to_string(answer)?);
        }
    } else {
        for answer in answers.iter().filter(|a| a.status == "rejected") {
            let violations = answer.problem.as_ref().and_then(|p| p.violations.clone());
            for mut violation in violations.unwrap_or_default() {
                violation.line = violation.line.or(u32::try_from(answer.row).ok());
                outln!("{}", super::validate::fault(&violation));
            }
        }
        outln!(
            "{}: {} accepted, {} already filed, {} rejected",
            counted(answers.len(), "row", "rows"),
            count("accepted"),
            count("duplicate"),
            count("rejected")
        );
    }
    match count("rejected") {
        0 => Ok(()),
        1 => Err(Wanting("1 row was rejected".to_owned()).into()),
        n => Err(Wanting(format!("{n} rows were rejected")).into()),
    }
}
