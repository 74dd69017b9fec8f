//! The embedded SQLite backend: one file in WAL mode. Writes go through the group-commit writer,
//! which answers only after the WAL holding the write has been fsynced (`writer`), so an
//! acknowledged message survives a power cut; reads go through a small pool (`readers`); WAL
//! checkpoints run in a thread of their own (`checkpointer`).

mod audit;
mod certificates;
mod checkpointer;
mod deadlines;
mod deliveries;
mod destinations;
mod matching;
pub mod page_cache;
mod prepared;
mod queries;
mod readers;
mod sessions;
mod wal_vfs;
mod writer;

pub use writer::answer_batches_here;

use super::{
    AttemptRecord, CaseFilter, CaseRecord, CaseSummary, ClaimRequest, ClaimedDelivery, DeadLetterFilter,
    DeadlineAction, DeadlineFilter, DeadlineRecord, DeadlineRow, DeliveryRecord, DestinationQueue, DestinationState,
    DigestItem, Hold, KeyCheck, LoginRecord, NewDigest, NewMessage, NoticeRow, PauseChange, Receipt, Replay,
    SenderCertificateRecord, SessionRecord, Store, SubmitOutcome, TokenRecord,
};
use crate::domain::CaseRef;
use anyhow::Context;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_deliveries.sql"),
    include_str!("migrations/0003_deadlines.sql"),
    include_str!("migrations/0004_digests.sql"),
    include_str!("migrations/0005_performance.sql"),
    include_str!("migrations/0006_transfers.sql"),
    include_str!("migrations/0007_audit.sql"),
    include_str!("migrations/0008_sender_certificates.sql"),
    include_str!("migrations/0009_sessions.sql"),
    include_str!("migrations/0010_matching.sql"),
    include_str!("migrations/0011_housing_answers.sql"),
    include_str!("migrations/0012_destination_pauses.sql"),
    include_str!("migrations/0013_layout.sql"),
    include_str!("migrations/0014_deadline_parents.sql"),
    include_str!("migrations/0015_deliveries_ids.sql"),
    include_str!("migrations/0016_alarms.sql"),
    include_str!("migrations/0017_deadline_blocks.sql"),
];

const STATEMENT_CACHE: usize = 128;

/// Pages of WAL after which the writer's commit copies it back itself (SQLite's automatic
/// checkpoint; see `checkpointer`).
const WAL_AUTOCHECKPOINT: i64 = 65536;

/// Dead letters put back per transaction.
const REPLAY_CHUNK: usize = 256;

pub struct SqliteStore {
    writer: writer::Writer,
    readers: readers::Readers,
    checkpointer: checkpointer::Checkpointer,
}

impl SqliteStore {
    /// Opens (and migrates) the database at `path`: `read_connections` for reading, and one writer
    /// whose commits carry at most `max_batch` submissions and begin at least `commit_interval`
    /// apart while more submissions keep coming (`storage.commit_interval`).
    pub fn open(
        path: &Path,
        read_connections: usize,
        max_batch: usize,
        commit_interval: std::time::Duration,
    ) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = open_writing(path)?;
        // Sealed or not, the data is nobody else's business; SQLite gives the WAL and shared
        // memory files the database file's mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("restricting {}", path.display()))?;
        }
        let conn = set_up_writing(conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "{} cannot use WAL mode ({mode})",
            path.display()
        );
        migrate(&conn).with_context(|| format!("migrating {}", path.display()))?;
        // The syncer fsyncs the WAL through a handle of its own (an fsync acts on the file, not
        // the handle). The WAL exists from the first write on, and lives as long as the
        // connections do.
        let wal_path = sqlite_wal_path(path);
        let wal = std::fs::File::open(&wal_path).with_context(|| format!("opening {}", wal_path.display()))?;
        let mut first = Some((conn, wal));
        let reopen_path = path.to_owned();
        // The writer's connection: this one at first, a new one after a failed write.
        let open: writer::Opener = Box::new(move || {
            if let Some(opened) = first.take() {
                return Ok(opened);
            }
            let conn = open_writing(&reopen_path).and_then(set_up_writing)?;
            let wal_path = sqlite_wal_path(&reopen_path);
            let wal = std::fs::File::open(&wal_path).with_context(|| format!("opening {}", wal_path.display()))?;
            Ok((conn, wal))
        });

        let readers = (0..read_connections)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.execute_batch("PRAGMA busy_timeout = 5000;")?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(conn)
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .context("opening read connections")?;
        Ok(SqliteStore {
            writer: writer::Writer::start(open, max_batch, commit_interval)?,
            readers: readers::Readers::new(readers),
            checkpointer: checkpointer::Checkpointer::start(Connection::open(path)?)?,
        })
    }
}

