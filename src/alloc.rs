//! The gateway's allocator: mimalloc, asked for plain blocks where a plain block will do.
//!
//! The `mimalloc` crate's `MiMalloc` hands every request to `mi_malloc_aligned` with the type's
//! alignment. In mimalloc 3 that takes a detour for most requests over 1 KiB whose size is not a
//! power of two (a message body, a sealed document, a canonical form): the block is allocated
//! `alignment − 1` bytes larger and the address moved up within it. Every mimalloc block is
//! aligned to 8 bytes, so a request aligned to 8 or less goes to `mi_malloc` (as Rust's own
//! `System` allocator sends such requests to `malloc`), and only larger alignments take the
//! aligned calls. docs/benchmarks.md, "Sealing through ring, and plain blocks", has the figures.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// The alignment every block `mi_malloc` returns has (a machine word).
const PLAIN: usize = std::mem::size_of::<usize>();

pub struct Allocator;

// SAFETY: every method hands the request to mimalloc with an alignment it is guaranteed to meet:
// `mi_malloc` and `mi_zalloc` return blocks aligned to a machine word (block sizes are whole words
// and a page's first block is aligned to 16), the `_aligned` calls to the alignment asked for;
// `mi_free` frees blocks of either kind. Rust's `realloc` keeps the layout's alignment, so a block
// goes back through the same kind of call it came from. (mimalloc's guarded blocks, which can be
// unaligned, exist only in its debug builds: the crate's `debug` features, not enabled here.)
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= PLAIN {
            unsafe { mi::mi_malloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= PLAIN {
            unsafe { mi::mi_zalloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= PLAIN {
            unsafe { mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            unsafe { mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for_and_keep_their_bytes() {
        let aligned = |p: *mut u8, align: usize| !p.is_null() && (p as usize).is_multiple_of(align);
        // Sizes around mimalloc's bins and the 1 KiB where the aligned call took its detour,
        // each at every alignment up to a page.
        for size in [
            1,
            7,
            8,
            9,
            15,
            16,
            24,
            100,
            1000,
            1023,
            1025,
            1500,
            4095,
            4097,
            70_000,
            5 << 20,
        ] {
            for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let p = Allocator.alloc(layout);
                    assert!(aligned(p, align), "{size} at {align}");
                    std::ptr::write_bytes(p, 0xA5, size);
                    let grown = Allocator.realloc(p, layout, size * 2 + 3);
                    assert!(aligned(grown, align), "{size} at {align}, grown");
                    assert!(std::slice::from_raw_parts(grown, size).iter().all(|&b| b == 0xA5));
                    Allocator.dealloc(grown, Layout::from_size_align(size * 2 + 3, align).unwrap());
                    let z = Allocator.alloc_zeroed(layout);
                    assert!(aligned(z, align), "{size} at {align}, zeroed");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    Allocator.dealloc(z, layout);
                }
            }
        }
    }
}
