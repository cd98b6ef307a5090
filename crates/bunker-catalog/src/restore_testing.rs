//! Restore testing plans, selections and the jobs that restore and validate.
//!
//! Plan and selection details the service validates (the recovery point selection, the
//! selection's conditions and overrides) are kept as JSON documents; the columns are what
//! queries filter on. A job's link to its plan lives in `restore_testing_jobs`, keyed by
//! the restore job id.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::{Result, Tx, from_db_time, to_db_time};

/// A restore testing plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestingPlanRow {
    /// `RestoreTestingPlanArn`.
    pub arn: String,
    /// `RestoreTestingPlanName`, unique in the account and Region.
    pub name: String,
    /// The owning account.
    pub account_id: String,
    /// The Region.
    pub region: String,
    /// `ScheduleExpression`.
    pub schedule_expression: String,
    /// `ScheduleExpressionTimezone` (IANA name).
    pub schedule_timezone: String,
    /// `StartWindowHours`.
    pub start_window_hours: i64,
    /// `RecoveryPointSelection` as JSON.
    pub recovery_point_selection: String,
    /// Tags as JSON.
    pub tags: String,
    /// `CreatorRequestId`.
    pub creator_request_id: Option<String>,
    /// `CreationTime`.
    pub created_at: Timestamp,
    /// `LastUpdateTime`.
    pub updated_at: Option<Timestamp>,
    /// `LastExecutionTime`: the last firing handled.
    pub last_execution_at: Option<Timestamp>,
}

/// A restore testing selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestingSelectionRow {
    /// The plan it belongs to.
    pub plan_arn: String,
    /// `RestoreTestingSelectionName`, unique in the plan.
    pub name: String,
    /// `ProtectedResourceType`.
    pub protected_resource_type: String,
    /// The rest of the selection as JSON.
    pub document: String,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `ValidationWindowHours`.
    pub validation_window_hours: i64,
    /// `CreatorRequestId`.
    pub creator_request_id: Option<String>,
    /// `CreationTime`.
    pub created_at: Timestamp,
    /// `UpdateTime`.
    pub updated_at: Option<Timestamp>,
}

/// A restore job started by a restore testing plan, and how its test went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestingJobRow {
    /// The restore job (`restore_jobs.id`).
    pub restore_job_id: String,
    /// `CreatedBy.RestoreTestingPlanArn`.
    pub plan_arn: String,
    /// The selection that chose the resource.
    pub selection_name: String,
    /// The protected resource tested.
    pub resource_arn: String,
    /// The plan firing it belongs to.
    pub scheduled_at: Timestamp,
    /// `ValidationStatus`.
    pub validation_status: Option<String>,
    /// `ValidationStatusMessage`.
    pub validation_status_message: Option<String>,
    /// `DeletionStatus`.
    pub deletion_status: Option<String>,
    /// `DeletionStatusMessage`.
    pub deletion_status_message: Option<String>,
    /// How long the restore itself took, in microseconds.
    pub restore_duration_us: Option<i64>,
    /// Where the scratch copy went (a resource location JSON).
    pub scratch_location: String,
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_db_time).transpose()
}

fn plan_from_row(row: &AnyRow) -> Result<RestoreTestingPlanRow> {
    Ok(RestoreTestingPlanRow {
        arn: row.try_get("arn")?,
        name: row.try_get("name")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        schedule_expression: row.try_get("schedule_expression")?,
        schedule_timezone: row.try_get("schedule_timezone")?,
        start_window_hours: row.try_get("start_window_hours")?,
        recovery_point_selection: row.try_get("recovery_point_selection")?,
        tags: row.try_get("tags")?,
        creator_request_id: row.try_get("creator_request_id")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        updated_at: opt_time(row, "updated_at")?,
        last_execution_at: opt_time(row, "last_execution_at")?,
    })
}

fn selection_from_row(row: &AnyRow) -> Result<RestoreTestingSelectionRow> {
    Ok(RestoreTestingSelectionRow {
        plan_arn: row.try_get("plan_arn")?,
        name: row.try_get("name")?,
        protected_resource_type: row.try_get("protected_resource_type")?,
        document: row.try_get("document")?,
        iam_role_arn: row.try_get("iam_role_arn")?,
        validation_window_hours: row.try_get("validation_window_hours")?,
        creator_request_id: row.try_get("creator_request_id")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        updated_at: opt_time(row, "updated_at")?,
    })
}

