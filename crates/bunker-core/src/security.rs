//! Who may touch what: principals and credentials, authorization (IAM evaluation over
//! identity policies, SCPs and resource policies), the key service, MFA and the audit trail.
//!
//! The pure decision lives in `bunker-iam`; this module gathers what a decision needs from
//! the catalog (the caller's policies, the SCPs on its account's path, the resource's
//! policy, the request context) and records every call in the audit trail.

pub mod audit;
pub mod authorize;
mod error;
pub mod kms;
pub mod master_key;
pub mod mfa;
pub mod principals;

pub use error::{SecurityError, SecurityResult};
pub use master_key::MasterKey;
