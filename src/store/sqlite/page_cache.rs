//! A thin wrapper over SQLite's default page cache that skips truncations with nothing to drop.
//!
//! At the end of every write transaction the pager asks its page cache to drop the pages past the
//! end of the database (`xTruncate(dbSize + 1)`). SQLite's default cache (pcache1) decides whether
//! there is anything to drop from the largest key it has ever held since its last truncation, and
//! a b-tree balance raises that to 262,145: it swaps two pages through a temporary page number
//! (`PENDING_BYTE / page size + 1`). From then on every commit walks the whole hash table and every
//! page header in the cache (4,000 cache misses with `cache_size = -16384`), dropping nothing:
//! 6.65 % of the writer thread's CPU time at full speed (issue 18).
//!
//! The wrapper forwards every method to the default cache and keeps, per cache, an upper bound of
//! the keys the cache holds: the largest key `xFetch` was asked to make a page for since the last
//! truncation it forwarded, and the keys pages were moved to (`xRekey`) above that, for as long as
//! they stay there. `xTruncate(limit)` is forwarded when `limit <= bound`; otherwise no page has a
//! key at or past `limit` and the call is skipped, as pcache1 itself would skip it had it not been
//! misled by the temporary key. What SQLite stores is the same either way.
//!
//! Why the bound stays an upper bound (every page held has a key at most the fetch bound, or a
//! noted key), method by method:
//! - `xInit`, `xShutdown`, `xCachesize`, `xPagecount`: forwarded; they add no page.
//! - `xCreate`: a new cache holds no page; its bound starts at 0 (keys start at 1).
//! - `xFetch`: the only way a page enters a cache under a new key besides `xRekey`, and only with
//!   `createFlag` set: then the bound is raised to the key if it is larger, before the call (if no
//!   page is made, the bound is only higher than need be). Without `createFlag` it answers with a
//!   page the cache holds already, within the bound, or with none; SQLite asks so for the key a
//!   page is about to be moved to, the temporary one included, so that must not raise it.
//! - `xRekey(old, new)`: the page leaves `old` and holds `new`. `new` is noted when above the fetch
//!   bound. A noted `old` is forgotten: keys are unique in a cache, so nothing else holds `old`.
//!   When the notes are full, the fetch bound is raised to `new` instead (coarser, still a bound).
//! - `xUnpin(discard)`: with `discard` the page leaves the cache; a note on that page is forgotten.
//!   A note is forgotten only for the page that made it, or replaced by a later note on the same
//!   key; a page that pcache1 recycles behind our back (it may drop or reuse unpinned pages at any
//!   time, also for another cache) only leaves a stale note, which over-estimates.
//! - `xTruncate(limit)`: forwarded, the cache holds no key `>= limit`, so the fetch bound falls to
//!   `limit - 1` if it was higher and notes at or past `limit` are forgotten. Skipped, nothing
//!   changes.
//! - `xShrink`: forwarded; it only drops pages.
//! - `xDestroy`: forwarded, and the wrapper's state freed.
//!
//! A cache instance belongs to one pager, which SQLite uses from one thread at a time (under the
//! connection's mutex, or the caller's promise for a `NO_MUTEX` connection); pcache1 keeps its own
//! per-cache state without a lock for the same reason, and so does this wrapper.
//!
//! SQLite takes a page cache only before it is initialised, so [`install`] must run before the
//! process opens its first connection; `SqliteStore::open` calls it (in `open_writing`, before
//! the WAL VFS registers, which initialises SQLite) ahead of any connection. Later it is refused,
//! and SQLite goes on with its default cache: correct either way, only slower.

