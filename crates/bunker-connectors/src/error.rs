//! Connector errors: each says what went wrong in words an operator can act on; the
//! service records the message on the `FAILED` job.

use std::path::PathBuf;

/// Why a backup or restore of a resource failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The resource's location is malformed.
    #[error("invalid resource location: {reason}")]
    InvalidSource {
        /// What is wrong.
        reason: String,
    },
    /// The path of a file-based resource does not exist (any more).
    #[error("resource not found: {path} does not exist")]
    SourceMissing {
        /// The missing path.
        path: PathBuf,
    },
    /// A database or server refused the connection or the credentials.
    #[error("cannot connect to {what}: {reason}")]
    Connection {
        /// The server or database (credentials redacted).
        what: String,
        /// The server's or client's message.
        reason: String,
    },
    /// An external tool (`pg_dump`, `pg_restore`, …) failed or is missing.
    #[error("{tool} failed: {reason}")]
    Tool {
        /// The tool.
        tool: String,
        /// Exit status and the last lines of its error output.
        reason: String,
    },
    /// The restore target already exists and restores never overwrite this type.
    #[error("restore target already exists: {target}")]
    TargetExists {
        /// The target.
        target: String,
    },
    /// The backup or restore was stopped before anything could be kept.
    #[error("stopped before completion")]
    Stopped,
    /// The recovery point does not have the shape this connector writes.
    #[error("recovery point {snapshot} is not a {expected} backup: {reason}")]
    WrongShape {
        /// The snapshot.
        snapshot: String,
        /// The resource type expected.
        expected: &'static str,
        /// What was found.
        reason: String,
    },
    /// An I/O error on a local file.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The vault engine failed.
    #[error(transparent)]
    Vault(#[from] bunker_vault::VaultError),
}

impl ConnectorError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ConnectorError::Io { op, path: path.into(), source }
    }
}

/// Shorthand.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;
