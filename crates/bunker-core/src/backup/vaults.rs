//! Backup vaults: one vault-engine repository per vault on its Region's warm root
//! (`<warm root>/<account>/<vault>`, by default `<data>/regions/<region>/…`; see
//! [`super::sites`]) and, once lifecycle first moves a recovery point there, a second one on
//! the Region's cold root. Both are encrypted under the account's key
//! (`<data>/keys/<account>.key`, made when the account's first vault is created; the key
//! service replaces these files later).

use std::path::PathBuf;

use bunker_catalog::{BackupVault, Tags};
use bunker_policy::plan_input::valid_vault_name;
use bunker_vault::{FileKek, InitOptions, Vault};
use serde::Serialize;

use super::sites::{Location, Sites};
use super::{BackupError, BackupService, Result, vault_arn};

/// `describe-backup-vault` / one entry of `list-backup-vaults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VaultDescription {
    /// `BackupVaultName`.
    pub backup_vault_name: String,
    /// `BackupVaultArn`.
    pub backup_vault_arn: String,
    /// `EncryptionKeyArn`.
    pub encryption_key_arn: String,
    /// `CreationDate`.
    pub creation_date: jiff::Timestamp,
    /// `CreatorRequestId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    /// `NumberOfRecoveryPoints`.
    pub number_of_recovery_points: i64,
    /// `Locked` (Vault Lock comes with the security layer).
    pub locked: bool,
    /// `VaultType`.
    pub vault_type: &'static str,
    /// Bunker: where the vault's data is.
    pub location: String,
}

impl BackupService {
    fn key_path(&self, account: &str) -> PathBuf {
        self.data_dir.join("keys").join(format!("{account}.key"))
    }

    /// The account's key-encryption key, made on first use.
    fn account_kek(&self, account: &str) -> Result<FileKek> {
        let path = self.key_path(account);
        if path.exists() {
            return Ok(FileKek::load(&path)?);
        }
        std::fs::create_dir_all(path.parent().unwrap_or(&self.data_dir))
            .map_err(|e| BackupError::DependencyFailure(format!("cannot create the key directory: {e}")))?;
        Ok(FileKek::generate(&path)?)
    }

    /// Opens a vault's engine (blocking: call from a blocking thread).
    pub(crate) fn open_vault(&self, vault: &BackupVault) -> Result<Vault> {
        let kek = self.account_kek(&vault.account_id)?;
        Ok(Vault::open(Location::from_stored(&vault.location).storage()?, &kek)?)
    }

    /// Where a vault's cold repository is.
    pub(crate) fn cold_location(&self, vault: &BackupVault) -> Result<Location> {
        Ok(Sites::load(&self.data_dir)?.cold_vault(&vault.region, &vault.account_id, &vault.name))
    }

    /// Opens a vault's cold repository, made on first use when `create` (blocking: call
    /// from a blocking thread).
    pub(crate) fn open_cold_vault(&self, vault: &BackupVault, create: bool) -> Result<Vault> {
        let kek = self.account_kek(&vault.account_id)?;
        let location = self.cold_location(vault)?;
        let storage = location.storage()?;
        let has_config = storage.exists(&bunker_vault::storage::ObjectKey::Config)?;
        if has_config || !create {
            return Vault::open(storage, &kek)
                .map_err(|e| BackupError::DependencyFailure(format!("cold repository {location} of vault {}: {e}", vault.name)));
        }
        match Vault::init(storage.clone(), &kek, InitOptions::default()) {
            Ok(v) => Ok(v),
            // Another process made it meanwhile.
            Err(bunker_vault::VaultError::AlreadyInitialized) => Ok(Vault::open(storage, &kek)?),
            Err(e) => Err(e.into()),
        }
    }

