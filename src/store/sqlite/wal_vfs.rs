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
//! anyone can see it: SQLite makes new frames visible only by publishing a new WAL-index header
//! after the commit's frames are written. Only appends are collected: a frame written again in
//! place goes straight to the file, after what is collected. The commit's last frame is appended
//! with a header that carries the database's size (bytes 4–7 non-zero: a commit frame); the write
//! of the page that follows it writes out everything collected before it returns, and from then
//! on every write goes straight through until the next transaction's first frame, for SQLite may
//! still rewrite checksums or pad the commit before it publishes it. An error writing out is the
//! error of the write SQLite made, so it fails the commit as a direct write would have. Every
//! other call on the file (a read, a sync, a truncation, its size, a lock, a file control)
//! writes out what is collected first, so SQLite never reads the file otherwise than it wrote
//! it; an error there is an I/O error, which rolls the transaction back. Frames of a commit in
//! progress that are collected and lost in a crash are what SQLite ignores anyway (a WAL's
//! frames count only up to its last valid commit frame); after a rollback (`rolled_back`) and on
//! closing, what is still collected is dropped, never written over frames that another
//! connection may have appended since.

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

/// The size of a WAL frame's header. Before a commit's page every write to a WAL file is a
/// frame's header, a page (at least 512 bytes) or the WAL's header; after it SQLite may split a
/// padding frame anywhere, which is why those writes go straight through.
const FRAME_HEADER: usize = 24;

/// The size of the WAL's own header, written at its start when the WAL starts over.
const WAL_HEADER: usize = 32;

/// Registers the VFS (once); an error when SQLite refuses.
pub fn register() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            // SAFETY: `sqlite3_vfs_find` returns a built-in VFS, which lives as long as the process; the VFS built from it is leaked, so it does too, as SQLite requires of a
            // registered VFS.
            unsafe {
                // `unix` by name: the size of the pieces written out is its limit.
                let unix = ffi::sqlite3_vfs_find(c"unix".as_ptr());
                if unix.is_null() {
                    return Err("SQLite has no unix VFS".to_owned());
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
    /// Just past the furthest byte SQLite has written since the WAL's header (collected or not):
    /// a write that starts here appends.
    end: i64,
    /// A commit frame's header has been written and its page not yet: that page completes the
    /// commit, and what is collected is written out with it.
    commit: bool,
    /// The commit's page has gone out: from then on every write goes straight to the file until
    /// the next transaction's first frame (or a new WAL header). After its commit frame SQLite
    /// may still rewrite the checksums of frames it overwrote in place, the commit frame's among
    /// them, and pad the commit with copies of its last frame, and then publish the commit
    /// without another call on the file.
    through: bool,
}

/// Where the `unix` file object starts in a WAL file's memory: a multiple of 16 past the start,
/// which SQLite aligns to 8, as the `unix` file object needs.
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
            end: 0,
            commit: false,
            through: false,
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
        let reach = offset + data.len() as i64;
        let wal_header = offset == 0 && data.len() == WAL_HEADER;
        let frame_header = data.len() == FRAME_HEADER;
        // Bytes 4-7 of a frame's header: the database's size in pages after a commit, 0 in every
        // other frame.
        let commit_header = frame_header && data[4..8] != [0; 4];
        if wal_header {
            self.end = 0;
        }
        let append = offset == self.end || wal_header;
        // A frame that is not a commit's, appended, starts a transaction's frames.
        if append && (wal_header || (frame_header && !commit_header)) {
            self.through = false;
        }
        let rc = if !append || self.through {
            // An overwrite (a page written again, a checksum rewritten, frames after another
            // connection's) or what follows a commit's page: after what is collected, straight
            // to the file.
            self.direct(data, offset)
        } else {
            self.collect(data, offset)
        };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        self.end = if append { reach } else { self.end.max(reach) };
        if frame_header {
            self.commit |= commit_header;
            return ffi::SQLITE_OK;
        }
        if self.commit {
            // The commit frame's page, however it was written: everything is in the file now.
            self.commit = false;
            self.through = true;
            return self.flush();
        }
        ffi::SQLITE_OK
    }

    fn direct(&mut self, data: &[u8], offset: i64) -> c_int {
        let rc = self.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        // SAFETY: `inner` is open; SQLite's buffer is valid for the call.
        unsafe {
            let write = methods(self.inner).xWrite.expect("files are writable");
            write(self.inner, data.as_ptr().cast(), data.len() as c_int, offset)
        }
    }

    fn collect(&mut self, data: &[u8], offset: i64) -> c_int {
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
        ffi::SQLITE_OK
    }

    /// Forgets what is collected: frames of a transaction that was rolled back, which SQLite
    /// never counts and which must not be written later over frames another connection may have
    /// appended since.
    fn forget(&mut self) {
        self.pending.clear();
        self.commit = false;
    }
}

/// After a rollback on `conn` (a connection of this VFS): forgets the WAL frames it collected
/// for the transaction rolled back.
pub fn rolled_back(conn: &rusqlite::Connection) {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the connection's handle is valid while `conn` lives; SQLITE_FCNTL_JOURNAL_POINTER
    // writes the WAL's (or the rollback journal's) file object, which lives as long as the
    // connection; it is ours only if its methods are.
    unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_JOURNAL_POINTER,
            (&raw mut file).cast(),
        );
        if rc == ffi::SQLITE_OK && !file.is_null() && std::ptr::eq((*file).pMethods, &WAL_METHODS) {
            WalFile::from(file).forget();
        }
    }
}