use rusqlite::ffi;
use std::ffi::{c_int, c_uint, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Pages moved above the fetch bound that a cache keeps track of one by one. A balance moves one
/// page at a time through the temporary key, so one is used; more fold into the fetch bound.
const NOTES: usize = 4;

/// The default page cache's methods, taken from SQLite when the wrapper is installed.
static DEFAULT: OnceLock<Forward> = OnceLock::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
static FORWARDED: AtomicU64 = AtomicU64::new(0);
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Installs the wrapper as SQLite's page cache, once per process. Returns whether it is in use:
/// `false` when SQLite was initialised before the first call (a connection was opened first), in
/// which case SQLite keeps its default cache.
pub fn install() -> bool {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut default = ffi::sqlite3_pcache_methods2 {
            iVersion: 0,
            pArg: std::ptr::null_mut(),
            xInit: None,
            xShutdown: None,
            xCreate: None,
            xCachesize: None,
            xPagecount: None,
            xFetch: None,
            xUnpin: None,
            xRekey: None,
            xTruncate: None,
            xDestroy: None,
            xShrink: None,
        };
        // SAFETY: SQLITE_CONFIG_GETPCACHE2 takes one `sqlite3_pcache_methods2*` and copies the
        // current methods into it; `default` is a valid, writable struct of that type. Like every
        // sqlite3_config call it must not race other SQLite calls: `install` runs before the
        // store's first connection, and the `Once` serialises it with itself. SQLite answers
        // SQLITE_MISUSE without touching anything once it is initialised.
        if unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, &mut default as *mut _) } != ffi::SQLITE_OK {
            return;
        }
        let Some(forward) = Forward::new(default) else {
            return;
        };
        let forward = DEFAULT.get_or_init(|| forward);
        let ours = ffi::sqlite3_pcache_methods2 {
            iVersion: 1,
            pArg: std::ptr::null_mut(),
            xInit: Some(init),
            xShutdown: forward
                .methods
                .xShutdown
                .map(|_| shutdown as unsafe extern "C" fn(*mut c_void)),
            xCreate: Some(create),
            xCachesize: Some(cachesize),
            xPagecount: Some(pagecount),
            xFetch: Some(fetch),
            xUnpin: Some(unpin),
            xRekey: Some(rekey),
            xTruncate: Some(truncate),
            xDestroy: Some(destroy),
            xShrink: Some(shrink),
        };
        // SAFETY: SQLITE_CONFIG_PCACHE2 takes one `const sqlite3_pcache_methods2*` and copies the
        // struct; the functions it names live for the whole process. Same ordering as above.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &ours as *const _) };
        INSTALLED.store(rc == ffi::SQLITE_OK, Ordering::Relaxed);
    });
    INSTALLED.load(Ordering::Relaxed)
}

/// Whether the wrapper is SQLite's page cache in this process.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Truncations passed on to the default cache, and those skipped, in this process so far.
pub fn truncations() -> (u64, u64) {
    (FORWARDED.load(Ordering::Relaxed), SKIPPED.load(Ordering::Relaxed))
}

/// A page cache's methods, the ones SQLite requires resolved.
struct Forward {
    methods: ffi::sqlite3_pcache_methods2,
    create: unsafe extern "C" fn(c_int, c_int, c_int) -> *mut ffi::sqlite3_pcache,
    cachesize: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, c_int),
    pagecount: unsafe extern "C" fn(*mut ffi::sqlite3_pcache) -> c_int,
    fetch: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, c_uint, c_int) -> *mut ffi::sqlite3_pcache_page,
    unpin: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, *mut ffi::sqlite3_pcache_page, c_int),
    rekey: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, *mut ffi::sqlite3_pcache_page, c_uint, c_uint),
    truncate: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, c_uint),
    destroy: unsafe extern "C" fn(*mut ffi::sqlite3_pcache),
}

// SAFETY: `Forward` holds function pointers and the default cache's `pArg`, which this module
// never dereferences: it only hands it back to the default cache's own xInit and xShutdown.
unsafe impl Send for Forward {}
unsafe impl Sync for Forward {}

impl Forward {
    fn new(methods: ffi::sqlite3_pcache_methods2) -> Option<Forward> {
        methods.xInit?;
        Some(Forward {
            create: methods.xCreate?,
            cachesize: methods.xCachesize?,
            pagecount: methods.xPagecount?,
            fetch: methods.xFetch?,
            unpin: methods.xUnpin?,
            rekey: methods.xRekey?,
            truncate: methods.xTruncate?,
            destroy: methods.xDestroy?,
            methods,
        })
    }
}

/// One cache: the default cache's instance and the bound of the keys it holds.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    forward: &'static Forward,
    /// The largest key `xFetch` was asked to make a page for since the last forwarded truncation.
    fetched: c_uint,
    /// Pages moved by `xRekey` to a key above `fetched`; key 0 marks a free note.
    notes: [Note; NOTES],
}

#[derive(Clone, Copy)]
struct Note {
    key: c_uint,
    page: *mut ffi::sqlite3_pcache_page,
}

const FREE: Note = Note {
    key: 0,
    page: std::ptr::null_mut(),
};

