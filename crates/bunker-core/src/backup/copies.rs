//! Copy jobs: after a backup completes, each copy action of its rule copies the recovery point
//! into another vault (another account, another Region); also on demand (`StartCopyJob`).
//!
//! A job is `CREATED` in the same catalog write that records the backup's recovery point, so
//! a crash cannot lose it. `run_copy_jobs` (every scheduler tick) claims each `CREATED` job
//! (`RUNNING`, one guarded write: two processes never run the same job), opens the source's
//! repository under the source account's key and the destination vault under its own
//! account's key, and runs the engine's dedup-aware copy (only chunks the destination lacks
//! are written, re-encrypted under the destination's key). The copy is then recorded in the
//! destination account, vault and Region, with its own lifecycle, the source's tags and
//! `source_recovery_point_arn`, in the same write that ends the job.
//!
//! **Crash safety.** The engine's copy leaves the destination consistent whenever it stops
//! (unreferenced packs at worst, which prune removes). While a copy runs, its process
//! refreshes the job's heartbeat every minute; a `RUNNING` job that is not running in this
//! process and has shown no sign of life for [`COPY_LEASE`] on the service's clock was left by
//! a process that stopped: the next pass retries it (up to [`MAX_COPY_ATTEMPTS`]) or marks
//! it `FAILED`. A retried copy finds what the stopped attempt wrote and writes only the rest.
//! Finishing a job is guarded by its attempt, so an attempt that was taken over cannot record
//! a second copy.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bunker_catalog::{BackupJobRow, BackupVault, CopyJobFilter, CopyJobRow, RecoveryPointRow, Tx};
use bunker_policy::plan::Lifecycle;
use bunker_vault::{CopySummary, SnapshotId};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::jobs::{CreatedBy, JobList, lifecycle_json};
use super::{BackupError, BackupService, Result, default_role_arn, job_id, plan_arn, recovery_point_arn, vault_arn};

/// How long a `RUNNING` copy job may show no sign of life (service clock) before a pass
/// takes it over. Ten heartbeats: a busy process or a slow catalog write does not lose its
/// job, and a stopped one costs at most ten minutes.
pub const COPY_LEASE: SignedDuration = SignedDuration::from_mins(10);

/// Tries of a copy job whose process stopped; after that it is `FAILED`.
pub const MAX_COPY_ATTEMPTS: i64 = 3;

/// How often (real time) a running copy says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(60);

/// Rows handled per catalog query in one pass.
const BATCH: i64 = 1000;

/// Copy jobs running in this process (whatever service instance runs them): a pass never
/// takes over one of these, however old its heartbeat.
fn running_here() -> &'static Mutex<HashSet<String>> {
    static RUNNING: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    RUNNING.get_or_init(Mutex::default)
}

/// A job's place in [`running_here`], released however the run ends.
struct Registered(String);

impl Registered {
    fn new(id: &str) -> Self {
        running_here().lock().expect("running copies lock").insert(id.to_owned());
        Self(id.to_owned())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut set) = running_here().lock() {
            set.remove(&self.0);
        }
    }
}

fn is_running_here(id: &str) -> bool {
    running_here().lock().map(|s| s.contains(id)).unwrap_or(false)
}

/// `StartCopyJob` input.
#[derive(Debug, Clone, Default)]
pub struct StartCopyJob {
    /// `RecoveryPointArn`.
    pub recovery_point_arn: String,
    /// `SourceBackupVaultName`: the vault holding the recovery point.
    pub source_backup_vault_name: String,
    /// `DestinationBackupVaultArn`.
    pub destination_backup_vault_arn: String,
    /// `IamRoleArn` (default: the source account's default backup role).
    pub iam_role_arn: Option<String>,
    /// `Lifecycle` of the copy (default: the source's).
    pub lifecycle: Option<Lifecycle>,
}

