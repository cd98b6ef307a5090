//! Restore jobs: a recovery point written back to a new location (or in place, for
//! directories), registered as a resource that gets the original's tags back unless told
//! otherwise (AWS needs a Lambda function for that; here it is `CopySourceTagsToRestoredResource`).

use std::collections::BTreeMap;

use bunker_catalog::{Resource, RestoreJobRow};
use bunker_connectors::Source;
use bunker_vault::{NoProgress, SnapshotId};
use serde::Serialize;

use super::connection_secrets::redacted_json;
use super::{BackupError, BackupService, Result, default_role_arn, job_id, resource_arn};

/// `StartRestoreJob` input.
#[derive(Debug, Clone, Default)]
pub struct StartRestoreJob {
    /// `RecoveryPointArn`.
    pub recovery_point_arn: String,
    /// `Metadata`: where to restore. `Location` (a whole resource location JSON) or the
    /// type's keys: `Path` (directory, SQLite, image), `Url` (PostgreSQL), `Bucket`,
    /// `Prefix`, `Endpoint` (S3); `NewResourceName` names the restored resource.
    pub metadata: BTreeMap<String, String>,
    /// `IamRoleArn`.
    pub iam_role_arn: Option<String>,
    /// `CopySourceTagsToRestoredResource` (default true).
    pub copy_source_tags: Option<bool>,
}

