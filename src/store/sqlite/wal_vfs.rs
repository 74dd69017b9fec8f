//! The writer's WAL, written with one `pwrite` per 31 pages instead of two per page.
//!
//! SQLite appends a commit to the WAL frame by frame, each frame with two `write`s: its 24-byte
//! header, then its page. At full speed a commit of some 40 messages is about 100 frames, so the
//! writer made some 200 system calls per commit, and the kernel ran its page-cache write path
//! (ext4's `write_begin`/`write_end`, a folio lookup, a copy) three times per frame: once for the
//! header and twice for the page, which straddles two of the kernel's pages. In a native profile
//! that was a quarter of the writer's CPU time (docs/benchmarks.md).
//!
//! This VFS wraps the operating system's (`unix`) and changes one thing for WAL files only:
//! consecutive writes are collected in memory and written with one call per 31 pages and when
//! the commit is complete. Everything else (database and journal files, locking, shared memory)
//! is the `unix` VFS's, untouched: a non-WAL file is the `unix` VFS's own file object.
//!
//! Why a commit is in the file (in the kernel's page cache, for the syncer to fsync) before
//! anyone can see it: SQLite makes new frames visible only by publishing a new WAL-index header after the
//! commit's last frame is written, and that last frame is the one whose header carries the
//! database size (bytes 4–7 non-zero: a commit frame). The write of the page that follows a commit
//! frame's header writes out everything collected, before it returns; an error there is that
//! write's error, so SQLite fails the commit as it would have failed a direct write. Every other
//! call on the file (a read, a sync, a truncation, its size, a file control, closing it) writes
//! out what is collected first, so SQLite never sees the file differ from what it wrote. Frames of
//! a commit in progress that are collected and lost in a crash are what SQLite ignores anyway
//! (a WAL's frames count only up to its last valid commit frame).

use rusqlite::ffi;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

/// The name to open a connection with (`Connection::open_with_flags_and_vfs`).
pub const NAME: &str = "indgang-wal";
const NAME_C: &CStr = c"indgang-wal";

/// The most collected before it is written out, commit or not: the `unix` VFS takes a write's
/// size modulo 128 KiB (`seekAndWriteFd`), so no write may be larger than 31 pages. Writing out
/// at that size, rather than collecting the whole commit first, also keeps the buffer small
/// enough to stay in the CPU's cache.
const MAX_WRITE: usize = 31 * 4096;

/// The size of a WAL frame's header; every other write to a WAL file is larger (the WAL header
/// is 32 bytes, pages at least 512).
const FRAME_HEADER: usize = 24;

/// Registers the VFS (once); an error when SQLite refuses.
pub fn register() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            // SAFETY: `sqlite3_vfs_find` with a null name returns the default VFS, which lives as long
            // as the process; the VFS built from it is leaked, so it does too, as SQLite requires of a
            // registered VFS.
            unsafe {
                let unix = ffi::sqlite3_vfs_find(std::ptr::null());
                if unix.is_null() {
                    return Err("SQLite has no default VFS".to_owned());
                }
                let vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
                    iVersion: 1,
                    szOsFile: (WAL_FILE_INNER + (*unix).szOsFile as usize) as c_int,
                    mxPathname: (*unix).mxPathname,
                    pNext: std::ptr::null_mut(),
                    zName: NAME_C.as_ptr(),
                    pAppData: unix.cast(),
                    xOpen: Some(open),
                    xDelete: Some(delete),
                    xAccess: Some(access),
                    xFullPathname: Some(full_pathname),
                    // The `unix` VFS's loader ignores the VFS it is called with.
                    xDlOpen: (*unix).xDlOpen,
                    xDlError: (*unix).xDlError,
                    xDlSym: (*unix).xDlSym,
                    xDlClose: (*unix).xDlClose,
                    xRandomness: Some(randomness),
                    xSleep: Some(sleep),
                    xCurrentTime: Some(current_time),
                    xGetLastError: Some(last_error),
                    xCurrentTimeInt64: None,
                    xSetSystemCall: None,
                    xGetSystemCall: None,
                    xNextSystemCall: None,
                }));
                match ffi::sqlite3_vfs_register(vfs, 0) {
                    ffi::SQLITE_OK => Ok(()),
                    code => Err(format!("SQLite refused the WAL VFS (code {code})")),
                }
            }
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// A WAL file: this header, then (at `WAL_FILE_INNER`) the `unix` VFS's file object.
#[repr(C)]
struct WalFile {
    /// SQLite's part; first, so that a `*mut sqlite3_file` is a `*mut WalFile`.
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    /// Bytes written by SQLite and not yet to the file, which they belong at `offset` of.
    pending: Vec<u8>,
    offset: i64,
    /// A commit frame's header has been written and its page not yet: that page completes the
    /// commit, and what is collected is written out with it.
    commit: bool,
}

/// Where the `unix` file object starts in a WAL file's memory (aligned for any field of it).
const WAL_FILE_INNER: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

