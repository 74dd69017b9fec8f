//! Personal data at rest. CPR numbers and message bodies are stored encrypted with
//! XChaCha20-Poly1305 (random 192-bit nonces); CPR numbers are matched through a keyed hash
//! (HMAC-SHA256), so equal numbers find the same case without being stored in clear.
//!
//! XChaCha20-Poly1305 is HChaCha20 (the `chacha20` crate) deriving a key per nonce from the
//! key and the nonce's first 16 bytes, then ChaCha20-Poly1305 (RFC 8439, ring's assembly) under
//! that key with the nonce's last 8 bytes: the construction of draft-irtf-cfrg-xchacha, the same
//! bytes `chacha20poly1305::XChaCha20Poly1305` gives (a test holds the two to it), in a third
//! of its time for a sealed body (docs/benchmarks.md, "Sealing through ring").
//!
//! Both keys derive from one 32-byte master key: from `security.key` (base64) when set, else from
//! the key file, which the first start creates with mode 0600.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use secrecy::ExposeSecret;
use sha2::Sha256;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroize;

thread_local! {
    /// LZ4's hash table for bodies under 64 KiB, one per thread (`seal_document`).
    static LZ4_TABLE: std::cell::RefCell<lz4_flex::block::CompressTable> =
        std::cell::RefCell::new(lz4_flex::block::CompressTable::small());
}

type HmacSha256 = Hmac<Sha256>;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// No message body is larger than this (the intake limit is at most 64 MiB).
const MAX_DOCUMENT: u32 = 64 * 1024 * 1024;

pub struct Vault {
    /// The XChaCha20-Poly1305 key (wiped when the vault is dropped, as RustCrypto's cipher
    /// wiped its copy).
    encrypt_key: [u8; 32],
    /// HMAC-SHA256 keyed with the match key, cloned per hash: keying hashes the padded key
    /// (two SHA-256 blocks), which a clone of this state skips.
    match_mac: HmacSha256,
    audit_key: [u8; 32],
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.encrypt_key.zeroize();
        self.audit_key.zeroize();
    }
}

impl Vault {
    pub fn from_master_key(master: &[u8; 32]) -> Vault {
        let enc = derive(master, b"indgang/encrypt/v1");
        Vault {
            encrypt_key: enc,
            match_mac: <HmacSha256 as Mac>::new_from_slice(&derive(master, b"indgang/match/v1"))
                .expect("HMAC takes any key length"),
            audit_key: derive(master, b"indgang/audit/v1"),
        }
    }

    /// The key from settings: `security.key` if set, else the key file (created when missing).
    pub fn load(settings: &crate::config::Settings) -> anyhow::Result<(Vault, bool)> {
        if let Some(key) = &settings.security.key {
            let master = decode_key(key.expose_secret()).context("security.key")?;
            return Ok((Vault::from_master_key(&master), false));
        }
        let path = settings.key_file();
        if path.exists() {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading the key file {}", path.display()))?;
            let master = decode_key(text.trim()).with_context(|| format!("the key file {}", path.display()))?;
            return Ok((Vault::from_master_key(&master), false));
        }
        let master = create_key_file(&path)?;
        Ok((Vault::from_master_key(&master), true))
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.resize(NONCE_LEN, 0);
        out.extend_from_slice(plaintext);
        self.seal_in_place(out)
    }

