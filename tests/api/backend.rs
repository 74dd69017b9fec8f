//! Which store the tests run on: SQLite (a file in the test's data folder, the default) or, with
//! `INDGANG_TEST_STORAGE=postgres`, PostgreSQL, where each data folder gets a database of its
//! own (`indgang_t_<seconds>_<random>`) on the server at `INDGANG_TEST_POSTGRES`
//! (`postgres://postgres@127.0.0.1:5432/test` unless set). A test that restarts on the same
//! folder, or runs the binary on it, finds the same database (the test process remembers which
//! folder has which; nothing is written into the folder).
//!
//! A database is dropped when the app that made its folder is dropped, or once its folder is
//! gone (a test's own temporary folder): each database notes its folder in its comment, and every
//! app dropped, and the first database a run makes, drop those whose folder no longer exists.
//! The drops run on a thread of their own, one after another, and no test waits for them: on
//! PostgreSQL 15 a `DROP DATABASE` waits for a checkpoint (0.3 to 1.4 s each on the two shared
//! cores of the test machine), and waiting for them took most of the PostgreSQL run's time. What
//! is still to drop when the test process ends is dropped by the next run. When PostgreSQL is
//! asked for and cannot be reached, the test fails saying so: the PostgreSQL run is never skipped
//! silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The database of each data folder.
static DATABASES: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
const PREFIX: &str = "indgang_t_";
/// Databases of earlier runs older than this are dropped.
const STALE: Duration = Duration::from_secs(3 * 3600);

/// Whether this run is on PostgreSQL.
pub fn postgres() -> bool {
    match std::env::var("INDGANG_TEST_STORAGE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("INDGANG_TEST_STORAGE={other:?}: use sqlite or postgres"),
    }
}

/// A test that reads or changes the SQLite file itself says so here, and returns at once on a
/// PostgreSQL run (printing that it did): what it checks is the SQLite store's own.
pub fn sqlite_only(why: &str) -> bool {
    if postgres() {
        eprintln!("SQLite only, not run on PostgreSQL: {why}");
    }
    postgres()
}

/// A test of what only several processes on one database, or the PostgreSQL store itself, can
/// show says so here, and returns at once on a SQLite run (printing that it did and why).
pub fn postgres_only(why: &str) -> bool {
    if !postgres() {
        eprintln!("PostgreSQL only, run with INDGANG_TEST_STORAGE=postgres: {why}");
    }
    !postgres()
}

fn admin_url() -> String {
    std::env::var("INDGANG_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The URL of a database on the admin URL's server.
fn database_url(name: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (admin.clone(), String::new()),
    };
    let server = base.rsplit_once('/').map_or(base.as_str(), |(server, _)| server);
    format!("{server}/{name}{query}")
}

/// The settings that put the data of `data_dir` where this run keeps it: none for SQLite, the
/// storage URL of the folder's own database for PostgreSQL (made on first use).
pub fn storage_env(data_dir: &Path) -> Vec<(String, String)> {
    if !postgres() {
        return Vec::new();
    }
    let mut databases = DATABASES.lock().unwrap_or_else(|e| e.into_inner());
    let name = databases
        .get_or_insert_with(HashMap::new)
        .entry(data_dir.to_owned())
        .or_insert_with(|| create_database(data_dir))
        .clone();
    vec![("INDGANG__STORAGE__URL".to_owned(), database_url(&name))]
}

/// Drops the database of `data_dir`, if it has one, and those of data folders that are gone (on
/// the dropper's thread: this returns at once).
pub fn drop_database_of(data_dir: &Path) {
    if !postgres() {
        return;
    }
    let known = DATABASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .and_then(|d| d.remove(data_dir));
    if let Some(name) = known {
        chore(Chore::Drop(name));
    }
    drop_left_behind();
}

/// What the dropper's thread is asked to do.
enum Chore {
    Drop(String),
    Sweep,
}

/// Hands `chore` to the thread that drops databases, one after another. Sweeps asked for while
/// it was busy are done once.
fn chore(chore: Chore) {
    static DROPPER: OnceLock<Mutex<Sender<Chore>>> = OnceLock::new();
    let sender = DROPPER.get_or_init(|| {
        let (sender, chores) = channel::<Chore>();
        std::thread::Builder::new()
            .name("test-database-dropper".to_owned())
            .spawn(move || {
                while let Ok(first) = chores.recv() {
                    let mut sweep = false;
                    for chore in std::iter::once(first).chain(chores.try_iter()) {
                        match chore {
                            Chore::Drop(name) => {
                                let _ = admin(move |client| async move {
                                    client
                                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                        .await
                                });
                            }
                            Chore::Sweep => sweep = true,
                        }
                    }
                    if sweep {
                        sweep_left_behind();
                    }
                }
            })
            .expect("a thread for dropping test databases");
        Mutex::new(sender)
    });
    let _ = sender.lock().unwrap_or_else(|e| e.into_inner()).send(chore);
}

/// A new database for `data_dir`, its folder noted in the database's comment.
fn create_database(data_dir: &Path) -> String {
    static CLEANUP: Once = Once::new();
    CLEANUP.call_once(drop_left_behind);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let name = format!("{PREFIX}{now}_{}", uuid::Uuid::now_v7().simple());
    let folder = data_dir.display().to_string().replace('\'', "''");
    let statement = format!("CREATE DATABASE \"{name}\"; COMMENT ON DATABASE \"{name}\" IS '{folder}'");
    admin(move |client| async move {
        // CREATE DATABASE runs alone, outside the comment's transaction.
        let (create, comment) = statement.split_once("; ").unwrap();
        client.batch_execute(create).await?;
        client.batch_execute(comment).await
    })
    .unwrap_or_else(|e| {
        panic!(
            "INDGANG_TEST_STORAGE=postgres, but no test database could be made on {}: {e}",
            admin_url()
        )
    });
    name
}

/// Drops the test databases whose data folder is gone (their test is over, in this run or an
/// earlier one), and those without a folder noted that are older than `STALE` (on the dropper's
/// thread: this returns at once).
pub fn drop_left_behind() {
    if postgres() {
        chore(Chore::Sweep);
    }
}

fn sweep_left_behind() {
    let cutoff = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - STALE.as_secs();
    let _ = admin(move |client| async move {
        let rows = client
            .query(
                "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database
                 WHERE datname LIKE 'indgang\\_t\\_%'",
                &[],
            )
            .await?;
        for row in rows {
            let name: String = row.get(0);
            let folder: Option<String> = row.get(1);
            let made = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|secs| secs.parse::<u64>().ok());
            let left = match folder {
                Some(folder) => !Path::new(&folder).exists(),
                None => made.is_some_and(|made| made < cutoff),
            };
            if left {
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
            }
        }
        Ok(())
    });
}

