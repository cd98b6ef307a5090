//! Wrapping the vault's master key material with a key-encryption key (KEK).
//!
//! The master material is made once at `init` and never changes; what protects it is
//! replaceable. Each `keys/<id>` object holds the material wrapped by one KEK. Rotating the
//! KEK writes a new key object and only then deletes the old one, so the data, index and
//! manifests are never rewritten and a crash in between leaves two usable keys, never none.
//!
//! Implementations: [`PasswordKek`] (Argon2id, for the CLI's `BUNKER_VAULT_PASSWORD`),
//! [`FileKek`] (32 random bytes in a file, for tests, benchmarks and machine setups). The
//! key service of a later issue implements [`KeyEncryptionKey`] with its account keys.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::{self, MasterKeyMaterial};
use crate::error::{Result, VaultError};
use crate::id::{KeyId, VaultId};

/// How master key material was wrapped; stored in the key object, so unwrapping needs no
/// other parameters than the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WrapScheme {
    /// AES-256-GCM under a key derived from a password with Argon2id.
    Password {
        /// Memory cost in KiB.
        m_cost_kib: u32,
        /// Iterations.
        t_cost: u32,
        /// Lanes.
        p_cost: u32,
        /// Random salt, hex.
        salt: String,
    },
    /// AES-256-GCM under a key derived with BLAKE3 from a 32-byte key file.
    KeyFile {
        /// BLAKE3 fingerprint of the key file's key (hex, 8 bytes) to tell files apart.
        fingerprint: String,
    },
}

/// Master key material wrapped by a KEK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// How it was wrapped.
    pub scheme: WrapScheme,
    /// `nonce ‖ ciphertext ‖ tag`, hex.
    pub ciphertext: String,
}

/// Something that can wrap and unwrap the vault's master key material.
///
/// `context` is bound into the wrapping as associated data (it names the vault), so a key
/// object cannot be moved to another vault.
pub trait KeyEncryptionKey: Send + Sync {
    /// Wraps the material.
    ///
    /// # Errors
    /// [`VaultError::Kek`] if the KEK cannot be used.
    fn wrap(&self, material: &MasterKeyMaterial, context: &[u8]) -> Result<WrappedKey>;

    /// Unwraps; `Ok(None)` if this KEK did not wrap `wrapped` (wrong password, other file).
    ///
    /// # Errors
    /// [`VaultError::Kek`] if the KEK cannot be used at all.
    fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<Option<MasterKeyMaterial>>;
}

fn material_from(plain: &[u8]) -> Option<MasterKeyMaterial> {
    let bytes: [u8; 32] = plain.try_into().ok()?;
    Some(MasterKeyMaterial::from_bytes(bytes))
}

/// A KEK derived from a password with Argon2id.
pub struct PasswordKek {
    password: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl std::fmt::Debug for PasswordKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordKek").field("m_cost_kib", &self.m_cost_kib).finish_non_exhaustive()
    }
}

impl PasswordKek {
    /// Default cost for new keys: 64 MiB, 3 passes, 1 lane (OWASP's Argon2id baseline).
    pub fn new(password: impl Into<String>) -> Self {
        Self { password: password.into(), m_cost_kib: 64 * 1024, t_cost: 3, p_cost: 1 }
    }