fn job_from_row(row: &AnyRow) -> Result<RestoreTestingJobRow> {
    Ok(RestoreTestingJobRow {
        restore_job_id: row.try_get("restore_job_id")?,
        plan_arn: row.try_get("plan_arn")?,
        selection_name: row.try_get("selection_name")?,
        resource_arn: row.try_get("resource_arn")?,
        scheduled_at: from_db_time(row.try_get("scheduled_at")?)?,
        validation_status: row.try_get("validation_status")?,
        validation_status_message: row.try_get("validation_status_message")?,
        deletion_status: row.try_get("deletion_status")?,
        deletion_status_message: row.try_get("deletion_status_message")?,
        restore_duration_us: row.try_get("restore_duration_us")?,
        scratch_location: row.try_get("scratch_location")?,
    })
}

const PLAN_COLUMNS: &str = "arn, name, account_id, region, schedule_expression, schedule_timezone, start_window_hours,
    recovery_point_selection, tags, creator_request_id, created_at, updated_at, last_execution_at";
const SELECTION_COLUMNS: &str = "plan_arn, name, protected_resource_type, document, iam_role_arn, validation_window_hours,
    creator_request_id, created_at, updated_at";
const JOB_COLUMNS: &str = "restore_job_id, plan_arn, selection_name, resource_arn, scheduled_at, validation_status,
    validation_status_message, deletion_status, deletion_status_message, restore_duration_us, scratch_location";

