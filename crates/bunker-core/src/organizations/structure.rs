//! The tree: organization, root, organizational units and accounts.

use bunker_catalog::{self as catalog, AccountId, OuId, ParentId, TargetId, TargetKind, Tx};

use super::{
    Organizations, account_shape, check_length, context, node, organization_shape, ou_shape, require_account,
    require_parent, root_shape,
};
use crate::error::{OrgError, Result};
use crate::{ids, shapes};

/// The email of a management account created without one.
pub const DEFAULT_MANAGEMENT_EMAIL: &str = "management@example.invalid";
/// The name of the management account.
pub const MANAGEMENT_ACCOUNT_NAME: &str = "Management";
/// How deep OUs may nest under the root (the AWS quota).
pub const MAX_OU_DEPTH: usize = 5;

/// `CreateOrganization`, with Bunker's choice of management account.
#[derive(Debug, Clone, Default)]
pub struct CreateOrganization {
    /// `ALL` (the default); `CONSOLIDATED_BILLING` is refused, since it has no policies.
    pub feature_set: Option<String>,
    /// The management account's id; generated when absent.
    pub management_account_id: Option<String>,
    /// The management account's email; [`DEFAULT_MANAGEMENT_EMAIL`] when absent.
    pub management_account_email: Option<String>,
}

/// `CreateAccount`, with Bunker's choice of id and parent.
#[derive(Debug, Clone, Default)]
pub struct CreateAccount {
    /// The account's name.
    pub account_name: String,
    /// Its email address (unique in the organization).
    pub email: String,
    /// Its id; generated when absent (give it to import an existing account).
    pub account_id: Option<String>,
    /// Where to put it; the root when absent.
    pub parent_id: Option<String>,
}

fn check_feature_set(feature_set: &str) -> Result<()> {
    match feature_set {
        "ALL" => Ok(()),
        "CONSOLIDATED_BILLING" => Err(OrgError::InvalidInput(
            "feature set CONSOLIDATED_BILLING has no policies; Bunker needs ALL".into(),
        )),
        other => Err(OrgError::InvalidInput(format!("unknown feature set {other:?}: expected ALL"))),
    }
}

/// The shape AWS accepts: something@domain.tld, 6 to 64 characters, no spaces.
fn check_email(email: &str) -> Result<()> {
    check_length("an email address", email, 6, 64)?;
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.split_once('.').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
    }) && !email.chars().any(char::is_whitespace);
    if valid { Ok(()) } else { Err(OrgError::InvalidInput(format!("{email:?} is not an email address"))) }
}

fn check_account_name(name: &str) -> Result<()> {
    check_length("an account name", name, 1, 50)?;
    if name.chars().all(|c| (' '..='~').contains(&c)) {
        Ok(())
    } else {
        Err(OrgError::InvalidInput(format!("account name {name:?} may hold only printable ASCII characters")))
    }
}

/// How many OUs deep `parent` is (the root is 0).
async fn depth(tx: &mut Tx, parent: &ParentId) -> Result<usize> {
    let mut depth = 0;
    let mut current = parent.clone();
    while let ParentId::OrganizationalUnit(id) = &current {
        let ou = tx.ou(id).await?.ok_or_else(|| catalog::CatalogError::Corrupt(format!("missing OU {id}")))?;
        depth += 1;
        current = ou.parent_id;
    }
    Ok(depth)
}

/// An account id nobody has.
async fn fresh_account_id(tx: &mut Tx) -> Result<AccountId> {
    loop {
        let id = ids::account_id();
        if tx.target_kind(id.as_str()).await?.is_none() {
            return Ok(id);
        }
    }
}

/// An OU id nobody has.
async fn fresh_ou_id(tx: &mut Tx, root: &catalog::RootId) -> Result<OuId> {
    loop {
        let id = ids::ou_id(root);
        if tx.target_kind(id.as_str()).await?.is_none() {
            return Ok(id);
        }
    }
}

impl Organizations {
    /// `CreateOrganization`: the organization, its root, and its management account in the root.
    pub async fn create_organization(&self, req: CreateOrganization) -> Result<shapes::Organization> {
        let feature_set = req.feature_set.unwrap_or_else(|| "ALL".into());
        check_feature_set(&feature_set)?;
        let email = req.management_account_email.unwrap_or_else(|| DEFAULT_MANAGEMENT_EMAIL.into());
        check_email(&email)?;
        let management_id = req.management_account_id.as_deref().map(AccountId::parse).transpose()?;

        let mut tx = self.catalog.write().await?;
        if let Some(org) = tx.organization().await? {
            return Err(OrgError::AlreadyInOrganization(format!(
                "this Bunker instance already has organization {}",
                org.id
            )));
        }
        let now = self.now();
        let org = catalog::Organization {
            id: ids::organization_id(),
            feature_set,
            management_account_id: management_id.unwrap_or_else(ids::account_id),
            management_account_email: email,
            created_at: now,
        };
        let root = catalog::Root { id: ids::root_id(), name: "Root".into() };
        tx.insert_organization(&org, &root).await?;
        tx.insert_account(&catalog::Account {
            id: org.management_account_id.clone(),
            name: MANAGEMENT_ACCOUNT_NAME.into(),
            email: org.management_account_email.clone(),
            status: "ACTIVE".into(),
            joined_method: "CREATED".into(),
            joined_at: now,
            parent_id: ParentId::Root(root.id.clone()),
            create_request_id: ids::create_account_request_id(),
            requested_at: now,
        })
        .await?;
        let ctx = context(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(organization = %org.id, root = %root.id, "created organization");
        Ok(organization_shape(&ctx))
    }

    /// `DescribeOrganization`.
    pub async fn describe_organization(&self) -> Result<shapes::Organization> {
        let mut tx = self.catalog.read().await?;
        Ok(organization_shape(&context(&mut tx).await?))
    }

    /// `ListRoots`.
    pub async fn list_roots(&self) -> Result<Vec<shapes::Root>> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        let mut roots = Vec::new();
        for root in tx.roots().await? {
            roots.push(root_shape(&mut tx, &ctx, &root).await?);
        }
        Ok(roots)
    }

