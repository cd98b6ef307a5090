//! The key service, shaped like AWS KMS: symmetric keys per account and Region, their
//! aliases, key policies and grants, `Encrypt`/`Decrypt`/`GenerateDataKey`, rotation and
//! scheduled deletion.
//!
//! Key material (32 random bytes per version) lives in the catalog sealed by the instance
//! master key, bound to the key ARN and version. Rotation adds a version and keeps the old
//! ones, so whatever was encrypted before still decrypts; deletion destroys every version,
//! so whatever was encrypted under the key — backup vaults included — is unreadable for good.
//!
//! Who may call what is decided in front of these operations (IAM evaluation with
//! [`KeyService::key_policy`] and [`KeyService::grants_for`]); here every call is trusted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use bunker_catalog::{BackupVault, Catalog, CatalogError, KmsAliasRow, KmsGrantRow, KmsKeyRow, KmsKeyVersionRow, Tx};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};

use super::master_key::{MasterKey, random};
use super::{SecurityError, SecurityResult};
use bunker_clock::Clock;

/// KMS quota "Key policy document size": 32 KB (32,768 bytes).
pub const KEY_POLICY_MAX_BYTES: usize = 32_768;

/// The alias of an account's default AWS Backup key in a Region.
pub const DEFAULT_BACKUP_ALIAS: &str = "alias/aws/backup";
/// The largest plaintext `Encrypt` takes, as in AWS.
pub const MAX_PLAINTEXT: usize = 4096;
/// Automatic rotation period when none is given.
pub const DEFAULT_ROTATION_DAYS: i64 = 365;
/// `PendingWindowInDays` when none is given.
pub const DEFAULT_PENDING_WINDOW_DAYS: i64 = 30;

const MATERIAL_PURPOSE: &str = "kms key material v1";
const ENCRYPT_PURPOSE: &str = "bunker kms encrypt v1";
const BLOB_MAGIC: &[u8; 4] = b"BKMS";
const BLOB_FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

/// The operations a grant may allow.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
];

/// `CreateKey`'s parameters.
#[derive(Debug, Clone, Default)]
pub struct CreateKey {
    /// `Description`.
    pub description: Option<String>,
    /// `Policy` (default: the account's root may do everything, as AWS's default policy).
    pub policy: Option<String>,
    /// `KeyUsage`: only `ENCRYPT_DECRYPT`.
    pub key_usage: Option<String>,
    /// `KeySpec`: only `SYMMETRIC_DEFAULT`.
    pub key_spec: Option<String>,
}

/// `KeyMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// `AWSAccountId`.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    /// `KeyId`.
    pub key_id: String,
    /// `Arn`.
    pub arn: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `Enabled`.
    pub enabled: bool,
    /// `Description`.
    pub description: String,
    /// `KeyUsage`.
    pub key_usage: &'static str,
    /// `KeyState`.
    pub key_state: String,
    /// `DeletionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<Timestamp>,
    /// `PendingDeletionWindowInDays`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
    /// `Origin`.
    pub origin: &'static str,
    /// `KeyManager`.
    pub key_manager: String,
    /// `CustomerMasterKeySpec`.
    pub customer_master_key_spec: &'static str,
    /// `KeySpec`.
    pub key_spec: &'static str,
    /// `EncryptionAlgorithms`.
    pub encryption_algorithms: Vec<&'static str>,
    /// `MultiRegion`.
    pub multi_region: bool,
}

/// One entry of `ListKeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    /// `KeyId`.
    pub key_id: String,
    /// `KeyArn`.
    pub key_arn: String,
}

/// One entry of `ListAliases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    /// `AliasName`.
    pub alias_name: String,
    /// `AliasArn`.
    pub alias_arn: String,
    /// `TargetKeyId`.
    pub target_key_id: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `LastUpdatedDate`.
    pub last_updated_date: Timestamp,
}

/// One entry of `ListGrants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    /// `KeyId` (the key ARN).
    pub key_id: String,
    /// `GrantId`.
    pub grant_id: String,
    /// `Name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `GranteePrincipal`.
    pub grantee_principal: String,
    /// `RetiringPrincipal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// `IssuingAccount`.
    pub issuing_account: String,
    /// `Operations`.
    pub operations: Vec<String>,
}

/// `CreateGrant`'s parameters.
#[derive(Debug, Clone, Default)]
pub struct CreateGrant {
    /// `GranteePrincipal`.
    pub grantee_principal: String,
    /// `Operations`.
    pub operations: Vec<String>,
    /// `RetiringPrincipal`.
    pub retiring_principal: Option<String>,
    /// `Name`.
    pub name: Option<String>,
}

/// `CreateGrant`'s response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantCreated {
    /// `GrantToken`.
    pub grant_token: String,
    /// `GrantId`.
    pub grant_id: String,
}

/// `Encrypt`'s response (the CLI prints the blob in base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Vec<u8>,
    /// `KeyId` (the key ARN).
    pub key_id: String,
}

/// `Decrypt`'s response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// `Plaintext`.
    pub plaintext: Vec<u8>,
    /// `KeyId` (the key ARN).
    pub key_id: String,
}

/// `GenerateDataKey`'s response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKey {
    /// `CiphertextBlob`: the data key encrypted under the KMS key.
    pub ciphertext_blob: Vec<u8>,
    /// `Plaintext`: the data key.
    pub plaintext: Vec<u8>,
    /// `KeyId` (the key ARN).
    pub key_id: String,
}

/// `GetKeyRotationStatus`'s response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationStatus {
    /// `KeyRotationEnabled`.
    pub key_rotation_enabled: bool,
    /// `KeyId` (the key ARN).
    pub key_id: String,
    /// `RotationPeriodInDays` (while rotation is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<i64>,
    /// `NextRotationDate` (while rotation is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<Timestamp>,
}

/// `ScheduleKeyDeletion`'s response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduledDeletion {
    /// `KeyId` (the key ARN).
    pub key_id: String,
    /// `DeletionDate`.
    pub deletion_date: Timestamp,
    /// `KeyState`: `PendingDeletion`.
    pub key_state: String,
    /// `PendingWindowInDays`.
    pub pending_window_in_days: i64,
}

/// What [`KeyService::apply_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEvents {
    /// ARNs of the keys given a new version.
    pub rotated: Vec<String>,
    /// ARNs of the keys deleted (material destroyed).
    pub deleted: Vec<String>,
}

/// The key service over a catalog.
#[derive(Clone)]
pub struct KeyService {
    catalog: Catalog,
    master: MasterKey,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyService").finish_non_exhaustive()
    }
}

/// `arn:aws:kms:REGION:ACCOUNT:key/ID`.
pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

/// `arn:aws:kms:REGION:ACCOUNT:alias/NAME` (`name` with its `alias/` prefix).
pub fn alias_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{name}")
}

/// AWS's default key policy: the account (its root, hence every principal its IAM policies
/// allow) may do everything with the key.
pub fn default_key_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

fn not_found(what: &str) -> SecurityError {
    SecurityError::NotFound(format!("Key '{what}' does not exist"))
}

fn invalid(message: impl Into<String>) -> SecurityError {
    SecurityError::InvalidParameterValue(message.into())
}

