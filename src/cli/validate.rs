//! `indgang validate FILE…`: the server's rules, offline. Exit 0 when every file is valid, 1 when
//! any is invalid, 2 when any cannot be read. `--json`: one JSON object per file, one a line.

use super::output::outln;
use crate::config::Settings;
use crate::domain::Kind;
use crate::validation::{Checked, Validator, Violation, Warning};
use clap::ValueEnum;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The kind of every file; without it, each file's kind is told from its content.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<Kind>,
    /// The files' format; without it, told from each file's content (`<` starts XML, a first
    /// line with `;` and no `{` is CSV, anything else JSON).
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// How to print the verdicts: text, or JSON lines (one object per file).
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    /// The same as --output json.
    #[arg(long, conflicts_with = "output")]
    json: bool,
    /// The message files: JSON, XML or a CSV batch.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    /// A line per file, then one per fault and warning.
    Text,
    /// One JSON object per file, one a line.
    Json,
}

/// The formats a message file can be in.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// The canonical JSON of `schemas/`.
    Json,
    /// Kriminalforsorgen's XML release notice, or a jobcenter event in the Beskedfordeler envelope.
    Xml,
    /// The allocation office's CSV export of housing offers (every row checked).
    Csv,
}

fn detect(bytes: &[u8]) -> InputFormat {
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match start.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => InputFormat::Xml,
        Some(b'{') | Some(b'[') | None => InputFormat::Json,
        Some(_) => {
            let first = start.split(|b| *b == b'\n').next().unwrap_or_default();
            if first.contains(&b';') {
                InputFormat::Csv
            } else {
                InputFormat::Json
            }
        }
    }
}

