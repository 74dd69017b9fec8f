//! From bytes to text: the size limit, the byte order mark, the XML declaration, the accepted
//! encodings, the characters XML allows, and line-end normalisation.
//!
//! Only UTF-8 and ISO-8859-1 (plus US-ASCII, a subset of both) are accepted. ISO-8859-1 is decoded
//! here, byte for byte, rather than through `encoding_rs`: that crate follows the WHATWG rule that
//! reads the label "ISO-8859-1" as windows-1252, which would turn the bytes 0x80–0x9F into other
//! characters than XML (and xmllint) give them.

use crate::text::{fault_at, is_xml_char};
use crate::{Fault, MAX_INPUT_BYTES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
    Ascii,
}

impl Encoding {
    /// The labels accepted in `encoding="…"`, case-insensitively.
    fn named(label: &str) -> Option<Encoding> {
        match label.to_ascii_uppercase().as_str() {
            "UTF-8" | "UTF8" => Some(Encoding::Utf8),
            "ISO-8859-1" | "ISO_8859-1" | "ISO8859-1" | "LATIN1" | "L1" | "CP819" | "IBM819" | "CSISOLATIN1"
            | "ISO-IR-100" => Some(Encoding::Latin1),
            "US-ASCII" | "ASCII" => Some(Encoding::Ascii),
            _ => None,
        }
    }
}

/// The document as text: decoded, checked for characters XML does not allow, and with every line
/// end (`\r\n`, lone `\r`) turned into `\n` as an XML processor must before parsing. The byte
/// order mark, if any, is left out.
pub(crate) fn decode(input: &[u8]) -> Result<String, Fault> {
    let at_start = |message: String| Fault {
        line: 1,
        column: 1,
        message,
    };
    if input.len() > MAX_INPUT_BYTES {
        return Err(at_start(format!(
            "the document is {} bytes; at most {MAX_INPUT_BYTES} bytes (1 MiB) are accepted",
            input.len()
        )));
    }
    if input.starts_with(&[0xFE, 0xFF]) || input.starts_with(&[0xFF, 0xFE]) {
        return Err(at_start(
            "the document is UTF-16 (it starts with a UTF-16 byte order mark); send UTF-8 or ISO-8859-1".into(),
        ));
    }
    let (bom, body) = match input.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(body) => (true, body),
        None => (false, input),
    };
    let declared = declaration(body)?;
    let encoding = match &declared {
        Some(label) => match Encoding::named(label) {
            Some(encoding) => encoding,
            None => {
                return Err(at_start(format!(
                    "the XML declaration names the encoding \"{label}\"; only UTF-8 and ISO-8859-1 are accepted"
                )));
            }
        },
        None => Encoding::Utf8,
    };
    if bom && encoding != Encoding::Utf8 {
        return Err(at_start(
            "the document starts with a UTF-8 byte order mark but its XML declaration names another encoding".into(),
        ));
    }
    let text = match encoding {
        Encoding::Latin1 => body.iter().map(|&b| char::from(b)).collect(),
        Encoding::Ascii => match body.iter().position(|b| !b.is_ascii()) {
            Some(at) => {
                let prefix = String::from_utf8_lossy(&body[..at]);
                return Err(fault_at(
                    &prefix,
                    at,
                    format!(
                        "byte 0x{:02X} is not US-ASCII, the encoding the XML declaration names",
                        body[at]
                    ),
                ));
            }
            None => String::from_utf8_lossy(body).into_owned(),
        },
        Encoding::Utf8 => match std::str::from_utf8(body) {
            Ok(text) => text.to_owned(),
            Err(error) => {
                let at = error.valid_up_to();
                let prefix = std::str::from_utf8(&body[..at]).unwrap_or_default();
                let why = if declared.is_some() {
                    "the encoding its XML declaration names"
                } else {
                    "the encoding of a document without an encoding declaration"
                };
                return Err(fault_at(
                    prefix,
                    at,
                    format!(
                        "byte 0x{:02X} is not valid UTF-8, {why}; a document in ISO-8859-1 must say so: \
                         <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
                        body[at]
                    ),
                ));
            }
        },
    };
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(fault_at(
            &text,
            at,
            format!("character U+{:04X} is not allowed in an XML document", u32::from(c)),
        ));
    }
    Ok(normalise_line_ends(&text))
}

