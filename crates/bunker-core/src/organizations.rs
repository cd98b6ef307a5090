//! The organization service: one method per AWS Organizations operation.
//!
//! Every operation runs in one catalog transaction. It checks everything first and writes
//! last, so an operation that fails leaves the catalog as it found it.

mod delegated;
mod effective;
mod policies;
mod structure;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use bunker_catalog::{self as catalog, Catalog, ParentId, PolicyId, PolicyType, RootId, TargetId, TargetKind, Tx};
use jiff::Timestamp;

use crate::arn::Arns;
use crate::clock::Clock;
use crate::error::{OrgError, Result};
use crate::shapes;

pub use delegated::DelegatedAdministrator;
pub use policies::{CreatePolicy, UpdatePolicy};
pub use structure::{CreateAccount, CreateOrganization};

/// The AWS Organizations operations, over a catalog.
#[derive(Clone)]
pub struct Organizations {
    catalog: Catalog,
    clock: Arc<dyn Clock>,
}

impl Organizations {
    /// The service over `catalog`, reading time from `clock`.
    pub fn new(catalog: Catalog, clock: Arc<dyn Clock>) -> Self {
        Self { catalog, clock }
    }

    /// The catalog it works on.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Now, at the precision the catalog keeps (microseconds), so that what an operation
    /// returns equals what a later read returns.
    fn now(&self) -> Timestamp {
        let now = self.clock.now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }
}

/// The organization an operation works on, loaded inside its transaction.
struct Context {
    org: catalog::Organization,
    root: RootId,
    arns: Arns,
}

/// Loads the organization, or says there is none.
async fn context(tx: &mut Tx) -> Result<Context> {
    let Some(org) = tx.organization().await? else {
        return Err(OrgError::AwsOrganizationsNotInUse(
            "this Bunker instance has no organization yet: run create-organization first".into(),
        ));
    };
    let root = tx.roots().await?.into_iter().next().map(|r| r.id).ok_or_else(|| {
        OrgError::Service(catalog::CatalogError::Corrupt(format!("organization {} has no root", org.id)))
    })?;
    let arns = Arns::new(&org);
    Ok(Context { org, root, arns })
}

/// A root or OU that exists; `not_found` builds the error for one that does not.
async fn require_parent(tx: &mut Tx, id: &str, not_found: fn(String) -> OrgError) -> Result<ParentId> {
    let parent = ParentId::parse(id)?;
    match tx.target_kind(parent.as_str()).await? {
        Some(kind) if kind == parent.kind() => Ok(parent),
        _ => Err(not_found(format!("no root or organizational unit has id {id}"))),
    }
}

/// A root, OU or account that exists.
async fn require_target(tx: &mut Tx, id: &str) -> Result<TargetId> {
    let target = TargetId::parse(id)?;
    match tx.target_kind(target.as_str()).await? {
        Some(kind) if kind == target.kind() => Ok(target),
        _ => Err(OrgError::TargetNotFound(format!("no root, organizational unit or account has id {id}"))),
    }
}

/// An account that exists.
async fn require_account(tx: &mut Tx, id: &str) -> Result<catalog::Account> {
    let account_id = catalog::AccountId::parse(id)?;
    tx.account(&account_id).await?.ok_or_else(|| OrgError::AccountNotFound(format!("no account has id {id}")))
}

/// A policy that exists.
async fn require_policy(tx: &mut Tx, id: &str) -> Result<catalog::Policy> {
    let policy_id = PolicyId::parse(id)?;
    tx.policy(&policy_id).await?.ok_or_else(|| OrgError::PolicyNotFound(format!("no policy has id {id}")))
}

/// The policy types Bunker implements, named by a request.
fn supported_policy_type(name: &str) -> Result<PolicyType> {
    match known_policy_type(name)? {
        t @ (PolicyType::Backup | PolicyType::ServiceControl) => Ok(t),
        other => Err(OrgError::InvalidInput(format!(
            "unsupported policy type {other}: Bunker supports BACKUP_POLICY and SERVICE_CONTROL_POLICY"
        ))),
    }
}

