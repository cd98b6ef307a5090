//! Forgetting recovery points: deleting their manifests, nothing else.
//!
//! Data is reclaimed later by [`crate::prune`], which recomputes what the remaining
//! manifests reach. Forget takes no lock: removing a manifest cannot hurt a running backup
//! (it never reads other manifests after it started, beyond its parent) and a prune that
//! planned before the forget merely keeps the forgotten data until its next run.

use crate::error::{Result, VaultError};
use crate::id::SnapshotId;
use crate::snapshot;
use crate::storage::ObjectKey;
use crate::vault::Vault;

impl Vault {
    /// Deletes the manifests of `ids`. All of them must exist, so a mistyped id changes
    /// nothing. Returns the ids removed, without duplicates.
    ///
    /// # Errors
    /// [`VaultError::SnapshotRef`] naming the first id that does not exist; storage errors.
    pub fn forget(&self, ids: &[SnapshotId]) -> Result<Vec<SnapshotId>> {
        let existing: std::collections::HashSet<SnapshotId> = snapshot::list(self.storage.as_ref())?.into_iter().collect();
        let mut out: Vec<SnapshotId> = Vec::with_capacity(ids.len());
        for id in ids {
            if !existing.contains(id) {
                return Err(VaultError::SnapshotRef { reference: id.to_string(), problem: "not found" });
            }
            if !out.contains(id) {
                out.push(*id);
            }
        }
        for id in &out {
            self.storage.delete(&ObjectKey::Snapshot(*id))?;
            tracing::info!(snapshot = %id, "forgotten");
        }
        Ok(out)
    }
}
