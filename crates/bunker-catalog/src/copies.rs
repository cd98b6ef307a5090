//! Copy jobs: a recovery point copied into another account's or Region's vault.
//!
//! A job is claimed (`CREATED` → `RUNNING`) and finished by guarded updates, so two
//! processes never run the same attempt and an attempt taken over after its process stopped
//! cannot finish it any more.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::{Result, Tx, from_db_time, to_db_time};

/// A copy job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJobRow {
    /// `CopyJobId`.
    pub id: String,
    /// `AccountId`: the account that asked for the copy (the source's).
    pub account_id: String,
    /// The source's Region.
    pub region: String,
    /// `SourceBackupVaultArn`.
    pub source_vault_arn: String,
    /// `SourceRecoveryPointArn`.
    pub source_recovery_point_arn: String,
    /// `DestinationBackupVaultArn`.
    pub destination_vault_arn: String,
    /// `DestinationRecoveryPointArn`, once the copy is recorded.
    pub destination_recovery_point_arn: Option<String>,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `CREATED`, `RUNNING`, `COMPLETED`, `FAILED` or `PARTIAL`.
    pub state: String,
    /// `StatusMessage`.
    pub status_message: Option<String>,
    /// `CreationDate`.
    pub created_at: Timestamp,
    /// When the current attempt started.
    pub started_at: Option<Timestamp>,
    /// Last sign of life of the process running it.
    pub heartbeat_at: Option<Timestamp>,
    /// `CompletionDate`.
    pub completed_at: Option<Timestamp>,
    /// 1 for the first try.
    pub attempt: i64,
    /// `BackupSizeInBytes`.
    pub backup_size: i64,
    /// Bytes written to the destination vault (only what it lacked).
    pub bytes_transferred: i64,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `CreatedBy.BackupPlanId` (copies made by a plan's copy action).
    pub plan_id: Option<String>,
    /// `CreatedBy.BackupPlanVersion`.
    pub plan_version: Option<String>,
    /// `CreatedBy.BackupRuleId`.
    pub rule_id: Option<String>,
    /// The destination point's lifecycle JSON.
    pub lifecycle: String,
}

/// Filters of `list-copy-jobs` (all optional, AND-ed).
#[derive(Debug, Clone, Default)]
pub struct CopyJobFilter {
    /// `--by-state`.
    pub state: Option<String>,
    /// `--by-account-id`.
    pub account_id: Option<String>,
    /// `--by-resource-arn`.
    pub resource_arn: Option<String>,
    /// `--by-resource-type`.
    pub resource_type: Option<String>,
    /// `--by-destination-vault-arn`.
    pub destination_vault_arn: Option<String>,
    /// `--by-created-after`.
    pub created_after: Option<Timestamp>,
    /// `--by-created-before`.
    pub created_before: Option<Timestamp>,
    /// `--by-complete-after`.
    pub completed_after: Option<Timestamp>,
    /// `--by-complete-before`.
    pub completed_before: Option<Timestamp>,
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_db_time).transpose()
}

fn copy_from_row(row: &AnyRow) -> Result<CopyJobRow> {
    Ok(CopyJobRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        source_vault_arn: row.try_get("source_vault_arn")?,
        source_recovery_point_arn: row.try_get("source_recovery_point_arn")?,
        destination_vault_arn: row.try_get("destination_vault_arn")?,
        destination_recovery_point_arn: row.try_get("destination_recovery_point_arn")?,
        resource_arn: row.try_get("resource_arn")?,
        resource_type: row.try_get("resource_type")?,
        state: row.try_get("state")?,
        status_message: row.try_get("status_message")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        started_at: opt_time(row, "started_at")?,
        heartbeat_at: opt_time(row, "heartbeat_at")?,
        completed_at: opt_time(row, "completed_at")?,
        attempt: row.try_get("attempt")?,
        backup_size: row.try_get("backup_size")?,
        bytes_transferred: row.try_get("bytes_transferred")?,
        iam_role_arn: row.try_get("iam_role_arn")?,
        plan_id: row.try_get("plan_id")?,
        plan_version: row.try_get("plan_version")?,
        rule_id: row.try_get("rule_id")?,
        lifecycle: row.try_get("lifecycle")?,
    })
}

