//! Restore testing: plans that regularly restore recent recovery points into scratch
//! locations, validate the data, record the result and clean up.

use jiff::Timestamp;

use super::{BackupService, Result};

impl BackupService {
    /// Starts the restore tests due at the clock's now and runs them; returns how many ran.
    pub async fn run_restore_tests(&self) -> Result<usize> {
        Ok(0)
    }

    /// The next instant after `after` when a restore testing plan fires.
    pub(crate) async fn next_restore_test_event(&self, _after: Timestamp) -> Result<Option<Timestamp>> {
        Ok(None)
    }
}
