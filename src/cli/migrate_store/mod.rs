//! `indgang migrate-store --from sqlite:… --to postgres://…`: moves an installation from the
//! embedded SQLite store to PostgreSQL. The whole copy is one PostgreSQL transaction: it brings
//! the target's schema up to date, refuses a target that holds any data, copies every table
//! (`tables`) with binary `COPY`, sets the sequences past the copied rows (the next case gets the
//! next case number), reads the counts back from both sides and commits only when they agree.
//! Sealed values (CPR numbers, message bodies, notes) are copied as the bytes they are: the
//! PostgreSQL gateways must run with the key the SQLite data was written with.
//!
//! The SQLite file is held with an exclusive lock from the first look to the end, so that no
//! gateway writes to it meanwhile; when another process has it open (a gateway still running on
//! the folder), the command refuses before anything is copied.

mod tables;

use super::output::{Wanting, outln};
use crate::config::StorageUrl;
use crate::store::Store;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tables::{COPIED, DERIVED, Kind, LEFT_OUT, Table};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::ToSql;

#[derive(clap::Args)]
pub struct Args {
    /// The SQLite store to copy: sqlite:PATH, where PATH is the data folder or its database file.
    #[arg(long, value_name = "sqlite:PATH")]
    from: String,
    /// The PostgreSQL database to copy into (postgres://…): it must hold no data yet.
    #[arg(long, value_name = "postgres://…")]
    to: String,
}

/// How long to wait for a lock another process holds on the SQLite file for a moment (a command
/// such as `indgang token create`) before taking it as a gateway that holds it for good.
const LOCK_WAIT: Duration = Duration::from_secs(2);

pub async fn run(args: Args) -> anyhow::Result<()> {
    let source = sqlite_path(&args.from)?;
    anyhow::ensure!(
        args.to.starts_with("postgres://") || args.to.starts_with("postgresql://"),
        "--to: {:?} is not a postgres:// URL",
        crate::config::without_password(&args.to)
    );
    let target = StorageUrl::Postgres(args.to.clone());
    // Refuse at once while a gateway runs on the file, before its schema is touched.
    drop(lock(&source)?);
    // Bring an older file's schema up to date, as `indgang migrate` would, so that its columns
    // are the ones copied.
    let store = SqliteStore::open(&source, 1, 1, std::time::Duration::ZERO)
        .with_context(|| format!("opening {}", source.display()))?;
    store.close().await;
    drop(store);
    let sqlite = lock(&source)?;
    let postgres = PostgresStore::open(&args.to, 2)
        .await
        .with_context(|| format!("opening {target}"))?;
    let copied = copy(&sqlite, &postgres).await;
    postgres.close().await;
    // Nothing was written to the SQLite file: its transaction only held the lock.
    let _ = sqlite.execute_batch("ROLLBACK");
    let counts = copied?;
    outln!(
        "copied sqlite:{} to {target}: {} tables, the counts match",
        source.display(),
        counts
    );
    Ok(())
}

/// The database file that `sqlite:PATH` names: PATH itself, or `indgang.db` in the folder PATH.
fn sqlite_path(from: &str) -> anyhow::Result<PathBuf> {
    let path = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
        .with_context(|| format!("--from: {from:?} is not sqlite:PATH"))?;
    anyhow::ensure!(!path.is_empty(), "--from: {from:?} names no file");
    let path = Path::new(path);
    let file = if path.is_dir() {
        path.join("indgang.db")
    } else {
        path.to_owned()
    };
    anyhow::ensure!(
        file.is_file(),
        "--from: there is no SQLite database at {}",
        file.display()
    );
    Ok(file)
}