/// The writing connection, through the VFS that writes each commit's WAL frames at once
/// (wal_vfs.rs).
fn open_writing(path: &Path) -> anyhow::Result<Connection> {
    // Before SQLite's first connection in the process, when it still takes a page cache (the
    // VFS's registration initialises SQLite).
    page_cache::install();
    wal_vfs::register()?;
    Connection::open_with_flags_and_vfs(path, OpenFlags::default(), wal_vfs::NAME)
        .with_context(|| format!("opening {}", path.display()))
}

/// The writing connection, set up: WAL mode, `synchronous=NORMAL` (the syncer makes commits
/// durable), and a statement cache large enough for the writer.
fn set_up_writing(conn: Connection) -> anyhow::Result<Connection> {
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -16384;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT};"
    ))
    .context("setting up the database connection")?;
    // rusqlite keeps 16 prepared statements by default; the writer alone uses more, and a
    // statement prepared again costs as much as running it.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn sqlite_wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Applies the embedded migrations not yet applied, tracked by `PRAGMA user_version`.
fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    anyhow::ensure!(
        applied <= MIGRATIONS.len() as i64,
        "the database is from a newer indgang (schema version {applied}); upgrade indgang"
    );
    if applied == MIGRATIONS.len() as i64 {
        return Ok(());
    }
    // A migration that rebuilds a table drops the old one, which foreign keys would refuse
    // while other tables point at it; they are checked once the migrations are in.
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = (|| {
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("migration {}", index + 1))?;
            let broken: Option<String> = tx
                .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
                .optional()?;
            if let Some(table) = broken {
                anyhow::bail!("migration {}: leaves rows of {table} pointing at nothing", index + 1);
            }
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", true)?;
    result
}

#[async_trait]
impl Store for SqliteStore {
    async fn submit(&self, message: NewMessage) -> anyhow::Result<SubmitOutcome> {
        // The writer thread only borrows the message: its last reference, and so the freeing of
        // its buffers and strings (made here, on an HTTP worker), stays on this thread instead of
        // adding to the writer's serial work (docs/benchmarks.md, "The writer's statements").
        let message = std::sync::Arc::new(message);
        let filed = std::sync::Arc::clone(&message);
        let outcome = self.writer.write(move |conn| queries::file_message(conn, &filed)).await;
        drop(message);
        outcome
    }

    async fn receipt(&self, receipt_id: &str) -> anyhow::Result<Option<Receipt>> {
        let id = receipt_id.to_owned();
        self.readers.read(move |conn| queries::receipt(conn, &id)).await
    }

    async fn case(&self, case_ref: &CaseRef) -> anyhow::Result<Option<CaseRecord>> {
        let case_ref = case_ref.clone();
        self.readers.read(move |conn| queries::case(conn, &case_ref)).await
    }

    async fn cases(&self, filter: CaseFilter) -> anyhow::Result<Vec<CaseSummary>> {
        self.readers.read(move |conn| queries::cases(conn, &filter)).await
    }

    async fn claim_deliveries(&self, request: ClaimRequest) -> anyhow::Result<Vec<Vec<ClaimedDelivery>>> {
        self.writer.write(move |conn| deliveries::claim(conn, &request)).await
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>) -> anyhow::Result<Vec<PauseChange>> {
        self.writer
            .write(move |conn| {
                let mut changes = Vec::new();
                for a in &attempts {
                    deliveries::record_attempt(conn, a)?;
                    if let Some(n) = &a.health {
                        changes.extend(destinations::count(conn, n)?);
                    }
                }
                Ok(changes)
            })
            .await
    }

    async fn lead(&self) -> anyhow::Result<bool> {
        Ok(true)
    }

    async fn listen(&self, _wake: Box<dyn Fn() + Send + Sync>) {}

    fn shared(&self) -> bool {
        false
    }

    async fn release_claims(&self) -> anyhow::Result<u64> {
        self.writer.write(deliveries::release_claims).await
    }

    async fn deliveries(&self, receipt_id: &str) -> anyhow::Result<Vec<DeliveryRecord>> {
        let id = receipt_id.to_owned();
        self.readers.read(move |conn| deliveries::of_receipt(conn, &id)).await
    }