impl Cache {
    fn bound(&self) -> c_uint {
        self.notes.iter().fold(self.fetched, |bound, note| bound.max(note.key))
    }

    fn moved(&mut self, page: *mut ffi::sqlite3_pcache_page, old: c_uint, new: c_uint) {
        for note in self.notes.iter_mut().filter(|note| note.key == old || note.key == new) {
            *note = FREE;
        }
        if new <= self.fetched {
            return;
        }
        match self.notes.iter_mut().find(|note| note.key == 0) {
            Some(note) => *note = Note { key: new, page },
            None => self.fetched = new,
        }
    }

    fn discarded(&mut self, page: *mut ffi::sqlite3_pcache_page) {
        for note in self.notes.iter_mut().filter(|note| note.page == page) {
            *note = FREE;
        }
    }

    /// Whether `xTruncate(limit)` has anything to drop; if so, the bound after it.
    fn truncating(&mut self, limit: c_uint) -> bool {
        if limit > self.bound() {
            return false;
        }
        self.fetched = self.fetched.min(limit.saturating_sub(1));
        for note in self.notes.iter_mut().filter(|note| note.key >= limit) {
            *note = FREE;
        }
        true
    }
}

/// The wrapper's cache behind a handle SQLite passes back.
///
/// # Safety
/// `p` must come from [`create_over`] and not yet be destroyed, and no other reference to it may
/// be live: SQLite uses a cache from one thread at a time (see the module's documentation).
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: as the function's contract says.
    unsafe { &mut *p.cast::<Cache>() }
}

fn create_over(
    forward: &'static Forward,
    page_size: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    // SAFETY: the arguments are SQLite's own, passed on unchanged.
    let inner = unsafe { (forward.create)(page_size, extra, purgeable) };
    if inner.is_null() {
        return std::ptr::null_mut();
    }
    let cache = Cache {
        inner,
        forward,
        fetched: 0,
        notes: [FREE; NOTES],
    };
    Box::into_raw(Box::new(cache)).cast()
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    let forward = DEFAULT.get().expect("the page cache is installed with its default");
    let init = forward.methods.xInit.expect("checked in Forward::new");
    // SAFETY: SQLite serialises xInit; the default cache gets its own argument back.
    unsafe { init(forward.methods.pArg) }
}

unsafe extern "C" fn shutdown(_: *mut c_void) {
    let forward = DEFAULT.get().expect("the page cache is installed with its default");
    if let Some(shutdown) = forward.methods.xShutdown {
        // SAFETY: SQLite calls xShutdown only from sqlite3_shutdown; the argument is the default's.
        unsafe { shutdown(forward.methods.pArg) }
    }
}

unsafe extern "C" fn create(page_size: c_int, extra: c_int, purgeable: c_int) -> *mut ffi::sqlite3_pcache {
    create_over(
        DEFAULT.get().expect("the page cache is installed with its default"),
        page_size,
        extra,
        purgeable,
    )
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, pages: c_int) {
    // SAFETY: SQLite passes a cache `create` made (the contract of `cache`); same for the others.
    let cache = unsafe { cache(p) };
    // SAFETY: the default cache's own instance, with SQLite's argument.
    unsafe { (cache.forward.cachesize)(cache.inner, pages) }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: see `cachesize`.
    let cache = unsafe { cache(p) };
    // SAFETY: the default cache's own instance.
    unsafe { (cache.forward.pagecount)(cache.inner) }
}

unsafe extern "C" fn fetch(p: *mut ffi::sqlite3_pcache, key: c_uint, create: c_int) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: see `cachesize`.
    let cache = unsafe { cache(p) };
    if create != 0 && key > cache.fetched {
        cache.fetched = key;
    }
    // SAFETY: the default cache's own instance, with SQLite's arguments.
    unsafe { (cache.forward.fetch)(cache.inner, key, create) }
}

unsafe extern "C" fn unpin(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, discard: c_int) {
    // SAFETY: see `cachesize`.
    let cache = unsafe { cache(p) };
    if discard != 0 {
        cache.discarded(page);
    }
    // SAFETY: a page the default cache gave out, with SQLite's arguments.
    unsafe { (cache.forward.unpin)(cache.inner, page, discard) }
}

