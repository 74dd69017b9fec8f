//! Personal data at rest. CPR numbers and message bodies are stored encrypted with
//! XChaCha20-Poly1305 (random 192-bit nonces); CPR numbers are matched through a keyed hash
//! (HMAC-SHA256), so equal numbers find the same case without being stored in clear.
//!
//! Both keys derive from one 32-byte master key: from `security.key` (base64) when set, else from
//! the key file, which the first start creates with mode 0600.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

const NONCE_LEN: usize = 24;

/// No message body is larger than this (the intake limit is at most 64 MiB).
const MAX_DOCUMENT: u32 = 64 * 1024 * 1024;

pub struct Vault {
    cipher: XChaCha20Poly1305,
    match_key: [u8; 32],
    audit_key: [u8; 32],
}

impl Vault {
    pub fn from_master_key(master: &[u8; 32]) -> Vault {
        let enc = derive(master, b"indgang/encrypt/v1");
        Vault {
            cipher: XChaCha20Poly1305::new((&enc).into()),
            match_key: derive(master, b"indgang/match/v1"),
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
        // 192-bit random nonces never repeat in practice. They come from rand's thread-local
        // generator (ChaCha12, seeded from the operating system and reseeded every 64 KiB): a
        // getrandom(2) system call per nonce cost more than the encryption itself.
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .expect("encryption of an in-memory buffer");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            bail!("sealed data too short");
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| anyhow::anyhow!("sealed data does not open with this key"))
    }

    /// Seals a message body: LZ4-compressed, then encrypted. Compressing first (encrypted data does
    /// not compress) keeps two or three messages to a database page instead of one, which is
    /// what the writer and the checkpoints pay for.
    pub fn seal_document(&self, document: &[u8]) -> Vec<u8> {
        self.encrypt(&lz4_flex::compress_prepend_size(document))
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
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.match_key).expect("HMAC takes any key length");
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
    fn match_hash_is_stable_and_keyed() {
        let a = Vault::from_master_key(&[1; 32]);
        let b = Vault::from_master_key(&[2; 32]);
        assert_eq!(a.match_hash("cpr", b"x"), a.match_hash("cpr", b"x"));
        assert_ne!(a.match_hash("cpr", b"x"), b.match_hash("cpr", b"x"));
        assert_ne!(a.match_hash("cpr", b"x"), a.match_hash("offer", b"x"));
    }
}