    async fn dead_letters(&self, filter: DeadLetterFilter) -> anyhow::Result<Vec<DeliveryRecord>> {
        self.readers
            .read(move |conn| deliveries::dead_letters(conn, &filter))
            .await
    }

    /// In transactions of at most `REPLAY_CHUNK` dead letters each, so that submissions are
    /// filed between them: ten thousand dead letters in one transaction held every submission
    /// back until it committed.
    async fn replay(&self, selection: Replay, now: Timestamp) -> anyhow::Result<Vec<String>> {
        let mut replayed = Vec::new();
        let mut after = 0;
        loop {
            let selection = selection.clone();
            let (ids, last) = self
                .writer
                .write(move |conn| deliveries::replay(conn, &selection, after, REPLAY_CHUNK, now))
                .await?;
            let full = ids.len() == REPLAY_CHUNK;
            replayed.extend(ids);
            match last {
                Some(last) if full => after = last,
                _ => return Ok(replayed),
            }
        }
    }

    async fn delivery_queues(&self) -> anyhow::Result<Vec<DestinationQueue>> {
        self.readers.read(deliveries::queues).await
    }

    async fn destination_states(&self) -> anyhow::Result<Vec<DestinationState>> {
        self.readers.read(destinations::all).await
    }

    async fn hold_destination(&self, destination: &str, hold: Hold) -> anyhow::Result<()> {
        let destination = destination.to_owned();
        self.writer
            .write(move |conn| destinations::hold(conn, &destination, &hold))
            .await
    }

    async fn resume_destination(&self, destination: &str) -> anyhow::Result<bool> {
        let destination = destination.to_owned();
        self.writer
            .write(move |conn| destinations::resume(conn, &destination))
            .await
    }

    async fn take_probe(&self, destination: &str, now: Timestamp, until: Timestamp) -> anyhow::Result<bool> {
        let destination = destination.to_owned();
        self.writer
            .write(move |conn| destinations::take_probe(conn, &destination, now, until))
            .await
    }

    async fn drop_probe(&self, destination: &str) -> anyhow::Result<()> {
        let destination = destination.to_owned();
        self.writer
            .write(move |conn| destinations::drop_probe(conn, &destination))
            .await
    }

    async fn fire_deadlines(
        &self,
        now: Timestamp,
        limit: usize,
        alert_delay: jiff::SignedDuration,
    ) -> anyhow::Result<usize> {
        self.writer
            .write(move |conn| deadlines::fire(conn, now, limit, alert_delay))
            .await
    }

    async fn digest_items(&self, teams: Vec<String>, horizon: Timestamp) -> anyhow::Result<Vec<DigestItem>> {
        self.readers
            .read(move |conn| deadlines::digest_items(conn, &teams, horizon))
            .await
    }

    async fn add_digests(&self, digests: Vec<NewDigest>, now: Timestamp) -> anyhow::Result<usize> {
        self.writer
            .write(move |conn| deliveries::add_digests(conn, &digests, now))
            .await
    }

    async fn deadlines(&self, filter: DeadlineFilter) -> anyhow::Result<Vec<DeadlineRecord>> {
        self.readers.read(move |conn| deadlines::list(conn, &filter)).await
    }

    async fn deadline(&self, id: i64) -> anyhow::Result<Option<DeadlineRecord>> {
        self.readers.read(move |conn| deadlines::one(conn, id)).await
    }

    async fn act_on_deadline(
        &self,
        id: i64,
        action: DeadlineAction,
        actor: String,
        now: Timestamp,
    ) -> anyhow::Result<Option<DeadlineRecord>> {
        self.writer
            .write(move |conn| deadlines::act(conn, id, &action, &actor, now))
            .await
    }

