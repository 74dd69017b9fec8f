//! The writer's own prepared statements for the inserts and look-ups every message makes.
//!
//! rusqlite's statement cache (`prepare_cached`) finds a statement by hashing its SQL text, takes
//! it out of an LRU list and puts it back after each use, and it binds every text and blob with
//! `SQLITE_TRANSIENT`, so that SQLite copies each one. For the eight inserts of a release notice
//! that came to about a tenth of the writer's instructions (docs/benchmarks.md, "The writer's
//! statements"). [`execute`] runs the same statements without either: on the writer's connection
//! each statement is found by the address of its `&'static str` (a literal or a `static`; each use
//! of a `const` may be a copy with an address, and then a statement, of its own) and prepared once
//! for the connection's life, and its values are bound with `SQLITE_STATIC`, in place, since they outlive
//! the step and the bindings are cleared right after it. On any other connection (tests, the
//! command line) it is `prepare_cached(sql)?.execute(params)`, so callers need not know where
//! they run. [`query`] does the same for the look-ups, and hands each row's [`Columns`] over
//! where SQLite keeps them.
//!
//! The statements belong to the connection: [`WriterConnection`] owns the connection, registers it
//! for this thread and finalizes its statements before the connection closes (SQLite will not
//! close a connection that still has statements).

use rusqlite::types::{FromSql, FromSqlError, ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, ffi};
use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::ptr;

/// The registered connection of this thread and its statements, by the address of their SQL.
struct Registry {
    db: *mut ffi::sqlite3,
    statements: Vec<(*const str, *mut ffi::sqlite3_stmt)>,
    /// Queries stepping their statements now (one inside another's row is possible).
    stepping: usize,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = const {
        RefCell::new(Registry { db: ptr::null_mut(), statements: Vec::new(), stepping: 0 })
    };
}

/// The writer thread's connection: while it lives, [`execute`] on it uses the statements
/// prepared here. A thread has one at a time: a new one (the writer re-opening the database
/// after a failed write) takes over from the one before, whose statements it finalizes.
pub struct WriterConnection {
    connection: Connection,
    /// Not `Send`: the registration is this thread's, so the connection must close here.
    _here: std::marker::PhantomData<*const ()>,
}

impl WriterConnection {
    pub fn new(connection: Connection) -> WriterConnection {
        // SAFETY: the handle is only compared and used while `connection` is open: the
        // registration ends in `drop`, before the connection closes, or when another takes over.
        let db = unsafe { connection.handle() };
        let before = REGISTRY.with_borrow_mut(|registry| {
            // The statements of the one before are finalized below: none of them may be stepping.
            assert_eq!(
                registry.stepping, 0,
                "a writer connection is opened while a query of the one before reads its rows"
            );
            registry.db = db;
            std::mem::take(&mut registry.statements)
        });
        // Their connection is still open: a dropped one takes its statements with it.
        finalize(before);
        WriterConnection {
            connection,
            _here: std::marker::PhantomData,
        }
    }
}

impl std::ops::Deref for WriterConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.connection
    }
}

impl Drop for WriterConnection {
    fn drop(&mut self) {
        // SAFETY: only compared.
        let db = unsafe { self.connection.handle() };
        // `try_with`: at the thread's end the registry may be gone before this.
        let statements = REGISTRY
            .try_with(|registry| {
                let mut registry = registry.borrow_mut();
                if registry.db != db {
                    return Vec::new();
                }
                registry.db = ptr::null_mut();
                std::mem::take(&mut registry.statements)
            })
            .unwrap_or_default();
        finalize(statements);
        // The connection itself closes when the field drops, after this.
    }
}

/// Finalizes statements whose connection is open and that no one else uses.
fn finalize(statements: Vec<(*const str, *mut ffi::sqlite3_stmt)>) {
    for (_, statement) in statements {
        // SAFETY: the callers' promise.
        unsafe { ffi::sqlite3_finalize(statement) };
    }
}

