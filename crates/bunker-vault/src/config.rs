//! The plaintext `config` object: what a reader must know before it can read anything else.

use serde::{Deserialize, Serialize};

use crate::crypto::Cipher;
use crate::error::{Result, VaultError};
use crate::id::VaultId;
use crate::storage::ObjectKey;

/// The on-disk format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// FastCDC sizes, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    /// Smallest chunk (except a file's last).
    pub min_size: u32,
    /// Target average.
    pub avg_size: u32,
    /// Largest chunk.
    pub max_size: u32,
}

impl Default for ChunkerParams {
    /// 128 KiB / 512 KiB / 2 MiB: see `docs/vault-format.md` for the measurement behind it.
    fn default() -> Self {
        Self { min_size: 128 * 1024, avg_size: 512 * 1024, max_size: 2 * 1024 * 1024 }
    }
}

impl ChunkerParams {
    /// Checks the sizes against FastCDC's limits (it panics outside them).
    ///
    /// # Errors
    /// [`VaultError::InvalidOptions`] naming the bad value.
    pub fn validate(&self) -> Result<()> {
        use fastcdc::v2020::{AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN};
        let ok = (MINIMUM_MIN..=MINIMUM_MAX).contains(&self.min_size)
            && (AVERAGE_MIN..=AVERAGE_MAX).contains(&self.avg_size)
            && (MAXIMUM_MIN..=MAXIMUM_MAX).contains(&self.max_size)
            && self.min_size <= self.avg_size
            && self.avg_size <= self.max_size;
        if ok {
            Ok(())
        } else {
            Err(VaultError::InvalidOptions {
                reason: format!(
                    "chunker sizes {}/{}/{} outside FastCDC limits or not ordered",
                    self.min_size, self.avg_size, self.max_size
                ),
            })
        }
    }
}

/// Compression settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressionParams {
    /// Always `zstd` in version 1.
    pub algorithm: String,
    /// zstd level used when writing; readers do not need it.
    pub level: i32,
}

/// The `config` object (JSON, plaintext).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultConfig {
    /// On-disk format version.
    pub format_version: u32,
    /// Random id of this vault, bound into its key objects.
    pub vault_id: VaultId,
    /// Content-defined chunking parameters (the gear seed is derived from the master key).
    pub chunker: ChunkerParams,
    /// Compression.
    pub compression: CompressionParams,
    /// AEAD for every encrypted object.
    pub cipher: Cipher,
    /// Chunk id function, `blake3-keyed` in version 1.
    pub id_hash: String,
    /// Packs are closed once they reach this many bytes.
    pub pack_size: u32,
    /// When the vault was made.
    pub created: jiff::Timestamp,
}

impl VaultConfig {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let v: Version = serde_json::from_slice(bytes)
            .map_err(|e| VaultError::corrupt(ObjectKey::Config, e.to_string()))?;
        if v.format_version > FORMAT_VERSION || v.format_version == 0 {
            return Err(VaultError::UnsupportedVersion { found: v.format_version, supported: FORMAT_VERSION });
        }
        let c: Self =
            serde_json::from_slice(bytes).map_err(|e| VaultError::corrupt(ObjectKey::Config, e.to_string()))?;
        c.chunker.validate()?;
        if c.compression.algorithm != "zstd" || c.id_hash != "blake3-keyed" {
            return Err(VaultError::corrupt(ObjectKey::Config, "unknown compression or id hash"));
        }
        if !(1024 * 1024..=1024 * 1024 * 1024).contains(&c.pack_size) {
            return Err(VaultError::corrupt(ObjectKey::Config, "pack_size out of range"));
        }
        Ok(c)
    }
}
