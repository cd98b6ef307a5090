//! Backup plans, their versions, and their resource selections.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Tx, from_db_time, to_db_time};

/// A backup plan (its current version's document is in [`PlanVersion`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPlanRow {
    /// `BackupPlanId` (a UUID).
    pub id: String,
    /// `arn:aws:backup:REGION:ACCOUNT:backup-plan:ID`.
    pub arn: String,
    /// Owner.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// `BackupPlanName`.
    pub name: String,
    /// The current `VersionId`.
    pub version_id: String,
    /// For plans derived from the organization's backup policy: the plan's name there.
    pub policy_plan_name: Option<String>,
    /// Idempotency token.
    pub creator_request_id: Option<String>,
    /// When the plan was created.
    pub created_at: Timestamp,
    /// When it was deleted (deleted plans stay listed with `--include-deleted`).
    pub deleted_at: Option<Timestamp>,
    /// When a job of it last ran.
    pub last_execution_at: Option<Timestamp>,
}

/// One version of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersion {
    /// The plan.
    pub plan_id: String,
    /// `VersionId`.
    pub version_id: String,
    /// The AWS `BackupPlan` JSON of this version.
    pub document: String,
    /// When this version was made.
    pub created_at: Timestamp,
    /// When the plan was deleted while this version was current.
    pub deleted_at: Option<Timestamp>,
}

/// A resource selection of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionRow {
    /// `SelectionId`.
    pub id: String,
    /// The plan.
    pub plan_id: String,
    /// `SelectionName`.
    pub name: String,
    /// The AWS `BackupSelection` JSON.
    pub document: String,
    /// Idempotency token.
    pub creator_request_id: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_db_time).transpose()
}

