//! The vault's sealing, natively: `Vault::encrypt` (XChaCha20-Poly1305 through HChaCha20 and
//! ring's ChaCha20-Poly1305, src/vault.rs) beside RustCrypto's `XChaCha20Poly1305`, which sealed
//! every value until December 2026, for a CPR number and for sealed bodies of typical sizes; then
//! `seal_document` (LZ4 and encryption) on the release notice the load generator sends.
//! Nanoseconds per call, the best of five rounds. `cargo bench --bench sealing [-- CALLS]`.

#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use indgang::vault::Vault;
use std::hint::black_box;
use std::time::Instant;

/// The best of five rounds of `calls` calls of `f`, in nanoseconds per call.
fn best(calls: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(calls)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let calls: u32 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let key = [7u8; 32];
    let vault = Vault::from_master_key(&key);
    // Not the vault's own key (that one is derived from the master key), which does not matter
    // for the time.
    let reference = XChaCha20Poly1305::new((&key).into());
    println!(
        "{:<34} {:>12} {:>12}",
        "XChaCha20-Poly1305, sealing", "the vault", "RustCrypto"
    );
    for len in [10usize, 1_000, 1_500, 4_000] {
        let plaintext = vec![0x5Au8; len];
        let ours = best(calls, || {
            black_box(vault.encrypt(black_box(&plaintext)));
        });
        let theirs = best(calls, || {
            let mut buffer = Vec::with_capacity(24 + len + 16);
            buffer.extend_from_slice(&[3u8; 24]);
            buffer.extend_from_slice(black_box(&plaintext));
            let nonce = [3u8; 24];
            let tag = reference
                .encrypt_in_place_detached(XNonce::from_slice(&nonce), b"", &mut buffer[24..])
                .unwrap();
            buffer.extend_from_slice(&tag);
            black_box(buffer);
        });
        println!("{:<34} {:>9.0} ns {:>9.0} ns", format!("{len} bytes"), ours, theirs);
    }
    let notice = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/examples/release-notice/valid/initial-parole.json"
    ))
    .unwrap();
    let sealed = vault.seal_document(&notice);
    let seal = best(calls, || {
        black_box(vault.seal_document(black_box(&notice)));
    });
    let open = best(calls, || {
        black_box(vault.open_document(black_box(&sealed)).unwrap());
    });
    println!(
        "seal_document, a release notice of {} bytes ({} sealed): {seal:.0} ns; open_document {open:.0} ns",
        notice.len(),
        sealed.len()
    );
}
