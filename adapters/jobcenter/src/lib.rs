//! Jobcenter events in KOMBIT's Beskedfordeler envelope, turned into indgang's canonical
//! jobcenter-message JSON (`schemas/jobcenter-message.v1.json`).
//!
//! The envelope is a `Haendelsesbesked` (namespace `urn:oio:besked:kuvert:1.0`), bare or inside
//! the distributor's `ModtagBeskedInput`. The envelope gives the message id (`BeskedId`), the
//! message type (`Beskedtype`, by the table in [`BESKEDTYPER`]), the citizen (`RelateretObjekt`
//! with a `urn:oio:cpr-nr:` URN) and the time it was made (`Dannelsestidspunkt`); the payload in
//! `Beskeddata`, a `Jobcenterbesked` in indgang's namespace `urn:indgang:jobcenter:1`, gives the
//! rest. `README.md` beside this crate maps every field.
//!
//! [`to_canonical`] is pure and bounded: at most [`MAX_BYTES`], nesting at most 32 deep, no DTD
//! and no entities but XML's five. Every fault it finds is reported with its line and column.
//! The canonical JSON it gives then goes through the gateway's own checks like any JSON message.

mod beskedtype;
mod envelope;
mod payload;
mod values;
mod xml;

pub use beskedtype::BESKEDTYPER;
use serde_json::{Map, Value};
use std::fmt;

/// The largest envelope accepted, in bytes (1 MiB); a jobcenter message is a few kilobytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// At most this many faults are reported for one envelope.
const MAX_FAULTS: usize = 100;

/// One fault: where in the envelope (line and column, both from 1, the column counted in
/// characters) and what, in plain words. A message never repeats a CPR number, a name or free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Collects faults, turning byte offsets into line and column.
pub(crate) struct Faults<'t> {
    text: &'t str,
    list: Vec<Fault>,
}

impl Faults<'_> {
    pub(crate) fn at(&mut self, offset: usize, message: impl Into<String>) {
        if self.list.len() < MAX_FAULTS {
            let (line, column) = position(self.text, offset);
            self.list.push(Fault {
                line,
                column,
                message: message.into(),
            });
        }
    }

    /// The value, or a fault at `element` saying `what` was wrong.
    pub(crate) fn check<T>(&mut self, element: &xml::Element, what: &str, value: Result<T, String>) -> Option<T> {
        value
            .map_err(|message| self.at(element.at, format!("{what}: {message}")))
            .ok()
    }
}

/// Line and column (from 1; the column in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = 1 + before[line_start..].chars().count();
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(line), clamp(column))
}

/// A cheap look at the first bytes: true when they begin (after an optional byte order mark and
/// white space) with `<` and name `Haendelsesbesked` or `ModtagBeskedInput` within the first
/// 4 KiB. Canonical JSON starts with `{` and is never taken for an envelope. It says which
/// reader to use, not whether the envelope is valid: [`to_canonical`] decides that.
pub fn is_envelope(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    let head = &head[start..];
    let names = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    head.first() == Some(&b'<') && (names(b"Haendelsesbesked") || names(b"ModtagBeskedInput"))
}

/// The encoding named in an XML declaration at the very start, and the column where it is
/// named: read before decoding, so a Latin-1 envelope is told about its declaration rather than
/// about its first `æ`.
fn declared_encoding(bytes: &[u8]) -> Option<(u32, String)> {
    let head = &bytes[..bytes.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let declaration = &head[..end];
    let at = declaration.windows(8).position(|w| w == b"encoding")?;
    let rest = &declaration[at + 8..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b"=")?;
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let quote = *rest.first().filter(|q| matches!(q, b'"' | b'\''))?;
    let value = &rest[1..];
    let value = &value[..value.iter().position(|&b| b == quote)?];
    let column = u32::try_from(at + 1).unwrap_or(u32::MAX);
    Some((column, String::from_utf8_lossy(value).into_owned()))
}

/// Reads a Beskedfordeler envelope carrying a jobcenter event and gives the canonical
/// jobcenter message, or every fault found (at most 100), each with its line and column.
pub fn to_canonical(xml: &[u8]) -> Result<Value, Vec<Fault>> {
    let whole = |message: String| {
        vec![Fault {
            line: 1,
            column: 1,
            message,
        }]
    };
    if xml.len() > MAX_BYTES {
        return Err(whole(format!(
            "the envelope is {} bytes; at most {MAX_BYTES} bytes (1 MiB) are accepted",
            xml.len()
        )));
    }
    if xml.starts_with(b"\xFF\xFE") || xml.starts_with(b"\xFE\xFF") {
        return Err(whole("the envelope is UTF-16: it must be UTF-8".to_owned()));
    }
    let bytes = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    if let Some((column, encoding)) = declared_encoding(bytes)
        && !matches!(encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
    {
        return Err(vec![Fault {
            line: 1,
            column,
            message: format!("the envelope must be UTF-8; it declares the encoding {encoding}"),
        }]);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let (line, column) = position(valid, valid.len());
        vec![Fault {
            line,
            column,
            message: "the envelope is not UTF-8: it must be UTF-8 encoded".to_owned(),
        }]
    })?;
    let mut faults = Faults { text, list: Vec::new() };
    let root = match xml::parse(text) {
        Ok(root) => root,
        Err((at, message)) => {
            faults.at(at, message);
            return Err(faults.list);
        }
    };
    let Some(haendelsesbesked) = envelope::find(&root, &mut faults) else {
        return Err(faults.list);
    };
    let envelope = envelope::read(haendelsesbesked, &mut faults);
    let payload = envelope
        .payload
        .map(|p| payload::read(p, envelope.message_type, &mut faults));
    if !faults.list.is_empty() {
        faults.list.sort_by_key(|f| (f.line, f.column));
        return Err(faults.list);
    }
    let (Some(message_id), Some(sent_at), Some(message_type), Some(cpr), Some(payload)) = (
        envelope.message_id,
        envelope.sent_at,
        envelope.message_type,
        envelope.cpr,
        payload,
    ) else {
        // Each missing part has a fault of its own; this only satisfies the types.
        return Err(whole("the envelope is incomplete".to_owned()));
    };

    let mut message = Map::new();
    message.insert("message_id".into(), message_id.into());
    message.insert("sent_at".into(), sent_at.into());
    message.insert("message_type".into(), message_type.into());
    let mut citizen = Map::new();
    citizen.insert("cpr".into(), cpr.into());
    if let Some(name) = payload.citizen_name {
        citizen.insert("name".into(), name.into());
    }
    message.extend(payload.members);
    message.insert("citizen".into(), citizen.into());
    Ok(Value::Object(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "ab\næøå<x>\n";
        assert_eq!(position(text, 0), (1, 1));
        assert_eq!(position(text, 3), (2, 1));
        assert_eq!(position(text, 9), (2, 4));
        assert_eq!(position(text, 8), (2, 3), "inside a character counts from its start");
        assert_eq!(position(text, 999), (3, 1));
    }

    #[test]
    fn sniffing() {
        assert!(is_envelope(
            b"\xEF\xBB\xBF\n  <?xml version=\"1.0\"?><k:Haendelsesbesked/>"
        ));
        assert!(is_envelope(b"<sts:ModtagBeskedInput>"));
        assert!(!is_envelope(b"{\"message_id\": \"Haendelsesbesked\"}"));
        assert!(!is_envelope(b"<Loesladelse/>"));
        assert!(!is_envelope(b""));
    }
}
