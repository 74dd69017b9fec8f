//! The command line: `serve`, `check-config`, `validate`, `calendar`, `token`, `sender`, `routes`,
//! `replay`, `webhook-secret`, `report`, `import`, `audit`, `migrate`, `migrate-store`, `match`.
//! Each command loads the settings the same way, so what `check-config` accepts is what `serve`
//! starts with.

mod audit;
mod import;
mod matching;
mod migrate;
mod migrate_store;
mod output;
mod replay;
mod report;
mod routes;
mod sender;
mod serve;
mod token;
mod validate;

use crate::config::Settings;
use clap::{CommandFactory, Parser, Subcommand};
use output::outln;
use std::path::PathBuf;
use std::process::ExitCode;

/// The one convention of every command (see `output`).
const EXIT_CODES: &str = "Exit codes: 0 success; 1 the input was checked and found wanting (an invalid file, \
a rejected row, an id that names nothing); 2 a usage or configuration error or an unreadable file. serve: 2 for a \
bad configuration, 1 when it cannot start or stops otherwise.";

#[derive(Parser)]
#[command(
    name = "indgang",
    version,
    about = "The single municipal intake for release notices, housing offers and jobcenter messages",
    after_help = EXIT_CODES
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
    /// Register, list and remove senders' client certificates (mutual TLS).
    #[command(subcommand)]
    Sender(sender::Command),
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
    /// Bring the database's schema up to date (storage.url) and stop.
    Migrate,
    /// Copy an installation's SQLite store into an empty PostgreSQL database, with the counts checked.
    MigrateStore(migrate_store::Args),
    /// Rank the citizens seeking housing against a vacant home, without storing anything.
    #[command(subcommand)]
    Match(matching::Command),
}

/// The command line as clap sees it: every command, argument and its help.
pub fn command() -> clap::Command {
    Cli::command()
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
            crate::telemetry::init_command();
            run_async(replay::run(settings, args))
        }
        Command::Import(args) => {
            crate::telemetry::init_command();
            run_async(import::run(settings, args))
        }
        Command::Report(args) => {
            crate::telemetry::init_command();
            run_async(report::run(settings, args))
        }
        Command::WebhookSecret => {
            outln!("{}", crate::delivery::webhook::generate_secret());
            ExitCode::SUCCESS
        }
        Command::Audit(command) => {
            crate::telemetry::init_command();
            run_async(audit::run(settings, command))
        }
        Command::Token(command) => {
            crate::telemetry::init_command();
            run_async(token::run(settings, command))
        }
        Command::Sender(command) => {
            crate::telemetry::init_command();
            run_async(sender::run(settings, command))
        }
        Command::Migrate => {
            crate::telemetry::init_command();
            run_async(migrate::run(settings))
        }
        Command::MigrateStore(args) => {
            crate::telemetry::init_command();
            run_async(migrate_store::run(args))
        }
        Command::Match(command) => {
            crate::telemetry::init_command();
            run_async(matching::run(settings, command))
        }
    }
}

fn run_async(future: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("indgang: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("indgang: {e:#}");
            output::exit_code(&e)
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
    outln!("server.bind      {}", settings.server.bind);
    let tls = &settings.server.tls;
    outln!(
        "tls              {}",
        match (tls.enabled(), tls.client_ca.trim().is_empty()) {
            (false, _) => "off: plain HTTP",
            (true, true) => "HTTPS (server.tls.certificate)",
            (true, false) => "HTTPS (server.tls.certificate), client certificates for senders (server.tls.client_ca)",
        }
    );
    outln!("data_dir         {}", settings.data_dir.display());
    outln!("storage          {storage}");
    outln!(
        "key              {}",
        if settings.security.key.is_some() {
            "security.key".to_owned()
        } else {
            settings.key_file().display().to_string()
        }
    );
    let served = crate::domain::Municipalities::from_settings(&settings.municipalities).map_or(0, |m| m.len());
    outln!("municipalities   {served}");
    outln!("max body         {} bytes", settings.limits.max_body_bytes);
    let teams: Vec<&str> = settings.teams.keys().map(String::as_str).collect();
    outln!("teams            {}", teams.join(", "));
    let destinations: Vec<&str> = settings.destinations.keys().map(String::as_str).collect();
    outln!(
        "destinations     {}",
        if destinations.is_empty() {
            "none".to_owned()
        } else {
            destinations.join(", ")
        }
    );
    outln!(
        "email            {}",
        if settings.smtp.url.is_empty() {
            format!(".eml files in {}", settings.data_dir.join("outbox").display())
        } else {
            "smtp.url".to_owned()
        }
    );
    let a = &settings.alerts;
    outln!(
        "alerts           collected within {}, at most {} per email",
        a.group_window.trim(),
        a.group_max
    );
    outln!(
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
    outln!("configuration OK");
    ExitCode::SUCCESS
}

fn calendar(settings: &Settings, year: i16) -> ExitCode {
    match crate::domain::working_days::Calendar::from_settings(&settings.calendar) {
        Ok(calendar) => {
            for (day, name) in calendar.closing_days(year) {
                outln!("{day}\t{name}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("indgang: {e:#}");
            ExitCode::from(2)
        }
    }
}
