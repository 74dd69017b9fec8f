//! The PostgreSQL backend, chosen by `storage.url = "postgres://…"`: the same `Store` as the
//! embedded SQLite one, on a pool of connections (`deadpool-postgres`). Every write is one
//! transaction, committed before it returns; with `synchronous_commit` on (PostgreSQL's
//! default) a commit is on the server's disk before the answer, and PostgreSQL itself flushes
//! concurrent commits together. A transaction that loses a race with another (a unique key,
//! a serialisation failure, a deadlock) runs again from the start.
//!
//! The schema has its own migrations (`migrations/`), applied at start under an advisory lock so
//! that instances starting together apply each once; `indgang migrate` applies them alone.
//! TLS to the server is used when the URL asks for it (`sslmode=require`), with rustls.

mod audit;
mod certificates;
mod deadlines;
mod deliveries;
mod destinations;
mod instances;
mod matching;
mod queries;
mod sessions;
mod sql;

use super::{
    AttemptRecord, CaseFilter, CaseRecord, CaseSummary, ClaimRequest, ClaimedDelivery, DeadLetterFilter,
    DeadlineAction, DeadlineFilter, DeadlineRecord, DeadlineRow, DeliveryRecord, DestinationQueue, DestinationState,
    DigestItem, Hold, KeyCheck, LoginRecord, NewDigest, NewMessage, NoticeRow, PauseChange, Receipt, Replay,
    SenderCertificateRecord, SessionRecord, Store, SubmitOutcome, TokenRecord, Unavailable,
};
use crate::domain::CaseRef;
use anyhow::Context;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiff::Timestamp;
use std::time::Duration;
use tokio_postgres::config::SslMode;

/// The migrations, in order; the version of the schema is how many have been applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_housing_answers.sql"),
    include_str!("migrations/0003_destination_pauses.sql"),
    include_str!("migrations/0004_open_by_case.sql"),
];

/// The session advisory lock held while migrating ("indgang migrate" in a number).
const MIGRATION_LOCK: i64 = 0x696e_6467_6d69_6772;

/// Dead letters put back per transaction, as in the SQLite store.
const REPLAY_CHUNK: usize = 256;

/// How often a transaction that lost a race is run again before its error is returned.
const RETRIES: u32 = 5;

/// How long taking a connection from the pool, or opening one, may take before the store counts
/// as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PostgresStore {
    pool: Pool,
    /// The scheduler's lock and the wake-ups between instances.
    sharing: instances::Sharing,
}

/// Runs `$body` in a transaction on a pooled connection and commits it; runs it again (a few
/// times) when it lost a race with another transaction. `$body` may use `?`.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut tries = 0;
        loop {
            let mut client = $store.client().await?;
            let $tx = client
                .transaction()
                .await
                .map_err(|e| sql::unavailable_if_down(e.into()))?;
            let outcome: anyhow::Result<_> = async { $body }.await;
            let outcome = match outcome {
                Ok(value) => $tx.commit().await.map(|()| value).map_err(anyhow::Error::from),
                Err(e) => Err(e),
            };
            match outcome {
                Err(e) if tries < RETRIES && sql::retryable(&e) => tries += 1,
                outcome => break outcome.map_err(sql::unavailable_if_down),
            }
        }
    }};
}

/// Runs `$body` on a pooled connection, outside a transaction (reads).
macro_rules! on_connection {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let $conn = $store.client().await?;
        let outcome: anyhow::Result<_> = async { $body }.await;
        outcome.map_err(sql::unavailable_if_down)
    }};
}

impl PostgresStore {
    /// Connects (`connections` at most at once) and brings the schema up to date.
    pub async fn open(url: &str, connections: usize) -> anyhow::Result<PostgresStore> {
        let store = Self::connect(url, connections)?;
        store.migrate().await?;
        Ok(store)
    }

