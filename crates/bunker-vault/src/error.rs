//! The crate's one error type.
//!
//! Rules: every variant carries the path, object or id it is about, so callers can match on
//! the kind of failure and people can see what failed; storage failures say whether a retry
//! may help. Messages are lowercase and name user input in backticks.

use std::path::PathBuf;

use crate::id::{BlobId, ParseIdError, SnapshotId};
use crate::lock::{LockId, LockInfo};
use crate::storage::ObjectKey;

/// Result alias for this crate.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// Everything that can go wrong in the vault engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A local file (backup source or restore target) could not be read or written.
    #[error("{op} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The storage backend failed.
    #[error("storage {op} `{key}`: {source}")]
    Storage {
        /// What was being done.
        op: &'static str,
        /// The object concerned.
        key: ObjectKey,
        /// Whether retrying the same call may succeed (network, throttling) or not (not found,
        /// permission, full disk).
        retryable: bool,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An object is absent from storage.
    #[error("`{key}` does not exist in the vault")]
    NotFound {
        /// The object looked for.
        key: ObjectKey,
    },
    /// `init` found an existing vault.
    #[error("a vault already exists here (config object present)")]
    AlreadyInitialized,
    /// The vault's format version is newer than this code understands.
    #[error("vault format version {found} is not supported (this build reads up to {supported})")]
    UnsupportedVersion {
        /// Version in the config.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// No key object could be unwrapped by the supplied key-encryption key.
    #[error("no key in the vault can be opened with the supplied key (wrong password or key file?)")]
    WrongKey,
    /// A stored object failed authentication or could not be parsed.
    #[error("`{key}` is damaged: {reason}")]
    Corrupt {
        /// The object.
        key: ObjectKey,
        /// What is wrong with it.
        reason: String,
    },
    /// A blob failed decryption, decompression or id verification.
    #[error("blob `{id}` is damaged: {reason}")]
    CorruptBlob {
        /// The blob.
        id: BlobId,
        /// What is wrong with it.
        reason: String,
    },
    /// A blob that a tree or snapshot needs is not in the index.
    #[error("blob `{id}` is not in the index")]
    BlobMissing {
        /// The blob.
        id: BlobId,
    },
    /// A snapshot reference matched nothing or several.
    #[error("snapshot `{reference}` {problem}")]
    SnapshotRef {
        /// What the caller asked for (`latest`, an id, a prefix).
        reference: String,
        /// `not found` or `is ambiguous`.
        problem: &'static str,
    },
    /// A path asked for inside a snapshot does not exist there.
    #[error("`{path}` does not exist in snapshot `{snapshot}`")]
    PathNotInSnapshot {
        /// The snapshot.
        snapshot: SnapshotId,
        /// The path inside the snapshot.
        path: String,
    },
    /// A key-encryption key could not be used (bad key file, KDF failure).
    #[error("key-encryption key: {reason}")]
    Kek {
        /// What went wrong.
        reason: String,
    },
    /// Caller-supplied options are inconsistent.
    #[error("invalid options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// Another operation holds a conflicting lock and did not release it within the wait.
    #[error("vault is locked ({}) by `{}` on {} (pid {}) until {}", holder.kind, holder.operation, holder.hostname, holder.pid, holder.expires)]
    Locked {
        /// The conflicting lock object.
        lock: LockId,
        /// What it says about its holder.
        holder: Box<LockInfo>,
    },
    /// This operation's own lock expired or could not be refreshed, so others may have ignored
    /// it; the operation stopped before its next step that relies on the lock.
    #[error("lock `{lock}` lost: {reason}")]
    LockLost {
        /// Our lock object.
        lock: LockId,
        /// What happened.
        reason: String,
    },
    /// The caller's stop flag ended a backup that cannot be kept in part (a stream); nothing
    /// was recorded.
    #[error("backup stopped before completion; no snapshot was written")]
    Stopped,
    /// An id could not be parsed.
    #[error(transparent)]
    ParseId(#[from] ParseIdError),
    /// A worker thread panicked or hung up; a bug, reported instead of propagated as a panic.
    #[error("internal error: {reason}")]
    Internal {
        /// What happened.
        reason: String,
    },
}

impl VaultError {
    /// Whether retrying the failed operation may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Storage { retryable: true, .. })
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { op, path: path.into(), source }
    }

    pub(crate) fn corrupt(key: ObjectKey, reason: impl Into<String>) -> Self {
        Self::Corrupt { key, reason: reason.into() }
    }
}
