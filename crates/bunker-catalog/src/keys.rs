//! The key service's tables: KMS keys, their material versions (sealed by the instance
//! master key before they get here), aliases and grants.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::{CatalogError, Result, Tx, from_db_time, get_bool, to_db_time};

/// A KMS key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyRow {
    /// `arn:aws:kms:REGION:ACCOUNT:key/KEY_ID`.
    pub arn: String,
    /// `KeyId` (a UUID).
    pub key_id: String,
    /// `AWSAccountId`.
    pub account_id: String,
    /// The key's Region.
    pub region: String,
    /// `Description`.
    pub description: String,
    /// `Enabled`, `Disabled`, `PendingDeletion` or `Deleted`.
    pub state: String,
    /// `KeyManager`: `CUSTOMER` or `AWS`.
    pub key_manager: String,
    /// `CreationDate`.
    pub created_at: Timestamp,
    /// `DeletionDate` (pending deletion, or when it was deleted).
    pub deletion_date: Option<Timestamp>,
    /// `PendingDeletionWindowInDays`.
    pub pending_window_days: Option<i64>,
    /// Whether automatic rotation is on.
    pub rotation_enabled: bool,
    /// `RotationPeriodInDays`.
    pub rotation_period_days: i64,
    /// `NextRotationDate` (while rotation is on).
    pub next_rotation_at: Option<Timestamp>,
    /// The key policy (JSON text).
    pub policy: String,
}

/// One version of a key's material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyVersionRow {
    /// The key.
    pub key_arn: String,
    /// 1 for the first material, one more per rotation.
    pub version: i64,
    /// The material sealed by the instance master key.
    pub material: Vec<u8>,
    /// When it was made (or imported).
    pub created_at: Timestamp,
}

/// An alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsAliasRow {
    /// The account.
    pub account_id: String,
    /// The Region.
    pub region: String,
    /// `alias/…`.
    pub name: String,
    /// The key it names.
    pub key_arn: String,
    /// `CreationDate`.
    pub created_at: Timestamp,
}

/// A grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsGrantRow {
    /// `GrantId`.
    pub grant_id: String,
    /// The key.
    pub key_arn: String,
    /// `Name`.
    pub name: Option<String>,
    /// `GranteePrincipal`.
    pub grantee_principal: String,
    /// `RetiringPrincipal`.
    pub retiring_principal: Option<String>,
    /// `Operations`.
    pub operations: Vec<String>,
    /// `IssuingAccount`.
    pub issuing_account: String,
    /// `CreationDate`.
    pub created_at: Timestamp,
}

/// `SELECT <every key column> FROM kms_keys <rest>`, as one literal.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT arn, key_id, account_id, region, description, state, key_manager, created_at, deletion_date,
                 pending_window_days, CAST(rotation_enabled AS INTEGER) AS rotation_enabled, rotation_period_days,
                 next_rotation_at, policy FROM kms_keys ",
            $rest
        )
    };
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_db_time).transpose()
}

