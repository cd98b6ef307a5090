//! Recovery-point manifests: `snapshots/<id>`, sealed JSON.
//!
//! A manifest is written only after every pack and index file it depends on is durable, so a
//! listed snapshot never references missing data (barring later damage, which `check` finds).

use serde::{Deserialize, Serialize};

use crate::crypto::{Aad, Crypto};
use crate::error::{Result, VaultError};
use crate::id::{SnapshotId, TreeId};
use crate::storage::{ObjectKey, ObjectKind, Storage};

/// Counters recorded with a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    /// Regular files in the snapshot.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Other entries (symlinks, devices, …).
    pub others: u64,
    /// Files read because new or changed.
    pub files_changed: u64,
    /// Files reused from the parent by metadata.
    pub files_unchanged: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Total logical size of the files.
    pub bytes_total: u64,
    /// Blobs added to the vault.
    pub blobs_added: u64,
    /// Plaintext bytes of new blobs.
    pub bytes_added_raw: u64,
    /// Stored (compressed, encrypted) bytes of new blobs.
    pub bytes_added: u64,
    /// Packs written.
    pub packs_written: u64,
    /// Wall time of the backup in milliseconds.
    pub duration_ms: u64,
    /// Entries that could not be read (skipped, logged).
    pub errors: u64,
}

/// What was backed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotSource {
    /// Directory trees: the root tree holds one directory node per backed-up path.
    Paths,
    /// One byte stream: the root tree holds one file node with this name.
    Stream {
        /// The stream's file name inside the snapshot.
        name: String,
    },
}

/// One recovery point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version of this object (1).
    pub version: u32,
    /// When the backup started.
    pub time: jiff::Timestamp,
    /// Host that made it.
    pub hostname: String,
    /// The backed-up paths as given (absolute).
    pub paths: Vec<String>,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The snapshot used to skip unchanged files, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<SnapshotId>,
    /// What was backed up.
    pub source: SnapshotSource,
    /// The root tree.
    pub tree: TreeId,
    /// Counters.
    pub summary: SnapshotSummary,
    /// The backup was stopped early and holds only part of its source. Absent (false) in
    /// complete snapshots, so manifests written before this field existed still parse.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Seals and stores a manifest.
///
/// # Errors
/// Storage errors.
pub(crate) fn write(storage: &dyn Storage, crypto: &Crypto, snap: &Snapshot) -> Result<SnapshotId> {
    let json = serde_json::to_vec(snap).expect("snapshots always serialize");
    let sealed = crypto.seal(Aad::Snapshot, &json);
    let id = SnapshotId::from_bytes(*blake3::hash(&sealed).as_bytes());
    storage.write(&ObjectKey::Snapshot(id), &sealed)?;
    Ok(id)
}

/// Reads one manifest.
///
/// # Errors
/// Storage errors or [`VaultError::Corrupt`].
pub(crate) fn read(storage: &dyn Storage, crypto: &Crypto, id: SnapshotId) -> Result<Snapshot> {
    let key = ObjectKey::Snapshot(id);
    let sealed = storage.read(&key)?;
    let plain = crypto.open(Aad::Snapshot, &sealed).map_err(|_| VaultError::corrupt(key, "authentication failed"))?;
    serde_json::from_slice(&plain).map_err(|e| VaultError::corrupt(key, e.to_string()))
}

/// Ids of all manifests.
///
/// # Errors
/// Storage errors.
pub(crate) fn list(storage: &dyn Storage) -> Result<Vec<SnapshotId>> {
    Ok(storage
        .list(ObjectKind::Snapshot)?
        .into_iter()
        .filter_map(|i| match i.key {
            ObjectKey::Snapshot(id) => Some(id),
            _ => None,
        })
        .collect())
}
