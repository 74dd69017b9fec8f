//! Building and running the gateway. `Application::build` opens the store, checks the key,
//! compiles the schemas and binds the listener (port 0 in tests); `run_until_stopped` serves
//! until `Stopper::stop` (on a signal), which answers every request taken in, and then closes
//! the store.

use crate::api;
use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{Settings, StorageUrl};
use crate::deadlines::Policies;
use crate::deadlines::scheduler::Scheduler;
use crate::delivery::Delivery;
use crate::domain::Municipalities;
use crate::domain::working_days::Calendar;
use crate::intake::{self, Intake};
use crate::metrics::Metrics;
use crate::routing::Router;
use crate::shutdown::{Stopper, Tracker};
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{KeyCheck, Store};
use crate::tls::ServerTls;
use crate::validation::Validator;
use crate::vault::Vault;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use anyhow::{Context, bail};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

pub struct Application {
    port: u16,
    server: Server,
    stopper: Stopper,
    store: Arc<dyn Store>,
    delivery: Arc<Delivery>,
    scheduler: Arc<Scheduler>,
    auditor: Arc<crate::audit::Auditor>,
    audit_retention: jiff::SignedDuration,
}

/// Checks every section of the settings that a part of the gateway owns (`Settings::load` has
/// checked what needs nothing but the settings): each part compiles or parses its section the
/// way it will when the gateway starts, so a bad value stops `serve`, `check-config` and every
/// other command with a message that names its key.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    compile(settings).map(|_| ())
}

/// What `check` compiles and the gateway keeps: compiled once at start.
struct Compiled {
    router: Router,
    policies: Policies,
    tls: Option<ServerTls>,
    roles: crate::oidc::RoleMap,
}

fn compile(settings: &Settings) -> anyhow::Result<Compiled> {
    Municipalities::from_settings(&settings.municipalities)?;
    if let Some(key) = &settings.security.key {
        use secrecy::ExposeSecret;
        crate::vault::decode_key(key.expose_secret()).map_err(|e| anyhow::anyhow!("security.key: {e}"))?;
    }
    Calendar::from_settings(&settings.calendar)?;
    crate::delivery::check_settings(settings)?;
    crate::alerts::Templates::load(settings.alerts.templates_dir())?;
    let router = Router::from_settings(settings)?;
    let policies = Policies::from_settings(settings)?;
    crate::matching::MatchRules::from_settings(&settings.matching)?;
    let answer_to = &settings.matching.answer_destination;
    if !answer_to.is_empty() && !settings.destinations.contains_key(answer_to) {
        anyhow::bail!("matching.answer_destination: {answer_to:?} is not a [destinations.<id>]");
    }
    crate::telemetry::parse_filter(&settings.log.level).map_err(|e| anyhow::anyhow!("log.level: {e}"))?;
    let tls = ServerTls::from_settings(&settings.server.tls)?;
    let roles = crate::oidc::check_settings(&settings.auth.oidc)?;
    Ok(Compiled {
        router,
        policies,
        tls,
        roles,
    })
}

/// How long a stop waits at most for the requests taken in.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the store that `storage.url` names.
/// PostgreSQL's schema is brought up to date here, as SQLite's is when its file is opened.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match settings.storage_url()? {
        StorageUrl::Sqlite(path) => Ok(Arc::new(SqliteStore::open(
            &path,
            settings.storage.read_connections,
            settings.storage.max_batch,
            settings.storage.commit_interval()?,
        )?)),
        StorageUrl::Postgres(url) => Ok(Arc::new(
            PostgresStore::open(&url, postgres_connections(settings))
                .await
                .with_context(|| {
                    format!(
                        "opening {}",
                        settings.storage_url().map(|u| u.to_string()).unwrap_or_default()
                    )
                })?,
        )),
    }
}