    /// A pool on the database at `url`, without touching the schema.
    pub fn connect(url: &str, connections: usize) -> anyhow::Result<PostgresStore> {
        let mut config: tokio_postgres::Config =
            url.parse().context("storage.url is not a PostgreSQL connection URL")?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("indgang");
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let runtime = tokio::runtime::Handle::try_current().context("the PostgreSQL store needs a Tokio runtime")?;
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => None,
            // `prefer` is the URL's default: without TLS asked for, none is offered, as the
            // server on the same host or network usually has no certificate.
            SslMode::Prefer => {
                config.ssl_mode(SslMode::Disable);
                None
            }
            _ => Some(tls()?),
        };
        let dialer = instances::Dialer {
            config: config.clone(),
            tls: tls.clone(),
            runtime: runtime.clone(),
        };
        let manager = match tls {
            None => Manager::from_connect(config, OnRuntime::new(tokio_postgres::NoTls, runtime), manager_config),
            Some(tls) => Manager::from_connect(config, OnRuntime::new(tls, runtime), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(connections.max(2))
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .context("setting up the connection pool")?;
        let sharing = instances::Sharing::new(dialer, pool.clone());
        Ok(PostgresStore { pool, sharing })
    }

    /// A connection from the pool; when there is none to be had (the server is down or
    /// unreachable), the store is `Unavailable`.
    async fn client(&self) -> anyhow::Result<deadpool_postgres::Client> {
        self.pool
            .get()
            .await
            .map_err(|e| Unavailable(format!("no connection to PostgreSQL: {}", with_causes(&e))).into())
    }

    /// A connection of the pool, for a command that works on the tables themselves
    /// (`indgang migrate-store` copies into them).
    pub async fn connection(&self) -> anyhow::Result<deadpool_postgres::Client> {
        self.client().await
    }

    /// Applies the migrations not yet applied, one transaction each, while holding an advisory
    /// lock: a second instance starting at the same time waits, then finds them applied.
    /// Returns how many it applied.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        let client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .context("taking the migration lock")?;
        let applied = apply_migrations(&client).await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        let applied = applied?;
        unlocked.context("releasing the migration lock")?;
        Ok(applied)
    }
}

async fn apply_migrations(client: &deadpool_postgres::Client) -> anyhow::Result<usize> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version     BIGINT PRIMARY KEY,
                 applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await
        .context("creating schema_migrations")?;
    let current: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
        .await?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i64;
    anyhow::ensure!(
        current <= known,
        "the database is from a newer indgang (schema version {current}); upgrade indgang"
    );
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        client
            .batch_execute("BEGIN")
            .await
            .with_context(|| format!("migration {version}"))?;
        let result = async {
            client.batch_execute(migration).await?;
            client
                .execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])
                .await?;
            client.batch_execute("COMMIT").await?;
            Ok::<_, tokio_postgres::Error>(())
        }
        .await;
        if let Err(e) = result {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e).with_context(|| format!("migration {version}"));
        }
    }
    Ok((known - current) as usize)
}

/// An error with the errors that caused it (a pool's error names the TLS handshake, its cause
/// the certificate that was refused).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = inner.source();
    }
    text
}

/// Opens connections on the runtime the store was opened on, and drives them there: a caller
/// on a runtime of its own (`apart`, without an I/O driver, gone when its job is done) only
/// sends requests to a connection and awaits the answers, which needs no I/O of its own.
struct OnRuntime<T> {
    tls: T,
    runtime: tokio::runtime::Handle,
}

impl<T> OnRuntime<T> {
    fn new(tls: T, runtime: tokio::runtime::Handle) -> Self {
        OnRuntime { tls, runtime }
    }
}

impl<T> deadpool_postgres::Connect for OnRuntime<T>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Clone + Sync + Send + 'static,
    T::Stream: Sync + Send,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>,
    > {
        let tls = self.tls.clone();
        let config = config.clone();
        let opening = self.runtime.spawn(async move {
            let (client, connection) = config.connect(tls).await?;
            let driver = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "a PostgreSQL connection failed");
                }
            });
            Ok((client, driver))
        });
        Box::pin(async move {
            match opening.await {
                Ok(opened) => opened,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // The runtime is shutting down: the pool's create timeout ends the wait.
                Err(_) => std::future::pending().await,
            }
        })
    }
}

/// rustls with the web's root certificates and those of `PGSSLROOTCERT` (a PEM file, as libpq
/// reads it), for a server whose certificate a municipality's own authority signed.
fn tls() -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    crate::delivery::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os("PGSSLROOTCERT") {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let pem = std::fs::read(&path).with_context(|| format!("reading PGSSLROOTCERT {}", path.display()))?;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            roots
                .add(certificate.with_context(|| format!("reading PGSSLROOTCERT {}", path.display()))?)
                .context("PGSSLROOTCERT holds a certificate rustls cannot use")?;
        }
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[async_trait]
impl Store for PostgresStore {
    async fn submit(&self, message: NewMessage) -> anyhow::Result<SubmitOutcome> {
        let outcome = in_transaction!(self, |tx| queries::file_message(&tx, &message).await)?;
        if let SubmitOutcome::Accepted(receipt) = &outcome
            && receipt
                .deliveries
                .iter()
                .any(|d| d.next_attempt_at.is_some_and(|at| at <= receipt.received_at))
        {
            self.sharing.deliveries_due();
        }
        Ok(outcome)
    }

