//! Backup vaults: one vault-engine repository per vault on its Region's warm root
//! (`<warm root>/<account>/<vault>`, by default `<data>/regions/<region>/…`; see
//! [`super::sites`]) and, once lifecycle first moves a recovery point there, a second one on
//! the Region's cold root. Both are encrypted under the vault's KMS key (its
//! `EncryptionKeyArn`: the account's default backup key `alias/aws/backup` of the Region
//! unless the vault names another): the vault engine's key-encryption key is made of the
//! key's material versions, so a key disabled or pending deletion closes the vault and a
//! deleted key closes it for good. Homes made before the key service kept one key file per
//! account (`<data>/keys/<account>.key`); it becomes the first version of the account's
//! default keys.

use std::path::PathBuf;

use bunker_catalog::{AccountId, BackupVault, Tags};
use bunker_policy::Region;
use bunker_policy::plan_input::valid_vault_name;
use bunker_vault::{InitOptions, Vault, VersionedKek};
use serde::Serialize;

use crate::security::kms::KeyService;
use crate::security::{MasterKey, SecurityError};

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
    /// `Locked`, `MinRetentionDays`, `MaxRetentionDays`, `LockDate` (Vault Lock).
    #[serde(flatten)]
    pub lock: super::VaultLockFields,
    /// `VaultType`.
    pub vault_type: &'static str,
    /// Bunker: where the vault's data is.
    pub location: String,
}

impl BackupService {
    /// The per-account key file of homes made before the key service (imported, then
    /// removed, when the account's first default key is made).
    fn key_path(&self, account: &str) -> PathBuf {
        self.data_dir.join("keys").join(format!("{account}.key"))
    }

    /// The key service over this service's catalog, clock and instance master key.
    ///
    /// # Errors
    /// An unusable instance master key.
    pub fn key_service(&self) -> Result<KeyService> {
        let master = MasterKey::load(&self.data_dir).map_err(|e| BackupError::DependencyFailure(format!("instance master key: {e}")))?;
        Ok(KeyService::new(self.catalog.clone(), master, self.clock.clone()))
    }

    /// The vault engine's key-encryption key for `vault`: its KMS key's material versions.
    /// Fails naming the key when the key is disabled, pending deletion or deleted.
    pub(crate) async fn account_kek(&self, vault: &BackupVault) -> Result<VersionedKek> {
        let keys = self.key_service()?;
        let legacy = self.key_path(&vault.account_id);
        let unusable = |e: SecurityError| match e {
            SecurityError::KmsInvalidState(m) => BackupError::DependencyFailure(format!("backup vault {} cannot be opened: KMS key {m}", vault.name)),
            SecurityError::NotFound(m) => BackupError::DependencyFailure(format!("backup vault {} cannot be opened: {m}", vault.name)),
            other => BackupError::DependencyFailure(format!("backup vault {}: {other}", vault.name)),
        };
        let arn = keys.vault_key_arn(vault, Some(&legacy)).await.map_err(unusable)?;
        keys.vault_kek(&arn).await.map_err(unusable)
    }

    /// The vault engine's key-encryption key for the vault `name` (tests and tools that
    /// open a vault's repository themselves).
    ///
    /// # Errors
    /// An unknown vault; as the key service for its key.
    pub async fn vault_key_encryption_key(&self, account: &str, region: &str, name: &str) -> Result<VersionedKek> {
        let vault = self.vault_row(account, region, name).await?;
        self.account_kek(&vault).await
    }

    /// What lies at `location` (a directory or `s3://bucket/prefix`): one of the service's
    /// vaults (warm or cold repository), somewhere else the service keeps data (its home,
    /// a Region's storage roots), or nothing of the service's. Tools that open
    /// repositories directly ask this first, so that the service's vaults are reached only
    /// through the service.
    ///
    /// # Errors
    /// Catalog failures; an unreadable `regions.json`.
    pub async fn what_is_at(&self, location: &str) -> Result<StorageOwner> {
        let sites = Sites::load(&self.data_dir)?;
        let wanted = Location::from_stored(location).normalized();
        let vaults = self.catalog.read().await?.vaults(None, None).await?;
        for vault in vaults {
            let warm = Location::from_stored(&vault.location).normalized();
            // A row whose Region or account no longer parses has no cold repository.
            let cold = cold_vault_of(&sites, &vault).ok().map(|c| c.normalized());
            if wanted.is_within(&warm) || cold.is_some_and(|c| wanted.is_within(&c)) {
                return Ok(StorageOwner::Vault(Box::new(vault)));
            }
        }
        let home = Location::Dir(self.data_dir.clone()).normalized();
        let roots = sites.all_roots().into_iter().map(|r| r.normalized());
        if wanted.is_within(&home) || roots.clone().any(|r| wanted.is_within(&r) || r.is_within(&wanted)) {
            return Ok(StorageOwner::ServiceStorage);
        }
        Ok(StorageOwner::Nobody)
    }

