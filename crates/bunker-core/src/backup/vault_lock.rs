//! AWS Backup Vault Lock: `PutBackupVaultLockConfiguration`,
//! `DeleteBackupVaultLockConfiguration`, and the rules every path that deletes a recovery
//! point or changes its retention obeys.
//!
//! A lock put without `ChangeableForDays` is in **governance mode**: it can be changed or
//! removed at any time, and a caller allowed to may bypass it to delete or shorten a point
//! early (the `…_bypassing_governance` methods; who may is decided before they are called).
//! With `ChangeableForDays` (at least 3) it is in **compliance mode** from its lock date on
//! (put + that many days): from then on nothing changes it, removes it or bypasses it.
//! Before the lock date it behaves as in governance mode.
//!
//! While locked, a recovery point of the vault is not deleted (by `DeleteRecoveryPoint` or by
//! lifecycle) before `MinRetentionDays` after its creation, and its lifecycle cannot be
//! changed to end before then; lifecycle deletion of a point kept so is retried by every
//! pass and happens once allowed. New recovery points (backup jobs) and copies into the
//! vault must have a retention within `[MinRetentionDays, MaxRetentionDays]`; no
//! `DeleteAfterDays` means forever, which a `MaxRetentionDays` refuses. All of it on the
//! service's clock.

use bunker_catalog::{BackupVault, RecoveryPointRow, Tx, VaultLockRow};
use bunker_policy::plan::Lifecycle;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::{BackupError, BackupService, Result, vault_arn};

/// The largest retention AWS accepts in a lock (100 years).
const MAX_DAYS: i64 = 36_500;

/// Grace time, in days, before a compliance-mode lock becomes immutable (AWS: 72 hours).
const MIN_CHANGEABLE_DAYS: i64 = 3;

/// `PutBackupVaultLockConfiguration` input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutVaultLock {
    /// `MinRetentionDays`: no minimum when absent.
    pub min_retention_days: Option<i64>,
    /// `MaxRetentionDays`: no maximum when absent.
    pub max_retention_days: Option<i64>,
    /// `ChangeableForDays`: compliance mode from now + this many days; governance mode
    /// when absent.
    pub changeable_for_days: Option<i64>,
}

/// The Vault Lock fields of `DescribeBackupVault` / `ListBackupVaults` (flatten into the
/// vault's description).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VaultLockFields {
    /// `Locked`: a lock protects the vault's recovery points.
    pub locked: bool,
    /// `MinRetentionDays`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_retention_days: Option<i64>,
    /// `MaxRetentionDays`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retention_days: Option<i64>,
    /// `LockDate`: when the lock becomes immutable (compliance mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_date: Option<Timestamp>,
}

impl VaultLockFields {
    /// The fields for a vault with `lock` (or none).
    pub fn of(lock: Option<&VaultLockRow>) -> Self {
        match lock {
            None => Self::default(),
            Some(l) => Self { locked: true, min_retention_days: l.min_retention_days, max_retention_days: l.max_retention_days, lock_date: l.lock_date },
        }
    }
}

fn name_of(vault_arn: &str) -> &str {
    vault_arn.rsplit_once(":backup-vault:").map_or(vault_arn, |(_, n)| n)
}

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(d.saturating_mul(24))
}

/// The lock named in messages: `the Vault Lock of backup vault X (compliance mode since …,
/// MinRetentionDays 100, MaxRetentionDays 400)`.
pub(crate) fn describe_lock(lock: &VaultLockRow, now: Timestamp) -> String {
    let mode = match lock.lock_date {
        Some(d) if now >= d => format!("compliance mode since {d}"),
        Some(d) => format!("compliance mode from {d}, changeable until then"),
        None => "governance mode".to_owned(),
    };
    let mut parts = vec![mode];
    parts.extend(lock.min_retention_days.map(|d| format!("MinRetentionDays {d}")));
    parts.extend(lock.max_retention_days.map(|d| format!("MaxRetentionDays {d}")));
    format!("the Vault Lock of backup vault {} ({})", name_of(&lock.vault_arn), parts.join(", "))
}

