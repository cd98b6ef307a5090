//! Backup jobs and the recovery points they make.
//!
//! States follow AWS Backup: a job is `CREATED` (scheduled or on demand), `RUNNING` once a
//! worker takes it, then `COMPLETED`, `PARTIAL` (the completion window passed and what was
//! read so far was kept: directory trees and buckets), `ABORTED` (stopped, nothing kept),
//! `FAILED` (with the reason), or `EXPIRED` (it could not start before `StartBy`).
//! `ABORTING` is shown while a stop request reaches the running connector.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bunker_catalog::{BackupJobRow, JobFilter, RecoveryPointRow, Tags};
use bunker_connectors::{BackupRequest, ConnectorError};
use bunker_policy::plan::Lifecycle;
use bunker_vault::{NoProgress, SnapshotId};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::{BackupError, BackupService, Result, default_role_arn, job_id, recovery_point_arn, vault_arn};

/// Jobs running in this process: their stop flags.
#[derive(Default)]
pub(crate) struct Running {
    jobs: Mutex<HashMap<String, RunningJob>>,
}

struct RunningJob {
    account: String,
    stop: Arc<AtomicBool>,
    by_user: Arc<AtomicBool>,
}

impl Running {
    pub(crate) fn count_for(&self, account: &str) -> usize {
        self.jobs.lock().map(|j| j.values().filter(|r| r.account == account).count()).unwrap_or(0)
    }

    /// Counts `id` as running until the returned guard drops.
    fn register(&self, id: &str, account: &str, stop: Arc<AtomicBool>, by_user: Arc<AtomicBool>) -> Registered<'_> {
        self.jobs.lock().expect("running jobs lock").insert(id.to_owned(), RunningJob { account: account.to_owned(), stop, by_user });
        Registered { running: self, id: id.to_owned() }
    }

    fn stop_by_user(&self, id: &str) -> bool {
        let jobs = self.jobs.lock().expect("running jobs lock");
        jobs.get(id).is_some_and(|r| {
            r.by_user.store(true, Ordering::SeqCst);
            r.stop.store(true, Ordering::SeqCst);
            true
        })
    }
}

/// A job's place in [`Running`], released however the run ends (errors included).
struct Registered<'a> {
    running: &'a Running,
    id: String,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.running.jobs.lock() {
            jobs.remove(&self.id);
        }
    }
}

/// A job id whose first 48 bits count up in this process (the rest stays random).
/// Dispatch (oldest first) and `ListBackupJobs` (newest first) order by (creation time, id),
/// and jobs created in the same microsecond (one scheduler firing, a fake clock) must keep
/// their creation order there, not a random one.
fn sequential_job_id() -> String {
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let random = job_id(); // XXXXXXXX-XXXX-4XXX-YXXX-XXXXXXXXXXXX
    let next = NEXT.get_or_init(|| {
        // A random start below 2^47: ids of separate processes do not all begin alike, and
        // the 48-bit counter cannot wrap.
        let seed = u64::from_str_radix(&format!("{}{}", &random[..8], &random[9..13]), 16).unwrap_or(0);
        AtomicU64::new(seed & ((1 << 47) - 1))
    });
    let n = next.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF_FFFF;
    format!("{:08X}-{:04X}{}", n >> 16, n & 0xFFFF, &random[13..])
}