    async fn release_notices(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<Vec<NoticeRow>> {
        self.readers
            .read(move |conn| deadlines::release_notices(conn, municipality.as_deref(), from, to))
            .await
    }

    async fn deadline_rows(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<Vec<DeadlineRow>> {
        self.readers
            .read(move |conn| deadlines::deadline_rows(conn, municipality.as_deref(), from, to))
            .await
    }

    async fn acknowledge(
        &self,
        receipt_id: &str,
        actor: String,
        now: Timestamp,
    ) -> anyhow::Result<Vec<DeadlineRecord>> {
        let receipt_id = receipt_id.to_owned();
        self.writer
            .write(move |conn| deadlines::acknowledge(conn, &receipt_id, &actor, now))
            .await
    }

    async fn create_token(&self, token: TokenRecord) -> anyhow::Result<()> {
        self.writer.write(move |conn| queries::insert_token(conn, &token)).await
    }

    async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.readers.read(move |conn| queries::token_by_hash(conn, &hash)).await
    }

    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>> {
        self.readers.read(queries::tokens).await
    }

    async fn revoke_token(&self, id: &str, at: Timestamp) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.writer
            .write(move |conn| queries::revoke_token(conn, &id, at))
            .await
    }

    async fn begin_login(&self, login: LoginRecord, stale: Timestamp) -> anyhow::Result<()> {
        self.writer
            .write(move |conn| sessions::begin_login(conn, &login, stale))
            .await
    }

    async fn take_login(&self, state_hash: &str, stale: Timestamp) -> anyhow::Result<Option<LoginRecord>> {
        let hash = state_hash.to_owned();
        self.writer
            .write(move |conn| sessions::take_login(conn, &hash, stale))
            .await
    }

    async fn create_session(
        &self,
        session: SessionRecord,
        idle_before: Timestamp,
        begun_before: Timestamp,
    ) -> anyhow::Result<()> {
        self.writer
            .write(move |conn| sessions::create(conn, &session, idle_before, begun_before))
            .await
    }

    async fn session_by_hash(&self, id_hash: &str) -> anyhow::Result<Option<SessionRecord>> {
        let hash = id_hash.to_owned();
        self.readers.read(move |conn| sessions::by_hash(conn, &hash)).await
    }

    async fn touch_session(&self, id_hash: &str, at: Timestamp) -> anyhow::Result<()> {
        let hash = id_hash.to_owned();
        self.writer.write(move |conn| sessions::touch(conn, &hash, at)).await
    }

    async fn end_session(&self, id_hash: &str) -> anyhow::Result<bool> {
        let hash = id_hash.to_owned();
        self.writer.write(move |conn| sessions::end(conn, &hash)).await
    }

    async fn append_audit(
        &self,
        entries: Vec<crate::store::audit::NewAuditEntry>,
        key: [u8; 32],
    ) -> anyhow::Result<Vec<i64>> {
        self.writer.write(move |conn| audit::append(conn, &entries, &key)).await
    }

    async fn audit_entries(
        &self,
        filter: crate::store::audit::AuditFilter,
    ) -> anyhow::Result<Vec<crate::store::audit::AuditRecord>> {
        self.readers.read(move |conn| audit::entries(conn, &filter)).await
    }

    async fn audit_ends(
        &self,
    ) -> anyhow::Result<(crate::store::audit::AuditAnchor, Option<crate::store::audit::AuditHead>)> {
        self.readers.read(audit::ends).await
    }

    async fn prune_audit(&self, before: Timestamp) -> anyhow::Result<usize> {
        let mut removed = 0;
        loop {
            let n = self.writer.write(move |conn| audit::prune(conn, before)).await?;
            removed += n;
            if n < audit::PRUNE_CHUNK {
                return Ok(removed);
            }
        }
    }

    async fn register_certificate(&self, record: SenderCertificateRecord) -> anyhow::Result<()> {
        self.writer.write(move |conn| certificates::insert(conn, &record)).await
    }

    async fn certificate_registration(
        &self,
        fingerprint: &str,
        subject_serial: Option<&str>,
    ) -> anyhow::Result<Option<SenderCertificateRecord>> {
        let fingerprint = fingerprint.to_owned();
        let subject_serial = subject_serial.map(str::to_owned);
        self.readers
            .read(move |conn| certificates::live(conn, &fingerprint, subject_serial.as_deref()))
            .await
    }

    async fn sender_certificates(&self) -> anyhow::Result<Vec<SenderCertificateRecord>> {
        self.readers.read(certificates::all).await
    }

