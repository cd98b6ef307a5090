//! Backup jobs, recovery points and restore jobs.
//!
//! Lists page by keyset (`after` = the last row of the previous page), newest first, so a
//! page costs the same at the millionth row as at the first.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::resources::{Tags, tags_from_db, tags_to_db};
use crate::{Result, Tx, from_db_time, to_db_time};

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_db_time).transpose()
}

/// A backup job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupJobRow {
    /// `BackupJobId`.
    pub id: String,
    /// The account it runs in.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Target vault.
    pub vault_arn: String,
    /// The resource.
    pub resource_arn: String,
    /// Its type.
    pub resource_type: String,
    /// The plan (scheduled jobs).
    pub plan_id: Option<String>,
    /// The plan version.
    pub plan_version: Option<String>,
    /// The rule.
    pub rule_id: Option<String>,
    /// The rule's name.
    pub rule_name: Option<String>,
    /// `resource|rule firing`: a second job for the same firing is refused.
    pub schedule_key: Option<String>,
    /// `CREATED`, `PENDING`, `RUNNING`, `ABORTING`, `ABORTED`, `COMPLETED`, `FAILED`, `EXPIRED`, `PARTIAL`.
    pub state: String,
    /// Why it failed / was aborted.
    pub status_message: Option<String>,
    /// `CreationDate`.
    pub created_at: Timestamp,
    /// `StartBy`: created + start window.
    pub start_by: Timestamp,
    /// The rule's completion window.
    pub completion_window_minutes: i64,
    /// `CompleteBy` (set when it starts).
    pub complete_by: Option<Timestamp>,
    /// When it started running.
    pub started_at: Option<Timestamp>,
    /// `CompletionDate`.
    pub completed_at: Option<Timestamp>,
    /// 1 for the first try.
    pub attempt: i64,
    /// The recovery point made.
    pub recovery_point_arn: Option<String>,
    /// Bytes written to the vault.
    pub bytes_transferred: i64,
    /// Logical size.
    pub backup_size: i64,
    /// The rule's lifecycle JSON.
    pub lifecycle: String,
    /// Tags to put on the recovery point.
    pub recovery_point_tags: Tags,
    /// The role the job runs as.
    pub iam_role_arn: String,
}

fn job_from_row(row: &AnyRow) -> Result<BackupJobRow> {
    Ok(BackupJobRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        vault_arn: row.try_get("vault_arn")?,
        resource_arn: row.try_get("resource_arn")?,
        resource_type: row.try_get("resource_type")?,
        plan_id: row.try_get("plan_id")?,
        plan_version: row.try_get("plan_version")?,
        rule_id: row.try_get("rule_id")?,
        rule_name: row.try_get("rule_name")?,
        schedule_key: row.try_get("schedule_key")?,
        state: row.try_get("state")?,
        status_message: row.try_get("status_message")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        start_by: from_db_time(row.try_get("start_by")?)?,
        completion_window_minutes: row.try_get("completion_window_minutes")?,
        complete_by: opt_time(row, "complete_by")?,
        started_at: opt_time(row, "started_at")?,
        completed_at: opt_time(row, "completed_at")?,
        attempt: row.try_get("attempt")?,
        recovery_point_arn: row.try_get("recovery_point_arn")?,
        bytes_transferred: row.try_get("bytes_transferred")?,
        backup_size: row.try_get("backup_size")?,
        lifecycle: row.try_get("lifecycle")?,
        recovery_point_tags: tags_from_db(row.try_get("recovery_point_tags")?)?,
        iam_role_arn: row.try_get("iam_role_arn")?,
    })
}

/// Filters of `list-backup-jobs` (all optional, AND-ed).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// `--by-state`.
    pub state: Option<String>,
    /// `--by-account-id`.
    pub account_id: Option<String>,
    /// `--by-resource-arn`.
    pub resource_arn: Option<String>,
    /// `--by-backup-vault-name` (as the vault's ARN).
    pub vault_arn: Option<String>,
    /// `--by-resource-type`.
    pub resource_type: Option<String>,
    /// `--by-created-after`.
    pub created_after: Option<Timestamp>,
    /// `--by-created-before`.
    pub created_before: Option<Timestamp>,
}

