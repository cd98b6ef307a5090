//! Lifecycle of recovery points: the move to the cold tier, deletion, and the operations that
//! change either (`UpdateRecoveryPointLifecycle`, `DeleteRecoveryPoint`).
//!
//! **Cold tier.** Each vault has a second vault-engine repository on its Region's cold root
//! (see [`super::sites`]), under the same account key, made on first use. At
//! `MoveToColdStorageAt` the point's snapshot is copied there (the engine's dedup-aware copy:
//! only chunks the cold repository lacks are written), the row becomes `COLD` with the cold
//! snapshot id (the warm one kept in `warm_snapshot_id`) in one write, then the warm snapshot
//! is forgotten, the column cleared, and the warm repository pruned (chunks other warm
//! points use stay). A crash before that write leaves an extra cold snapshot that the next
//! copy finds and reuses; after it, a warm snapshot the next pass forgets.
//!
//! **Deletion** (at `DeleteAt`, or `DeleteRecoveryPoint`): the row is marked `DELETING` and
//! committed, the snapshot forgotten in its repository and that repository pruned, then the
//! row deleted. Rows left `DELETING` by a crash are finished by the next pass; restores
//! refuse them.
//!
//! **Guardrails.** A point kept by its vault's lock (younger than `MinRetentionDays`) or
//! under an active legal hold is never marked by a pass, whatever its `DeleteAt`: every pass
//! asks again, so it goes on the first pass after it is released (see [`super::vault_lock`]
//! and [`super::legal_holds`]). The operations below check the same rules in the write that
//! changes the point.
//!
//! Several processes may run lifecycle passes; the engine's locks keep prunes from
//! overlapping backups and copies, forgetting tolerates snapshots already gone, and the
//! catalog write of a move only succeeds once.

use std::collections::BTreeMap;

use bunker_catalog::{BackupVault, RecoveryPointRow};
use bunker_policy::JsonPath;
use bunker_policy::plan::Lifecycle;
use bunker_vault::{PruneOptions, SnapshotId, Vault, VaultError};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

pub use super::jobs::CalculatedLifecycle;
use super::jobs::lifecycle_json;
use super::{BackupError, BackupService, Result};

/// Rows handled per catalog query in one pass; the rest wait for the next pass.
const BATCH: i64 = 10_000;

/// `UpdateRecoveryPointLifecycle` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecoveryPointLifecycle {
    /// `BackupVaultArn`.
    pub backup_vault_arn: String,
    /// `RecoveryPointArn`.
    pub recovery_point_arn: String,
    /// `Lifecycle`.
    pub lifecycle: Lifecycle,
    /// `CalculatedLifecycle`.
    pub calculated_lifecycle: CalculatedLifecycle,
}

fn days_after(t: Timestamp, days: Option<i64>) -> Option<Timestamp> {
    days.and_then(|d| t.checked_add(SignedDuration::from_hours(d.checked_mul(24)?)).ok())
}

fn worker<T>(joined: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    joined.map_err(|e| BackupError::DependencyFailure(format!("lifecycle worker: {e}")))?
}