/// `StartBackupJob` input.
#[derive(Debug, Clone)]
pub struct StartBackupJob {
    /// The account the job runs in (the resource's).
    pub account_id: String,
    /// Region.
    pub region: String,
    /// `BackupVaultName`.
    pub backup_vault_name: String,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `IamRoleArn` (default: the account's default backup role).
    pub iam_role_arn: Option<String>,
    /// `StartWindowMinutes` (default 480).
    pub start_window_minutes: Option<i64>,
    /// `CompleteWindowMinutes` (default 10,080).
    pub complete_window_minutes: Option<i64>,
    /// `Lifecycle`.
    pub lifecycle: Option<Lifecycle>,
    /// `RecoveryPointTags`.
    pub recovery_point_tags: Tags,
}

/// `DescribeBackupJob` output / `ListBackupJobs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupJob {
    /// `AccountId`.
    pub account_id: String,
    /// `BackupJobId`.
    pub backup_job_id: String,
    /// `BackupVaultName`.
    pub backup_vault_name: String,
    /// `BackupVaultArn`.
    pub backup_vault_arn: String,
    /// `RecoveryPointArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_point_arn: Option<String>,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `CompletionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<Timestamp>,
    /// `State`.
    pub state: String,
    /// `StatusMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// `PercentDone`.
    pub percent_done: String,
    /// `BackupSizeInBytes`.
    pub backup_size_in_bytes: i64,
    /// `BytesTransferred`.
    pub bytes_transferred: i64,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `CreatedBy` (scheduled jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<CreatedBy>,
    /// `StartBy`.
    pub start_by: Timestamp,
    /// `CompleteBy` (once started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_by: Option<Timestamp>,
    /// Bunker: which try this is.
    pub attempt: i64,
}

/// `CreatedBy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedBy {
    /// `BackupPlanId`.
    pub backup_plan_id: String,
    /// `BackupPlanArn`.
    pub backup_plan_arn: String,
    /// `BackupPlanVersion`.
    pub backup_plan_version: String,
    /// `BackupRuleId`.
    pub backup_rule_id: String,
}

/// A page of a list and the token for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobList<T> {
    /// The entries.
    pub items: Vec<T>,
    /// `NextToken`.
    pub next_token: Option<String>,
}

/// `ListBackupJobs` input.
#[derive(Debug, Clone, Default)]
pub struct ListBackupJobs {
    /// The filters.
    pub filter: JobFilter,
    /// `MaxResults` (default 1,000).
    pub max_results: Option<i64>,
    /// `NextToken`.
    pub next_token: Option<String>,
}

/// `DescribeRecoveryPoint` output / list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecoveryPoint {
    /// `RecoveryPointArn`.
    pub recovery_point_arn: String,
    /// `BackupVaultName`.
    pub backup_vault_name: String,
    /// `BackupVaultArn`.
    pub backup_vault_arn: String,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `ResourceName`.
    pub resource_name: String,
    /// `CreatedBy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<CreatedBy>,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `Status`.
    pub status: String,
    /// `StatusMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `CompletionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<Timestamp>,
    /// `BackupSizeInBytes`.
    pub backup_size_in_bytes: i64,
    /// `CalculatedLifecycle`.
    pub calculated_lifecycle: CalculatedLifecycle,
    /// `Lifecycle`.
    pub lifecycle: serde_json::Value,
    /// `StorageClass`.
    pub storage_class: String,
    /// `IsEncrypted`.
    pub is_encrypted: bool,
    /// `SourceBackupVaultArn` (copies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_backup_vault_arn: Option<String>,
}

/// `CalculatedLifecycle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CalculatedLifecycle {
    /// `MoveToColdStorageAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_to_cold_storage_at: Option<Timestamp>,
    /// `DeleteAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_at: Option<Timestamp>,
}

pub(crate) fn lifecycle_json(l: Option<&Lifecycle>) -> String {
    l.map_or_else(|| "{}".to_owned(), |l| serde_json::to_string(l).unwrap_or_else(|_| "{}".into()))
}

fn vault_name_of(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or(arn).to_owned()
}

fn created_by(plan_id: Option<&String>, region: &str, account: &str, version: Option<&String>, rule: Option<&String>) -> Option<CreatedBy> {
    let plan_id = plan_id?;
    Some(CreatedBy {
        backup_plan_id: plan_id.clone(),
        backup_plan_arn: super::plan_arn(region, account, plan_id),
        backup_plan_version: version.cloned().unwrap_or_default(),
        backup_rule_id: rule.cloned().unwrap_or_default(),
    })
}

