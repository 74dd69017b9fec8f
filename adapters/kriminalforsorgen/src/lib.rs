//! Kriminalforsorgen's XML release notices (`Loesladelsesmeddelelse`, namespace [`NAMESPACE`]) to and
//! from indgang's canonical JSON (`schemas/release-notice.v1.json`).
//!
//! The adapter is pure: bytes in, canonical JSON or faults out; no I/O, no panics, and memory and
//! time bounded by the limits below. It checks everything the published XSD
//! (`schemas/xml/release-notice.v1.xsd`) checks, so `xmllint --schema` and the adapter give the
//! same verdict; the rules an XSD cannot say are left to the gateway, which validates the JSON
//! returned here like any JSON submission. The format itself is described once, in `format.rs`,
//! and both directions read that table.
//!
//! Faults never repeat the offending value: a rejected CPR number or name is not echoed.

mod decode;
mod format;
mod parse;
mod read;
mod tag;
mod text;
mod values;
mod write;

use serde::Serialize;

/// The namespace of every element of a release notice.
pub const NAMESPACE: &str = "urn:indgang:kriminalforsorgen:loesladelse:1";
/// The name of the root element.
pub const ROOT_ELEMENT: &str = "Loesladelsesmeddelelse";
/// Larger documents are refused before they are read (a real notice is a few kilobytes).
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;
/// Elements may nest at most this deep (the format itself needs four levels).
pub const MAX_DEPTH: usize = 32;
/// At most this many elements in one document (a full notice has about sixty).
pub const MAX_ELEMENTS: usize = 1000;
/// At most this many attributes (namespace declarations included) on one element.
pub const MAX_ATTRIBUTES: usize = 32;
/// At most this many faults are reported; a last fault says that more were left out.
pub const MAX_FAULTS: usize = 100;

/// One fault in an XML document: where it is (1-based line and column, the column counted in
/// characters) and what is wrong, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Turns an XML release notice into the canonical JSON message, or lists every fault found.
///
/// Faults of well-formedness (encoding, syntax, a DOCTYPE, the limits) stop the reading, so there is
/// one; faults against the format (unknown, missing, repeated or misplaced elements, values of the
/// wrong shape) are all collected. The JSON returned is not yet checked against the JSON Schema's
/// conditional rules or the gateway's domain rules: the caller validates it like a JSON submission.
pub fn to_canonical(xml: &[u8]) -> Result<serde_json::Value, Vec<Fault>> {
    let text = decode::decode(xml).map_err(|fault| vec![fault])?;
    let mut faults = text::Faults::new(&text);
    let Some(root) = parse::parse(&text, &mut faults) else {
        return Err(faults.into_list());
    };
    let message = read::message(&root, &mut faults);
    match message {
        Some(message) if faults.is_empty() => Ok(message),
        _ => Err(faults.into_list()),
    }
}

/// Writes a canonical JSON release notice as XML (UTF-8, indented, default namespace), ready for
/// [`to_canonical`] to read back into the same JSON.
///
/// It checks only what XML cannot carry: members the format does not have, members of the wrong
/// JSON type, and characters XML 1.0 does not allow. Values are written as they are; a value that
/// breaks the format (a bad date, say) comes back as a fault from [`to_canonical`].
pub fn from_canonical(message: &serde_json::Value) -> Result<String, String> {
    write::message(message)
}
