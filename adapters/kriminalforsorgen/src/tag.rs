//! Start tags: attributes, namespace declarations and the element's expanded name.
//!
//! Namespaces are resolved here rather than by quick-xml's `NsReader`, so that a declaration's
//! value is unescaped (`xmlns="urn:a&#58;b"` is `urn:a:b`, as any XML processor reads it) and
//! every fault has its place. Attributes other than namespace declarations are refused, except
//! the `xsi:schemaLocation` hints XML Schema allows on any element.

use crate::MAX_ATTRIBUTES;
use crate::parse::Element;
use crate::text::{Faults, is_xml_char, split_qname};
use quick_xml::events::BytesStart;
use quick_xml::events::attributes::AttrError;

const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Reads a start tag: its attributes (namespace declarations first), then its name. Opens a
/// namespace scope that the caller closes. `None` if the tag is not well-formed.
pub(crate) fn start_element(
    start: &BytesStart,
    at: usize,
    scopes: &mut Scopes,
    faults: &mut Faults,
) -> Option<Element> {
    let name = start.name().0.to_owned();
    let Some((prefix, local)) = split_qname(&name) else {
        faults.add(at, "malformed element name");
        return None;
    };
    let mut attributes = Vec::new();
    for attribute in start.attributes().with_checks(true) {
        let attribute = match attribute {
            Ok(attribute) => attribute,
            Err(error) => {
                let (position, what) = match error {
                    AttrError::ExpectedEq(p) => (p, "an attribute name must be followed by ="),
                    AttrError::ExpectedValue(p) => (p, "an attribute has no value after ="),
                    AttrError::UnquotedValue(p) => (p, "an attribute value must be in quotes"),
                    AttrError::ExpectedQuote(p, _) => (p, "an attribute value is not closed by its quote"),
                    AttrError::Duplicated(p, _) => (p, "an attribute is repeated"),
                };
                // Positions are relative to the tag's content, just after its `<`.
                faults.add(
                    at.saturating_add(position).saturating_add(1),
                    format!("malformed start tag <{name}>: {what}"),
                );
                return None;
            }
        };
        if attributes.len() >= MAX_ATTRIBUTES {
            faults.add(at, format!("<{name}> has more than {MAX_ATTRIBUTES} attributes"));
            return None;
        }
        let key = attribute.key.0.to_owned();
        if attribute.value.contains('<') {
            faults.add(at, format!("the attribute {key} of <{name}> contains a '<'"));
            return None;
        }
        let value = match attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(value) if value.chars().all(is_xml_char) => value.into_owned(),
            _ => {
                faults.add(
                    at,
                    format!("the value of the attribute {key} of <{name}> has an undefined reference"),
                );
                return None;
            }
        };
        attributes.push((key, value));
    }

    scopes.open();
    for (key, value) in &attributes {
        let declared = match key.as_str() {
            "xmlns" => Some(""),
            _ => key.strip_prefix("xmlns:"),
        };
        if let Some(prefix) = declared
            && let Err(why) = scopes.declare(prefix, value)
        {
            faults.add(at, format!("bad namespace declaration {key} on <{name}>: {why}"));
        }
    }

    let mut seen = Vec::new();
    for (key, _) in &attributes {
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let Some((prefix, attribute_local)) = split_qname(key) else {
            faults.add(at, format!("malformed attribute name on <{name}>"));
            continue;
        };
        let namespace = match prefix {
            None => None,
            Some(prefix) => match scopes.resolve(prefix) {
                Some(namespace) => Some(namespace.to_owned()),
                None => {
                    faults.add(
                        at,
                        format!("the prefix {prefix} of the attribute {key} is not declared"),
                    );
                    continue;
                }
            },
        };
        let expanded = (namespace.clone(), attribute_local.to_owned());
        if seen.contains(&expanded) {
            faults.add(
                at,
                format!("the attribute {key} of <{name}> is repeated under another prefix"),
            );
            continue;
        }
        seen.push(expanded);
        // xsi:schemaLocation hints are allowed and ignored, as XML Schema allows them anywhere.
        let hint = namespace.as_deref() == Some(XSI_NAMESPACE)
            && matches!(attribute_local, "schemaLocation" | "noNamespaceSchemaLocation");
        if !hint {
            faults.add(at, format!("the attribute {key} is not allowed on <{name}>"));
        }
    }

    let (namespace, unbound) = match prefix {
        None => (scopes.resolve("").map(str::to_owned), false),
        Some(prefix) => match scopes.resolve(prefix) {
            Some(namespace) => (Some(namespace.to_owned()), false),
            None => {
                faults.add(at, format!("the prefix {prefix} of <{name}> is not declared"));
                (None, true)
            }
        },
    };
    Some(Element {
        namespace,
        unbound,
        local: local.to_owned(),
        name,
        at,
        ..Element::default()
    })
}

