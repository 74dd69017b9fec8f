//! Stopping without losing a request (`Stopper::stop`, on SIGTERM or SIGINT).
//!
//! actix-web's own graceful stop loses requests in two ways: closing the listening socket resets
//! the connections the kernel has already accepted for it, and a connection whose request has
//! arrived but has not yet reached the application is closed without an answer (the worker drops
//! the connections still queued for it, and a connection told to drain drops what it has read but
//! not started). So the gateway stops in this order:
//!
//! 1. The server takes no more connections from the socket (it is paused, not closed).
//! 2. A small second server on the same socket, the refuser, answers every request on the
//!    connections waiting there, and on any that still come, `503` with `Retry-After` and
//!    `Connection: close`, after reading it.
//! 3. The server finishes what it has taken in: every request in flight is answered, every
//!    connection that has not yet sent its first request is served when it does, and every answer
//!    from now on says `Connection: close`. It waits (at most `server.shutdown_timeout`, 30 s) until
//!    no request is in flight and no new connection is waiting for its first.
//! 4. Then it stops; the keep-alive connections left are idle and closed. The refuser stops last.
//!
//! What remains is the race every server has: a request sent on an idle keep-alive connection at
//! the moment it is closed, and a connection made in the last moment before the socket closes.

use crate::problem::{Problem, kinds};
use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::any::Any;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a stop waits after pausing the server for the connections handed to a worker just
/// before to reach it.
const SETTLE: Duration = Duration::from_millis(100);

/// How often a stop looks whether the server has finished what it took in.
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// What a request that comes while the gateway stops is told to wait before it is sent again.
const RETRY_AFTER_SECONDS: u64 = 5;

/// The connections and requests the server has taken in.
#[derive(Default)]
pub struct Tracker {
    /// Connections accepted that have not yet started a request.
    fresh: AtomicUsize,
    /// Requests started and not yet answered.
    in_flight: AtomicUsize,
    stopping: AtomicBool,
}

impl Tracker {
    /// For `HttpServer::on_connect`: counts the connection until its first request starts.
    pub fn on_connect(self: &Arc<Self>, _: &dyn Any, extensions: &mut Extensions) {
        self.fresh.fetch_add(1, Ordering::SeqCst);
        extensions.insert(Connection {
            tracker: self.clone(),
            started: AtomicBool::new(false),
        });
    }

    fn finished(&self) -> bool {
        self.fresh.load(Ordering::SeqCst) == 0 && self.in_flight.load(Ordering::SeqCst) == 0
    }
}

/// One connection, kept with it (its on-connect data) until it closes.
struct Connection {
    tracker: Arc<Tracker>,
    started: AtomicBool,
}

impl Connection {
    fn start(&self) {
        if !self.started.swap(true, Ordering::SeqCst) {
            self.tracker.fresh.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.start();
    }
}

/// A request in flight, counted until it is answered (or dropped).
struct InFlight(Arc<Tracker>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Middleware: counts the request in flight, and once the gateway is stopping makes its answer
/// close the connection.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(tracker) = req.conn_data::<Connection>().map(|c| {
        c.start();
        c.tracker.clone()
    }) else {
        return next.call(req).await;
    };
    tracker.in_flight.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight(tracker.clone());
    let mut response = next.call(req).await?;
    if tracker.stopping.load(Ordering::SeqCst) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

/// Stops the gateway so that every request it has taken in is answered (see the module).
#[derive(Clone)]
pub struct Stopper {
    server: ServerHandle,
    tracker: Arc<Tracker>,
    /// A second handle of the listening socket, for the refuser.
    listener: Arc<Mutex<Option<TcpListener>>>,
    /// The refuser speaks HTTPS too when the gateway does.
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown_timeout: Duration,
    /// True once a stop has begun; `stopped` once it has ended.
    begun: Arc<watch::Sender<bool>>,
    stopped: Arc<watch::Sender<bool>>,
}

impl Stopper {
    pub fn new(
        server: ServerHandle,
        tracker: Arc<Tracker>,
        listener: TcpListener,
        tls: Option<rustls::ServerConfig>,
        shutdown_timeout: Duration,
    ) -> Stopper {
        Stopper {
            server,
            tracker,
            listener: Arc::new(Mutex::new(Some(listener))),
            tls: tls.map(Arc::new),
            shutdown_timeout,
            begun: Arc::new(watch::Sender::new(false)),
            stopped: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Stops taking connections, answers every request taken in, then stops the server.
    pub async fn stop(&self) {
        if self.begun.send_replace(true) {
            // Another stop is under way; wait for it.
            let _ = self.stopped.subscribe().wait_for(|stopped| *stopped).await;
            return;
        }
        self.tracker.stopping.store(true, Ordering::SeqCst);
        self.server.pause().await;
        let spare = self.listener.lock().expect("listener lock").take();
        let refuser = match spare.map(|listener| refuser(listener, self.tls.as_deref().cloned())) {
            Some(Ok(refuser)) => Some(refuser),
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot answer the requests that come while stopping; they are reset");
                None
            }
            None => None,
        };
        let refusing = refuser.as_ref().map(Server::handle);
        let refuser = refuser.map(tokio::spawn);
        tokio::time::sleep(SETTLE).await;
        let started = Instant::now();
        while !self.tracker.finished() && started.elapsed() < self.shutdown_timeout {
            tokio::time::sleep(LOOK_EVERY).await;
        }
        self.server.stop(true).await;
        if let (Some(handle), Some(task)) = (refusing, refuser) {
            handle.pause().await;
            tokio::time::sleep(SETTLE).await;
            handle.stop(true).await;
            let _ = task.await;
        }
        self.stopped.send_replace(true);
    }

    /// Waits until a stop that has begun has ended; returns at once if none has begun.
    pub async fn finished(&self) {
        if *self.begun.borrow() {
            let _ = self.stopped.subscribe().wait_for(|stopped| *stopped).await;
        }
    }
}

/// A server on the listening socket that answers every request `503` with `Retry-After` and
/// `Connection: close`.
fn refuser(listener: TcpListener, tls: Option<rustls::ServerConfig>) -> std::io::Result<Server> {
    let server = HttpServer::new(|| App::new().default_service(web::to(stopping)))
        .workers(1)
        .keep_alive(actix_web::http::KeepAlive::Disabled)
        .shutdown_timeout(5)
        .disable_signals();
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

async fn stopping() -> HttpResponse {
    let mut response = Problem::new(
        kinds::UNAVAILABLE,
        "the gateway is stopping; send the request again".to_owned(),
    )
    .response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response.head_mut().set_connection_type(ConnectionType::Close);
    response
}
