//! Progress reporting for long operations; the CLI draws bars or prints JSON lines from it.

/// Which operation is reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading sources and storing new data.
    Backup,
    /// Writing files from a snapshot.
    Restore,
    /// Verifying structure.
    CheckStructure,
    /// Reading and verifying every pack.
    CheckData,
}

/// Receives progress from a running operation. Called from worker threads, so it must be
/// cheap and thread-safe; all methods default to doing nothing.
pub trait Progress: Send + Sync {
    /// A phase starts; `total` is its size in bytes when known in advance.
    fn start(&self, _phase: Phase, _total: Option<u64>) {}
    /// `bytes` more bytes of the current phase are done.
    fn advance(&self, _bytes: u64) {}
    /// The item (file path, pack id) being worked on, for display.
    fn item(&self, _name: &str) {}
    /// The current phase is over.
    fn finish(&self, _phase: Phase) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