    async fn receipt(&self, receipt_id: &str) -> anyhow::Result<Option<Receipt>> {
        on_connection!(self, |conn| queries::receipt(&conn, receipt_id).await)
    }

    async fn case(&self, case_ref: &CaseRef) -> anyhow::Result<Option<CaseRecord>> {
        on_connection!(self, |conn| queries::case(&conn, case_ref).await)
    }

    async fn cases(&self, filter: CaseFilter) -> anyhow::Result<Vec<CaseSummary>> {
        on_connection!(self, |conn| queries::cases(&conn, &filter).await)
    }

    async fn claim_deliveries(&self, request: ClaimRequest) -> anyhow::Result<Vec<Vec<ClaimedDelivery>>> {
        in_transaction!(self, |tx| deliveries::claim(&tx, &request).await)
    }

    /// The outcomes are counted after the attempts, all in one read of their destinations' rows.
    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> anyhow::Result<Vec<PauseChange>> {
        let notes: Vec<_> = attempts.iter().filter_map(|a| a.health.as_ref()).collect();
        in_transaction!(self, |tx| {
            deliveries::record_attempts(&tx, &attempts).await?;
            destinations::count(&tx, &notes).await
        })
    }

    fn shared(&self) -> bool {
        true
    }

    /// Nothing: another instance may be sending what is claimed. A claim of an instance that
    /// died is taken over once it expires (`delivery.claim_seconds`).
    async fn release_claims(&self) -> anyhow::Result<u64> {
        Ok(0)
    }

    async fn deliveries(&self, receipt_id: &str) -> anyhow::Result<Vec<DeliveryRecord>> {
        on_connection!(self, |conn| deliveries::of_receipt(&conn, receipt_id).await)
    }

    async fn dead_letters(&self, filter: DeadLetterFilter) -> anyhow::Result<Vec<DeliveryRecord>> {
        on_connection!(self, |conn| deliveries::dead_letters(&conn, &filter).await)
    }

    /// In transactions of at most `REPLAY_CHUNK` dead letters each, as on SQLite.
    async fn replay(&self, selection: Replay, now: Timestamp) -> anyhow::Result<Vec<String>> {
        let mut replayed = Vec::new();
        let mut after = 0;
        loop {
            let (ids, last) =
                in_transaction!(self, |tx| deliveries::replay(&tx, &selection, after, REPLAY_CHUNK, now)
                    .await)?;
            let full = ids.len() == REPLAY_CHUNK;
            if !ids.is_empty() {
                self.sharing.deliveries_due();
            }
            replayed.extend(ids);
            match last {
                Some(last) if full => after = last,
                _ => return Ok(replayed),
            }
        }
    }

    async fn delivery_queues(&self) -> anyhow::Result<Vec<DestinationQueue>> {
        on_connection!(self, |conn| deliveries::queues(&conn).await)
    }

    async fn destination_states(&self) -> anyhow::Result<Vec<DestinationState>> {
        on_connection!(self, |conn| destinations::all(&conn).await)
    }

    async fn hold_destination(&self, destination: &str, hold: Hold) -> anyhow::Result<()> {
        in_transaction!(self, |tx| destinations::hold(&tx, destination, &hold).await)
    }

    async fn resume_destination(&self, destination: &str) -> anyhow::Result<bool> {
        in_transaction!(self, |tx| destinations::resume(&tx, destination).await)
    }

    async fn take_probe(&self, destination: &str, now: Timestamp, until: Timestamp) -> anyhow::Result<bool> {
        in_transaction!(self, |tx| destinations::take_probe(&tx, destination, now, until).await)
    }

    async fn drop_probe(&self, destination: &str) -> anyhow::Result<()> {
        in_transaction!(self, |tx| destinations::drop_probe(&tx, destination).await)
    }