    /// Explicit cost for new keys (tests use a cheap one); unwrapping always uses the
    /// parameters stored with the key.
    pub fn with_cost(password: impl Into<String>, m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Self {
        Self { password: password.into(), m_cost_kib, t_cost, p_cost }
    }

    fn derive(&self, m: u32, t: u32, p: u32, salt: &[u8]) -> Result<[u8; 32]> {
        let kek_err = |e: argon2::Error| VaultError::Kek { reason: format!("argon2id: {e}") };
        let params = argon2::Params::new(m, t, p, Some(32)).map_err(kek_err)?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        argon.hash_password_into(self.password.as_bytes(), salt, &mut out).map_err(kek_err)?;
        Ok(out)
    }
}

impl KeyEncryptionKey for PasswordKek {
    fn wrap(&self, material: &MasterKeyMaterial, context: &[u8]) -> Result<WrappedKey> {
        let salt: [u8; 16] = crypto::random_array();
        let kek = self.derive(self.m_cost_kib, self.t_cost, self.p_cost, &salt)?;
        Ok(WrappedKey {
            scheme: WrapScheme::Password {
                m_cost_kib: self.m_cost_kib,
                t_cost: self.t_cost,
                p_cost: self.p_cost,
                salt: hex::encode(salt),
            },
            ciphertext: hex::encode(crypto::wrap_with(&kek, context, material.expose())),
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<Option<MasterKeyMaterial>> {
        let WrapScheme::Password { m_cost_kib, t_cost, p_cost, salt } = &wrapped.scheme else {
            return Ok(None);
        };
        // Refuse absurd stored costs instead of allocating whatever a damaged file says.
        if *m_cost_kib > 4 * 1024 * 1024 || *t_cost > 100 || *p_cost > 64 {
            return Err(VaultError::Kek { reason: "stored argon2id cost is out of range".into() });
        }
        let (Ok(salt), Ok(sealed)) = (hex::decode(salt), hex::decode(&wrapped.ciphertext)) else {
            return Ok(None);
        };
        let kek = self.derive(*m_cost_kib, *t_cost, *p_cost, &salt)?;
        Ok(crypto::unwrap_with(&kek, context, &sealed).ok().and_then(|p| material_from(&p)))
    }
}

/// A KEK read from a file holding 32 random bytes (raw, or 64 hex digits).
pub struct FileKek {
    key: [u8; 32],
    path: PathBuf,
}

impl std::fmt::Debug for FileKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKek").field("path", &self.path).finish_non_exhaustive()
    }
}

const CONTEXT_KEY_FILE: &str = "bunker-vault v1 2025-01 key file wrapping key";

impl FileKek {
    /// Reads a key file.
    ///
    /// # Errors
    /// [`VaultError::Io`] if unreadable, [`VaultError::Kek`] if not 32 bytes or 64 hex digits.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let raw = std::fs::read(path).map_err(|e| VaultError::io("read key file", path, e))?;
        let key: [u8; 32] = if raw.len() == 32 {
            raw.as_slice().try_into().map_err(|_| VaultError::Kek { reason: "key file".into() })?
        } else {
            let text = String::from_utf8_lossy(&raw);
            let mut out = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut out).map_err(|_| VaultError::Kek {
                reason: format!("`{}` must hold 32 bytes or 64 hex digits", path.display()),
            })?;
            out
        };
        Ok(Self { key, path: path.to_owned() })
    }

    /// Writes a new random key file (hex, mode 0600) and returns it. Fails if it exists.
    ///
    /// # Errors
    /// [`VaultError::Io`] if the file exists or cannot be written.
    pub fn generate(path: impl AsRef<Path>) -> Result<Self> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = path.as_ref();
        let key: [u8; 32] = crypto::random_array();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| VaultError::io("create key file", path, e))?;
        f.write_all(format!("{}\n", hex::encode(key)).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| VaultError::io("write key file", path, e))?;
        Ok(Self { key, path: path.to_owned() })
    }

    fn wrapping_key(&self) -> [u8; 32] {
        blake3::derive_key(CONTEXT_KEY_FILE, &self.key)
    }

    fn fingerprint(&self) -> String {
        hex::encode(&blake3::hash(&self.wrapping_key()).as_bytes()[..8])
    }
}