    /// Encrypts `buffer[NONCE_LEN..]` where it lies and appends the tag: nonce, ciphertext, tag,
    /// as `encrypt` has always stored them, in one buffer instead of a copy per step.
    fn seal_in_place(&self, mut buffer: Vec<u8>) -> Vec<u8> {
        // 192-bit random nonces never repeat in practice. They come from rand's thread-local
        // generator (ChaCha12, seeded from the operating system and reseeded every 64 KiB): a
        // getrandom(2) system call per nonce cost more than the encryption itself.
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        buffer[..NONCE_LEN].copy_from_slice(&nonce);
        let (key, nonce) = self.key_for(&nonce);
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::empty(), &mut buffer[NONCE_LEN..])
            .expect("encryption of an in-memory buffer");
        buffer.extend_from_slice(tag.as_ref());
        buffer
    }

    pub fn decrypt(&self, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            bail!("sealed data too short");
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let (key, nonce) = self.key_for(nonce.try_into().expect("split at the nonce's length"));
        let mut plain = body.to_vec();
        let opened = key
            .open_in_place(nonce, Aad::empty(), &mut plain)
            .map_err(|_| anyhow::anyhow!("sealed data does not open with this key"))?
            .len();
        plain.truncate(opened);
        Ok(plain)
    }

    /// XChaCha20's key and nonce for ChaCha20-Poly1305: HChaCha20 of the key and the nonce's
    /// first 16 bytes, and four zero bytes before the nonce's last 8.
    fn key_for(&self, nonce: &[u8; NONCE_LEN]) -> (LessSafeKey, Nonce) {
        let subkey = chacha20::hchacha::<chacha20::cipher::consts::U10>((&self.encrypt_key).into(), nonce[..16].into());
        let key = UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice()).expect("a 32-byte key");
        let mut inner = [0u8; 12];
        inner[4..].copy_from_slice(&nonce[16..]);
        (LessSafeKey::new(key), Nonce::assume_unique_for_key(inner))
    }

    /// Seals a message body: LZ4-compressed, then encrypted. Compressing first (encrypted data does
    /// not compress) keeps two or three messages to a database page instead of one, which is
    /// what the writer and the checkpoints pay for.
    /// The sealed form is `encrypt(lz4_flex::compress_prepend_size(document))`, compressed straight
    /// into the buffer that is then encrypted where it lies.
    pub fn seal_document(&self, document: &[u8]) -> Vec<u8> {
        let bound = lz4_flex::block::get_maximum_output_size(document.len());
        let mut out = vec![0u8; NONCE_LEN + 4 + bound + TAG_LEN];
        let size = u32::try_from(document.len()).expect("a message body is under 4 GiB");
        out[NONCE_LEN..NONCE_LEN + 4].copy_from_slice(&size.to_le_bytes());
        let into = &mut out[NONCE_LEN + 4..];
        // A body under 64 KiB (every message but the rarest) reuses the thread's hash table, the
        // one `compress_into` would allocate, zeroed, for each body; a larger one needs the wider
        // table, and gets one of its own as before, so the small table is never replaced.
        let compressed = if document.len() < usize::from(u16::MAX) {
            LZ4_TABLE.with_borrow_mut(|table| lz4_flex::block::compress_into_with_table(document, into, table))
        } else {
            lz4_flex::block::compress_into(document, into)
        }
        .expect("the output is as large as LZ4's bound");
        out.truncate(NONCE_LEN + 4 + compressed);
        self.seal_in_place(out)
    }

    /// Opens what `seal_document` sealed.
    pub fn open_document(&self, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        let compressed = self.decrypt(sealed)?;
        let size = compressed
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        anyhow::ensure!(
            size.is_some_and(|s| s <= MAX_DOCUMENT),
            "a sealed document has an impossible size"
        );
        lz4_flex::decompress_size_prepended(&compressed)
            .map_err(|e| anyhow::anyhow!("a sealed document is damaged: {e}"))
    }

    /// Keyed hash for matching: HMAC-SHA256 truncated to 128 bits, which keeps the indexes
    /// small while a chance collision stays out of reach (about 2^64 values for even odds).
    pub fn match_hash(&self, domain: &str, value: &[u8]) -> [u8; 16] {
        let mut mac = self.match_mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        let full = mac.finalize().into_bytes();
        full[..16].try_into().expect("a SHA-256 output has 32 bytes")
    }

    /// The key that seals the audit log's entries (store::audit).
    pub fn audit_key(&self) -> [u8; 32] {
        self.audit_key
    }

    /// A value that identifies the key without revealing it; stored with the data so that a
    /// start with the wrong key is refused instead of filing messages on new, unmatched cases.
    pub fn key_check(&self) -> String {
        hex::encode(self.match_hash("key-check", b"indgang"))
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

pub fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| anyhow::anyhow!("the key is not base64"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the key must be 32 bytes (44 characters of base64)"))
}

fn create_key_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut master = [0u8; 32];
    getrandom::fill(&mut master).map_err(|e| anyhow::anyhow!("the operating system's random source: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the key file {}", path.display()))?;
    writeln!(file, "{}", STANDARD.encode(master))?;
    file.sync_all()?;
    // The folder entry too: a power cut must not keep the data and lose its key.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(master)
}