/// Methods that write out what is collected, then do what the `unix` VFS does.
macro_rules! flushing {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite calls the methods of a file `open` made a WAL file.
            let wal = unsafe { WalFile::from(file) };
            if wal.flush() != ffi::SQLITE_OK {
                // Always an I/O error, which makes SQLite roll the whole transaction back (a
                // `SQLITE_FULL` from a read could leave it believing earlier frames written).
                return ffi::SQLITE_IOERR_WRITE;
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
        // What is still collected belongs to no commit (a commit writes out all it collected):
        // it is dropped, not written over what another connection may have appended since.
        let wal = WalFile::from(file);
        let closed = (methods(wal.inner).xClose.expect("files close"))(wal.inner);
        std::ptr::drop_in_place(file.cast::<WalFile>());
        (*file).pMethods = std::ptr::null();
        closed
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

    fn writing(path: &str, synchronous: &str) -> Connection {
        super::register().unwrap();
        let flags = OpenFlags::default() | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags_and_vfs(path, flags, super::NAME).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA cache_size = 20;
             PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE INDEX t_body ON t (body);"
        ))
        .unwrap();
        conn
    }

    fn rows(conn: &Connection) -> (i64, i64) {
        conn.query_row("SELECT COUNT(*), COALESCE(SUM(length(body)), 0) FROM t", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap()
    }

    fn commit(conn: &Connection, count: i64, size: i64) {
        conn.execute_batch("BEGIN").unwrap();
        for _ in 0..count {
            conn.execute("INSERT INTO t (body) VALUES (randomblob(?1))", [size])
                .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
    }

    /// What a crash right now would leave: a copy of the files, taken with the writing connection
    /// open and nothing checkpointed, recovered by SQLite from the WAL.
    fn recovered(dir: &std::path::Path, copy: &str) -> (i64, i64) {
        let copy = dir.join(copy);
        std::fs::create_dir(&copy).unwrap();
        for name in ["a.db", "a.db-wal"] {
            std::fs::copy(dir.join(name), copy.join(name)).unwrap();
        }
        let conn = Connection::open(copy.join("a.db")).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(check, "ok");
        rows(&conn)
    }

    /// Commits of every size, with a cache of 20 pages: one row; more pages than are written out
    /// at once; a transaction that spills pages to the WAL before its commit and writes some of them
    /// again in place (SQLite then rewrites the frames' checksums after the commit frame), last.
    #[test]
    fn every_commit_is_in_the_wal_file_when_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let conn = writing(dir.path().join("a.db").to_str().unwrap(), "NORMAL");
        let mut expected = (0, 0);
        for (round, (count, size)) in [(1, 100), (300, 1000), (3, 5), (2000, 300)].into_iter().enumerate() {
            commit(&conn, count, size);
            expected = (expected.0 + count, expected.1 + count * size);
            assert_eq!(
                recovered(dir.path(), &format!("copy{round}")),
                expected,
                "after commit {round}"
            );
        }
    }

    #[test]
    fn another_connection_sees_each_commit_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let conn = writing(path.to_str().unwrap(), "NORMAL");
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let checkpointer = Connection::open(&path).unwrap();
        let mut expected = (0, 0);
        for i in 0..200_i64 {
            let count = 1 + i % 40;
            commit(&conn, count, 1500);
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

    /// Two writing connections taking turns (two gateways on one file, or a command beside a
    /// running gateway): each one's first frame follows the other's, where it did not write
    /// last, and one of them commits a page at a time (a row in a table without an index).
    #[test]
    fn two_writers_taking_turns_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let a = writing(path.to_str().unwrap(), "NORMAL");
        a.execute_batch("CREATE TABLE u (n INTEGER NOT NULL)").unwrap();
        let flags = OpenFlags::default() | OpenFlags::SQLITE_OPEN_URI;
        let b = Connection::open_with_flags_and_vfs(&path, flags, super::NAME).unwrap();
        b.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .unwrap();
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let ones =
            |conn: &Connection| -> i64 { conn.query_row("SELECT COUNT(*) FROM u", [], |row| row.get(0)).unwrap() };
        let mut expected = (0, 0);
        for i in 0..40_i64 {
            commit(&a, 1 + i % 5, 900);
            expected = (expected.0 + 1 + i % 5, expected.1 + (1 + i % 5) * 900);
            b.execute("INSERT INTO u (n) VALUES (?1)", [i]).unwrap();
            assert_eq!((rows(&reader), ones(&reader)), (expected, i + 1), "after commit {i}");
            if i % 10 == 9 {
                assert_eq!(recovered(dir.path(), &format!("copy{i}")), expected, "after commit {i}");
                let copy = Connection::open(dir.path().join(format!("copy{i}")).join("a.db")).unwrap();
                assert_eq!(ones(&copy), i + 1, "after commit {i}");
            }
        }
    }

    /// With `synchronous = FULL` and no power-safe overwrite SQLite pads each commit to a sector
    /// with copies of its last frame, one of them split around an fsync: other connections read
    /// pages from those copies.
    #[test]
    fn a_padded_commit_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let conn = writing(&format!("file:{}?psow=0", path.display()), "FULL");
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut expected = (0, 0);
        for i in 0..50_i64 {
            let count = 1 + i % 7;
            commit(&conn, count, 1000);
            expected = (expected.0 + count, expected.1 + count * 1000);
            let check: String = reader
                .query_row("PRAGMA integrity_check", [], |row| row.get(0))
                .unwrap();
            assert_eq!(check, "ok", "after commit {i}");
            assert_eq!(rows(&reader), expected, "after commit {i}");
        }
    }
}