/// A connection to the SQLite file inside a transaction that holds the file's exclusive lock
/// (`locking_mode = EXCLUSIVE` keeps it until the connection closes): no other process reads or
/// writes it meanwhile. In WAL mode every open connection of another process holds a shared lock,
/// so a gateway that is running, even idle, is found here.
fn lock(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(LOCK_WAIT)?;
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE;")?;
    let locked = conn
        .execute_batch("BEGIN EXCLUSIVE")
        .and_then(|()| conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0)));
    match locked {
        Ok(_) => Ok(conn),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => Err(Wanting(format!(
            "{} is in use by another process (is a gateway still running on it?): stop every indgang on that \
             data folder first; nothing was copied",
            path.display()
        ))
        .into()),
        Err(e) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Copies every table in one transaction; returns how many tables, once the counts agree.
async fn copy(sqlite: &Connection, postgres: &PostgresStore) -> anyhow::Result<usize> {
    let mut client = postgres.connection().await?;
    let tx = client.transaction().await?;
    // Nobody writes to the target until this commits or rolls back (readers may read).
    let names: Vec<&str> = COPIED.iter().map(|t| t.name).collect();
    tx.batch_execute(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", ")))
        .await
        .context("locking the target's tables")?;
    let mut holding = Vec::new();
    for name in names.iter().copied().chain(LEFT_OUT.iter().map(|(name, _)| *name)) {
        let rows = postgres_count(&tx, name).await?;
        if rows > 0 {
            holding.push(format!("{name} {rows}"));
        }
    }
    if !holding.is_empty() {
        return Err(Wanting(format!(
            "the target database already holds data ({}): migrate-store fills an empty database only (a gateway \
             started on it once stores its key check); nothing was written",
            holding.join(", ")
        ))
        .into());
    }

    outln!("{:<20} {:>10} {:>10}", "table", "sqlite", "postgres");
    let mut differing = Vec::new();
    for table in COPIED {
        let written = copy_table(sqlite, &tx, table)
            .await
            .with_context(|| format!("copying {}", table.name))?;
        let source = sqlite_count(sqlite, table.name)?;
        let target = postgres_count(&tx, table.name).await?;
        outln!("{:<20} {source:>10} {target:>10}", table.name);
        if source != target || written != source as u64 {
            differing.push(format!("{} (sqlite {source}, postgres {target})", table.name));
        }
    }
    for (name, why) in LEFT_OUT.iter().chain(DERIVED) {
        outln!("{name:<20} {:>10} {:>10}  {why}", sqlite_count(sqlite, name)?, "-");
    }
    if !differing.is_empty() {
        return Err(Wanting(format!(
            "the counts differ for {}; nothing was written",
            differing.join(", ")
        ))
        .into());
    }

    for table in COPIED.iter().filter(|t| t.id_sequence) {
        let name = table.name;
        tx.batch_execute(&format!(
            "SELECT setval(pg_get_serial_sequence('{name}', 'id'), MAX(id)) FROM {name} HAVING MAX(id) IS NOT NULL"
        ))
        .await
        .with_context(|| format!("setting the sequence of {name}"))?;
    }
    // The running number of the case references: the next case is the one after the last copied.
    let last_case: Option<i64> = tx.query_one("SELECT MAX(id) FROM cases", &[]).await?.get(0);
    if let Some(last) = last_case {
        tx.execute("SELECT setval('case_numbers', $1)", &[&last])
            .await
            .context("setting case_numbers")?;
        outln!("case numbers go on after {last}");
    }
    tx.commit().await.context("committing the copy")?;
    Ok(COPIED.len())
}

fn sqlite_count(sqlite: &Connection, table: &str) -> anyhow::Result<i64> {
    Ok(sqlite.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))?)
}

async fn postgres_count(tx: &deadpool_postgres::Transaction<'_>, table: &str) -> anyhow::Result<i64> {
    Ok(tx
        .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .with_context(|| format!("counting {table}"))?
        .get(0))
}

/// One value read from SQLite, typed for PostgreSQL.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Flag(Option<bool>),
}

impl Value {
    fn read(row: &rusqlite::Row<'_>, index: usize, kind: Kind) -> rusqlite::Result<Value> {
        Ok(match kind {
            Kind::Int => Value::Int(row.get(index)?),
            Kind::Text => Value::Text(row.get(index)?),
            Kind::Bytes => Value::Bytes(row.get(index)?),
            Kind::Flag => Value::Flag(row.get::<_, Option<i64>>(index)?.map(|flag| flag != 0)),
        })
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Int(v) => v,
            Value::Text(v) => v,
            Value::Bytes(v) => v,
            Value::Flag(v) => v,
        }
    }
}

/// Streams one table from SQLite into PostgreSQL's binary `COPY`; returns the rows written.
/// `COPY` writes the given ids into identity columns too, so every reference stays as it was.
async fn copy_table(
    sqlite: &Connection,
    tx: &deadpool_postgres::Transaction<'_>,
    table: &Table,
) -> anyhow::Result<u64> {
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            table.name,
            table.column_list()
        ))
        .await?;
    let types = table.types();
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let mut statement = sqlite.prepare(&table.sqlite_select())?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let values = table
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                Value::read(row, index, column.kind).with_context(|| format!("reading {}.{}", table.name, column.name))
            })
            .collect::<anyhow::Result<Vec<Value>>>()?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::as_sql).collect();
        writer.as_mut().write(&params).await?;
    }
    Ok(writer.finish().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_a_file_or_the_database_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = format!("sqlite:{}", dir.path().display());
        let missing = sqlite_path(&folder).unwrap_err().to_string();
        assert!(missing.contains("there is no SQLite database at"), "{missing}");
        std::fs::write(dir.path().join("indgang.db"), b"").unwrap();
        assert_eq!(sqlite_path(&folder).unwrap(), dir.path().join("indgang.db"));
        let file = format!("sqlite://{}", dir.path().join("indgang.db").display());
        assert_eq!(sqlite_path(&file).unwrap(), dir.path().join("indgang.db"));
        assert!(sqlite_path("postgres://x/y").is_err());
    }

    /// A gateway holds its database open from start to stop; the copy must not begin meanwhile.
    #[test]
    fn a_database_another_connection_holds_open_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indgang.db");
        let open = Connection::open(&path).unwrap();
        open.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE meta (key TEXT, value TEXT);")
            .unwrap();
        let refused = lock(&path).unwrap_err();
        assert!(refused.downcast_ref::<Wanting>().is_some(), "{refused:#}");
        assert!(refused.to_string().contains("in use by another process"), "{refused:#}");
        drop(open);
        let held = lock(&path).expect("free once the other connection is closed");
        drop(held);
    }
}
