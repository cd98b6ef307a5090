//! Backup vault access policies (`PutBackupVaultAccessPolicy`, `Get…`, `Delete…`): the
//! resource policy that lets other accounts (the organization, for a central vault) copy
//! into a vault. The authorizer reads it when a request names the vault or one of its
//! recovery points.

use serde::Serialize;

use crate::security::{Caller, Security};
use crate::security::audit::{AuditResource, AuditTrail, NewAuditEvent};

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
    /// `PutBackupVaultAccessPolicy`: the document must be a valid IAM policy naming principals,
    /// within [`VAULT_ACCESS_POLICY_MAX_BYTES`](crate::quotas::backup::VAULT_ACCESS_POLICY_MAX_BYTES).
    pub async fn put_backup_vault_access_policy(&self, account: &str, region: &str, name: &str, policy: &str) -> Result<()> {
        let max = crate::quotas::backup::VAULT_ACCESS_POLICY_MAX_BYTES;
        if policy.len() > max {
            // PutBackupVaultAccessPolicy answers a value out of range this way.
            return Err(BackupError::InvalidParameterValue(format!(
                "The access policy is {} bytes; a backup vault access policy holds at most {max}",
                policy.len()
            )));
        }
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
}

impl BackupService {
    /// Whether the backup service, copying for `account`, may put a copy into
    /// `destination` (`backup:CopyIntoBackupVault` under the destination's access policy and
    /// the account's SCPs). The decision is recorded in the audit trail either way.
    pub(crate) async fn authorize_copy_into(&self, account: &str, region: &str, destination: &str) -> std::result::Result<(), String> {
        let security = Security::open(self.catalog.clone(), self.clock.clone(), &self.data_dir).map_err(|e| e.to_string())?;
        let caller = Caller::backup_service(account);
        let request = security.access_request("backup:CopyIntoBackupVault", destination, account).await.map_err(|e| e.to_string())?;
        let decision = security.require(&caller, &request).await;
        let failure = decision.as_ref().err().map(|e| (e.code(), e.to_string()));
        // No record, no copy.
        self.audit_service_call(&security, account, region, "CopyIntoBackupVault", &[destination], failure).await?;
        decision.map(drop).map_err(|e| e.to_string())
    }

    /// Records in the audit trail a call the service made for `account` (a copy's
    /// authorization, a lifecycle deletion).
    ///
    /// # Errors
    /// The trail cannot take the record: the caller must not go on.
    pub(crate) async fn audit_service_call(
        &self,
        security: &Security,
        account: &str,
        region: &str,
        event_name: &str,
        resources: &[&str],
        failure: Option<(&str, String)>,
    ) -> std::result::Result<(), String> {
        let caller = Caller::backup_service(account);
        let trail = AuditTrail::new(self.catalog.clone(), security.master_key().clone(), self.clock.clone());
        let mut event = NewAuditEvent::new(&caller, "backup.amazonaws.com", event_name, region);
        event.resources = resources.iter().map(|arn| AuditResource { arn: (*arn).to_owned(), resource_type: AuditResource::type_of(arn) }).collect();
        if let Some((code, message)) = failure {
            event.decision = "denied".into();
            event.error_code = Some(code.to_owned());
            event.error_message = Some(message);
        }
        trail.record(event).await.map(drop).map_err(|e| {
            tracing::error!(event_name, "cannot write the audit trail: {e}");
            format!("the audit trail cannot be written: {e}")
        })
    }
}

/// The reference central vault access policy: every principal of the organization `org_id`
/// may copy into the vault (`backup:CopyIntoBackupVault` on `aws:PrincipalOrgID`), nobody
/// else may do anything through it.
pub fn organization_copy_policy(org_id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowOrganizationToCopyIntoThisVault","Effect":"Allow","Principal":"*","Action":"backup:CopyIntoBackupVault","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{org_id}"}}}}}}]}}"#
    )
}