/// Runs `sql`, which returns no rows, with `params`; the number of rows changed.
pub fn execute(conn: &Connection, sql: &'static str, params: &[&dyn ToSql]) -> rusqlite::Result<usize> {
    let Some((db, statement)) = kept(conn, sql)? else {
        return conn.prepare_cached(sql)?.execute(params);
    };
    // SAFETY: `statement` is the registered connection's, prepared on `db` (`kept`).
    unsafe {
        run(db, statement, params, |statement| match ffi::sqlite3_step(statement) {
            ffi::SQLITE_DONE => Ok(ffi::sqlite3_changes64(db) as usize),
            ffi::SQLITE_ROW => Err(rusqlite::Error::ExecuteReturnedResults),
            code => Err(failure(db, code)),
        })
    }
}

/// Runs the query `sql` with `params` and maps each row it returns with `row`, in order. As
/// with [`execute`], on the writer's connection on a statement of its own (and its columns read
/// where they lie), on any other through rusqlite's cache.
pub fn query<T>(
    conn: &Connection,
    sql: &'static str,
    params: &[&dyn ToSql],
    mut row: impl FnMut(&Columns<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let Some((db, statement)) = kept(conn, sql)? else {
        return conn
            .prepare_cached(sql)?
            .query_map(params, |r| row(&Columns(Row::Cached(r))))?
            .collect();
    };
    // SAFETY: as in `execute`; the columns are read only between a step that returned a row and
    // the next step or the reset, as SQLite requires. While the rows are read the statement is
    // busy, so a call for the same SQL from `row` takes rusqlite's cache instead (`kept`), and the
    // registry counts the query, so that no new writer connection finalizes it meanwhile.
    unsafe {
        run(db, statement, params, |statement| {
            let _stepping = Stepping::start();
            let mut rows = Vec::new();
            loop {
                match ffi::sqlite3_step(statement) {
                    ffi::SQLITE_ROW => rows.push(row(&Columns(Row::Here(statement)))?),
                    ffi::SQLITE_DONE => return Ok(rows),
                    code => return Err(failure(db, code)),
                }
            }
        })
    }
}

/// A query reading its rows, counted in the registry while it lives.
struct Stepping;

impl Stepping {
    fn start() -> Stepping {
        REGISTRY.with_borrow_mut(|registry| registry.stepping += 1);
        Stepping
    }
}

impl Drop for Stepping {
    fn drop(&mut self) {
        let _ = REGISTRY.try_with(|registry| registry.borrow_mut().stepping -= 1);
    }
}

/// The columns of the row a query is on. Only [`query`] makes one, and only for the call that
/// reads the row.
pub struct Columns<'a>(Row<'a>);

enum Row<'a> {
    /// A row of one of the writer's statements, which is on it.
    Here(*mut ffi::sqlite3_stmt),
    /// A row from rusqlite, on any other connection.
    Cached(&'a rusqlite::Row<'a>),
}

impl Columns<'_> {
    /// The value of column `index`, converted as rusqlite's `Row::get` converts it.
    pub fn get<T: FromSql>(&self, index: usize) -> rusqlite::Result<T> {
        let statement = match self.0 {
            Row::Cached(row) => return row.get(index),
            Row::Here(statement) => statement,
        };
        // SAFETY: `statement` is on a row (see `query`); the value is read before it moves.
        unsafe {
            if index >= ffi::sqlite3_column_count(statement) as usize {
                return Err(rusqlite::Error::InvalidColumnIndex(index));
            }
            // Not on a row (which `query` never hands over): SQLite's values would be undefined.
            if ffi::sqlite3_data_count(statement) == 0 {
                return Err(rusqlite::Error::InvalidQuery);
            }
            let value = column(statement, index as c_int)?;
            T::column_result(value).map_err(|e| match e {
                FromSqlError::InvalidType => rusqlite::Error::InvalidColumnType(
                    index,
                    c_text(ffi::sqlite3_column_name(statement, index as c_int)).unwrap_or_default(),
                    value.data_type(),
                ),
                FromSqlError::OutOfRange(i) => rusqlite::Error::IntegralValueOutOfRange(index, i),
                FromSqlError::Utf8Error(e) => rusqlite::Error::Utf8Error(index, e),
                FromSqlError::Other(e) => rusqlite::Error::FromSqlConversionFailure(index, value.data_type(), e),
                e => rusqlite::Error::FromSqlConversionFailure(index, value.data_type(), Box::new(e)),
            })
        }
    }
}

