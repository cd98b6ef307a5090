//! Which account and Region an operation acts in. The AWS CLI takes them from the caller's
//! credentials and `--region`; here `--account-id` (default: the caller's account) and
//! `--region` (the front end fills in its default: `$AWS_REGION`, then `us-east-1`).

use bunker_core::Organizations;
use clap::Args;
use serde::Serialize;

use crate::failure::Failure;

/// The Region used when none is given, as the AWS CLI's usual default.
pub const DEFAULT_REGION: &str = "us-east-1";

/// `--account-id` and `--region`.
#[derive(Debug, Clone, Default, Args, Serialize)]
#[serde(rename_all = "PascalCase")]
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

/// Checks a Region name before it is used anywhere (it names directories of the home).
///
/// # Errors
/// `InvalidParameterValueException` naming the value.
pub fn check_region(region: &str) -> Result<(), Failure> {
    bunker_core::Region::parse(region)
        .map(drop)
        .map_err(|e| Failure::Parameter { name: "--region", message: e.to_string() })
}

impl Scope {
    /// The account (which must be in the organization, when there is one) and Region;
    /// the account defaults to the caller's.
    ///
    /// # Errors
    /// An account outside the organization, a malformed account id or Region.
    pub async fn resolve(&self, orgs: &Organizations, caller_account: &str) -> Result<Place, Failure> {
        let region = self.region.clone().unwrap_or_else(|| DEFAULT_REGION.to_owned());
        check_region(&region)?;
        let organization = orgs.describe_organization().await.ok();
        let account = match (&self.account_id, &organization) {
            (Some(id), Some(_)) => orgs.describe_account(id).await?.id,
            (Some(id), None) => checked_account(id)?,
            (None, Some(_)) => caller_account.to_owned(),
            (None, None) => {
                return Err(Failure::Parameter {
                    name: "--account-id",
                    message: "no organization exists to take the account from: pass --account-id or create one with `bunker org create-organization`".into(),
                });
            }
        };
        Ok(Place { account, region })
    }

    /// The account and Region without asking the organization (IAM principals may live in
    /// accounts outside it).
    ///
    /// # Errors
    /// A malformed account id or Region.
    pub fn resolve_unchecked(&self, caller_account: &str) -> Result<Place, Failure> {
        let region = self.region.clone().unwrap_or_else(|| DEFAULT_REGION.to_owned());
        check_region(&region)?;
        let account = match &self.account_id {
            Some(id) => checked_account(id)?,
            None => caller_account.to_owned(),
        };
        Ok(Place { account, region })
    }
}

fn checked_account(id: &str) -> Result<String, Failure> {
    bunker_catalog::AccountId::parse(id)
        .map(|_| id.to_owned())
        .map_err(|e| Failure::Parameter { name: "--account-id", message: e.to_string() })
}