pub fn parse_kind(text: &str) -> Result<Kind, String> {
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
    let validator = match Validator::from_settings(settings) {
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
        .map(|file| verdict(&validator, args.kind, args.format, file, now))
        .collect();
    match (args.json, args.output) {
        (true, _) | (false, Output::Json) => {
            for verdict in &verdicts {
                outln!("{}", serde_json::to_string(verdict).expect("verdicts serialise"));
            }
        }
        (false, Output::Text) => verdicts.iter().for_each(print_text),
    }
    if verdicts.iter().any(|v| v.error.is_some()) {
        ExitCode::from(2)
    } else if verdicts.iter().any(|v| !v.valid) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn verdict(
    validator: &Validator,
    kind: Option<Kind>,
    format: Option<InputFormat>,
    file: &Path,
    now: jiff::Timestamp,
) -> Verdict {
    let mut verdict = Verdict {
        file: file.display().to_string(),
        kind,
        valid: false,
        violations: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let is_csv = match format {
        Some(format) => format == InputFormat::Csv,
        None => std::fs::read(file).is_ok_and(|bytes| detect(&bytes) == InputFormat::Csv),
    };
    if is_csv {
        return csv_verdict(validator, file, now, verdict);
    }
    match check_file(validator, kind, format, file, now) {
        Ok(checked) => {
            verdict.kind = Some(checked.kind);
            verdict.valid = true;
            verdict.warnings = checked.warnings;
        }
        Err(Failure::Unreadable(error)) => verdict.error = Some(error),
        Err(Failure::Invalid { kind, violations }) => {
            verdict.kind = kind.or(verdict.kind);
            verdict.violations = violations;
        }
    }
    verdict
}

/// Every row of a CSV batch, with the rows' faults at their line.
fn csv_verdict(validator: &Validator, file: &Path, now: jiff::Timestamp, mut verdict: Verdict) -> Verdict {
    verdict.kind = Some(Kind::HousingOffer);
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            verdict.error = Some(format!("cannot read: {e}"));
            return verdict;
        }
    };
    let at_line = |line: Option<usize>, mut v: Violation| {
        v.line = line.and_then(|l| u32::try_from(l).ok());
        v
    };
    let rows = match crate::intake::batch::parse(&bytes, "validate") {
        Ok(rows) => rows,
        Err(problem) => {
            verdict.violations = problem.violations.unwrap_or_default();
            return verdict;
        }
    };
    for row in rows {
        let document = match row.result {
            Ok(document) => document,
            Err(faults) => {
                verdict.violations.extend(
                    faults
                        .into_iter()
                        .map(|f| crate::intake::batch::csv_violation(f, Some(row.row))),
                );
                continue;
            }
        };
        match validator.check(Kind::HousingOffer, document, now) {
            Ok(checked) => verdict.warnings.extend(checked.warnings),
            Err(violations) => verdict
                .violations
                .extend(violations.into_iter().map(|v| at_line(Some(row.row), v))),
        }
    }
    verdict.valid = verdict.violations.is_empty();
    verdict
}

/// Why a file is not a valid message.
pub enum Failure {
    Unreadable(String),
    Invalid {
        kind: Option<Kind>,
        violations: Vec<Violation>,
    },
}

/// Reads a message file and checks it with the server's rules; the kind is told from the
/// content when not given.
pub fn check_file(
    validator: &Validator,
    kind: Option<Kind>,
    format: Option<InputFormat>,
    file: &Path,
    now: jiff::Timestamp,
) -> Result<Checked, Failure> {
    let bytes = std::fs::read(file).map_err(|e| Failure::Unreadable(format!("cannot read: {e}")))?;
    let fault = |pointer: &str, rule: &str, message: String| Violation {
        pointer: pointer.into(),
        rule: rule.into(),
        message,
        line: None,
        column: None,
    };
    let is_xml = format.unwrap_or_else(|| detect(&bytes)) == InputFormat::Xml;
    let document: serde_json::Value = if is_xml {
        // The partners' XML, through the same adapters as the gateway's.
        let envelope = indgang_jobcenter::is_envelope(&bytes);
        let kind = kind.unwrap_or(if envelope {
            Kind::JobcenterMessage
        } else {
            Kind::ReleaseNotice
        });
        let converted = crate::intake::xml_to_canonical(kind, &bytes);
        converted.map_err(|violations| Failure::Invalid {
            kind: Some(kind),
            violations,
        })?
    } else {
        crate::validation::json::from_slice(&bytes).map_err(|e| Failure::Invalid {
            kind,
            violations: vec![fault("", "json", format!("not well-formed JSON: {e}"))],
        })?
    };
    let Some(kind) = kind.or_else(|| Kind::detect(&document)) else {
        let message = "cannot tell the kind (no notice_type, offer_type or message_type); use --kind".to_owned();
        return Err(Failure::Invalid {
            kind: None,
            violations: vec![fault("", "kind", message)],
        });
    };
    validator
        .check(kind, document, now)
        .map_err(|violations| Failure::Invalid {
            kind: Some(kind),
            violations,
        })
}

fn print_text(v: &Verdict) {
    if let Some(error) = &v.error {
        // Not a verdict on the file but why there is none: where errors go.
        eprintln!("indgang: {}: {error}", v.file);
        return;
    }
    let kind = v.kind.map_or("message", Kind::as_str);
    if v.valid {
        outln!("{}: valid {kind}", v.file);
    } else {
        let faults = super::output::counted(v.violations.len(), "fault", "faults");
        outln!("{}: invalid {kind}, {faults}", v.file);
    }
    for violation in &v.violations {
        outln!("  {}", fault(violation));
    }
    for warning in &v.warnings {
        outln!("  warning {}: {}", warning.code, warning.message);
    }
}

/// One fault as `validate` and `import` print it: where (`line 7`, `line 3, column 12`, a JSON
/// pointer or `(message)`), what, and the rule in brackets.
pub fn fault(violation: &Violation) -> String {
    let pointer = &violation.pointer;
    let at = match (violation.line, violation.column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}"),
        (Some(line), None) if pointer.is_empty() => format!("line {line}"),
        (Some(line), None) => format!("line {line}: {pointer}"),
        _ if pointer.is_empty() => "(message)".to_owned(),
        _ => pointer.clone(),
    };
    format!("{at}: {} [{}]", violation.message, violation.rule)
}