/// The value of a column of the row `statement` is on, where it lies.
unsafe fn column<'a>(statement: *mut ffi::sqlite3_stmt, index: c_int) -> rusqlite::Result<ValueRef<'a>> {
    // SAFETY: the caller's promise; text and blob pointers are valid for their byte counts until
    // the statement moves. The byte count is asked for after the pointer, as SQLite advises.
    unsafe {
        let bytes = |p: *const u8| {
            let n = ffi::sqlite3_column_bytes(statement, index) as usize;
            if n == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(p, n)
            }
        };
        Ok(match ffi::sqlite3_column_type(statement, index) {
            ffi::SQLITE_NULL => ValueRef::Null,
            ffi::SQLITE_INTEGER => ValueRef::Integer(ffi::sqlite3_column_int64(statement, index)),
            ffi::SQLITE_FLOAT => ValueRef::Real(ffi::sqlite3_column_double(statement, index)),
            ffi::SQLITE_TEXT => {
                // Even an empty text has an address; a null one means SQLite ran out of memory.
                let text = ffi::sqlite3_column_text(statement, index);
                if text.is_null() {
                    return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_NOMEM), None));
                }
                ValueRef::Text(bytes(text))
            }
            _ => {
                // A null address is an empty blob (or, with a size, memory SQLite could not get).
                let blob = ffi::sqlite3_column_blob(statement, index).cast::<u8>();
                if blob.is_null() && ffi::sqlite3_column_bytes(statement, index) != 0 {
                    return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_NOMEM), None));
                }
                ValueRef::Blob(if blob.is_null() { &[] } else { bytes(blob) })
            }
        })
    }
}

/// The writer's own statement for `sql` on `conn` and the connection's handle, prepared at its
/// first use; `None` when `conn` is not the registered writer's connection.
fn kept(conn: &Connection, sql: &'static str) -> rusqlite::Result<Option<(*mut ffi::sqlite3, *mut ffi::sqlite3_stmt)>> {
    // SAFETY: only compared with the registered handle.
    let db = unsafe { conn.handle() };
    let found = REGISTRY.with_borrow(|registry| {
        (registry.db == db).then(|| {
            registry
                .statements
                .iter()
                .find(|(text, _)| ptr::eq(*text, sql))
                .map(|(_, statement)| *statement)
        })
    });
    match found {
        None => Ok(None),
        // Stepping already (a query's `row` asking for the same SQL): rusqlite's cache has another.
        // SAFETY: the statement is the registered connection's and alive.
        Some(Some(statement)) if unsafe { ffi::sqlite3_stmt_busy(statement) } != 0 => Ok(None),
        Some(Some(statement)) => Ok(Some((db, statement))),
        Some(None) => {
            let statement = prepare(db, sql)?;
            REGISTRY.with_borrow_mut(|registry| registry.statements.push((sql, statement)));
            Ok(Some((db, statement)))
        }
    }
}

/// Binds `params` to `statement`, runs `steps` on it, then resets it and clears its bindings,
/// whatever `steps` gave.
///
/// # Safety
/// `statement` was prepared on `db`, which is open (the registration says so) and used on this
/// thread only, and no other use of the statement is in progress (the writer runs one statement
/// at a time). The values bound live in `params` and `values` until the bindings are cleared.
unsafe fn run<R>(
    db: *mut ffi::sqlite3,
    statement: *mut ffi::sqlite3_stmt,
    params: &[&dyn ToSql],
    steps: impl FnOnce(*mut ffi::sqlite3_stmt) -> rusqlite::Result<R>,
) -> rusqlite::Result<R> {
    // SAFETY: the caller's promise.
    unsafe {
        // The counts rusqlite reports: the parameters given, or one past those expected.
        let expected = ffi::sqlite3_bind_parameter_count(statement) as usize;
        if expected != params.len() {
            let given = params.len().min(expected + 1);
            return Err(rusqlite::Error::InvalidParameterCount(given, expected));
        }
        let values = params
            .iter()
            .map(|p| p.to_sql())
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // Reset and unbound when this returns or unwinds (a panic in a query's `row`), before
        // the values the bindings point at are dropped.
        let _reset = Reset(statement);
        for (index, value) in values.iter().enumerate() {
            let code = bind(statement, index as c_int + 1, value);
            if code != ffi::SQLITE_OK {
                return Err(failure(db, code));
            }
        }
        steps(statement)
    }
}