/// A recovery point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPointRow {
    /// `arn:aws:backup:REGION:ACCOUNT:recovery-point:ID`.
    pub arn: String,
    /// Where it is.
    pub vault_arn: String,
    /// Owner.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// What it protects.
    pub resource_arn: String,
    /// Its type.
    pub resource_type: String,
    /// Its name.
    pub resource_name: String,
    /// The job that made it.
    pub backup_job_id: Option<String>,
    /// The vault engine's snapshot id.
    pub snapshot_id: String,
    /// `COMPLETED`, `PARTIAL`, `DELETING`, `EXPIRED`.
    pub status: String,
    /// Why (for `PARTIAL`, `EXPIRED`).
    pub status_message: Option<String>,
    /// `WARM` or `COLD`.
    pub storage_class: String,
    /// `CreationDate`.
    pub created_at: Timestamp,
    /// `CompletionDate`.
    pub completed_at: Option<Timestamp>,
    /// `BackupSizeInBytes`.
    pub size_bytes: i64,
    /// Lifecycle JSON.
    pub lifecycle: String,
    /// When it moves to cold storage.
    pub move_to_cold_at: Option<Timestamp>,
    /// When lifecycle deletes it.
    pub delete_at: Option<Timestamp>,
    /// Its tags (the resource's tags plus `RecoveryPointTags`).
    pub tags: Tags,
    /// The plan that made it.
    pub plan_id: Option<String>,
    /// The plan version.
    pub plan_version: Option<String>,
    /// The rule.
    pub rule_id: Option<String>,
    /// The role.
    pub iam_role_arn: String,
    /// For copies: the recovery point copied.
    pub source_recovery_point_arn: Option<String>,
    /// For copies: the vault it was copied from.
    pub source_backup_vault_arn: Option<String>,
}

fn rp_from_row(row: &AnyRow) -> Result<RecoveryPointRow> {
    Ok(RecoveryPointRow {
        arn: row.try_get("arn")?,
        vault_arn: row.try_get("vault_arn")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        resource_arn: row.try_get("resource_arn")?,
        resource_type: row.try_get("resource_type")?,
        resource_name: row.try_get("resource_name")?,
        backup_job_id: row.try_get("backup_job_id")?,
        snapshot_id: row.try_get("snapshot_id")?,
        status: row.try_get("status")?,
        status_message: row.try_get("status_message")?,
        storage_class: row.try_get("storage_class")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        completed_at: opt_time(row, "completed_at")?,
        size_bytes: row.try_get("size_bytes")?,
        lifecycle: row.try_get("lifecycle")?,
        move_to_cold_at: opt_time(row, "move_to_cold_at")?,
        delete_at: opt_time(row, "delete_at")?,
        tags: tags_from_db(row.try_get("tags")?)?,
        plan_id: row.try_get("plan_id")?,
        plan_version: row.try_get("plan_version")?,
        rule_id: row.try_get("rule_id")?,
        iam_role_arn: row.try_get("iam_role_arn")?,
        source_recovery_point_arn: row.try_get("source_recovery_point_arn")?,
        source_backup_vault_arn: row.try_get("source_backup_vault_arn")?,
    })
}

/// A protected resource: one with at least one recovery point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResourceRow {
    /// Its ARN.
    pub resource_arn: String,
    /// Its type.
    pub resource_type: String,
    /// Its name.
    pub resource_name: String,
    /// Newest recovery point's creation time.
    pub last_backup_at: Timestamp,
    /// The newest recovery point.
    pub last_recovery_point_arn: String,
    /// Its vault.
    pub last_backup_vault_arn: String,
}

/// A restore job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreJobRow {
    /// `RestoreJobId`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// What is restored.
    pub recovery_point_arn: String,
    /// Its type.
    pub resource_type: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `ABORTED`, `FAILED`.
    pub state: String,
    /// Why it failed.
    pub status_message: Option<String>,
    /// `CreationDate`.
    pub created_at: Timestamp,
    /// `CompletionDate`.
    pub completed_at: Option<Timestamp>,
    /// The `Metadata` given (JSON map).
    pub metadata: String,
    /// Whether the restored resource gets the source resource's tags.
    pub copy_source_tags: bool,
    /// Bytes restored.
    pub backup_size: i64,
    /// The new resource.
    pub created_resource_arn: Option<String>,
    /// The role.
    pub iam_role_arn: String,
}