fn unix(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY (for every caller): SQLite passes the VFS registered above, whose `pAppData` is the
    // `unix` VFS.
    unsafe { (*vfs).pAppData.cast() }
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let unix = unix(vfs);
    // SAFETY: `file` is `szOsFile` bytes for us to fill, at least as many as the `unix` VFS needs;
    // a file that is not a WAL is the `unix` VFS's own object, with its methods, at its start.
    unsafe {
        let unix_open = (*unix).xOpen.expect("the unix VFS opens files");
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return unix_open(unix, name, file, flags, out_flags);
        }
        (*file).pMethods = std::ptr::null();
        let inner = file.cast::<u8>().add(WAL_FILE_INNER).cast::<ffi::sqlite3_file>();
        let rc = unix_open(unix, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            // SQLite closes nothing whose methods are null; the unix VFS closed its own part.
            return rc;
        }
        file.cast::<WalFile>().write(WalFile {
            base: ffi::sqlite3_file { pMethods: &WAL_METHODS },
            inner,
            pending: Vec::new(),
            offset: 0,
            commit: false,
        });
        ffi::SQLITE_OK
    }
}

/// The `unix` file object's methods.
///
/// # Safety
/// `inner` is an open file of the `unix` VFS.
unsafe fn methods(inner: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    // SAFETY: an open file's methods live as long as the VFS.
    unsafe { &*(*inner).pMethods }
}

impl WalFile {
    /// SQLite's file object as ours.
    ///
    /// # Safety
    /// `file` was opened by `open` as a WAL file and not yet closed; SQLite never calls a file's
    /// methods from two threads at once.
    unsafe fn from<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
        unsafe { &mut *file.cast::<WalFile>() }
    }

    /// Writes out what is collected (a commit frame's page still to come is still awaited).
    fn flush(&mut self) -> c_int {
        if self.pending.is_empty() {
            return ffi::SQLITE_OK;
        }
        let mut rc = ffi::SQLITE_OK;
        let mut offset = self.offset;
        for piece in self.pending.chunks(MAX_WRITE) {
            // SAFETY: `inner` is open; the piece is valid for its length.
            rc = unsafe {
                let write = methods(self.inner).xWrite.expect("files are writable");
                write(self.inner, piece.as_ptr().cast(), piece.len() as c_int, offset)
            };
            if rc != ffi::SQLITE_OK {
                break;
            }
            offset += piece.len() as i64;
        }
        self.pending.clear();
        rc
    }

    fn write(&mut self, data: &[u8], offset: i64) -> c_int {
        if !self.pending.is_empty()
            && (offset != self.offset + self.pending.len() as i64 || self.pending.len() + data.len() > MAX_WRITE)
        {
            let rc = self.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if self.pending.is_empty() {
            self.offset = offset;
        }
        self.pending.extend_from_slice(data);
        if data.len() == FRAME_HEADER {
            // Bytes 4-7: the database's size in pages after a commit, 0 in every other frame.
            self.commit |= data[4..8] != [0; 4];
            return ffi::SQLITE_OK;
        }
        if self.commit {
            self.commit = false;
            return self.flush();
        }
        ffi::SQLITE_OK
    }
}

/// Methods that write out what is collected, then do what the `unix` VFS does.
macro_rules! flushing {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite calls the methods of a file `open` made a WAL file.
            let wal = unsafe { WalFile::from(file) };
            let rc = wal.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            // SAFETY: the same call on the `unix` file object, with SQLite's arguments.
            unsafe { (methods(wal.inner).$method.expect("a version 1 method"))(wal.inner $(, $arg)*) }
        }
    };
}

flushing!(wal_read, xRead, (buffer: *mut c_void, amount: c_int, offset: i64));
flushing!(wal_truncate, xTruncate, (size: i64));
flushing!(wal_sync, xSync, (flags: c_int));
flushing!(wal_file_size, xFileSize, (size: *mut i64));
flushing!(wal_lock, xLock, (level: c_int));
flushing!(wal_unlock, xUnlock, (level: c_int));
flushing!(wal_check_reserved_lock, xCheckReservedLock, (out: *mut c_int));
flushing!(wal_file_control, xFileControl, (op: c_int, arg: *mut c_void));

/// Questions about the file, which answer with a value rather than an error code.
macro_rules! asking {
    ($name:ident, $method:ident) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file) -> c_int {
            // SAFETY: SQLite calls the methods of a file `open` made a WAL file; the same call on
            // the `unix` file object.
            unsafe {
                let wal = WalFile::from(file);
                (methods(wal.inner).$method.expect("a version 1 method"))(wal.inner)
            }
        }
    };
}

asking!(wal_sector_size, xSectorSize);
asking!(wal_device_characteristics, xDeviceCharacteristics);

unsafe extern "C" fn wal_write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: SQLite calls the methods of a file `open` made a WAL file, with `amount` bytes at
    // `data`.
    unsafe {
        let data = std::slice::from_raw_parts(data.cast::<u8>(), amount as usize);
        WalFile::from(file).write(data, offset)
    }
}

