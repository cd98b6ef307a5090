//! The one door of Bunker: every caller, from every front end (the embedded CLI today, the
//! network API and agents next), reaches the service through [`Service::call`].
//!
//! A call is an [`Operation`] — one typed request per AWS operation, AWS-named — made by
//! an [`Authenticated`] caller. `call` validates the scope, authorizes (identity policies,
//! SCPs, the resource's policy, the two-person rule), makes sure the audit trail can take
//! the record, runs the operation and records it, refusals included. Nothing else in this
//! crate runs an operation, and the services it holds are not handed out to front ends.
//!
//! The request types derive `clap` too: the CLI's flags are the operations' members, as the
//! AWS CLI's are its service models'. Values are data only: `file://` parameters are read
//! by the front end before a request is built, never by the service.

pub mod aws_json;
mod call;
mod caller;
pub mod failure;
mod home;
pub mod ops;
mod scope;
pub mod vaults;

use std::sync::Arc;

use bunker_core::{BackupService, Clock, Organizations};

pub use call::{Operation, OperationInfo, all_operations};
pub use caller::{Authenticated, LocalChoice};
pub use failure::Failure;
pub use home::{CATALOG_FILE, TimeRequest, advance_simulated_time, open_catalog, open_simulation, refuse_lost_catalog};
pub use scope::{DEFAULT_REGION, Place, Scope};

/// The service over one home: the organization, the backup service and security on one
/// catalog and one clock.
#[derive(Clone)]
pub struct Service {
    orgs: Organizations,
    backup: BackupService,
    security: bunker_core::security::Security,
    home: std::path::PathBuf,
}

impl Service {
    /// Opens the service of `home` on the clock `time` asks for, as the home allows (see
    /// [`TimeRequest`]).
    ///
    /// # Errors
    /// The home cannot be opened, or asks for a clock the home does not allow.
    pub async fn open(home: &std::path::Path, time: TimeRequest) -> anyhow::Result<Self> {
        let (catalog, clock) = home::open(home, time).await?;
        let service = Self::on(catalog, clock, home)?;
        // Catalogs written before connection secrets were sealed.
        service.backup.seal_stored_secrets().await?;
        Ok(service)
    }

    /// The service over an open catalog and a clock (tests, and front ends that open the
    /// catalog themselves).
    ///
    /// # Errors
    /// The instance master key cannot be read.
    pub fn on(catalog: bunker_catalog::Catalog, clock: Arc<dyn Clock>, home: &std::path::Path) -> anyhow::Result<Self> {
        let security = bunker_core::security::Security::open(catalog.clone(), clock.clone(), home)?;
        Ok(Self {
            orgs: Organizations::new(catalog.clone(), clock.clone()),
            backup: BackupService::new(catalog, clock, home.to_path_buf()),
            security,
            home: home.to_path_buf(),
        })
    }

    /// The same service, its jobs run by `connectors` (a front end's progress display).
    #[must_use]
    pub fn with_connectors(mut self, connectors: Arc<dyn bunker_core::backup::Connectors>) -> Self {
        self.backup = self.backup.with_connectors(connectors);
        self
    }

    /// The backup service, for the scheduler of `bunker run` (which acts as the service
    /// itself, not for a caller).
    pub fn scheduler_service(&self) -> BackupService {
        self.backup.clone()
    }

    /// The home this service keeps its state in.
    pub fn home(&self) -> &std::path::Path {
        &self.home
    }

    /// The service's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.security.clock().clone()
    }

    /// Closes the catalog.
    pub async fn close(&self) {
        self.orgs.catalog().close().await;
    }
}
