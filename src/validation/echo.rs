//! How much of a submitted value an answer may echo: whole if short, else its start and how
//! long it was, so that a hostile input never makes a large answer.

/// At most this many characters of a submitted value are echoed in an answer.
pub const ECHO_LIMIT: usize = 64;

/// A submitted value as an answer may echo it: whole if short, else its first `ECHO_LIMIT`
/// characters and how long it was.
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… (cut, {} characters in all)", &text[..end], text.chars().count()),
    }
}

/// As `cut`, in quotes: `"text"`, or `"first 64 characters"… (cut, 100000 characters in all)`.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}… (cut, {} characters in all)", &text[..end], text.chars().count()),
    }
}
