//! What the test files share: the sample folders and the gateway's JSON Schema.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "../../schemas/release-notice.v1.json";
pub const XSD: &str = "../../schemas/xml/release-notice.v1.xsd";
pub const JSON_EXAMPLES: &str = "../../schemas/examples/release-notice/valid";

/// The files of a folder with the extension given, sorted by name. Relative paths are relative to
/// the crate, which is where `cargo test` runs the tests.
pub fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

pub fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn read_json(path: &str) -> Value {
    serde_json::from_slice(&read(Path::new(path))).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The gateway's validator for release notices.
pub fn validator() -> jsonschema::Validator {
    indgang_adapter_common::test_support::validator(SCHEMA)
}

/// The schema faults of a message, as "pointer: message" lines.
pub fn schema_faults(validator: &jsonschema::Validator, message: &Value) -> Vec<String> {
    validator
        .iter_errors(message)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect()
}