/// `DescribeCopyJob` output / `ListCopyJobs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CopyJob {
    /// `AccountId`.
    pub account_id: String,
    /// `CopyJobId`.
    pub copy_job_id: String,
    /// `SourceBackupVaultArn`.
    pub source_backup_vault_arn: String,
    /// `SourceRecoveryPointArn`.
    pub source_recovery_point_arn: String,
    /// `DestinationBackupVaultArn`.
    pub destination_backup_vault_arn: String,
    /// `DestinationRecoveryPointArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_recovery_point_arn: Option<String>,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `CompletionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<Timestamp>,
    /// `State`: `CREATED`, `RUNNING`, `COMPLETED`, `FAILED` or `PARTIAL`.
    pub state: String,
    /// `StatusMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// `BackupSizeInBytes`.
    pub backup_size_in_bytes: i64,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `CreatedBy` (copies made by a plan's copy action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<CreatedBy>,
    /// Bunker: bytes written to the destination vault (only what it lacked).
    pub bytes_transferred: i64,
    /// Bunker: which try this is.
    pub attempt: i64,
}

/// `ListCopyJobs` input.
#[derive(Debug, Clone, Default)]
pub struct ListCopyJobs {
    /// The filters.
    pub filter: CopyJobFilter,
    /// `MaxResults` (default 1,000).
    pub max_results: Option<i64>,
    /// `NextToken`.
    pub next_token: Option<String>,
}

pub(crate) fn copy_shape(j: &CopyJobRow) -> CopyJob {
    CopyJob {
        account_id: j.account_id.clone(),
        copy_job_id: j.id.clone(),
        source_backup_vault_arn: j.source_vault_arn.clone(),
        source_recovery_point_arn: j.source_recovery_point_arn.clone(),
        destination_backup_vault_arn: j.destination_vault_arn.clone(),
        destination_recovery_point_arn: j.destination_recovery_point_arn.clone(),
        resource_arn: j.resource_arn.clone(),
        resource_type: j.resource_type.clone(),
        creation_date: j.created_at,
        completion_date: j.completed_at,
        state: j.state.clone(),
        status_message: j.status_message.clone(),
        backup_size_in_bytes: j.backup_size,
        iam_role_arn: j.iam_role_arn.clone(),
        created_by: j.plan_id.as_ref().map(|plan| CreatedBy {
            backup_plan_id: plan.clone(),
            backup_plan_arn: plan_arn(&j.region, &j.account_id, plan),
            backup_plan_version: j.plan_version.clone().unwrap_or_default(),
            backup_rule_id: j.rule_id.clone().unwrap_or_default(),
        }),
        bytes_transferred: j.bytes_transferred,
        attempt: j.attempt,
    }
}

/// A vault ARN in the canonical form: `arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME`
/// (organization policies also write `…:vault:NAME`). `None` when it is not one.
pub fn normalize_vault_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "backup", region, account, "backup-vault" | "vault", name]
            if !region.is_empty() && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() =>
        {
            Some(vault_arn(region, account, name))
        }
        _ => None,
    }
}

fn days_after(t: Timestamp, days: Option<i64>) -> Option<Timestamp> {
    days.and_then(|d| t.checked_add(SignedDuration::from_hours(d.checked_mul(24)?)).ok())
}

fn encode_token(t: Timestamp, id: &str) -> String {
    format!("{}~{id}", t.as_microsecond())
}

fn decode_token(token: &str) -> Result<(Timestamp, String)> {
    let bad = || BackupError::InvalidParameterValue(format!("invalid NextToken `{token}`"));
    let (t, id) = token.split_once('~').ok_or_else(bad)?;
    let t = Timestamp::from_microsecond(t.parse().map_err(|_| bad())?).map_err(|_| bad())?;
    Ok((t, id.to_owned()))
}

/// What one copy did, before it is written down.
struct Copied {
    summary: CopySummary,
    source: RecoveryPointRow,
    destination: BackupVault,
}

