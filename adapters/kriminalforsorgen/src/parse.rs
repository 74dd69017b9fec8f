//! From text to a small element tree, checking well-formedness on the way: one root element, names,
//! attributes, namespaces, references, and the limits on depth, elements and attributes.
//!
//! A DOCTYPE is refused as soon as it is seen, so no entity is ever declared, let alone expanded
//! (no external entities, no billion laughs): the only references are the five predefined entities
//! and character references. Every fault of well-formedness ends the reading; namespace and
//! attribute faults are collected and the reading goes on.

use crate::tag::{Scopes, start_element};
use crate::text::{Faults, is_name, is_space, is_xml_char};
use crate::{MAX_DEPTH, MAX_ELEMENTS};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// One element: its expanded name, where it starts, its character data and its children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    /// The namespace its prefix (or the default namespace) is bound to; `None` for no namespace.
    pub namespace: Option<String>,
    pub local: String,
    /// The name as written, prefix included, for messages.
    pub name: String,
    /// Its prefix is not declared (already reported).
    pub unbound: bool,
    /// Byte offset of its `<`.
    pub at: usize,
    /// All character data directly inside it (text, CDATA sections and references), in order.
    pub text: String,
    /// Where the first character data other than whitespace is, if any.
    pub text_at: Option<usize>,
    /// Where the first CDATA section is, if any.
    pub cdata_at: Option<usize>,
    pub children: Vec<Element>,
}

/// Parses `text` (already decoded); `None` if the document is not well-formed, with the reason in
/// `faults`.
pub(crate) fn parse(text: &str, faults: &mut Faults) -> Option<Element> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_comments = true;
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut scopes = Scopes::default();
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                let why = match error {
                    quick_xml::Error::IllFormed(error) => error.to_string(),
                    quick_xml::Error::Syntax(error) => error.to_string(),
                    error => error.to_string(),
                };
                faults.add(at, format!("the document is not well-formed XML: {why}"));
                return None;
            }
        };
        match event {
            Event::Decl(_) if at == 0 => {}
            Event::Decl(_) => {
                faults.add(
                    at,
                    "an XML declaration is allowed only at the very start of the document",
                );
                return None;
            }
            Event::DocType(doctype) => {
                let why = if doctype.contains("<!ENTITY") {
                    "entity declarations are refused"
                } else {
                    "a DOCTYPE is refused"
                };
                faults.add(
                    at,
                    format!(
                        "{why}: a release notice must not have a DOCTYPE (no DTD, no entity declarations, \
                         so no external entities and no entity expansion)"
                    ),
                );
                return None;
            }
            Event::PI(pi) => {
                let target = pi.target();
                if !is_name(target) || target.eq_ignore_ascii_case("xml") {
                    faults.add(
                        at,
                        "malformed processing instruction: its target is not a name, or is \"xml\"",
                    );
                    return None;
                }
            }
            Event::Comment(_) => {}
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                faults.add(
                    at,
                    "only one root element is allowed; there is content after the end of the root",
                );
                return None;
            }
            Event::Start(start) => {
                elements += 1;
                if !check_limits(at, open.len() + 1, elements, faults) {
                    return None;
                }
                let element = start_element(&start, at, &mut scopes, faults)?;
                open.push(element);
            }
            Event::Empty(start) => {
                elements += 1;
                if !check_limits(at, open.len() + 1, elements, faults) {
                    return None;
                }
                let element = start_element(&start, at, &mut scopes, faults)?;
                scopes.pop();
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                scopes.pop();
                let Some(element) = open.pop() else {
                    faults.add(at, "an end tag without a start tag");
                    return None;
                };
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => {
                let content: &str = &text;
                match open.last_mut() {
                    Some(element) => {
                        if let Some(i) = content.find("]]>") {
                            faults.add(at + i, "the sequence ]]> is not allowed in text");
                            return None;
                        }
                        if let Some(i) = content.find(|c| !is_space(c)) {
                            element.text_at.get_or_insert(at + i);
                        }
                        element.text.push_str(content);
                    }
                    None => {
                        if let Some(i) = content.find(|c| !is_space(c)) {
                            faults.add(at + i, "text is not allowed outside the root element");
                            return None;
                        }
                    }
                }
            }
            Event::CData(cdata) => {
                let Some(element) = open.last_mut() else {
                    faults.add(at, "a CDATA section is not allowed outside the root element");
                    return None;
                };
                element.cdata_at.get_or_insert(at);
                if cdata.contains(|c| !is_space(c)) {
                    element.text_at.get_or_insert(at);
                }
                element.text.push_str(&cdata);
            }
            Event::GeneralRef(reference) => {
                let Some(element) = open.last_mut() else {
                    faults.add(at, "a reference is not allowed outside the root element");
                    return None;
                };
                let c = match reference.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => c,
                    Ok(Some(_)) | Err(_) => {
                        faults.add(at, "the character reference does not name a character XML allows");
                        return None;
                    }
                    Ok(None) => match predefined(&reference) {
                        Some(c) => c,
                        None => {
                            faults.add(
                                at,
                                format!(
                                    "the entity &{}; is not defined: only &lt; &gt; &amp; &apos; &quot; and \
                                     character references are allowed",
                                    reference.chars().take(40).collect::<String>()
                                ),
                            );
                            return None;
                        }
                    },
                };
                if !is_space(c) {
                    element.text_at.get_or_insert(at);
                }
                element.text.push(c);
            }
            Event::Eof => {
                if let Some(element) = open.last() {
                    faults.add(element.at, format!("the element <{}> is not closed", element.name));
                    return None;
                }
                if root.is_none() {
                    faults.add(text.len(), "the document has no root element");
                }
                return root;
            }
        }
    }
}

fn predefined(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

fn check_limits(at: usize, depth: usize, elements: usize, faults: &mut Faults) -> bool {
    if depth > MAX_DEPTH {
        faults.add(at, format!("elements are nested more than {MAX_DEPTH} deep"));
        return false;
    }
    if elements > MAX_ELEMENTS {
        faults.add(at, format!("the document has more than {MAX_ELEMENTS} elements"));
        return false;
    }
    true
}
