//! The AWS Backup side of the service: resources, backup vaults, plans and selections,
//! the scheduler, backup and restore jobs, recovery points.
//!
//! Every operation is a method of [`BackupService`], which owns nothing but handles: the
//! catalog (what exists), the clock (when), the data directory (where vaults and account
//! keys live) and the connectors (how a resource is read and written back). Jobs run the
//! blocking vault engine on tokio's blocking threads.

mod access_policies;
mod allowed_roots;
mod connection_secrets;
mod copies;
mod error;
mod jobs;
mod legal_holds;
mod lifecycle;
mod plans;
mod resources;
mod restore;
mod restore_testing;
mod scheduler;
mod sites;
mod vault_lock;
mod vaults;

use std::path::PathBuf;
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::{BackupOutcome, BackupRequest, RestoreOutcome, Source};
use bunker_vault::{Progress, SnapshotId, Vault};
use jiff::Timestamp;

use crate::clock::Clock;

pub use allowed_roots::{AllowedRoots, MAX_ALLOWED_ROOTS};
pub use connection_secrets::SealedSecrets;
pub use error::{BackupError, Result};
pub use jobs::{BackupJob, JobList, ListBackupJobs, RecoveryPoint, StartBackupJob};
pub use plans::{PlanSummary, PlanWithDocument, SelectionSummary};
pub use resources::RegisterResource;
pub use restore::{RestoreJob, StartRestoreJob};
pub use scheduler::{Scheduler, TickReport};
pub use vaults::{StorageOwner, VaultDescription};
#[allow(unused_imports)] // filled by the lifecycle, copy and restore-testing work
pub use {access_policies::*, copies::*, legal_holds::*, lifecycle::*, restore_testing::*, vault_lock::*};

/// Reads resources into vaults and writes them back: the real connectors, or a wrapper in
/// tests (a deliberately slow one, for the window rules).
pub trait Connectors: Send + Sync {
    /// Backs up `source`.
    ///
    /// # Errors
    /// As [`bunker_connectors::backup`].
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome>;

    /// Restores `snapshot` into `target`.
    ///
    /// # Errors
    /// As [`bunker_connectors::restore`].
    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome>;
}

/// The connectors of `bunker-connectors`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealConnectors;

impl Connectors for RealConnectors {
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome> {
        bunker_connectors::backup(source, request)
    }

    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome> {
        bunker_connectors::restore(vault, snapshot, target, progress)
    }
}

/// Limits and defaults of the job runner.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Backup jobs running at once per account; more wait in `CREATED` (and expire when
    /// their start window passes).
    pub max_concurrent_jobs_per_account: usize,
    /// Attempts for a job whose failure may be transient (a refused connection), within
    /// its start window.
    pub max_attempts: i64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { max_concurrent_jobs_per_account: 2, max_attempts: 3 }
    }
}

/// The AWS Backup operations over a catalog.
#[derive(Clone)]
pub struct BackupService {
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    data_dir: PathBuf,
    connectors: Arc<dyn Connectors>,
    settings: JobSettings,
    running: Arc<jobs::Running>,
}

impl BackupService {
    /// The service over `catalog`; vaults and account keys live below `data_dir`.
    pub fn new(catalog: Catalog, clock: Arc<dyn Clock>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            catalog,
            clock,
            data_dir: data_dir.into(),
            connectors: Arc::new(RealConnectors),
            settings: JobSettings::default(),
            running: Arc::default(),
        }
    }

    /// Uses other connectors (tests).
    #[must_use]
    pub fn with_connectors(mut self, connectors: Arc<dyn Connectors>) -> Self {
        self.connectors = connectors;
        self
    }

    /// Uses other job limits.
    #[must_use]
    pub fn with_settings(mut self, settings: JobSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Runs one `CREATED` job now, in this process, whatever the per-account limit (an
    /// operator asked for it), and returns it as it ended.
    ///
    /// # Errors
    /// An unknown job; catalog failures.
    pub async fn run_backup_job_now(&self, id: &str) -> Result<BackupJob> {
        Ok(jobs::job_shape(&self.run_backup_job(id).await?))
    }

    /// Now, at catalog precision (microseconds).
    fn now(&self) -> Timestamp {
        let now = self.clock.now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }
}

/// `arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME`.
pub fn vault_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:backup:{region}:{account}:backup-vault:{name}")
}

/// `arn:aws:backup:REGION:ACCOUNT:backup-plan:ID`.
pub fn plan_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:backup:{region}:{account}:backup-plan:{id}")
}

/// `arn:aws:backup:REGION:ACCOUNT:recovery-point:ID`.
pub fn recovery_point_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:backup:{region}:{account}:recovery-point:{id}")
}

/// `arn:aws:bunker:REGION:ACCOUNT:TYPE/NAME`.
pub fn resource_arn(region: &str, account: &str, word: &str, name: &str) -> String {
    format!("arn:aws:bunker:{region}:{account}:{word}/{name}")
}

/// The default role a plan's jobs run as (recorded, as AWS shows it).
pub fn default_role_arn(account: &str) -> String {
    bunker_security::backup_service_role_arn(account)
}

/// AWS-style ids are upper-case hex for jobs; plans and selections keep the UUID shape.
fn job_id() -> String {
    crate::ids::uuid().to_uppercase()
}