fn key_from_row(row: &AnyRow) -> Result<KmsKeyRow> {
    Ok(KmsKeyRow {
        arn: row.try_get("arn")?,
        key_id: row.try_get("key_id")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        description: row.try_get("description")?,
        state: row.try_get("state")?,
        key_manager: row.try_get("key_manager")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        deletion_date: opt_time(row, "deletion_date")?,
        pending_window_days: row.try_get("pending_window_days")?,
        rotation_enabled: get_bool(row, "rotation_enabled")?,
        rotation_period_days: row.try_get("rotation_period_days")?,
        next_rotation_at: opt_time(row, "next_rotation_at")?,
        policy: row.try_get("policy")?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<KmsKeyVersionRow> {
    let hex_text: String = row.try_get("material")?;
    Ok(KmsKeyVersionRow {
        key_arn: row.try_get("key_arn")?,
        version: row.try_get("version")?,
        material: from_hex(&hex_text).ok_or_else(|| CatalogError::Corrupt("key material is not hex".into()))?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    #[allow(clippy::manual_is_multiple_of)] // rust-version 1.85 has no is_multiple_of
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn alias_from_row(row: &AnyRow) -> Result<KmsAliasRow> {
    Ok(KmsAliasRow {
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        name: row.try_get("name")?,
        key_arn: row.try_get("key_arn")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

fn grant_from_row(row: &AnyRow) -> Result<KmsGrantRow> {
    let ops: String = row.try_get("operations")?;
    Ok(KmsGrantRow {
        grant_id: row.try_get("grant_id")?,
        key_arn: row.try_get("key_arn")?,
        name: row.try_get("name")?,
        grantee_principal: row.try_get("grantee_principal")?,
        retiring_principal: row.try_get("retiring_principal")?,
        operations: ops.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        issuing_account: row.try_get("issuing_account")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

impl Tx {
    /// Records a new key.
    pub async fn insert_kms_key(&mut self, k: &KmsKeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO kms_keys (arn, key_id, account_id, region, description, state, key_manager, created_at,
                 deletion_date, pending_window_days, rotation_enabled, rotation_period_days, next_rotation_at, policy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&k.arn)
        .bind(&k.key_id)
        .bind(&k.account_id)
        .bind(&k.region)
        .bind(&k.description)
        .bind(&k.state)
        .bind(&k.key_manager)
        .bind(to_db_time(k.created_at))
        .bind(opt_db_time(k.deletion_date))
        .bind(k.pending_window_days)
        .bind(k.rotation_enabled)
        .bind(k.rotation_period_days)
        .bind(opt_db_time(k.next_rotation_at))
        .bind(&k.policy)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes a key's mutable fields (description, state, dates, rotation, policy).
    /// Returns whether it exists.
    pub async fn update_kms_key(&mut self, k: &KmsKeyRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE kms_keys SET description = $2, state = $3, deletion_date = $4, pending_window_days = $5,
                 rotation_enabled = $6, rotation_period_days = $7, next_rotation_at = $8, policy = $9
             WHERE arn = $1",
        )
        .bind(&k.arn)
        .bind(&k.description)
        .bind(&k.state)
        .bind(opt_db_time(k.deletion_date))
        .bind(k.pending_window_days)
        .bind(k.rotation_enabled)
        .bind(k.rotation_period_days)
        .bind(opt_db_time(k.next_rotation_at))
        .bind(&k.policy)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A key by ARN.
    pub async fn kms_key(&mut self, arn: &str) -> Result<Option<KmsKeyRow>> {
        let row = sqlx::query(select_keys!("WHERE arn = $1"))
            .bind(arn)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// The keys of an account in a Region, oldest first (deleted ones too).
    pub async fn kms_keys(&mut self, account_id: &str, region: &str) -> Result<Vec<KmsKeyRow>> {
        let rows = sqlx::query(select_keys!("WHERE account_id = $1 AND region = $2 ORDER BY created_at, key_id"))
        .bind(account_id)
        .bind(region)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Keys in one state, in every account and Region.
    pub async fn kms_keys_in_state(&mut self, state: &str) -> Result<Vec<KmsKeyRow>> {
        let rows = sqlx::query(select_keys!("WHERE state = $1 ORDER BY arn"))
            .bind(state)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Enabled keys with automatic rotation on whose next rotation is at or before `now`.
    pub async fn kms_keys_due_for_rotation(&mut self, now: Timestamp) -> Result<Vec<KmsKeyRow>> {
        let rows = sqlx::query(select_keys!(
            "WHERE state = 'Enabled' AND rotation_enabled AND next_rotation_at IS NOT NULL AND next_rotation_at <= $1
             ORDER BY arn"
        ))
        .bind(to_db_time(now))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Keys pending deletion whose deletion date is at or before `now`.
    pub async fn kms_keys_due_for_deletion(&mut self, now: Timestamp) -> Result<Vec<KmsKeyRow>> {
        let rows = sqlx::query(select_keys!("WHERE state = 'PendingDeletion' AND deletion_date <= $1 ORDER BY arn"))
        .bind(to_db_time(now))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Records a version of a key's material.
    pub async fn insert_kms_key_version(&mut self, v: &KmsKeyVersionRow) -> Result<()> {
        sqlx::query("INSERT INTO kms_key_versions (key_arn, version, material, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&v.key_arn)
            .bind(v.version)
            .bind(to_hex(&v.material))
            .bind(to_db_time(v.created_at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A key's material versions, oldest first.
    pub async fn kms_key_versions(&mut self, key_arn: &str) -> Result<Vec<KmsKeyVersionRow>> {
        let rows = sqlx::query("SELECT * FROM kms_key_versions WHERE key_arn = $1 ORDER BY version")
            .bind(key_arn)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// Destroys a key's material. Returns how many versions there were.
    pub async fn delete_kms_key_versions(&mut self, key_arn: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM kms_key_versions WHERE key_arn = $1").bind(key_arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected())
    }

    /// Records an alias ([`CatalogError::Duplicate`] if the name is taken).
    pub async fn insert_kms_alias(&mut self, a: &KmsAliasRow) -> Result<()> {
        sqlx::query("INSERT INTO kms_aliases (account_id, region, name, key_arn, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&a.account_id)
            .bind(&a.region)
            .bind(&a.name)
            .bind(&a.key_arn)
            .bind(to_db_time(a.created_at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// An alias by name.
    pub async fn kms_alias(&mut self, account_id: &str, region: &str, name: &str) -> Result<Option<KmsAliasRow>> {
        let row = sqlx::query("SELECT * FROM kms_aliases WHERE account_id = $1 AND region = $2 AND name = $3")
            .bind(account_id)
            .bind(region)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(alias_from_row).transpose()
    }

    /// The aliases of an account in a Region (of one key, if given), by name.
    pub async fn kms_aliases(&mut self, account_id: &str, region: &str, key_arn: Option<&str>) -> Result<Vec<KmsAliasRow>> {
        let rows = sqlx::query(
            "SELECT * FROM kms_aliases WHERE account_id = $1 AND region = $2 AND ($3 IS NULL OR key_arn = $3) ORDER BY name",
        )
        .bind(account_id)
        .bind(region)
        .bind(key_arn)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(alias_from_row).collect()
    }

    /// Deletes an alias. Returns whether it existed.
    pub async fn delete_kms_alias(&mut self, account_id: &str, region: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM kms_aliases WHERE account_id = $1 AND region = $2 AND name = $3")
            .bind(account_id)
            .bind(region)
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes every alias of a key. Returns how many.
    pub async fn delete_kms_aliases_of_key(&mut self, key_arn: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM kms_aliases WHERE key_arn = $1").bind(key_arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected())
    }

    /// Records a grant.
    pub async fn insert_kms_grant(&mut self, g: &KmsGrantRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO kms_grants (grant_id, key_arn, name, grantee_principal, retiring_principal, operations,
                 issuing_account, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&g.grant_id)
        .bind(&g.key_arn)
        .bind(&g.name)
        .bind(&g.grantee_principal)
        .bind(&g.retiring_principal)
        .bind(g.operations.join(","))
        .bind(&g.issuing_account)
        .bind(to_db_time(g.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A key's grants (of one grantee, if given), oldest first.
    pub async fn kms_grants(&mut self, key_arn: &str, grantee_principal: Option<&str>) -> Result<Vec<KmsGrantRow>> {
        let rows = sqlx::query(
            "SELECT * FROM kms_grants WHERE key_arn = $1 AND ($2 IS NULL OR grantee_principal = $2) ORDER BY created_at, grant_id",
        )
        .bind(key_arn)
        .bind(grantee_principal)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Deletes a grant of a key. Returns whether it existed.
    pub async fn delete_kms_grant(&mut self, key_arn: &str, grant_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM kms_grants WHERE key_arn = $1 AND grant_id = $2")
            .bind(key_arn)
            .bind(grant_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes every grant of a key. Returns how many.
    pub async fn delete_kms_grants_of_key(&mut self, key_arn: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM kms_grants WHERE key_arn = $1").bind(key_arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected())
    }
}