/// Resets a statement and clears its bindings when dropped.
struct Reset(*mut ffi::sqlite3_stmt);

impl Drop for Reset {
    fn drop(&mut self) {
        // SAFETY: `run`'s statement, alive until after `run` returns.
        unsafe {
            ffi::sqlite3_reset(self.0);
            ffi::sqlite3_clear_bindings(self.0);
        }
    }
}

/// A statement for the connection's life (SQLite re-prepares it after a schema change).
fn prepare(db: *mut ffi::sqlite3, sql: &str) -> rusqlite::Result<*mut ffi::sqlite3_stmt> {
    let mut statement = ptr::null_mut();
    // SAFETY: `db` is the open, registered connection; the text and its length are valid.
    let code = unsafe {
        ffi::sqlite3_prepare_v3(
            db,
            sql.as_ptr().cast::<c_char>(),
            sql.len() as c_int,
            ffi::SQLITE_PREPARE_PERSISTENT,
            &mut statement,
            ptr::null_mut(),
        )
    };
    if code != ffi::SQLITE_OK {
        // SAFETY: as above.
        return Err(unsafe { failure(db, code) });
    }
    if statement.is_null() {
        return Err(rusqlite::Error::InvalidQuery);
    }
    Ok(statement)
}

/// Binds one value where it lies (`SQLITE_STATIC`): the caller keeps it alive until the
/// bindings are cleared.
unsafe fn bind(statement: *mut ffi::sqlite3_stmt, index: c_int, value: &ToSqlOutput<'_>) -> c_int {
    let value = match value {
        ToSqlOutput::Borrowed(value) => *value,
        ToSqlOutput::Owned(value) => ValueRef::from(value),
        // The forms of rusqlite's optional features (zero blobs, function arguments, pointers),
        // which no statement here uses.
        #[allow(unreachable_patterns)]
        _ => return ffi::SQLITE_MISUSE,
    };
    // SAFETY: the caller's promise; the pointers and lengths come from live slices.
    unsafe {
        match value {
            ValueRef::Null => ffi::sqlite3_bind_null(statement, index),
            ValueRef::Integer(i) => ffi::sqlite3_bind_int64(statement, index, i),
            ValueRef::Real(r) => ffi::sqlite3_bind_double(statement, index, r),
            // An empty text or blob as rusqlite binds it: a static empty string, a zero blob;
            // never the dangling address of an empty slice.
            ValueRef::Text(text) => ffi::sqlite3_bind_text64(
                statement,
                index,
                if text.is_empty() {
                    c"".as_ptr()
                } else {
                    text.as_ptr().cast::<c_char>()
                },
                text.len() as u64,
                ffi::SQLITE_STATIC(),
                ffi::SQLITE_UTF8 as u8,
            ),
            ValueRef::Blob([]) => ffi::sqlite3_bind_zeroblob(statement, index, 0),
            ValueRef::Blob(blob) => ffi::sqlite3_bind_blob64(
                statement,
                index,
                blob.as_ptr().cast(),
                blob.len() as u64,
                ffi::SQLITE_STATIC(),
            ),
        }
    }
}

/// The error of a failed call on `db`, as rusqlite would report it: the extended code and
/// SQLite's message.
unsafe fn failure(db: *mut ffi::sqlite3, code: c_int) -> rusqlite::Error {
    // SAFETY: `db` is open; the message is SQLite's own text, copied at once.
    unsafe {
        // As rusqlite: the connection's message when it is about this code, else the code's own.
        let (extended, message) = if ffi::sqlite3_errcode(db) == code {
            (ffi::sqlite3_extended_errcode(db), ffi::sqlite3_errmsg(db))
        } else {
            (code, ffi::sqlite3_errstr(code))
        };
        rusqlite::Error::SqliteFailure(ffi::Error::new(extended), c_text(message))
    }
}