    /// `CreateBackupVault`.
    pub async fn create_backup_vault(&self, account: &str, region: &str, name: &str, tags: Tags, creator_request_id: Option<String>) -> Result<VaultDescription> {
        if !valid_vault_name(name) {
            return Err(BackupError::InvalidParameterValue(format!(
                "Invalid backup vault name `{name}`: 2 to 50 letters, digits, '-' or '_'"
            )));
        }
        let arn = vault_arn(region, account, name);
        let location = Sites::load(&self.data_dir)?.warm_vault(region, account, name);
        let mut tx = self.catalog.write().await?;
        if tx.account(&bunker_catalog::AccountId::parse(account).map_err(|e| BackupError::InvalidParameterValue(e.to_string()))?).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("account {account} is not in the organization")));
        }
        if tx.vault(&arn).await?.is_some() {
            return Err(BackupError::AlreadyExists(format!("Backup vault with the same name `{name}` already exists")));
        }
        let kek = self.account_kek(account)?;
        let loc = location.clone();
        let initialised = tokio::task::spawn_blocking(move || Vault::init(loc.storage()?, &kek, InitOptions::default()))
            .await
            .map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
        match initialised {
            // A vault left by an earlier, interrupted create: reuse it.
            Ok(_) | Err(bunker_vault::VaultError::AlreadyInitialized) => {}
            Err(e) => return Err(e.into()),
        }
        let row = BackupVault {
            arn,
            account_id: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
            location: location.to_string(),
            encryption_key_arn: format!("arn:aws:kms:{region}:{account}:key/{account}-vault-key"),
            creator_request_id,
            tags,
            created_at: self.now(),
        };
        tx.insert_vault(&row).await?;
        tx.commit().await?;
        Ok(describe(&row, 0))
    }
}

fn describe(v: &BackupVault, recovery_points: i64) -> VaultDescription {
    VaultDescription {
        backup_vault_name: v.name.clone(),
        backup_vault_arn: v.arn.clone(),
        encryption_key_arn: v.encryption_key_arn.clone(),
        creation_date: v.created_at,
        creator_request_id: v.creator_request_id.clone(),
        number_of_recovery_points: recovery_points,
        locked: false,
        vault_type: "BACKUP_VAULT",
        location: v.location.clone(),
    }
}

impl BackupService {
    /// A vault by account, region and name.
    pub(crate) async fn vault_row(&self, account: &str, region: &str, name: &str) -> Result<BackupVault> {
        let mut tx = self.catalog.read().await?;
        tx.vault(&vault_arn(region, account, name))
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Backup vault {name} does not exist in account {account}, region {region}")))
    }

    /// `DescribeBackupVault`.
    pub async fn describe_backup_vault(&self, account: &str, region: &str, name: &str) -> Result<VaultDescription> {
        let v = self.vault_row(account, region, name).await?;
        let n = self.catalog.read().await?.count_recovery_points_in_vault(&v.arn).await?;
        Ok(describe(&v, n))
    }

    /// `ListBackupVaults` of an account and region.
    pub async fn list_backup_vaults(&self, account: &str, region: &str) -> Result<Vec<VaultDescription>> {
        let mut tx = self.catalog.read().await?;
        let mut out = Vec::new();
        for v in tx.vaults(Some(account), Some(region)).await? {
            let n = tx.count_recovery_points_in_vault(&v.arn).await?;
            out.push(describe(&v, n));
        }
        Ok(out)
    }

    /// `DeleteBackupVault`: refused while the vault holds recovery points, as in AWS. The
    /// vault's (empty) data stays on disk until removed by hand.
    pub async fn delete_backup_vault(&self, account: &str, region: &str, name: &str) -> Result<()> {
        let arn = vault_arn(region, account, name);
        let mut tx = self.catalog.write().await?;
        if tx.vault(&arn).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("Backup vault {name} does not exist")));
        }
        let n = tx.count_recovery_points_in_vault(&arn).await?;
        if n > 0 {
            return Err(BackupError::InvalidRequest(format!(
                "Backup vault {name} cannot be deleted because it contains {n} recovery points"
            )));
        }
        tx.delete_vault(&arn).await?;
        tx.commit().await?;
        Ok(())
    }
}
