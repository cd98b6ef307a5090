//! `bunker backup …`: the AWS Backup operations, with the names, flags and JSON output of
//! `aws backup …`. Flags marked "Bunker extension" have no AWS counterpart.
//!
//! Embedded mode has no always-running service unless `bunker run` is started, so
//! `start-backup-job` runs the job at once in this process (with a progress bar) unless
//! `--no-wait` leaves it to `bunker run`; `start-restore-job` always runs to its end.

mod access_policies;
mod copies;
mod guardrails;
mod lifecycle;
mod restore_testing;

use std::collections::BTreeMap;

use bunker_catalog::JobFilter;
use bunker_core::BackupService;
use bunker_core::backup::{ListBackupJobs, StartBackupJob, StartRestoreJob, vault_arn};
use bunker_policy::plan::Lifecycle;
use clap::Subcommand;
use serde::Serialize;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::aws_json::{self as aws, shape};
use crate::failure::{Failure, string_map};
use crate::scope::{Place, Scope};

/// `bunker backup [--account-id] [--region] <operation>`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct BackupArgs {
    /// The account and Region.
    #[serde(flatten)]
    #[command(flatten)]
    pub scope: Scope,
    /// The operation.
    #[command(subcommand)]
    pub command: BackupCommand,
}

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum BackupCommand {
    /// Create a backup vault (its data lives in the Region's storage, encrypted under the
    /// account's key).
    CreateBackupVault {
        /// Its name (2 to 50 letters, digits, `-`, `_`), unique in the account and Region.
        #[arg(long)]
        backup_vault_name: String,
        /// Tags: `Key=Value,…` or JSON.
        #[arg(long)]
        backup_vault_tags: Option<String>,
        /// An idempotency token.
        #[arg(long)]
        creator_request_id: Option<String>,
        /// The key-service key that protects it (id, ARN or `alias/…`, in the vault's
        /// account and Region) [default: the account's `alias/aws/backup`].
        #[arg(long)]
        encryption_key_arn: Option<String>,
    },
    /// Describe a backup vault.
    DescribeBackupVault {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
    },
    /// List the account's backup vaults in the Region.
    ListBackupVaults,
    /// Delete an empty backup vault (refused while it holds recovery points).
    DeleteBackupVault {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
    },
    /// Create a backup plan from an AWS Backup `BackupPlan` document.
    CreateBackupPlan {
        /// The document: JSON text or file://PATH.
        #[arg(long)]
        backup_plan: String,
        /// An idempotency token.
        #[arg(long)]
        creator_request_id: Option<String>,
    },
    /// Get a backup plan's document (the current version, or `--version-id`).
    GetBackupPlan {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
        /// A version (default: the current one).
        #[arg(long)]
        version_id: Option<String>,
    },
    /// Replace a plan's document: a new version; rules keep their ids by name.
    UpdateBackupPlan {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
        /// The document: JSON text or file://PATH.
        #[arg(long)]
        backup_plan: String,
    },
    /// Delete a plan (its selections must be deleted first).
    DeleteBackupPlan {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
    },
    /// List the account's plans in the Region, local and policy-managed.
    ListBackupPlans {
        /// Include deleted plans.
        #[arg(long)]
        include_deleted: bool,
    },
    /// List every version of a plan.
    ListBackupPlanVersions {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
    },
    /// Assign resources to a plan with an AWS Backup `BackupSelection` document.
    CreateBackupSelection {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
        /// The document: JSON text or file://PATH.
        #[arg(long)]
        backup_selection: String,
        /// An idempotency token.
        #[arg(long)]
        creator_request_id: Option<String>,
    },
    /// Get a selection's document.
    GetBackupSelection {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
        /// The selection.
        #[arg(long)]
        selection_id: String,
    },
    /// List a plan's selections.
    ListBackupSelections {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
    },
    /// Delete a selection.
    DeleteBackupSelection {
        /// The plan.
        #[arg(long)]
        backup_plan_id: String,
        /// The selection.
        #[arg(long)]
        selection_id: String,
    },
    /// Back up a resource now.
    StartBackupJob {
        /// The vault to write into.
        #[arg(long)]
        backup_vault_name: String,
        /// The resource (see `bunker resource list`).
        #[arg(long)]
        resource_arn: String,
        /// The role the job runs as (recorded).
        #[arg(long)]
        iam_role_arn: Option<String>,
        /// Minutes the job may wait to start (at least 60).
        #[arg(long)]
        start_window_minutes: Option<i64>,
        /// Minutes the job may run.
        #[arg(long)]
        complete_window_minutes: Option<i64>,
        /// The recovery point's lifecycle: `DeleteAfterDays=35,…` or JSON.
        #[arg(long)]
        lifecycle: Option<String>,
        /// Tags for the recovery point: `Key=Value,…` or JSON.
        #[arg(long)]
        recovery_point_tags: Option<String>,
        /// Bunker extension: only record the job; `bunker run` starts it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Describe a backup job.
    DescribeBackupJob {
        /// The job.
        #[arg(long)]
        backup_job_id: String,
    },
    /// List backup jobs, newest first (the account's, unless `--by-account-id`).
    ListBackupJobs {
        /// CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED or PARTIAL.
        #[arg(long)]
        by_state: Option<String>,
        /// Another account's jobs, or ANY for every account's.
        #[arg(long)]
        by_account_id: Option<String>,
        /// One resource's jobs.
        #[arg(long)]
        by_resource_arn: Option<String>,
        /// One vault's jobs.
        #[arg(long)]
        by_backup_vault_name: Option<String>,
        /// Directory, SQLite, PostgreSQL, DiskImage or S3.
        #[arg(long)]
        by_resource_type: Option<String>,
        /// Jobs created after this time (RFC 3339).
        #[arg(long)]
        by_created_after: Option<Timestamp>,
        /// Jobs created before this time (RFC 3339).
        #[arg(long)]
        by_created_before: Option<Timestamp>,
        /// Page size (1 to 1000).
        #[arg(long)]
        max_results: Option<i64>,
        /// Where the previous page ended.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Stop a backup job: one not yet started ends at once, a running one ends `ABORTED`.
    StopBackupJob {
        /// The job.
        #[arg(long)]
        backup_job_id: String,
    },
    /// Describe a recovery point.
    DescribeRecoveryPoint {
        /// Its vault.
        #[arg(long)]
        backup_vault_name: String,
        /// The recovery point.
        #[arg(long)]
        recovery_point_arn: String,
    },
    /// List a vault's recovery points, newest first.
    ListRecoveryPointsByBackupVault {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
        /// Page size (1 to 1000).
        #[arg(long)]
        max_results: Option<i64>,
        /// Where the previous page ended.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// List a resource's recovery points, newest first.
    ListRecoveryPointsByResource {
        /// The resource.
        #[arg(long)]
        resource_arn: String,
        /// Page size (1 to 1000).
        #[arg(long)]
        max_results: Option<i64>,
        /// Where the previous page ended.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// List the tags of a recovery point.
    ListTags {
        /// The recovery point.
        #[arg(long)]
        resource_arn: String,
    },
    /// List the account's resources that have recovery points.
    ListProtectedResources,
    /// Restore a recovery point to a new location (or in place, for directories).
    StartRestoreJob {
        /// The recovery point.
        #[arg(long)]
        recovery_point_arn: String,
        /// Where: `Path=…` (directory, SQLite, image), `Url=…` (PostgreSQL), `Bucket=…,Prefix=…`
        /// (S3), `Location=<JSON>`; `NewResourceName=…` names the restored resource.
        #[arg(long)]
        metadata: String,
        /// The role the job runs as (recorded).
        #[arg(long)]
        iam_role_arn: Option<String>,
        /// Give the restored resource the original's tags (the default).
        #[arg(long, overrides_with = "no_copy_source_tags_to_restored_resource")]
        copy_source_tags_to_restored_resource: bool,
        /// Do not copy the original's tags.
        #[arg(long)]
        no_copy_source_tags_to_restored_resource: bool,
    },
    /// Describe a restore job.
    DescribeRestoreJob {
        /// The job.
        #[arg(long)]
        restore_job_id: String,
    },
    /// List restore jobs, newest first (the account's, unless `--by-account-id`).
    ListRestoreJobs {
        /// Another account's jobs, or ANY.
        #[arg(long)]
        by_account_id: Option<String>,
        /// RUNNING, COMPLETED or FAILED.
        #[arg(long)]
        by_status: Option<String>,
        /// At most this many.
        #[arg(long)]
        max_results: Option<i64>,
    },
    #[serde(untagged)]
    #[command(flatten)]
    Lifecycle(lifecycle::LifecycleCommand),
    #[serde(untagged)]
    #[command(flatten)]
    Copies(copies::CopyCommand),
    #[serde(untagged)]
    #[command(flatten)]
    RestoreTesting(restore_testing::RestoreTestingCommand),
    #[serde(untagged)]
    #[command(flatten)]
    AccessPolicies(access_policies::AccessPolicyCommand),
    #[serde(untagged)]
    #[command(flatten)]
    Guardrails(guardrails::GuardrailCommand),
}

/// `{"Key": [shape(item)…]}` plus `NextToken` when there is more.
fn page<T: serde::Serialize>(key: &str, items: &[T], next_token: Option<String>) -> Value {
    let mut v = json!({ key: items.iter().map(shape).collect::<Vec<_>>() });
    if let Some(token) = next_token {
        v["NextToken"] = json!(token);
    }
    v
}

/// Keeps only `keys` of an object (operations whose AWS output is a subset of a shape).
fn pick(v: Value, keys: &[&str]) -> Value {
    let Value::Object(map) = v else { return v };
    Value::Object(map.into_iter().filter(|(k, _)| keys.contains(&k.as_str())).collect())
}

fn tags(name: &'static str, value: Option<String>) -> Result<BTreeMap<String, String>, Failure> {
    value.map_or_else(|| Ok(BTreeMap::new()), |v| string_map(name, v))
}

fn lifecycle(value: Option<String>) -> Result<Option<Lifecycle>, Failure> {
    let Some(value) = value else { return Ok(None) };
    let bad = |message: String| Failure::Parameter { name: "--lifecycle", message };
    let text = value;
    let json: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?
    } else {
        let map = string_map("--lifecycle", text)?;
        let mut obj = serde_json::Map::new();
        for (k, v) in map {
            let n: Value = serde_json::from_str(&v).map_err(|_| bad(format!("`{k}` must be a number or boolean, not `{v}`")))?;
            obj.insert(k, n);
        }
        Value::Object(obj)
    };
    serde_json::from_value(json).map(Some).map_err(|e| bad(e.to_string()))
}

/// `--by-account-id`: the scope's account by default, `ANY` for all.
fn account_filter(by: Option<String>, place: &Place) -> Option<String> {
    match by.as_deref() {
        Some("ANY" | "*") => None,
        Some(id) => Some(id.to_owned()),
        None => Some(place.account.clone()),
    }
}

/// Runs one operation in `place`. `None` for operations that print nothing.
pub async fn run(svc: &BackupService, place: &Place, command: BackupCommand) -> Result<Option<Value>, Failure> {
    use BackupCommand as C;
    let (account, region) = (place.account.as_str(), place.region.as_str());
    let output = match command {
        C::Lifecycle(cmd) => return lifecycle::run(svc, place, cmd).await,
        C::Copies(cmd) => return copies::run(svc, place, cmd).await,
        C::RestoreTesting(cmd) => return restore_testing::run(svc, place, cmd).await,
        C::AccessPolicies(cmd) => return access_policies::run(svc, place, cmd).await,
        C::Guardrails(cmd) => return guardrails::run(svc, place, cmd).await,
        C::CreateBackupVault { backup_vault_name, backup_vault_tags, creator_request_id, encryption_key_arn } => {
            let tags = tags("--backup-vault-tags", backup_vault_tags)?;
            let v = svc
                .create_backup_vault_with_key(account, region, &backup_vault_name, tags, creator_request_id, encryption_key_arn)
                .await?;
            pick(shape(&v), &["BackupVaultName", "BackupVaultArn", "CreationDate"])
        }
        C::DescribeBackupVault { backup_vault_name } => shape(&svc.describe_backup_vault(account, region, &backup_vault_name).await?),
        C::ListBackupVaults => page("BackupVaultList", &svc.list_backup_vaults(account, region).await?, None),
        C::DeleteBackupVault { backup_vault_name } => {
            svc.delete_backup_vault(account, region, &backup_vault_name).await?;
            return Ok(None);
        }
        C::CreateBackupPlan { backup_plan, creator_request_id } => {
            let doc = backup_plan;
            let p = svc.create_backup_plan(account, region, &doc, creator_request_id).await?;
            pick(shape(&p), &["BackupPlanId", "BackupPlanArn", "CreationDate", "VersionId"])
        }
        C::GetBackupPlan { backup_plan_id, version_id } => shape(&svc.get_backup_plan(&backup_plan_id, version_id.as_deref()).await?),
        C::UpdateBackupPlan { backup_plan_id, backup_plan } => {
            let doc = backup_plan;
            let p = svc.update_backup_plan(&backup_plan_id, &doc).await?;
            pick(shape(&p), &["BackupPlanId", "BackupPlanArn", "CreationDate", "VersionId"])
        }
        C::DeleteBackupPlan { backup_plan_id } => {
            let p = svc.delete_backup_plan(&backup_plan_id).await?;
            pick(shape(&p), &["BackupPlanId", "BackupPlanArn", "DeletionDate", "VersionId"])
        }
        C::ListBackupPlans { include_deleted } => page("BackupPlansList", &svc.list_backup_plans(account, region, include_deleted).await?, None),
        C::ListBackupPlanVersions { backup_plan_id } => {
            page("BackupPlanVersionsList", &svc.list_backup_plan_versions(&backup_plan_id).await?, None)
        }
        command => return run_selections_and_jobs(svc, place, command).await,
    };
    Ok(Some(output))
}

async fn run_selections_and_jobs(svc: &BackupService, place: &Place, command: BackupCommand) -> Result<Option<Value>, Failure> {
    use BackupCommand as C;
    let (account, region) = (place.account.as_str(), place.region.as_str());
    let output = match command {
        C::CreateBackupSelection { backup_plan_id, backup_selection, creator_request_id } => {
            let doc = backup_selection;
            let s = svc.create_backup_selection(&backup_plan_id, &doc, creator_request_id).await?;
            pick(shape(&s), &["SelectionId", "BackupPlanId", "CreationDate"])
        }
        C::GetBackupSelection { backup_plan_id, selection_id } => {
            let (selection, summary) = svc.get_backup_selection(&backup_plan_id, &selection_id).await?;
            let mut v = shape(&summary);
            v["BackupSelection"] = shape(&selection);
            v
        }
        C::ListBackupSelections { backup_plan_id } => page("BackupSelectionsList", &svc.list_backup_selections(&backup_plan_id).await?, None),
        C::DeleteBackupSelection { backup_plan_id, selection_id } => {
            svc.delete_backup_selection(&backup_plan_id, &selection_id).await?;
            return Ok(None);
        }
        C::StartBackupJob {
            backup_vault_name,
            resource_arn,
            iam_role_arn,
            start_window_minutes,
            complete_window_minutes,
            lifecycle: lc,
            recovery_point_tags,
            no_wait,
        } => {
            let req = StartBackupJob {
                account_id: account.to_owned(),
                region: region.to_owned(),
                backup_vault_name,
                resource_arn,
                iam_role_arn,
                start_window_minutes,
                complete_window_minutes,
                lifecycle: lifecycle(lc)?,
                recovery_point_tags: tags("--recovery-point-tags", recovery_point_tags)?,
            };
            let mut job = svc.start_backup_job(req).await?;
            if !no_wait {
                job = svc.run_backup_job_now(&job.backup_job_id).await?;
            }
            // AWS's output, and the state the job reached (Bunker extension).
            pick(shape(&job), &["BackupJobId", "RecoveryPointArn", "CreationDate", "State", "StatusMessage"])
        }
        C::DescribeBackupJob { backup_job_id } => shape(&svc.describe_backup_job(&backup_job_id).await?),
        C::ListBackupJobs {
            by_state,
            by_account_id,
            by_resource_arn,
            by_backup_vault_name,
            by_resource_type,
            by_created_after,
            by_created_before,
            max_results,
            next_token,
        } => {
            let filter = JobFilter {
                state: by_state,
                account_id: account_filter(by_account_id, place),
                resource_arn: by_resource_arn,
                vault_arn: by_backup_vault_name.map(|n| vault_arn(region, account, &n)),
                resource_type: by_resource_type,
                created_after: by_created_after,
                created_before: by_created_before,
            };
            let list = svc.list_backup_jobs(&ListBackupJobs { filter, max_results, next_token }).await?;
            page("BackupJobs", &list.items, list.next_token)
        }
        C::StopBackupJob { backup_job_id } => {
            svc.stop_backup_job(&backup_job_id).await?;
            return Ok(None);
        }
        command => return run_recovery_points(svc, place, command).await,
    };
    Ok(Some(output))
}

async fn run_recovery_points(svc: &BackupService, place: &Place, command: BackupCommand) -> Result<Option<Value>, Failure> {
    use BackupCommand as C;
    let (account, region) = (place.account.as_str(), place.region.as_str());
    let output = match command {
        C::DescribeRecoveryPoint { backup_vault_name, recovery_point_arn } => {
            let rp = svc.describe_recovery_point(&recovery_point_arn).await?;
            if rp.backup_vault_name != backup_vault_name {
                return Err(bunker_core::BackupError::ResourceNotFound(format!(
                    "Recovery point {recovery_point_arn} is not in backup vault {backup_vault_name}"
                ))
                .into());
            }
            shape(&rp)
        }
        C::ListRecoveryPointsByBackupVault { backup_vault_name, max_results, next_token } => {
            let list = svc
                .list_recovery_points_by_backup_vault(account, region, &backup_vault_name, max_results, next_token.as_deref())
                .await?;
            page("RecoveryPoints", &list.items, list.next_token)
        }
        C::ListRecoveryPointsByResource { resource_arn, max_results, next_token } => {
            let list = svc.list_recovery_points_by_resource(&resource_arn, max_results, next_token.as_deref()).await?;
            page("RecoveryPoints", &list.items, list.next_token)
        }
        C::ListTags { resource_arn } => json!({"Tags": svc.recovery_point_tags(&resource_arn).await?}),
        C::ListProtectedResources => {
            let list = svc.list_protected_resources(Some(account)).await?;
            json!({"Results": list.iter().map(aws::protected_resource).collect::<Vec<_>>()})
        }
        C::StartRestoreJob {
            recovery_point_arn,
            metadata,
            iam_role_arn,
            copy_source_tags_to_restored_resource: _,
            no_copy_source_tags_to_restored_resource: no_copy,
        } => {
            let req = StartRestoreJob {
                recovery_point_arn,
                metadata: string_map("--metadata", metadata)?,
                iam_role_arn,
                copy_source_tags: Some(!no_copy),
            };
            let job = svc.start_restore_job(req).await?;
            // AWS's output, and how the job ended (Bunker extension: it ran to its end).
            pick(shape(&job), &["RestoreJobId", "Status", "StatusMessage", "CreatedResourceArn"])
        }
        C::DescribeRestoreJob { restore_job_id } => shape(&svc.describe_restore_job(&restore_job_id).await?),
        C::ListRestoreJobs { by_account_id, by_status, max_results } => {
            let jobs = svc.list_restore_jobs(account_filter(by_account_id, place).as_deref(), by_status.as_deref(), max_results).await?;
            page("RestoreJobs", &jobs, None)
        }
        _ => unreachable!("every operation is matched by one of the run functions"),
    };
    Ok(Some(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_in_shorthand_and_json() {
        let l = lifecycle(Some("DeleteAfterDays=35".into())).unwrap().unwrap();
        assert_eq!(l.delete_after_days, Some(35));
        let j = lifecycle(Some(r#"{"MoveToColdStorageAfterDays":30,"DeleteAfterDays":366}"#.into())).unwrap().unwrap();
        assert_eq!(j.move_to_cold_storage_after_days, Some(30));
        assert!(lifecycle(Some("DeleteAfterDays=soon".into())).unwrap_err().to_string().contains("must be a number"));
        assert!(lifecycle(Some("Forever=1".into())).unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn account_filters() {
        let place = Place { account: "111111111111".into(), region: "us-east-1".into() };
        assert_eq!(account_filter(None, &place).as_deref(), Some("111111111111"));
        assert_eq!(account_filter(Some("ANY".into()), &place), None);
        assert_eq!(account_filter(Some("222222222222".into()), &place).as_deref(), Some("222222222222"));
    }
}
