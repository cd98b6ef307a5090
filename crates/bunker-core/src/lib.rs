//! The Bunker service.
//!
//! So far: the organization — [`Organizations`] implements the AWS Organizations operations
//! Bunker needs (the tree of root, OUs and accounts; backup policies and their attachments;
//! effective policies and the backup plans they yield) over the catalog, with time from an
//! injected [`Clock`].

pub mod arn;
pub mod backup;
/// The injected clock (its own crate, shared with security).
pub use bunker_clock as clock;
pub mod error;
pub mod home;
pub mod ids;
pub mod organizations;
pub mod quotas;
pub mod secrets;
/// Who may do what (its own crate: principals, authorization, keys, the audit trail).
pub use bunker_security as security;
pub mod shapes;

pub use backup::{BackupError, BackupService, Scheduler};
pub use bunker_policy::{InvalidRegion, Region};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{OrgError, Result};
pub use organizations::DelegatedAdministrator;
pub use organizations::{CreateAccount, CreateOrganization, CreatePolicy, Organizations, UpdatePolicy};
