//! Lifecycle of recovery points: the move to the cold tier, deletion, and the operations that
//! change either (`UpdateRecoveryPointLifecycle`, `DeleteRecoveryPoint`).

use bunker_catalog::{BackupVault, RecoveryPointRow};
use bunker_vault::Vault;
use jiff::Timestamp;

use super::{BackupService, Result};

impl BackupService {
    /// Applies every recovery point's lifecycle that is due at the clock's now; returns how
    /// many recovery points changed.
    pub async fn apply_lifecycle(&self) -> Result<usize> {
        self.expire_recovery_points().await
    }

    /// The next instant after `after` when a lifecycle step is due.
    pub(crate) async fn next_lifecycle_event(&self, _after: Timestamp) -> Result<Option<Timestamp>> {
        Ok(None)
    }

    /// Opens the repository that holds `rp`'s data (blocking: call from a blocking thread).
    pub(crate) fn open_recovery_point_vault(&self, vault: &BackupVault, _rp: &RecoveryPointRow) -> Result<Vault> {
        self.open_vault(vault)
    }
}