impl KeyEncryptionKey for FileKek {
    fn wrap(&self, material: &MasterKeyMaterial, context: &[u8]) -> Result<WrappedKey> {
        Ok(WrappedKey {
            scheme: WrapScheme::KeyFile { fingerprint: self.fingerprint() },
            ciphertext: hex::encode(crypto::wrap_with(&self.wrapping_key(), context, material.expose())),
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<Option<MasterKeyMaterial>> {
        let WrapScheme::KeyFile { fingerprint } = &wrapped.scheme else { return Ok(None) };
        if *fingerprint != self.fingerprint() {
            return Ok(None);
        }
        let Ok(sealed) = hex::decode(&wrapped.ciphertext) else { return Ok(None) };
        Ok(crypto::unwrap_with(&self.wrapping_key(), context, &sealed).ok().and_then(|p| material_from(&p)))
    }
}

/// A KEK over the versions of one key of the key service: 32-byte materials, oldest first.
/// Wraps with the newest; unwraps with whichever version wrapped (told apart by the same
/// fingerprint a [`FileKek`] writes, so a key file imported as a first version keeps
/// opening the vaults it protected).
pub struct VersionedKek {
    versions: Vec<[u8; 32]>,
}

impl std::fmt::Debug for VersionedKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedKek").field("versions", &self.versions.len()).finish_non_exhaustive()
    }
}

impl VersionedKek {
    /// The versions, oldest first.
    ///
    /// # Errors
    /// [`VaultError::Kek`] if there are none (the key's material was destroyed).
    pub fn new(versions: Vec<[u8; 32]>) -> Result<Self> {
        if versions.is_empty() {
            return Err(VaultError::Kek { reason: "the key has no material".into() });
        }
        Ok(Self { versions })
    }
}

fn file_wrapping_key(key: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(CONTEXT_KEY_FILE, key)
}

fn file_fingerprint(wrapping_key: &[u8; 32]) -> String {
    hex::encode(&blake3::hash(wrapping_key).as_bytes()[..8])
}

impl KeyEncryptionKey for VersionedKek {
    fn wrap(&self, material: &MasterKeyMaterial, context: &[u8]) -> Result<WrappedKey> {
        let newest = self.versions.last().expect("at least one version, checked by new");
        let wrapping = file_wrapping_key(newest);
        Ok(WrappedKey {
            scheme: WrapScheme::KeyFile { fingerprint: file_fingerprint(&wrapping) },
            ciphertext: hex::encode(crypto::wrap_with(&wrapping, context, material.expose())),
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<Option<MasterKeyMaterial>> {
        let WrapScheme::KeyFile { fingerprint } = &wrapped.scheme else { return Ok(None) };
        let Ok(sealed) = hex::decode(&wrapped.ciphertext) else { return Ok(None) };
        for version in self.versions.iter().rev() {
            let wrapping = file_wrapping_key(version);
            if file_fingerprint(&wrapping) != *fingerprint {
                continue;
            }
            if let Some(m) = crypto::unwrap_with(&wrapping, context, &sealed).ok().and_then(|p| material_from(&p)) {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }
}

/// The JSON stored in `keys/<id>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyObject {
    /// Format version of this object (1).
    pub version: u32,
    /// When it was written.
    pub created: jiff::Timestamp,
    /// The wrapped material.
    pub wrapped: WrappedKey,
}

/// The associated data binding a key object to its vault.
pub(crate) fn wrap_context(vault: VaultId) -> Vec<u8> {
    format!("bunker-vault/v1/key/{vault}").into_bytes()
}

/// Summary of one key object, for listing.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// Its id.
    pub id: KeyId,
    /// When it was written.
    pub created: jiff::Timestamp,
    /// `password` or `key-file`.
    pub scheme: &'static str,
}

impl KeyObject {
    pub(crate) fn scheme_name(&self) -> &'static str {
        match self.wrapped.scheme {
            WrapScheme::Password { .. } => "password",
            WrapScheme::KeyFile { .. } => "key-file",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let m = MasterKeyMaterial::generate();
        let k = PasswordKek::with_cost("pw", 256, 1, 1);
        let w = k.wrap(&m, b"ctx").unwrap();
        assert_eq!(k.unwrap(&w, b"ctx").unwrap(), Some(m.clone()));
        assert_eq!(PasswordKek::with_cost("other", 256, 1, 1).unwrap(&w, b"ctx").unwrap(), None);
        assert_eq!(k.unwrap(&w, b"other vault").unwrap(), None);
    }

    #[test]
    fn versioned_kek_wraps_with_the_newest_and_unwraps_with_any() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileKek::generate(dir.path().join("k")).unwrap();
        let m = MasterKeyMaterial::generate();
        let by_file = file.wrap(&m, b"ctx").unwrap();
        let v1 = VersionedKek::new(vec![file.key]).unwrap();
        assert_eq!(v1.unwrap(&by_file, b"ctx").unwrap(), Some(m.clone()));
        let v2 = VersionedKek::new(vec![file.key, [9; 32]]).unwrap();
        let by_v2 = v2.wrap(&m, b"ctx").unwrap();
        assert_eq!(v2.unwrap(&by_file, b"ctx").unwrap(), Some(m.clone()));
        assert_eq!(v2.unwrap(&by_v2, b"ctx").unwrap(), Some(m.clone()));
        assert_eq!(v1.unwrap(&by_v2, b"ctx").unwrap(), None);
        assert_eq!(v2.unwrap(&by_v2, b"other").unwrap(), None);
        assert!(VersionedKek::new(Vec::new()).is_err());
    }

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let k = FileKek::generate(&p).unwrap();
        assert!(FileKek::generate(&p).is_err());
        let m = MasterKeyMaterial::generate();
        let w = k.wrap(&m, b"ctx").unwrap();
        let again = FileKek::load(&p).unwrap();
        assert_eq!(again.unwrap(&w, b"ctx").unwrap(), Some(m));
        let other = FileKek::generate(dir.path().join("k2")).unwrap();
        assert_eq!(other.unwrap(&w, b"ctx").unwrap(), None);
        assert_eq!(PasswordKek::with_cost("x", 256, 1, 1).unwrap(&w, b"ctx").unwrap(), None);
    }
}