impl BackupService {
    /// Queues one copy job per copy action of the rule that made `job`, once it ended
    /// `COMPLETED` or `PARTIAL` with recovery point `rp`. Runs inside the write that records
    /// the recovery point, so the copies are queued if and only if the point exists.
    pub(crate) async fn queue_copy_jobs(&self, tx: &mut Tx, job: &BackupJobRow, rp: Option<&RecoveryPointRow>) -> Result<usize> {
        let Some(rp) = rp.filter(|_| matches!(job.state.as_str(), "COMPLETED" | "PARTIAL")) else { return Ok(0) };
        let (Some(plan_id), Some(version), Some(rule_id)) = (&job.plan_id, &job.plan_version, &job.rule_id) else { return Ok(0) };
        let Some(stored) = tx.plan_version(plan_id, version).await? else { return Ok(0) };
        let plan = match super::plans::parse_stored_plan(&stored.document) {
            Ok(p) => p,
            Err(e) => {
                // The backup itself is fine: it must not fail because its plan is unreadable.
                tracing::error!(plan = %plan_id, version = %version, error = %e, "copy actions not read");
                return Ok(0);
            }
        };
        let Some(rule) = plan.rules.iter().find(|r| r.rule_id.as_deref() == Some(rule_id.as_str())) else { return Ok(0) };
        let now = self.now();
        for action in &rule.copy_actions {
            let lifecycle = action.lifecycle.as_ref().map_or_else(|| rp.lifecycle.clone(), |l| lifecycle_json(Some(l)));
            let copy = CopyJobRow {
                id: job_id(),
                account_id: job.account_id.clone(),
                region: job.region.clone(),
                source_vault_arn: rp.vault_arn.clone(),
                source_recovery_point_arn: rp.arn.clone(),
                // An ARN that is no vault's is kept as given: the job fails saying so.
                destination_vault_arn: normalize_vault_arn(&action.destination_backup_vault_arn)
                    .unwrap_or_else(|| action.destination_backup_vault_arn.clone()),
                destination_recovery_point_arn: None,
                resource_arn: rp.resource_arn.clone(),
                resource_type: rp.resource_type.clone(),
                state: "CREATED".into(),
                status_message: None,
                created_at: now,
                started_at: None,
                heartbeat_at: None,
                completed_at: None,
                attempt: 1,
                backup_size: rp.size_bytes,
                bytes_transferred: 0,
                iam_role_arn: job.iam_role_arn.clone(),
                plan_id: job.plan_id.clone(),
                plan_version: job.plan_version.clone(),
                rule_id: job.rule_id.clone(),
                lifecycle,
            };
            tx.insert_copy_job(&copy).await?;
            tracing::info!(job = %copy.id, source = %rp.arn, destination = %copy.destination_vault_arn, "copy job created");
        }
        Ok(rule.copy_actions.len())
    }

    /// `StartCopyJob`: records the job (`CREATED`); `run_copy_jobs` or
    /// [`BackupService::run_copy_job_now`] runs it. A destination vault that does not exist
    /// fails the job when it runs, as AWS does.
    pub async fn start_copy_job(&self, req: StartCopyJob) -> Result<CopyJob> {
        let destination = normalize_vault_arn(&req.destination_backup_vault_arn).ok_or_else(|| {
            BackupError::InvalidParameterValue(format!(
                "DestinationBackupVaultArn `{}` is not a backup vault ARN (arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME)",
                req.destination_backup_vault_arn
            ))
        })?;
        let mut tx = self.catalog.write().await?;
        let rp = tx
            .recovery_point(&req.recovery_point_arn)
            .await?
            .filter(|rp| rp.vault_arn.rsplit(':').next() == Some(req.source_backup_vault_name.as_str()))
            .ok_or_else(|| {
                BackupError::ResourceNotFound(format!(
                    "Recovery point {} does not exist in backup vault {}",
                    req.recovery_point_arn, req.source_backup_vault_name
                ))
            })?;
        if !matches!(rp.status.as_str(), "COMPLETED" | "PARTIAL") {
            return Err(BackupError::InvalidRequest(format!("Recovery point {} is {} and cannot be copied", rp.arn, rp.status)));
        }
        if destination == rp.vault_arn {
            return Err(BackupError::InvalidParameterValue("the destination vault is the recovery point's own vault".into()));
        }
        let job = CopyJobRow {
            id: job_id(),
            account_id: rp.account_id.clone(),
            region: rp.region.clone(),
            source_vault_arn: rp.vault_arn.clone(),
            source_recovery_point_arn: rp.arn.clone(),
            destination_vault_arn: destination,
            destination_recovery_point_arn: None,
            resource_arn: rp.resource_arn.clone(),
            resource_type: rp.resource_type.clone(),
            state: "CREATED".into(),
            status_message: None,
            created_at: self.now(),
            started_at: None,
            heartbeat_at: None,
            completed_at: None,
            attempt: 1,
            backup_size: rp.size_bytes,
            bytes_transferred: 0,
            iam_role_arn: req.iam_role_arn.unwrap_or_else(|| default_role_arn(&rp.account_id)),
            plan_id: None,
            plan_version: None,
            rule_id: None,
            lifecycle: req.lifecycle.as_ref().map_or_else(|| rp.lifecycle.clone(), |l| lifecycle_json(Some(l))),
        };
        tx.insert_copy_job(&job).await?;
        tx.commit().await?;
        Ok(copy_shape(&job))
    }

