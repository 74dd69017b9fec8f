//! Building and running the gateway. `Application::build` opens the store, checks the key,
//! compiles the schemas and binds the listener (port 0 in tests); `run_until_stopped` serves
//! until a signal or `stop`, finishes in-flight requests and closes the store.

use crate::api;
use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{Settings, StorageUrl};
use crate::deadlines::scheduler::Scheduler;
use crate::delivery::Delivery;
use crate::intake::{self, Intake};
use crate::metrics::Metrics;
use crate::store::sqlite::SqliteStore;
use crate::store::{KeyCheck, Store};
use crate::validation::Validator;
use crate::vault::Vault;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::{Context, bail};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

pub struct Application {
    port: u16,
    server: Server,
    store: Arc<dyn Store>,
    delivery: Arc<Delivery>,
    scheduler: Arc<Scheduler>,
}

/// Opens the store that `storage.url` names.
pub fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match settings.storage_url()? {
        StorageUrl::Sqlite(path) => Ok(Arc::new(SqliteStore::open(
            &path,
            settings.storage.read_connections,
            settings.storage.max_batch,
        )?)),
    }
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
        let store = open_store(&settings)?;
        let vault = match open_vault(&settings, store.as_ref()).await {
            Ok(vault) => Arc::new(vault),
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
        let validator = Validator::new(settings.municipalities.clone(), settings.intake.clone())?;
        let router = crate::routing::Router::new(&settings)?;
        let policies = crate::deadlines::Policies::new(&settings)?;
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
        )?);
        let policies_data = web::Data::new(policies);
        let settings_data = web::Data::new(settings.clone());
        let delivery_data = web::Data::from(delivery.clone());
        let clock_data = web::Data::new(clock);
        let auth = web::Data::new(Authenticator::new(
            store.clone(),
            metrics.clone(),
            Duration::from_secs(settings.security.token_cache_seconds),
        ));
        let store_data: web::Data<dyn Store> = web::Data::from(store.clone());
        let vault_data = web::Data::from(vault);
        let metrics_data = web::Data::from(metrics);
        let max_body_bytes = settings.limits.max_body_bytes;

        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(api::errors::middleware))
                .wrap(from_fn(api::request_id::middleware))
                .app_data(intake.clone())
                .app_data(auth.clone())
                .app_data(store_data.clone())
                .app_data(vault_data.clone())
                .app_data(metrics_data.clone())
                .app_data(delivery_data.clone())
                .app_data(clock_data.clone())
                .app_data(policies_data.clone())
                .app_data(settings_data.clone())
                .configure(|cfg| api::errors::extractors(cfg, max_body_bytes))
                .configure(intake::routes)
                .configure(api::routes)
                .default_service(web::to(api::fallback))
        })
        .shutdown_timeout(30)
        // Signals are handled by `serve` (SIGINT and SIGTERM both stop gracefully); a test's
        // server must not react to the test runner's signals.
        .disable_signals();
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Application {
            port,
            server,
            store,
            delivery,
            scheduler,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
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

    /// Serves and delivers until stopped (SIGINT/SIGTERM, or `handle().stop(true)`); then lets
    /// the last requests have their answers and the delivery attempts in flight finish, and
    /// closes the store.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let worker = tokio::spawn(self.delivery.clone().run());
        let scheduler = tokio::spawn(self.scheduler.clone().run());
        let result = self.server.await;
        self.scheduler.stop();
        let _ = scheduler.await;
        self.delivery.stop().await;
        let _ = worker.await;
        self.store.close().await;
        result.context("the HTTP server failed")
    }
}
