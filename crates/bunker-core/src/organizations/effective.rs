//! Effective policies: the policies attached from the root down to an account, merged.

use bunker_catalog::{self as catalog, CatalogError, ParentId, PolicyType, TargetId, TargetKind, Tx};
use bunker_policy::{Attachment, EffectivePlan, EffectivePolicy, Inheritance, PolicyDocument, Source};
use jiff::Timestamp;
use serde_json::Value;

use super::{Organizations, context, require_account, require_target, supported_policy_type};
use crate::error::{OrgError, Result};
use crate::shapes;

/// The policies of one type attached at each level of an account's path: the root first,
/// then each OU from the top down, then the account itself; each level in attachment order.
struct Levels(Vec<Vec<(catalog::PolicyAttachment, catalog::Policy)>>);

impl Levels {
    async fn load(tx: &mut Tx, account: &catalog::Account, policy_type: PolicyType) -> Result<Self> {
        let mut path = vec![TargetId::Account(account.id.clone())];
        let mut parent = account.parent_id.clone();
        loop {
            path.push(parent.clone().into());
            let ParentId::OrganizationalUnit(ou_id) = &parent else { break };
            let ou = tx.ou(ou_id).await?.ok_or_else(|| CatalogError::Corrupt(format!("missing OU {ou_id}")))?;
            parent = ou.parent_id;
        }
        let mut levels = Vec::with_capacity(path.len());
        for target in path.iter().rev() {
            levels.push(tx.attached_policies(target, policy_type).await?);
        }
        Ok(Self(levels))
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(Vec::is_empty)
    }

    /// The newest change that shaped the result: a policy edited or attached.
    fn last_updated(&self) -> Option<Timestamp> {
        self.0.iter().flatten().map(|(a, p)| a.attached_at.max(p.last_updated)).max()
    }

    /// Runs the inheritance over the stored documents.
    fn merge(&self) -> Result<EffectivePolicy> {
        let parsed = self
            .0
            .iter()
            .map(|level| level.iter().map(|(a, p)| parse_stored(a, p)).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let mut inheritance = Inheritance::new();
        for level in &parsed {
            let attachments: Vec<Attachment<'_>> =
                level.iter().map(|(source, document)| Attachment { source: source.clone(), document }).collect();
            inheritance.apply_level(&attachments);
        }
        Ok(inheritance.finish())
    }
}

/// A stored document, parsed again. It was valid when stored; if the rules have tightened
/// since, say which policy no longer passes.
fn parse_stored(attachment: &catalog::PolicyAttachment, policy: &catalog::Policy) -> Result<(Source, PolicyDocument)> {
    let document = PolicyDocument::parse(&policy.content).map_err(|errors| {
        CatalogError::Corrupt(format!("stored policy {} ({}) no longer validates:\n{errors}", policy.id, policy.name))
    })?;
    let source = Source::new(policy.id.as_str(), &policy.name, attachment.target_id.as_str());
    Ok((source, document))
}

/// The account named by an effective-policy request, which may name only accounts.
async fn effective_target(tx: &mut Tx, target_id: &str) -> Result<catalog::Account> {
    let target = require_target(tx, target_id).await?;
    if target.kind() != TargetKind::Account {
        return Err(OrgError::InvalidInput(format!(
            "{target_id} is a {}: effective backup policies are computed for accounts only",
            target.kind()
        )));
    }
    require_account(tx, target_id).await
}

fn not_found(policy_type: PolicyType, target_id: &str) -> OrgError {
    OrgError::EffectivePolicyNotFound(format!("no {policy_type} applies to account {target_id}"))
}

impl Organizations {
    /// The merged policy for an account, or `EffectivePolicyNotFoundException`.
    async fn effective(&self, target_id: &str) -> Result<(Levels, EffectivePolicy)> {
        let mut tx = self.catalog.read().await?;
        context(&mut tx).await?;
        let account = effective_target(&mut tx, target_id).await?;
        let levels = Levels::load(&mut tx, &account, PolicyType::Backup).await?;
        if levels.is_empty() {
            return Err(not_found(PolicyType::Backup, target_id));
        }
        let effective = levels.merge()?;
        if effective.is_empty() {
            return Err(not_found(PolicyType::Backup, target_id));
        }
        Ok((levels, effective))
    }

    /// `DescribeEffectivePolicy` for an account.
    pub async fn describe_effective_policy(&self, policy_type: &str, target_id: &str) -> Result<shapes::EffectivePolicy> {
        let policy_type = supported_policy_type(policy_type)?;
        let (levels, effective) = self.effective(target_id).await?;
        let last_updated = levels.last_updated().expect("levels are not empty");
        Ok(shapes::EffectivePolicy {
            policy_content: effective.to_json().to_string(),
            last_updated_timestamp: last_updated,
            target_id: target_id.to_owned(),
            policy_type,
        })
    }

    /// Bunker's extension: for each value of an account's effective backup policy, which
    /// policy on which target set it, and which operations were ignored and why.
    pub async fn explain_effective_policy(&self, target_id: &str) -> Result<Value> {
        let (_, effective) = self.effective(target_id).await?;
        Ok(effective.explain())
    }

    /// Bunker's extension: the AWS Backup plans an account's effective backup policy
    /// yields, one per plan and Region, optionally only for one Region. An account that no
    /// policy reaches has none.
    pub async fn list_effective_plans(&self, account_id: &str, region: Option<&str>) -> Result<Vec<EffectivePlan>> {
        let mut tx = self.catalog.read().await?;
        context(&mut tx).await?;
        let account = require_account(&mut tx, account_id).await?;
        let levels = Levels::load(&mut tx, &account, PolicyType::Backup).await?;
        if levels.is_empty() {
            return Ok(Vec::new());
        }
        let mut plans = levels.merge()?.backup_plans(account.id.as_str());
        if let Some(region) = region {
            plans.retain(|plan| plan.region == region);
        }
        Ok(plans)
    }
}
