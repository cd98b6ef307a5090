//! Progress bars for the jobs a command runs in this process (`start-backup-job`,
//! `start-restore-job`): the real connectors, reporting to the terminal.

use bunker_connectors::{BackupOutcome, BackupRequest, RestoreOutcome, Source};
use bunker_core::backup::{Connectors, RealConnectors};
use bunker_vault::{Progress, SnapshotId, Vault};

use crate::vault::progress::Reporter;

/// Shows vault progress on the terminal around the real connectors.
pub struct ShowProgress;

impl Connectors for ShowProgress {
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome> {
        let reporter = Reporter::for_terminal();
        let request = BackupRequest {
            vault: request.vault,
            time: request.time,
            tags: request.tags.clone(),
            parent: request.parent,
            stop: request.stop.clone(),
            progress: &reporter,
        };
        RealConnectors.backup(source, &request)
    }

    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, _progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome> {
        RealConnectors.restore(vault, snapshot, target, &Reporter::for_terminal())
    }
}
