//! Which account and Region a command acts in. The AWS CLI takes them from the caller's
//! credentials and `--region`; here `--account-id` (default: the organization's
//! management account) and `--region` (default: `$AWS_REGION`, then `us-east-1`).

use bunker_core::Organizations;
use clap::Args;

use crate::failure::Failure;

/// The Region used when none is given, as the AWS CLI's usual default.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The account commands act in when `--account-id` is not given: the caller's (set once
/// the caller is known).
static CALLER_ACCOUNT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes `account` the default of `--account-id` (the caller's account).
pub fn set_caller_account(account: &str) {
    let _ = CALLER_ACCOUNT.set(account.to_owned());
}

/// `--account-id` and `--region`.
#[derive(Debug, Clone, Args)]
pub struct Scope {
    /// The account to act in (12 digits) [default: the caller's account].
    #[arg(long, global = true, env = "BUNKER_ACCOUNT_ID", value_name = "ID", help_heading = "Scope")]
    pub account_id: Option<String>,
    /// The Region to act in [env: AWS_REGION] [default: us-east-1].
    #[arg(long, global = true, value_name = "REGION", help_heading = "Scope")]
    pub region: Option<String>,
}

/// A resolved scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The account.
    pub account: String,
    /// The Region.
    pub region: String,
}

impl Scope {
    /// The account (which must be in the organization, when there is one) and Region.
    pub async fn resolve(&self, orgs: &Organizations) -> Result<Place, Failure> {
        let region = self
            .region
            .clone()
            .or_else(|| ["AWS_REGION", "AWS_DEFAULT_REGION"].iter().find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty())))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let organization = orgs.describe_organization().await.ok();
        let account = match (&self.account_id, &organization) {
            (Some(id), Some(_)) => orgs.describe_account(id).await?.id,
            (Some(id), None) => id.clone(),
            (None, Some(org)) => CALLER_ACCOUNT.get().cloned().unwrap_or_else(|| org.master_account_id.clone()),
            (None, None) => {
                return Err(Failure::Parameter {
                    name: "--account-id",
                    message: "no organization exists to take the management account from: pass --account-id or create one with `bunker org create-organization`".into(),
                });
            }
        };
        Ok(Place { account, region })
    }
}
