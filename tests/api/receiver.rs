//! A real webhook receiver on port 0, as a municipal case system would run one: it checks every
//! request's Standard Webhooks signature with the `standardwebhooks` crate (an implementation
//! independent of the gateway's), records what arrived, and answers as the test scripts it.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A secret both sides know.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
    /// Wait this long before answering.
    pub delay: Duration,
    /// After `body`, send nothing more and never end the body.
    pub endless: bool,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: String::new(),
            delay: Duration::ZERO,
            endless: false,
        }
    }
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub event: Value,
    pub content_type: String,
    pub extra_header: Option<String>,
    /// The status the receiver answered with.
    pub answered: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
    bad_signatures: Mutex<usize>,
}

pub struct Receiver {
    pub port: u16,
    state: Arc<State>,
    handle: Option<actix_web::dev::ServerHandle>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut receiver = Receiver {
            port,
            state: Arc::new(State::default()),
            handle: None,
        };
        receiver.listen(listener);
        receiver
    }

    fn listen(&mut self, listener: TcpListener) {
        let state = self.state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(state.clone()))
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
        self.handle = Some(server.handle());
        tokio::spawn(server);
    }

    /// Stops listening: connections are refused until `resume`.
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
    }

    /// Listens again on the same port.
    pub fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("the receiver's port is free again");
        self.listen(listener);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/events", self.port)
    }

    /// The next requests are answered with these replies, in order; after them, 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The events the receiver accepted (2xx), in arrival order.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Distinct delivery ids accepted: what a receiver that de-duplicates by id has.
    pub fn distinct_accepted(&self) -> BTreeSet<String> {
        self.accepted().into_iter().map(|r| r.id).collect()
    }

    pub fn bad_signatures(&self) -> usize {
        *self.state.bad_signatures.lock().unwrap()
    }

    /// Waits (up to 10 s) until `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) {
        for _ in 0..1000 {
            if self.received().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} requests arrived, not {n}", self.received().len());
    }

    /// The settings that make this receiver the destination `case_system` of every message.
    pub fn settings(&self) -> Vec<(String, String)> {
        vec![
            ("INDGANG__DESTINATIONS__CASE_SYSTEM__TYPE".into(), "webhook".into()),
            ("INDGANG__DESTINATIONS__CASE_SYSTEM__URL".into(), self.url()),
            ("INDGANG__DESTINATIONS__CASE_SYSTEM__SECRET".into(), SECRET.into()),
            // Far longer than any answer here takes, so that a test on a machine busy enough to
            // stall it for seconds does not see an attempt time out that it expects delivered
            // (tests that want a timeout set their own).
            (
                "INDGANG__DESTINATIONS__CASE_SYSTEM__TIMEOUT_SECONDS".into(),
                "30".into(),
            ),
            ("INDGANG__ROUTING__DESTINATIONS".into(), "case_system".into()),
        ]
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        headers.insert(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
    if verifier.verify(&body, &headers).is_err() {
        *state.bad_signatures.lock().unwrap() += 1;
        return HttpResponse::Unauthorized().body("bad signature");
    }
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Reply::status(200));
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    state.received.lock().unwrap().push(Received {
        id: header("webhook-id").unwrap_or_default(),
        event: serde_json::from_slice(&body).unwrap_or(Value::Null),
        content_type: header("content-type").unwrap_or_default(),
        extra_header: header("x-tenant"),
        answered: reply.status,
        at: std::time::Instant::now(),
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    if let Some(after) = reply.retry_after {
        response.insert_header(("Retry-After", after));
    }
    if reply.endless {
        let start = futures_util::stream::once(async move { Ok::<_, actix_web::Error>(web::Bytes::from(reply.body)) });
        return response.streaming(futures_util::StreamExt::chain(start, futures_util::stream::pending()));
    }
    response.body(reply.body)
}