pub(crate) fn job_shape(j: &BackupJobRow) -> BackupJob {
    let done = matches!(j.state.as_str(), "COMPLETED" | "PARTIAL");
    BackupJob {
        account_id: j.account_id.clone(),
        backup_job_id: j.id.clone(),
        backup_vault_name: vault_name_of(&j.vault_arn),
        backup_vault_arn: j.vault_arn.clone(),
        recovery_point_arn: j.recovery_point_arn.clone(),
        resource_arn: j.resource_arn.clone(),
        resource_type: j.resource_type.clone(),
        creation_date: j.created_at,
        completion_date: j.completed_at,
        state: j.state.clone(),
        status_message: j.status_message.clone(),
        percent_done: if done { "100.0".into() } else { "0.0".into() },
        backup_size_in_bytes: j.backup_size,
        bytes_transferred: j.bytes_transferred,
        iam_role_arn: j.iam_role_arn.clone(),
        created_by: created_by(j.plan_id.as_ref(), &j.region, &j.account_id, j.plan_version.as_ref(), j.rule_id.as_ref()),
        start_by: j.start_by,
        complete_by: j.complete_by,
        attempt: j.attempt,
    }
}

pub(crate) fn rp_shape(r: &RecoveryPointRow) -> RecoveryPoint {
    RecoveryPoint {
        recovery_point_arn: r.arn.clone(),
        backup_vault_name: vault_name_of(&r.vault_arn),
        backup_vault_arn: r.vault_arn.clone(),
        resource_arn: r.resource_arn.clone(),
        resource_type: r.resource_type.clone(),
        resource_name: r.resource_name.clone(),
        created_by: created_by(r.plan_id.as_ref(), &r.region, &r.account_id, r.plan_version.as_ref(), r.rule_id.as_ref()),
        iam_role_arn: r.iam_role_arn.clone(),
        status: r.status.clone(),
        status_message: r.status_message.clone(),
        creation_date: r.created_at,
        completion_date: r.completed_at,
        backup_size_in_bytes: r.size_bytes,
        calculated_lifecycle: CalculatedLifecycle { move_to_cold_storage_at: r.move_to_cold_at, delete_at: r.delete_at },
        lifecycle: serde_json::from_str(&r.lifecycle).unwrap_or(serde_json::Value::Null),
        storage_class: r.storage_class.clone(),
        is_encrypted: true,
        source_backup_vault_arn: r.source_backup_vault_arn.clone(),
    }
}

/// `NextToken`s are the last row's (creation time, id), opaque to callers.
fn encode_token(t: Timestamp, id: &str) -> String {
    format!("{}~{id}", t.as_microsecond())
}

fn decode_token(token: &str) -> Result<(Timestamp, String)> {
    let bad = || BackupError::InvalidParameterValue(format!("invalid NextToken `{token}`"));
    let (t, id) = token.split_once('~').ok_or_else(bad)?;
    let t = Timestamp::from_microsecond(t.parse().map_err(|_| bad())?).map_err(|_| bad())?;
    Ok((t, id.to_owned()))
}

fn page<T, R>(rows: Vec<R>, limit: i64, key: impl Fn(&R) -> (Timestamp, String), shape: impl Fn(&R) -> T) -> JobList<T> {
    let full = usize::try_from(limit).is_ok_and(|l| rows.len() == l);
    let next_token = if full { rows.last().map(|r| { let (t, id) = key(r); encode_token(t, &id) }) } else { None };
    JobList { items: rows.iter().map(shape).collect(), next_token }
}

fn days_after(t: Timestamp, days: Option<i64>) -> Option<Timestamp> {
    days.and_then(|d| t.checked_add(SignedDuration::from_hours(d.checked_mul(24)?)).ok())
}

/// Whether the catalog says a stop was requested for job `id`.
async fn stop_requested(catalog: &bunker_catalog::Catalog, id: &str) -> bool {
    let Ok(mut tx) = catalog.read().await else { return false };
    matches!(tx.backup_job(id).await, Ok(Some(j)) if j.state == "ABORTING")
}

