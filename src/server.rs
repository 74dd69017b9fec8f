//! The HTTP server: actix-server and actix-http put together by hand instead of actix-web's
//! `HttpServer`, for one reason. actix-http's HTTP/1 parser answers a request head it cannot
//! read (a URL over 64 KiB, a head over 128 KiB or with more than 96 headers, a malformed request
//! line or header, no head within 5 seconds) by itself, with an empty `400`, `431` or `408`,
//! before any handler or middleware sees the request; its limits are constants and the answer has
//! no hook. So every accepted connection's stream, plain or TLS, is wrapped in [`Guarded`], which
//! recognises such an answer as it is written and writes a problem+json answer in its place
//! (docs/errors.md), then closes the connection without resetting it. It knows the answer by its
//! shape: written on its own, a head of one of those statuses with `content-length: 0` and no
//! `content-type` (the gateway's own error answers are all problem+json). A client that pipelined
//! requests before the unreadable one may get it in one write with earlier answers; it then goes
//! out as actix-http made it.
//!
//! The rest is what `HttpServer` does with its defaults: keep-alive 5 s, 5 s for the first
//! request head, 1 s to close, TLS handshakes within 3 s, `http/1.1` over ALPN, the graceful
//! shutdown signal, and the on-connect hook (handed the stream inside the wrapper).

use crate::problem::{Problem, kinds};
use actix_http::body::MessageBody;
use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_server::{GracefulShutdownSignal, ServerBuilder};
use actix_service::{IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};
use actix_web::dev::{AppConfig, Extensions};
use actix_web::rt::net::TcpStream;
use std::any::Any;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Called once per accepted connection with its stream (a `TcpStream`, or rustls'
/// `TlsStream<TcpStream>`) and the connection's data.
pub type OnConnect = Arc<dyn Fn(&dyn Any, &mut Extensions) + Send + Sync>;

/// The longest URI the parser takes (the `http` crate's limit); a longer request line is told
/// `414`.
const LONGEST_URI: usize = 65_534;

/// After answering a head it could not read, the connection reads and drops what the client
/// still sends, for at most this long and this much, so that closing it does not reset the
/// connection before the client has read the answer.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// Adds the gateway's listener to `builder`: HTTP/1.1, or HTTPS when `tls` is set, serving the
/// application that `factory` makes (once per worker).
pub fn listen<F, I, S, B>(
    builder: ServerBuilder,
    listener: std::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    on_connect: OnConnect,
    factory: F,
) -> io::Result<ServerBuilder>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let graceful = builder.graceful_shutdown_signal();
    match tls {
        None => builder.listen("indgang", listener, move || {
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((Guarded::new(io), Protocol::Http1, peer))
            })
            .and_then(http(factory.clone(), graceful.clone(), on_connect.clone(), address))
        }),
        Some(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            builder.listen("indgang-https", listener, move || {
                let mut acceptor = Acceptor::new(config.clone());
                acceptor.set_handshake_timeout(Duration::from_secs(3));
                acceptor
                    .map_err(|_| ())
                    .and_then(fn_service(|io: TlsStream<TcpStream>| async move {
                        let peer = io.get_ref().0.peer_addr().ok();
                        Ok::<_, ()>((Guarded::new(io), Protocol::Http1, peer))
                    }))
                    .and_then(http(factory.clone(), graceful.clone(), on_connect.clone(), address).map_err(|_| ()))
            })
        }
    }
}

/// The HTTP/1 service of one worker, over a guarded stream of type `T`.
fn http<T, F, I, S, B>(
    factory: F,
    graceful: GracefulShutdownSignal,
    on_connect: OnConnect,
    address: SocketAddr,
) -> impl ServiceFactory<
    (Guarded<T>, Protocol, Option<SocketAddr>),
    Config = (),
    Response = (),
    Error = DispatchError,
    InitError = (),
>
where
    T: Stream,
    F: Fn() -> I,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let app = factory().into_factory().map_err(|e| e.into().error_response());
    HttpService::build()
        .graceful_shutdown_signal(move || {
            let graceful = graceful.clone();
            async move { graceful.notified().await }
        })
        .client_request_timeout(Duration::from_secs(5))
        .client_disconnect_timeout(Duration::from_secs(1))
        .h1_allow_half_closed(true)
        .local_addr(address)
        .on_connect_ext(move |io: &Guarded<T>, extensions: &mut Extensions| {
            if let Some(stream) = io.get_ref() {
                on_connect(stream.as_any(), extensions);
            }
        })
        .finish(map_config(app, |_| AppConfig::default()))
}