unsafe extern "C" fn rekey(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, old: c_uint, new: c_uint) {
    // SAFETY: see `cachesize`.
    let cache = unsafe { cache(p) };
    // SAFETY: a page the default cache gave out, with SQLite's arguments.
    unsafe { (cache.forward.rekey)(cache.inner, page, old, new) };
    cache.moved(page, old, new);
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: see `cachesize`.
    let cache = unsafe { cache(p) };
    if cache.truncating(limit) {
        FORWARDED.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the default cache's own instance, with SQLite's argument.
        unsafe { (cache.forward.truncate)(cache.inner, limit) }
    } else {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: `p` came from `Box::into_raw` in `create_over`, and SQLite never uses it again after
    // xDestroy, so the box is ours to free.
    let cache = unsafe { Box::from_raw(p.cast::<Cache>()) };
    // SAFETY: the default cache's own instance, destroyed once.
    unsafe { (cache.forward.destroy)(cache.inner) }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: see `cachesize`.
    let cache = unsafe { cache(p) };
    if let Some(shrink) = cache.forward.methods.xShrink {
        // SAFETY: the default cache's own instance.
        unsafe { shrink(cache.inner) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A page cache that keeps every page it is given and records the truncations it is asked for,
    /// standing in for the default cache, which this test process may not be able to reach (SQLite
    /// may have been initialised by another test first).
    #[derive(Default)]
    struct Mock {
        pages: HashMap<c_uint, Box<ffi::sqlite3_pcache_page>>,
        truncations: Vec<c_uint>,
    }

    fn mock<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Mock {
        // SAFETY: the tests pass only caches `mock_create` made and not yet destroyed.
        unsafe { &mut *p.cast::<Mock>() }
    }

    unsafe extern "C" fn mock_init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn mock_create(_: c_int, _: c_int, _: c_int) -> *mut ffi::sqlite3_pcache {
        Box::into_raw(Box::<Mock>::default()).cast()
    }
    unsafe extern "C" fn mock_cachesize(_: *mut ffi::sqlite3_pcache, _: c_int) {}
    unsafe extern "C" fn mock_pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
        mock(p).pages.len() as c_int
    }
    unsafe extern "C" fn mock_fetch(
        p: *mut ffi::sqlite3_pcache,
        key: c_uint,
        create: c_int,
    ) -> *mut ffi::sqlite3_pcache_page {
        let pages = &mut mock(p).pages;
        if create == 0 && !pages.contains_key(&key) {
            return std::ptr::null_mut();
        }
        let page = pages.entry(key).or_insert_with(|| {
            Box::new(ffi::sqlite3_pcache_page {
                pBuf: std::ptr::null_mut(),
                pExtra: std::ptr::null_mut(),
            })
        });
        &mut **page
    }
    unsafe extern "C" fn mock_unpin(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, discard: c_int) {
        if discard != 0 {
            mock(p).pages.retain(|_, kept| !std::ptr::eq(&**kept, page));
        }
    }
    unsafe extern "C" fn mock_rekey(
        p: *mut ffi::sqlite3_pcache,
        _: *mut ffi::sqlite3_pcache_page,
        old: c_uint,
        new: c_uint,
    ) {
        let pages = &mut mock(p).pages;
        let page = pages.remove(&old).expect("the page being moved");
        pages.insert(new, page);
    }
    unsafe extern "C" fn mock_truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
        let mock = mock(p);
        mock.truncations.push(limit);
        mock.pages.retain(|&key, _| key < limit);
    }
    unsafe extern "C" fn mock_destroy(p: *mut ffi::sqlite3_pcache) {
        // SAFETY: made by `mock_create`, destroyed once.
        drop(unsafe { Box::from_raw(p.cast::<Mock>()) });
    }

    /// The wrapper over a fresh mock cache holding pages 1..=`pages`, as after reading a database
    /// of that many pages.
    fn cache_of(pages: c_uint) -> *mut ffi::sqlite3_pcache {
        let methods = ffi::sqlite3_pcache_methods2 {
            iVersion: 1,
            pArg: std::ptr::null_mut(),
            xInit: Some(mock_init),
            xShutdown: None,
            xCreate: Some(mock_create),
            xCachesize: Some(mock_cachesize),
            xPagecount: Some(mock_pagecount),
            xFetch: Some(mock_fetch),
            xUnpin: Some(mock_unpin),
            xRekey: Some(mock_rekey),
            xTruncate: Some(mock_truncate),
            xDestroy: Some(mock_destroy),
            xShrink: None,
        };
        let forward: &'static Forward = Box::leak(Box::new(Forward::new(methods).unwrap()));
        let p = create_over(forward, 4096, 64, 1);
        for key in 1..=pages {
            assert!(!page(p, key).is_null());
        }
        p
    }

    fn page(p: *mut ffi::sqlite3_pcache, key: c_uint) -> *mut ffi::sqlite3_pcache_page {
        // SAFETY: `p` is a live wrapper cache made by `cache_of`.
        unsafe { fetch(p, key, 1) }
    }

    fn keys(p: *mut ffi::sqlite3_pcache) -> Vec<c_uint> {
        // SAFETY: `p` is a live wrapper cache made by `cache_of`.
        let mut keys: Vec<_> = mock(unsafe { cache(p) }.inner).pages.keys().copied().collect();
        keys.sort();
        keys
    }

    fn truncations(p: *mut ffi::sqlite3_pcache) -> Vec<c_uint> {
        // SAFETY: `p` is a live wrapper cache made by `cache_of`.
        mock(unsafe { cache(p) }.inner).truncations.clone()
    }

    /// `pgnoTemp` of SQLite's balance_nonroot with 4 KiB pages.
    const TEMP: c_uint = 262_145;

    #[test]
    fn a_commit_with_no_page_past_the_end_of_the_database_truncates_nothing() {
        let p = cache_of(10);
        // SAFETY: a live wrapper cache; likewise below.
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), Vec::<c_uint>::new());
        assert_eq!(keys(p), (1..=10).collect::<Vec<_>>());
        unsafe { destroy(p) };
    }

    #[test]
    fn pages_past_the_end_are_still_dropped() {
        // Two pages appended by a transaction that then rolled back.
        let p = cache_of(12);
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), vec![11]);
        assert_eq!(keys(p), (1..=10).collect::<Vec<_>>());
        // Nothing past the end any more: the next commit's truncation is skipped.
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), vec![11]);
        // A truncation below the end (a database made smaller) is passed on.
        unsafe { truncate(p, 4) };
        assert_eq!(truncations(p), vec![11, 4]);
        assert_eq!(keys(p), vec![1, 2, 3]);
        assert_eq!(unsafe { pagecount(p) }, 3);
        unsafe { destroy(p) };
    }

    #[test]
    fn a_balance_swapping_two_pages_through_the_temporary_key_leaves_nothing_to_truncate() {
        let p = cache_of(10);
        let (a, b) = (page(p, 3), page(p, 7));
        // What balance_nonroot does to put pages 3 and 7 in order: each move (sqlite3PcacheMove)
        // first looks for a page at the new key, to drop it.
        let moving = |page, old, new| unsafe {
            assert!(fetch(p, new, 0).is_null());
            rekey(p, page, old, new);
        };
        moving(a, 3, TEMP);
        moving(b, 7, 3);
        moving(a, TEMP, 7);
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), Vec::<c_uint>::new());
        assert_eq!(keys(p), (1..=10).collect::<Vec<_>>());
        unsafe { destroy(p) };
    }

    #[test]
    fn a_page_left_at_a_key_past_the_end_is_dropped() {
        let p = cache_of(10);
        unsafe { rekey(p, page(p, 3), 3, TEMP) };
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), vec![11]);
        assert_eq!(keys(p), vec![1, 2, 4, 5, 6, 7, 8, 9, 10]);
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), vec![11]);
        unsafe { destroy(p) };
    }

    #[test]
    fn a_page_moved_past_the_end_and_discarded_leaves_nothing_to_truncate() {
        let p = cache_of(10);
        let moved = page(p, 3);
        unsafe { rekey(p, moved, 3, TEMP) };
        unsafe { unpin(p, moved, 1) };
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), Vec::<c_uint>::new());
        assert_eq!(keys(p), vec![1, 2, 4, 5, 6, 7, 8, 9, 10]);
        unsafe { destroy(p) };
    }

    #[test]
    fn more_pages_moved_past_the_end_than_it_notes_are_all_dropped() {
        let p = cache_of(10);
        for (n, key) in (1..=6).enumerate() {
            unsafe { rekey(p, page(p, key), key, TEMP + n as c_uint) };
        }
        // One of them comes back below the end.
        unsafe { rekey(p, page(p, TEMP), TEMP, 1) };
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), vec![11]);
        assert_eq!(keys(p), vec![1, 7, 8, 9, 10]);
        unsafe { truncate(p, 11) };
        assert_eq!(truncations(p), vec![11]);
        unsafe { destroy(p) };
    }
}
