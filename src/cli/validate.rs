//! `indgang validate FILE…`: the server's rules, offline. Exit 0 when every file is valid, 1 when
//! any is invalid, 2 when any cannot be read.

use crate::config::Settings;
use crate::domain::Kind;
use crate::validation::{Validator, Violation, Warning};
use clap::ValueEnum;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The kind of every file; without it, each file's kind is told from its content.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<Kind>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    Kind::parse(text).ok_or_else(|| "release-notice, housing-offer or jobcenter-message".to_owned())
}

#[derive(Serialize)]
struct Verdict {
    file: String,
    kind: Option<Kind>,
    valid: bool,
    violations: Vec<Violation>,
    warnings: Vec<Warning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(settings: &Settings, args: &Args) -> ExitCode {
    let validator = match Validator::new(settings.municipalities.clone(), settings.intake.clone()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("indgang: {e:#}");
            return ExitCode::from(2);
        }
    };
    let now = jiff::Timestamp::now();
    let verdicts: Vec<Verdict> = args
        .files
        .iter()
        .map(|file| verdict(&validator, args.kind, file, now))
        .collect();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&verdicts).expect("verdicts serialise")
        ),
        Format::Text => verdicts.iter().for_each(print_text),
    }
    if verdicts.iter().any(|v| v.error.is_some()) {
        ExitCode::from(2)
    } else if verdicts.iter().any(|v| !v.valid) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn verdict(validator: &Validator, kind: Option<Kind>, file: &PathBuf, now: jiff::Timestamp) -> Verdict {
    let mut verdict = Verdict {
        file: file.display().to_string(),
        kind,
        valid: false,
        violations: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            verdict.error = Some(format!("cannot read: {e}"));
            return verdict;
        }
    };
    let fault = |pointer: &str, rule: &str, message: String| Violation {
        pointer: pointer.into(),
        rule: rule.into(),
        message,
    };
    let document: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(document) => document,
        Err(e) => {
            verdict
                .violations
                .push(fault("", "json", format!("not well-formed JSON: {e}")));
            return verdict;
        }
    };
    let Some(kind) = kind.or_else(|| Kind::detect(&document)) else {
        let message = "cannot tell the kind (no notice_type, offer_type or message_type); use --kind".to_owned();
        verdict.violations.push(fault("", "kind", message));
        return verdict;
    };
    verdict.kind = Some(kind);
    match validator.check(kind, document, now) {
        Ok(checked) => {
            verdict.valid = true;
            verdict.warnings = checked.warnings;
        }
        Err(violations) => verdict.violations = violations,
    }
    verdict
}

fn print_text(v: &Verdict) {
    if let Some(error) = &v.error {
        println!("{}: {error}", v.file);
        return;
    }
    let kind = v.kind.map_or("message", Kind::as_str);
    if v.valid {
        println!("{}: valid {kind}", v.file);
    } else {
        let count = v.violations.len();
        println!(
            "{}: invalid {kind}, {count} fault{}",
            v.file,
            if count == 1 { "" } else { "s" }
        );
    }
    for violation in &v.violations {
        let at = if violation.pointer.is_empty() {
            "(message)"
        } else {
            &violation.pointer
        };
        println!("  {at}: {} [{}]", violation.message, violation.rule);
    }
    for warning in &v.warnings {
        println!("  warning {}: {}", warning.code, warning.message);
    }
}