    async fn remove_certificate(&self, id: &str, at: Timestamp) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.writer.write(move |conn| certificates::remove(conn, &id, at)).await
    }

    async fn put_housing_needs(
        &self,
        needs: crate::store::NewHousingNeeds,
    ) -> anyhow::Result<Option<crate::store::HousingNeedsRecord>> {
        self.writer.write(move |conn| matching::put(conn, &needs)).await
    }

    async fn housing_needs(&self, case_ref: &CaseRef) -> anyhow::Result<Option<crate::store::HousingNeedsRecord>> {
        let case_ref = case_ref.clone();
        self.readers.read(move |conn| matching::one(conn, &case_ref)).await
    }

    async fn housing_seekers(
        &self,
        municipality: String,
        housing_policy: String,
        only: Option<CaseRef>,
    ) -> anyhow::Result<Vec<crate::store::SeekerRow>> {
        let only = only.map(|c| c.number());
        self.readers
            .read(move |conn| matching::seekers(conn, &municipality, &housing_policy, only))
            .await
    }

    async fn answer_housing(
        &self,
        answer: crate::store::NewHousingAnswer,
    ) -> anyhow::Result<crate::store::HousingAnswerRecord> {
        self.writer.write(move |conn| matching::answer(conn, &answer)).await
    }

    async fn housing_answers(&self, case_ref: &CaseRef) -> anyhow::Result<Vec<crate::store::HousingAnswerRecord>> {
        let case_ref = case_ref.clone();
        self.readers.read(move |conn| matching::answers(conn, &case_ref)).await
    }

    async fn vacant_homes(
        &self,
        municipality: Option<String>,
        from: Timestamp,
        to: Timestamp,
        housing_policy: String,
    ) -> anyhow::Result<Vec<crate::store::VacantHomeRow>> {
        self.readers
            .read(move |conn| matching::vacant_homes(conn, municipality.as_deref(), from, to, &housing_policy))
            .await
    }

    async fn key_check(&self, value: &str) -> anyhow::Result<KeyCheck> {
        let value = value.to_owned();
        self.writer.write(move |conn| queries::key_check(conn, &value)).await
    }

    async fn ping(&self) -> anyhow::Result<()> {
        if !self.writer.writable() {
            return Err(super::Unavailable("the disk takes no writes".to_owned()).into());
        }
        self.readers
            .read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn close(&self) {
        self.readers.close();
        // Joining blocks briefly: the thread only finishes the commits already queued.
        self.writer.close();
        self.checkpointer.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file at schema version `version` (its first migrations applied, foreign keys
    /// checked) holding `rows`, as an older gateway left it.
    /// Case 1 and a message on it, rows that every schema version since 11 takes.
    const CASE_AND_MESSAGE: &str =
        "INSERT INTO cases VALUES (1, 'K-2026-000001', '751', 'citizen', x'0102', x'03', 5, 6);
         INSERT INTO messages VALUES (1, 'r-1', 'release-notice', 'kif', 'm-1', x'00', NULL, 1, 0, x'00', '{}', '[]');";

    fn database_at(path: &std::path::Path, version: usize, rows: &str) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64).unwrap();
        conn.execute_batch(rows).unwrap();
    }

    /// A database of schema version 3 with a delivered delivery and its attempt comes through
    /// migration 4 (which rebuilds the deliveries table) with both, still linked.
    #[test]
    fn the_deliveries_rebuild_keeps_the_rows_and_their_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        database_at(
            &path,
            3,
            "INSERT INTO cases VALUES (1, 'K-2026-000001', '751', 'citizen', x'00', NULL, 0, 0);
                 INSERT INTO messages VALUES (1, 'r-1', 'release-notice', 'kif', 'm-1', x'00', NULL, 1, 0, x'00', '{}', '[]');
                 INSERT INTO deliveries (id, delivery_id, message, case_id, destination, routes, state, next_attempt_at,
                     created_at, purpose)
                 VALUES (7, 'dlv_1', 1, 1, 'mail:intake', '[]', 'delivered', 0, 0, 'message');
                 INSERT INTO delivery_attempts VALUES (1, 7, 1, 0, 10, 'delivered', 250, NULL);",
        );
        let store = SqliteStore::open(&path, 1, 10, std::time::Duration::ZERO).unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let linked: (String, String, i64) = conn
            .query_row(
                "SELECT d.delivery_id, d.state, a.status FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        assert_eq!(linked, ("dlv_1".to_owned(), "delivered".to_owned(), 250));
        let digest = conn.execute(
            "INSERT INTO deliveries (delivery_id, destination, routes, state, next_attempt_at, created_at, purpose)
             VALUES ('dlv_2', 'mail:intake', '[]', 'pending', 0, 0, 'digest')",
            [],
        );
        assert!(digest.is_ok(), "a digest has no message: {digest:?}");
        let orphan = conn.execute(
            "INSERT INTO deliveries (delivery_id, destination, routes, state, next_attempt_at, created_at, purpose)
             VALUES ('dlv_3', 'mail:intake', '[]', 'pending', 0, 0, 'reminder')",
            [],
        );
        assert!(orphan.is_err(), "an alert needs its message");
        let transfer = conn.execute(
            "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at,
                 created_at, purpose)
             VALUES ('dlv_4', 1, 1, 'mail:intake', '[]', 'pending', 0, 0, 'transfer')",
            [],
        );
        assert!(transfer.is_ok(), "0006 allows the transfer alert: {transfer:?}");
    }

    /// A database of schema version 11 comes through 0012 and 0013 (which rebuilds `cases` with one
    /// index on the subject, and `deadlines` and `deliveries` with their checks as comparisons)
    /// with its case and the message on it; a second case for the same subject in the same
    /// municipality, and states and purposes outside the lists, are still refused.
    #[test]
    fn the_cases_rebuild_keeps_the_cases_and_their_uniqueness() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        database_at(&path, 11, CASE_AND_MESSAGE);
        drop(SqliteStore::open(&path, 1, 10, std::time::Duration::ZERO).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let found: (i64, String, Vec<u8>, i64) = conn
            .query_row(
                "SELECT c.id, c.case_ref, c.cpr_sealed, m.id FROM cases c JOIN messages m ON m.case_id = c.id
                 WHERE c.municipality = '751' AND c.subject_hash = x'0102'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .unwrap();
        assert_eq!(found, (1, "K-2026-000001".to_owned(), vec![3], 1));
        let twice = conn.execute(
            "INSERT INTO cases VALUES (2, 'K-2026-000002', '751', 'citizen', x'0102', NULL, 7, 7)",
            [],
        );
        assert!(twice.is_err(), "one case per subject per municipality");
        let elsewhere = conn.execute(
            "INSERT INTO cases VALUES (2, 'K-2026-000002', '101', 'citizen', x'0102', NULL, 7, 7)",
            [],
        );
        assert!(
            elsewhere.is_ok(),
            "the same subject in another municipality: {elsewhere:?}"
        );
        // 0013 also wrote the tables' CHECK lists as comparisons: they still refuse what they did.
        let insert_delivery = |state: &str, purpose: &str| {
            conn.execute(
                "INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at,
                     created_at, purpose)
                 VALUES ('dlv_' || ?1 || ?2, 1, 1, 'mail:intake', '[]', ?1, 0, 0, ?2)",
                [state, purpose],
            )
        };
        assert!(
            insert_delivery("lost", "message").is_err(),
            "a delivery state outside the list"
        );
        assert!(
            insert_delivery("pending", "gossip").is_err(),
            "a purpose outside the list"
        );
        assert!(
            insert_delivery("dead", "reminder").is_ok(),
            "a state and purpose in the lists"
        );
        let insert_deadline = |state: &str| {
            conn.execute(
                "INSERT INTO deadlines (case_id, message, policy, scope, title, state, due_at, reminders, created_at,
                     created_by)
                 VALUES (1, 1, 'p', '', 't', ?1, 0, '[]', 0, 'receipt:r-1')",
                [state],
            )
        };
        assert!(
            insert_deadline("forgotten").is_err(),
            "a deadline state outside the list"
        );
        assert!(insert_deadline("missed").is_ok(), "a deadline state in the list");
    }

    /// A database of schema version 13 comes through 0014 (which rebuilds `deadlines` without the
    /// foreign keys on its case and message) with its deadline as it was, still linked to its
    /// event and its reminder, which still refuse a deadline that does not exist.
    #[test]
    fn the_deadlines_rebuild_keeps_the_deadlines_and_their_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        database_at(
            &path,
            13,
            &[CASE_AND_MESSAGE, "
                 INSERT INTO deadlines VALUES (9, 1, 1, 'release-plan', '', 'Plan', 'team-a', 'open', 1000, '[400,700]', 1,
                     'mail:team-a', 'lead:team-a', 700, 5, 'receipt:r-1', NULL, NULL, NULL);
                 INSERT INTO deadline_events (deadline, at, event, actor, details)
                 VALUES (9, 6, 'reminded', 'scheduler', '{\"reminder\":1}');
                 INSERT INTO deliveries (delivery_id, message, case_id, destination, routes, state, next_attempt_at,
                     created_at, purpose, deadline)
                 VALUES ('dlv_1', 1, 1, 'mail:team-a', '[]', 'pending', 400, 400, 'reminder', 9);"]
                .concat(),
        );
        drop(SqliteStore::open(&path, 1, 10, std::time::Duration::ZERO).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        type Kept = (i64, i64, String, String, i64, String, i64, Option<i64>, String);
        let kept: Kept = conn
            .query_row(
                "SELECT d.case_id, d.message, d.policy, d.state, d.due_at, d.reminders, d.reminders_done,
                     d.next_alert_at, d.created_by
                 FROM deadlines d WHERE d.id = 9",
                [],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                        row.get(8)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            kept,
            (
                1,
                1,
                "release-plan".to_owned(),
                "open".to_owned(),
                1000,
                "[400,700]".to_owned(),
                1,
                Some(700),
                "receipt:r-1".to_owned()
            )
        );
        let linked: (String, String) = conn
            .query_row(
                "SELECT e.event, l.delivery_id FROM deadline_events e JOIN deliveries l ON l.deadline = e.deadline
                 WHERE e.deadline = 9",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(linked, ("reminded".to_owned(), "dlv_1".to_owned()));
        // The scheduler's alarms (0016) and the case's deadlines are found through their keys.
        let plan = |sql: &str| -> Vec<String> {
            conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([800], |row| row.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let due = plan("SELECT at, case_id FROM alarms WHERE at <= ?1 ORDER BY at, case_id");
        assert_eq!(
            due,
            vec!["SEARCH alarms USING PRIMARY KEY (at<?)".to_owned()],
            "the due alarms from the primary key, in its order"
        );
        let taken = plan("DELETE FROM alarms WHERE (at, case_id) <= (?1, ?1)");
        assert_eq!(
            taken,
            vec!["SEARCH alarms USING PRIMARY KEY ((at,case_id)<(?,?))".to_owned()],
            "the alarms taken deleted as one range of the primary key"
        );
        let of_case = plan(concat!(
            "SELECT d.id, d.next_alert_at FROM deadlines d WHERE ",
            deadlines::of_case!("d", "?1")
        ));
        assert_eq!(
            of_case,
            vec![
                "MULTI-INDEX OR".to_owned(),
                "INDEX 1".to_owned(),
                "SEARCH d USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)".to_owned(),
                "INDEX 2".to_owned(),
                "SEARCH d USING INDEX deadlines_by_case_before_blocks (case_id=?)".to_owned()
            ],
            "a case's deadlines through its block of ids, and the older ones through their index"
        );
        let orphan = conn.execute(
            "INSERT INTO deadline_events (deadline, at, event, actor, details) VALUES (10, 7, 'met', 'scheduler', '{}')",
            [],
        );
        assert!(orphan.is_err(), "an event still needs its deadline");
    }

    /// A database of schema version 15 comes through 0016 with one alarm per case at its earliest
    /// next alert (none for a case with nothing ahead) and without the index of every next alert;
    /// the tick then fires the open deadlines when they fall due.
    #[test]
    fn the_alarms_migration_gives_open_deadlines_their_alarms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let deadline = |id: i64, case: i64, state: &str, due: i64, reminders: &str, next: &str| {
            format!(
                "INSERT INTO deadlines VALUES ({id}, {case}, {case}, 'p{id}', '', 'Plan', 'team-a', '{state}', {due},
                     '{reminders}', 0, 'mail:team-a', 'lead:team-a', {next}, 5, 'receipt:r-{case}', NULL, NULL, NULL);"
            )
        };
        database_at(
            &path,
            15,
            &[
                "INSERT INTO cases VALUES (1, 'K-2026-000001', '751', 'citizen', x'01', x'03', 5, 6);
                 INSERT INTO cases VALUES (2, 'K-2026-000002', '751', 'citizen', x'02', x'03', 5, 6);
                 INSERT INTO cases VALUES (3, 'K-2026-000003', '751', 'citizen', x'03', x'03', 5, 6);
                 INSERT INTO messages VALUES (1, 'r-1', 'release-notice', 'kif', 'm-1', x'00', NULL, 1, 0, x'00', '{}', '[]');
                 INSERT INTO messages VALUES (2, 'r-2', 'release-notice', 'kif', 'm-2', x'00', NULL, 2, 0, x'00', '{}', '[]');
                 INSERT INTO messages VALUES (3, 'r-3', 'release-notice', 'kif', 'm-3', x'00', NULL, 3, 0, x'00', '{}', '[]');"
                    .to_owned(),
                deadline(1, 1, "open", 1_000, "[400]", "400"),
                deadline(2, 1, "open", 2_000, "[]", "2000"),
                deadline(3, 2, "open", 700, "[]", "700"),
                deadline(4, 3, "met", 900, "[]", "NULL"),
            ]
            .concat(),
        );
        drop(SqliteStore::open(&path, 1, 10, std::time::Duration::ZERO).unwrap());
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let alarms = deadlines::tests::alarms;
        assert_eq!(alarms(&conn), vec![(400, 1), (700, 2)]);
        let alert_index: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'deadlines_alerts'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(alert_index, 0, "the index of every next alert is gone");
        let fire = |now: i64| {
            let now = Timestamp::from_microsecond(now).unwrap();
            deadlines::fire(&conn, now, 64, jiff::SignedDuration::ZERO).unwrap()
        };
        let alerts = || -> Vec<(i64, String)> {
            conn.prepare("SELECT deadline, purpose FROM deliveries ORDER BY id")
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        assert_eq!(fire(399), 0);
        assert_eq!(fire(700), 2, "the reminder at 400 and the breach at 700");
        assert_eq!(alerts(), vec![(1, "reminder".to_owned()), (3, "escalation".to_owned())]);
        assert_eq!(
            alarms(&conn),
            vec![(1_000, 1)],
            "case 1 at its next alert, its due time"
        );
        assert_eq!(fire(2_000), 2);
        assert_eq!(alerts().len(), 4);
        assert_eq!(alarms(&conn), Vec::new());
    }

    /// A database of schema version 13 comes through 0015 (which rebuilds `deliveries` without the
    /// unique index on every delivery id) with its deliveries and their attempts, still linked;
    /// a dead letter is still found by its id through an index, and an open delivery no longer
    /// has an entry for its id.
    #[test]
    fn the_deliveries_ids_rebuild_keeps_the_rows_and_finds_dead_letters_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        database_at(
            &path,
            13,
            &[
                CASE_AND_MESSAGE,
                "
                 INSERT INTO deliveries (id, delivery_id, message, case_id, destination, routes, state, attempts,
                     next_attempt_at, created_at, finished_at, dead_reason, purpose)
                 VALUES (7, 'dlv_dead', 1, 1, 'crm', '[\"all\"]', 'dead', 1, 0, 0, 90, 'gave up', 'message'),
                        (8, 'dlv_open', 1, 1, 'mail:intake', '[]', 'pending', 0, 50, 0, NULL, NULL, 'message');
                 INSERT INTO delivery_attempts VALUES (1, 7, 1, 0, 10, 'dead', 500, 'refused');",
            ]
            .concat(),
        );
        drop(SqliteStore::open(&path, 1, 10, std::time::Duration::ZERO).unwrap());
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let rows: Vec<(i64, String, String, i64, Option<String>)> = conn
            .prepare("SELECT id, delivery_id, state, next_attempt_at, dead_reason FROM deliveries ORDER BY id")
            .unwrap()
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    7,
                    "dlv_dead".to_owned(),
                    "dead".to_owned(),
                    0,
                    Some("gave up".to_owned())
                ),
                (8, "dlv_open".to_owned(), "pending".to_owned(), 50, None),
            ]
        );
        let linked: (String, i64) = conn
            .query_row(
                "SELECT d.delivery_id, a.status FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(linked, ("dlv_dead".to_owned(), 500));
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT delivery_id, id FROM deliveries WHERE delivery_id = ?1 AND state = 'dead'",
            )
            .unwrap()
            .query_map(["dlv_dead"], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("deliveries_dead_by_id")),
            "a dead letter is found by its id without reading the table: {plan:?}"
        );
        // What `indgang replay dlv_…` does: the dead letter is put back, an open delivery is not.
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let one = |id: &str| deliveries::replay(&conn, &crate::store::Replay::One(id.to_owned()), 0, 10, now).unwrap();
        assert_eq!(one("dlv_open").0, Vec::<String>::new());
        assert_eq!(one("dlv_dead").0, vec!["dlv_dead".to_owned()]);
        assert_eq!(one("dlv_dead").0, Vec::<String>::new(), "no longer dead");
        let unique_indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_index_list('deliveries') WHERE \"unique\"",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(unique_indexes, 0, "no index of every delivery's id");
    }
}
