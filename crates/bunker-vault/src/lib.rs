//! Bunker's vault engine: deduplicated, compressed, encrypted recovery points.
//!
//! Data flows `source → FastCDC chunks → keyed BLAKE3 id → dedup against the index →
//! zstd → AES-256-GCM → packs → index → snapshot manifest`, and back for restore. The
//! on-disk format is specified in `docs/vault-format.md`.
//!
//! * [`Vault::init`] / [`Vault::open`] with a [`Storage`] and a [`KeyEncryptionKey`].
//! * [`Vault::backup`] (directory trees, incremental with a parent) and
//!   [`Vault::backup_stream`] (one byte stream) return a [`BackupSummary`].
//! * [`Vault::restore`] / [`Vault::restore_stream`], [`Vault::snapshots`], [`Vault::ls`],
//!   [`Vault::diff`], [`Vault::check`] (returns a [`CheckReport`]).
//! * [`Vault::forget`] and [`Vault::prune`] (returns a [`PruneReport`]) delete recovery points
//!   and reclaim space under an exclusive [`lock`]; [`copy()`] moves a recovery point to
//!   another vault with its own key (returns a [`CopySummary`]).
//!
//! ```
//! use std::sync::Arc;
//! use bunker_vault::{BackupOptions, FileKek, LocalStorage, NoProgress, RestoreOptions, Vault, InitOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let src = dir.path().join("src");
//! std::fs::create_dir(&src).unwrap();
//! std::fs::write(src.join("hello.txt"), b"hello vault").unwrap();
//! let kek = FileKek::generate(dir.path().join("key")).unwrap();
//! let storage = Arc::new(LocalStorage::new(dir.path().join("vault")));
//! let vault = Vault::init(storage.clone(), &kek, InitOptions::default()).unwrap();
//! let summary = vault.backup(&[src], &BackupOptions::default(), &NoProgress).unwrap();
//! let vault = Vault::open(storage, &kek).unwrap();
//! let target = dir.path().join("restored");
//! vault.restore(summary.snapshot_id, &RestoreOptions::new(&target), &NoProgress).unwrap();
//! assert_eq!(std::fs::read(target.join("src/hello.txt")).unwrap(), b"hello vault");
//! ```

pub mod backup;
pub mod check;
pub mod blob;
pub mod chunker;
pub mod diff;
pub mod config;
pub mod copy;
pub mod crypto;
pub mod error;
pub mod forget;
#[doc(hidden)]
pub mod fuzzing;
pub mod id;
pub mod index;
pub mod keys;
pub mod lock;
pub mod ls;
pub mod pack;
pub mod progress;
pub mod prune;
pub mod restore;
pub mod snapshot;
pub mod storage;
pub mod tree;
pub mod vault;

pub use backup::{BackupOptions, BackupSummary, StreamOptions};
pub use check::{CheckOptions, CheckReport, Problem};
pub use config::{ChunkerParams, VaultConfig};
pub use copy::{CopySummary, copy};
pub use crypto::{Cipher, MasterKeyMaterial};
pub use diff::{Change, DiffEntry};
pub use error::{Result, VaultError};
pub use id::{BlobId, ChunkId, IndexId, KeyId, PackId, SnapshotId, TreeId, VaultId};
pub use keys::{FileKek, KeyEncryptionKey, PasswordKek, VersionedKek};
pub use lock::{LockGuard, LockId, LockInfo, LockKind, LockOptions};
pub use ls::LsEntry;
pub use progress::{NoProgress, Phase, Progress};
pub use prune::{PackAction, PruneOptions, PrunePlan, PruneReport};
pub use restore::{RestoreOptions, RestoreSummary};
pub use snapshot::{Snapshot, SnapshotSummary};
pub use storage::{LocalStorage, MemoryStorage, ObjectKey, ObjectKind, Storage};
pub use tree::{Node, NodeKind, Tree};
pub use vault::{InitOptions, Vault};