/// A text SQLite gave as a C string (a message, a column's name), copied; `None` for none.
unsafe fn c_text(text: *const c_char) -> Option<String> {
    // SAFETY: the caller's promise: null, or a C string valid for this call.
    (!text.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;
    use std::panic::AssertUnwindSafe;

    // Statics, not consts: a kept statement is found by the address of its SQL, and each use of a
    // const may have its own copy.
    static INSERT: &str = "INSERT INTO t (a, b, c, d) VALUES (?1, ?2, ?3, ?4)";

    fn table(conn: &Connection) {
        conn.execute_batch("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c BLOB, d REAL, UNIQUE (b))")
            .unwrap();
    }

    type Row = (i64, Option<String>, Option<Vec<u8>>, Option<f64>);

    fn rows(conn: &Connection) -> Vec<Row> {
        let mut statement = conn.prepare("SELECT a, b, c, d FROM t ORDER BY a").unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// On the writer's connection and on any other the same statement stores the same values
    /// (texts and blobs made for each call and dropped after it, empty ones, nulls) and fails
    /// the same way.
    #[test]
    fn the_writers_statements_store_what_the_cache_stores_and_fail_alike() {
        let plain = Connection::open_in_memory().unwrap();
        let writer = WriterConnection::new(Connection::open_in_memory().unwrap());
        for conn in [&plain, &*writer] {
            table(conn);
            for n in 0..50i64 {
                let text = format!("text {n} æøå");
                let blob = vec![n as u8; n as usize % 7];
                let real = (n % 3 != 0).then_some(n as f64 / 4.0);
                assert_eq!(execute(conn, INSERT, params![n, text, blob, real]).unwrap(), 1);
            }
            assert_eq!(
                execute(conn, INSERT, params![100, Option::<String>::None, b"", 0.5]).unwrap(),
                1
            );
            let duplicate = execute(conn, INSERT, params![101, "text 3 æøå", b"x", 1.0]).unwrap_err();
            assert_eq!(
                duplicate.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ConstraintViolation)
            );
            assert!(duplicate.to_string().contains("UNIQUE"), "{duplicate}");
            let wrong = execute(conn, INSERT, params![102, "x"]).unwrap_err();
            assert!(
                matches!(wrong, rusqlite::Error::InvalidParameterCount(2, 4)),
                "{wrong:?}"
            );
            let wrong = execute(conn, INSERT, params![102, "x", b"", 1.0, 5]).unwrap_err();
            assert!(
                matches!(wrong, rusqlite::Error::InvalidParameterCount(5, 4)),
                "{wrong:?}"
            );
            assert_eq!(execute(conn, INSERT, params![104, "", b"", -0.5]).unwrap(), 1);
            // The statement works again after each failure.
            assert_eq!(execute(conn, INSERT, params![103, "after", b"y", 2.0]).unwrap(), 1);
            let changed = execute(conn, "UPDATE t SET d = ?1 WHERE a >= ?2", params![9.0, 100]).unwrap();
            assert_eq!(changed, 3);
        }
        assert_eq!(rows(&plain), rows(&writer));
        assert_eq!(rows(&writer).len(), 53);
        assert!(rows(&writer).contains(&(104, Some(String::new()), Some(Vec::new()), Some(9.0))));
        assert_eq!(
            REGISTRY.with_borrow(|r| r.statements.len()),
            2,
            "one statement per SQL text"
        );
    }

    /// On the writer's connection and on any other a query returns the same rows, converted
    /// alike (nulls, empty texts and blobs, reals, a 16-byte blob as an array), and fails alike;
    /// a failure in the middle of the rows leaves the statement ready for the next call.
    #[test]
    fn the_writers_queries_read_what_the_cache_reads_and_fail_alike() {
        static SELECT: &str = "SELECT a, b, c, d FROM t WHERE a >= ?1 ORDER BY a";
        let plain = Connection::open_in_memory().unwrap();
        let writer = WriterConnection::new(Connection::open_in_memory().unwrap());
        let mut answers = Vec::new();
        for conn in [&plain, &*writer] {
            table(conn);
            for n in 0..20i64 {
                let text = (n % 5 != 0).then(|| format!("text {n} æøå"));
                let blob = vec![n as u8; [0, 3, 16][n as usize % 3]];
                execute(conn, INSERT, params![n, text, blob, n as f64 / 8.0]).unwrap();
            }
            execute(conn, INSERT, params![20, "", b"", 0.0]).unwrap();
            let all = query(conn, SELECT, params![0], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<Option<String>>(1)?,
                    r.get::<Vec<u8>>(2)?,
                    r.get::<f64>(3)?,
                ))
            })
            .unwrap();
            assert_eq!(all.len(), 21);
            assert_eq!(all[20], (20, Some(String::new()), Vec::new(), 0.0));
            let sixteen = query(conn, "SELECT c FROM t WHERE a = ?1", params![2], |r| {
                r.get::<[u8; 16]>(0)
            })
            .unwrap();
            assert_eq!(sixteen, [[2u8; 16]]);
            let none = query(conn, SELECT, params![100], |r| r.get::<i64>(0)).unwrap();
            assert!(none.is_empty());
            // A column that is not there, a text read as a number, a 3-byte blob as 16 bytes.
            let missing = query(conn, SELECT, params![0], |r| r.get::<i64>(4)).unwrap_err();
            assert!(matches!(missing, rusqlite::Error::InvalidColumnIndex(4)), "{missing:?}");
            let mistyped = query(conn, SELECT, params![1], |r| r.get::<i64>(1)).unwrap_err();
            assert!(
                matches!(&mistyped, rusqlite::Error::InvalidColumnType(1, name, rusqlite::types::Type::Text) if name == "b"),
                "{mistyped:?}"
            );
            let short = query(conn, "SELECT c FROM t WHERE a = ?1", params![1], |r| {
                r.get::<[u8; 16]>(0)
            })
            .unwrap_err();
            assert!(
                matches!(
                    short,
                    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, _)
                ),
                "{short:?}"
            );
            // The caller's own failure on the third row stops the query; the next call starts afresh.
            let mut seen = 0;
            let stopped = query(conn, SELECT, params![0], |r| {
                seen += 1;
                if seen == 3 {
                    Err(rusqlite::Error::InvalidQuery)
                } else {
                    r.get::<i64>(0)
                }
            });
            assert!(matches!(stopped, Err(rusqlite::Error::InvalidQuery)));
            let wrong = query(conn, SELECT, params![0, 1], |r| r.get::<i64>(0)).unwrap_err();
            assert!(
                matches!(wrong, rusqlite::Error::InvalidParameterCount(2, 1)),
                "{wrong:?}"
            );
            answers.push(
                query(conn, SELECT, params![18], |r| {
                    Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?))
                })
                .unwrap(),
            );
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(
            answers[1],
            [
                (18, Some("text 18 æøå".to_owned())),
                (19, Some("text 19 æøå".to_owned())),
                (20, Some(String::new()))
            ]
        );
        assert_eq!(
            REGISTRY.with_borrow(|r| r.statements.len()),
            3,
            "one statement per SQL text: the insert and the two queries"
        );
    }

    /// What a query's `row` might do wrongly on the writer's connection stays safe: the same SQL
    /// again runs on another statement, a panic leaves the kept statement ready for the next
    /// call, a text that is not UTF-8 fails as rusqlite fails it, and a new writer connection
    /// while rows are read is refused (its statements would go from under the query).
    #[test]
    fn a_rows_reader_cannot_upset_the_kept_statement() {
        static SELECT: &str = "SELECT a, b FROM t ORDER BY a";
        let writer = WriterConnection::new(Connection::open_in_memory().unwrap());
        table(&writer);
        for n in 1..=3i64 {
            execute(&writer, INSERT, params![n, format!("t{n}"), b"", 0.0]).unwrap();
        }
        let pairs = query(&writer, SELECT, &[], |r| {
            let inner = query(&writer, SELECT, &[], |r| r.get::<i64>(0))?;
            Ok((r.get::<i64>(0)?, inner))
        })
        .unwrap();
        assert_eq!(pairs, [(1, vec![1, 2, 3]), (2, vec![1, 2, 3]), (3, vec![1, 2, 3])]);
        let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            query(&writer, SELECT, &[], |r| -> rusqlite::Result<i64> {
                panic!("in row {}", r.get::<i64>(0)?)
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(query(&writer, SELECT, &[], |r| r.get::<i64>(0)).unwrap(), [1, 2, 3]);
        writer
            .execute_batch("UPDATE t SET b = CAST(x'ff' AS TEXT) WHERE a = 2")
            .unwrap();
        let plain = writer
            .prepare("SELECT b FROM t WHERE a = 2")
            .unwrap()
            .query_row([], |r| r.get::<_, String>(0));
        let ours = query(&writer, "SELECT b FROM t WHERE a = 2", &[], |r| r.get::<String>(0));
        assert!(matches!(plain, Err(rusqlite::Error::Utf8Error(0, _))), "{plain:?}");
        assert!(matches!(ours, Err(rusqlite::Error::Utf8Error(0, _))), "{ours:?}");
        let refused = std::panic::catch_unwind(AssertUnwindSafe(|| {
            query(&writer, SELECT, &[], |_| {
                drop(WriterConnection::new(Connection::open_in_memory().unwrap()));
                Ok(())
            })
        }));
        assert!(refused.is_err());
        assert_eq!(query(&writer, SELECT, &[], |r| r.get::<i64>(0)).unwrap(), [1, 2, 3]);
        assert_eq!(REGISTRY.with_borrow(|r| (r.statements.len(), r.stepping)), (3, 0));
    }

    /// A statement kept across a change of the schema made by another connection (a migration
    /// of `indgang migrate` while the gateway runs) is prepared again by SQLite and goes on.
    #[test]
    fn a_kept_statement_survives_a_schema_change() {
        let dir = std::env::temp_dir().join(format!("indgang-prepared-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let writer = WriterConnection::new(Connection::open(&path).unwrap());
        table(&writer);
        execute(&writer, INSERT, params![1, "one", b"1", 1.0]).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute_batch("ALTER TABLE t ADD COLUMN e TEXT NOT NULL DEFAULT 'e'; CREATE INDEX t_d ON t (d);")
            .unwrap();
        execute(&writer, INSERT, params![2, "two", b"2", 2.0]).unwrap();
        let e: Vec<String> = writer
            .prepare("SELECT e FROM t ORDER BY a")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(e, ["e", "e"]);
        assert_eq!(REGISTRY.with_borrow(|r| r.statements.len()), 1);
        drop(writer);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A dropped writer connection finalizes its statements first, so that the connection
    /// really closes (the last connection of a database in WAL mode deletes the WAL file as it
    /// closes; one left open would keep it), and the thread may register the next one.
    #[test]
    fn a_writer_connection_closes_and_the_next_one_registers() {
        let dir = std::env::temp_dir().join(format!("indgang-prepared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let wal = dir.join("t.db-wal");
        for round in 0..2 {
            let writer = WriterConnection::new(Connection::open(&path).unwrap());
            writer.execute_batch("PRAGMA journal_mode = WAL").unwrap();
            if round == 0 {
                table(&writer);
            }
            execute(&writer, INSERT, params![round, format!("r{round}"), b"", 1.0]).unwrap();
            assert!(wal.exists());
            drop(writer);
            assert!(!wal.exists(), "round {round}: the connection is still open");
        }
        assert!(REGISTRY.with_borrow(|r| r.db.is_null() && r.statements.is_empty()));
        // A new one while the one before is still open (the writer re-opening after a failed
        // write) takes over; the one before then closes without touching the new one's.
        let first = WriterConnection::new(Connection::open(&path).unwrap());
        execute(&first, INSERT, params![2, "r2", b"", 1.0]).unwrap();
        let second = WriterConnection::new(Connection::open(&path).unwrap());
        drop(first);
        execute(&second, INSERT, params![3, "r3", b"", 1.0]).unwrap();
        assert_eq!(REGISTRY.with_borrow(|r| r.statements.len()), 1);
        drop(second);
        assert!(!wal.exists());
        assert_eq!(rows(&Connection::open(&path).unwrap()).len(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
