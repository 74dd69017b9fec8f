//! `indgang report institutions|municipalities|teams`: the reports of `GET /v1/reports/…`, read
//! straight from the database, as a table (default), CSV or JSON lines (one object per line of
//! the report).

use super::output::{out, outln};
use crate::config::Settings;
use crate::reports::{Period, Report, compute, municipality_arg};
use crate::startup::open_store;
use clap::ValueEnum;

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    /// Initial release notices per sending institution.
    Institutions,
    /// Citizens due for release within 30 days without housing, and released without, per municipality.
    Municipalities,
    /// Deadlines met, missed, overdue and open, per team.
    Teams,
    /// Vacant homes offered, answered, answered in time, matched and accepted, per municipality and month.
    Housing,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned columns.
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// JSON lines: one object per line of the report.
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// Which report.
    #[arg(value_enum)]
    report: Which,
    /// Start of the period (RFC 3339 instant or date, Copenhagen); default 1 January this year,
    /// for municipalities 30 days before now.
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// End of the period, exclusive; default 1 January next year, for municipalities now.
    #[arg(long, value_name = "T")]
    to: Option<String>,
    /// Only this municipality (kommunekode).
    #[arg(long, value_name = "KODE")]
    municipality: Option<String>,
    /// How to print the report.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn run(settings: Settings, args: Args) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let instant = |flag: &str, text: &Option<String>| crate::api::instant_arg(flag, text.as_deref());
    let from = instant("--from", &args.from).map_err(anyhow::Error::msg)?;
    let to = instant("--to", &args.to).map_err(anyhow::Error::msg)?;
    let municipality = args
        .municipality
        .as_deref()
        .map(|code| municipality_arg("--municipality", code))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let report = match args.report {
        Which::Institutions => Report::Institutions,
        Which::Municipalities => Report::Municipalities,
        Which::Teams => Report::Teams,
        Which::Housing => Report::Housing,
    };
    let period = Period::asked(report, now, from, to);
    anyhow::ensure!(period.from < period.to, "--from must come before --to");
    anyhow::ensure!(!period.too_long(), Period::TOO_LONG);
    let store = open_store(&settings).await?;
    let computed = compute(store.as_ref(), report, municipality, period, now, &settings).await;
    store.close().await;
    let computed = computed?;
    match args.format {
        Format::Table => out!("{}", computed.rows.table()),
        Format::Csv => out!("{}", computed.rows.csv()),
        Format::Json => {
            for line in &computed.lines {
                outln!("{line}");
            }
        }
    }
    Ok(())
}
