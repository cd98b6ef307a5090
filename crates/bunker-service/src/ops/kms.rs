//! `bunker kms …`: the key service, with the names, flags and JSON output of `aws kms …`.
//! Binary values are printed in base64; binary parameters (`--plaintext`,
//! `--ciphertext-blob`) take `fileb://PATH` (raw bytes) or base64, as AWS CLI v2 does.

use std::collections::BTreeMap;

use bunker_core::security::kms::{CreateGrant, CreateKey, base64};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws_json::shape;
use crate::failure::{Failure, string_map};
use crate::Place;
use crate::scope::Scope;

/// `--key-id` (with the scope).
#[derive(Debug, Clone, Args, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyArgs {
    #[serde(flatten)]
    #[command(flatten)]
    scope: Scope,
    /// The key: its id, ARN, alias name (`alias/…`) or alias ARN.
    #[arg(long)]
    key_id: String,
}

/// The scope alone.
#[derive(Debug, Clone, Args, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScopeOnly {
    #[serde(flatten)]
    #[command(flatten)]
    scope: Scope,
}

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum Command {
    /// Make a symmetric encryption key.
    CreateKey {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// The key policy, or `file://PATH` (default: the account may do everything).
        #[arg(long)]
        policy: Option<String>,
        /// `ENCRYPT_DECRYPT` (the only usage).
        #[arg(long)]
        key_usage: Option<String>,
        /// `SYMMETRIC_DEFAULT` (the only spec).
        #[arg(long)]
        key_spec: Option<String>,
    },
    /// Show a key.
    DescribeKey(KeyArgs),
    /// List the account's keys in the Region.
    ListKeys(ScopeOnly),
    /// Name a key `alias/NAME`.
    CreateAlias {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// `alias/NAME`.
        #[arg(long)]
        alias_name: String,
        /// The key.
        #[arg(long)]
        target_key_id: String,
    },
    /// List the account's aliases in the Region (of one key with `--key-id`).
    ListAliases {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// Only this key's aliases.
        #[arg(long)]
        key_id: Option<String>,
    },
    /// Delete an alias.
    DeleteAlias {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// `alias/NAME`.
        #[arg(long)]
        alias_name: String,
    },
    /// Replace a key's policy.
    PutKeyPolicy {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// `default` (the only name).
        #[arg(long)]
        policy_name: Option<String>,
        /// The policy, or `file://PATH`.
        #[arg(long)]
        policy: String,
    },
    /// Show a key's policy.
    GetKeyPolicy {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// `default` (the only name).
        #[arg(long)]
        policy_name: Option<String>,
    },
    /// Let a principal use a key for some operations.
    CreateGrant {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// Who may use it (an ARN).
        #[arg(long)]
        grantee_principal: String,
        /// The operations (`Encrypt Decrypt …`).
        #[arg(long, num_args = 1.., value_delimiter = ',', required = true)]
        operations: Vec<String>,
        /// Who may retire the grant.
        #[arg(long)]
        retiring_principal: Option<String>,
        /// A name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List a key's grants.
    ListGrants {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// Only this grant.
        #[arg(long)]
        grant_id: Option<String>,
        /// Only this grantee's grants.
        #[arg(long)]
        grantee_principal: Option<String>,
    },
    /// Revoke a grant.
    RevokeGrant {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// The grant.
        #[arg(long)]
        grant_id: String,
    },
    /// Encrypt up to 4 KiB under a key.
    Encrypt {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// `fileb://PATH` or base64.
        #[arg(long)]
        plaintext: String,
        /// `Key=Value,…` or JSON; the same must be given to decrypt.
        #[arg(long)]
        encryption_context: Option<String>,
    },
    /// Decrypt what `encrypt` or `generate-data-key` made.
    Decrypt {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// `fileb://PATH` or base64.
        #[arg(long)]
        ciphertext_blob: String,
        /// As given to encrypt.
        #[arg(long)]
        encryption_context: Option<String>,
        /// The key it must have been encrypted under.
        #[arg(long)]
        key_id: Option<String>,
    },
    /// A random data key, in plaintext and encrypted under a key.
    GenerateDataKey {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// `AES_256` or `AES_128`.
        #[arg(long)]
        key_spec: Option<String>,
        /// 1 to 1024 (instead of `--key-spec`).
        #[arg(long)]
        number_of_bytes: Option<usize>,
        /// `Key=Value,…` or JSON.
        #[arg(long)]
        encryption_context: Option<String>,
    },
    /// Rotate a key automatically (default every 365 days).
    EnableKeyRotation {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// 90 to 2560.
        #[arg(long)]
        rotation_period_in_days: Option<i64>,
    },
    /// Stop rotating a key automatically.
    DisableKeyRotation(KeyArgs),
    /// Whether and when a key rotates.
    GetKeyRotationStatus(KeyArgs),
    /// Give a key new material now (the old stays for decryption).
    RotateKeyOnDemand(KeyArgs),
    /// Delete a key after a waiting period (7 to 30 days, default 30); whatever it
    /// encrypts, backup vaults included, becomes unreadable then.
    ScheduleKeyDeletion {
        #[serde(flatten)]
        #[command(flatten)]
        scope: Scope,
        /// The key.
        #[arg(long)]
        key_id: String,
        /// 7 to 30.
        #[arg(long)]
        pending_window_in_days: Option<i64>,
    },
    /// Keep a key pending deletion (it returns disabled).
    CancelKeyDeletion(KeyArgs),
    /// Enable a key.
    EnableKey(KeyArgs),
    /// Disable a key (vaults under it cannot be opened until it is enabled).
    DisableKey(KeyArgs),
}

fn binary(name: &'static str, value: &str) -> Result<Vec<u8>, Failure> {
    base64::decode(value).ok_or_else(|| Failure::Parameter { name, message: "Invalid base64: give base64 or fileb://PATH".into() })
}

fn context(value: Option<String>) -> Result<BTreeMap<String, String>, Failure> {
    value.map_or_else(|| Ok(BTreeMap::new()), |v| string_map("--encryption-context", v))
}

/// Runs one operation.
pub async fn run(backup: &bunker_core::BackupService, p: &Place, command: Command) -> Result<Option<Value>, Failure> {
    use Command as C;
    let keys = backup.key_service()?;
    let out = match command {
        C::CreateKey { scope: _, description, policy, key_usage, key_spec } => {
                        let k = keys.create_key(&p.account, &p.region, CreateKey { description, policy, key_usage, key_spec }).await?;
            json!({ "KeyMetadata": shape(&k) })
        }
        C::DescribeKey(KeyArgs { key_id, .. }) => {
            json!({ "KeyMetadata": shape(&keys.describe_key(&p.account, &p.region, &key_id).await?) })
        }
        C::ListKeys(ScopeOnly { .. }) => {
            json!({ "Keys": shape(&keys.list_keys(&p.account, &p.region).await?) })
        }
        C::CreateAlias { scope: _, alias_name, target_key_id } => {
            keys.create_alias(&p.account, &p.region, &alias_name, &target_key_id).await?;
            return Ok(None);
        }
        C::ListAliases { scope: _, key_id } => {
            json!({ "Aliases": shape(&keys.list_aliases(&p.account, &p.region, key_id.as_deref()).await?) })
        }
        C::DeleteAlias { scope: _, alias_name } => {
            keys.delete_alias(&p.account, &p.region, &alias_name).await?;
            return Ok(None);
        }
        C::PutKeyPolicy { scope: _, key_id, policy_name, policy } => {
            keys.put_key_policy(&p.account, &p.region, &key_id, policy_name.as_deref(), &policy).await?;
            return Ok(None);
        }
        C::GetKeyPolicy { scope: _, key_id, policy_name } => {
            let policy = keys.get_key_policy(&p.account, &p.region, &key_id, policy_name.as_deref()).await?;
            json!({ "Policy": policy, "PolicyName": "default" })
        }
        C::CreateGrant { scope: _, key_id, grantee_principal, operations, retiring_principal, name } => {
            let req = CreateGrant { grantee_principal, operations, retiring_principal, name };
            shape(&keys.create_grant(&p.account, &p.region, &key_id, req).await?)
        }
        C::ListGrants { scope: _, key_id, grant_id, grantee_principal } => {
            let grants = keys.list_grants(&p.account, &p.region, &key_id, grant_id.as_deref(), grantee_principal.as_deref()).await?;
            json!({ "Grants": shape(&grants), "Truncated": false })
        }
        C::RevokeGrant { scope: _, key_id, grant_id } => {
            keys.revoke_grant(&p.account, &p.region, &key_id, &grant_id).await?;
            return Ok(None);
        }
        C::Encrypt { scope: _, key_id, plaintext, encryption_context } => {
            let plaintext = binary("--plaintext", &plaintext)?;
            let e = keys.encrypt(&p.account, &p.region, &key_id, &plaintext, &context(encryption_context)?).await?;
            json!({ "CiphertextBlob": base64::encode(&e.ciphertext_blob), "KeyId": e.key_id, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        C::Decrypt { scope: _, ciphertext_blob, encryption_context, key_id } => {
            let blob = binary("--ciphertext-blob", &ciphertext_blob)?;
            let d = keys.decrypt(&p.account, &p.region, &blob, &context(encryption_context)?, key_id.as_deref()).await?;
            json!({ "KeyId": d.key_id, "Plaintext": base64::encode(&d.plaintext), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        C::GenerateDataKey { scope: _, key_id, key_spec, number_of_bytes, encryption_context } => {
            let ctx = context(encryption_context)?;
            let k = keys.generate_data_key(&p.account, &p.region, &key_id, &ctx, key_spec.as_deref(), number_of_bytes).await?;
            json!({ "CiphertextBlob": base64::encode(&k.ciphertext_blob), "Plaintext": base64::encode(&k.plaintext), "KeyId": k.key_id })
        }
        C::EnableKeyRotation { scope: _, key_id, rotation_period_in_days } => {
            keys.enable_key_rotation(&p.account, &p.region, &key_id, rotation_period_in_days).await?;
            return Ok(None);
        }
        C::DisableKeyRotation(KeyArgs { key_id, .. }) => {
            keys.disable_key_rotation(&p.account, &p.region, &key_id).await?;
            return Ok(None);
        }
        C::GetKeyRotationStatus(KeyArgs { key_id, .. }) => {
            shape(&keys.get_key_rotation_status(&p.account, &p.region, &key_id).await?)
        }
        C::RotateKeyOnDemand(KeyArgs { key_id, .. }) => {
            json!({ "KeyId": keys.rotate_key_on_demand(&p.account, &p.region, &key_id).await? })
        }
        C::ScheduleKeyDeletion { scope: _, key_id, pending_window_in_days } => {
            shape(&keys.schedule_key_deletion(&p.account, &p.region, &key_id, pending_window_in_days).await?)
        }
        C::CancelKeyDeletion(KeyArgs { key_id, .. }) => {
            json!({ "KeyId": keys.cancel_key_deletion(&p.account, &p.region, &key_id).await? })
        }
        C::EnableKey(KeyArgs { key_id, .. }) => {
            keys.enable_key(&p.account, &p.region, &key_id).await?;
            return Ok(None);
        }
        C::DisableKey(KeyArgs { key_id, .. }) => {
            keys.disable_key(&p.account, &p.region, &key_id).await?;
            return Ok(None);
        }
    };
    Ok(Some(out))
}
