//! `bunker backup update-recovery-point-lifecycle` and `delete-recovery-point`: when a
//! recovery point moves to the cold tier and when it is deleted, as `aws backup …` names
//! and prints them.

use bunker_core::BackupService;
use bunker_core::backup::RecoveryPointLifecycle;
use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

use crate::aws_json::shape;
use crate::failure::Failure;
use crate::scope::Place;

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum LifecycleCommand {
    /// Set when a recovery point moves to cold storage and when it is deleted, counted from
    /// its creation (a point already in cold storage keeps its move; cold data stays at
    /// least 90 days).
    UpdateRecoveryPointLifecycle {
        /// Its vault.
        #[arg(long)]
        backup_vault_name: String,
        /// The recovery point.
        #[arg(long)]
        recovery_point_arn: String,
        /// The lifecycle: `MoveToColdStorageAfterDays=30,DeleteAfterDays=366` or JSON.
        /// Left out: kept warm and forever.
        #[arg(long)]
        lifecycle: Option<String>,
        /// Bypass the vault's Vault Lock in governance mode (never a lock in compliance
        /// mode).
        #[arg(long)]
        bypass_governance_retention: bool,
    },
    /// Delete a recovery point now: its data is removed from the vault (warm or cold),
    /// then the point.
    DeleteRecoveryPoint {
        /// Its vault.
        #[arg(long)]
        backup_vault_name: String,
        /// The recovery point.
        #[arg(long)]
        recovery_point_arn: String,
        /// Bypass the vault's Vault Lock in governance mode (never a lock in compliance
        /// mode, nor a legal hold).
        #[arg(long)]
        bypass_governance_retention: bool,
    },
}

/// The point must be in the named vault of this account and Region, as AWS requires.
async fn ensure_in_vault(svc: &BackupService, place: &Place, vault: &str, arn: &str) -> Result<(), Failure> {
    let rp = svc.describe_recovery_point(arn).await?;
    let expected = bunker_core::backup::vault_arn(&place.region, &place.account, vault);
    if rp.backup_vault_arn != expected {
        return Err(bunker_core::BackupError::ResourceNotFound(format!("Recovery point {arn} is not in backup vault {vault}")).into());
    }
    Ok(())
}

/// Runs one operation in `place`. `None` for operations that print nothing.
pub async fn run(svc: &BackupService, place: &Place, cmd: LifecycleCommand) -> Result<Option<Value>, Failure> {
    match cmd {
        LifecycleCommand::UpdateRecoveryPointLifecycle { backup_vault_name, recovery_point_arn, lifecycle, bypass_governance_retention } => {
            ensure_in_vault(svc, place, &backup_vault_name, &recovery_point_arn).await?;
            let lifecycle = super::lifecycle(lifecycle)?.unwrap_or_default();
            let out: RecoveryPointLifecycle = if bypass_governance_retention {
                svc.update_recovery_point_lifecycle_bypassing_governance(&recovery_point_arn, lifecycle).await?
            } else {
                svc.update_recovery_point_lifecycle(&recovery_point_arn, lifecycle).await?
            };
            Ok(Some(shape(&out)))
        }
        LifecycleCommand::DeleteRecoveryPoint { backup_vault_name, recovery_point_arn, bypass_governance_retention } => {
            ensure_in_vault(svc, place, &backup_vault_name, &recovery_point_arn).await?;
            if bypass_governance_retention {
                svc.delete_recovery_point_bypassing_governance(&backup_vault_name, &recovery_point_arn).await?;
            } else {
                svc.delete_recovery_point(&backup_vault_name, &recovery_point_arn).await?;
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: LifecycleCommand,
    }

    #[test]
    fn aws_cli_names_and_flags() {
        let cli = Cli::try_parse_from([
            "backup",
            "update-recovery-point-lifecycle",
            "--backup-vault-name",
            "Default",
            "--recovery-point-arn",
            "arn:aws:backup:eu-west-1:111111111111:recovery-point:X",
            "--lifecycle",
            "MoveToColdStorageAfterDays=30,DeleteAfterDays=366",
        ])
        .unwrap();
        let LifecycleCommand::UpdateRecoveryPointLifecycle { lifecycle, .. } = cli.cmd else { panic!("{cli:?}") };
        let l = super::super::lifecycle(lifecycle).unwrap().unwrap();
        assert_eq!((l.move_to_cold_storage_after_days, l.delete_after_days), (Some(30), Some(366)));
        let cli = Cli::try_parse_from(["backup", "delete-recovery-point", "--backup-vault-name", "Default", "--recovery-point-arn", "arn:x"]).unwrap();
        assert!(matches!(cli.cmd, LifecycleCommand::DeleteRecoveryPoint { .. }));
    }
}