/// A fresh random master key as base64, for `security.key`.
pub fn generate_key() -> String {
    let mut master = [0u8; 32];
    getrandom::fill(&mut master).expect("the operating system's random source");
    STANDARD.encode(master)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::{Aead, KeyInit};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};

    /// RustCrypto's XChaCha20-Poly1305 under the vault's key: what sealed every value until
    /// December 2026, and an implementation of its own to hold ring's construction to.
    fn reference(vault: &Vault) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&vault.encrypt_key).into())
    }

    #[test]
    fn sealing_gives_the_bytes_of_xchacha20_poly1305() {
        let vault = Vault::from_master_key(&[5; 32]);
        // Every length up to a few ChaCha blocks and Poly1305's 16-byte blocks either side,
        // then some a message body has; nonces of every byte value.
        let lengths = (0..=300).chain([1000, 1023, 1024, 1025, 4096, 65_537]);
        for (i, len) in lengths.enumerate() {
            let plaintext: Vec<u8> = (0..len).map(|b| (b * 31 + i) as u8).collect();
            let sealed = vault.encrypt(&plaintext);
            let (nonce, body) = sealed.split_at(NONCE_LEN);
            assert_eq!(
                reference(&vault).decrypt(XNonce::from_slice(nonce), body).unwrap(),
                plaintext,
                "length {len}"
            );
            // Every byte of the nonce different, so that halves or bytes swapped would show.
            let nonce: [u8; NONCE_LEN] = std::array::from_fn(|k| (i * 7 + k * 13) as u8);
            let mut theirs = nonce.to_vec();
            theirs.extend(
                reference(&vault)
                    .encrypt(XNonce::from_slice(&nonce), &plaintext[..])
                    .unwrap(),
            );
            assert_eq!(vault.decrypt(&theirs).unwrap(), plaintext, "length {len}");
            // A flipped bit anywhere, or a cut, does not open.
            for at in [0, NONCE_LEN, theirs.len() - 1] {
                let mut bad = theirs.clone();
                bad[at] ^= 1;
                assert!(vault.decrypt(&bad).is_err(), "length {len}, bit at {at}");
            }
            assert!(vault.decrypt(&theirs[..theirs.len() - 1]).is_err());
        }
        assert!(vault.decrypt(&[0; NONCE_LEN + TAG_LEN - 1]).is_err());
    }

    #[test]
    fn sealed_data_opens_and_is_not_plain() {
        let vault = Vault::from_master_key(&[7; 32]);
        let sealed = vault.encrypt(b"0101901234");
        assert!(!sealed.windows(10).any(|w| w == b"0101901234"));
        assert_eq!(vault.decrypt(&sealed).unwrap(), b"0101901234");
        assert!(Vault::from_master_key(&[8; 32]).decrypt(&sealed).is_err());
    }

    #[test]
    fn documents_are_compressed_before_sealing_and_open_again() {
        let vault = Vault::from_master_key(&[7; 32]);
        let document = br#"{"notes":"har en hund, har en hund, har en hund, har en hund"}"#.repeat(20);
        let sealed = vault.seal_document(&document);
        assert!(sealed.len() < document.len() / 2);
        assert_eq!(vault.open_document(&sealed).unwrap(), document);
        assert!(vault.open_document(&vault.encrypt(b"\xff\xff\xff\xffjunk")).is_err());
    }

    #[test]
    fn values_sealed_by_earlier_versions_still_open() {
        // Until December 2026 a value was sealed with `Aead::encrypt` into a fresh buffer, after
        // `lz4_flex::compress_prepend_size` for a document: the stored bytes must keep opening,
        // and the one-buffer form must be the same layout (nonce, ciphertext, tag).
        let vault = Vault::from_master_key(&[7; 32]);
        let document = br#"{"notes":"har en hund, har en hund","cpr":"0101901234"}"#.repeat(40);
        let earlier = |plaintext: &[u8]| {
            let nonce = [3u8; NONCE_LEN];
            let mut out = nonce.to_vec();
            out.extend(
                reference(&vault)
                    .encrypt(XNonce::from_slice(&nonce), plaintext)
                    .unwrap(),
            );
            out
        };
        let old_document = earlier(&lz4_flex::compress_prepend_size(&document));
        assert_eq!(vault.open_document(&old_document).unwrap(), document);
        assert_eq!(vault.decrypt(&earlier(b"0101901234")).unwrap(), b"0101901234");
        let sealed = vault.seal_document(&document);
        assert_eq!(sealed.len(), old_document.len());
        // The same compressed bytes as the earlier form, also with the thread's hash table
        // reused from one body to the next.
        for _ in 0..2 {
            let again = vault.decrypt(&vault.seal_document(&document)).unwrap();
            assert_eq!(again, lz4_flex::compress_prepend_size(&document));
        }
        let opened = vault.decrypt(&sealed).unwrap();
        assert_eq!(lz4_flex::decompress_size_prepended(&opened).unwrap(), document);
        assert_eq!(vault.encrypt(b"0101901234").len(), NONCE_LEN + 10 + TAG_LEN);
    }

    #[test]
    fn match_hash_is_stable_and_keyed() {
        let a = Vault::from_master_key(&[1; 32]);
        let b = Vault::from_master_key(&[2; 32]);
        assert_eq!(a.match_hash("cpr", b"x"), a.match_hash("cpr", b"x"));
        assert_ne!(a.match_hash("cpr", b"x"), b.match_hash("cpr", b"x"));
        assert_ne!(a.match_hash("cpr", b"x"), a.match_hash("offer", b"x"));
    }
}
