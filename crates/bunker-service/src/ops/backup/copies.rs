//! `bunker backup start-copy-job | describe-copy-job | list-copy-jobs`: copies of recovery
//! points into other vaults, with the names, flags and JSON output of `aws backup …`.
//!
//! As `start-backup-job`, `start-copy-job` runs the copy at once in this process unless
//! `--no-wait` leaves it to `bunker run`.

use bunker_catalog::CopyJobFilter;
use bunker_core::BackupService;
use bunker_core::backup::{ListCopyJobs, StartCopyJob};
use clap::Subcommand;
use serde::Serialize;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::aws_json::shape;
use crate::failure::Failure;
use crate::scope::Place;

/// The copy operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum CopyCommand {
    /// Copy a recovery point into another vault (another account or Region).
    StartCopyJob {
        /// The recovery point.
        #[arg(long)]
        recovery_point_arn: String,
        /// The vault that holds it.
        #[arg(long)]
        source_backup_vault_name: String,
        /// The vault to copy into: `arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME`.
        #[arg(long)]
        destination_backup_vault_arn: String,
        /// The role the job runs as (recorded).
        #[arg(long)]
        iam_role_arn: Option<String>,
        /// An idempotency token (accepted; each call starts a job).
        #[arg(long)]
        idempotency_token: Option<String>,
        /// The copy's lifecycle: `DeleteAfterDays=365,…` or JSON (default: the source's).
        #[arg(long)]
        lifecycle: Option<String>,
        /// Bunker extension: only record the job; `bunker run` runs it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Describe a copy job.
    DescribeCopyJob {
        /// The job.
        #[arg(long)]
        copy_job_id: String,
    },
    /// List copy jobs, newest first (the account's, unless `--by-account-id`).
    ListCopyJobs {
        /// CREATED, RUNNING, COMPLETED, FAILED or PARTIAL.
        #[arg(long)]
        by_state: Option<String>,
        /// Another account's jobs, or ANY for every account's.
        #[arg(long)]
        by_account_id: Option<String>,
        /// One resource's jobs.
        #[arg(long)]
        by_resource_arn: Option<String>,
        /// Directory, SQLite, PostgreSQL, DiskImage or S3.
        #[arg(long)]
        by_resource_type: Option<String>,
        /// Jobs copying into this vault (its ARN).
        #[arg(long)]
        by_destination_vault_arn: Option<String>,
        /// Jobs created after this time (RFC 3339).
        #[arg(long)]
        by_created_after: Option<Timestamp>,
        /// Jobs created before this time (RFC 3339).
        #[arg(long)]
        by_created_before: Option<Timestamp>,
        /// Jobs completed after this time (RFC 3339).
        #[arg(long)]
        by_complete_after: Option<Timestamp>,
        /// Jobs completed before this time (RFC 3339).
        #[arg(long)]
        by_complete_before: Option<Timestamp>,
        /// Page size (1 to 1000).
        #[arg(long)]
        max_results: Option<i64>,
        /// Where the previous page ended.
        #[arg(long)]
        next_token: Option<String>,
    },
}

/// Runs one copy operation in `place`. `None` for operations that print nothing.
pub async fn run(svc: &BackupService, place: &Place, cmd: CopyCommand) -> Result<Option<Value>, Failure> {
    let output = match cmd {
        CopyCommand::StartCopyJob {
            recovery_point_arn,
            source_backup_vault_name,
            destination_backup_vault_arn,
            iam_role_arn,
            idempotency_token: _,
            lifecycle,
            no_wait,
        } => {
            let req = StartCopyJob {
                recovery_point_arn,
                source_backup_vault_name,
                destination_backup_vault_arn,
                iam_role_arn,
                lifecycle: super::lifecycle(lifecycle)?,
            };
            let mut job = svc.start_copy_job(req).await?;
            if !no_wait {
                job = svc.run_copy_job_now(&job.copy_job_id).await?;
            }
            // AWS's output, and the state the job reached (Bunker extension).
            let mut v = super::pick(shape(&job), &["CopyJobId", "CreationDate", "State", "StatusMessage", "DestinationRecoveryPointArn"]);
            v["IsParent"] = json!(false);
            v
        }
        CopyCommand::DescribeCopyJob { copy_job_id } => json!({ "CopyJob": shape(&svc.describe_copy_job(&copy_job_id).await?) }),
        CopyCommand::ListCopyJobs {
            by_state,
            by_account_id,
            by_resource_arn,
            by_resource_type,
            by_destination_vault_arn,
            by_created_after,
            by_created_before,
            by_complete_after,
            by_complete_before,
            max_results,
            next_token,
        } => {
            let filter = CopyJobFilter {
                state: by_state,
                account_id: super::account_filter(by_account_id, place),
                resource_arn: by_resource_arn,
                resource_type: by_resource_type,
                destination_vault_arn: by_destination_vault_arn
                    .map(|arn| bunker_core::backup::normalize_vault_arn(&arn).unwrap_or(arn)),
                created_after: by_created_after,
                created_before: by_created_before,
                completed_after: by_complete_after,
                completed_before: by_complete_before,
            };
            let list = svc.list_copy_jobs(&ListCopyJobs { filter, max_results, next_token }).await?;
            super::page("CopyJobs", &list.items, list.next_token)
        }
    };
    Ok(Some(output))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: CopyCommand,
    }

    #[test]
    fn aws_flag_names() {
        let cli = Cli::try_parse_from([
            "bunker",
            "start-copy-job",
            "--recovery-point-arn",
            "arn:aws:backup:eu-west-1:111111111111:recovery-point:x",
            "--source-backup-vault-name",
            "Default",
            "--destination-backup-vault-arn",
            "arn:aws:backup:eu-central-1:333333333333:backup-vault:central",
            "--iam-role-arn",
            "arn:aws:iam::111111111111:role/r",
            "--lifecycle",
            "DeleteAfterDays=365",
        ])
        .unwrap();
        assert!(matches!(cli.cmd, CopyCommand::StartCopyJob { no_wait: false, .. }));
        let cli = Cli::try_parse_from(["bunker", "list-copy-jobs", "--by-state", "FAILED", "--by-destination-vault-arn", "arn:x", "--max-results", "5"])
            .unwrap();
        assert!(matches!(cli.cmd, CopyCommand::ListCopyJobs { max_results: Some(5), .. }));
        assert!(Cli::try_parse_from(["bunker", "describe-copy-job", "--copy-job-id", "J"]).is_ok());
    }
}