    async fn fire_deadlines(
        &self,
        now: Timestamp,
        limit: usize,
        alert_delay: jiff::SignedDuration,
    ) -> anyhow::Result<usize> {
        let looked = in_transaction!(self, |tx| deadlines::fire(&tx, now, limit, alert_delay).await)?;
        // Alerts due later (`alert_delay`, waiting for others to the same address) are found
        // by polling.
        if looked > 0 && !alert_delay.is_positive() {
            self.sharing.deliveries_due();
        }
        Ok(looked)
    }

    async fn digest_items(&self, teams: Vec<String>, horizon: Timestamp) -> anyhow::Result<Vec<DigestItem>> {
        on_connection!(self, |conn| deadlines::digest_items(&conn, &teams, horizon).await)
    }

    async fn add_digests(&self, digests: Vec<NewDigest>, now: Timestamp) -> anyhow::Result<usize> {
        let made = in_transaction!(self, |tx| deliveries::add_digests(&tx, &digests, now).await)?;
        if made > 0 {
            self.sharing.deliveries_due();
        }
        Ok(made)
    }

    async fn deadlines(&self, filter: DeadlineFilter) -> anyhow::Result<Vec<DeadlineRecord>> {
        on_connection!(self, |conn| deadlines::list(&conn, &filter).await)
    }

    async fn deadline(&self, id: i64) -> anyhow::Result<Option<DeadlineRecord>> {
        on_connection!(self, |conn| deadlines::one_deadline(&conn, id).await)
    }

    async fn act_on_deadline(
        &self,
        id: i64,
        action: DeadlineAction,
        actor: String,
        now: Timestamp,
    ) -> anyhow::Result<Option<DeadlineRecord>> {
        in_transaction!(self, |tx| deadlines::act(&tx, id, &action, &actor, now).await)
    }

