//! `bunker backup put-backup-vault-access-policy`, `get-…`, `delete-…`: who else may use a
//! vault (the organization copying into a central vault), as `aws backup …` names them.

use bunker_core::BackupService;
use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

use crate::aws_json::shape;
use crate::failure::Failure;
use crate::scope::Place;

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
#[allow(clippy::enum_variant_names)] // the AWS operation names
pub enum AccessPolicyCommand {
    /// Set a vault's access policy (an IAM policy document naming principals).
    PutBackupVaultAccessPolicy {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
        /// The document, or `file://PATH`.
        #[arg(long)]
        policy: String,
    },
    /// Show a vault's access policy.
    GetBackupVaultAccessPolicy {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
    },
    /// Remove a vault's access policy.
    DeleteBackupVaultAccessPolicy {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
    },
}

/// Runs one operation in `place`.
pub async fn run(svc: &BackupService, place: &Place, command: AccessPolicyCommand) -> Result<Option<Value>, Failure> {
    let (account, region) = (place.account.as_str(), place.region.as_str());
    match command {
        AccessPolicyCommand::PutBackupVaultAccessPolicy { backup_vault_name, policy } => {
            svc.put_backup_vault_access_policy(account, region, &backup_vault_name, &policy).await?;
            Ok(None)
        }
        AccessPolicyCommand::GetBackupVaultAccessPolicy { backup_vault_name } => {
            Ok(Some(shape(&svc.get_backup_vault_access_policy(account, region, &backup_vault_name).await?)))
        }
        AccessPolicyCommand::DeleteBackupVaultAccessPolicy { backup_vault_name } => {
            svc.delete_backup_vault_access_policy(account, region, &backup_vault_name).await?;
            Ok(None)
        }
    }
}