    /// `CreateOrganizationalUnit`.
    pub async fn create_organizational_unit(&self, parent_id: &str, name: &str) -> Result<shapes::OrganizationalUnit> {
        check_length("an organizational unit name", name, 1, 128)?;
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let parent = require_parent(&mut tx, parent_id, OrgError::ParentNotFound).await?;
        if depth(&mut tx, &parent).await? >= MAX_OU_DEPTH {
            return Err(OrgError::ConstraintViolation(format!(
                "OU_DEPTH_LIMIT_EXCEEDED: {parent} is already {MAX_OU_DEPTH} levels deep"
            )));
        }
        if tx.ous_in(&parent).await?.iter().any(|ou| ou.name == name) {
            return Err(OrgError::DuplicateOrganizationalUnit(format!(
                "an organizational unit named {name:?} already exists in {parent}"
            )));
        }
        let ou = catalog::OrganizationalUnit {
            id: fresh_ou_id(&mut tx, &ctx.root).await?,
            name: name.to_owned(),
            parent_id: parent,
            created_at: self.now(),
        };
        tx.insert_ou(&ou).await?;
        super::policies::attach_full_access_if_enabled(&mut tx, &ctx.root, &TargetId::OrganizationalUnit(ou.id.clone()), ou.created_at).await?;
        tx.commit().await?;
        Ok(ou_shape(&ctx, &ou))
    }

    async fn require_ou(tx: &mut Tx, id: &str) -> Result<catalog::OrganizationalUnit> {
        let ou_id = OuId::parse(id)?;
        tx.ou(&ou_id)
            .await?
            .ok_or_else(|| OrgError::OrganizationalUnitNotFound(format!("no organizational unit has id {id}")))
    }

