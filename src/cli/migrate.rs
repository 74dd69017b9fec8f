//! `indgang migrate`: brings the database's schema up to date and stops, so that an upgrade can
//! migrate once before the new instances start (they would migrate at start too, one at a time).

use super::output::outln;
use crate::config::{Settings, StorageUrl};
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let url = settings.storage_url()?;
    match &url {
        StorageUrl::Sqlite(path) => {
            // Opening the file applies its migrations.
            let store = SqliteStore::open(path, 1, 1, std::time::Duration::ZERO)?;
            crate::store::Store::close(&store).await;
            outln!("{url}: the schema is up to date");
        }
        StorageUrl::Postgres(address) => {
            let store = PostgresStore::connect(address, 2)?;
            let applied = store.migrate().await;
            crate::store::Store::close(&store).await;
            match applied? {
                0 => outln!("{url}: the schema is up to date"),
                n => outln!("{url}: applied {n} migration(s); the schema is up to date"),
            }
        }
    }
    Ok(())
}
