//! Backup vault access policies (`PutBackupVaultAccessPolicy`, `Get…`, `Delete…`): the
//! resource policy that lets other accounts (the organization, for a central vault) copy
//! into a vault. The authorizer reads it when a request names the vault or one of its
//! recovery points.

use serde::Serialize;

use super::{BackupError, BackupService, Result};

/// `GetBackupVaultAccessPolicy`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VaultAccessPolicy {
    /// `BackupVaultName`.
    pub backup_vault_name: String,
    /// `BackupVaultArn`.
    pub backup_vault_arn: String,
    /// `Policy` (the document as given).
    pub policy: String,
}

impl BackupService {
    /// `PutBackupVaultAccessPolicy`: the document must be a valid IAM policy naming principals.
    pub async fn put_backup_vault_access_policy(&self, account: &str, region: &str, name: &str, policy: &str) -> Result<()> {
        bunker_iam::PolicyDocument::parse(policy)
            .map_err(|e| BackupError::InvalidParameterValue(format!("The access policy is not a valid IAM policy document:\n{e}")))?;
        let v = self.vault_row(account, region, name).await?;
        let mut tx = self.catalog.write().await?;
        tx.put_vault_access_policy(&v.arn, policy, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GetBackupVaultAccessPolicy`.
    pub async fn get_backup_vault_access_policy(&self, account: &str, region: &str, name: &str) -> Result<VaultAccessPolicy> {
        let v = self.vault_row(account, region, name).await?;
        let policy = self.catalog.read().await?.vault_access_policy(&v.arn).await?;
        let policy = policy.ok_or_else(|| BackupError::ResourceNotFound(format!("Backup vault {name} has no access policy")))?;
        Ok(VaultAccessPolicy { backup_vault_name: v.name, backup_vault_arn: v.arn, policy })
    }

    /// `DeleteBackupVaultAccessPolicy` (AWS answers success when there is none).
    pub async fn delete_backup_vault_access_policy(&self, account: &str, region: &str, name: &str) -> Result<()> {
        let v = self.vault_row(account, region, name).await?;
        let mut tx = self.catalog.write().await?;
        tx.delete_vault_access_policy(&v.arn).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The access policy of the vault `arn` names (a vault or one of its recovery points),
    /// for the authorizer: `(vault ARN, document)`.
    pub async fn access_policy_for(&self, arn: &str) -> Result<Option<(String, String)>> {
        let mut tx = self.catalog.read().await?;
        let vault = if arn.contains(":backup-vault:") {
            Some(arn.to_owned())
        } else if arn.contains(":recovery-point:") {
            tx.recovery_point(arn).await?.map(|rp| rp.vault_arn)
        } else {
            None
        };
        let Some(vault) = vault else { return Ok(None) };
        Ok(tx.vault_access_policy(&vault).await?.map(|doc| (vault, doc)))
    }
}