    async fn release_notices(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<Vec<NoticeRow>> {
        on_connection!(self, |conn| deadlines::release_notices(
            &conn,
            municipality.as_deref(),
            from,
            to
        )
        .await)
    }

    async fn deadline_rows(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<Vec<DeadlineRow>> {
        on_connection!(self, |conn| deadlines::deadline_rows(
            &conn,
            municipality.as_deref(),
            from,
            to
        )
        .await)
    }

    async fn acknowledge(
        &self,
        receipt_id: &str,
        actor: String,
        now: Timestamp,
    ) -> anyhow::Result<Vec<DeadlineRecord>> {
        in_transaction!(self, |tx| deadlines::acknowledge(&tx, receipt_id, &actor, now).await)
    }

    async fn create_token(&self, token: TokenRecord) -> anyhow::Result<()> {
        in_transaction!(self, |tx| queries::insert_token(&tx, &token).await)
    }

    async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<TokenRecord>> {
        on_connection!(self, |conn| queries::token_by_hash(&conn, hash).await)
    }

    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>> {
        on_connection!(self, |conn| queries::tokens(&conn).await)
    }

    async fn revoke_token(&self, id: &str, at: Timestamp) -> anyhow::Result<bool> {
        in_transaction!(self, |tx| queries::revoke_token(&tx, id, at).await)
    }

    async fn begin_login(&self, login: LoginRecord, stale: Timestamp) -> anyhow::Result<()> {
        in_transaction!(self, |tx| sessions::begin_login(&tx, &login, stale).await)
    }

    async fn take_login(&self, state_hash: &str, stale: Timestamp) -> anyhow::Result<Option<LoginRecord>> {
        in_transaction!(self, |tx| sessions::take_login(&tx, state_hash, stale).await)
    }

    async fn create_session(
        &self,
        session: SessionRecord,
        idle_before: Timestamp,
        begun_before: Timestamp,
    ) -> anyhow::Result<()> {
        in_transaction!(self, |tx| sessions::create(&tx, &session, idle_before, begun_before)
            .await)
    }

    async fn session_by_hash(&self, id_hash: &str) -> anyhow::Result<Option<SessionRecord>> {
        on_connection!(self, |conn| sessions::by_hash(&conn, id_hash).await)
    }

    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> anyhow::Result<()> {
        in_transaction!(self, |tx| sessions::touch(&tx, id_hash, at).await)
    }

    async fn end_session(&self, id_hash: &str) -> anyhow::Result<bool> {
        in_transaction!(self, |tx| sessions::end(&tx, id_hash).await)
    }

    async fn append_audit(
        &self,
        entries: Vec<crate::store::audit::NewAuditEntry>,
        key: [u8; 32],
    ) -> anyhow::Result<Vec<i64>> {
        in_transaction!(self, |tx| audit::append(&tx, &entries, &key).await)
    }

    async fn audit_entries(
        &self,
        filter: crate::store::audit::AuditFilter,
    ) -> anyhow::Result<Vec<crate::store::audit::AuditRecord>> {
        on_connection!(self, |conn| audit::entries(&conn, &filter).await)
    }

    async fn audit_ends(
        &self,
    ) -> anyhow::Result<(crate::store::audit::AuditAnchor, Option<crate::store::audit::AuditHead>)> {
        // Both rows as of one moment: an append between the two reads would pair an old
        // anchor with a new head, which is harmless, but one snapshot costs nothing.
        in_transaction!(self, |tx| audit::ends(&tx).await)
    }

    async fn prune_audit(&self, before: Timestamp) -> anyhow::Result<usize> {
        let mut removed = 0;
        loop {
            let n = in_transaction!(self, |tx| audit::prune(&tx, before).await)?;
            removed += n;
            if n < audit::PRUNE_CHUNK {
                return Ok(removed);
            }
        }
    }

    async fn register_certificate(&self, record: SenderCertificateRecord) -> anyhow::Result<()> {
        in_transaction!(self, |tx| certificates::insert(&tx, &record).await)
    }

    async fn certificate_registration(
        &self,
        fingerprint: &str,
        subject_serial: Option<&str>,
    ) -> anyhow::Result<Option<SenderCertificateRecord>> {
        on_connection!(self, |conn| certificates::live(&conn, fingerprint, subject_serial)
            .await)
    }

    async fn sender_certificates(&self) -> anyhow::Result<Vec<SenderCertificateRecord>> {
        on_connection!(self, |conn| certificates::all(&conn).await)
    }

    async fn remove_certificate(&self, id: &str, at: Timestamp) -> anyhow::Result<bool> {
        in_transaction!(self, |tx| certificates::remove(&tx, id, at).await)
    }

    async fn put_housing_needs(
        &self,
        needs: crate::store::NewHousingNeeds,
    ) -> anyhow::Result<Option<crate::store::HousingNeedsRecord>> {
        in_transaction!(self, |tx| matching::put(&tx, &needs).await)
    }

    async fn housing_needs(&self, case_ref: &CaseRef) -> anyhow::Result<Option<crate::store::HousingNeedsRecord>> {
        on_connection!(self, |conn| matching::one(&conn, case_ref).await)
    }

    async fn housing_seekers(
        &self,
        municipality: String,
        housing_policy: String,
        only: Option<CaseRef>,
    ) -> anyhow::Result<Vec<crate::store::SeekerRow>> {
        let only = only.map(|c| c.number());
        on_connection!(self, |conn| matching::seekers(
            &conn,
            &municipality,
            &housing_policy,
            only
        )
        .await)
    }

    async fn answer_housing(
        &self,
        answer: crate::store::NewHousingAnswer,
    ) -> anyhow::Result<crate::store::HousingAnswerRecord> {
        let record = in_transaction!(self, |tx| matching::answer(&tx, &answer).await)?;
        if record.delivery_id.is_some() && !record.repeated {
            self.sharing.deliveries_due();
        }
        Ok(record)
    }

    async fn housing_answers(&self, case_ref: &CaseRef) -> anyhow::Result<Vec<crate::store::HousingAnswerRecord>> {
        on_connection!(self, |conn| matching::answers(&conn, case_ref).await)
    }

    async fn vacant_homes(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
        housing_policy: String,
    ) -> anyhow::Result<Vec<crate::store::VacantHomeRow>> {
        on_connection!(self, |conn| matching::vacant_homes(
            &conn,
            municipality.as_deref(),
            from,
            to,
            &housing_policy
        )
        .await)
    }

    async fn key_check(&self, value: &str) -> anyhow::Result<KeyCheck> {
        in_transaction!(self, |tx| queries::key_check(&tx, value).await)
    }

    async fn ping(&self) -> anyhow::Result<()> {
        on_connection!(self, |conn| {
            conn.simple_query("SELECT 1")
                .await
                .map_err(|e| Unavailable(format!("PostgreSQL does not answer: {e}")))?;
            Ok(())
        })
    }

    async fn lead(&self) -> anyhow::Result<bool> {
        self.sharing.lead().await
    }

    async fn listen(&self, wake: Box<dyn Fn() + Send + Sync>) {
        self.sharing.listen(wake).await
    }

    async fn close(&self) {
        self.sharing.close().await;
        self.pool.close();
    }
}