fn plan_from_row(row: &AnyRow) -> Result<BackupPlanRow> {
    Ok(BackupPlanRow {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        name: row.try_get("name")?,
        version_id: row.try_get("version_id")?,
        policy_plan_name: row.try_get("policy_plan_name")?,
        creator_request_id: row.try_get("creator_request_id")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        deleted_at: opt_time(row, "deleted_at")?,
        last_execution_at: opt_time(row, "last_execution_at")?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<PlanVersion> {
    Ok(PlanVersion {
        plan_id: row.try_get("plan_id")?,
        version_id: row.try_get("version_id")?,
        document: row.try_get("document")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        deleted_at: opt_time(row, "deleted_at")?,
    })
}

fn selection_from_row(row: &AnyRow) -> Result<SelectionRow> {
    Ok(SelectionRow {
        id: row.try_get("id")?,
        plan_id: row.try_get("plan_id")?,
        name: row.try_get("name")?,
        document: row.try_get("document")?,
        creator_request_id: row.try_get("creator_request_id")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

pub(crate) fn opt_db_time(t: Option<Timestamp>) -> Option<i64> {
    t.map(to_db_time)
}

impl Tx {
    /// Records a new plan and its first version.
    pub async fn insert_plan(&mut self, plan: &BackupPlanRow, first: &PlanVersion) -> Result<()> {
        sqlx::query(
            "INSERT INTO backup_plans (id, arn, account_id, region, name, version_id, policy_plan_name,
                 creator_request_id, created_at, deleted_at, last_execution_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&plan.id)
        .bind(&plan.arn)
        .bind(&plan.account_id)
        .bind(&plan.region)
        .bind(&plan.name)
        .bind(&plan.version_id)
        .bind(&plan.policy_plan_name)
        .bind(&plan.creator_request_id)
        .bind(to_db_time(plan.created_at))
        .bind(opt_db_time(plan.deleted_at))
        .bind(opt_db_time(plan.last_execution_at))
        .execute(&mut *self.tx)
        .await?;
        self.insert_plan_version(first).await
    }

    async fn insert_plan_version(&mut self, v: &PlanVersion) -> Result<()> {
        sqlx::query(
            "INSERT INTO backup_plan_versions (plan_id, version_id, document, created_at, deleted_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&v.plan_id)
        .bind(&v.version_id)
        .bind(&v.document)
        .bind(to_db_time(v.created_at))
        .bind(opt_db_time(v.deleted_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Adds a version and makes it current (the plan's name may change with it).
    pub async fn add_plan_version(&mut self, name: &str, v: &PlanVersion) -> Result<()> {
        self.insert_plan_version(v).await?;
        sqlx::query("UPDATE backup_plans SET version_id = $1, name = $2 WHERE id = $3")
            .bind(&v.version_id)
            .bind(name)
            .bind(&v.plan_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Marks a plan (and its current version) deleted.
    pub async fn mark_plan_deleted(&mut self, plan_id: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE backup_plans SET deleted_at = $1 WHERE id = $2")
            .bind(to_db_time(at))
            .bind(plan_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "UPDATE backup_plan_versions SET deleted_at = $1
             WHERE plan_id = $2 AND version_id = (SELECT version_id FROM backup_plans WHERE id = $2)",
        )
        .bind(to_db_time(at))
        .bind(plan_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records when a plan's job last ran.
    pub async fn set_plan_last_execution(&mut self, plan_id: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE backup_plans SET last_execution_at = $1 WHERE id = $2")
            .bind(to_db_time(at))
            .bind(plan_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// One plan (deleted ones too).
    pub async fn plan(&mut self, id: &str) -> Result<Option<BackupPlanRow>> {
        let row = sqlx::query("SELECT * FROM backup_plans WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(plan_from_row).transpose()
    }

    /// Plans, optionally of one account and region, deleted ones only if asked, by name.
    pub async fn plans(&mut self, account_id: Option<&str>, region: Option<&str>, include_deleted: bool) -> Result<Vec<BackupPlanRow>> {
        let rows = sqlx::query(
            "SELECT * FROM backup_plans
             WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR region = $2) AND ($3 OR deleted_at IS NULL)
             ORDER BY account_id, region, name, created_at",
        )
        .bind(account_id)
        .bind(region)
        .bind(include_deleted)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(plan_from_row).collect()
    }

    /// One version of a plan.
    pub async fn plan_version(&mut self, plan_id: &str, version_id: &str) -> Result<Option<PlanVersion>> {
        let row = sqlx::query("SELECT * FROM backup_plan_versions WHERE plan_id = $1 AND version_id = $2")
            .bind(plan_id)
            .bind(version_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// Every version of a plan, newest first.
    pub async fn plan_versions(&mut self, plan_id: &str) -> Result<Vec<PlanVersion>> {
        let rows = sqlx::query("SELECT * FROM backup_plan_versions WHERE plan_id = $1 ORDER BY created_at DESC, version_id DESC")
            .bind(plan_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// Records a selection.
    pub async fn insert_selection(&mut self, s: &SelectionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO backup_selections (id, plan_id, name, document, creator_request_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id)
        .bind(&s.plan_id)
        .bind(&s.name)
        .bind(&s.document)
        .bind(&s.creator_request_id)
        .bind(to_db_time(s.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The selections of a plan, oldest first.
    pub async fn selections(&mut self, plan_id: &str) -> Result<Vec<SelectionRow>> {
        let rows = sqlx::query("SELECT * FROM backup_selections WHERE plan_id = $1 ORDER BY created_at, id")
            .bind(plan_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(selection_from_row).collect()
    }

    /// Every selection of every live plan (the scheduler's view).
    pub async fn all_live_selections(&mut self) -> Result<Vec<SelectionRow>> {
        let rows = sqlx::query(
            "SELECT s.* FROM backup_selections s JOIN backup_plans p ON p.id = s.plan_id
             WHERE p.deleted_at IS NULL ORDER BY s.plan_id, s.created_at, s.id",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(selection_from_row).collect()
    }

    /// One selection.
    pub async fn selection(&mut self, plan_id: &str, id: &str) -> Result<Option<SelectionRow>> {
        let row = sqlx::query("SELECT * FROM backup_selections WHERE plan_id = $1 AND id = $2")
            .bind(plan_id)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(selection_from_row).transpose()
    }

    /// Deletes a selection. Returns whether it existed.
    pub async fn delete_selection(&mut self, plan_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM backup_selections WHERE plan_id = $1 AND id = $2")
            .bind(plan_id)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes every selection of a plan (policy-managed plans are replaced whole).
    pub async fn delete_selections_of(&mut self, plan_id: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM backup_selections WHERE plan_id = $1").bind(plan_id).execute(&mut *self.tx).await?;
        Ok(done.rows_affected())
    }
}
