//! Reading a submission's body: the content type, the size limit and the JSON syntax, each with
//! its own clear answer.

use crate::problem::{Problem, kinds};
use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use futures_util::StreamExt;
use serde_json::Value;

/// The formats a submission may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// A partner's XML (`application/xml` or `text/xml`), for kinds with an XML adapter.
    Xml,
    /// A partner's CSV batch (`text/csv`).
    Csv,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
            Format::Csv => "text/csv",
        }
    }
}

/// The format the `Content-Type` names, if it is one of `allowed` (parameters such as
/// `charset=utf-8` are fine; an XML document's own declaration names its encoding).
pub fn format(req: &HttpRequest, allowed: &[Format]) -> Result<Format, Problem> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let essence = content_type.map(|v| v.split(';').next().unwrap_or_default().trim());
    // Compared without case and without a lower-cased copy: every submission passes here.
    let found = essence.and_then(|essence| {
        [
            ("application/json", Format::Json),
            ("application/xml", Format::Xml),
            ("text/xml", Format::Xml),
            ("text/csv", Format::Csv),
        ]
        .into_iter()
        .find(|(name, _)| essence.eq_ignore_ascii_case(name))
        .map(|(_, format)| format)
    });
    if let Some(format) = found.filter(|format| allowed.contains(format)) {
        return Ok(format);
    }
    let names: Vec<&str> = allowed.iter().map(|f| f.media_type()).collect();
    match essence {
        Some(other) => Err(Problem::new(
            kinds::MEDIA_TYPE,
            format!("send {}, not {}", names.join(" or "), other.to_ascii_lowercase()),
        )),
        None => Err(Problem::new(
            kinds::MEDIA_TYPE,
            format!("send Content-Type: {}", names.join(" or ")),
        )),
    }
}

/// Reads the body, stopping as soon as it passes `limit` bytes.
pub async fn read_limited(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<BytesMut, Problem> {
    let too_large = || Problem::new(kinds::TOO_LARGE, format!("the limit is {limit} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(4096).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Problem::new(kinds::BAD_REQUEST, format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON; the problem names line and column of the first syntax fault.
/// A member repeated in an object is refused too, naming it (`crate::validation::json`).
pub fn parse_json(body: &[u8]) -> Result<Value, Problem> {
    crate::validation::json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "the body ends too early",
            serde_json::error::Category::Syntax => "syntax error",
            // Our own refusal (a repeated member) says what is wrong, with line and column.
            serde_json::error::Category::Data => return Problem::new(kinds::MALFORMED_JSON, e.to_string()),
            serde_json::error::Category::Io => "the body could not be read",
        };
        let detail = if body.is_empty() {
            "the body is empty".to_owned()
        } else {
            format!("{what} at line {} column {}", e.line(), e.column())
        };
        Problem::new(kinds::MALFORMED_JSON, detail)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(content_type: Option<&str>, allowed: &[Format]) -> Result<Format, String> {
        let mut req = actix_web::test::TestRequest::default();
        if let Some(content_type) = content_type {
            req = req.insert_header((header::CONTENT_TYPE, content_type));
        }
        format(&req.to_http_request(), allowed).map_err(|p| p.detail.unwrap_or_default())
    }

    /// The media type is read without regard to case or parameters, and a refusal names what
    /// was sent in lower case and what is taken.
    #[test]
    fn the_content_type_is_matched_without_case_and_named_when_refused() {
        let both = [Format::Json, Format::Xml];
        assert_eq!(
            format_of(Some("Application/JSON; charset=utf-8"), &both),
            Ok(Format::Json)
        );
        assert_eq!(format_of(Some(" text/XML "), &both), Ok(Format::Xml));
        assert_eq!(format_of(Some("application/xml"), &both), Ok(Format::Xml));
        assert_eq!(format_of(Some("TEXT/CSV"), &[Format::Csv]), Ok(Format::Csv));
        assert_eq!(
            format_of(Some("Text/CSV"), &both),
            Err("send application/json or application/xml, not text/csv".to_owned())
        );
        assert_eq!(
            format_of(Some("Application/JSONx"), &[Format::Json]),
            Err("send application/json, not application/jsonx".to_owned())
        );
        assert_eq!(
            format_of(None, &[Format::Json]),
            Err("send Content-Type: application/json".to_owned())
        );
    }
}