/// Why a key in `state` cannot be used.
fn state_error(key: &KmsKeyRow) -> SecurityError {
    match key.state.as_str() {
        "PendingDeletion" => SecurityError::KmsInvalidState(format!(
            "{} is pending deletion{}.",
            key.arn,
            key.deletion_date.map(|d| format!(" (deletion date {d})")).unwrap_or_default()
        )),
        "Deleted" => SecurityError::KmsInvalidState(format!(
            "{} was deleted{}: its key material is destroyed.",
            key.arn,
            key.deletion_date.map(|d| format!(" on {d}")).unwrap_or_default()
        )),
        other => SecurityError::KmsInvalidState(format!("{} is {}.", key.arn, other.to_ascii_lowercase())),
    }
}

fn usable(key: &KmsKeyRow) -> SecurityResult<()> {
    if key.state == "Enabled" { Ok(()) } else { Err(state_error(key)) }
}

fn metadata(k: &KmsKeyRow) -> KeyMetadata {
    KeyMetadata {
        aws_account_id: k.account_id.clone(),
        key_id: k.key_id.clone(),
        arn: k.arn.clone(),
        creation_date: k.created_at,
        enabled: k.state == "Enabled",
        description: k.description.clone(),
        key_usage: "ENCRYPT_DECRYPT",
        key_state: k.state.clone(),
        deletion_date: if k.state == "PendingDeletion" { k.deletion_date } else { None },
        pending_deletion_window_in_days: if k.state == "PendingDeletion" { k.pending_window_days } else { None },
        origin: "AWS_KMS",
        key_manager: k.key_manager.clone(),
        customer_master_key_spec: "SYMMETRIC_DEFAULT",
        key_spec: "SYMMETRIC_DEFAULT",
        encryption_algorithms: vec!["SYMMETRIC_DEFAULT"],
        multi_region: false,
    }
}

/// The associated data of an encryption: the blob's header and the encryption context
/// (sorted, as JSON, so the same pairs in another order match).
fn aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = header.to_vec();
    out.extend_from_slice(serde_json::to_string(context).unwrap_or_default().as_bytes());
    out
}

/// `magic ‖ format ‖ arn length (u16) ‖ arn ‖ version (u32)`.
fn blob_header(arn: &str, version: i64) -> Vec<u8> {
    let mut h = BLOB_MAGIC.to_vec();
    h.push(BLOB_FORMAT);
    h.extend_from_slice(&(arn.len() as u16).to_be_bytes());
    h.extend_from_slice(arn.as_bytes());
    h.extend_from_slice(&(version as u32).to_be_bytes());
    h
}

/// Splits a blob into its header, key ARN, version and `nonce ‖ ciphertext`.
fn parse_blob(blob: &[u8]) -> Option<(&[u8], String, i64, &[u8])> {
    let rest = blob.strip_prefix(BLOB_MAGIC.as_slice())?;
    let (&format, rest) = rest.split_first()?;
    if format != BLOB_FORMAT || rest.len() < 2 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    if rest.len() < len + 4 + NONCE_LEN {
        return None;
    }
    let arn = std::str::from_utf8(&rest[..len]).ok()?.to_owned();
    let version = i64::from(u32::from_be_bytes(rest[len..len + 4].try_into().ok()?));
    let header_len = 4 + 1 + 2 + len + 4;
    Some((&blob[..header_len], arn, version, &blob[header_len..]))
}

fn invalid_ciphertext() -> SecurityError {
    invalid("InvalidCiphertextException: the ciphertext, its encryption context or its key does not match")
}

