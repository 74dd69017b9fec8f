//! A request id on every log line of a request, and one access-log line per request (at debug
//! level; the intake handlers log each message's outcome at info). The id is
//! always made here (a client-sent id could carry anything, even a CPR number); the route is
//! logged as its pattern, never the concrete path.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use std::time::Instant;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// The request's id, for what answers it (an error page shows it).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = uuid::Uuid::now_v7().to_string();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), route = %route);
    let started = Instant::now();
    let header = HeaderValue::from_str(&request_id).ok();
    let mut response = match next.call(req).instrument(span.clone()).await {
        Ok(response) => response,
        // An error that is no answer yet (a panic caught by `errors::middleware`): its answer
        // carries the request id too.
        Err(error) => {
            let mut answer = error.error_response();
            if let Some(value) = header {
                answer.headers_mut().insert(HeaderName::from_static(HEADER), value);
            }
            let status = answer.status().as_u16();
            span.in_scope(|| tracing::debug!(status, "request finished"));
            return Err(actix_web::error::InternalError::from_response(error, answer).into());
        }
    };
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    span.in_scope(|| tracing::debug!(status, micros, "request finished"));
    if let Some(value) = header {
        response.headers_mut().insert(HeaderName::from_static(HEADER), value);
    }
    Ok(response)
}