impl Tx {
    /// Records a new copy job.
    pub async fn insert_copy_job(&mut self, j: &CopyJobRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO copy_jobs (id, account_id, region, source_vault_arn, source_recovery_point_arn,
                 destination_vault_arn, destination_recovery_point_arn, resource_arn, resource_type, state,
                 status_message, created_at, started_at, heartbeat_at, completed_at, attempt, backup_size,
                 bytes_transferred, iam_role_arn, plan_id, plan_version, rule_id, lifecycle)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23)",
        )
        .bind(&j.id)
        .bind(&j.account_id)
        .bind(&j.region)
        .bind(&j.source_vault_arn)
        .bind(&j.source_recovery_point_arn)
        .bind(&j.destination_vault_arn)
        .bind(&j.destination_recovery_point_arn)
        .bind(&j.resource_arn)
        .bind(&j.resource_type)
        .bind(&j.state)
        .bind(&j.status_message)
        .bind(to_db_time(j.created_at))
        .bind(opt_db_time(j.started_at))
        .bind(opt_db_time(j.heartbeat_at))
        .bind(opt_db_time(j.completed_at))
        .bind(j.attempt)
        .bind(j.backup_size)
        .bind(j.bytes_transferred)
        .bind(&j.iam_role_arn)
        .bind(&j.plan_id)
        .bind(&j.plan_version)
        .bind(&j.rule_id)
        .bind(&j.lifecycle)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes a job's state and results back, but only while it is still in `state_was`
    /// at attempt `attempt_was`: false when another process changed it meanwhile (an
    /// attempt taken over after its process stopped must not finish the job).
    pub async fn update_copy_job(&mut self, j: &CopyJobRow, state_was: &str, attempt_was: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE copy_jobs SET state = $1, status_message = $2, started_at = $3, heartbeat_at = $4,
                 completed_at = $5, attempt = $6, backup_size = $7, bytes_transferred = $8,
                 destination_recovery_point_arn = $9
             WHERE id = $10 AND state = $11 AND attempt = $12",
        )
        .bind(&j.state)
        .bind(&j.status_message)
        .bind(opt_db_time(j.started_at))
        .bind(opt_db_time(j.heartbeat_at))
        .bind(opt_db_time(j.completed_at))
        .bind(j.attempt)
        .bind(j.backup_size)
        .bind(j.bytes_transferred)
        .bind(&j.destination_recovery_point_arn)
        .bind(&j.id)
        .bind(state_was)
        .bind(attempt_was)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes a `CREATED` job for this process: `RUNNING` from `now`. False when it is not
    /// `CREATED` (another process took it first).
    pub async fn claim_copy_job(&mut self, id: &str, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE copy_jobs SET state = 'RUNNING', started_at = $1, heartbeat_at = $1 WHERE id = $2 AND state = 'CREATED'",
        )
        .bind(to_db_time(now))
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that the process running `attempt` of a job is alive.
    pub async fn copy_job_heartbeat(&mut self, id: &str, attempt: i64, now: Timestamp) -> Result<bool> {
        let done = sqlx::query("UPDATE copy_jobs SET heartbeat_at = $1 WHERE id = $2 AND state = 'RUNNING' AND attempt = $3")
            .bind(to_db_time(now))
            .bind(id)
            .bind(attempt)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One copy job.
    pub async fn copy_job(&mut self, id: &str) -> Result<Option<CopyJobRow>> {
        let row = sqlx::query("SELECT * FROM copy_jobs WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(copy_from_row).transpose()
    }

    /// Up to `limit` jobs in `state` created at or before `until`, oldest first (the queue).
    pub async fn copy_jobs_in_state(&mut self, state: &str, until: Timestamp, limit: i64) -> Result<Vec<CopyJobRow>> {
        let rows = sqlx::query("SELECT * FROM copy_jobs WHERE state = $1 AND created_at <= $2 ORDER BY created_at, id LIMIT $3")
            .bind(state)
            .bind(to_db_time(until))
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(copy_from_row).collect()
    }

    /// `RUNNING` jobs whose last heartbeat is before `before` (or that never had one).
    pub async fn stale_copy_jobs(&mut self, before: Timestamp, limit: i64) -> Result<Vec<CopyJobRow>> {
        let rows = sqlx::query(
            "SELECT * FROM copy_jobs WHERE state = 'RUNNING' AND (heartbeat_at IS NULL OR heartbeat_at < $1)
             ORDER BY created_at, id LIMIT $2",
        )
        .bind(to_db_time(before))
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(copy_from_row).collect()
    }

    /// The copy jobs of one source recovery point, oldest first.
    pub async fn copy_jobs_of_source(&mut self, source_recovery_point_arn: &str) -> Result<Vec<CopyJobRow>> {
        let rows = sqlx::query("SELECT * FROM copy_jobs WHERE source_recovery_point_arn = $1 ORDER BY created_at, id")
            .bind(source_recovery_point_arn)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(copy_from_row).collect()
    }

    /// A page of copy jobs, newest first, after `after` = (creation time, id) of the
    /// previous page's last row.
    pub async fn copy_jobs(&mut self, f: &CopyJobFilter, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<CopyJobRow>> {
        let (after_t, after_id) = after.map_or((None, None), |(t, id)| (Some(to_db_time(t)), Some(id)));
        let rows = sqlx::query(
            "SELECT * FROM copy_jobs
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR account_id = $2) AND ($3 IS NULL OR resource_arn = $3)
               AND ($4 IS NULL OR resource_type = $4) AND ($5 IS NULL OR destination_vault_arn = $5)
               AND ($6 IS NULL OR created_at > $6) AND ($7 IS NULL OR created_at < $7)
               AND ($8 IS NULL OR completed_at > $8) AND ($9 IS NULL OR completed_at < $9)
               AND ($10 IS NULL OR created_at < $10 OR (created_at = $10 AND id < $11))
             ORDER BY created_at DESC, id DESC LIMIT $12",
        )
        .bind(&f.state)
        .bind(&f.account_id)
        .bind(&f.resource_arn)
        .bind(&f.resource_type)
        .bind(&f.destination_vault_arn)
        .bind(opt_db_time(f.created_after))
        .bind(opt_db_time(f.created_before))
        .bind(opt_db_time(f.completed_after))
        .bind(opt_db_time(f.completed_before))
        .bind(after_t)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(copy_from_row).collect()
    }
}