/// Reads a legacy account key file: 32 raw bytes or 64 hex digits.
fn read_key_file(path: &Path) -> SecurityResult<[u8; 32]> {
    let raw = std::fs::read(path).map_err(|e| SecurityError::Dependency(format!("cannot read {}: {e}", path.display())))?;
    if let Ok(key) = <[u8; 32]>::try_from(raw.as_slice()) {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(String::from_utf8_lossy(&raw).trim(), &mut key)
        .map_err(|_| SecurityError::Dependency(format!("{} must hold 32 bytes or 64 hex digits", path.display())))?;
    Ok(key)
}

/// The ARN Bunker wrote on vaults before the key service existed.
fn legacy_vault_key_arn(vault: &BackupVault) -> bool {
    vault.encryption_key_arn == format!("arn:aws:kms:{}:{}:key/{}-vault-key", vault.region, vault.account_id, vault.account_id)
}

impl KeyService {
    /// The service over `catalog`, sealing material with `master`, on `clock`.
    pub fn new(catalog: Catalog, master: MasterKey, clock: Arc<dyn Clock>) -> Self {
        Self { catalog, master, clock }
    }

    /// Now, at catalog precision (microseconds).
    fn now(&self) -> Timestamp {
        let now = self.clock.now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }

    fn seal(&self, arn: &str, version: i64, material: &[u8; 32]) -> Vec<u8> {
        self.master.seal(MATERIAL_PURPOSE, format!("{arn}#{version}").as_bytes(), material)
    }

    fn open_version(&self, v: &KmsKeyVersionRow) -> SecurityResult<[u8; 32]> {
        let plain = self.master.open(MATERIAL_PURPOSE, format!("{}#{}", v.key_arn, v.version).as_bytes(), &v.material)?;
        plain.try_into().map_err(|_| SecurityError::Dependency(format!("key material of {} is not 32 bytes", v.key_arn)))
    }

    /// Finds a key by id, key ARN, alias name (`alias/x`) or alias ARN, in `account` and
    /// `region` unless an ARN names another. Deleted keys are not found.
    async fn resolve(&self, tx: &mut Tx, account: &str, region: &str, key_id: &str) -> SecurityResult<KmsKeyRow> {
        let key_id = key_id.trim();
        let arn = if let Some(rest) = key_id.strip_prefix("arn:aws:kms:") {
            let parts: Vec<&str> = rest.splitn(3, ':').collect();
            let [arn_region, arn_account, resource] = parts[..] else {
                return Err(invalid(format!("Invalid keyId '{key_id}'")));
            };
            if resource.starts_with("alias/") {
                let alias = tx.kms_alias(arn_account, arn_region, resource).await?;
                alias.ok_or_else(|| SecurityError::NotFound(format!("Alias '{key_id}' is not found.")))?.key_arn
            } else if resource.starts_with("key/") {
                key_id.to_owned()
            } else {
                return Err(invalid(format!("Invalid keyId '{key_id}'")));
            }
        } else if key_id.starts_with("alias/") {
            let alias = tx.kms_alias(account, region, key_id).await?;
            let Some(alias) = alias else {
                return Err(SecurityError::NotFound(format!("Alias '{}' is not found.", alias_arn(region, account, key_id))));
            };
            alias.key_arn
        } else if key_id.is_empty() {
            return Err(invalid("KeyId must not be empty"));
        } else {
            key_arn(region, account, key_id)
        };
        match tx.kms_key(&arn).await? {
            Some(k) if k.state != "Deleted" => Ok(k),
            _ => Err(not_found(&arn)),
        }
    }

    async fn insert_key(&self, tx: &mut Tx, key: &KmsKeyRow, first_material: [u8; 32]) -> SecurityResult<()> {
        tx.insert_kms_key(key).await?;
        let version = KmsKeyVersionRow {
            key_arn: key.arn.clone(),
            version: 1,
            material: self.seal(&key.arn, 1, &first_material),
            created_at: key.created_at,
        };
        tx.insert_kms_key_version(&version).await?;
        Ok(())
    }

    fn validate_policy(policy: &str) -> SecurityResult<()> {
        let max = crate::kms::KEY_POLICY_MAX_BYTES;
        if policy.len() > max {
            return Err(SecurityError::LimitExceeded(format!("The key policy is {} bytes; a key policy holds at most {max}", policy.len())));
        }
        bunker_iam::PolicyDocument::parse(policy).map_err(|e| SecurityError::MalformedPolicyDocument(e.to_string()))?;
        Ok(())
    }

    /// `CreateKey`: a symmetric encryption key with fresh material.
    ///
    /// # Errors
    /// An unsupported usage or spec, a malformed policy; catalog failures.
    pub async fn create_key(&self, account: &str, region: &str, req: CreateKey) -> SecurityResult<KeyMetadata> {
        bunker_policy::Region::parse(region)?;
        if req.key_usage.as_deref().is_some_and(|u| u != "ENCRYPT_DECRYPT") {
            return Err(invalid("KeyUsage: only ENCRYPT_DECRYPT is supported"));
        }
        if req.key_spec.as_deref().is_some_and(|s| s != "SYMMETRIC_DEFAULT") {
            return Err(invalid("KeySpec: only SYMMETRIC_DEFAULT is supported"));
        }
        let description = req.description.unwrap_or_default();
        if description.len() > 8192 {
            return Err(invalid("Description: at most 8192 characters"));
        }
        let policy = match req.policy {
            Some(p) => {
                Self::validate_policy(&p)?;
                p
            }
            None => default_key_policy(account),
        };
        let key_id = crate::uuid();
        let row = KmsKeyRow {
            arn: key_arn(region, account, &key_id),
            key_id,
            account_id: account.to_owned(),
            region: region.to_owned(),
            description,
            state: "Enabled".into(),
            key_manager: "CUSTOMER".into(),
            created_at: self.now(),
            deletion_date: None,
            pending_window_days: None,
            rotation_enabled: false,
            rotation_period_days: DEFAULT_ROTATION_DAYS,
            next_rotation_at: None,
            policy,
        };
        let mut tx = self.catalog.write().await?;
        self.insert_key(&mut tx, &row, random()).await?;
        tx.commit().await?;
        Ok(metadata(&row))
    }

    /// `DescribeKey`.
    ///
    /// # Errors
    /// An unknown key; catalog failures.
    pub async fn describe_key(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<KeyMetadata> {
        let mut tx = self.catalog.read().await?;
        Ok(metadata(&self.resolve(&mut tx, account, region, key_id).await?))
    }

    /// `ListKeys`: the account's keys in the Region (not the deleted ones), oldest first.
    ///
    /// # Errors
    /// Catalog failures.
    pub async fn list_keys(&self, account: &str, region: &str) -> SecurityResult<Vec<KeyListEntry>> {
        let mut tx = self.catalog.read().await?;
        let keys = tx.kms_keys(account, region).await?;
        Ok(keys
            .into_iter()
            .filter(|k| k.state != "Deleted")
            .map(|k| KeyListEntry { key_id: k.key_id, key_arn: k.arn })
            .collect())
    }

    /// `CreateAlias`: `alias/NAME` for a key of the same account and Region. Names under
    /// `alias/aws/` are reserved for the services' own keys.
    ///
    /// # Errors
    /// A bad or reserved name, a name taken, an unknown key; catalog failures.
    pub async fn create_alias(&self, account: &str, region: &str, alias_name: &str, target_key_id: &str) -> SecurityResult<()> {
        let valid = alias_name.strip_prefix("alias/").is_some_and(|n| {
            !n.is_empty() && n.len() <= 250 && n.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
        });
        if !valid {
            return Err(invalid(format!("Alias name '{alias_name}' must be alias/ followed by letters, digits, '/', '_' or '-'")));
        }
        if alias_name.starts_with("alias/aws/") {
            return Err(invalid(format!("Alias name '{alias_name}' is reserved for AWS managed keys")));
        }
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, target_key_id).await?;
        if key.account_id != account || key.region != region {
            return Err(invalid("An alias must name a key of its own account and Region"));
        }
        let row = KmsAliasRow {
            account_id: account.to_owned(),
            region: region.to_owned(),
            name: alias_name.to_owned(),
            key_arn: key.arn,
            created_at: self.now(),
        };
        match tx.insert_kms_alias(&row).await {
            Err(CatalogError::Duplicate(_)) => {
                return Err(SecurityError::AlreadyExists(format!(
                    "An alias with the name {} already exists",
                    alias_arn(region, account, alias_name)
                )));
            }
            other => other?,
        }
        tx.commit().await?;
        Ok(())
    }

    /// `ListAliases`: the account's aliases in the Region, of one key if `key_id` is given.
    ///
    /// # Errors
    /// An unknown key; catalog failures.
    pub async fn list_aliases(&self, account: &str, region: &str, key_id: Option<&str>) -> SecurityResult<Vec<AliasListEntry>> {
        let mut tx = self.catalog.read().await?;
        let key = match key_id {
            Some(k) => Some(self.resolve(&mut tx, account, region, k).await?.arn),
            None => None,
        };
        let aliases = tx.kms_aliases(account, region, key.as_deref()).await?;
        Ok(aliases
            .into_iter()
            .map(|a| AliasListEntry {
                alias_arn: alias_arn(region, account, &a.name),
                target_key_id: a.key_arn.rsplit('/').next().unwrap_or_default().to_owned(),
                alias_name: a.name,
                creation_date: a.created_at,
                last_updated_date: a.created_at,
            })
            .collect())
    }

    /// `DeleteAlias`.
    ///
    /// # Errors
    /// An unknown alias; catalog failures.
    pub async fn delete_alias(&self, account: &str, region: &str, alias_name: &str) -> SecurityResult<()> {
        let mut tx = self.catalog.write().await?;
        if !tx.delete_kms_alias(account, region, alias_name).await? {
            return Err(SecurityError::NotFound(format!("Alias '{}' is not found.", alias_arn(region, account, alias_name))));
        }
        tx.commit().await?;
        Ok(())
    }

    /// `PutKeyPolicy` (the only policy name is `default`).
    ///
    /// # Errors
    /// An unknown key, another policy name, a malformed policy; catalog failures.
    pub async fn put_key_policy(&self, account: &str, region: &str, key_id: &str, policy_name: Option<&str>, policy: &str) -> SecurityResult<()> {
        if policy_name.is_some_and(|n| n != "default") {
            return Err(invalid("PolicyName: the only valid name is default"));
        }
        Self::validate_policy(policy)?;
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        tx.update_kms_key(&KmsKeyRow { policy: policy.to_owned(), ..key }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GetKeyPolicy`.
    ///
    /// # Errors
    /// An unknown key, another policy name; catalog failures.
    pub async fn get_key_policy(&self, account: &str, region: &str, key_id: &str, policy_name: Option<&str>) -> SecurityResult<String> {
        if policy_name.is_some_and(|n| n != "default") {
            return Err(invalid("PolicyName: the only valid name is default"));
        }
        let mut tx = self.catalog.read().await?;
        Ok(self.resolve(&mut tx, account, region, key_id).await?.policy)
    }

    /// The key policy of a key (for authorization); `None` for an unknown or deleted key.
    ///
    /// # Errors
    /// Catalog failures.
    pub async fn key_policy(&self, key_arn: &str) -> SecurityResult<Option<String>> {
        let mut tx = self.catalog.read().await?;
        Ok(tx.kms_key(key_arn).await?.filter(|k| k.state != "Deleted").map(|k| k.policy))
    }

    /// Whether a grant on the key lets `grantee_principal` do `operation` (`Decrypt`,
    /// `kms:Decrypt` too).
    ///
    /// # Errors
    /// Catalog failures.
    pub async fn grants_for(&self, key_arn: &str, grantee_principal: &str, operation: &str) -> SecurityResult<bool> {
        let operation = operation.strip_prefix("kms:").unwrap_or(operation);
        let mut tx = self.catalog.read().await?;
        let grants = tx.kms_grants(key_arn, Some(grantee_principal)).await?;
        Ok(grants.iter().any(|g| g.operations.iter().any(|o| o == operation)))
    }

    /// `CreateGrant`.
    ///
    /// # Errors
    /// An unknown key, a key not enabled, no or unknown operations; catalog failures.
    pub async fn create_grant(&self, account: &str, region: &str, key_id: &str, req: CreateGrant) -> SecurityResult<GrantCreated> {
        if req.grantee_principal.trim().is_empty() {
            return Err(invalid("GranteePrincipal is required"));
        }
        if req.operations.is_empty() {
            return Err(invalid("Operations: at least one is required"));
        }
        if let Some(bad) = req.operations.iter().find(|o| !GRANT_OPERATIONS.contains(&o.as_str())) {
            return Err(invalid(format!("Operations: '{bad}' is not a grant operation")));
        }
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        usable(&key)?;
        let grant_id = hex::encode(random::<32>());
        let row = KmsGrantRow {
            grant_id: grant_id.clone(),
            key_arn: key.arn,
            name: req.name,
            grantee_principal: req.grantee_principal,
            retiring_principal: req.retiring_principal,
            operations: req.operations,
            issuing_account: format!("arn:aws:iam::{account}:root"),
            created_at: self.now(),
        };
        tx.insert_kms_grant(&row).await?;
        tx.commit().await?;
        Ok(GrantCreated { grant_token: hex::encode(random::<32>()), grant_id })
    }

    /// `ListGrants`: the key's grants, of one grant or one grantee if given.
    ///
    /// # Errors
    /// An unknown key; catalog failures.
    pub async fn list_grants(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        grant_id: Option<&str>,
        grantee_principal: Option<&str>,
    ) -> SecurityResult<Vec<GrantListEntry>> {
        let mut tx = self.catalog.read().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        let grants = tx.kms_grants(&key.arn, grantee_principal).await?;
        Ok(grants
            .into_iter()
            .filter(|g| grant_id.is_none_or(|id| g.grant_id == id))
            .map(|g| GrantListEntry {
                key_id: g.key_arn,
                grant_id: g.grant_id,
                name: g.name,
                creation_date: g.created_at,
                grantee_principal: g.grantee_principal,
                retiring_principal: g.retiring_principal,
                issuing_account: g.issuing_account,
                operations: g.operations,
            })
            .collect())
    }

    /// `RevokeGrant`.
    ///
    /// # Errors
    /// An unknown key or grant; catalog failures.
    pub async fn revoke_grant(&self, account: &str, region: &str, key_id: &str, grant_id: &str) -> SecurityResult<()> {
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        if !tx.delete_kms_grant(&key.arn, grant_id).await? {
            return Err(SecurityError::NotFound(format!("Grant ID {grant_id} not found")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// `Encrypt`: AES-256-GCM under the key's newest material, the encryption context as
    /// associated data. The blob names the key and the version, so `Decrypt` needs neither.
    ///
    /// # Errors
    /// An unknown key, a key not enabled, an empty or too long plaintext; catalog failures.
    pub async fn encrypt(&self, account: &str, region: &str, key_id: &str, plaintext: &[u8], context: &BTreeMap<String, String>) -> SecurityResult<Encrypted> {
        if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT {
            return Err(invalid(format!("Plaintext: 1 to {MAX_PLAINTEXT} bytes")));
        }
        let mut tx = self.catalog.read().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        usable(&key)?;
        let newest = tx.kms_key_versions(&key.arn).await?.pop().ok_or_else(|| state_error(&key))?;
        drop(tx);
        let material = self.open_version(&newest)?;
        let header = blob_header(&key.arn, newest.version);
        let cipher = Aes256Gcm::new(&blake3::derive_key(ENCRYPT_PURPOSE, &material).into());
        let nonce: [u8; NONCE_LEN] = random();
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad(&header, context) })
            .map_err(|_| SecurityError::Dependency("encryption failed".into()))?;
        let mut blob = header;
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(Encrypted { ciphertext_blob: blob, key_id: key.arn })
    }

    /// `Decrypt`: with the version of the key the blob names (after rotations too). With
    /// `key_id`, the blob must be of that key.
    ///
    /// # Errors
    /// A blob not made by `Encrypt`, another context, another key than `key_id`; a key
    /// unknown, deleted or not enabled; catalog failures.
    pub async fn decrypt(
        &self,
        account: &str,
        region: &str,
        ciphertext_blob: &[u8],
        context: &BTreeMap<String, String>,
        key_id: Option<&str>,
    ) -> SecurityResult<Decrypted> {
        let (header, arn, version, body) = parse_blob(ciphertext_blob).ok_or_else(invalid_ciphertext)?;
        let mut tx = self.catalog.read().await?;
        if let Some(wanted) = key_id {
            let wanted = self.resolve(&mut tx, account, region, wanted).await?;
            if wanted.arn != arn {
                return Err(invalid(format!("IncorrectKeyException: the ciphertext was encrypted under {arn}, not {}", wanted.arn)));
            }
        }
        let key = tx.kms_key(&arn).await?.ok_or_else(|| not_found(&arn))?;
        usable(&key)?;
        if key.region != region {
            return Err(invalid_ciphertext());
        }
        let row = tx.kms_key_versions(&arn).await?.into_iter().find(|v| v.version == version).ok_or_else(invalid_ciphertext)?;
        drop(tx);
        let material = self.open_version(&row)?;
        let cipher = Aes256Gcm::new(&blake3::derive_key(ENCRYPT_PURPOSE, &material).into());
        if body.len() < NONCE_LEN {
            return Err(invalid_ciphertext());
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| invalid_ciphertext())?;
        let plaintext = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: &aad(header, context) })
            .map_err(|_| invalid_ciphertext())?;
        Ok(Decrypted { plaintext, key_id: arn })
    }

    /// `GenerateDataKey`: a random data key (`AES_256`, `AES_128`, or `number_of_bytes`
    /// from 1 to 1024), returned in plaintext and encrypted under the key.
    ///
    /// # Errors
    /// Both or neither of `key_spec` and `number_of_bytes`, bad values; as [`Self::encrypt`].
    pub async fn generate_data_key(
        &self,
        account: &str,
        region: &str,
        key_id: &str,
        context: &BTreeMap<String, String>,
        key_spec: Option<&str>,
        number_of_bytes: Option<usize>,
    ) -> SecurityResult<DataKey> {
        let len = match (key_spec, number_of_bytes) {
            (Some("AES_256"), None) => 32,
            (Some("AES_128"), None) => 16,
            (None, Some(n)) if (1..=1024).contains(&n) => n,
            (Some(s), None) => return Err(invalid(format!("KeySpec '{s}': AES_256 or AES_128"))),
            (None, Some(_)) => return Err(invalid("NumberOfBytes: 1 to 1024")),
            _ => return Err(invalid("Give either KeySpec or NumberOfBytes")),
        };
        let mut plaintext = vec![0u8; len];
        for chunk in plaintext.chunks_mut(32) {
            let r: [u8; 32] = random();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        let e = self.encrypt(account, region, key_id, &plaintext, context).await?;
        Ok(DataKey { ciphertext_blob: e.ciphertext_blob, plaintext, key_id: e.key_id })
    }

    /// `EnableKeyRotation`: a new version every `rotation_period_in_days` (90 to 2560,
    /// default 365) from now.
    ///
    /// # Errors
    /// An unknown key, a key not enabled, a period out of range; catalog failures.
    pub async fn enable_key_rotation(&self, account: &str, region: &str, key_id: &str, rotation_period_in_days: Option<i64>) -> SecurityResult<()> {
        let days = rotation_period_in_days.unwrap_or(DEFAULT_ROTATION_DAYS);
        if !(90..=2560).contains(&days) {
            return Err(invalid("RotationPeriodInDays: 90 to 2560"));
        }
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        usable(&key)?;
        let next = self.now() + SignedDuration::from_hours(24 * days);
        tx.update_kms_key(&KmsKeyRow { rotation_enabled: true, rotation_period_days: days, next_rotation_at: Some(next), ..key }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DisableKeyRotation`.
    ///
    /// # Errors
    /// An unknown key, a key not enabled; catalog failures.
    pub async fn disable_key_rotation(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<()> {
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        usable(&key)?;
        tx.update_kms_key(&KmsKeyRow { rotation_enabled: false, next_rotation_at: None, ..key }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GetKeyRotationStatus`.
    ///
    /// # Errors
    /// An unknown key; catalog failures.
    pub async fn get_key_rotation_status(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<RotationStatus> {
        let mut tx = self.catalog.read().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        Ok(RotationStatus {
            key_rotation_enabled: key.rotation_enabled,
            rotation_period_in_days: key.rotation_enabled.then_some(key.rotation_period_days),
            next_rotation_date: if key.rotation_enabled { key.next_rotation_at } else { None },
            key_id: key.arn,
        })
    }

    async fn add_version(&self, tx: &mut Tx, key: &KmsKeyRow, now: Timestamp) -> SecurityResult<i64> {
        let version = tx.kms_key_versions(&key.arn).await?.last().map_or(1, |v| v.version + 1);
        let row = KmsKeyVersionRow { key_arn: key.arn.clone(), version, material: self.seal(&key.arn, version, &random()), created_at: now };
        tx.insert_kms_key_version(&row).await?;
        Ok(version)
    }

    /// `RotateKeyOnDemand`: a new version now (the automatic schedule is unchanged).
    /// Returns the key ARN.
    ///
    /// # Errors
    /// An unknown key, a key not enabled; catalog failures.
    pub async fn rotate_key_on_demand(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<String> {
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        usable(&key)?;
        self.add_version(&mut tx, &key, self.now()).await?;
        tx.commit().await?;
        Ok(key.arn)
    }

    /// `ScheduleKeyDeletion`: the key is unusable at once and deleted (its material
    /// destroyed) `pending_window_in_days` (7 to 30, default 30) from now. Bunker lets the
    /// default backup keys be deleted too: it is how an account's backups are shredded.
    ///
    /// # Errors
    /// A window out of range, an unknown key, a key already pending deletion; catalog
    /// failures.
    pub async fn schedule_key_deletion(&self, account: &str, region: &str, key_id: &str, pending_window_in_days: Option<i64>) -> SecurityResult<ScheduledDeletion> {
        let days = pending_window_in_days.unwrap_or(DEFAULT_PENDING_WINDOW_DAYS);
        if !(7..=30).contains(&days) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30"
            )));
        }
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        if key.state == "PendingDeletion" {
            return Err(state_error(&key));
        }
        let date = self.now() + SignedDuration::from_hours(24 * days);
        tx.update_kms_key(&KmsKeyRow { state: "PendingDeletion".into(), deletion_date: Some(date), pending_window_days: Some(days), ..key.clone() })
            .await?;
        tx.commit().await?;
        tracing::warn!(key = %key.arn, deletion_date = %date, "KMS key scheduled for deletion");
        Ok(ScheduledDeletion { key_id: key.arn, deletion_date: date, key_state: "PendingDeletion".into(), pending_window_in_days: days })
    }

    /// `CancelKeyDeletion`: the key returns, `Disabled` (as in AWS). Returns the key ARN.
    ///
    /// # Errors
    /// An unknown key, a key not pending deletion; catalog failures.
    pub async fn cancel_key_deletion(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<String> {
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        if key.state != "PendingDeletion" {
            return Err(SecurityError::KmsInvalidState(format!("{} is not pending deletion.", key.arn)));
        }
        tx.update_kms_key(&KmsKeyRow { state: "Disabled".into(), deletion_date: None, pending_window_days: None, ..key.clone() }).await?;
        tx.commit().await?;
        Ok(key.arn)
    }

    async fn set_enabled(&self, account: &str, region: &str, key_id: &str, enabled: bool) -> SecurityResult<()> {
        let mut tx = self.catalog.write().await?;
        let key = self.resolve(&mut tx, account, region, key_id).await?;
        if key.state == "PendingDeletion" {
            return Err(state_error(&key));
        }
        let state = if enabled { "Enabled" } else { "Disabled" };
        tx.update_kms_key(&KmsKeyRow { state: state.into(), ..key }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `EnableKey`.
    ///
    /// # Errors
    /// An unknown key, a key pending deletion; catalog failures.
    pub async fn enable_key(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<()> {
        self.set_enabled(account, region, key_id, true).await
    }

    /// `DisableKey`.
    ///
    /// # Errors
    /// An unknown key, a key pending deletion; catalog failures.
    pub async fn disable_key(&self, account: &str, region: &str, key_id: &str) -> SecurityResult<()> {
        self.set_enabled(account, region, key_id, false).await
    }

    /// What is due on the clock: a new version for every enabled key whose rotation date
    /// passed (the next one a period later; old versions stay for decryption), and the
    /// deletion of every key whose deletion date passed (state `Deleted`, material,
    /// aliases and grants gone).
    ///
    /// # Errors
    /// Catalog failures.
    pub async fn apply_due(&self) -> SecurityResult<KeyEvents> {
        let now = self.now();
        let mut events = KeyEvents::default();
        let mut tx = self.catalog.write().await?;
        for key in tx.kms_keys_due_for_rotation(now).await? {
            self.add_version(&mut tx, &key, now).await?;
            let mut next = key.next_rotation_at.unwrap_or(now);
            let period = SignedDuration::from_hours(24 * key.rotation_period_days.max(1));
            while next <= now {
                next += period;
            }
            tx.update_kms_key(&KmsKeyRow { next_rotation_at: Some(next), ..key.clone() }).await?;
            tracing::info!(key = %key.arn, "KMS key rotated");
            events.rotated.push(key.arn);
        }
        for key in tx.kms_keys_due_for_deletion(now).await? {
            tx.delete_kms_key_versions(&key.arn).await?;
            tx.delete_kms_aliases_of_key(&key.arn).await?;
            tx.delete_kms_grants_of_key(&key.arn).await?;
            tx.update_kms_key(&KmsKeyRow { state: "Deleted".into(), rotation_enabled: false, next_rotation_at: None, ..key.clone() }).await?;
            tracing::warn!(key = %key.arn, "KMS key deleted: its key material is destroyed");
            events.deleted.push(key.arn);
        }
        tx.commit().await?;
        Ok(events)
    }

    /// One alarm per backup vault encrypted under a key pending deletion: an EventBridge
    /// event (`source` `aws.kms`), also logged as a warning.
    ///
    /// # Errors
    /// Catalog failures.
    pub async fn pending_deletion_alarms(&self) -> SecurityResult<Vec<Value>> {
        let mut tx = self.catalog.read().await?;
        let pending: BTreeMap<String, KmsKeyRow> = tx.kms_keys_in_state("PendingDeletion").await?.into_iter().map(|k| (k.arn.clone(), k)).collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let mut alarms = Vec::new();
        for vault in tx.vaults(None, None).await? {
            let arn = if legacy_vault_key_arn(&vault) {
                match tx.kms_alias(&vault.account_id, &vault.region, DEFAULT_BACKUP_ALIAS).await? {
                    Some(a) => a.key_arn,
                    None => continue,
                }
            } else {
                vault.encryption_key_arn.clone()
            };
            let Some(key) = pending.get(&arn) else { continue };
            let deletion = key.deletion_date.map(|d| d.to_string());
            tracing::warn!(
                vault = %vault.arn,
                key = %key.arn,
                deletion_date = deletion.as_deref().unwrap_or(""),
                "backup vault encrypted under a KMS key pending deletion: its recovery points become unreadable on the deletion date"
            );
            alarms.push(json!({
                "version": "0",
                "id": crate::uuid(),
                "detail-type": "KMS Key Pending Deletion Alarm",
                "source": "aws.kms",
                "account": vault.account_id,
                "time": now.to_string(),
                "region": vault.region,
                "resources": [key.arn, vault.arn],
                "detail": {
                    "BackupVaultArn": vault.arn,
                    "BackupVaultName": vault.name,
                    "KeyArn": key.arn,
                    "KeyId": key.key_id,
                    "KeyState": "PendingDeletion",
                    "DeletionDate": deletion,
                }
            }));
        }
        Ok(alarms)
    }

    /// The account's default backup key in the Region (`alias/aws/backup`), made on first
    /// use. If `legacy_key_file` exists (the per-account key file of homes made before the
    /// key service), its 32 bytes become the first version of the default key of this
    /// Region and of every Region where the account has vaults it protected, and the file
    /// is removed: those vaults keep opening.
    ///
    /// # Errors
    /// An unreadable key file; catalog failures.
    pub async fn default_backup_key(&self, account: &str, region: &str, legacy_key_file: Option<&Path>) -> SecurityResult<KmsKeyRow> {
        // Usually it exists: a read, no write lock (vaults of old homes ask on every open).
        {
            let mut tx = self.catalog.read().await?;
            if let Some(alias) = tx.kms_alias(account, region, DEFAULT_BACKUP_ALIAS).await?
                && let Some(key) = tx.kms_key(&alias.key_arn).await?
            {
                return Ok(key);
            }
        }
        for attempt in 0..3 {
            let mut tx = self.catalog.write().await?;
            if let Some(alias) = tx.kms_alias(account, region, DEFAULT_BACKUP_ALIAS).await?
                && let Some(key) = tx.kms_key(&alias.key_arn).await?
            {
                return Ok(key);
            }
            let legacy = match legacy_key_file.filter(|p| p.exists()) {
                Some(p) => Some(read_key_file(p)?),
                None => None,
            };
            let mut regions = vec![region.to_owned()];
            if legacy.is_some() {
                for v in tx.vaults(Some(account), None).await? {
                    if legacy_vault_key_arn(&v) && !regions.contains(&v.region) {
                        regions.push(v.region.clone());
                    }
                }
            }
            let mut made = None;
            let mut clash = false;
            for r in &regions {
                if r != region && tx.kms_alias(account, r, DEFAULT_BACKUP_ALIAS).await?.is_some() {
                    continue;
                }
                let key = self.new_default_key(account, r);
                self.insert_key(&mut tx, &key, legacy.unwrap_or_else(random)).await?;
                let alias = KmsAliasRow {
                    account_id: account.to_owned(),
                    region: r.clone(),
                    name: DEFAULT_BACKUP_ALIAS.to_owned(),
                    key_arn: key.arn.clone(),
                    created_at: key.created_at,
                };
                match tx.insert_kms_alias(&alias).await {
                    // Another process made it meanwhile: read theirs.
                    Err(CatalogError::Duplicate(_)) => {
                        clash = true;
                        break;
                    }
                    other => other?,
                }
                if r == region {
                    made = Some(key);
                }
            }
            if clash {
                drop(tx);
                if attempt < 2 {
                    continue;
                }
                return Err(SecurityError::Dependency(format!("the default backup key of {account} in {region} is being made by another process")));
            }
            tx.commit().await?;
            if let (Some(_), Some(path)) = (legacy, legacy_key_file) {
                // Imported: the catalog holds it now, sealed.
                let _ = std::fs::remove_file(path);
            }
            return made.ok_or_else(|| SecurityError::Dependency("default backup key".into()));
        }
        unreachable!("the loop returns")
    }

    fn new_default_key(&self, account: &str, region: &str) -> KmsKeyRow {
        let key_id = crate::uuid();
        let now = self.now();
        KmsKeyRow {
            arn: key_arn(region, account, &key_id),
            key_id,
            account_id: account.to_owned(),
            region: region.to_owned(),
            description: "Default key that protects my Backup vaults when no other key is defined".into(),
            state: "Enabled".into(),
            key_manager: "AWS".into(),
            created_at: now,
            deletion_date: None,
            pending_window_days: None,
            // AWS managed keys rotate every year.
            rotation_enabled: true,
            rotation_period_days: DEFAULT_ROTATION_DAYS,
            next_rotation_at: Some(now + SignedDuration::from_hours(24 * DEFAULT_ROTATION_DAYS)),
            policy: default_key_policy(account),
        }
    }

    /// The key a new vault of `account` in `region` is encrypted under: `key_id` (any of
    /// its forms; an ARN may name another account's key, in the same Region), else the
    /// default backup key. It must be enabled.
    ///
    /// # Errors
    /// An unknown key, a key of another Region, a key not enabled; catalog failures.
    pub async fn key_for_new_vault(&self, account: &str, region: &str, key_id: Option<&str>, legacy_key_file: Option<&Path>) -> SecurityResult<KmsKeyRow> {
        let key = match key_id {
            Some(k) => {
                let mut tx = self.catalog.read().await?;
                self.resolve(&mut tx, account, region, k).await?
            }
            None => self.default_backup_key(account, region, legacy_key_file).await?,
        };
        if key.region != region {
            return Err(invalid(format!("{} is in {}, not in the vault's Region {region}", key.arn, key.region)));
        }
        usable(&key)?;
        Ok(key)
    }

    /// The key-encryption key of a vault encrypted under `key_arn`: every version of its
    /// material (newest wraps).
    ///
    /// # Errors
    /// [`SecurityError::KmsInvalidState`] for a key disabled, pending deletion or deleted;
    /// [`SecurityError::NotFound`] for an unknown key; catalog failures.
    pub async fn vault_kek(&self, key_arn: &str) -> SecurityResult<bunker_vault::VersionedKek> {
        let mut tx = self.catalog.read().await?;
        let key = tx.kms_key(key_arn).await?.ok_or_else(|| not_found(key_arn))?;
        usable(&key)?;
        let versions = tx.kms_key_versions(key_arn).await?;
        drop(tx);
        let materials = versions.iter().map(|v| self.open_version(v)).collect::<SecurityResult<Vec<_>>>()?;
        bunker_vault::VersionedKek::new(materials).map_err(|_| state_error(&KmsKeyRow { state: "Deleted".into(), ..key }))
    }

    /// The key a vault is encrypted under: its `EncryptionKeyArn`, or for vaults made
    /// before the key service, the account's default backup key in the vault's Region.
    ///
    /// # Errors
    /// As [`Self::default_backup_key`].
    pub async fn vault_key_arn(&self, vault: &BackupVault, legacy_key_file: Option<&Path>) -> SecurityResult<String> {
        if legacy_vault_key_arn(vault) {
            return Ok(self.default_backup_key(&vault.account_id, &vault.region, legacy_key_file).await?.arn);
        }
        Ok(vault.encryption_key_arn.clone())
    }
}

/// Standard base64 (with padding), for the binary fields of the KMS shapes.
pub mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Encodes.
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = (u32::from(chunk[0]) << 16) | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8) | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Decodes (whitespace ignored); `None` if it is not base64.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let chars: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        #[allow(clippy::manual_is_multiple_of)] // rust-version 1.85 has no is_multiple_of
        if chars.len() % 4 != 0 {
            return None;
        }
        let mut out = Vec::with_capacity(chars.len() / 4 * 3);
        for (i, quad) in chars.chunks(4).enumerate() {
            let last = i == chars.len() / 4 - 1;
            let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 || (pad > 0 && !last) {
                return None;
            }
            let mut n = 0u32;
            for &c in &quad[..4 - pad] {
                let v = ALPHABET.iter().position(|&a| a == c)? as u32;
                n = (n << 6) | v;
            }
            n <<= 6 * pad as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bunker_clock::ManualClock;

    const ACCOUNT: &str = "111111111111";
    const REGION: &str = "eu-west-1";

    async fn service() -> (tempfile::TempDir, KeyService, ManualClock) {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open_file(&dir.path().join("catalog.db")).await.unwrap();
        let clock = ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap());
        let svc = KeyService::new(catalog, MasterKey::from_bytes([3; 32]), Arc::new(clock.clone()));
        (dir, svc, clock)
    }

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[tokio::test]
    async fn encrypt_and_decrypt_across_rotations() {
        let (_dir, svc, clock) = service().await;
        let key = svc.create_key(ACCOUNT, REGION, CreateKey { description: Some("k".into()), ..Default::default() }).await.unwrap();
        assert_eq!((key.key_state.as_str(), key.enabled, key.key_manager.as_str()), ("Enabled", true, "CUSTOMER"));
        let c = ctx(&[("purpose", "test")]);
        let before = svc.encrypt(ACCOUNT, REGION, &key.key_id, b"secret one", &c).await.unwrap();
        assert_eq!(before.key_id, key.arn);

        svc.rotate_key_on_demand(ACCOUNT, REGION, &key.arn).await.unwrap();
        svc.enable_key_rotation(ACCOUNT, REGION, &key.key_id, None).await.unwrap();
        let status = svc.get_key_rotation_status(ACCOUNT, REGION, &key.key_id).await.unwrap();
        assert_eq!(status.rotation_period_in_days, Some(365));
        clock.advance(SignedDuration::from_hours(24 * 366));
        let events = svc.apply_due().await.unwrap();
        assert_eq!(events.rotated, vec![key.arn.clone()]);
        assert!(svc.apply_due().await.unwrap().rotated.is_empty(), "the next rotation is a year later");
        let after = svc.encrypt(ACCOUNT, REGION, &key.key_id, b"secret two", &c).await.unwrap();
        assert_ne!(parse_blob(&before.ciphertext_blob).unwrap().2, parse_blob(&after.ciphertext_blob).unwrap().2);

        // Both decrypt, without naming the key; with another context, neither.
        let d = svc.decrypt(ACCOUNT, REGION, &before.ciphertext_blob, &c, None).await.unwrap();
        assert_eq!((d.plaintext.as_slice(), d.key_id.as_str()), (b"secret one".as_slice(), key.arn.as_str()));
        assert_eq!(svc.decrypt(ACCOUNT, REGION, &after.ciphertext_blob, &c, Some(&key.key_id)).await.unwrap().plaintext, b"secret two");
        assert!(svc.decrypt(ACCOUNT, REGION, &before.ciphertext_blob, &ctx(&[]), None).await.is_err());
        let mut altered = before.ciphertext_blob.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(svc.decrypt(ACCOUNT, REGION, &altered, &c, None).await.unwrap_err().code(), "InvalidParameterValueException");

        // A data key decrypts to its plaintext.
        let dk = svc.generate_data_key(ACCOUNT, REGION, &key.key_id, &c, Some("AES_256"), None).await.unwrap();
        assert_eq!(dk.plaintext.len(), 32);
        assert_eq!(svc.decrypt(ACCOUNT, REGION, &dk.ciphertext_blob, &c, None).await.unwrap().plaintext, dk.plaintext);

        // Disabled: nothing encrypts or decrypts until enabled again.
        svc.disable_key(ACCOUNT, REGION, &key.key_id).await.unwrap();
        assert_eq!(svc.decrypt(ACCOUNT, REGION, &before.ciphertext_blob, &c, None).await.unwrap_err().code(), "KMSInvalidStateException");
        svc.enable_key(ACCOUNT, REGION, &key.key_id).await.unwrap();
        assert!(svc.decrypt(ACCOUNT, REGION, &before.ciphertext_blob, &c, None).await.is_ok());
    }

    #[tokio::test]
    async fn deletion_window_cancel_and_deletion() {
        let (_dir, svc, clock) = service().await;
        let key = svc.create_key(ACCOUNT, REGION, CreateKey::default()).await.unwrap();
        let blob = svc.encrypt(ACCOUNT, REGION, &key.key_id, b"x", &BTreeMap::new()).await.unwrap().ciphertext_blob;
        for bad in [6, 31, 0] {
            let e = svc.schedule_key_deletion(ACCOUNT, REGION, &key.key_id, Some(bad)).await.unwrap_err();
            assert_eq!(e.code(), "InvalidParameterValueException", "{bad}");
        }
        assert_eq!(svc.describe_key(ACCOUNT, REGION, &key.key_id).await.unwrap().key_state, "Enabled");

        let s = svc.schedule_key_deletion(ACCOUNT, REGION, &key.key_id, None).await.unwrap();
        assert_eq!((s.pending_window_in_days, s.deletion_date), (30, clock.now() + SignedDuration::from_hours(24 * 30)));
        let d = svc.describe_key(ACCOUNT, REGION, &key.key_id).await.unwrap();
        assert_eq!((d.key_state.as_str(), d.enabled, d.pending_deletion_window_in_days), ("PendingDeletion", false, Some(30)));
        assert_eq!(svc.schedule_key_deletion(ACCOUNT, REGION, &key.key_id, Some(7)).await.unwrap_err().code(), "KMSInvalidStateException");
        let e = svc.encrypt(ACCOUNT, REGION, &key.key_id, b"x", &BTreeMap::new()).await.unwrap_err();
        assert!(e.to_string().contains("pending deletion"), "{e}");
        assert_eq!(svc.enable_key(ACCOUNT, REGION, &key.key_id).await.unwrap_err().code(), "KMSInvalidStateException");

        // Cancelled: back, disabled, as in AWS.
        svc.cancel_key_deletion(ACCOUNT, REGION, &key.key_id).await.unwrap();
        assert_eq!(svc.describe_key(ACCOUNT, REGION, &key.key_id).await.unwrap().key_state, "Disabled");
        assert_eq!(svc.cancel_key_deletion(ACCOUNT, REGION, &key.key_id).await.unwrap_err().code(), "KMSInvalidStateException");
        svc.enable_key(ACCOUNT, REGION, &key.key_id).await.unwrap();

        // Deleted when the date passes, not before.
        svc.schedule_key_deletion(ACCOUNT, REGION, &key.key_id, Some(7)).await.unwrap();
        clock.advance(SignedDuration::from_hours(24 * 7 - 1));
        assert!(svc.apply_due().await.unwrap().deleted.is_empty());
        clock.advance(SignedDuration::from_hours(2));
        assert_eq!(svc.apply_due().await.unwrap().deleted, vec![key.arn.clone()]);
        assert_eq!(svc.describe_key(ACCOUNT, REGION, &key.key_id).await.unwrap_err().code(), "NotFoundException");
        assert!(svc.list_keys(ACCOUNT, REGION).await.unwrap().is_empty());
        assert!(svc.decrypt(ACCOUNT, REGION, &blob, &BTreeMap::new(), None).await.is_err());
        assert!(svc.vault_kek(&key.arn).await.unwrap_err().to_string().contains("deleted"));
    }

    #[tokio::test]
    async fn keys_by_id_arn_alias_and_alias_arn() {
        let (_dir, svc, _clock) = service().await;
        let key = svc.create_key(ACCOUNT, REGION, CreateKey::default()).await.unwrap();
        let other = svc.create_key(ACCOUNT, REGION, CreateKey::default()).await.unwrap();
        svc.create_alias(ACCOUNT, REGION, "alias/app", &key.key_id).await.unwrap();
        assert_eq!(svc.create_alias(ACCOUNT, REGION, "alias/app", &other.key_id).await.unwrap_err().code(), "AlreadyExistsException");
        assert_eq!(svc.create_alias(ACCOUNT, REGION, "alias/aws/x", &other.key_id).await.unwrap_err().code(), "InvalidParameterValueException");
        assert_eq!(svc.create_alias(ACCOUNT, REGION, "app", &other.key_id).await.unwrap_err().code(), "InvalidParameterValueException");
        for id in [key.key_id.clone(), key.arn.clone(), "alias/app".into(), alias_arn(REGION, ACCOUNT, "alias/app")] {
            assert_eq!(svc.describe_key(ACCOUNT, REGION, &id).await.unwrap().arn, key.arn, "{id}");
        }
        // Scoped: not found from another Region (the ARN still names it).
        assert_eq!(svc.describe_key(ACCOUNT, "us-east-1", "alias/app").await.unwrap_err().code(), "NotFoundException");
        assert_eq!(svc.describe_key(ACCOUNT, "us-east-1", &key.key_id).await.unwrap_err().code(), "NotFoundException");
        assert_eq!(svc.describe_key("222222222222", "us-east-1", &key.arn).await.unwrap().arn, key.arn);

        let aliases = svc.list_aliases(ACCOUNT, REGION, Some(&key.arn)).await.unwrap();
        assert_eq!(aliases.len(), 1);
        assert_eq!((aliases[0].alias_name.as_str(), aliases[0].target_key_id.as_str()), ("alias/app", key.key_id.as_str()));
        assert!(svc.list_aliases(ACCOUNT, REGION, Some(&other.key_id)).await.unwrap().is_empty());
        svc.delete_alias(ACCOUNT, REGION, "alias/app").await.unwrap();
        assert_eq!(svc.delete_alias(ACCOUNT, REGION, "alias/app").await.unwrap_err().code(), "NotFoundException");
        assert_eq!(svc.list_keys(ACCOUNT, REGION).await.unwrap().len(), 2);

        // Grants and the default policy.
        let g = svc
            .create_grant(ACCOUNT, REGION, &key.key_id, CreateGrant { grantee_principal: "arn:aws:iam::222222222222:root".into(), operations: vec!["Decrypt".into()], ..Default::default() })
            .await
            .unwrap();
        assert!(svc.grants_for(&key.arn, "arn:aws:iam::222222222222:root", "kms:Decrypt").await.unwrap());
        assert!(!svc.grants_for(&key.arn, "arn:aws:iam::222222222222:root", "Encrypt").await.unwrap());
        assert_eq!(svc.list_grants(ACCOUNT, REGION, &key.key_id, None, None).await.unwrap()[0].grant_id, g.grant_id);
        svc.revoke_grant(ACCOUNT, REGION, &key.key_id, &g.grant_id).await.unwrap();
        assert!(!svc.grants_for(&key.arn, "arn:aws:iam::222222222222:root", "Decrypt").await.unwrap());
        let policy: Value = serde_json::from_str(&svc.key_policy(&key.arn).await.unwrap().unwrap()).unwrap();
        assert_eq!(policy["Statement"][0]["Principal"]["AWS"], format!("arn:aws:iam::{ACCOUNT}:root"));
    }

    #[test]
    fn base64_round_trips() {
        for (plain, text) in [(&b""[..], ""), (b"f", "Zg=="), (b"fo", "Zm8="), (b"foo", "Zm9v"), (b"foobar", "Zm9vYmFy")] {
            assert_eq!(base64::encode(plain), text);
            assert_eq!(base64::decode(text).unwrap(), plain);
        }
        assert!(base64::decode("Zm9=v").is_none());
        assert!(base64::decode("Zg=").is_none());
    }
}
