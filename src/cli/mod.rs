//! The command line: `serve`, `check-config`, `validate`, `calendar`, `token`, `routes`,
//! `replay`, `webhook-secret`, `report`, `import`. Each command loads the
//! settings the same way, so what `check-config` accepts is what `serve` starts with.

mod audit;
mod import;
mod replay;
mod report;
mod routes;
mod serve;
mod token;
mod validate;

use crate::config::Settings;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "indgang",
    version,
    about = "The single municipal intake for release notices, housing offers and jobcenter messages"
)]
struct Cli {
    /// A TOML file layered over the embedded defaults (INDGANG__… environment variables win over both).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve,
    /// Check the configuration without starting.
    CheckConfig,
    /// Check message files offline with exactly the server's rules.
    Validate(validate::Args),
    /// Print a year's closing days (public holidays and calendar.extra_closing_days), weekends left out.
    Calendar {
        /// 1900 to 2200.
        #[arg(value_parser = clap::value_parser!(i16).range(1900..=2200))]
        year: i16,
    },
    /// Create, list and revoke bearer tokens.
    #[command(subcommand)]
    Token(token::Command),
    /// Show where messages would be routed, without sending anything.
    #[command(subcommand)]
    Routes(routes::Command),
    /// Put dead letters back in the delivery queue, with their delivery ids.
    Replay(replay::Args),
    /// Print a new Standard Webhooks secret for [destinations.<id>].secret.
    WebhookSecret,
    /// Print a report: institutions, municipalities or teams.
    Report(report::Args),
    /// File a CSV batch of housing offers straight into the database.
    Import(import::Args),
    /// Check or export the audit log.
    #[command(subcommand)]
    Audit(audit::Command),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = Settings::load(cli.config.as_deref()).and_then(|settings| {
        crate::startup::check(&settings)?;
        Ok(settings)
    });
    let settings = match loaded {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("indgang: {e:#}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve => run_async(serve::run(settings)),
        Command::CheckConfig => check_config(&settings),
        Command::Validate(args) => validate::run(&settings, &args),
        Command::Calendar { year } => calendar(&settings, year),
        Command::Routes(command) => routes::run(&settings, command),
        Command::Replay(args) => {
            crate::telemetry::init_with(&settings.log, false, std::io::stderr);
            run_async(replay::run(settings, args))
        }
        Command::Import(args) => {
            crate::telemetry::init_with(&settings.log, false, std::io::stderr);
            run_async(import::run(settings, args))
        }
        Command::Report(args) => {
            crate::telemetry::init_with(&settings.log, false, std::io::stderr);
            run_async(report::run(settings, args))
        }
        Command::WebhookSecret => {
            println!("{}", crate::delivery::webhook::generate_secret());
            ExitCode::SUCCESS
        }
        Command::Audit(command) => {
            crate::telemetry::init_with(&settings.log, false, std::io::stderr);
            run_async(audit::run(settings, command))
        }
        Command::Token(command) => {
            crate::telemetry::init_with(&settings.log, false, std::io::stderr);
            run_async(token::run(settings, command))
        }
    }
}

fn run_async(future: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("indgang: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("indgang: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(settings: &Settings) -> ExitCode {
    let storage = match settings.storage_url() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("indgang: {e:#}");
            return ExitCode::from(2);
        }
    };
    println!("server.bind      {}", settings.server.bind);
    println!("data_dir         {}", settings.data_dir.display());
    println!("storage          {storage:?}");
    println!(
        "key              {}",
        if settings.security.key.is_some() {
            "security.key".to_owned()
        } else {
            settings.key_file().display().to_string()
        }
    );
    let served = crate::domain::Municipalities::from_settings(&settings.municipalities).map_or(0, |m| m.len());
    println!("municipalities   {served}");
    println!("max body         {} bytes", settings.limits.max_body_bytes);
    let teams: Vec<&str> = settings.teams.keys().map(String::as_str).collect();
    println!("teams            {}", teams.join(", "));
    let destinations: Vec<&str> = settings.destinations.keys().map(String::as_str).collect();
    println!(
        "destinations     {}",
        if destinations.is_empty() {
            "none".to_owned()
        } else {
            destinations.join(", ")
        }
    );
    println!(
        "email            {}",
        if settings.smtp.url.is_empty() {
            format!(".eml files in {}", settings.data_dir.join("outbox").display())
        } else {
            "smtp.url".to_owned()
        }
    );
    let a = &settings.alerts;
    println!(
        "alerts           collected within {}, at most {} per email",
        a.group_window.trim(),
        a.group_max
    );
    println!(
        "digest           {}",
        if a.digest_at.trim().is_empty() {
            "off".to_owned()
        } else {
            format!(
                "{} on working days, deadlines within {} working days",
                a.digest_at.trim(),
                a.digest_working_days
            )
        }
    );
    println!("configuration OK");
    ExitCode::SUCCESS
}

fn calendar(settings: &Settings, year: i16) -> ExitCode {
    match crate::domain::working_days::Calendar::from_settings(&settings.calendar) {
        Ok(calendar) => {
            for (day, name) in calendar.closing_days(year) {
                println!("{day}\t{name}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("indgang: {e:#}");
            ExitCode::from(2)
        }
    }
}
