//! The instance master key: what protects key material and secrets at rest in the catalog.
//!
//! Taken from `BUNKER_MASTER_KEY` (64 hex digits) when set — for deployments whose secrets
//! come from an orchestrator — else from `<data>/master.key` (32 random bytes, hex, mode
//! 0600), made on first use so the embedded default needs no setup. A passphrase is not
//! offered: the scheduler must start unattended.
//!
//! Sealing is AES-256-GCM under a key derived per purpose with BLAKE3, with the purpose and
//! the row's identity as associated data, so a sealed value cannot be moved to another row.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use super::{SecurityError, SecurityResult};

/// The environment variable that overrides the key file.
pub const ENV: &str = "BUNKER_MASTER_KEY";
/// The key file's name in the data directory.
pub const FILE: &str = "master.key";

const NONCE_LEN: usize = 12;

/// The instance master key.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// `$BUNKER_MASTER_KEY`, else `<data_dir>/master.key` (made on first use).
    ///
    /// # Errors
    /// A malformed variable or file; a file that cannot be made.
    pub fn load(data_dir: &Path) -> SecurityResult<Self> {
        if let Some(hex_key) = std::env::var(ENV).ok().filter(|v| !v.trim().is_empty()) {
            return Self::from_hex(&hex_key).map_err(|e| SecurityError::Dependency(format!("{ENV}: {e}")));
        }
        let path = data_dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text).map_err(|e| SecurityError::Dependency(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::generate(&path),
            Err(e) => Err(SecurityError::Dependency(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// A key from its bytes (tests).
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn from_hex(text: &str) -> Result<Self, String> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key).map_err(|_| "must be 64 hex digits".to_owned())?;
        Ok(Self { key })
    }

    fn generate(path: &Path) -> SecurityResult<Self> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let key: [u8; 32] = random();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| SecurityError::Dependency(format!("cannot create {}: {e}", dir.display())))?;
        }
        let tmp = path.with_extension("key.tmp");
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(format!("{}\n", hex::encode(key)).as_bytes()).and_then(|()| f.sync_all()));
        written.map_err(|e| SecurityError::Dependency(format!("cannot write {}: {e}", tmp.display())))?;
        // Two processes starting at once: the first link wins and both use its key.
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&tmp);
                let text = std::fs::read_to_string(path).map_err(|e| SecurityError::Dependency(format!("cannot read {}: {e}", path.display())))?;
                Self::from_hex(&text).map_err(|e| SecurityError::Dependency(format!("{}: {e}", path.display())))
            }
            Err(e) => Err(SecurityError::Dependency(format!("cannot create {}: {e}", path.display()))),
        }
    }

    /// A 32-byte key for one purpose (`"bunker audit digest v1"`), derived with BLAKE3.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        blake3::derive_key(purpose, &self.key)
    }

    /// Seals `plain` for `purpose`, bound to `aad` (the row it belongs to):
    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, purpose: &str, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.derive(purpose).into());
        let nonce: [u8; NONCE_LEN] = random();
        let mut out = nonce.to_vec();
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`MasterKey::seal`] sealed with the same purpose and `aad`.
    ///
    /// # Errors
    /// A wrong key, purpose or `aad`, or altered bytes.
    pub fn open(&self, purpose: &str, aad: &[u8], sealed: &[u8]) -> SecurityResult<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return Err(SecurityError::Dependency("sealed value too short".into()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        let cipher = Aes256Gcm::new(&self.derive(purpose).into());
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: body, aad })
            .map_err(|_| SecurityError::Dependency(format!("cannot open a sealed {purpose} value: wrong instance master key or altered data")))
    }
}

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system's random source");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_bind_purpose_and_row() {
        let k = MasterKey::from_bytes([7; 32]);
        let sealed = k.seal("kms key material", b"key-1", b"secret");
        assert_eq!(k.open("kms key material", b"key-1", &sealed).unwrap(), b"secret");
        assert!(k.open("kms key material", b"key-2", &sealed).is_err());
        assert!(k.open("access key secret", b"key-1", &sealed).is_err());
        assert!(MasterKey::from_bytes([8; 32]).open("kms key material", b"key-1", &sealed).is_err());
    }

    #[test]
    fn the_file_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = MasterKey::load(dir.path()).unwrap();
        let b = MasterKey::load(dir.path()).unwrap();
        assert_eq!(a.key, b.key);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