    /// Runs one `CREATED` copy job now, in this process, and returns it as it ended (as it
    /// is, when another process took it first).
    pub async fn run_copy_job_now(&self, id: &str) -> Result<CopyJob> {
        if let Some(j) = self.run_copy_job(id).await? {
            return Ok(copy_shape(&j));
        }
        self.describe_copy_job(id).await
    }

    /// `DescribeCopyJob`.
    pub async fn describe_copy_job(&self, id: &str) -> Result<CopyJob> {
        let j = self.catalog.read().await?.copy_job(id).await?;
        j.as_ref().map(copy_shape).ok_or_else(|| BackupError::ResourceNotFound(format!("Copy job {id} does not exist")))
    }

    /// `ListCopyJobs`, newest first, a page at a time.
    pub async fn list_copy_jobs(&self, req: &ListCopyJobs) -> Result<JobList<CopyJob>> {
        let limit = req.max_results.unwrap_or(1000).clamp(1, 1000);
        let after = req.next_token.as_deref().map(decode_token).transpose()?;
        let rows = self.catalog.read().await?.copy_jobs(&req.filter, after.as_ref().map(|(t, id)| (*t, id.as_str())), limit).await?;
        let full = usize::try_from(limit).is_ok_and(|l| rows.len() == l);
        let next_token = if full { rows.last().map(|j| encode_token(j.created_at, &j.id)) } else { None };
        Ok(JobList { items: rows.iter().map(copy_shape).collect(), next_token })
    }

    /// Runs the copy jobs that are ready, oldest first, after taking over those a stopped
    /// process left `RUNNING`; returns how many ran to an end.
    pub async fn run_copy_jobs(&self) -> Result<usize> {
        self.take_over_stale_copy_jobs().await?;
        let mut ran = 0;
        loop {
            let queued = self.catalog.read().await?.copy_jobs_in_state("CREATED", self.now(), BATCH).await?;
            if queued.is_empty() {
                return Ok(ran);
            }
            for job in queued {
                if self.run_copy_job(&job.id).await?.is_some() {
                    ran += 1;
                }
            }
        }
    }

    /// `RUNNING` jobs of stopped processes: retried (back to `CREATED`, next attempt) or,
    /// after [`MAX_COPY_ATTEMPTS`], `FAILED`.
    async fn take_over_stale_copy_jobs(&self) -> Result<usize> {
        let now = self.now();
        let stale = self.catalog.read().await?.stale_copy_jobs(now - COPY_LEASE, BATCH).await?;
        let mut n = 0;
        for old in stale.into_iter().filter(|j| !is_running_here(&j.id)) {
            let since = old.heartbeat_at.or(old.started_at).map_or_else(|| "its start".to_owned(), |t| t.to_string());
            let why = format!("attempt {} was interrupted: the process running it stopped (no sign of life since {since})", old.attempt);
            let mut job = old.clone();
            if old.attempt < MAX_COPY_ATTEMPTS {
                job.state = "CREATED".into();
                job.attempt += 1;
                job.started_at = None;
                job.heartbeat_at = None;
            } else {
                job.state = "FAILED".into();
                job.completed_at = Some(now);
            }
            job.status_message = Some(why);
            let mut tx = self.catalog.write().await?;
            if tx.update_copy_job(&job, "RUNNING", old.attempt).await? {
                tx.commit().await?;
                tracing::warn!(job = %job.id, state = %job.state, attempt = job.attempt, "copy job taken over");
                n += 1;
            }
        }
        Ok(n)
    }

