//! `indgang audit verify` and `indgang audit export`: the audit log from the command line.

use super::output::{Wanting, outln, written};
use crate::audit::{About, Actor, Auditor, action, outcome};
use crate::config::Settings;
use crate::startup::{open_store, open_vault};
use crate::store::audit::AuditFilter;
use clap::Subcommand;
use std::io::Write;

#[derive(Subcommand)]
pub enum Command {
    /// Check that no entry was changed, removed or added since it was written; exits 1 naming
    /// every entry that was.
    Verify,
    /// Print entries as JSON lines, one object per entry, oldest first.
    Export {
        /// Entries at or after this instant (RFC 3339) or date (YYYY-MM-DD, Copenhagen).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Entries before this instant or date.
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
    },
}

/// A log that is not intact is found wanting (exit status 1), after the faults are printed.
pub async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let result = async {
        let vault = open_vault(&settings, store.as_ref()).await?;
        let auditor = Auditor::new(store.clone(), vault.audit_key(), crate::clock::Clock::system());
        match command {
            Command::Verify => {
                let report = auditor.verify().await?;
                for fault in &report.faults {
                    outln!("{fault}");
                }
                let entries = match report.entries {
                    1 => "1 entry".to_owned(),
                    n => format!("{n} entries"),
                };
                let start = if report.anchor > 0 {
                    format!(" (the chain starts after entry {}, pruned)", report.anchor)
                } else {
                    String::new()
                };
                match report.faults.len() {
                    0 => outln!("the audit log is intact: {entries} checked{start}"),
                    n => outln!(
                        "the audit log is NOT intact: {n} fault{} in {entries}{start}",
                        if n == 1 { "" } else { "s" }
                    ),
                }
                if !report.intact() {
                    return Err(Wanting("the audit log is not intact".to_owned()).into());
                }
                Ok(())
            }
            Command::Export { since, until } => {
                let from = crate::api::instant_arg("--since", since.as_deref()).map_err(anyhow::Error::msg)?;
                let to = crate::api::instant_arg("--until", until.as_deref()).map_err(anyhow::Error::msg)?;
                auditor
                    .record(
                        &Actor::command_line(),
                        action::AUDIT_EXPORT,
                        About::default(),
                        outcome::OK,
                    )
                    .await?;
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let mut after = 0;
                loop {
                    let page = store
                        .audit_entries(AuditFilter {
                            from,
                            to,
                            after,
                            limit: 1000,
                            ..AuditFilter::default()
                        })
                        .await?;
                    for record in &page {
                        let entry = crate::api::audit::AuditEntry::from(record.clone());
                        written(serde_json::to_writer(&mut out, &entry).map_err(std::io::Error::from));
                        written(out.write_all(b"\n"));
                    }
                    match page.last() {
                        Some(last) if page.len() == 1000 => after = last.id,
                        _ => break,
                    }
                }
                written(out.flush());
                Ok(())
            }
        }
    }
    .await;
    store.close().await;
    result
}