fn restore_from_row(row: &AnyRow) -> Result<RestoreJobRow> {
    Ok(RestoreJobRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        recovery_point_arn: row.try_get("recovery_point_arn")?,
        resource_type: row.try_get("resource_type")?,
        state: row.try_get("state")?,
        status_message: row.try_get("status_message")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        completed_at: opt_time(row, "completed_at")?,
        metadata: row.try_get("metadata")?,
        copy_source_tags: crate::get_bool(row, "copy_source_tags")?,
        backup_size: row.try_get("backup_size")?,
        created_resource_arn: row.try_get("created_resource_arn")?,
        iam_role_arn: row.try_get("iam_role_arn")?,
    })
}

impl Tx {
    /// Records a new backup job. Returns false (and records nothing) when a job with the
    /// same `schedule_key` exists: the scheduler's de-duplication, safe to repeat.
    pub async fn insert_backup_job(&mut self, j: &BackupJobRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO backup_jobs (id, account_id, region, vault_arn, resource_arn, resource_type, plan_id,
                 plan_version, rule_id, rule_name, schedule_key, state, status_message, created_at, start_by,
                 complete_by, started_at, completed_at, attempt, recovery_point_arn, bytes_transferred,
                 backup_size, lifecycle, recovery_point_tags, iam_role_arn, completion_window_minutes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23, $24, $25, $26)
             ON CONFLICT (schedule_key) DO NOTHING",
        )
        .bind(&j.id)
        .bind(&j.account_id)
        .bind(&j.region)
        .bind(&j.vault_arn)
        .bind(&j.resource_arn)
        .bind(&j.resource_type)
        .bind(&j.plan_id)
        .bind(&j.plan_version)
        .bind(&j.rule_id)
        .bind(&j.rule_name)
        .bind(&j.schedule_key)
        .bind(&j.state)
        .bind(&j.status_message)
        .bind(to_db_time(j.created_at))
        .bind(to_db_time(j.start_by))
        .bind(opt_db_time(j.complete_by))
        .bind(opt_db_time(j.started_at))
        .bind(opt_db_time(j.completed_at))
        .bind(j.attempt)
        .bind(&j.recovery_point_arn)
        .bind(j.bytes_transferred)
        .bind(j.backup_size)
        .bind(&j.lifecycle)
        .bind(tags_to_db(&j.recovery_point_tags))
        .bind(&j.iam_role_arn)
        .bind(j.completion_window_minutes)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes every mutable field of a job back (state, times, results).
    pub async fn update_backup_job(&mut self, j: &BackupJobRow) -> Result<()> {
        sqlx::query(
            "UPDATE backup_jobs SET state = $1, status_message = $2, complete_by = $3, started_at = $4,
                 completed_at = $5, attempt = $6, recovery_point_arn = $7, bytes_transferred = $8,
                 backup_size = $9, start_by = $10
             WHERE id = $11",
        )
        .bind(&j.state)
        .bind(&j.status_message)
        .bind(opt_db_time(j.complete_by))
        .bind(opt_db_time(j.started_at))
        .bind(opt_db_time(j.completed_at))
        .bind(j.attempt)
        .bind(&j.recovery_point_arn)
        .bind(j.bytes_transferred)
        .bind(j.backup_size)
        .bind(to_db_time(j.start_by))
        .bind(&j.id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// One backup job.
    pub async fn backup_job(&mut self, id: &str) -> Result<Option<BackupJobRow>> {
        let row = sqlx::query("SELECT * FROM backup_jobs WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs in any of `states`, oldest first (the worker queue).
    pub async fn backup_jobs_in_states(&mut self, states: &[&str]) -> Result<Vec<BackupJobRow>> {
        let mut out = Vec::new();
        for state in states {
            let rows = sqlx::query("SELECT * FROM backup_jobs WHERE state = $1 ORDER BY created_at, id")
                .bind(*state)
                .fetch_all(&mut *self.tx)
                .await?;
            for row in &rows {
                out.push(job_from_row(row)?);
            }
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// A page of backup jobs, newest first, after `after` = (creation time, id) of the
    /// previous page's last row.
    pub async fn backup_jobs(&mut self, f: &JobFilter, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<BackupJobRow>> {
        let (after_t, after_id) = after.map_or((None, None), |(t, id)| (Some(to_db_time(t)), Some(id)));
        let rows = sqlx::query(
            "SELECT * FROM backup_jobs
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR account_id = $2) AND ($3 IS NULL OR resource_arn = $3)
               AND ($4 IS NULL OR vault_arn = $4) AND ($5 IS NULL OR resource_type = $5)
               AND ($6 IS NULL OR created_at > $6) AND ($7 IS NULL OR created_at < $7)
               AND ($8 IS NULL OR created_at < $8 OR (created_at = $8 AND id < $9))
             ORDER BY created_at DESC, id DESC LIMIT $10",
        )
        .bind(&f.state)
        .bind(&f.account_id)
        .bind(&f.resource_arn)
        .bind(&f.vault_arn)
        .bind(&f.resource_type)
        .bind(opt_db_time(f.created_after))
        .bind(opt_db_time(f.created_before))
        .bind(after_t)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Records a recovery point.
    pub async fn insert_recovery_point(&mut self, r: &RecoveryPointRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO recovery_points (arn, vault_arn, account_id, region, resource_arn, resource_type,
                 resource_name, backup_job_id, snapshot_id, status, status_message, storage_class, created_at,
                 completed_at, size_bytes, lifecycle, move_to_cold_at, delete_at, tags, plan_id, plan_version,
                 rule_id, iam_role_arn, source_recovery_point_arn, source_backup_vault_arn)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23, $24, $25)",
        )
        .bind(&r.arn)
        .bind(&r.vault_arn)
        .bind(&r.account_id)
        .bind(&r.region)
        .bind(&r.resource_arn)
        .bind(&r.resource_type)
        .bind(&r.resource_name)
        .bind(&r.backup_job_id)
        .bind(&r.snapshot_id)
        .bind(&r.status)
        .bind(&r.status_message)
        .bind(&r.storage_class)
        .bind(to_db_time(r.created_at))
        .bind(opt_db_time(r.completed_at))
        .bind(r.size_bytes)
        .bind(&r.lifecycle)
        .bind(opt_db_time(r.move_to_cold_at))
        .bind(opt_db_time(r.delete_at))
        .bind(tags_to_db(&r.tags))
        .bind(&r.plan_id)
        .bind(&r.plan_version)
        .bind(&r.rule_id)
        .bind(&r.iam_role_arn)
        .bind(&r.source_recovery_point_arn)
        .bind(&r.source_backup_vault_arn)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// One recovery point.
    pub async fn recovery_point(&mut self, arn: &str) -> Result<Option<RecoveryPointRow>> {
        let row = sqlx::query("SELECT * FROM recovery_points WHERE arn = $1").bind(arn).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(rp_from_row).transpose()
    }

    /// A page of a vault's recovery points, newest first.
    pub async fn recovery_points_by_vault(&mut self, vault_arn: &str, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        self.rp_page("vault_arn", vault_arn, after, limit).await
    }

    /// A page of a resource's recovery points, newest first.
    pub async fn recovery_points_by_resource(&mut self, resource_arn: &str, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        self.rp_page("resource_arn", resource_arn, after, limit).await
    }

    async fn rp_page(&mut self, column: &'static str, value: &str, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        // Two statements rather than `$n IS NULL OR …`, so both databases use the index
        // for the keyset condition.
        let rows = match after {
            None => {
                let sql = format!("SELECT * FROM recovery_points WHERE {column} = $1 ORDER BY created_at DESC, arn DESC LIMIT $2");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).bind(limit).fetch_all(&mut *self.tx).await?
            }
            Some((t, arn)) => {
                let sql = format!(
                    "SELECT * FROM recovery_points WHERE {column} = $1 AND (created_at < $2 OR (created_at = $2 AND arn < $3))
                     ORDER BY created_at DESC, arn DESC LIMIT $4"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .bind(to_db_time(t))
                    .bind(arn)
                    .bind(limit)
                    .fetch_all(&mut *self.tx)
                    .await?
            }
        };
        rows.iter().map(rp_from_row).collect()
    }

    /// The earliest `DeleteAt` strictly after `after`, over every recovery point: when
    /// lifecycle next has something to delete (`None`: nothing ever, as things stand).
    pub async fn next_delete_at_after(&mut self, after: Timestamp) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(delete_at) FROM recovery_points WHERE delete_at > $1")
            .bind(to_db_time(after))
            .fetch_one(&mut *self.tx)
            .await?;
        next.map(from_db_time).transpose()
    }

    /// How many recovery points a vault holds (any status).
    pub async fn count_recovery_points_in_vault(&mut self, vault_arn: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_points WHERE vault_arn = $1")
            .bind(vault_arn)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    /// Updates a recovery point's status (and message).
    pub async fn set_recovery_point_status(&mut self, arn: &str, status: &str, message: Option<&str>) -> Result<bool> {
        let done = sqlx::query("UPDATE recovery_points SET status = $1, status_message = $2 WHERE arn = $3")
            .bind(status)
            .bind(message)
            .bind(arn)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a recovery point's row (after its data was deleted).
    pub async fn delete_recovery_point(&mut self, arn: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM recovery_points WHERE arn = $1").bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Resources with recovery points, optionally of one account: the newest point of each.
    pub async fn protected_resources(&mut self, account_id: Option<&str>) -> Result<Vec<ProtectedResourceRow>> {
        let rows = sqlx::query(
            "SELECT r.resource_arn, r.resource_type, r.resource_name, r.created_at, r.arn, r.vault_arn
             FROM recovery_points r
             WHERE ($1 IS NULL OR r.account_id = $1)
               AND NOT EXISTS (SELECT 1 FROM recovery_points n WHERE n.resource_arn = r.resource_arn
                   AND (n.created_at > r.created_at OR (n.created_at = r.created_at AND n.arn > r.arn)))
             ORDER BY r.resource_arn",
        )
        .bind(account_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ProtectedResourceRow {
                    resource_arn: row.try_get("resource_arn")?,
                    resource_type: row.try_get("resource_type")?,
                    resource_name: row.try_get("resource_name")?,
                    last_backup_at: from_db_time(row.try_get("created_at")?)?,
                    last_recovery_point_arn: row.try_get("arn")?,
                    last_backup_vault_arn: row.try_get("vault_arn")?,
                })
            })
            .collect()
    }

    /// Records a restore job.
    pub async fn insert_restore_job(&mut self, j: &RestoreJobRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO restore_jobs (id, account_id, region, recovery_point_arn, resource_type, state, status_message,
                 created_at, completed_at, metadata, copy_source_tags, backup_size, created_resource_arn, iam_role_arn)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&j.id)
        .bind(&j.account_id)
        .bind(&j.region)
        .bind(&j.recovery_point_arn)
        .bind(&j.resource_type)
        .bind(&j.state)
        .bind(&j.status_message)
        .bind(to_db_time(j.created_at))
        .bind(opt_db_time(j.completed_at))
        .bind(&j.metadata)
        .bind(i64::from(j.copy_source_tags))
        .bind(j.backup_size)
        .bind(&j.created_resource_arn)
        .bind(&j.iam_role_arn)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes a restore job's state and results back.
    pub async fn update_restore_job(&mut self, j: &RestoreJobRow) -> Result<()> {
        sqlx::query(
            "UPDATE restore_jobs SET state = $1, status_message = $2, completed_at = $3, backup_size = $4,
                 created_resource_arn = $5 WHERE id = $6",
        )
        .bind(&j.state)
        .bind(&j.status_message)
        .bind(opt_db_time(j.completed_at))
        .bind(j.backup_size)
        .bind(&j.created_resource_arn)
        .bind(&j.id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// `(id, metadata)` of the restore jobs whose metadata may hold a connection secret (a
    /// URI or an S3 secret key), for redacting rows written before secrets were kept out.
    pub async fn restore_job_metadata_with_secrets(&mut self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT id, metadata FROM restore_jobs WHERE metadata LIKE '%://%' OR metadata LIKE '%SecretAccessKey%'")
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("metadata")?))).collect()
    }

    /// Replaces a restore job's recorded metadata. Returns whether it exists.
    pub async fn set_restore_job_metadata(&mut self, id: &str, metadata: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE restore_jobs SET metadata = $1 WHERE id = $2").bind(metadata).bind(id).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// One restore job.
    pub async fn restore_job(&mut self, id: &str) -> Result<Option<RestoreJobRow>> {
        let row = sqlx::query("SELECT * FROM restore_jobs WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(restore_from_row).transpose()
    }

    /// A page of restore jobs, newest first, optionally of one account and state.
    pub async fn restore_jobs(&mut self, account_id: Option<&str>, state: Option<&str>, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<RestoreJobRow>> {
        let (after_t, after_id) = after.map_or((None, None), |(t, id)| (Some(to_db_time(t)), Some(id)));
        let rows = sqlx::query(
            "SELECT * FROM restore_jobs
             WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR state = $2)
               AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4))
             ORDER BY created_at DESC, id DESC LIMIT $5",
        )
        .bind(account_id)
        .bind(state)
        .bind(after_t)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(restore_from_row).collect()
    }
}