/// The namespace bindings in scope: a stack of (prefix, namespace) with a mark per open element.
/// The default namespace has the prefix "", and an empty namespace undeclares it.
#[derive(Default)]
pub(crate) struct Scopes {
    bindings: Vec<(String, String)>,
    marks: Vec<usize>,
}

impl Scopes {
    fn open(&mut self) {
        self.marks.push(self.bindings.len());
    }

    pub(crate) fn pop(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.bindings.truncate(mark);
        }
    }

    fn declare(&mut self, prefix: &str, namespace: &str) -> Result<(), &'static str> {
        if prefix == "xmlns" {
            return Err("the prefix xmlns cannot be declared");
        }
        if (prefix == "xml") != (namespace == XML_NAMESPACE) {
            return Err("the prefix xml belongs to the XML namespace and no other prefix may be bound to it");
        }
        if namespace == XMLNS_NAMESPACE {
            return Err("the xmlns namespace cannot be bound");
        }
        if !prefix.is_empty() && namespace.is_empty() {
            return Err("a prefix cannot be bound to an empty namespace");
        }
        self.bindings.push((prefix.to_owned(), namespace.to_owned()));
        Ok(())
    }

    fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NAMESPACE);
        }
        let namespace = self
            .bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.as_str())?;
        (!namespace.is_empty()).then_some(namespace)
    }
}

#[cfg(test)]
mod tests {
    use crate::to_canonical;

    const NOTICE: &str = include_str!("../samples/valid/cancellation.xml");

    fn messages(xml: &str) -> Vec<String> {
        match to_canonical(xml.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(faults) => faults.into_iter().map(|f| f.message).collect(),
        }
    }

    fn with_root(root: &str) -> String {
        NOTICE.replace(
            "<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\">",
            root,
        )
    }

    #[test]
    fn namespace_values_are_unescaped() {
        let xml = with_root("<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse&#x3A;1\">");
        assert_eq!(messages(&xml), Vec::<String>::new());
    }

    #[test]
    fn schema_location_hints_are_allowed_and_other_attributes_are_not() {
        let xsi = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
        let hint = with_root(&format!(
            "<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\" {xsi} \
             xsi:noNamespaceSchemaLocation=\"x.xsd\">"
        ));
        assert_eq!(messages(&hint), Vec::<String>::new());
        let lang =
            with_root("<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\" xml:lang=\"da\">");
        assert!(messages(&lang)[0].contains("xml:lang is not allowed"));
    }

    #[test]
    fn bad_namespace_declarations_are_faults() {
        let empty =
            with_root("<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\" xmlns:p=\"\">");
        assert!(messages(&empty)[0].contains("empty namespace"));
        let xmlns = with_root(
            "<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\" xmlns:xmlns=\"urn:x\">",
        );
        assert!(messages(&xmlns)[0].contains("xmlns cannot be declared"));
    }

    #[test]
    fn an_undeclared_default_namespace_leaves_elements_without_one() {
        let xml = NOTICE.replace("<Samtykke>", "<Samtykke xmlns=\"\">");
        let faults = messages(&xml);
        assert!(
            faults
                .iter()
                .any(|m| m.contains("unknown element <Samtykke> without a namespace")),
            "{faults:?}"
        );
    }

    #[test]
    fn an_empty_root_lists_every_missing_element() {
        let faults = messages("<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\"/>");
        assert_eq!(faults.len(), 8, "{faults:?}");
        assert!(faults.iter().all(|m| m.contains("lacks the required element")));
    }
}
