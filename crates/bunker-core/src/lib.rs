//! The Bunker service.
//!
//! So far: the organization — [`Organizations`] implements the AWS Organizations operations
//! Bunker needs (the tree of root, OUs and accounts; backup policies and their attachments;
//! effective policies and the backup plans they yield) over the catalog, with time from an
//! injected [`Clock`].

pub mod arn;
pub mod backup;
pub mod clock;
pub mod error;
pub mod home;
pub mod ids;
pub mod organizations;
pub mod quotas;
pub mod secrets;
pub mod security;
pub mod shapes;

pub use backup::{BackupError, BackupService, Scheduler};
pub use bunker_policy::{InvalidRegion, Region};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{OrgError, Result};
pub use organizations::DelegatedAdministrator;
pub use organizations::{CreateAccount, CreateOrganization, CreatePolicy, Organizations, UpdatePolicy};
