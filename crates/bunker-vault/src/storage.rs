//! Where vault objects live: a narrow, synchronous trait.
//!
//! The engine only ever lists, reads (whole or a range), writes atomically and deletes
//! objects named by an [`ObjectKey`] (kind + typed id). Local disk is [`LocalStorage`]; an
//! `object_store`-backed S3 implementation and wrappers (cache, throttling, fault injection)
//! implement the same trait. The trait is synchronous because the backup and restore hot
//! paths run on plain threads; an async store bridges with its own runtime.

mod local;
mod memory;
#[cfg(feature = "s3")]
mod s3;

use std::fmt;

pub use local::LocalStorage;
pub use memory::MemoryStorage;
#[cfg(feature = "s3")]
pub use s3::{S3Config, S3Storage};

use crate::error::{Result, VaultError};
use crate::id::{IndexId, KeyId, PackId, SnapshotId};
use crate::lock::LockId;

/// The storage a location names: `s3://bucket/prefix` (endpoint and credentials from the
/// `AWS_*` environment variables, see [`S3Config::from_url`]) or a local directory.
///
/// # Errors
/// An unknown `scheme://`, a bad S3 URL, or a relative directory that cannot be resolved.
pub fn open(location: &str) -> Result<std::sync::Arc<dyn Storage>> {
    #[cfg(feature = "s3")]
    if location.starts_with("s3://") {
        return Ok(std::sync::Arc::new(S3Storage::new(S3Config::from_url(location)?)?));
    }
    if let Some((scheme, _)) = location.split_once("://") {
        return Err(VaultError::InvalidOptions { reason: format!("unknown storage scheme `{scheme}://`: use a directory or s3://") });
    }
    // Absolute, because `LocalStorage` cannot create the directories of a relative root
    // (it recurses up to the empty path and fails there).
    let root = std::path::absolute(location)
        .map_err(|e| VaultError::InvalidOptions { reason: format!("cannot resolve `{location}`: {e}") })?;
    Ok(std::sync::Arc::new(LocalStorage::new(root)))
}

/// The kinds of object in a vault, each in its own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// The plaintext `config` (one per vault).
    Config,
    /// Wrapped master keys, `keys/<id>`.
    Key,
    /// Pack files, `data/<2 hex>/<id>`.
    Pack,
    /// Index files, `index/<id>`.
    Index,
    /// Recovery-point manifests, `snapshots/<id>`.
    Snapshot,
    /// Locks, `locks/<id>` (see [`crate::lock`]).
    Lock,
}

/// The name of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKey {
    /// `config`
    Config,
    /// `keys/<id>`
    Key(KeyId),
    /// `data/<first 2 hex digits>/<id>`
    Pack(PackId),
    /// `index/<id>`
    Index(IndexId),
    /// `snapshots/<id>`
    Snapshot(SnapshotId),
    /// `locks/<id>`
    Lock(LockId),
}

impl ObjectKey {
    /// The kind of this object.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Self::Config => ObjectKind::Config,
            Self::Key(_) => ObjectKind::Key,
            Self::Pack(_) => ObjectKind::Pack,
            Self::Index(_) => ObjectKind::Index,
            Self::Snapshot(_) => ObjectKind::Snapshot,
            Self::Lock(_) => ObjectKind::Lock,
        }
    }

    /// The object's path relative to the vault root, `/`-separated (also the S3 key suffix).
    pub fn path(&self) -> String {
        match self {
            Self::Config => "config".to_owned(),
            Self::Key(id) => format!("keys/{id}"),
            Self::Pack(id) => {
                let h = id.to_hex();
                format!("data/{}/{h}", &h[..2])
            }
            Self::Index(id) => format!("index/{id}"),
            Self::Snapshot(id) => format!("snapshots/{id}"),
            Self::Lock(id) => format!("locks/{id}"),
        }
    }

    /// Parses the file name (last path component) of an object of `kind`.
    pub(crate) fn from_name(kind: ObjectKind, name: &str) -> Option<Self> {
        Some(match kind {
            ObjectKind::Config => (name == "config").then_some(Self::Config)?,
            ObjectKind::Key => Self::Key(name.parse().ok()?),
            ObjectKind::Pack => Self::Pack(name.parse().ok()?),
            ObjectKind::Index => Self::Index(name.parse().ok()?),
            ObjectKind::Snapshot => Self::Snapshot(name.parse().ok()?),
            ObjectKind::Lock => Self::Lock(name.parse().ok()?),
        })
    }
}