    /// Claims and runs one `CREATED` job; `None` when it was not `CREATED` (another
    /// process has it, or it ended).
    async fn run_copy_job(&self, id: &str) -> Result<Option<CopyJobRow>> {
        let now = self.now();
        let mut tx = self.catalog.write().await?;
        if !tx.claim_copy_job(id, now).await? {
            return Ok(None);
        }
        let job = tx.copy_job(id).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Copy job {id} does not exist")))?;
        // Registered before the claim commits: a pass in this process never takes it over.
        let registered = Registered::new(id);
        tx.commit().await?;
        tracing::info!(job = %job.id, source = %job.source_recovery_point_arn, destination = %job.destination_vault_arn, "copy job started");

        let heartbeat = {
            let (svc, id, attempt) = (self.clone(), job.id.clone(), job.attempt);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    let beat = async {
                        let mut tx = svc.catalog.write().await?;
                        tx.copy_job_heartbeat(&id, attempt, svc.now()).await?;
                        tx.commit().await
                    };
                    if let Err(e) = beat.await {
                        tracing::warn!(job = %id, error = %e, "copy job heartbeat not recorded");
                    }
                }
            })
        };
        let outcome = self.copy_recovery_point(&job).await;
        heartbeat.abort();
        let ended = self.finish_copy_job(job, outcome).await;
        drop(registered);
        ended.map(Some)
    }

    /// The copy itself: checks, then the engine's copy on a blocking thread.
    async fn copy_recovery_point(&self, job: &CopyJobRow) -> std::result::Result<Copied, String> {
        let mut tx = self.catalog.read().await.map_err(|e| e.to_string())?;
        let source = tx
            .recovery_point(&job.source_recovery_point_arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("Source recovery point {} no longer exists", job.source_recovery_point_arn))?;
        if !matches!(source.status.as_str(), "COMPLETED" | "PARTIAL") {
            return Err(format!("Source recovery point {} is {} and cannot be copied", source.arn, source.status));
        }
        let source_vault = tx
            .vault(&source.vault_arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("Source backup vault {} does not exist", source.vault_arn))?;
        let destination = tx
            .vault(&job.destination_vault_arn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("Destination backup vault {} does not exist", job.destination_vault_arn))?;
        // A locked destination takes only copies whose retention its lock allows.
        let lock = tx.vault_lock(&destination.arn).await.map_err(|e| e.to_string())?;
        let lc: Option<Lifecycle> = serde_json::from_str(&job.lifecycle).ok();
        if let Some(why) = super::vault_lock::retention_refusal(lock.as_ref(), lc.as_ref(), self.now()) {
            return Err(why);
        }
        drop(tx);
        // The service copies for the source account: the destination's access policy (and
        // that account's SCPs) must let it in, as in AWS.
        self.authorize_copy_into(&source_vault.account_id, &source_vault.region, &destination.arn).await?;
        if destination.arn == source_vault.arn {
            // The engine would find the snapshot there and two rows would share it.
            return Err(format!("The destination backup vault {} is the recovery point's own vault", destination.arn));
        }
        let snapshot: SnapshotId =
            source.snapshot_id.parse().map_err(|e| format!("recovery point {}: snapshot id: {e:?}", source.arn))?;
        let (svc, src_vault, dst_vault, src_rp) = (self.clone(), source_vault, destination.clone(), source.clone());
        let summary = tokio::task::spawn_blocking(move || -> Result<CopySummary> {
            let from = svc.open_recovery_point_vault(&src_vault, &src_rp)?;
            let to = svc.open_vault(&dst_vault)?;
            Ok(bunker_vault::copy(&from, snapshot, &to)?)
        })
        .await
        .map_err(|e| format!("copy worker failed: {e}"))?
        .map_err(|e| e.to_string())?;
        Ok(Copied { summary, source, destination })
    }

    /// Records how a copy ended: the destination recovery point and the job's end, in one
    /// write guarded by the job's attempt.
    async fn finish_copy_job(&self, mut job: CopyJobRow, outcome: std::result::Result<Copied, String>) -> Result<CopyJobRow> {
        let now = self.now();
        let attempt = job.attempt;
        job.completed_at = Some(now);
        let mut tx = self.catalog.write().await?;
        let mut rp = None;
        match outcome {
            Ok(Copied { summary, source, destination }) => {
                job.bytes_transferred = i64::try_from(summary.bytes_written).unwrap_or(i64::MAX);
                job.backup_size = source.size_bytes;
                // Another copy of the same point already recorded this snapshot (an earlier
                // job, or one in another process that finished first; writers are
                // serialised, so this check holds until commit): reuse its row, so one
                // snapshot never backs two recovery points that could delete it under each
                // other.
                let earlier = self.recorded_copy(&mut tx, &source.arn, &destination, summary.snapshot_id).await?;
                let arn = match earlier {
                    Some(arn) => arn,
                    None => {
                        let row = self.copy_row(&job, &source, &destination, summary.snapshot_id, now);
                        let arn = row.arn.clone();
                        rp = Some(row);
                        arn
                    }
                };
                job.destination_recovery_point_arn = Some(arn);
                if source.status == "PARTIAL" {
                    job.state = "PARTIAL".into();
                    job.status_message = Some("The source recovery point is PARTIAL; what it holds was copied".into());
                } else {
                    job.state = "COMPLETED".into();
                }
            }
            Err(message) => {
                job.state = "FAILED".into();
                job.status_message = Some(message);
            }
        }
        if tx.update_copy_job(&job, "RUNNING", attempt).await? {
            if let Some(rp) = &rp {
                tx.insert_recovery_point(rp).await?;
            }
            tx.commit().await?;
            tracing::info!(job = %job.id, state = %job.state, bytes = job.bytes_transferred,
                message = job.status_message.as_deref().unwrap_or(""), "copy job ended");
            Ok(job)
        } else {
            drop(tx);
            tracing::warn!(job = %job.id, attempt, "copy job was taken over meanwhile; this attempt's result is dropped");
            Ok(self.catalog.read().await?.copy_job(&job.id).await?.unwrap_or(job))
        }
    }

    /// The destination recovery point an earlier copy of `source` into `destination`
    /// recorded for `snapshot`, if it still exists.
    async fn recorded_copy(&self, tx: &mut Tx, source: &str, destination: &BackupVault, snapshot: SnapshotId) -> Result<Option<String>> {
        for j in tx.copy_jobs_of_source(source).await? {
            let Some(arn) = j.destination_recovery_point_arn.filter(|_| j.destination_vault_arn == destination.arn) else { continue };
            if let Some(rp) = tx.recovery_point(&arn).await?
                && rp.snapshot_id == snapshot.to_string()
                && rp.status != "DELETING"
            {
                return Ok(Some(arn));
            }
        }
        Ok(None)
    }

    /// The copy's recovery point: in the destination's account, vault and Region, with the
    /// job's lifecycle counted from the copy, the source's tags and a link to the source.
    fn copy_row(&self, job: &CopyJobRow, source: &RecoveryPointRow, destination: &BackupVault, snapshot: SnapshotId, now: Timestamp) -> RecoveryPointRow {
        let created = job.started_at.unwrap_or(now);
        let lc: Option<Lifecycle> = serde_json::from_str(&job.lifecycle).ok();
        RecoveryPointRow {
            arn: recovery_point_arn(&destination.region, &destination.account_id, &crate::ids::uuid()),
            vault_arn: destination.arn.clone(),
            account_id: destination.account_id.clone(),
            region: destination.region.clone(),
            resource_arn: source.resource_arn.clone(),
            resource_type: source.resource_type.clone(),
            resource_name: source.resource_name.clone(),
            backup_job_id: None,
            snapshot_id: snapshot.to_string(),
            status: source.status.clone(),
            status_message: source.status_message.clone(),
            storage_class: "WARM".into(),
            created_at: created,
            completed_at: Some(now),
            size_bytes: source.size_bytes,
            lifecycle: job.lifecycle.clone(),
            move_to_cold_at: days_after(created, lc.as_ref().and_then(|l| l.move_to_cold_storage_after_days)),
            delete_at: days_after(created, lc.as_ref().and_then(|l| l.delete_after_days)),
            tags: source.tags.clone(),
            plan_id: job.plan_id.clone(),
            plan_version: job.plan_version.clone(),
            rule_id: job.rule_id.clone(),
            iam_role_arn: job.iam_role_arn.clone(),
            source_recovery_point_arn: Some(source.arn.clone()),
            source_backup_vault_arn: Some(source.vault_arn.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_arns_are_normalized() {
        let want = "arn:aws:backup:eu-central-1:333333333333:backup-vault:central";
        assert_eq!(normalize_vault_arn(want).as_deref(), Some(want));
        assert_eq!(normalize_vault_arn("arn:aws:backup:eu-central-1:333333333333:vault:central").as_deref(), Some(want));
        for bad in ["", "central", "arn:aws:backup:eu-central-1:$account:vault:central", "arn:aws:s3:::bucket", "arn:aws:backup::333333333333:backup-vault:x"] {
            assert_eq!(normalize_vault_arn(bad), None, "{bad}");
        }
    }
}