    /// [`Self::account_kek`] from a blocking thread (the engine's callers run there).
    fn blocking_kek(&self, vault: &BackupVault) -> Result<VersionedKek> {
        let fut = self.account_kek(vault);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.block_on(fut),
            Err(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| BackupError::DependencyFailure(format!("cannot start a runtime: {e}")))?
                .block_on(fut),
        }
    }

    /// Opens a vault's engine (blocking: call from a blocking thread).
    pub(crate) fn open_vault(&self, vault: &BackupVault) -> Result<Vault> {
        let kek = self.blocking_kek(vault)?;
        Ok(Vault::open(Location::from_stored(&vault.location).storage()?, &kek)?)
    }

    /// Where a vault's cold repository is.
    pub(crate) fn cold_location(&self, vault: &BackupVault) -> Result<Location> {
        cold_vault_of(&Sites::load(&self.data_dir)?, vault)
    }

    /// Opens a vault's cold repository, made on first use when `create` (blocking: call
    /// from a blocking thread).
    pub(crate) fn open_cold_vault(&self, vault: &BackupVault, create: bool) -> Result<Vault> {
        let kek = self.blocking_kek(vault)?;
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

    /// `CreateBackupVault`, encrypted under the account's default backup key.
    pub async fn create_backup_vault(&self, account: &str, region: &str, name: &str, tags: Tags, creator_request_id: Option<String>) -> Result<VaultDescription> {
        self.create_backup_vault_with_key(account, region, name, tags, creator_request_id, None).await
    }

    /// `CreateBackupVault` with its `EncryptionKeyArn`: a KMS key (id, ARN, alias or alias
    /// ARN; another account's key by ARN) of the vault's Region, which must be enabled;
    /// `None` for the account's default backup key (`alias/aws/backup`, made on first use).
    pub async fn create_backup_vault_with_key(
        &self,
        account: &str,
        region: &str,
        name: &str,
        tags: Tags,
        creator_request_id: Option<String>,
        encryption_key_arn: Option<String>,
    ) -> Result<VaultDescription> {
        let region = Region::parse(region)?;
        let account_id = AccountId::parse(account).map_err(|e| BackupError::InvalidParameterValue(e.to_string()))?;
        if !valid_vault_name(name) {
            return Err(BackupError::InvalidParameterValue(format!(
                "Invalid backup vault name `{name}`: 2 to 50 letters, digits, '-' or '_'"
            )));
        }
        let arn = vault_arn(region.as_str(), account, name);
        let location = Sites::load(&self.data_dir)?.warm_vault(&region, &account_id, name)?;
        let mut tx = self.catalog.write().await?;
        if tx.account(&account_id).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("account {account} is not in the organization")));
        }
        if tx.vault(&arn).await?.is_some() {
            return Err(BackupError::AlreadyExists(format!("Backup vault with the same name `{name}` already exists")));
        }
        drop(tx);
        let keys = self.key_service()?;
        let key = keys
            .key_for_new_vault(account, region.as_str(), encryption_key_arn.as_deref(), Some(&self.key_path(account)))
            .await
            .map_err(|e| match e {
                SecurityError::NotFound(m) => BackupError::InvalidParameterValue(format!("EncryptionKeyArn: {m}")),
                SecurityError::InvalidParameterValue(m) | SecurityError::KmsInvalidState(m) => BackupError::InvalidParameterValue(format!("EncryptionKeyArn: {m}")),
                other => BackupError::DependencyFailure(other.to_string()),
            })?;
        let kek = keys.vault_kek(&key.arn).await.map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
        let loc = location.clone();
        let initialised = tokio::task::spawn_blocking(move || Vault::init(loc.storage()?, &kek, InitOptions::default()))
            .await
            .map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
        match initialised {
            // A vault left by an earlier, interrupted create: reuse it.
            Ok(_) | Err(bunker_vault::VaultError::AlreadyInitialized) => {}
            Err(e) => return Err(e.into()),
        }
        let mut tx = self.catalog.write().await?;
        if tx.vault(&arn).await?.is_some() {
            return Err(BackupError::AlreadyExists(format!("Backup vault with the same name `{name}` already exists")));
        }
        let row = BackupVault {
            arn,
            account_id: account.to_owned(),
            region: region.to_string(),
            name: name.to_owned(),
            location: location.to_string(),
            encryption_key_arn: key.arn,
            creator_request_id,
            tags,
            created_at: self.now(),
        };
        tx.insert_vault(&row).await?;
        tx.commit().await?;
        Ok(describe(&row, 0, super::VaultLockFields::default()))
    }
}

