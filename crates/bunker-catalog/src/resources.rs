//! Resources and backup vaults of each account.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::CatalogError;
use crate::{Result, Tx, from_db_time, to_db_time};

/// Tags: key → value, ordered (AWS shows them as a map).
pub type Tags = BTreeMap<String, String>;

pub(crate) fn tags_to_db(tags: &Tags) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn tags_from_db(text: &str) -> Result<Tags> {
    serde_json::from_str(text).map_err(|e| CatalogError::Corrupt(format!("tags {text:?}: {e}")))
}

/// A protected (or protectable) resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `arn:aws:bunker:REGION:ACCOUNT:TYPE/NAME`.
    pub arn: String,
    /// Owner.
    pub account_id: String,
    /// Where it is.
    pub region: String,
    /// `Directory`, `SQLite`, `PostgreSQL`, `DiskImage`, `S3`.
    pub resource_type: String,
    /// Unique per account, region and type.
    pub name: String,
    /// The connector's location JSON.
    pub location: String,
    /// Its tags (selections match on them).
    pub tags: Tags,
    /// When it was registered.
    pub created_at: Timestamp,
}

fn resource_from_row(row: &AnyRow) -> Result<Resource> {
    Ok(Resource {
        arn: row.try_get("arn")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        resource_type: row.try_get("resource_type")?,
        name: row.try_get("name")?,
        location: row.try_get("location")?,
        tags: tags_from_db(row.try_get("tags")?)?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

/// A backup vault: a vault-engine repository owned by one account in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupVault {
    /// `arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME`.
    pub arn: String,
    /// Owner.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Name, unique per account and region.
    pub name: String,
    /// Storage root: a directory or `s3://bucket/prefix`.
    pub location: String,
    /// The key that wraps the vault's master key.
    pub encryption_key_arn: String,
    /// Idempotency token given at creation.
    pub creator_request_id: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// When it was created.
    pub created_at: Timestamp,
}

fn vault_from_row(row: &AnyRow) -> Result<BackupVault> {
    Ok(BackupVault {
        arn: row.try_get("arn")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        name: row.try_get("name")?,
        location: row.try_get("location")?,
        encryption_key_arn: row.try_get("encryption_key_arn")?,
        creator_request_id: row.try_get("creator_request_id")?,
        tags: tags_from_db(row.try_get("tags")?)?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

impl Tx {
    /// Records a resource.
    pub async fn insert_resource(&mut self, r: &Resource) -> Result<()> {
        sqlx::query(
            "INSERT INTO resources (arn, account_id, region, resource_type, name, location, tags, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.arn)
        .bind(&r.account_id)
        .bind(&r.region)
        .bind(&r.resource_type)
        .bind(&r.name)
        .bind(&r.location)
        .bind(tags_to_db(&r.tags))
        .bind(to_db_time(r.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// One resource.
    pub async fn resource(&mut self, arn: &str) -> Result<Option<Resource>> {
        let row = sqlx::query("SELECT * FROM resources WHERE arn = $1").bind(arn).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(resource_from_row).transpose()
    }

    /// Resources, optionally of one account (and region), ordered by ARN.
    pub async fn resources(&mut self, account_id: Option<&str>, region: Option<&str>) -> Result<Vec<Resource>> {
        let rows = sqlx::query(
            "SELECT * FROM resources WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR region = $2) ORDER BY arn",
        )
        .bind(account_id)
        .bind(region)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(resource_from_row).collect()
    }

    /// Replaces a resource's tags. Returns whether it exists.
    pub async fn set_resource_tags(&mut self, arn: &str, tags: &Tags) -> Result<bool> {
        let done = sqlx::query("UPDATE resources SET tags = $1 WHERE arn = $2")
            .bind(tags_to_db(tags))
            .bind(arn)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a resource's location (its connection secrets sealed anew). Returns whether
    /// it exists.
    pub async fn set_resource_location(&mut self, arn: &str, location: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE resources SET location = $1 WHERE arn = $2").bind(location).bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets a resource (its recovery points stay). Returns whether it existed.
    pub async fn delete_resource(&mut self, arn: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM resources WHERE arn = $1").bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a vault.
    pub async fn insert_vault(&mut self, v: &BackupVault) -> Result<()> {
        sqlx::query(
            "INSERT INTO backup_vaults (arn, account_id, region, name, location, encryption_key_arn, creator_request_id, tags, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&v.arn)
        .bind(&v.account_id)
        .bind(&v.region)
        .bind(&v.name)
        .bind(&v.location)
        .bind(&v.encryption_key_arn)
        .bind(&v.creator_request_id)
        .bind(tags_to_db(&v.tags))
        .bind(to_db_time(v.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// One vault by ARN.
    pub async fn vault(&mut self, arn: &str) -> Result<Option<BackupVault>> {
        let row = sqlx::query("SELECT * FROM backup_vaults WHERE arn = $1").bind(arn).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(vault_from_row).transpose()
    }

    /// Vaults, optionally of one account (and region), ordered by name.
    pub async fn vaults(&mut self, account_id: Option<&str>, region: Option<&str>) -> Result<Vec<BackupVault>> {
        let rows = sqlx::query(
            "SELECT * FROM backup_vaults WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR region = $2)
             ORDER BY account_id, region, name",
        )
        .bind(account_id)
        .bind(region)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(vault_from_row).collect()
    }

    /// Deletes a vault row (the caller checked it holds no recovery points). Returns whether
    /// it existed.
    pub async fn delete_vault(&mut self, arn: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM backup_vaults WHERE arn = $1").bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }
}
