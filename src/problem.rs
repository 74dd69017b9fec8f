//! RFC 7807 `application/problem+json` bodies. Each problem has a stable `type` URI that clients
//! can match on; docs/errors.md lists them all. A 500 body says nothing internal.

use crate::validation::Violation;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// At most this many violations are listed in a `422`; `detail` says how many there are.
pub const MAX_LISTED: usize = 100;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:indgang:problem:invalid-message`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every fault found in the message (422 only), at most the first `MAX_LISTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<Violation>>,
    /// How many faults there were, listed or not (for the log).
    #[serde(skip)]
    pub faults: u32,
}

/// The catalogue of problem types: (suffix, status, title).
pub mod kinds {
    pub type Kind = (&'static str, u16, &'static str);
    pub const MALFORMED_JSON: Kind = ("malformed-json", 400, "The body is not well-formed JSON");
    pub const BAD_REQUEST: Kind = ("bad-request", 400, "The request's parameters are not valid");
    pub const MALFORMED_REQUEST: Kind = ("malformed-request", 400, "The request is not well-formed HTTP");
    pub const UNAUTHORIZED: Kind = ("unauthorized", 401, "Missing or unknown credentials");
    pub const CERTIFICATE_UNTRUSTED: Kind = ("certificate-untrusted", 401, "The client certificate is not trusted");
    pub const CERTIFICATE_EXPIRED: Kind = ("certificate-expired", 401, "The client certificate has expired");
    pub const CERTIFICATE_UNREGISTERED: Kind = (
        "certificate-unregistered",
        401,
        "The client certificate is trusted but registered to no sender",
    );
    pub const FORBIDDEN: Kind = ("forbidden", 403, "These credentials do not allow this");
    pub const CSRF: Kind = (
        "csrf",
        403,
        "A request made with the session cookie must carry its CSRF token",
    );
    pub const NO_ROLE: Kind = ("no-role", 403, "Signed in, but no role in this gateway");
    pub const SIGN_IN_FAILED: Kind = ("sign-in-failed", 400, "The sign-in could not be completed");
    pub const NOT_FOUND: Kind = ("not-found", 404, "Not found");
    pub const METHOD_NOT_ALLOWED: Kind = ("method-not-allowed", 405, "Method not allowed");
    pub const CONFLICT: Kind = (
        "message-id-conflict",
        409,
        "This message id was used before for different content",
    );
    pub const STATE_CONFLICT: Kind = ("state-conflict", 409, "Not possible in the resource's present state");
    pub const REQUEST_TIMEOUT: Kind = ("request-timeout", 408, "The request did not arrive in time");
    pub const URI_TOO_LONG: Kind = ("uri-too-long", 414, "The URL is longer than allowed");
    pub const HEADERS_TOO_LARGE: Kind = (
        "headers-too-large",
        431,
        "The request's headers are larger than allowed",
    );
    pub const TOO_LARGE: Kind = ("payload-too-large", 413, "The body is larger than allowed");
    pub const MEDIA_TYPE: Kind = ("unsupported-media-type", 415, "Unsupported content type");
    pub const NOT_A_CANDIDATE: Kind = (
        "not-a-candidate",
        422,
        "The case is not among the vacant home's candidates",
    );
    pub const INVALID: Kind = ("invalid-message", 422, "The message breaks the rules of its kind");
    pub const INTERNAL: Kind = ("internal", 500, "Internal error");
    pub const UNAVAILABLE: Kind = ("unavailable", 503, "Not ready");
    pub const CANNOT_WRITE: Kind = ("storage-unavailable", 503, "The gateway cannot store anything now");
}

impl Problem {
    pub fn new(kind: kinds::Kind, detail: impl Into<Option<String>>) -> Problem {
        let (suffix, status, title) = kind;
        Problem {
            problem_type: format!("urn:indgang:problem:{suffix}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            violations: None,
            faults: 0,
        }
    }

    /// A `422` listing the faults: the first `MAX_LISTED` of them, and how many there are.
    pub fn invalid(mut violations: Vec<Violation>) -> Problem {
        let count = violations.len();
        let detail = match count {
            1 => "1 fault".to_owned(),
            n if n > MAX_LISTED => {
                violations.truncate(MAX_LISTED);
                format!(
                    "{n} faults; the first {MAX_LISTED} are listed, {} more are not",
                    n - MAX_LISTED
                )
            }
            n => format!("{n} faults"),
        };
        Problem {
            violations: Some(violations),
            faults: u32::try_from(count).unwrap_or(u32::MAX),
            ..Problem::new(kinds::INVALID, detail)
        }
    }

    /// The problem for an error answer of `status` that was not a problem yet (the framework's
    /// own): the catalogued type of that status, with the status kept.
    pub fn for_status(status: StatusCode) -> Problem {
        let kind = match status.as_u16() {
            400 => kinds::BAD_REQUEST,
            401 => kinds::UNAUTHORIZED,
            403 => kinds::FORBIDDEN,
            404 => kinds::NOT_FOUND,
            405 => kinds::METHOD_NOT_ALLOWED,
            413 => kinds::TOO_LARGE,
            415 => kinds::MEDIA_TYPE,
            503 => kinds::UNAVAILABLE,
            code if code < 500 => kinds::BAD_REQUEST,
            _ => kinds::INTERNAL,
        };
        let detail = (status.is_client_error()).then(|| status.canonical_reason().unwrap_or_default().to_lowercase());
        Problem {
            status: status.as_u16(),
            ..Problem::new(kind, detail)
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status());
        builder.content_type(CONTENT_TYPE);
        if self.status == 401 {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if self.status == 503 {
            builder.insert_header(("Retry-After", RETRY_AFTER_SECONDS.to_string()));
        }
        builder.json(self)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.title, self.status)
    }
}

impl actix_web::ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

/// How long a `503` asks the client to wait before sending again (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u64 = 10;

/// Logs an unexpected failure with its cause chain and returns the bland 500 problem; or, when
/// the store cannot write now (`store::Unavailable`), the 503 that asks to send again later.
pub fn internal(error: anyhow::Error) -> Problem {
    if error.chain().any(|cause| cause.is::<crate::store::Unavailable>()) {
        tracing::warn!(error = format!("{error:#}"), "the store cannot write; answered 503");
        return cannot_write();
    }
    tracing::error!(error = format!("{error:#}"), "internal error");
    Problem::new(kinds::INTERNAL, None)
}

/// The store cannot write now: nothing was filed, send again later.
pub fn cannot_write() -> Problem {
    Problem::new(
        kinds::CANNOT_WRITE,
        "nothing was filed; the same request may be sent again later".to_owned(),
    )
}
