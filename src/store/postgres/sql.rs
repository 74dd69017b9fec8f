//! Small helpers the PostgreSQL store's SQL modules share: statements prepared once per
//! connection, instants read back from their microseconds, and which errors are worth another try.

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

pub type Params<'a> = [&'a (dyn ToSql + Sync)];

pub async fn rows<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> anyhow::Result<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

pub async fn opt<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> anyhow::Result<Option<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&statement, params).await?)
}

pub async fn one<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> anyhow::Result<Row> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_one(&statement, params).await?)
}

pub async fn exec<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> anyhow::Result<u64> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn instant(micros: i64) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::from_microsecond(micros)?)
}

/// The instant in column `index`.
pub fn at(row: &Row, index: usize) -> anyhow::Result<Timestamp> {
    instant(row.try_get(index)?)
}

/// The instant in column `index`, if any.
pub fn at_opt(row: &Row, index: usize) -> anyhow::Result<Option<Timestamp>> {
    row.try_get::<_, Option<i64>>(index)?.map(instant).transpose()
}

/// A transaction that lost a race with another (a unique key taken meanwhile, a serialisation
/// failure, a deadlock) is run again from the start, where it sees the winner's rows.
pub fn retryable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<tokio_postgres::Error>())
        .filter_map(tokio_postgres::Error::code)
        .any(|code| {
            *code == SqlState::UNIQUE_VIOLATION
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
        })
}

/// An error that means the server cannot take the work now (gone, restarting, out of
/// connections or disk) becomes `Unavailable`: the request was not filed and may be sent again,
/// as when SQLite's disk is full.
pub fn unavailable_if_down(error: anyhow::Error) -> anyhow::Error {
    let down = error
        .chain()
        .filter_map(|e| e.downcast_ref::<tokio_postgres::Error>())
        .any(|e| {
            e.is_closed()
                || e.code().is_some_and(|code| {
                    let class = &code.code()[..2];
                    // 08: connection exception; 53: insufficient resources (disk full, out of
                    // memory, too many connections); 57P0x: the server is shutting down.
                    class == "08" || class == "53" || code.code().starts_with("57P0")
                })
        });
    if down {
        super::Unavailable(format!("PostgreSQL cannot take the work now: {error:#}")).into()
    } else {
        error
    }
}