/// Forgets `ids` in `v`, skipping those already gone (a pass interrupted after forgetting).
fn forget_present(v: &Vault, ids: &[SnapshotId]) -> Result<()> {
    for id in ids {
        match v.forget(&[*id]) {
            Ok(_) | Err(VaultError::SnapshotRef { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn snapshot_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<SnapshotId> {
    ids.into_iter().filter_map(|s| s.parse().ok()).collect()
}

/// A point moved to cold by one copy, not yet recorded.
struct Moved {
    arn: String,
    warm: String,
    cold: String,
}

impl BackupService {
    /// Applies every recovery point's lifecycle that is due at the clock's now: deletions
    /// (and deletions an earlier pass left unfinished), then moves to the cold tier. Returns
    /// how many recovery points were deleted or moved. A vault that fails is logged and
    /// left for the next pass; the others go on.
    pub async fn apply_lifecycle(&self) -> Result<usize> {
        let now = self.now();
        // The service deletes due points for their accounts, in the audit trail like any
        // caller's deletion: no record, no deletion.
        let mut security = None;
        loop {
            let mut tx = self.catalog.write().await?;
            // Points kept by a vault lock or a legal hold are left out here, not skipped
            // below: otherwise a full batch of them would come back forever.
            let mut due = tx.recovery_points_deletable_by_lifecycle(now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            if security.is_none() {
                // Checked outside the write transaction (the check takes one of its own).
                drop(tx);
                let opened = crate::security::Security::open(self.catalog.clone(), self.clock.clone(), &self.data_dir)
                    .map_err(|e| BackupError::DependencyFailure(format!("the audit trail cannot be opened, so nothing is deleted: {e}")))?;
                crate::security::audit::AuditTrail::of(&opened)
                    .check_writable()
                    .await
                    .map_err(|e| BackupError::DependencyFailure(format!("the audit trail cannot be written, so nothing is deleted: {e}")))?;
                security = Some(opened);
                tx = self.catalog.write().await?;
                due = tx.recovery_points_deletable_by_lifecycle(now, BATCH).await?;
                if due.is_empty() {
                    break;
                }
            }
            for r in &due {
                tx.mark_recovery_point_deleting(&r.arn, "Deleted by lifecycle: DeleteAt reached").await?;
            }
            tx.commit().await?;
            let security = security.as_ref().expect("opened above");
            for r in &due {
                self.audit_service_call(security, &r.account_id, &r.region, "DeleteRecoveryPoint", &[r.arn.as_str()], None)
                    .await
                    .map_err(BackupError::DependencyFailure)?;
            }
        }
        let deleting = self.catalog.read().await?.recovery_points_deleting(BATCH).await?;
        let mut changed = 0;
        for (vault, rows) in self.by_vault(deleting).await? {
            match self.delete_marked(&vault, rows).await {
                Ok(n) => changed += n,
                Err(e) => tracing::error!(vault = %vault.arn, error = %e, "lifecycle: deletion failed; retried on the next pass"),
            }
        }
        if let Err(e) = self.forget_warm_leftovers().await {
            tracing::error!(error = %e, "lifecycle: forgetting moved warm snapshots failed; retried on the next pass");
        }
        let due = self.catalog.read().await?.recovery_points_due_for_cold(now, BATCH).await?;
        for (vault, rows) in self.by_vault(due).await? {
            match self.move_to_cold(&vault, rows).await {
                Ok(n) => changed += n,
                Err(e) => tracing::error!(vault = %vault.arn, error = %e, "lifecycle: move to cold failed; retried on the next pass"),
            }
        }
        Ok(changed)
    }

    /// The next instant after `after` when a lifecycle step is due: the earliest move to
    /// the cold tier of a `WARM` point, the earliest `DeleteAt`, or the earliest end of a
    /// vault lock's hold on a point already past its `DeleteAt`.
    pub async fn next_lifecycle_event(&self, after: Timestamp) -> Result<Option<Timestamp>> {
        let mut tx = self.catalog.read().await?;
        let cold = tx.next_cold_move_after(after).await?;
        let delete = tx.next_deletion_after(after).await?;
        // A point its vault's lock kept past its DeleteAt goes when the lock lets it.
        let released = tx.next_lock_release_after(after).await?;
        Ok(cold.into_iter().chain(delete).chain(released).min())
    }

    /// Opens the repository that holds `rp`'s data: the cold one for `COLD` points
    /// (blocking: call from a blocking thread).
    pub(crate) fn open_recovery_point_vault(&self, vault: &BackupVault, rp: &RecoveryPointRow) -> Result<Vault> {
        if rp.storage_class == "COLD" { self.open_cold_vault(vault, false) } else { self.open_vault(vault) }
    }

    /// Rows grouped by their vault (rows of a vault that no longer exists are skipped).
    async fn by_vault(&self, rows: Vec<RecoveryPointRow>) -> Result<Vec<(BackupVault, Vec<RecoveryPointRow>)>> {
        let mut groups: BTreeMap<String, Vec<RecoveryPointRow>> = BTreeMap::new();
        for r in rows {
            groups.entry(r.vault_arn.clone()).or_default().push(r);
        }
        let mut tx = self.catalog.read().await?;
        let mut out = Vec::new();
        for (arn, rows) in groups {
            match tx.vault(&arn).await? {
                Some(v) => out.push((v, rows)),
                None => tracing::warn!(vault = %arn, "lifecycle: recovery points of a vault that does not exist"),
            }
        }
        Ok(out)
    }

    /// Removes the data of rows marked `DELETING` in `vault`, then the rows.
    async fn delete_marked(&self, vault: &BackupVault, rows: Vec<RecoveryPointRow>) -> Result<usize> {
        let mut warm = Vec::new();
        let mut cold = Vec::new();
        {
            let mut tx = self.catalog.read().await?;
            for r in &rows {
                if r.storage_class == "COLD" {
                    cold.push(r.snapshot_id.clone());
                    warm.extend(tx.warm_snapshot_id(&r.arn).await?);
                } else {
                    warm.push(r.snapshot_id.clone());
                }
            }
        }
        let (svc, v) = (self.clone(), vault.clone());
        worker(
            tokio::task::spawn_blocking(move || -> Result<()> {
                if !warm.is_empty() {
                    let repo = svc.open_vault(&v)?;
                    forget_present(&repo, &snapshot_ids(warm.iter().map(String::as_str)))?;
                    repo.prune(&PruneOptions::default())?;
                }
                if !cold.is_empty() {
                    let repo = svc.open_cold_vault(&v, false)?;
                    forget_present(&repo, &snapshot_ids(cold.iter().map(String::as_str)))?;
                    repo.prune(&PruneOptions::default())?;
                }
                Ok(())
            })
            .await,
        )?;
        let mut tx = self.catalog.write().await?;
        for r in &rows {
            tx.delete_recovery_point(&r.arn).await?;
        }
        tx.commit().await?;
        tracing::info!(vault = %vault.name, count = rows.len(), "lifecycle: recovery points deleted");
        Ok(rows.len())
    }

    /// Forgets the warm snapshots of points already recorded `COLD` (a pass interrupted
    /// between the two steps of a move).
    async fn forget_warm_leftovers(&self) -> Result<()> {
        let left = self.catalog.read().await?.warm_leftovers(BATCH).await?;
        let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for l in left {
            groups.entry(l.vault_arn).or_default().push((l.arn, l.warm_snapshot_id));
        }
        for (vault_arn, points) in groups {
            let Some(vault) = self.catalog.read().await?.vault(&vault_arn).await? else { continue };
            let warm: Vec<String> = points.iter().map(|(_, w)| w.clone()).collect();
            self.forget_warm(&vault, warm).await?;
            let mut tx = self.catalog.write().await?;
            for (arn, _) in &points {
                tx.clear_warm_snapshot_id(arn).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn forget_warm(&self, vault: &BackupVault, warm: Vec<String>) -> Result<()> {
        let (svc, v) = (self.clone(), vault.clone());
        worker(
            tokio::task::spawn_blocking(move || -> Result<()> {
                let repo = svc.open_vault(&v)?;
                forget_present(&repo, &snapshot_ids(warm.iter().map(String::as_str)))?;
                repo.prune(&PruneOptions::default())?;
                Ok(())
            })
            .await,
        )
    }

    /// Moves `rows` of `vault` to its cold repository; returns how many moved.
    async fn move_to_cold(&self, vault: &BackupVault, rows: Vec<RecoveryPointRow>) -> Result<usize> {
        let (svc, v) = (self.clone(), vault.clone());
        let points: Vec<(String, String)> = rows.iter().map(|r| (r.arn.clone(), r.snapshot_id.clone())).collect();
        let moved = worker(
            tokio::task::spawn_blocking(move || -> Result<Vec<Moved>> {
                let warm = svc.open_vault(&v)?;
                let cold = svc.open_cold_vault(&v, true)?;
                let mut out = Vec::new();
                for (arn, snapshot) in points {
                    let id: SnapshotId = snapshot
                        .parse()
                        .map_err(|e| BackupError::DependencyFailure(format!("recovery point {arn}: snapshot id {snapshot}: {e:?}")))?;
                    let copied = warm.copy_to(id, &cold)?;
                    out.push(Moved { arn, warm: snapshot, cold: copied.snapshot_id.to_string() });
                }
                Ok(out)
            })
            .await,
        )?;
        // One write records every move: from here the cold copies are the points' data.
        let mut recorded = Vec::new();
        let mut stale = Vec::new();
        let mut tx = self.catalog.write().await?;
        for m in moved {
            if tx.set_recovery_point_cold(&m.arn, &m.warm, &m.cold).await? {
                recorded.push(m);
            } else {
                // Deleted or moved meanwhile: drop this copy unless it is what the row names.
                let now_named = tx.recovery_point(&m.arn).await?.is_some_and(|r| r.snapshot_id == m.cold);
                if !now_named {
                    stale.push(m.cold);
                }
            }
        }
        tx.commit().await?;
        if !stale.is_empty() {
            let (svc, v) = (self.clone(), vault.clone());
            worker(
                tokio::task::spawn_blocking(move || -> Result<()> {
                    forget_present(&svc.open_cold_vault(&v, false)?, &snapshot_ids(stale.iter().map(String::as_str)))
                })
                .await,
            )?;
        }
        if recorded.is_empty() {
            return Ok(0);
        }
        self.forget_warm(vault, recorded.iter().map(|m| m.warm.clone()).collect()).await?;
        let mut tx = self.catalog.write().await?;
        for m in &recorded {
            tx.clear_warm_snapshot_id(&m.arn).await?;
        }
        tx.commit().await?;
        tracing::info!(vault = %vault.name, count = recorded.len(), "lifecycle: recovery points moved to cold storage");
        Ok(recorded.len())
    }

    /// `UpdateRecoveryPointLifecycle`: replaces the point's lifecycle and recomputes its
    /// `CalculatedLifecycle` from its creation date, with the rules of a plan's lifecycle
    /// (`DeleteAfterDays` at least 90 days after `MoveToColdStorageAfterDays`). The move to
    /// cold of a point already `COLD` cannot change, as in AWS. A due instant is applied
    /// by the next lifecycle pass.
    /// In a locked vault the new lifecycle may not end before `MinRetentionDays` after the
    /// point's creation nor keep it longer than `MaxRetentionDays` (`InvalidRequestException`
    /// naming the lock).
    pub async fn update_recovery_point_lifecycle(&self, arn: &str, lifecycle: Lifecycle) -> Result<RecoveryPointLifecycle> {
        self.update_lifecycle(arn, lifecycle, false).await
    }

    /// [`BackupService::update_recovery_point_lifecycle`] with the caller's permission to
    /// bypass a Vault Lock in governance mode (or in the grace time of compliance mode);
    /// a lock in compliance mode is never bypassed.
    pub async fn update_recovery_point_lifecycle_bypassing_governance(&self, arn: &str, lifecycle: Lifecycle) -> Result<RecoveryPointLifecycle> {
        self.update_lifecycle(arn, lifecycle, true).await
    }

    async fn update_lifecycle(&self, arn: &str, lifecycle: Lifecycle, bypass_governance_retention: bool) -> Result<RecoveryPointLifecycle> {
        let at = JsonPath::root().key("Lifecycle");
        let mut errors = Vec::new();
        bunker_policy::plan_input::check_lifecycle(&at, &lifecycle, &mut errors);
        if !errors.is_empty() {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Err(BackupError::InvalidParameterValue(text.join("\n")));
        }
        let mut tx = self.catalog.write().await?;
        let rp = tx.recovery_point(arn).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Recovery point {arn} does not exist")))?;
        if rp.status == "DELETING" {
            return Err(BackupError::InvalidRequest(format!("Recovery point {arn} is being deleted")));
        }
        let lock = tx.vault_lock(&rp.vault_arn).await?;
        super::vault_lock::check_lock_allows_lifecycle(&rp, lock.as_ref(), &lifecycle, self.now(), bypass_governance_retention)?;
        if rp.storage_class == "COLD" {
            let current: Option<Lifecycle> = serde_json::from_str(&rp.lifecycle).ok();
            let was = current.and_then(|l| l.move_to_cold_storage_after_days);
            if lifecycle.move_to_cold_storage_after_days != was {
                return Err(BackupError::InvalidParameterValue(format!(
                    "{}: recovery point {arn} is in cold storage; its MoveToColdStorageAfterDays ({}) cannot be changed",
                    at.key("MoveToColdStorageAfterDays"),
                    was.map_or_else(|| "none".to_owned(), |d| d.to_string())
                )));
            }
        }
        let calculated = CalculatedLifecycle {
            move_to_cold_storage_at: days_after(rp.created_at, lifecycle.move_to_cold_storage_after_days),
            delete_at: days_after(rp.created_at, lifecycle.delete_after_days),
        };
        tx.set_recovery_point_lifecycle(arn, &lifecycle_json(Some(&lifecycle)), calculated.move_to_cold_storage_at, calculated.delete_at)
            .await?;
        tx.commit().await?;
        Ok(RecoveryPointLifecycle { backup_vault_arn: rp.vault_arn, recovery_point_arn: rp.arn, lifecycle, calculated_lifecycle: calculated })
    }

    /// `DeleteRecoveryPoint`: marks the point `DELETING`, removes its data (forget and
    /// prune in its repository, warm or cold), then its row. If removing the data fails the
    /// point stays `DELETING` and the next lifecycle pass finishes it.
    ///
    /// Refused (`InvalidRequestException`) while an active legal hold is on the point, or
    /// while its vault's lock keeps it (younger than `MinRetentionDays`).
    pub async fn delete_recovery_point(&self, vault_name: &str, arn: &str) -> Result<()> {
        self.delete_point(vault_name, arn, false).await
    }

    /// [`BackupService::delete_recovery_point`] with the caller's permission to bypass a
    /// Vault Lock in governance mode (or in the grace time of compliance mode). A lock in
    /// compliance mode and legal holds are never bypassed.
    pub async fn delete_recovery_point_bypassing_governance(&self, vault_name: &str, arn: &str) -> Result<()> {
        self.delete_point(vault_name, arn, true).await
    }

    async fn delete_point(&self, vault_name: &str, arn: &str, bypass_governance_retention: bool) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        let rp = tx.recovery_point(arn).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Recovery point {arn} does not exist")))?;
        let vault = tx.vault(&rp.vault_arn).await?;
        let Some(vault) = vault.filter(|v| v.name == vault_name) else {
            return Err(BackupError::ResourceNotFound(format!("Recovery point {arn} is not in backup vault {vault_name}")));
        };
        if rp.status != "DELETING" {
            // A deletion already under way (interrupted) may always be finished.
            super::vault_lock::check_not_held(&mut tx, &rp).await?;
            let lock = tx.vault_lock(&vault.arn).await?;
            super::vault_lock::check_lock_allows_deletion(&rp, lock.as_ref(), self.now(), bypass_governance_retention)?;
        }
        tx.mark_recovery_point_deleting(arn, "Deleted by DeleteRecoveryPoint").await?;
        tx.commit().await?;
        let rp = RecoveryPointRow { status: "DELETING".into(), ..rp };
        self.delete_marked(&vault, vec![rp]).await?;
        Ok(())
    }
}