    /// `DescribeOrganizationalUnit`.
    pub async fn describe_organizational_unit(&self, ou_id: &str) -> Result<shapes::OrganizationalUnit> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        Ok(ou_shape(&ctx, &Self::require_ou(&mut tx, ou_id).await?))
    }

    /// `DeleteOrganizationalUnit`: only an empty OU; its policy attachments go with it.
    pub async fn delete_organizational_unit(&self, ou_id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        context(&mut tx).await?;
        let ou = Self::require_ou(&mut tx, ou_id).await?;
        let as_parent = ParentId::OrganizationalUnit(ou.id.clone());
        let ous = tx.ous_in(&as_parent).await?.len();
        let accounts = tx.accounts_in(&as_parent).await?.len();
        if ous + accounts > 0 {
            return Err(OrgError::OrganizationalUnitNotEmpty(format!(
                "organizational unit {ou_id} ({}) still holds {accounts} account(s) and {ous} organizational unit(s)",
                ou.name
            )));
        }
        tx.delete_ou(&ou.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `ListOrganizationalUnitsForParent`.
    pub async fn list_organizational_units_for_parent(
        &self,
        parent_id: &str,
    ) -> Result<Vec<shapes::OrganizationalUnit>> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        let parent = require_parent(&mut tx, parent_id, OrgError::ParentNotFound).await?;
        Ok(tx.ous_in(&parent).await?.iter().map(|ou| ou_shape(&ctx, ou)).collect())
    }

    /// `ListParents`: the one parent of an OU or account.
    pub async fn list_parents(&self, child_id: &str) -> Result<Vec<shapes::Node>> {
        let mut tx = self.catalog.read().await?;
        context(&mut tx).await?;
        let not_found = || OrgError::ChildNotFound(format!("no organizational unit or account has id {child_id}"));
        let parent = match TargetId::parse(child_id)? {
            TargetId::Root(_) => {
                return Err(OrgError::InvalidInput(format!("{child_id} is a root, which has no parent")));
            }
            TargetId::OrganizationalUnit(id) => tx.ou(&id).await?.ok_or_else(not_found)?.parent_id,
            TargetId::Account(id) => tx.account(&id).await?.ok_or_else(not_found)?.parent_id,
        };
        Ok(vec![node(parent.as_str(), parent.kind())])
    }

    /// `ListChildren`: the OUs or the accounts directly under a parent.
    pub async fn list_children(&self, parent_id: &str, child_type: &str) -> Result<Vec<shapes::Node>> {
        let kind = match TargetKind::parse(child_type) {
            Some(k @ (TargetKind::Account | TargetKind::OrganizationalUnit)) => k,
            _ => {
                return Err(OrgError::InvalidInput(format!(
                    "child type must be ACCOUNT or ORGANIZATIONAL_UNIT, not {child_type:?}"
                )));
            }
        };
        let mut tx = self.catalog.read().await?;
        context(&mut tx).await?;
        let parent = require_parent(&mut tx, parent_id, OrgError::ParentNotFound).await?;
        let ids: Vec<String> = if kind == TargetKind::Account {
            tx.accounts_in(&parent).await?.into_iter().map(|a| a.id.to_string()).collect()
        } else {
            tx.ous_in(&parent).await?.into_iter().map(|o| o.id.to_string()).collect()
        };
        Ok(ids.iter().map(|id| node(id, kind)).collect())
    }

    /// `CreateAccount`, done at once: the status returned is final.
    pub async fn create_account(&self, req: CreateAccount) -> Result<shapes::CreateAccountStatus> {
        check_account_name(&req.account_name)?;
        check_email(&req.email)?;
        let wanted_id = req.account_id.as_deref().map(AccountId::parse).transpose()?;

        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let parent = match &req.parent_id {
            Some(p) => require_parent(&mut tx, p, OrgError::ParentNotFound).await?,
            None => ParentId::Root(ctx.root.clone()),
        };
        let id = match wanted_id {
            Some(id) if tx.target_kind(id.as_str()).await?.is_some() => {
                return Err(OrgError::DuplicateAccount(format!("account {id} already exists")));
            }
            Some(id) => id,
            None => fresh_account_id(&mut tx).await?,
        };
        if let Some(other) = tx.account_by_email(&req.email).await? {
            return Err(OrgError::DuplicateAccount(format!(
                "account {} already uses the email address {}",
                other.id, other.email
            )));
        }
        let now = self.now();
        let account = catalog::Account {
            id,
            name: req.account_name,
            email: req.email,
            status: "ACTIVE".into(),
            joined_method: "CREATED".into(),
            joined_at: now,
            parent_id: parent,
            create_request_id: ids::create_account_request_id(),
            requested_at: now,
        };
        tx.insert_account(&account).await?;
        super::policies::attach_full_access_if_enabled(&mut tx, &ctx.root, &TargetId::Account(account.id.clone()), now).await?;
        tx.commit().await?;
        Ok(shapes::CreateAccountStatus {
            id: account.create_request_id.to_string(),
            account_name: account.name,
            state: "SUCCEEDED".into(),
            requested_timestamp: account.requested_at,
            completed_timestamp: account.joined_at,
            account_id: account.id.to_string(),
        })
    }

    /// `DescribeAccount`.
    pub async fn describe_account(&self, account_id: &str) -> Result<shapes::Account> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        Ok(account_shape(&ctx, &require_account(&mut tx, account_id).await?))
    }

    /// `ListAccounts`.
    pub async fn list_accounts(&self) -> Result<Vec<shapes::Account>> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        Ok(tx.accounts().await?.iter().map(|a| account_shape(&ctx, a)).collect())
    }

    /// `ListAccountsForParent`.
    pub async fn list_accounts_for_parent(&self, parent_id: &str) -> Result<Vec<shapes::Account>> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        let parent = require_parent(&mut tx, parent_id, OrgError::ParentNotFound).await?;
        Ok(tx.accounts_in(&parent).await?.iter().map(|a| account_shape(&ctx, a)).collect())
    }

    /// `MoveAccount`: from the parent it is in to another.
    pub async fn move_account(&self, account_id: &str, source_parent_id: &str, destination_parent_id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        context(&mut tx).await?;
        let account = require_account(&mut tx, account_id).await?;
        let source = require_parent(&mut tx, source_parent_id, OrgError::SourceParentNotFound).await?;
        let destination = require_parent(&mut tx, destination_parent_id, OrgError::DestinationParentNotFound).await?;
        if account.parent_id != source {
            return Err(OrgError::SourceParentNotFound(format!(
                "account {account_id} is not in {source} but in {}",
                account.parent_id
            )));
        }
        if source == destination {
            return Err(OrgError::DuplicateAccount(format!("account {account_id} is already in {destination}")));
        }
        tx.set_account_parent(&account.id, &destination).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("a@b.co").is_ok());
        assert!(check_email("ops+backup@example.com").is_ok());
        for bad in ["a@b", "ab.co", "a b@c.de", "@b.com", "a@@b.com", "a@b.", "x@.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_names() {
        assert!(check_account_name("Prod EU (payments)").is_ok());
        assert!(check_account_name("").is_err());
        assert!(check_account_name("tab\there").is_err());
        assert!(check_account_name(&"x".repeat(51)).is_err());
    }
}