/// Runs `work` on a connection to the admin database, in a thread of its own (the tests' own
/// runtime may be the current-thread kind, which must not block).
fn admin<F, Fut>(work: F) -> Result<(), String>
where
    F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let url = admin_url();
            let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{url}: {e}"))?;
            config.connect_timeout(Duration::from_secs(5));
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("PostgreSQL is not reachable at {url}: {e}"))?;
            let driver = tokio::spawn(connection);
            let result = work(client).await.map_err(|e| e.to_string());
            driver.abort();
            result
        })
    })
    .join()
    .map_err(|_| "the PostgreSQL admin thread panicked".to_owned())?
}

/// How many messages the store of `data_dir` holds, read from the database itself.
pub fn stored_messages(data_dir: &Path) -> i64 {
    first_row(
        data_dir,
        "SELECT COUNT(*) FROM messages",
        "SELECT COUNT(*)::text FROM messages",
        &[],
    )[0]
    .parse()
    .unwrap()
}

/// The first row of a query run straight on the database of `data_dir`, each column as text:
/// `sqlite` on a SQLite run, `postgres` (whose columns must be text) on a PostgreSQL run; both
/// take `args` as `?1`/`$1` …
pub fn first_row(data_dir: &Path, sqlite: &str, postgres: &str, args: &[&str]) -> Vec<String> {
    if !crate::backend::postgres() {
        let db = rusqlite::Connection::open(data_dir.join("indgang.db")).unwrap();
        return db
            .query_row(sqlite, rusqlite::params_from_iter(args), |row| {
                (0..row.as_ref().column_count())
                    .map(|i| {
                        Ok(match row.get::<_, rusqlite::types::Value>(i)? {
                            rusqlite::types::Value::Integer(n) => n.to_string(),
                            rusqlite::types::Value::Real(x) => x.to_string(),
                            rusqlite::types::Value::Text(text) => text,
                            other => format!("{other:?}"),
                        })
                    })
                    .collect()
            })
            .unwrap();
    }
    let url = storage_env(data_dir).remove(0).1;
    let sql = postgres.to_owned();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    on_database(url, move |client| async move {
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = args
            .iter()
            .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let row = client.query_one(&sql, &params).await.unwrap();
        (0..row.len()).map(|i| row.get::<_, String>(i)).collect()
    })
}

/// Runs one statement straight on the database of `data_dir` (the same SQL for both).
pub fn execute(data_dir: &Path, sql: &str) {
    if !crate::backend::postgres() {
        let db = rusqlite::Connection::open(data_dir.join("indgang.db")).unwrap();
        db.execute(sql, []).unwrap();
        return;
    }
    let url = storage_env(data_dir).remove(0).1;
    let sql = sql.to_owned();
    on_database(url, move |client| async move {
        client.batch_execute(&sql).await.unwrap();
    })
}

fn on_database<F, Fut, T>(url: String, work: F) -> T
where
    F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(connection);
            let result = work(client).await;
            driver.abort();
            result
        })
    })
    .join()
    .unwrap()
}

/// Everything the store of `data_dir` holds, as bytes to search for personal data in clear: the
/// SQLite files (database and WAL) as they are on disk, or on PostgreSQL every row of every
/// table as text, with the `BYTEA` values (`\x…`) decoded back to their bytes.
pub fn stored_bytes(data_dir: &Path) -> Vec<u8> {
    if !postgres() {
        let mut stored = Vec::new();
        for entry in std::fs::read_dir(data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_str().unwrap().starts_with("indgang.db") {
                stored.extend(std::fs::read(path).unwrap());
            }
        }
        return stored;
    }
    let url = storage_env(data_dir).remove(0).1;
    let text = on_database(url, move |client| async move {
        let tables = client
            .query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", &[])
            .await
            .unwrap();
        let mut text = String::new();
        for table in tables {
            let name: String = table.get(0);
            for row in client
                .query(&format!("SELECT t::text FROM \"{name}\" t"), &[])
                .await
                .unwrap()
            {
                text.push_str(row.get::<_, &str>(0));
                text.push('\n');
            }
        }
        text
    });
    let mut stored = text.clone().into_bytes();
    for chunk in text.split("\\\\x").skip(1).chain(text.split("\\x").skip(1)) {
        let hex: String = chunk.chars().take_while(char::is_ascii_hexdigit).collect();
        stored.extend(hex::decode(&hex[..hex.len() / 2 * 2]).unwrap_or_default());
        stored.push(b'\n');
    }
    stored
}
