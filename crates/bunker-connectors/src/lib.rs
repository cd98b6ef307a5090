//! Resource connectors: how each kind of protected resource is read into a vault and
//! written back out of it.
//!
//! A connector is plain, blocking code over the vault engine: the service runs it on a
//! worker thread, passes the time to record (its injected clock), a stop flag (completion
//! windows, `stop-backup-job`) and a progress sink, and records the outcome in the catalog.
//!
//! | Type | Source | Recovery point holds | Restore |
//! |---|---|---|---|
//! | `Directory` | a directory tree | the tree (incremental against the previous point) | into a new directory or in place |
//! | `SQLite` | a database file, online | a consistent copy of the file | a new database file |
//! | `PostgreSQL` | a database URL | a `pg_dump` custom-format archive (stream) | `pg_restore` into a new database |
//! | `DiskImage` | an image or block-device file | the bytes as one stream (zero blocks cost nothing) | a sparse file |
//! | `S3` | a bucket (and prefix) on an S3-compatible server | every object's bytes, metadata and tags | a new bucket / prefix |

mod bucket;
mod directory;
mod error;
mod image;
mod postgres;
mod redact;
mod source;
mod sqlite;
pub mod validate;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bunker_vault::{Progress, SnapshotId, Vault};

pub use error::{ConnectorError, Result};
pub use redact::{MASK, redact_uri};
pub use source::{ResourceType, Source};

/// Inputs of one backup.
pub struct BackupRequest<'a> {
    /// The vault to write into.
    pub vault: &'a Vault,
    /// The time to record as the recovery point's creation time.
    pub time: jiff::Timestamp,
    /// Tags recorded in the vault manifest (e.g. the job id).
    pub tags: Vec<String>,
    /// The previous recovery point of the same resource in this vault, if any: directory
    /// backups reuse its unchanged files by metadata.
    pub parent: Option<SnapshotId>,
    /// Set by the caller to stop the backup (completion window passed, job stopped).
    pub stop: Option<Arc<AtomicBool>>,
    /// Progress sink.
    pub progress: &'a dyn Progress,
}

/// What a backup produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    /// The new recovery point in the vault.
    pub snapshot: SnapshotId,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Stored bytes added to the vault.
    pub bytes_added: u64,
    /// Logical size of the backed-up data (what a restore writes).
    pub size: u64,
    /// True when the backup was stopped but what was read so far was kept (AWS's
    /// `PARTIAL`): only connectors whose data is a set of independent items (directory
    /// trees, buckets) can do that.
    pub partial: bool,
}

/// What a restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// Logical bytes restored.
    pub bytes: u64,
    /// Where the data now is, in the terms of the resource type (path, database URL,
    /// bucket URL).
    pub location: String,
}

/// Backs up `source` into `request.vault`.
///
/// # Errors
/// [`ConnectorError`]: the source is gone or refuses the connection, a tool failed, the
/// backup was stopped before anything could be kept, or the vault failed.
pub fn backup(source: &Source, request: &BackupRequest<'_>) -> Result<BackupOutcome> {
    match source {
        Source::Directory { .. } => directory::backup(source, request),
        Source::Sqlite { .. } => sqlite::backup(source, request),
        Source::Postgresql { .. } => postgres::backup(source, request),
        Source::DiskImage { .. } => image::backup(source, request),
        Source::Bucket { .. } => bucket::backup(source, request),
    }
}

/// Restores recovery point `snapshot` (made from a resource of `target`'s type) into
/// `target`, a new location of the same type (or the original, where `in_place` is allowed
/// for the type: directories only).
///
/// # Errors
/// [`ConnectorError`]: the target exists and may not be overwritten, a tool failed, or
/// the vault failed.
pub fn restore(vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> Result<RestoreOutcome> {
    match target {
        Source::Directory { .. } => directory::restore(vault, snapshot, target, progress),
        Source::Sqlite { .. } => sqlite::restore(vault, snapshot, target, progress),
        Source::Postgresql { .. } => postgres::restore(vault, snapshot, target, progress),
        Source::DiskImage { .. } => image::restore(vault, snapshot, target, progress),
        Source::Bucket { .. } => bucket::restore(vault, snapshot, target, progress),
    }
}