impl Tx {
    /// Records a new restore testing plan ([`crate::CatalogError::Duplicate`] when its name
    /// or ARN is taken).
    pub async fn insert_restore_testing_plan(&mut self, p: &RestoreTestingPlanRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO restore_testing_plans (arn, name, account_id, region, schedule_expression, schedule_timezone,
                 start_window_hours, recovery_point_selection, tags, creator_request_id, created_at, updated_at,
                 last_execution_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&p.arn)
        .bind(&p.name)
        .bind(&p.account_id)
        .bind(&p.region)
        .bind(&p.schedule_expression)
        .bind(&p.schedule_timezone)
        .bind(p.start_window_hours)
        .bind(&p.recovery_point_selection)
        .bind(&p.tags)
        .bind(&p.creator_request_id)
        .bind(to_db_time(p.created_at))
        .bind(opt_db_time(p.updated_at))
        .bind(opt_db_time(p.last_execution_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes a plan's settings back (not its last execution: see
    /// [`Tx::claim_restore_testing_firing`]); false when it does not exist.
    pub async fn update_restore_testing_plan(&mut self, p: &RestoreTestingPlanRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE restore_testing_plans SET schedule_expression = $1, schedule_timezone = $2, start_window_hours = $3,
                 recovery_point_selection = $4, tags = $5, updated_at = $6
             WHERE arn = $7",
        )
        .bind(&p.schedule_expression)
        .bind(&p.schedule_timezone)
        .bind(p.start_window_hours)
        .bind(&p.recovery_point_selection)
        .bind(&p.tags)
        .bind(opt_db_time(p.updated_at))
        .bind(&p.arn)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks `firing` as handled, but only while the last handled firing is still `was`:
    /// false when another process handled it first.
    pub async fn claim_restore_testing_firing(&mut self, arn: &str, was: Option<Timestamp>, firing: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE restore_testing_plans SET last_execution_at = $1
             WHERE arn = $2 AND (last_execution_at = $3 OR (last_execution_at IS NULL AND $4 = 0))",
        )
        .bind(to_db_time(firing))
        .bind(arn)
        .bind(opt_db_time(was).unwrap_or(0))
        .bind(i64::from(was.is_some()))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The plan named `name` in an account and Region.
    pub async fn restore_testing_plan(&mut self, account_id: &str, region: &str, name: &str) -> Result<Option<RestoreTestingPlanRow>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM restore_testing_plans WHERE account_id = $1 AND region = $2 AND name = $3");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(region)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(plan_from_row).transpose()
    }

    /// The plan with this ARN.
    pub async fn restore_testing_plan_by_arn(&mut self, arn: &str) -> Result<Option<RestoreTestingPlanRow>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM restore_testing_plans WHERE arn = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(arn).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(plan_from_row).transpose()
    }

    /// Plans, by account, Region and name (all of them when both filters are `None`).
    pub async fn restore_testing_plans(&mut self, account_id: Option<&str>, region: Option<&str>) -> Result<Vec<RestoreTestingPlanRow>> {
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM restore_testing_plans
             WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR region = $2)
             ORDER BY account_id, region, name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id.unwrap_or(""))
            .bind(region.unwrap_or(""))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(plan_from_row).collect()
    }

    /// Deletes a plan ([`crate::CatalogError::Reference`] while selections remain).
    pub async fn delete_restore_testing_plan(&mut self, arn: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM restore_testing_plans WHERE arn = $1").bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a new selection ([`crate::CatalogError::Duplicate`] when the plan has one of
    /// that name).
    pub async fn insert_restore_testing_selection(&mut self, s: &RestoreTestingSelectionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO restore_testing_selections (plan_arn, name, protected_resource_type, document, iam_role_arn,
                 validation_window_hours, creator_request_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.plan_arn)
        .bind(&s.name)
        .bind(&s.protected_resource_type)
        .bind(&s.document)
        .bind(&s.iam_role_arn)
        .bind(s.validation_window_hours)
        .bind(&s.creator_request_id)
        .bind(to_db_time(s.created_at))
        .bind(opt_db_time(s.updated_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes a selection's settings back; false when it does not exist.
    pub async fn update_restore_testing_selection(&mut self, s: &RestoreTestingSelectionRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE restore_testing_selections SET document = $1, iam_role_arn = $2, validation_window_hours = $3,
                 updated_at = $4
             WHERE plan_arn = $5 AND name = $6",
        )
        .bind(&s.document)
        .bind(&s.iam_role_arn)
        .bind(s.validation_window_hours)
        .bind(opt_db_time(s.updated_at))
        .bind(&s.plan_arn)
        .bind(&s.name)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One selection of a plan.
    pub async fn restore_testing_selection(&mut self, plan_arn: &str, name: &str) -> Result<Option<RestoreTestingSelectionRow>> {
        let sql = format!("SELECT {SELECTION_COLUMNS} FROM restore_testing_selections WHERE plan_arn = $1 AND name = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_arn).bind(name).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(selection_from_row).transpose()
    }

    /// A plan's selections, by name.
    pub async fn restore_testing_selections(&mut self, plan_arn: &str) -> Result<Vec<RestoreTestingSelectionRow>> {
        let sql = format!("SELECT {SELECTION_COLUMNS} FROM restore_testing_selections WHERE plan_arn = $1 ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_arn).fetch_all(&mut *self.tx).await?;
        rows.iter().map(selection_from_row).collect()
    }

    /// Deletes one selection.
    pub async fn delete_restore_testing_selection(&mut self, plan_arn: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM restore_testing_selections WHERE plan_arn = $1 AND name = $2")
            .bind(plan_arn)
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Links a restore job (already recorded) to its testing plan
    /// ([`crate::CatalogError::Duplicate`] when this firing already tested the resource).
    pub async fn insert_restore_testing_job(&mut self, j: &RestoreTestingJobRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO restore_testing_jobs (restore_job_id, plan_arn, selection_name, resource_arn, scheduled_at,
                 validation_status, validation_status_message, deletion_status, deletion_status_message,
                 restore_duration_us, scratch_location)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&j.restore_job_id)
        .bind(&j.plan_arn)
        .bind(&j.selection_name)
        .bind(&j.resource_arn)
        .bind(to_db_time(j.scheduled_at))
        .bind(&j.validation_status)
        .bind(&j.validation_status_message)
        .bind(&j.deletion_status)
        .bind(&j.deletion_status_message)
        .bind(j.restore_duration_us)
        .bind(&j.scratch_location)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes a test's validation, clean-up and timing back; false when it does not exist.
    pub async fn update_restore_testing_job(&mut self, j: &RestoreTestingJobRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE restore_testing_jobs SET validation_status = $1, validation_status_message = $2,
                 deletion_status = $3, deletion_status_message = $4, restore_duration_us = $5
             WHERE restore_job_id = $6",
        )
        .bind(&j.validation_status)
        .bind(&j.validation_status_message)
        .bind(&j.deletion_status)
        .bind(&j.deletion_status_message)
        .bind(j.restore_duration_us)
        .bind(&j.restore_job_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `(restore job id, scratch location)` of the tests whose scratch location may hold a
    /// connection secret, for redacting rows written before secrets were kept out.
    pub async fn restore_testing_scratch_with_secrets(&mut self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT restore_job_id, scratch_location FROM restore_testing_jobs
             WHERE scratch_location LIKE '%://%' OR scratch_location LIKE '%SecretAccessKey%'",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("restore_job_id")?, row.try_get("scratch_location")?))).collect()
    }

    /// Replaces a test's recorded scratch location. Returns whether it exists.
    pub async fn set_restore_testing_scratch_location(&mut self, restore_job_id: &str, location: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE restore_testing_jobs SET scratch_location = $1 WHERE restore_job_id = $2")
            .bind(location)
            .bind(restore_job_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The test record of a restore job, if a testing plan started it.
    pub async fn restore_testing_job(&mut self, restore_job_id: &str) -> Result<Option<RestoreTestingJobRow>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM restore_testing_jobs WHERE restore_job_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(restore_job_id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// A plan's tests, newest firing first (ties by restore job id), at most `limit`.
    pub async fn restore_testing_jobs(&mut self, plan_arn: &str, limit: i64) -> Result<Vec<RestoreTestingJobRow>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM restore_testing_jobs WHERE plan_arn = $1
             ORDER BY scheduled_at DESC, restore_job_id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(plan_arn).bind(limit).fetch_all(&mut *self.tx).await?;
        rows.iter().map(job_from_row).collect()
    }
}