/// The PostgreSQL pool's size: the read connections SQLite would have, and as many again (at
/// least eight) for writes, which on SQLite all go through its one writer.
pub fn postgres_connections(settings: &Settings) -> usize {
    settings.storage.read_connections + settings.storage.read_connections.max(8)
}

/// The key, checked against the one the data was written with.
pub async fn open_vault(settings: &Settings, store: &dyn Store) -> anyhow::Result<Vault> {
    let (vault, created) = Vault::load(settings)?;
    if created {
        tracing::info!(path = %settings.key_file().display(), "created a new key file (mode 0600); keep a copy of it with the backups");
    }
    match store.key_check(&vault.key_check()).await? {
        KeyCheck::Matches | KeyCheck::FirstUse => Ok(vault),
        KeyCheck::Mismatch => bail!(
            "the key (security.key or {}) is not the key this data was written with; restore the right key",
            settings.key_file().display()
        ),
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        let Compiled {
            router,
            policies,
            tls,
            roles,
        } = compile(&settings)?;
        if let Some(warning) = tls
            .as_ref()
            .and_then(|t| t.certificate.expiry_warning(jiff::Timestamp::now()))
        {
            tracing::warn!("{warning}");
        }
        // The provider is asked before anything is opened: one that cannot be reached stops the
        // start with a message naming auth.oidc.issuer.
        let provider = match settings.auth.oidc.enabled() {
            true => Some(web::Data::new(
                crate::oidc::Provider::discover(&settings.auth.oidc, roles).await?,
            )),
            false => None,
        };
        let store = open_store(&settings).await?;
        let vault = match open_vault(&settings, store.as_ref()).await {
            Ok(vault) => Arc::new(vault),
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
        let validator = Validator::from_settings(&settings)?;
        let metrics = Arc::new(Metrics::default());
        let delivery = Arc::new(Delivery::new(
            &settings,
            store.clone(),
            vault.clone(),
            clock.clone(),
            metrics.clone(),
        )?);
        let address = settings.bind_addr()?;
        let listener =
            TcpListener::bind(address).with_context(|| format!("server.bind: cannot listen on {address}"))?;
        let port = listener.local_addr()?.port();
        let spare = listener
            .try_clone()
            .context("server.bind: a second handle of the socket")?;

        let intake = web::Data::new(Intake {
            store: store.clone(),
            validator,
            vault: vault.clone(),
            metrics: metrics.clone(),
            clock: clock.clone(),
            limits: settings.limits.clone(),
            router,
            policies: policies.clone(),
            delivery: Some(delivery.clone()),
            alert_delay: settings.alerts.group_window()?,
        });
        let scheduler = Arc::new(Scheduler::new(
            &settings,
            store.clone(),
            clock.clone(),
            delivery.clone(),
            metrics.clone(),
        )?);
        let policies_data = web::Data::new(policies);
        let settings_data = web::Data::new(settings.clone());
        let delivery_data = web::Data::from(delivery.clone());
        let clock_data = web::Data::new(clock.clone());
        let auth = web::Data::new(
            Authenticator::new(
                store.clone(),
                metrics.clone(),
                Duration::from_secs(settings.security.token_cache_seconds),
            )
            .with_client_certificates(tls.as_ref().and_then(|t| t.clients.clone())),
        );
        // `/readyz` warns of the server certificate's expiry.
        let certificate_data = tls.as_ref().map(|t| web::Data::new(t.certificate.clone()));
        let auditor = Arc::new(crate::audit::Auditor::new(
            store.clone(),
            vault.audit_key(),
            clock.clone(),
        ));
        let auditor_data = web::Data::from(auditor.clone());
        let sessions = web::Data::new(crate::session::Sessions::new(
            &settings,
            store.clone(),
            clock.clone(),
            metrics.clone(),
        ));
        let store_data: web::Data<dyn Store> = web::Data::from(store.clone());
        let vault_data = web::Data::from(vault);
        let metrics_data = web::Data::from(metrics);
        let max_body_bytes = settings.limits.max_body_bytes;

        let tracker = Arc::new(Tracker::default());
        let connections = tracker.clone();
        let app = move || {
            // Called on each HTTP worker's own thread, which runs local tasks: the embedded store
            // hands the worker its jobs' answers in one message per synced batch.
            crate::store::sqlite::answer_batches_here();
            let mut app = App::new();
            if let Some(certificate) = &certificate_data {
                app = app.app_data(certificate.clone());
            }
            if let Some(provider) = &provider {
                app = app.app_data(provider.clone());
            }
            app.wrap(from_fn(crate::web::protect))
                .wrap(from_fn(api::errors::middleware))
                .wrap(from_fn(api::request_id::middleware))
                .wrap(from_fn(crate::shutdown::track))
                .app_data(intake.clone())
                .app_data(auth.clone())
                .app_data(store_data.clone())
                .app_data(vault_data.clone())
                .app_data(metrics_data.clone())
                .app_data(delivery_data.clone())
                .app_data(clock_data.clone())
                .app_data(policies_data.clone())
                .app_data(settings_data.clone())
                .app_data(auditor_data.clone())
                .app_data(sessions.clone())
                .configure(|cfg| api::errors::extractors(cfg, max_body_bytes))
                .configure(intake::routes)
                .configure(api::routes)
                .configure(api::signin::routes)
                .configure(crate::web::routes)
                .default_service(web::to(api::fallback))
        };
        let on_connect: crate::server::OnConnect = Arc::new(move |io, extensions| {
            connections.on_connect(io, extensions);
            crate::tls::on_connect(io, extensions);
        });
        let mut builder = actix_server::Server::build()
            .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
            // Signals are handled by `serve` (SIGINT and SIGTERM both stop gracefully); a test's
            // server must not react to the test runner's signals.
            .disable_signals();
        if settings.server.workers > 0 {
            builder = builder.workers(settings.server.workers);
        }
        // The 503s answered while stopping go over HTTPS as well.
        let refuser_tls = tls.as_ref().map(|t| t.config.clone());
        let server = crate::server::listen(builder, listener, tls.map(|t| t.config), on_connect, app)?.run();
        let stopper = Stopper::new(server.handle(), tracker, spare, refuser_tls, SHUTDOWN_TIMEOUT);
        Ok(Application {
            port,
            server,
            stopper,
            store,
            delivery,
            scheduler,
            auditor,
            audit_retention: jiff::SignedDuration::from_hours(24 * i64::from(settings.audit.retention_days)),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Stops the gateway the way a signal does, answering every request taken in.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// The audit log's writer.
    pub fn auditor(&self) -> Arc<crate::audit::Auditor> {
        self.auditor.clone()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The delivery worker (tests drain it instead of sleeping).
    pub fn delivery(&self) -> Arc<Delivery> {
        self.delivery.clone()
    }

    /// The deadline scheduler (tests tick it instead of waiting).
    pub fn scheduler(&self) -> Arc<Scheduler> {
        self.scheduler.clone()
    }

    /// Serves and delivers until stopped (SIGINT/SIGTERM, or `stopper().stop()`); then lets the
    /// delivery attempts in flight finish, closes the store, and returns once every request
    /// taken in has its answer.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let worker = tokio::spawn(self.delivery.clone().run());
        let scheduler = tokio::spawn(self.scheduler.clone().run());
        let pruning = tokio::spawn(self.auditor.clone().prune_hourly(self.audit_retention));
        let woken = self.delivery.clone();
        let store = self.store.clone();
        // Other instances on the same database tell this one when they have made deliveries due.
        let listening = tokio::spawn(async move { store.listen(Box::new(move || woken.wake())).await });
        let result = self.server.await;
        pruning.abort();
        listening.abort();
        self.scheduler.stop();
        let _ = scheduler.await;
        self.delivery.stop().await;
        let _ = worker.await;
        self.store.close().await;
        self.stopper.finished().await;
        result.context("the HTTP server failed")
    }
}