unsafe extern "C" fn wal_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once; after this its memory is SQLite's again, so our part is
    // dropped in place.
    unsafe {
        let wal = WalFile::from(file);
        let flushed = wal.flush();
        let closed = (methods(wal.inner).xClose.expect("files close"))(wal.inner);
        std::ptr::drop_in_place(file.cast::<WalFile>());
        (*file).pMethods = std::ptr::null();
        if flushed != ffi::SQLITE_OK { flushed } else { closed }
    }
}

/// Version 1: SQLite uses neither shared memory nor memory mapping on a WAL file.
static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(wal_close),
    xRead: Some(wal_read),
    xWrite: Some(wal_write),
    xTruncate: Some(wal_truncate),
    xSync: Some(wal_sync),
    xFileSize: Some(wal_file_size),
    xLock: Some(wal_lock),
    xUnlock: Some(wal_unlock),
    xCheckReservedLock: Some(wal_check_reserved_lock),
    xFileControl: Some(wal_file_control),
    xSectorSize: Some(wal_sector_size),
    xDeviceCharacteristics: Some(wal_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

// The rest of the VFS is the `unix` VFS's, called with its own VFS object.

unsafe extern "C" fn delete(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, sync: c_int) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xDelete.expect("unix VFS"))(unix, name, sync) }
}

unsafe extern "C" fn access(vfs: *mut ffi::sqlite3_vfs, name: *const c_char, flags: c_int, out: *mut c_int) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xAccess.expect("unix VFS"))(unix, name, flags, out) }
}

unsafe extern "C" fn full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    size: c_int,
    out: *mut c_char,
) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xFullPathname.expect("unix VFS"))(unix, name, size, out) }
}

unsafe extern "C" fn randomness(vfs: *mut ffi::sqlite3_vfs, size: c_int, out: *mut c_char) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xRandomness.expect("unix VFS"))(unix, size, out) }
}

unsafe extern "C" fn sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xSleep.expect("unix VFS"))(unix, micros) }
}

unsafe extern "C" fn current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xCurrentTime.expect("unix VFS"))(unix, out) }
}

unsafe extern "C" fn last_error(vfs: *mut ffi::sqlite3_vfs, size: c_int, out: *mut c_char) -> c_int {
    let unix = unix(vfs);
    // SAFETY: forwarded as SQLite called it.
    unsafe { ((*unix).xGetLastError.expect("unix VFS"))(unix, size, out) }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OpenFlags};

    fn writing(path: &std::path::Path) -> Connection {
        super::register().unwrap();
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), super::NAME).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = 20;
             PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE INDEX t_body ON t (body);",
        )
        .unwrap();
        conn
    }

    fn rows(conn: &Connection) -> (i64, i64) {
        conn.query_row("SELECT COUNT(*), COALESCE(SUM(length(body)), 0) FROM t", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap()
    }

    /// Commits of every size: one row, one over the pieces the unix VFS writes at once, and one
    /// larger than what is collected before it goes out, with a cache of 20 pages so that SQLite
    /// also spills pages to the WAL before the commit.
    fn commits(conn: &Connection) -> (i64, i64) {
        let mut expected = (0, 0);
        for (round, (rows, size)) in [(1, 100), (300, 1000), (2500, 3000), (3, 5)].into_iter().enumerate() {
            conn.execute_batch("BEGIN").unwrap();
            for i in 0..rows {
                let body: Vec<u8> = (0..size).map(|b| (b * 31 + i * 7 + round) as u8).collect();
                conn.execute("INSERT INTO t (body) VALUES (?1)", [body]).unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
            expected = (expected.0 + rows as i64, expected.1 + (rows * size) as i64);
        }
        expected
    }

    #[test]
    fn what_a_commit_wrote_is_in_the_wal_file_when_the_commit_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let conn = writing(&path);
        let expected = commits(&conn);
        // A copy of the files taken now, with the connection open and nothing checkpointed, is
        // what a crash would leave: SQLite recovers it from the WAL.
        let copy = dir.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        for name in ["a.db", "a.db-wal"] {
            std::fs::copy(dir.path().join(name), copy.join(name)).unwrap();
        }
        let recovered = Connection::open(copy.join("a.db")).unwrap();
        assert_eq!(rows(&recovered), expected);
        let check: String = recovered
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(conn);
    }

    #[test]
    fn another_connection_sees_each_commit_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let conn = writing(&path);
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let checkpointer = Connection::open(&path).unwrap();
        let mut expected = (0, 0);
        for i in 0..200_i64 {
            let count = 1 + i % 40;
            conn.execute_batch("BEGIN").unwrap();
            for _ in 0..count {
                conn.execute("INSERT INTO t (body) VALUES (randomblob(1500))", [])
                    .unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
            expected = (expected.0 + count, expected.1 + count * 1500);
            assert_eq!(rows(&reader), expected, "after commit {i}");
            if i % 50 == 49 {
                // The WAL starts over after a complete checkpoint (as the store's checkpointer
                // makes them).
                let busy: i64 = checkpointer
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(0))
                    .unwrap();
                assert_eq!(busy, 0);
            }
        }
        drop(conn);
        assert_eq!(rows(&Connection::open(&path).unwrap()), expected);
    }
}