fn normalise_line_ends(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads the XML declaration at the very start, if there is one, and returns the encoding it
/// names. Its grammar is XML 1.0's `XMLDecl`; only version 1.0 is accepted.
fn declaration(bytes: &[u8]) -> Result<Option<String>, Fault> {
    let Some(rest) = bytes.strip_prefix(b"<?xml") else {
        return Ok(None);
    };
    // `<?xml-stylesheet …?>` is a processing instruction, not a declaration.
    if rest
        .first()
        .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Ok(None);
    }
    let mut cursor = Cursor { bytes, at: 5 };
    let fail = |cursor: &Cursor, what: &str| {
        let prefix = String::from_utf8_lossy(&bytes[..cursor.at.min(bytes.len())]);
        Err(fault_at(
            &prefix,
            cursor.at,
            format!("malformed XML declaration: {what}"),
        ))
    };
    if !cursor.space() || !cursor.word("version") {
        return fail(&cursor, "it must start with <?xml version=\"1.0\"");
    }
    let Some(version) = cursor.equals_quoted() else {
        return fail(&cursor, "version must be followed by =\"1.0\"");
    };
    if version != "1.0" {
        return fail(&cursor, "only XML version 1.0 is accepted");
    }
    let mut encoding = None;
    let mut spaced = cursor.space();
    if spaced && cursor.word("encoding") {
        let Some(label) = cursor.equals_quoted() else {
            return fail(&cursor, "encoding must be followed by =\"…\" with the encoding's name");
        };
        let mut chars = label.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !well_formed {
            return fail(&cursor, "the encoding name is malformed");
        }
        encoding = Some(label);
        spaced = cursor.space();
    }
    if spaced && cursor.word("standalone") {
        match cursor.equals_quoted().as_deref() {
            Some("yes" | "no") => {}
            _ => return fail(&cursor, "standalone must be \"yes\" or \"no\""),
        }
        cursor.space();
    }
    if !cursor.word("?>") {
        return fail(
            &cursor,
            "expected ?> (or encoding=\"…\" or standalone=\"…\" after a space)",
        );
    }
    Ok(encoding)
}

struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Cursor<'_> {
    /// Skips `S`; true if there was any.
    fn space(&mut self) -> bool {
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.at += 1;
        }
        self.at > start
    }

    fn word(&mut self, word: &str) -> bool {
        let found = self
            .bytes
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(word.as_bytes()));
        if found {
            self.at += word.len();
        }
        found
    }

    /// `Eq` then a quoted ASCII value.
    fn equals_quoted(&mut self) -> Option<String> {
        self.space();
        if !self.word("=") {
            return None;
        }
        self.space();
        let quote = *self.bytes.get(self.at).filter(|&&b| b == b'"' || b == b'\'')?;
        let start = self.at + 1;
        let length = self.bytes.get(start..)?.iter().take(64).position(|&b| b == quote)?;
        let value = &self.bytes[start..start + length];
        if !value.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return None;
        }
        self.at = start + length + 1;
        Some(String::from_utf8_lossy(value).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: &[u8]) -> String {
        decode(input).unwrap_err().message
    }

    #[test]
    fn latin1_is_decoded_byte_for_byte() {
        let text = decode(b"<?xml version='1.0' encoding='iso-8859-1'?><a>\xe6\xf8\xe5\x85</a>").unwrap();
        assert!(text.ends_with("<a>æøå\u{85}</a>"));
    }

    #[test]
    fn utf8_is_the_default() {
        assert_eq!(decode("<a>æ</a>".as_bytes()).unwrap(), "<a>æ</a>");
        let fault = decode(b"<a>\n  \xe6</a>").unwrap_err();
        assert_eq!((fault.line, fault.column), (2, 3));
        assert!(fault.message.contains("0xE6"), "{}", fault.message);
    }

    #[test]
    fn line_ends_are_normalised() {
        assert_eq!(decode(b"<a>1\r\n2\r3</a>").unwrap(), "<a>1\n2\n3</a>");
    }

    #[test]
    fn declarations() {
        assert!(decode(b"<?xml version=\"1.0\"?><a/>").is_ok());
        assert!(decode(b"<?xml version = '1.0' encoding = 'UTF-8' standalone = 'yes' ?><a/>").is_ok());
        assert!(decode(b"<?xml-stylesheet href='x'?><a/>").is_ok());
        assert!(message(b"<?xml version=\"1.1\"?><a/>").contains("1.0"));
        assert!(message(b"<?xml encoding=\"UTF-8\"?><a/>").contains("malformed"));
        assert!(message(b"<?xml version=\"1.0\"encoding=\"UTF-8\"?><a/>").contains("malformed"));
        assert!(message(b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><a/>").contains("windows-1252"));
        assert!(message(b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>").contains("byte order"));
        assert!(message(b"\xff\xfe<\x00a\x00/\x00>\x00").contains("UTF-16"));
        assert!(message(b"<?xml version=\"1.0\" encoding=\"US-ASCII\"?><a>\xe6</a>").contains("US-ASCII"));
    }

    #[test]
    fn characters_outside_xml_are_refused() {
        let fault = decode(b"<a>\x01</a>").unwrap_err();
        assert_eq!((fault.line, fault.column), (1, 4));
        assert!(message("<a>\u{FFFE}</a>".as_bytes()).contains("U+FFFE"));
    }

    #[test]
    fn size_is_bounded() {
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        assert!(message(&big).contains("1 MiB"));
    }
}