/// Any AWS policy type (filters accept them all and find nothing for the unsupported ones).
fn known_policy_type(name: &str) -> Result<PolicyType> {
    PolicyType::parse(name).ok_or_else(|| {
        let known: Vec<_> = PolicyType::ALL.iter().map(|t| t.as_str()).collect();
        OrgError::InvalidInput(format!("unknown policy type {name:?}: expected one of {}", known.join(", ")))
    })
}

/// The name a target shows in listings.
async fn target_name(tx: &mut Tx, target: &TargetId) -> Result<String> {
    let name = match target {
        TargetId::Root(r) => tx.root(r).await?.map(|r| r.name),
        TargetId::OrganizationalUnit(o) => tx.ou(o).await?.map(|o| o.name),
        TargetId::Account(a) => tx.account(a).await?.map(|a| a.name),
    };
    name.ok_or_else(|| OrgError::TargetNotFound(format!("no root, organizational unit or account has id {target}")))
}

/// Checks a length in characters (AWS counts characters, not bytes).
fn check_length(what: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(OrgError::InvalidInput(format!(
            "{what} must be {min} to {max} characters long; {value:?} has {len}"
        )))
    }
}

fn policy_type_summaries(types: Vec<catalog::PolicyTypeStatus>) -> Vec<shapes::PolicyTypeSummary> {
    types.into_iter().map(|t| shapes::PolicyTypeSummary { policy_type: t.policy_type, status: t.status }).collect()
}

fn organization_shape(ctx: &Context) -> shapes::Organization {
    let org = &ctx.org;
    shapes::Organization {
        id: org.id.to_string(),
        arn: ctx.arns.organization(),
        feature_set: org.feature_set.clone(),
        master_account_arn: ctx.arns.account(&org.management_account_id),
        master_account_id: org.management_account_id.to_string(),
        master_account_email: org.management_account_email.clone(),
        available_policy_types: vec![shapes::PolicyTypeSummary {
            policy_type: PolicyType::Backup,
            status: "ENABLED".into(),
        }],
    }
}

async fn root_shape(tx: &mut Tx, ctx: &Context, root: &catalog::Root) -> Result<shapes::Root> {
    Ok(shapes::Root {
        id: root.id.to_string(),
        arn: ctx.arns.root(&root.id),
        name: root.name.clone(),
        policy_types: policy_type_summaries(tx.policy_types(&root.id).await?),
    })
}

fn ou_shape(ctx: &Context, ou: &catalog::OrganizationalUnit) -> shapes::OrganizationalUnit {
    shapes::OrganizationalUnit { id: ou.id.to_string(), arn: ctx.arns.ou(&ou.id), name: ou.name.clone() }
}

fn account_shape(ctx: &Context, account: &catalog::Account) -> shapes::Account {
    shapes::Account {
        id: account.id.to_string(),
        arn: ctx.arns.account(&account.id),
        email: account.email.clone(),
        name: account.name.clone(),
        status: account.status.clone(),
        joined_method: account.joined_method.clone(),
        joined_timestamp: account.joined_at,
    }
}

fn policy_summary(ctx: &Context, policy: &catalog::Policy) -> shapes::PolicySummary {
    shapes::PolicySummary {
        id: policy.id.to_string(),
        arn: ctx.arns.policy(policy.policy_type, &policy.id),
        name: policy.name.clone(),
        description: policy.description.clone(),
        policy_type: policy.policy_type,
        aws_managed: policy.aws_managed,
    }
}

fn policy_shape(ctx: &Context, policy: &catalog::Policy) -> shapes::Policy {
    shapes::Policy { summary: policy_summary(ctx, policy), content: policy.content.clone() }
}

fn node(id: &str, kind: TargetKind) -> shapes::Node {
    shapes::Node { id: id.to_owned(), kind }
}
