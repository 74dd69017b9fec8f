//! SQLite's page cache wrapper (src/store/sqlite/page_cache.rs) in a process of its own, where
//! opening the store is the first use of SQLite and so installs it. Every test here opens the
//! store before touching SQLite otherwise.

use indgang::store::sqlite::{SqliteStore, page_cache};
use rusqlite::Connection;

/// A key that scatters rows over the whole b-tree, so that inserts split pages in its middle.
fn key(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn value(n: u64, round: u8) -> Vec<u8> {
    (0..200)
        .map(|i| (n as u8).wrapping_add(i as u8).wrapping_mul(round))
        .collect()
}

fn insert(conn: &mut Connection, rows: std::ops::Range<u64>, round: u8) -> rusqlite::Transaction<'_> {
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare("INSERT OR REPLACE INTO scattered (k, v) VALUES (?1, ?2)")
            .unwrap();
        for n in rows {
            insert.execute((key(n), value(n, round))).unwrap();
        }
    }
    tx
}

/// Rows written over many transactions, each splitting pages of the b-tree (SQLite moves pages
/// through a temporary page number then), one transaction that grew the file rolled back, and
/// rows written after it into the pages it had used: the database is intact and every row reads
/// back as last committed, through a connection of its own; and again after the file was made
/// smaller (VACUUM).
#[test]
fn rows_written_through_page_splits_and_a_rollback_read_back_as_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let _store = SqliteStore::open(&path, 1, 16, std::time::Duration::ZERO).unwrap();
    assert!(
        page_cache::installed(),
        "the store's open installs the page cache wrapper"
    );
    let (forwarded_before, skipped_before) = page_cache::truncations();

    let mut conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA cache_size = -16384;
         CREATE TABLE scattered (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;",
    )
    .unwrap();
    for batch in 0..40 {
        insert(&mut conn, batch * 250..(batch + 1) * 250, 1).commit().unwrap();
    }
    let skipped = page_cache::truncations().1 - skipped_before;
    assert!(
        skipped >= 40,
        "commits with nothing past the end skip the truncation ({skipped} skipped)"
    );

    // A transaction that grows the file, rolled back: the pages it appended are past the end.
    insert(&mut conn, 10_000..20_000, 2).rollback().unwrap();
    assert!(
        page_cache::truncations().0 > forwarded_before,
        "the rollback's truncation is passed on"
    );
    // The same page numbers used again, with other rows; and rows overwritten.
    for batch in 0..10 {
        insert(&mut conn, 20_000 + batch * 300..20_000 + (batch + 1) * 300, 3)
            .commit()
            .unwrap();
    }
    insert(&mut conn, 0..5_000, 4).commit().unwrap();
    // The file made smaller: the cached pages past its new end must go.
    conn.execute_batch("DELETE FROM scattered WHERE k >= '8'; VACUUM;")
        .unwrap();
    insert(&mut conn, 30_000..33_000, 5).commit().unwrap();

    let reader = Connection::open(&path).unwrap();
    let check: String = reader
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut expected: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|n| (key(n), value(n, if n < 5_000 { 4 } else { 1 })))
        .chain((20_000..23_000).map(|n| (key(n), value(n, 3))))
        .filter(|(k, _)| k.as_str() < "8")
        .chain((30_000..33_000).map(|n| (key(n), value(n, 5))))
        .collect();
    expected.sort();
    let mut rows = reader.prepare("SELECT k, v FROM scattered ORDER BY k").unwrap();
    let stored: Vec<(String, Vec<u8>)> = rows
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored.len(), expected.len());
    assert!(stored == expected, "every row reads back as last committed");
}
