//! `indgang report institutions|municipalities|teams`: the reports of `GET /v1/reports/…`, read
//! straight from the database, as a table (default), CSV or JSON.

use crate::config::Settings;
use crate::reports::{Period, Report, compute};
use crate::startup::open_store;
use clap::ValueEnum;

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Institutions,
    Municipalities,
    Teams,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    report: Which,
    /// Start of the period (RFC 3339 instant or date, Copenhagen); default 1 January this year.
    #[arg(long)]
    from: Option<String>,
    /// End of the period, exclusive; default 1 January next year.
    #[arg(long)]
    to: Option<String>,
    /// Only this municipality (kommunekode).
    #[arg(long)]
    municipality: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn run(settings: Settings, args: Args) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let mut period = Period::year_of(now);
    for (flag, text, slot) in [
        ("--from", &args.from, &mut period.from),
        ("--to", &args.to, &mut period.to),
    ] {
        if let Some(at) = crate::api::instant_arg(flag, text.as_deref()).map_err(anyhow::Error::msg)? {
            *slot = at;
        }
    }
    anyhow::ensure!(period.from < period.to, "--from must come before --to");
    anyhow::ensure!(!period.too_long(), Period::TOO_LONG);
    let report = match args.report {
        Which::Institutions => Report::Institutions,
        Which::Municipalities => Report::Municipalities,
        Which::Teams => Report::Teams,
    };
    let store = open_store(&settings)?;
    let computed = compute(store.as_ref(), report, args.municipality, period, now, &settings).await;
    store.close().await;
    let computed = computed?;
    match args.format {
        Format::Table => print!("{}", computed.rows.table()),
        Format::Csv => print!("{}", computed.rows.csv()),
        Format::Json => println!("{}", computed.json),
    }
    Ok(())
}
