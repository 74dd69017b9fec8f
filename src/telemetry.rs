//! Logging. `serve`: `tracing` events as JSON lines on standard output, or pretty when it is a
//! terminal. The other commands: warnings and errors, pretty, on standard error, so that their
//! output stays theirs (`RUST_LOG` shows more). Colour codes only when the stream is a terminal.
//! Every line of a request carries its request id (see `api::request_id`).
//!
//! Nothing personal is ever passed to a log call: handlers log kinds, sender ids, case references
//! and counts, never a message body, a CPR number, a name or an address.

use crate::config::{LogFormat, LogSettings};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub fn parse_filter(level: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(level).map_err(|e| format!("{level:?} is not a log filter: {e}"))
}

/// Installs the global subscriber writing to standard output. `RUST_LOG` wins over `log.level`.
pub fn init(settings: &LogSettings) {
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let ansi = std::io::stdout().is_terminal();
    init_with(&settings.level, json, ansi, std::io::stdout);
}

/// Installs the global subscriber of a command other than `serve`: warnings and errors on
/// standard error (a command's rows go to its own output and summary, not one log line each).
pub fn init_command() {
    init_with("warn", false, std::io::stderr().is_terminal(), std::io::stderr);
}

fn init_with<W>(level: &str, json: bool, ansi: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| parse_filter(&f).ok())
        .unwrap_or_else(|| parse_filter(level).unwrap_or_else(|_| EnvFilter::new("info")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // A second init (tests build several apps in one process) keeps the first subscriber.
    let _ = result;
}
