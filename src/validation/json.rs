//! Reading a message's JSON without guessing. serde_json keeps the last of two members with the
//! same name and says nothing; a partner's system that sends `"municipality"` twice has a fault,
//! and which value it meant is nobody's guess. This reader builds the same `Value` in one pass
//! and refuses a repeated member, naming it and the object it is in.

use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};
use std::fmt;

/// Parses `bytes` as one JSON value; a member repeated in an object is a data error (its
/// message names the member and the JSON pointer of the object, serde_json adds line and column).
///
/// The body is checked for UTF-8 once, as a whole, and then read as text: serde_json's byte
/// reader checks every string on its own instead, a call per string (about a fifth of the parse
/// of a release notice). A body that is not UTF-8 is read by the byte reader, whose error names
/// the line and column of the fault.
pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Value> {
    match std::str::from_utf8(bytes) {
        Ok(text) => read(serde_json::Deserializer::from_str(text)),
        Err(_) => read(serde_json::Deserializer::from_slice(bytes)),
    }
}

fn read<'de, R: serde_json::de::Read<'de>>(mut deserializer: serde_json::Deserializer<R>) -> serde_json::Result<Value> {
    let value = Strict { at: &Path::Root }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Where the reader is, built on the stack as it goes down (nothing is allocated unless a
/// fault is reported).
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn pointer(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Member(parent, name) => {
                let name = crate::validation::echo::cut(name);
                format!("{}/{}", parent.pointer(), super::pointer_segment(&name))
            }
            Path::Item(parent, index) => format!("{}/{index}", parent.pointer()),
        }
    }
}

struct Strict<'a> {
    at: &'a Path<'a>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Strict {
            at: &Path::Item(self.at, items.len()),
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            match map.entry(name) {
                Entry::Vacant(vacant) => {
                    let value = access.next_value_seed(Strict {
                        at: &Path::Member(self.at, vacant.key()),
                    })?;
                    vacant.insert(value);
                }
                Entry::Occupied(occupied) => {
                    let object = match self.at.pointer() {
                        pointer if pointer.is_empty() => "the top object".to_owned(),
                        pointer => format!("the object at {pointer}"),
                    };
                    return Err(A::Error::custom(format!(
                        "the member {} appears twice in {object}; send each member once",
                        crate::validation::echo::quoted(occupied.key())
                    )));
                }
            }
        }
        Ok(Value::Object(map))
    }
}

/// Writes `value` exactly as `serde_json::to_writer` writes it (compact, members in the map's
/// order): the canonical form that is hashed and sealed. Strings with nothing to escape, almost
/// all of a message's bytes, are copied as they are after one pass that the compiler turns into
/// vector instructions; serde_json looks at them byte by byte through a table (some 40,000
/// instructions of a release notice). A string that needs an escape, and every number, is
/// written by serde_json itself, so the bytes are the same.
pub fn write_compact(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => serde_json::to_writer(&mut *out, number).expect("writing to a Vec"),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, name);
                out.push(b':');
                write_compact(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Writes `text` as a JSON string, exactly as `serde_json` writes it (see [`write_compact`]).
pub fn write_string(out: &mut Vec<u8>, text: &str) {
    if needs_escape(text.as_bytes()) {
        serde_json::to_writer(&mut *out, text).expect("writing to a Vec");
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Whether JSON escapes a byte of `bytes`: a quote, a backslash or a control character below
/// 0x20 (serde_json escapes nothing else). 32 bytes at a time with no early exit inside a block.
fn needs_escape(bytes: &[u8]) -> bool {
    let suspect = |found: bool, b: &u8| found | (*b < 0x20) | (*b == b'"') | (*b == b'\\');
    let blocks = bytes.chunks_exact(32);
    let rest = blocks.remainder();
    blocks.into_iter().any(|block| block.iter().fold(false, suspect)) || rest.iter().fold(false, suspect)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every JSON document under schemas/examples (valid and invalid ones), with its path.
    pub(crate) fn schema_examples() -> Vec<(std::path::PathBuf, Value)> {
        let mut examples = Vec::new();
        let mut folders = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/examples")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if let Ok(document) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) {
                    examples.push((path, document));
                }
            }
        }
        examples
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let text = br#"{"a": [1, -2, 3.5, "x\u00e6", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(
            from_slice(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
        assert!(from_slice(b"{} x").is_err());
        assert!(from_slice(b"").is_err());
    }

    #[test]
    fn a_body_that_is_not_utf8_is_refused_naming_where() {
        let text = b"{\"a\": \"ok\",\n \"b\": \"\xff\"}";
        let error = from_slice(text).unwrap_err();
        let expected = serde_json::from_slice::<Value>(text).unwrap_err();
        assert_eq!(error.to_string(), expected.to_string());
        assert_eq!(error.line(), 2);
    }

    #[test]
    fn the_canonical_form_is_serde_jsons_to_the_byte() {
        let long = "Ønsker bolig i Aarhus Vest og har en hund. ".repeat(20);
        let mut escapes = String::new();
        for c in (0u32..0x250).chain([0x2028, 0x2029, 0xfeff, 0x1f600]) {
            escapes.push(char::from_u32(c).unwrap());
        }
        let document = serde_json::json!({
            "b": [1, -2, 3.5, 1e300, -0.0, 18446744073709551615u64, -9223372036854775808i64, null, true, false],
            "a": {"": "", "x\"y": "q\"uote", "back\\slash": "\\", "tab": "a\tb", "nl": "a\nb"},
            "long": long,
            "escapes": escapes,
            "with a control at the end of a block": format!("{}\u{1f}", "x".repeat(63)),
            "nested": [[], {}, [{"z": [[]]}]],
        });
        let mut ours = Vec::new();
        write_compact(&mut ours, &document);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&document).unwrap()
        );
        let examples = schema_examples();
        for (path, document) in &examples {
            let mut ours = Vec::new();
            write_compact(&mut ours, document);
            assert_eq!(ours, serde_json::to_vec(document).unwrap(), "{}", path.display());
        }
        assert!(examples.len() >= 10, "{}", examples.len());
    }

    #[test]
    fn a_repeated_member_is_refused_naming_it_and_its_object() {
        let error = from_slice(br#"{"municipality":"751","municipality":"101"}"#).unwrap_err();
        assert_eq!(error.classify(), serde_json::error::Category::Data);
        assert!(
            error
                .to_string()
                .starts_with("the member \"municipality\" appears twice in the top object"),
            "{error}"
        );
        let error = from_slice(br#"{"a":[{"x/y":{"b":1,"b":2}}]}"#).unwrap_err();
        assert!(error.to_string().contains("in the object at /a/0/x~1y;"), "{error}");
        // The same name in two objects is fine.
        assert!(from_slice(br#"{"a":{"b":1},"c":{"b":1}}"#).is_ok());
    }
}
