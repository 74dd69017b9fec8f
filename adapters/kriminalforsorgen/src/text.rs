//! Positions, the fault list, and the character classes of XML 1.0 (fifth edition).

use crate::{Fault, MAX_FAULTS};

/// Turns byte offsets into 1-based lines and columns (in characters), walking the text once for
/// offsets given in increasing order. Line ends are `\n`, `\r\n` and a lone `\r`, as XML counts
/// them. An offset past the end or inside a character is moved back to a character boundary.
struct Locator<'t> {
    text: &'t str,
    at: usize,
    line: u32,
    /// Characters between the start of the line and `at`.
    column: u32,
}

impl<'t> Locator<'t> {
    fn new(text: &'t str) -> Locator<'t> {
        Locator {
            text,
            at: 0,
            line: 1,
            column: 0,
        }
    }

    fn locate(&mut self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.at {
            *self = Locator::new(self.text);
        }
        let bytes = self.text.as_bytes();
        for i in self.at..offset {
            let b = bytes[i];
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                self.line = self.line.saturating_add(1);
                self.column = 0;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: the start of a character.
                self.column = self.column.saturating_add(1);
            }
        }
        self.at = offset;
        (self.line, self.column.saturating_add(1))
    }
}

/// The line and column of one byte offset into `text`.
pub(crate) fn locate(text: &str, offset: usize) -> (u32, u32) {
    Locator::new(text).locate(offset)
}

pub(crate) fn fault_at(text: &str, offset: usize, message: impl Into<String>) -> Fault {
    let (line, column) = locate(text, offset);
    Fault {
        line,
        column,
        message: message.into(),
    }
}

/// The faults of one document, capped at [`MAX_FAULTS`], returned in document order.
pub(crate) struct Faults<'t> {
    text: &'t str,
    list: Vec<(usize, String)>,
    overflow: bool,
}

impl<'t> Faults<'t> {
    pub(crate) fn new(text: &'t str) -> Faults<'t> {
        Faults {
            text,
            list: Vec::new(),
            overflow: false,
        }
    }

    pub(crate) fn add(&mut self, offset: usize, message: impl Into<String>) {
        if self.list.len() >= MAX_FAULTS {
            self.overflow = true;
            return;
        }
        self.list.push((offset, message.into()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn into_list(mut self) -> Vec<Fault> {
        // A stable sort keeps faults found at the same place in the order they were found.
        self.list.sort_by_key(|(offset, _)| *offset);
        let mut locator = Locator::new(self.text);
        let mut list: Vec<Fault> = self
            .list
            .into_iter()
            .map(|(offset, message)| {
                let (line, column) = locator.locate(offset);
                Fault { line, column, message }
            })
            .collect();
        if self.overflow {
            let (line, column) = list.last().map_or((1, 1), |f| (f.line, f.column));
            list.push(Fault {
                line,
                column,
                message: format!("more than {MAX_FAULTS} faults; the rest are not listed"),
            });
        }
        list
    }
}

/// `Char` of XML 1.0: the characters a document may contain at all.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// `S` of XML 1.0, which is also the whitespace of XML Schema's `collapse`.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | 'a'..='z' | '_' | ':'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}'
        | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}'
        | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// `Name` of XML 1.0.
pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// `NCName` of Namespaces in XML: a name without a colon.
pub(crate) fn is_ncname(s: &str) -> bool {
    !s.contains(':') && is_name(s)
}

/// Splits a qualified name into prefix and local part, or `None` if it is not a `QName`.
pub(crate) fn split_qname(name: &str) -> Option<(Option<&str>, &str)> {
    match name.split_once(':') {
        Some((prefix, local)) if is_ncname(prefix) && is_ncname(local) => Some((Some(prefix), local)),
        Some(_) => None,
        None if is_ncname(name) => Some((None, name)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_lines_and_characters() {
        let text = "ab\næøå<x\r\ny\rz";
        assert_eq!(locate(text, 0), (1, 1));
        assert_eq!(locate(text, 3), (2, 1));
        assert_eq!(locate(text, text.find('<').unwrap()), (2, 4));
        assert_eq!(locate(text, text.find('y').unwrap()), (3, 1));
        assert_eq!(locate(text, text.find('z').unwrap()), (4, 1));
        assert_eq!(locate(text, 4), (2, 1), "inside a character: moved back to its start");
        assert_eq!(locate(text, 10_000), (4, 2));
    }

    #[test]
    fn names() {
        assert!(is_name("Loesladelsesmeddelelse"));
        assert!(is_name("k:Samtykke"));
        assert!(is_name("Søbysøgård"));
        assert!(!is_name("1abc"));
        assert!(!is_name(""));
        assert_eq!(split_qname("k:Navn"), Some((Some("k"), "Navn")));
        assert_eq!(split_qname("Navn"), Some((None, "Navn")));
        assert_eq!(split_qname("a:b:c"), None);
        assert_eq!(split_qname(":b"), None);
    }
}
