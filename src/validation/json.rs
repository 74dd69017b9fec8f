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
pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

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
