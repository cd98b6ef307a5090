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
pub mod two_person;

pub use error::{SecurityError, SecurityResult};

/// The role the backup service acts as in an account (AWS's default service role).
pub fn backup_service_role_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole")
}

/// A random UUID (version 4), the shape of key ids, grant ids and event ids.
pub fn uuid() -> String {
    let mut b: [u8; 16] = master_key::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}
pub use master_key::MasterKey;

use std::path::Path;
use std::sync::Arc;

use bunker_catalog::Catalog;
use serde::Serialize;

use bunker_clock::Clock;

pub use authorize::AccessRequest;
pub use principals::{AccessKey, Credentials, Role, User};

/// The security services over one catalog: principals and credentials, authorization, MFA.
#[derive(Clone)]
pub struct Security {
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    master: MasterKey,
}

impl Security {
    /// The services over `catalog`, sealing secrets with `master`.
    pub fn new(catalog: Catalog, clock: Arc<dyn Clock>, master: MasterKey) -> Self {
        Self { catalog, clock, master }
    }

    /// The services with the instance master key of `data_dir` (see [`MasterKey::load`]).
    ///
    /// # Errors
    /// The master key cannot be read or made.
    pub fn open(catalog: Catalog, clock: Arc<dyn Clock>, data_dir: &Path) -> SecurityResult<Self> {
        Ok(Self::new(catalog, clock, MasterKey::load(data_dir)?))
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The instance master key.
    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn now(&self) -> jiff::Timestamp {
        let now = self.clock.now();
        jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }
}

/// What kind of identity made a call (CloudTrail's `userIdentity.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IdentityType {
    /// An account's root user.
    Root,
    /// An IAM user.
    #[serde(rename = "IAMUser")]
    IamUser,
    /// A role session.
    AssumedRole,
    /// The service acting for an account (the scheduler's jobs, copies and lifecycle).
    #[serde(rename = "AWSService")]
    AwsService,
}

/// Who makes a call: authenticated from credentials, or the embedded default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The identity kind.
    pub identity_type: IdentityType,
    /// The caller's ARN: `…:root`, `…:user/alice`, `arn:aws:sts::A:assumed-role/R/S`.
    pub arn: String,
    /// The caller's account.
    pub account_id: String,
    /// The user or role whose policies apply (none for root and the service).
    pub policy_owner: Option<String>,
    /// `AIDA…`, `AROA…:session`, or the account id for root.
    pub principal_id: String,
    /// The access key the call was signed with.
    pub access_key_id: Option<String>,
    /// Whether MFA was shown: `None` for long-term credentials (AWS leaves
    /// `aws:MultiFactorAuthPresent` out then).
    pub mfa_authenticated: Option<bool>,
    /// Where the call came from: `cli`, `scheduler`, `api`.
    pub source: String,
    /// The client's address, when known.
    pub source_ip: Option<String>,
}

impl Caller {
    /// An account's root user calling from `source`.
    pub fn root(account_id: &str, source: &str) -> Self {
        Self {
            identity_type: IdentityType::Root,
            arn: format!("arn:aws:iam::{account_id}:root"),
            account_id: account_id.to_owned(),
            policy_owner: None,
            principal_id: account_id.to_owned(),
            access_key_id: None,
            mfa_authenticated: None,
            source: source.to_owned(),
            source_ip: None,
        }
    }

    /// The backup service acting for `account_id` through its default service role.
    pub fn backup_service(account_id: &str) -> Self {
        Self {
            identity_type: IdentityType::AwsService,
            arn: backup_service_role_arn(account_id),
            account_id: account_id.to_owned(),
            policy_owner: None,
            principal_id: "backup.amazonaws.com".into(),
            access_key_id: None,
            mfa_authenticated: None,
            source: "scheduler".into(),
            source_ip: None,
        }
    }

    /// The ARN IAM conditions see as `aws:PrincipalArn`: a session's role, else the caller.
    pub fn principal_arn(&self) -> &str {
        match self.identity_type {
            IdentityType::AssumedRole => self.policy_owner.as_deref().unwrap_or(&self.arn),
            _ => &self.arn,
        }
    }

    /// The user name CloudTrail shows.
    pub fn username(&self) -> String {
        match self.identity_type {
            IdentityType::Root => "root".into(),
            _ => self.arn.rsplit(['/', ':']).next().unwrap_or_default().to_owned(),
        }
    }
}
