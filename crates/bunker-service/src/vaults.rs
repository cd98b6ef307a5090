//! Opening a repository directly (`bunker vault`): allowed on standalone repositories;
//! on one of the service's vaults only to read, only for a caller the vault's account
//! lets list its recovery points, and recorded in the audit trail like every call.

use bunker_core::backup::StorageOwner;
use bunker_vault::VersionedKek;
use serde_json::{Map, Value, json};

use crate::call::Call;
use crate::{Authenticated, Failure, Service};

/// What a direct opener may do with a location.
pub enum DirectAccess {
    /// Nothing of the service's: the repository's own password or key file opens it.
    Standalone,
    /// One of the service's vaults, to be opened read-only under this key.
    ServiceVault {
        /// The vault's ARN.
        vault_arn: String,
        /// The vault's key-encryption key.
        kek: VersionedKek,
    },
}

/// The action a direct read of a service vault needs: listing its recovery points is
/// what every read (snapshots, ls, diff, check) reveals.
pub const INSPECT_ACTION: &str = "backup:ListRecoveryPointsByBackupVault";
/// The audit trail's name for a direct read.
pub const INSPECT_EVENT: &str = "InspectBackupVault";

impl Service {
    /// Decides whether `who` may run the vault engine's `command` on `location`
    /// (`mutating`: it would write or delete), and records every decision about a service
    /// vault.
    ///
    /// # Errors
    /// `InvalidRequestException` for a change to a service vault or anything else inside
    /// the service's storage; `AccessDeniedException`; catalog and key failures.
    /// `who` is `None` for the embedded CLI's local operator without credentials, who
    /// then acts as the root of the account whose vault it opens (as for a command acting
    /// on an ARN), bounded by that account's SCPs.
    pub async fn direct_vault_access(&self, who: Option<&Authenticated>, location: &str, command: &str, mutating: bool) -> Result<DirectAccess, Failure> {
        let owner = self.backup.what_is_at(location).await?;
        let local;
        let who = match (who, &owner) {
            (Some(who), _) => who,
            (None, StorageOwner::Vault(v)) => {
                local = self.local_operator(&v.account_id, crate::LocalChoice::NamedAccount);
                &local
            }
            (None, _) => {
                local = match self.management_account().await {
                    Some(account) => self.local_operator(&account, crate::LocalChoice::ManagementAccount),
                    None => self.local_operator("000000000000", crate::LocalChoice::NoOrganization),
                };
                &local
            }
        };
        let mut parameters = Map::new();
        parameters.insert("Location".into(), json!(location));
        parameters.insert("Command".into(), json!(command));
        let vault = match owner {
            StorageOwner::Nobody => return Ok(DirectAccess::Standalone),
            StorageOwner::ServiceStorage => {
                let failure = Failure::Backup(bunker_core::BackupError::InvalidRequest(format!(
                    "{location} is inside the service's storage: only the service's vaults there are opened directly, and only to read"
                )));
                let call = self.inspection_call(parameters, None, Vec::new());
                self.audit(who, &call, None, Some(&failure)).await?;
                return Err(failure);
            }
            StorageOwner::Vault(vault) => vault,
        };
        parameters.insert("BackupVaultName".into(), json!(vault.name));
        let request = self.security.access_request(INSPECT_ACTION, &vault.arn, &vault.account_id).await?;
        let call = self.inspection_call(parameters, Some(&vault.region), vec![request]);
        if mutating {
            let failure = Failure::Backup(bunker_core::BackupError::InvalidRequest(format!(
                "`{command}` would change the service vault {}: a service vault changes only through the service \
                 (delete-recovery-point, lifecycle, Vault Lock), which keeps its locks and the audit trail",
                vault.arn
            )));
            self.audit(who, &call, None, Some(&failure)).await?;
            return Err(failure);
        }
        let decisions = match self.authorize(who, &call, None).await {
            Ok(d) => d,
            Err((failure, decision)) => {
                self.audit(who, &call, decision.as_ref(), Some(&failure)).await?;
                return Err(failure);
            }
        };
        match self.backup.vault_key_encryption_key(&vault.account_id, &vault.region, &vault.name).await {
            Ok(kek) => {
                self.audit(who, &call, decisions.last(), None).await?;
                Ok(DirectAccess::ServiceVault { vault_arn: vault.arn.clone(), kek })
            }
            Err(e) => {
                let failure = Failure::Backup(e);
                self.audit(who, &call, decisions.last(), Some(&failure)).await?;
                Err(failure)
            }
        }
    }

    fn inspection_call(&self, parameters: Map<String, Value>, region: Option<&str>, requests: Vec<bunker_core::security::AccessRequest>) -> Call {
        Call {
            event_source: "backup.amazonaws.com",
            operation: INSPECT_EVENT.to_owned(),
            region: region.unwrap_or(crate::DEFAULT_REGION).to_owned(),
            parameters,
            requests,
            read_only: true,
        }
    }
}