/// A vault's cold repository; its row's Region and account are checked again, as they
/// become path components.
fn cold_vault_of(sites: &Sites, vault: &BackupVault) -> Result<Location> {
    let corrupt = |e: String| BackupError::Service(bunker_catalog::CatalogError::Corrupt(format!("backup vault {}: {e}", vault.arn)));
    let region = Region::parse(&vault.region).map_err(|e| corrupt(e.to_string()))?;
    let account = AccountId::parse(&vault.account_id).map_err(|e| corrupt(e.to_string()))?;
    sites.cold_vault(&region, &account, &vault.name)
}

fn describe(v: &BackupVault, recovery_points: i64, lock: super::VaultLockFields) -> VaultDescription {
    VaultDescription {
        backup_vault_name: v.name.clone(),
        backup_vault_arn: v.arn.clone(),
        encryption_key_arn: v.encryption_key_arn.clone(),
        creation_date: v.created_at,
        creator_request_id: v.creator_request_id.clone(),
        number_of_recovery_points: recovery_points,
        lock,
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
        let lock = super::VaultLockFields::of(self.vault_lock_of(&v.arn).await?.as_ref());
        Ok(describe(&v, n, lock))
    }

    /// `ListBackupVaults` of an account and region.
    pub async fn list_backup_vaults(&self, account: &str, region: &str) -> Result<Vec<VaultDescription>> {
        let mut tx = self.catalog.read().await?;
        let mut out = Vec::new();
        for v in tx.vaults(Some(account), Some(region)).await? {
            let n = tx.count_recovery_points_in_vault(&v.arn).await?;
            let lock = super::VaultLockFields::of(tx.vault_lock(&v.arn).await?.as_ref());
            out.push(describe(&v, n, lock));
        }
        Ok(out)
    }

    /// `DeleteBackupVault`: refused while the vault holds recovery points, as in AWS. The
    /// vault's (empty) data stays on disk until removed by hand.
    pub async fn delete_backup_vault(&self, account: &str, region: &str, name: &str) -> Result<()> {
        let arn = vault_arn(region, account, name);
        // A locked vault's points can never go with their vault.
        let held = self.catalog.read().await?.count_recovery_points_in_vault(&arn).await?;
        self.check_vault_deletable(&arn, held).await?;
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

/// What the key service and the audit trail did in one scheduler pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecurityPass {
    pub keys_rotated: usize,
    pub keys_deleted: usize,
    pub key_alarms: usize,
    pub digests_written: usize,
}

/// How often the audit trail gets a signed digest when calls are few.
const DIGEST_INTERVAL: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

impl BackupService {
    /// The security work that falls due with time: key rotations and deletions, the alarm
    /// for vaults whose key is pending deletion, and the hourly signed digest of the audit
    /// trail.
    pub(crate) async fn security_pass(&self) -> Result<SecurityPass> {
        let keys = self.key_service()?;
        let events = keys.apply_due().await.map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
        for arn in &events.deleted {
            tracing::warn!(key = %arn, "key deleted: its material is destroyed; vaults under it cannot be read any more");
        }
        let alarms = keys.pending_deletion_alarms().await.map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
        let master = crate::security::MasterKey::load(&self.data_dir).map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
        let trail = crate::security::audit::AuditTrail::new(self.catalog.clone(), master, self.clock.clone());
        let (last, head) = {
            let mut tx = self.catalog.read().await?;
            (tx.last_audit_digest().await?, tx.audit_head().await?.0)
        };
        // Only when calls came since the last digest, and at most hourly.
        let due = match &last {
            Some(d) => head > d.last_event_seq && jiff::Timestamp::from_microsecond(d.created_at).is_ok_and(|at| self.now() >= at + DIGEST_INTERVAL),
            None => head > 0,
        };
        let mut digests_written = 0;
        if due {
            trail.write_digest().await.map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
            digests_written = 1;
        }
        Ok(SecurityPass { keys_rotated: events.rotated.len(), keys_deleted: events.deleted.len(), key_alarms: alarms.len(), digests_written })
    }

    /// The next key deletion after `after` (a scheduler event).
    pub(crate) async fn next_key_event(&self, after: jiff::Timestamp) -> Result<Option<jiff::Timestamp>> {
        let pending = self.catalog.read().await?.kms_keys_in_state("PendingDeletion").await?;
        Ok(pending.into_iter().filter_map(|k| k.deletion_date).filter(|d| *d > after).min())
    }
}

/// Whose a storage location is (see [`BackupService::what_is_at`]).
#[derive(Debug, Clone)]
pub enum StorageOwner {
    /// One of the service's vaults.
    Vault(Box<BackupVault>),
    /// Inside the service's home or a Region's storage, but no vault.
    ServiceStorage,
    /// Nothing of the service's: a standalone repository.
    Nobody,
}