/// Why a new recovery point (or copy) with `lifecycle` may not be stored in a vault with
/// `lock`, if it may not: its retention must lie within `[MinRetentionDays,
/// MaxRetentionDays]`.
pub(crate) fn retention_refusal(lock: Option<&VaultLockRow>, lifecycle: Option<&Lifecycle>, now: Timestamp) -> Option<String> {
    let lock = lock?;
    let keep = lifecycle.and_then(|l| l.delete_after_days);
    let shown = keep.map_or_else(|| "no DeleteAfterDays (kept forever)".to_owned(), |d| format!("DeleteAfterDays {d}"));
    if let (Some(min), Some(k)) = (lock.min_retention_days, keep)
        && k < min
    {
        return Some(format!("The lifecycle ({shown}) keeps recovery points less than the MinRetentionDays of {}", describe_lock(lock, now)));
    }
    if let Some(max) = lock.max_retention_days
        && keep.is_none_or(|k| k > max)
    {
        return Some(format!("The lifecycle ({shown}) keeps recovery points longer than the MaxRetentionDays of {}", describe_lock(lock, now)));
    }
    None
}

/// Whether `lock` may be bypassed at `now` by a caller who asked to: only before it is
/// immutable (governance mode, or the grace time of compliance mode).
fn bypassable(lock: &VaultLockRow, now: Timestamp, bypass: bool) -> bool {
    bypass && !lock.is_immutable(now)
}

/// Refuses deleting `rp` while its vault's lock keeps it (younger than `MinRetentionDays`).
pub(crate) fn check_lock_allows_deletion(rp: &RecoveryPointRow, lock: Option<&VaultLockRow>, now: Timestamp, bypass: bool) -> Result<()> {
    let Some(lock) = lock else { return Ok(()) };
    let Some(min) = lock.min_retention_days else { return Ok(()) };
    let until = rp.created_at.checked_add(days(min)).unwrap_or(Timestamp::MAX);
    if now < until && !bypassable(lock, now, bypass) {
        return Err(BackupError::InvalidRequest(format!(
            "Recovery point {} cannot be deleted before {until}: {} keeps it {min} days from its creation ({})",
            rp.arn,
            describe_lock(lock, now),
            rp.created_at
        )));
    }
    Ok(())
}

/// Refuses a new lifecycle of `rp` that its vault's lock forbids: ending before
/// `MinRetentionDays` after creation, or keeping it longer than `MaxRetentionDays`.
pub(crate) fn check_lock_allows_lifecycle(rp: &RecoveryPointRow, lock: Option<&VaultLockRow>, lifecycle: &Lifecycle, now: Timestamp, bypass: bool) -> Result<()> {
    let Some(lock) = lock else { return Ok(()) };
    if bypassable(lock, now, bypass) {
        return Ok(());
    }
    match retention_refusal(Some(lock), Some(lifecycle), now) {
        Some(why) => Err(BackupError::InvalidRequest(format!("The lifecycle of recovery point {} cannot be changed: {why}", rp.arn))),
        None => Ok(()),
    }
}

/// Refuses deleting `rp` while an active legal hold is on it (no bypass).
pub(crate) async fn check_not_held(tx: &mut Tx, rp: &RecoveryPointRow) -> Result<()> {
    let holds = tx.active_legal_holds_on(&rp.arn).await?;
    if holds.is_empty() {
        return Ok(());
    }
    Err(BackupError::InvalidRequest(format!(
        "Recovery point {} cannot be deleted: it is under legal hold {} (cancel the hold first)",
        rp.arn,
        holds.join(", ")
    )))
}

