//! For the adapters' tests (the `test-support` feature): what every adapter's tests need the same
//! way.

use std::path::Path;

/// The gateway's validator for the JSON Schema in the file at `schema`: draft 2020-12 with format
/// checks, built the way `src/validation/mod.rs` builds it, so that what an adapter's tests find
/// valid is what the gateway finds valid.
pub fn validator(schema: impl AsRef<Path>) -> jsonschema::Validator {
    let path = schema.as_ref();
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let schema: serde_json::Value =
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
}
