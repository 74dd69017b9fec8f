//! A small, bounded element tree read with quick-xml. It refuses what a partner's envelope never
//! needs and an attacker might use: a DOCTYPE (so no entity declarations, no XXE, no billion
//! laughs), references to entities other than the five XML predefines, characters XML forbids,
//! nesting deeper than [`MAX_DEPTH`] and more than [`MAX_ELEMENTS`] elements.
//! Positions are byte offsets into the text; the caller turns them into line and column.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

pub(crate) const MAX_DEPTH: usize = 32;
pub(crate) const MAX_ELEMENTS: usize = 5_000;

/// A fault at a byte offset.
pub(crate) type Located = (usize, String);

#[derive(Debug, Default)]
pub(crate) struct Element {
    /// The namespace URI, if the name is in one.
    pub ns: Option<String>,
    pub name: String,
    /// Byte offset of the start tag's `<`.
    pub at: usize,
    pub children: Vec<Element>,
    /// The character data directly inside, references resolved, CDATA included.
    pub text: String,
}

impl Element {
    /// `{namespace}name`, the way faults name an element whose namespace matters.
    pub(crate) fn expanded_name(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => format!("{} (in no namespace)", self.name),
        }
    }
}

/// Reads `text` (already UTF-8 without a byte order mark) into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, Located> {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| !allowed(c)) {
        return Err((
            at,
            format!("the character U+{:04X} is not allowed in XML", u32::from(c)),
        ));
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let at = offset(reader.buffer_position());
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(e) => {
                let at = offset(reader.error_position());
                return Err((at, format!("the XML is not well-formed: {e}")));
            }
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let ns = match resolved {
                    ResolveResult::Bound(ns) => Some(ns.0.to_owned()),
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(prefix) => {
                        return Err((at, format!("the namespace prefix `{prefix}` is not declared")));
                    }
                };
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| (at, format!("the XML is not well-formed: {e}")))?;
                    attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|_| {
                        (at, "an attribute refers to an entity: only &lt; &gt; &amp; &apos; &quot; and character references are allowed".to_owned())
                    })?;
                }
                if root.is_some() && stack.is_empty() {
                    return Err((at, "there is more than one root element".to_owned()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err((at, format!("elements are nested more than {MAX_DEPTH} deep")));
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err((at, format!("the document has more than {MAX_ELEMENTS} elements")));
                }
                let element = Element {
                    ns,
                    name: start.local_name().as_ref().to_owned(),
                    at,
                    ..Element::default()
                };
                if matches!(event, Event::Start(_)) {
                    stack.push(element);
                } else {
                    close(element, &mut stack, &mut root);
                }
            }
            Event::End(_) => match stack.pop() {
                Some(element) => close(element, &mut stack, &mut root),
                None => return Err((at, "an end tag has no start tag".to_owned())),
            },
            Event::Text(t) => push_text(&mut stack, at, &t.xml10_content())?,
            Event::CData(c) => push_text(&mut stack, at, &c.xml10_content())?,
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if allowed(c) => c,
                        _ => return Err((at, format!("&{}; is not a character allowed in XML", &*r))),
                    }
                } else {
                    match &*r {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err((
                                at,
                                format!(
                                    "the entity reference &{other}; is not allowed: the envelope declares no \
                                     entities; only &lt; &gt; &amp; &apos; &quot; and character references"
                                ),
                            ));
                        }
                    }
                };
                push_text(&mut stack, at, c.encode_utf8(&mut [0; 4]))?;
            }
            Event::Decl(decl) => {
                if at != 0 {
                    return Err((at, "the XML declaration must come first".to_owned()));
                }
                if let Some(Ok(encoding)) = decl.encoding()
                    && !matches!(encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
                {
                    return Err((
                        at,
                        format!("the envelope must be UTF-8; it declares the encoding {encoding}"),
                    ));
                }
            }
            Event::DocType(_) => {
                return Err((
                    at,
                    "a DOCTYPE is not allowed: the envelope must not declare a DTD or entities".to_owned(),
                ));
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err((
            text.len(),
            format!("the document ends before the element {} is closed", open.name),
        ));
    }
    root.ok_or((0, "the document has no root element".to_owned()))
}

fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], at: usize, text: &str) -> Result<(), Located> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err((at, "there is text outside the root element".to_owned())),
    }
}

/// XML 1.0's Char production, less what Rust's `char` already rules out (surrogates).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaces_text_and_references() {
        let root = parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a:r xmlns:a=\"urn:a\"><b>x &amp; y &#xE6;<![CDATA[<ø>]]></b><c/></a:r>",
        )
        .unwrap();
        assert_eq!(root.ns.as_deref(), Some("urn:a"));
        assert_eq!(root.name, "r");
        assert_eq!(root.children[0].text, "x & y æ<ø>");
        assert_eq!(root.children[0].ns, None);
        assert_eq!(root.children[1].name, "c");
        assert_eq!(root.at, 39);
    }

    #[test]
    fn refuses_what_an_envelope_never_needs() {
        let refused = |xml: &str| parse(xml).unwrap_err().1;
        assert!(refused("<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>").contains("DOCTYPE"));
        assert!(refused("<r>&x;</r>").contains("&x;"));
        assert!(refused("<r a=\"&x;\"/>").contains("entity"));
        assert!(refused("<r>&#0;</r>").contains("not a character"));
        assert!(refused("<r>\u{1}</r>").contains("U+0001"));
        assert!(refused("<r/><r/>").contains("more than one root"));
        assert!(refused("<r>").contains("ends before"));
        assert!(refused("<r></s>").contains("not well-formed"));
        assert!(refused("<p:r/>").contains("prefix `p`"));
        assert!(refused("").contains("no root"));
        assert!(refused("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>").contains("UTF-8"));
        assert!(refused(&"<a>".repeat(MAX_DEPTH + 1)).contains("nested"));
        assert!(refused(&format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS))).contains("elements"));
    }
}