impl BackupService {
    /// `PutBackupVaultLockConfiguration`: locks the vault, or changes its lock while that
    /// is allowed (governance mode, or before the lock date of compliance mode).
    pub async fn put_backup_vault_lock_configuration(&self, account: &str, region: &str, vault_name: &str, put: PutVaultLock) -> Result<()> {
        let check = |name: &str, v: Option<i64>, low: i64| match v {
            Some(d) if !(low..=MAX_DAYS).contains(&d) => {
                Err(BackupError::InvalidParameterValue(format!("{name} {d}: must be from {low} to {MAX_DAYS}")))
            }
            _ => Ok(()),
        };
        check("MinRetentionDays", put.min_retention_days, 1)?;
        check("MaxRetentionDays", put.max_retention_days, 1)?;
        check("ChangeableForDays", put.changeable_for_days, MIN_CHANGEABLE_DAYS)?;
        if let (Some(min), Some(max)) = (put.min_retention_days, put.max_retention_days)
            && min > max
        {
            return Err(BackupError::InvalidParameterValue(format!("MinRetentionDays {min} is greater than MaxRetentionDays {max}")));
        }
        let arn = vault_arn(region, account, vault_name);
        let now = self.now();
        let mut tx = self.catalog.write().await?;
        if tx.vault(&arn).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("Backup vault {vault_name} does not exist")));
        }
        let old = tx.vault_lock(&arn).await?;
        if let Some(old) = &old
            && old.is_immutable(now)
        {
            return Err(BackupError::InvalidRequest(format!(
                "Backup vault {vault_name} cannot be given another Vault Lock configuration: {} is immutable",
                describe_lock(old, now)
            )));
        }
        let row = VaultLockRow {
            vault_arn: arn,
            min_retention_days: put.min_retention_days,
            max_retention_days: put.max_retention_days,
            changeable_for_days: put.changeable_for_days,
            lock_date: put.changeable_for_days.map(|d| now + days(d)),
            created_at: old.as_ref().map_or(now, |o| o.created_at),
            updated_at: now,
        };
        tx.put_vault_lock(&row).await?;
        tx.commit().await?;
        tracing::info!(vault = %vault_name, lock = %describe_lock(&row, now), "vault lock put");
        Ok(())
    }

    /// `DeleteBackupVaultLockConfiguration`: removes the lock, refused once it is in
    /// compliance mode.
    pub async fn delete_backup_vault_lock_configuration(&self, account: &str, region: &str, vault_name: &str) -> Result<()> {
        let arn = vault_arn(region, account, vault_name);
        let now = self.now();
        let mut tx = self.catalog.write().await?;
        if tx.vault(&arn).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("Backup vault {vault_name} does not exist")));
        }
        let Some(lock) = tx.vault_lock(&arn).await? else {
            return Err(BackupError::ResourceNotFound(format!("Backup vault {vault_name} has no Vault Lock configuration")));
        };
        if lock.is_immutable(now) {
            return Err(BackupError::InvalidRequest(format!(
                "The Vault Lock configuration of backup vault {vault_name} cannot be deleted: {} is immutable",
                describe_lock(&lock, now)
            )));
        }
        tx.delete_vault_lock(&arn).await?;
        tx.commit().await?;
        tracing::info!(vault = %vault_name, "vault lock deleted");
        Ok(())
    }

    /// The Vault Lock fields of a vault (`Locked`, `MinRetentionDays`, `MaxRetentionDays`,
    /// `LockDate`).
    pub async fn backup_vault_lock(&self, account: &str, region: &str, vault_name: &str) -> Result<VaultLockFields> {
        let v = self.vault_row(account, region, vault_name).await?;
        Ok(VaultLockFields::of(self.vault_lock_of(&v.arn).await?.as_ref()))
    }

    /// A vault's lock, if it has one (for `DescribeBackupVault` and `ListBackupVaults`).
    pub(crate) async fn vault_lock_of(&self, vault_arn: &str) -> Result<Option<VaultLockRow>> {
        Ok(self.catalog.read().await?.vault_lock(vault_arn).await?)
    }

    /// Whether `DeleteBackupVault` may delete the vault now that it holds `recovery_points`
    /// points: a locked vault goes only when empty (its lock goes with it), so the lock's
    /// points can never be lost with their vault.
    pub(crate) async fn check_vault_deletable(&self, vault_arn: &str, recovery_points: i64) -> Result<()> {
        if recovery_points == 0 {
            return Ok(());
        }
        let Some(lock) = self.vault_lock_of(vault_arn).await? else { return Ok(()) };
        Err(BackupError::InvalidRequest(format!(
            "Backup vault {} cannot be deleted: it holds {recovery_points} recovery points, kept by {}",
            name_of(vault_arn),
            describe_lock(&lock, self.now())
        )))
    }

    /// The lock of `vault`, read in `tx`, and why `lifecycle` may not be used for a new
    /// point in it, if it may not.
    pub(crate) async fn new_point_refusal(&self, tx: &mut Tx, vault: &BackupVault, lifecycle: Option<&Lifecycle>) -> Result<Option<String>> {
        let lock = tx.vault_lock(&vault.arn).await?;
        Ok(retention_refusal(lock.as_ref(), lifecycle, self.now()))
    }
}