impl ObjectKind {
    /// The directory holding objects of this kind, relative to the vault root.
    pub fn dir(&self) -> &'static str {
        match self {
            Self::Config => "",
            Self::Key => "keys",
            Self::Pack => "data",
            Self::Index => "index",
            Self::Snapshot => "snapshots",
            Self::Lock => "locks",
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// One listed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its name.
    pub key: ObjectKey,
    /// Its size in bytes.
    pub size: u64,
}

/// The storage a vault lives in.
///
/// Contract: `write` is atomic and durable when it returns (readers see the whole object or
/// nothing, and it survives a crash); objects are immutable once written except `config`,
/// `keys/` and `locks/` which are only ever replaced whole; `list` never shows partial writes.
/// Listing must see every write that completed before it started (locks rely on it).
pub trait Storage: Send + Sync + fmt::Debug {
    /// All objects of `kind`, in no particular order.
    fn list(&self, kind: ObjectKind) -> Result<Vec<ObjectInfo>>;
    /// The whole object.
    fn read(&self, key: &ObjectKey) -> Result<Vec<u8>>;
    /// `len` bytes from `offset`; fails if the object is shorter.
    fn read_range(&self, key: &ObjectKey, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// Stores the object atomically and durably.
    fn write(&self, key: &ObjectKey, data: &[u8]) -> Result<()>;
    /// Removes the object; removing an absent object is not an error.
    fn delete(&self, key: &ObjectKey) -> Result<()>;
    /// Whether the object exists.
    fn exists(&self, key: &ObjectKey) -> Result<bool>;
    /// Removes what interrupted writes left behind (temporary files of a killed process)
    /// and returns the bytes freed. Prune calls it under its exclusive lock, when no writer
    /// can be running. Storage whose writes are atomic by nature (an S3 PUT) leaves nothing.
    fn remove_incomplete(&self) -> Result<u64> {
        Ok(0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::VaultError;

    /// The behaviour every implementation must have.
    pub(crate) fn contract(s: &dyn Storage) {
        let p = ObjectKey::Pack(PackId::from_bytes([7; 32]));
        let i = ObjectKey::Index(IndexId::from_bytes([8; 32]));
        assert!(!s.exists(&p).unwrap());
        assert!(matches!(s.read(&p), Err(VaultError::NotFound { .. })));
        s.write(&p, b"hello world").unwrap();
        s.write(&i, b"x").unwrap();
        assert!(s.exists(&p).unwrap());
        assert_eq!(s.read(&p).unwrap(), b"hello world");
        assert_eq!(s.read_range(&p, 6, 5).unwrap(), b"world");
        assert!(s.read_range(&p, 6, 6).is_err());
        let listed = s.list(ObjectKind::Pack).unwrap();
        assert_eq!(listed, vec![ObjectInfo { key: p, size: 11 }]);
        assert_eq!(s.list(ObjectKind::Index).unwrap().len(), 1);
        assert!(s.list(ObjectKind::Snapshot).unwrap().is_empty());
        s.delete(&p).unwrap();
        s.delete(&p).unwrap();
        assert!(!s.exists(&p).unwrap());
        s.write(&ObjectKey::Config, b"c1").unwrap();
        s.write(&ObjectKey::Config, b"c2").unwrap();
        assert_eq!(s.read(&ObjectKey::Config).unwrap(), b"c2");
        assert_eq!(s.list(ObjectKind::Config).unwrap().len(), 1);
    }

    #[test]
    fn memory_contract() {
        contract(&MemoryStorage::default());
    }

    #[test]
    fn local_contract() {
        let dir = tempfile::tempdir().unwrap();
        contract(&LocalStorage::new(dir.path()));
    }
}