/// A stream the on-connect hook can look into.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn as_any(&self) -> &dyn Any;
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An accepted connection's stream, as the HTTP/1 dispatcher reads and writes it: passes every
/// byte through, except an answer of the parser's own (see the module), which it replaces.
pub struct Guarded<S: Stream> {
    /// `None` once handed to the lingering close.
    inner: Option<S>,
    /// The first line read since the last answer went out: its length so far, and whether it
    /// has ended. The parser's `400` for a URI over its limit says nothing of the cause; this
    /// does.
    first_line: usize,
    first_line_ended: bool,
    /// A replacing answer being written, and how many bytes of the parser's answer it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
    /// An answer was replaced: the connection ends with a lingering close.
    replaced: bool,
}

impl<S: Stream> Guarded<S> {
    pub fn new(inner: S) -> Guarded<S> {
        Guarded {
            inner: Some(inner),
            first_line: 0,
            first_line_ended: false,
            replacing: None,
            replaced: false,
        }
    }

    pub fn get_ref(&self) -> Option<&S> {
        self.inner.as_ref()
    }

    fn inner(&mut self) -> io::Result<Pin<&mut S>> {
        self.inner
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    fn saw(&mut self, bytes: &[u8]) {
        if self.first_line_ended {
            return;
        }
        match bytes.iter().position(|b| *b == b'\n') {
            Some(end) => {
                // Without the line's end, `\r\n` (or a bare `\n`).
                let cr = usize::from(end > 0 && bytes[end - 1] == b'\r');
                self.first_line += end - cr;
                self.first_line_ended = true;
            }
            None => self.first_line += bytes.len(),
        }
    }

    /// Writes what is left of a replacing answer.
    fn push_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written, _)) = self.replacing.as_ref().map(|(b, w, n)| (b.clone(), *w, *n)) {
            if written >= bytes.len() {
                return Poll::Ready(Ok(()));
            }
            let n = ready!(self.inner()?.poll_write(cx, &bytes[written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if let Some((_, written, _)) = self.replacing.as_mut() {
                *written += n;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: Stream> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(self.inner()?.poll_read(cx, buf))?;
        let this = &mut *self;
        this.saw(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<S: Stream> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.replacing.is_none()
            && let Some(answer) = replacement(buf, self.first_line)
        {
            self.replacing = Some((answer, 0, buf.len()));
            self.replaced = true;
        }
        if self.replacing.is_some() {
            ready!(self.push_replacement(cx))?;
            let stands_for = self.replacing.take().map_or(0, |(_, _, n)| n);
            return Poll::Ready(Ok(stands_for));
        }
        let written = ready!(self.inner()?.poll_write(cx, buf))?;
        if written > 0 {
            // An answer is going out: what is read next begins a new request.
            self.first_line = 0;
            self.first_line_ended = false;
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.push_replacement(cx))?;
        self.inner()?.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.push_replacement(cx))?;
        self.inner()?.poll_shutdown(cx)
    }
}

impl<S: Stream> Drop for Guarded<S> {
    fn drop(&mut self) {
        // actix-http drops the stream right after the parser's answer, without a shutdown; with
        // the rest of a long head still unread that close would reset the connection, and the
        // client could lose the answer.
        if !self.replaced {
            return;
        }
        if let (Some(inner), Ok(runtime)) = (self.inner.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(linger(inner));
        }
    }
}

async fn linger<S: Stream>(mut io: S) {
    let _ = tokio::time::timeout(LINGER, async {
        let _ = io.flush().await;
        let _ = io.shutdown().await;
        let mut sink = vec![0u8; 16 * 1024];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// The problem+json answer that replaces `written`, when `written` is exactly one answer of the
/// parser's own: a response head with status 400, 408, 431 or 500, `content-length: 0` and no
/// `content-type` (every answer of the gateway itself at 400 and above is problem+json, so has
/// one). `first_line` is the length of the request line read since the last answer.
fn replacement(written: &[u8], first_line: usize) -> Option<Vec<u8>> {
    // The parser's answers are a short head alone; most writes are something else.
    if written.len() > 256 || !written.starts_with(b"HTTP/1.1 ") {
        return None;
    }
    let mut headers = [httparse::EMPTY_HEADER; 8];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(written) {
        Ok(httparse::Status::Complete(length)) if length == written.len() => {}
        _ => return None,
    }
    let mut empty = false;
    let mut date = None;
    for header in response.headers.iter() {
        match header.name.to_ascii_lowercase().as_str() {
            "content-length" => empty = header.value == b"0",
            "content-type" | "transfer-encoding" => return None,
            "date" => date = std::str::from_utf8(header.value).ok(),
            _ => {}
        }
    }
    if !empty {
        return None;
    }
    let problem = match response.code? {
        400 | 431 if first_line > LONGEST_URI => Problem::new(
            kinds::URI_TOO_LONG,
            format!("the request line has {first_line} bytes; a URL may have at most {LONGEST_URI}"),
        ),
        400 => Problem::new(
            kinds::MALFORMED_REQUEST,
            "the request line or a header is not well-formed HTTP/1.1".to_owned(),
        ),
        408 => Problem::new(
            kinds::REQUEST_TIMEOUT,
            "no request head arrived within 5 seconds".to_owned(),
        ),
        431 => Problem::new(
            kinds::HEADERS_TOO_LARGE,
            "the request head is over 128 KiB or has more than 96 headers".to_owned(),
        ),
        500 => Problem::new(kinds::INTERNAL, None),
        _ => return None,
    };
    let body = serde_json::to_vec(&problem).ok()?;
    let status = problem.status();
    // A request id as every other answer has one, and the log line that it finds. Nothing of
    // the request is logged: its head could not be read, and its URL could hold anything.
    let request_id = uuid::Uuid::now_v7();
    tracing::info!(
        request_id = %request_id,
        status = status.as_u16(),
        problem = %problem.problem_type,
        "the HTTP parser refused a request head"
    );
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n{}: {request_id}\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        crate::problem::CONTENT_TYPE,
        body.len(),
        crate::api::request_id::HEADER,
    );
    if let Some(date) = date {
        answer.push_str(&format!("date: {date}\r\n"));
    }
    answer.push_str("\r\n");
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Thu, 03 Dec 2026 08:00:00 GMT\r\n";

    fn answer(head: &str, first_line: usize) -> Option<(String, serde_json::Value)> {
        let bytes = replacement(head.as_bytes(), first_line)?;
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        Some((head.to_owned(), serde_json::from_str(body).unwrap()))
    }

    #[test]
    fn the_parsers_own_answers_become_problems() {
        for (head, first_line, status, kind) in [
            ("HTTP/1.1 400 Bad Request", 20, 400, "malformed-request"),
            ("HTTP/1.1 400 Bad Request", 100_014, 414, "uri-too-long"),
            (
                "HTTP/1.1 431 Request Header Fields Too Large",
                20,
                431,
                "headers-too-large",
            ),
            (
                "HTTP/1.1 431 Request Header Fields Too Large",
                200_000,
                414,
                "uri-too-long",
            ),
            ("HTTP/1.1 408 Request Timeout", 0, 408, "request-timeout"),
        ] {
            let written = format!("{head}\r\ncontent-length: 0\r\n{DATE}\r\n");
            let (head, body) = answer(&written, first_line).unwrap_or_else(|| panic!("{written}"));
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(head.contains("content-type: application/problem+json"), "{head}");
            assert!(head.contains("connection: close"), "{head}");
            assert!(head.contains(DATE.trim_end()), "{head}");
            let id = head.lines().find_map(|l| l.strip_prefix("x-request-id: ")).unwrap();
            assert!(uuid::Uuid::parse_str(id).is_ok(), "{head}");
            assert_eq!(body["type"], format!("urn:indgang:problem:{kind}"));
            assert_eq!(body["status"], status);
        }
    }

    #[test]
    fn the_gateways_own_answers_pass_untouched() {
        for written in [
            // Its problems have a type and a body.
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n{DATE}\r\n"
            ),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n{DATE}\r\n"),
            format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{DATE}\r\n"),
            // An answer with its body, or a body alone that looks like a head.
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\nmore"),
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n".to_owned(),
            "{\"type\":\"urn:indgang:problem:bad-request\"}".to_owned(),
        ] {
            assert!(answer(&written, 100_000).is_none(), "{written}");
        }
    }

    #[test]
    fn the_first_line_is_measured_from_the_last_answer() {
        let (client, _server) = tokio::io::duplex(64);
        let mut guarded = Guarded::new(client);
        guarded.saw(b"GET /aaaa");
        guarded.saw(b"aaaa HTTP/1.1\r\nhost: x\r\n");
        guarded.saw(b"x-long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        assert_eq!(guarded.first_line, "GET /aaaaaaaa HTTP/1.1".len());
        assert!(guarded.first_line_ended);
    }
}