/// `DescribeRestoreJob` output / list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreJob {
    /// `AccountId`.
    pub account_id: String,
    /// `RestoreJobId`.
    pub restore_job_id: String,
    /// `RecoveryPointArn`.
    pub recovery_point_arn: String,
    /// `CreationDate`.
    pub creation_date: jiff::Timestamp,
    /// `CompletionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<jiff::Timestamp>,
    /// `Status`.
    pub status: String,
    /// `StatusMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// `PercentDone`.
    pub percent_done: String,
    /// `BackupSizeInBytes`.
    pub backup_size_in_bytes: i64,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `CreatedResourceArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_resource_arn: Option<String>,
    /// `ResourceType`.
    pub resource_type: String,
}

fn shape(j: &RestoreJobRow) -> RestoreJob {
    RestoreJob {
        account_id: j.account_id.clone(),
        restore_job_id: j.id.clone(),
        recovery_point_arn: j.recovery_point_arn.clone(),
        creation_date: j.created_at,
        completion_date: j.completed_at,
        status: j.state.clone(),
        status_message: j.status_message.clone(),
        percent_done: if j.state == "COMPLETED" { "100.0".into() } else { "0.0".into() },
        backup_size_in_bytes: j.backup_size,
        iam_role_arn: j.iam_role_arn.clone(),
        created_resource_arn: j.created_resource_arn.clone(),
        resource_type: j.resource_type.clone(),
    }
}

/// The restore target: the original location with the metadata's overrides.
fn target_source(original: &Source, metadata: &BTreeMap<String, String>) -> Result<Source> {
    let bad = |m: String| BackupError::InvalidParameterValue(m);
    if let Some(loc) = metadata.get("Location") {
        let s = Source::from_json(loc).map_err(|e| bad(format!("Metadata.Location: {e}")))?;
        if s.resource_type() != original.resource_type() {
            return Err(bad(format!("Metadata.Location is a {} location; the recovery point holds a {}", s.resource_type(), original.resource_type())));
        }
        return Ok(s);
    }
    let mut s = original.clone();
    match &mut s {
        Source::Directory { path } | Source::Sqlite { path } | Source::DiskImage { path } => {
            *path = metadata.get("Path").ok_or_else(|| bad("Metadata.Path is required: where to restore".into()))?.into();
        }
        Source::Postgresql { url } => {
            *url = metadata.get("Url").ok_or_else(|| bad("Metadata.Url is required: the new database's connection URI".into()))?.clone();
        }
        Source::Bucket { bucket, prefix, endpoint, .. } => {
            if let Some(b) = metadata.get("Bucket") {
                *bucket = b.clone();
            }
            if let Some(p) = metadata.get("Prefix") {
                *prefix = p.clone();
            }
            if let Some(e) = metadata.get("Endpoint") {
                *endpoint = Some(e.clone());
            }
        }
    }
    s.validate().map_err(|e| bad(e.to_string()))?;
    Ok(s)
}

impl BackupService {
    /// `StartRestoreJob`: runs the restore and returns when it has ended (`COMPLETED` or
    /// `FAILED` with the reason).
    pub async fn start_restore_job(&self, req: StartRestoreJob) -> Result<RestoreJob> {
        let mut tx = self.catalog.write().await?;
        let rp = tx
            .recovery_point(&req.recovery_point_arn)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Recovery point {} does not exist", req.recovery_point_arn)))?;
        if !matches!(rp.status.as_str(), "COMPLETED" | "PARTIAL") {
            return Err(BackupError::InvalidRequest(format!("Recovery point {} is {} and cannot be restored", rp.arn, rp.status)));
        }
        let original = tx.resource(&rp.resource_arn).await?;
        let vault = tx.vault(&rp.vault_arn).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Backup vault {} does not exist", rp.vault_arn)))?;
        let original_source = match &original {
            Some(r) => self.resource_source(r)?,
            None if req.metadata.contains_key("Location") => Source::from_json(&req.metadata["Location"])
                .map_err(|e| BackupError::InvalidParameterValue(format!("Metadata.Location: {e}")))?,
            None => {
                return Err(BackupError::InvalidParameterValue(format!(
                    "the resource {} is no longer registered: give the whole target as Metadata.Location",
                    rp.resource_arn
                )));
            }
        };
        let target = target_source(&original_source, &req.metadata)?;
        let in_place = target == original_source;
        if in_place && target.resource_type() != bunker_connectors::ResourceType::Directory {
            return Err(BackupError::InvalidParameterValue(format!(
                "{} resources are restored to a new location only: give a different target",
                target.resource_type()
            )));
        }
        self.check_location(&mut tx, &rp.account_id, &target, "The restore target").await?;
        let mut job = RestoreJobRow {
            id: job_id(),
            account_id: rp.account_id.clone(),
            region: rp.region.clone(),
            recovery_point_arn: rp.arn.clone(),
            resource_type: rp.resource_type.clone(),
            state: "RUNNING".into(),
            status_message: None,
            created_at: self.now(),
            completed_at: None,
            // The target's password is needed only now: the row keeps none.
            metadata: redacted_json(&serde_json::to_string(&req.metadata).unwrap_or_default()),
            copy_source_tags: req.copy_source_tags.unwrap_or(true),
            backup_size: 0,
            created_resource_arn: None,
            iam_role_arn: req.iam_role_arn.clone().unwrap_or_else(|| default_role_arn(&rp.account_id)),
        };
        tx.insert_restore_job(&job).await?;
        tx.commit().await?;

        let snapshot: std::result::Result<SnapshotId, _> = rp.snapshot_id.parse();
        let (svc, vault_row, t, rp_row) = (self.clone(), vault.clone(), target.clone(), rp.clone());
        let outcome = tokio::task::spawn_blocking(move || -> Result<bunker_connectors::RestoreOutcome> {
            let snapshot = snapshot.map_err(|e| BackupError::DependencyFailure(format!("recovery point snapshot id: {e:?}")))?;
            let v = svc.open_recovery_point_vault(&vault_row, &rp_row)?;
            svc.connectors.restore(&v, snapshot, &t, &NoProgress).map_err(|e| BackupError::DependencyFailure(e.to_string()))
        })
        .await
        .map_err(|e| BackupError::DependencyFailure(e.to_string()))
        .and_then(|r| r);
        let now = self.now();
        let mut tx = self.catalog.write().await?;
        match outcome {
            Ok(o) => {
                job.state = "COMPLETED".into();
                job.backup_size = i64::try_from(o.bytes).unwrap_or(i64::MAX);
                if in_place {
                    job.created_resource_arn = Some(rp.resource_arn.clone());
                } else {
                    let name = req.metadata.get("NewResourceName").cloned().unwrap_or_else(|| {
                        format!("{}-restore-{}", rp.resource_name, job.id[..8].to_lowercase())
                    });
                    let ty = target.resource_type();
                    let tags = match (&original, job.copy_source_tags) {
                        (Some(r), true) => r.tags.clone(),
                        _ => BTreeMap::new(),
                    };
                    let arn = resource_arn(&rp.region, &rp.account_id, ty.arn_word(), &name);
                    let restored = Resource {
                        location: self.sealed_location(&arn, &target)?,
                        arn,
                        account_id: rp.account_id.clone(),
                        region: rp.region.clone(),
                        resource_type: ty.as_str().to_owned(),
                        name,
                        tags,
                        created_at: now,
                    };
                    if tx.resource(&restored.arn).await?.is_none() {
                        tx.insert_resource(&restored).await?;
                    }
                    job.created_resource_arn = Some(restored.arn);
                }
            }
            Err(e) => {
                job.state = "FAILED".into();
                job.status_message = Some(e.to_string());
            }
        }
        job.completed_at = Some(now);
        tx.update_restore_job(&job).await?;
        tx.commit().await?;
        tracing::info!(job = %job.id, state = %job.state, "restore job ended");
        Ok(shape(&job))
    }

    /// `DescribeRestoreJob`.
    pub async fn describe_restore_job(&self, id: &str) -> Result<RestoreJob> {
        let j = self.catalog.read().await?.restore_job(id).await?;
        j.as_ref().map(shape).ok_or_else(|| BackupError::ResourceNotFound(format!("Restore job {id} does not exist")))
    }

    /// `ListRestoreJobs`, newest first (one page of up to `max_results`).
    pub async fn list_restore_jobs(&self, account: Option<&str>, state: Option<&str>, max_results: Option<i64>) -> Result<Vec<RestoreJob>> {
        let limit = max_results.unwrap_or(1000).clamp(1, 1000);
        Ok(self.catalog.read().await?.restore_jobs(account, state, None, limit).await?.iter().map(shape).collect())
    }
}
