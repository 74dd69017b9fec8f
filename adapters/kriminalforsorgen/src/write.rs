//! From canonical JSON to XML, following the format table: UTF-8, two-space indentation, the
//! default namespace on the root. Text is escaped so that it reads back exactly: `&`, `<`, `>` as
//! entities and a carriage return as `&#13;` (a raw one would be turned into a line feed).

use crate::format::{Content, Field, MESSAGE};
use crate::values;
use crate::{NAMESPACE, ROOT_ELEMENT};
use serde_json::{Map, Value};

pub(crate) fn message(message: &Value) -> Result<String, String> {
    let Value::Object(object) = message else {
        return Err("the message must be a JSON object".into());
    };
    let mut writer = Writer {
        out: String::with_capacity(4096),
        errors: Vec::new(),
    };
    writer.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    writer
        .out
        .push_str(&format!("<{ROOT_ELEMENT} xmlns=\"{NAMESPACE}\">\n"));
    writer.group(object, MESSAGE, "", 1);
    writer.out.push_str(&format!("</{ROOT_ELEMENT}>\n"));
    if writer.errors.is_empty() {
        Ok(writer.out)
    } else {
        Err(writer.errors.join("; "))
    }
}

struct Writer {
    out: String,
    errors: Vec<String>,
}

impl Writer {
    fn group(&mut self, object: &Map<String, Value>, fields: &[Field], pointer: &str, depth: usize) {
        for key in object.keys() {
            if !fields.iter().any(|f| f.member == key) {
                let key = key.replace('~', "~0").replace('/', "~1");
                self.errors
                    .push(format!("{pointer}/{key}: not a member of a release notice"));
            }
        }
        for field in fields {
            let Some(value) = object.get(field.member) else {
                continue;
            };
            let pointer = format!("{pointer}/{}", field.member);
            match &field.content {
                Content::Text(rule) => match values::to_text(*rule, value) {
                    Ok(text) => self.simple(field.element, &text, depth),
                    Err(why) => self.errors.push(format!("{pointer}: {why}")),
                },
                Content::Group(fields) => match value {
                    Value::Object(inner) if inner.is_empty() => self.empty(field.element, depth),
                    Value::Object(inner) => {
                        self.open(field.element, depth);
                        self.group(inner, fields, &pointer, depth + 1);
                        self.close(field.element, depth);
                    }
                    _ => self.errors.push(format!("{pointer}: must be an object")),
                },
                Content::List { item, rule, .. } => match value {
                    Value::Array(items) if items.is_empty() => self.empty(field.element, depth),
                    Value::Array(items) => {
                        self.open(field.element, depth);
                        for (i, value) in items.iter().enumerate() {
                            match values::to_text(*rule, value) {
                                Ok(text) => self.simple(item, &text, depth + 1),
                                Err(why) => self.errors.push(format!("{pointer}/{i}: {why}")),
                            }
                        }
                        self.close(field.element, depth);
                    }
                    _ => self.errors.push(format!("{pointer}: must be an array")),
                },
            }
        }
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, element: &str, depth: usize) {
        self.indent(depth);
        self.out.push_str(&format!("<{element}>\n"));
    }

    fn close(&mut self, element: &str, depth: usize) {
        self.indent(depth);
        self.out.push_str(&format!("</{element}>\n"));
    }

    fn empty(&mut self, element: &str, depth: usize) {
        self.indent(depth);
        self.out.push_str(&format!("<{element}/>\n"));
    }

    fn simple(&mut self, element: &str, text: &str, depth: usize) {
        self.indent(depth);
        self.out.push_str(&format!("<{element}>"));
        for c in text.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '\r' => self.out.push_str("&#13;"),
                c => self.out.push(c),
            }
        }
        self.out.push_str(&format!("</{element}>\n"));
    }
}

#[cfg(test)]
mod tests {
    use crate::{from_canonical, to_canonical};
    use serde_json::json;

    #[test]
    fn refuses_what_xml_cannot_carry() {
        assert!(from_canonical(&json!([])).is_err());
        let error = from_canonical(&json!({"message_id": 7, "extra/field": 1, "sender": "x"})).unwrap_err();
        assert!(error.contains("/message_id: must be a string"), "{error}");
        assert!(error.contains("/extra~1field: not a member"), "{error}");
        assert!(error.contains("/sender: must be an object"), "{error}");
        let error = from_canonical(&json!({"notes": "a\u{0}b", "needs": ["housing", 1]})).unwrap_err();
        assert!(error.contains("/notes: holds the character U+0000"), "{error}");
        assert!(error.contains("/needs/1: must be a string"), "{error}");
    }

    #[test]
    fn awkward_text_reads_back_exactly() {
        let message = json!({
            "message_id": "A-1",
            "sent_at": "2026-11-03T09:30:00+01:00",
            "notice_type": "admission",
            "sender": {"id": "kif-horsens", "name": "  <Anstalten> & \"co\" ]]> ", "contact": {}},
            "municipality": "751",
            "citizen": {"cpr": "150385-1234"},
            "custody": {"type": "remand", "admitted_on": "2026-10-28"},
            "needs": [],
            "services_started": [],
            "consent": "given",
            "notes": "line 1\r\nline 2\rline 3\n\ttab æøå ÆØÅ \u{85} \u{10FFFF}"
        });
        let xml = from_canonical(&message).unwrap();
        assert_eq!(to_canonical(xml.as_bytes()).unwrap(), message);
    }
}