/// How a run ended, before it is written down.
enum Ending {
    Done { snapshot: SnapshotId, size: u64, added: u64, partial: bool },
    Aborted,
    Failed { message: String, retry: bool },
}

impl BackupService {
    /// Creates a backup job in `CREATED`. Scheduled jobs pass their plan, rule and
    /// schedule key; on-demand jobs come through [`BackupService::start_backup_job`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_job(&self, req: &StartBackupJob, resource_type: &str, created_at: Timestamp) -> BackupJobRow {
        let start_window = req.start_window_minutes.unwrap_or(bunker_policy::plan::DEFAULT_START_WINDOW_MINUTES);
        BackupJobRow {
            id: sequential_job_id(),
            account_id: req.account_id.clone(),
            region: req.region.clone(),
            vault_arn: vault_arn(&req.region, &req.account_id, &req.backup_vault_name),
            resource_arn: req.resource_arn.clone(),
            resource_type: resource_type.to_owned(),
            plan_id: None,
            plan_version: None,
            rule_id: None,
            rule_name: None,
            schedule_key: None,
            state: "CREATED".into(),
            status_message: None,
            created_at,
            start_by: created_at + SignedDuration::from_mins(start_window),
            completion_window_minutes: req.complete_window_minutes.unwrap_or(bunker_policy::plan::DEFAULT_COMPLETION_WINDOW_MINUTES),
            complete_by: None,
            started_at: None,
            completed_at: None,
            attempt: 1,
            recovery_point_arn: None,
            bytes_transferred: 0,
            backup_size: 0,
            lifecycle: lifecycle_json(req.lifecycle.as_ref()),
            recovery_point_tags: req.recovery_point_tags.clone(),
            iam_role_arn: req.iam_role_arn.clone().unwrap_or_else(|| default_role_arn(&req.account_id)),
        }
    }

    /// `StartBackupJob`: records the job; a running scheduler (or
    /// [`BackupService::run_ready_jobs`]) starts it.
    pub async fn start_backup_job(&self, req: StartBackupJob) -> Result<BackupJob> {
        if let Some(w) = req.start_window_minutes
            && w < 60
        {
            return Err(BackupError::InvalidParameterValue(format!("StartWindowMinutes {w}: at least 60")));
        }
        if let Some(lc) = &req.lifecycle {
            let mut errors = Vec::new();
            bunker_policy::plan_input::check_lifecycle(&bunker_policy::JsonPath::root().key("Lifecycle"), lc, &mut errors);
            if let Some(e) = errors.first() {
                return Err(BackupError::InvalidParameterValue(e.to_string()));
            }
        }
        let mut tx = self.catalog.write().await?;
        let resource = tx
            .resource(&req.resource_arn)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Resource {} is not registered", req.resource_arn)))?;
        if resource.account_id != req.account_id || resource.region != req.region {
            return Err(BackupError::InvalidParameterValue(format!(
                "Resource {} belongs to account {} in {}, not to account {} in {}",
                resource.arn, resource.account_id, resource.region, req.account_id, req.region
            )));
        }
        let varn = vault_arn(&req.region, &req.account_id, &req.backup_vault_name);
        if tx.vault(&varn).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("Backup vault {} does not exist", req.backup_vault_name)));
        }
        let job = self.new_job(&req, &resource.resource_type, self.now());
        tx.insert_backup_job(&job).await?;
        tx.commit().await?;
        Ok(job_shape(&job))
    }

    /// `DescribeBackupJob`.
    pub async fn describe_backup_job(&self, id: &str) -> Result<BackupJob> {
        let job = self.catalog.read().await?.backup_job(id).await?;
        job.as_ref().map(job_shape).ok_or_else(|| BackupError::ResourceNotFound(format!("Backup job {id} does not exist")))
    }

    /// `ListBackupJobs`, newest first, a page at a time.
    pub async fn list_backup_jobs(&self, req: &ListBackupJobs) -> Result<JobList<BackupJob>> {
        let limit = req.max_results.unwrap_or(1000).clamp(1, 1000);
        let after = req.next_token.as_deref().map(decode_token).transpose()?;
        let rows = self.catalog.read().await?.backup_jobs(&req.filter, after.as_ref().map(|(t, id)| (*t, id.as_str())), limit).await?;
        Ok(page(rows, limit, |j| (j.created_at, j.id.clone()), job_shape))
    }

    /// `StopBackupJob`: a job not yet started is aborted at once; a running one is asked to
    /// stop (`ABORTING`) and ends `ABORTED`.
    pub async fn stop_backup_job(&self, id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        let mut job = tx.backup_job(id).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Backup job {id} does not exist")))?;
        match job.state.as_str() {
            "CREATED" | "PENDING" => {
                job.state = "ABORTED".into();
                job.status_message = Some("Stopped by StopBackupJob before it started".into());
                job.completed_at = Some(self.now());
            }
            "RUNNING" => {
                // Running here: stopped at once. Running in another process (`bunker run`):
                // its watchdog sees ABORTING in the catalog.
                self.running.stop_by_user(id);
                job.state = "ABORTING".into();
            }
            s => return Err(BackupError::InvalidRequest(format!("Backup job {id} is {s} and cannot be stopped"))),
        }
        tx.update_backup_job(&job).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts every `CREATED` job that may start now (expiring those whose start window
    /// passed), within the per-account limit, and waits for them all to end.
    pub async fn run_ready_jobs(&self) -> Result<usize> {
        let mut ran = 0;
        loop {
            let now = self.now();
            let queued = self.catalog.read().await?.backup_jobs_in_states(&["CREATED", "PENDING"]).await?;
            let mut handles = Vec::new();
            let mut per_account: HashMap<String, usize> = HashMap::new();
            for job in queued.into_iter().filter(|j| j.created_at <= now) {
                let busy = per_account.entry(job.account_id.clone()).or_insert_with(|| self.running.count_for(&job.account_id));
                if now > job.start_by || *busy < self.settings.max_concurrent_jobs_per_account {
                    if now <= job.start_by {
                        *busy += 1;
                    }
                    let svc = self.clone();
                    handles.push(tokio::spawn(async move { svc.run_backup_job(&job.id).await }));
                }
            }
            if handles.is_empty() {
                return Ok(ran);
            }
            for h in handles {
                h.await.map_err(|e| BackupError::DependencyFailure(format!("job task: {e}")))??;
                ran += 1;
            }
        }
    }

    /// Runs one job to its end (or expires it). Returns its final row.
    pub(crate) async fn run_backup_job(&self, id: &str) -> Result<BackupJobRow> {
        let now = self.now();
        let mut tx = self.catalog.write().await?;
        let mut job = tx.backup_job(id).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Backup job {id} does not exist")))?;
        if !matches!(job.state.as_str(), "CREATED" | "PENDING") {
            return Ok(job);
        }
        if now > job.start_by {
            job.state = "EXPIRED".into();
            job.status_message = Some(format!(
                "The backup job could not start before the end of its start window ({}).",
                job.start_by
            ));
            job.completed_at = Some(now);
            tx.update_backup_job(&job).await?;
            tx.commit().await?;
            return Ok(job);
        }
        let resource = tx.resource(&job.resource_arn).await?;
        let vault = tx.vault(&job.vault_arn).await?;
        let (resource, vault) = match (resource, vault) {
            (Some(r), Some(v)) => (r, v),
            (r, _) => {
                job.state = "FAILED".into();
                job.status_message = Some(if r.is_none() {
                    format!("Resource {} is no longer registered", job.resource_arn)
                } else {
                    format!("Backup vault {} does not exist in account {}", vault_name_of(&job.vault_arn), job.account_id)
                });
                job.completed_at = Some(now);
                tx.update_backup_job(&job).await?;
                tx.commit().await?;
                return Ok(job);
            }
        };
        // A locked vault takes only points whose retention its lock allows: checked before
        // any data is read (and again when the point is recorded, in case a lock came
        // meanwhile).
        let lc: Option<Lifecycle> = serde_json::from_str(&job.lifecycle).ok();
        if let Some(why) = self.new_point_refusal(&mut tx, &vault, lc.as_ref()).await? {
            job.state = "FAILED".into();
            job.status_message = Some(why);
            job.completed_at = Some(now);
            tx.update_backup_job(&job).await?;
            tx.commit().await?;
            tracing::warn!(job = %job.id, vault = %vault.name, "backup job refused by the vault lock");
            return Ok(job);
        }
        let parent = tx
            .recovery_points_by_resource(&resource.arn, None, 50)
            .await?
            .into_iter()
            .find(|r| r.vault_arn == vault.arn && r.status == "COMPLETED" && r.storage_class == "WARM")
            .and_then(|r| r.snapshot_id.parse::<SnapshotId>().ok());
        job.state = "RUNNING".into();
        job.started_at = Some(now);
        job.complete_by = Some(now + SignedDuration::from_mins(job.completion_window_minutes));
        let stop = Arc::new(AtomicBool::new(false));
        let by_user = Arc::new(AtomicBool::new(false));
        // Counted before the catalog says RUNNING: a dispatcher that no longer sees the job
        // queued must see it running, or the per-account limit could be exceeded.
        let registered = self.running.register(&job.id, &job.account_id, stop.clone(), by_user.clone());
        tx.update_backup_job(&job).await?;
        if let Some(plan) = &job.plan_id {
            tx.set_plan_last_execution(plan, now).await?;
        }
        tx.commit().await?;
        tracing::info!(job = %job.id, resource = %resource.arn, vault = %vault.name, "backup job started");

        // The completion window is watched on the service's clock, so a test can move time.
        let complete_by = job.complete_by.unwrap_or(now);
        // A stop requested by another process arrives through the catalog (polled every
        // half second).
        let watchdog = {
            let (clock, stop, by_user, catalog, id) = (self.clock.clone(), stop.clone(), by_user.clone(), self.catalog.clone(), job.id.clone());
            tokio::spawn(async move {
                for round in 0u64.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if clock.now() > complete_by {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if round % 25 == 24 && stop_requested(&catalog, &id).await {
                        by_user.store(true, Ordering::SeqCst);
                        stop.store(true, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let ending = self.execute(&job, &resource, &vault, parent, stop.clone()).await;
        watchdog.abort();
        drop(registered);
        let user_stop = by_user.load(Ordering::SeqCst);
        self.finish_job(job, &resource, &vault, ending, user_stop).await
    }

    async fn execute(
        &self,
        job: &BackupJobRow,
        resource: &bunker_catalog::Resource,
        vault: &bunker_catalog::BackupVault,
        parent: Option<SnapshotId>,
        stop: Arc<AtomicBool>,
    ) -> Ending {
        // Secrets are opened here, for the connector only.
        let source = match self.resource_source(resource) {
            Ok(s) => s,
            Err(e) => return Ending::Failed { message: e.to_string(), retry: false },
        };
        // Judged again at every backup: a location registered earlier, or a path swapped
        // for a symbolic link since, must not read the home either.
        if let Err(e) = self.check_outside_home(&source, "The resource location") {
            return Ending::Failed { message: e.to_string(), retry: false };
        }
        let svc = self.clone();
        let vault = vault.clone();
        let (time, tag) = (job.started_at.unwrap_or_else(|| self.now()), format!("backup-job:{}", job.id));
        let result = tokio::task::spawn_blocking(move || {
            let v = svc.open_vault(&vault)?;
            let request = BackupRequest { vault: &v, time, tags: vec![tag], parent, stop: Some(stop), progress: &NoProgress };
            Ok::<_, BackupError>(svc.connectors.backup(&source, &request))
        })
        .await;
        match result {
            Err(e) => Ending::Failed { message: format!("backup worker failed: {e}"), retry: false },
            Ok(Err(e)) => Ending::Failed { message: e.to_string(), retry: false },
            Ok(Ok(Ok(o))) => Ending::Done { snapshot: o.snapshot, size: o.size, added: o.bytes_added, partial: o.partial },
            Ok(Ok(Err(ConnectorError::Stopped))) => Ending::Aborted,
            Ok(Ok(Err(e))) => {
                let retry = matches!(e, ConnectorError::Connection { .. });
                Ending::Failed { message: e.to_string(), retry }
            }
        }
    }

    async fn finish_job(
        &self,
        mut job: BackupJobRow,
        resource: &bunker_catalog::Resource,
        vault: &bunker_catalog::BackupVault,
        ending: Ending,
        user_stop: bool,
    ) -> Result<BackupJobRow> {
        let now = self.now();
        let window = "The backup job did not complete within its completion window";
        let mut rp = None;
        match ending {
            Ending::Done { snapshot, partial, .. } if partial && user_stop => {
                // Stopped by a person: nothing is kept, as AWS does for StopBackupJob.
                let (svc, vault) = (self.clone(), vault.clone());
                let _ = tokio::task::spawn_blocking(move || svc.open_vault(&vault).and_then(|v| Ok(v.forget(&[snapshot])?))).await;
                job.state = "ABORTED".into();
                job.status_message = Some("Stopped by StopBackupJob".into());
            }
            Ending::Done { snapshot, size, added, partial } => {
                let lc: Option<Lifecycle> = serde_json::from_str(&job.lifecycle).ok();
                let created = job.started_at.unwrap_or(now);
                let mut tags = resource.tags.clone();
                tags.extend(job.recovery_point_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
                let arn = recovery_point_arn(&job.region, &job.account_id, &crate::ids::uuid());
                let row = RecoveryPointRow {
                    arn: arn.clone(),
                    vault_arn: vault.arn.clone(),
                    account_id: job.account_id.clone(),
                    region: job.region.clone(),
                    resource_arn: resource.arn.clone(),
                    resource_type: resource.resource_type.clone(),
                    resource_name: resource.name.clone(),
                    backup_job_id: Some(job.id.clone()),
                    snapshot_id: snapshot.to_string(),
                    status: if partial { "PARTIAL" } else { "COMPLETED" }.into(),
                    status_message: partial.then(|| format!("{window}; the data read until then was kept")),
                    storage_class: "WARM".into(),
                    created_at: created,
                    completed_at: Some(now),
                    size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
                    lifecycle: job.lifecycle.clone(),
                    move_to_cold_at: days_after(created, lc.as_ref().and_then(|l| l.move_to_cold_storage_after_days)),
                    delete_at: days_after(created, lc.as_ref().and_then(|l| l.delete_after_days)),
                    tags,
                    plan_id: job.plan_id.clone(),
                    plan_version: job.plan_version.clone(),
                    rule_id: job.rule_id.clone(),
                    iam_role_arn: job.iam_role_arn.clone(),
                    source_recovery_point_arn: None,
                    source_backup_vault_arn: None,
                };
                job.state = if partial { "PARTIAL" } else { "COMPLETED" }.into();
                job.status_message = row.status_message.clone();
                job.recovery_point_arn = Some(arn);
                job.backup_size = row.size_bytes;
                job.bytes_transferred = i64::try_from(added).unwrap_or(i64::MAX);
                rp = Some(row);
            }
            Ending::Aborted => {
                job.state = "ABORTED".into();
                job.status_message = Some(if user_stop { "Stopped by StopBackupJob".into() } else { format!("{window}; nothing could be kept") });
            }
            Ending::Failed { message, retry } => {
                if retry && job.attempt < self.settings.max_attempts && now < job.start_by {
                    // Try again on the next dispatch, within the start window.
                    job.state = "CREATED".into();
                    job.attempt += 1;
                    job.status_message = Some(format!("attempt {} failed: {message}", job.attempt - 1));
                    job.started_at = None;
                    job.complete_by = None;
                } else {
                    job.state = "FAILED".into();
                    job.status_message = Some(message);
                }
            }
        }
        if job.state != "CREATED" {
            job.completed_at = Some(now);
        }
        let mut tx = self.catalog.write().await?;
        let mut refused = None;
        if let Some(row) = &rp {
            let lc: Option<Lifecycle> = serde_json::from_str(&row.lifecycle).ok();
            if let Some(why) = self.new_point_refusal(&mut tx, vault, lc.as_ref()).await? {
                job.state = "FAILED".into();
                job.status_message = Some(why);
                job.recovery_point_arn = None;
                refused = rp.take().and_then(|r| r.snapshot_id.parse::<SnapshotId>().ok());
            }
        }
        if let Some(rp) = &rp {
            tx.insert_recovery_point(rp).await?;
        }
        self.queue_copy_jobs(&mut tx, &job, rp.as_ref()).await?;
        tx.update_backup_job(&job).await?;
        tx.commit().await?;
        if let Some(snapshot) = refused {
            // Nothing refers to the data any more: drop it (a failure leaves unreferenced
            // data, as an interrupted backup does).
            let (svc, vault) = (self.clone(), vault.clone());
            let _ = tokio::task::spawn_blocking(move || svc.open_vault(&vault).and_then(|v| Ok(v.forget(&[snapshot])?))).await;
        }
        tracing::info!(job = %job.id, state = %job.state, message = job.status_message.as_deref().unwrap_or(""), "backup job ended");
        Ok(job)
    }

    /// `DescribeRecoveryPoint`.
    pub async fn describe_recovery_point(&self, arn: &str) -> Result<RecoveryPoint> {
        let rp = self.catalog.read().await?.recovery_point(arn).await?;
        rp.as_ref().map(rp_shape).ok_or_else(|| BackupError::ResourceNotFound(format!("Recovery point {arn} does not exist")))
    }

    /// The tags of a recovery point (`ListTags`).
    pub async fn recovery_point_tags(&self, arn: &str) -> Result<Tags> {
        let rp = self.catalog.read().await?.recovery_point(arn).await?;
        rp.map(|r| r.tags).ok_or_else(|| BackupError::ResourceNotFound(format!("Recovery point {arn} does not exist")))
    }

    /// `ListRecoveryPointsByBackupVault`, newest first.
    pub async fn list_recovery_points_by_backup_vault(
        &self,
        account: &str,
        region: &str,
        vault_name: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<JobList<RecoveryPoint>> {
        let arn = vault_arn(region, account, vault_name);
        let mut tx = self.catalog.read().await?;
        if tx.vault(&arn).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("Backup vault {vault_name} does not exist")));
        }
        let limit = max_results.unwrap_or(1000).clamp(1, 1000);
        let after = next_token.map(decode_token).transpose()?;
        let rows = tx.recovery_points_by_vault(&arn, after.as_ref().map(|(t, id)| (*t, id.as_str())), limit).await?;
        Ok(page(rows, limit, |r| (r.created_at, r.arn.clone()), rp_shape))
    }

    /// `ListRecoveryPointsByResource`, newest first.
    pub async fn list_recovery_points_by_resource(&self, resource_arn: &str, max_results: Option<i64>, next_token: Option<&str>) -> Result<JobList<RecoveryPoint>> {
        let limit = max_results.unwrap_or(1000).clamp(1, 1000);
        let after = next_token.map(decode_token).transpose()?;
        let rows = self
            .catalog
            .read()
            .await?
            .recovery_points_by_resource(resource_arn, after.as_ref().map(|(t, id)| (*t, id.as_str())), limit)
            .await?;
        Ok(page(rows, limit, |r| (r.created_at, r.arn.clone()), rp_shape))
    }

    /// `ListProtectedResources` of an account.
    pub async fn list_protected_resources(&self, account: Option<&str>) -> Result<Vec<bunker_catalog::ProtectedResourceRow>> {
        Ok(self.catalog.read().await?.protected_resources(account).await?)
    }
}
