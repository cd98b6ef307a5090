//! Policies, their attachments, and the policy types enabled on the root.

use bunker_catalog::{self as catalog, PolicyType, RootId, TargetId};
use bunker_policy::PolicyDocument;

use super::{
    Organizations, check_length, context, known_policy_type, policy_shape, policy_summary, require_policy,
    require_target, root_shape, supported_policy_type, target_name,
};
use crate::error::{OrgError, Result};
use crate::quotas::organizations::{MAX_ATTACHMENTS_PER_TARGET, MAX_POLICIES, policy_content_max_chars};
use crate::{ids, shapes};

/// `CreatePolicy`.
#[derive(Debug, Clone, Default)]
pub struct CreatePolicy {
    /// Unique in the organization.
    pub name: String,
    /// Free text, up to 512 characters.
    pub description: String,
    /// `BACKUP_POLICY`.
    pub policy_type: String,
    /// The document.
    pub content: String,
}

/// `UpdatePolicy`: what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdatePolicy {
    /// Which policy.
    pub policy_id: String,
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new document.
    pub content: Option<String>,
}

fn check_name(name: &str) -> Result<()> {
    check_length("a policy name", name, 1, 128)
}

fn check_description(description: &str) -> Result<()> {
    check_length("a policy description", description, 0, 512)
}

/// The id AWS gives the SCP it attaches everywhere when SCPs are enabled.
pub const FULL_AWS_ACCESS_ID: &str = "p-FullAWSAccess";
/// Its document: everything allowed, so only explicit denies and narrower SCPs bound.
const FULL_AWS_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Checks a document against the rules of its type, its size first (so an oversized one
/// is never decoded).
fn check_content(policy_type: PolicyType, content: &str) -> Result<()> {
    let max = policy_content_max_chars(policy_type);
    if content.len() > max {
        let chars = content.chars().count();
        if chars > max {
            return Err(OrgError::ConstraintViolation(format!(
                "POLICY_CONTENT_LIMIT_EXCEEDED: a policy of type {policy_type} holds at most {max} characters; this one has {chars}"
            )));
        }
    }
    match policy_type {
        PolicyType::Backup => PolicyDocument::parse(content).map(drop).map_err(OrgError::MalformedPolicyDocument),
        PolicyType::ServiceControl => {
            bunker_iam::PolicyDocument::parse(content).map_err(OrgError::MalformedServiceControlPolicy)?;
            // SCPs bound the principals of the accounts they are attached to: naming
            // principals means nothing there, and AWS refuses it.
            let json: serde_json::Value = serde_json::from_str(content).unwrap_or_default();
            let statements = match &json["Statement"] {
                serde_json::Value::Array(list) => list.clone(),
                one => vec![one.clone()],
            };
            if let Some(i) = statements.iter().position(|st| st.get("Principal").is_some() || st.get("NotPrincipal").is_some()) {
                return Err(OrgError::MalformedServiceControlPolicy(bunker_iam::PolicyErrors(vec![bunker_iam::PolicyError {
                    path: format!("Statement[{i}].Principal"),
                    message: "a service control policy cannot name principals".into(),
                }])));
            }
            Ok(())
        }
        other => Err(OrgError::InvalidInput(format!("unsupported policy type {other}"))),
    }
}

/// When SCPs are enabled, every root, OU and account carries at least one: AWS's
/// `FullAWSAccess`, attached on enabling and to every new OU and account.
pub(super) async fn attach_full_access_if_enabled(tx: &mut catalog::Tx, root: &RootId, target: &TargetId, now: jiff::Timestamp) -> Result<()> {
    if tx.policy_types(root).await?.iter().any(|t| t.policy_type == PolicyType::ServiceControl && t.status == "ENABLED") {
        let id = catalog::PolicyId::parse(FULL_AWS_ACCESS_ID)?;
        tx.attach_policy(&id, target, now).await?;
    }
    Ok(())
}

/// Refuses a name another policy already has.
async fn check_name_free(tx: &mut catalog::Tx, name: &str, except: Option<&catalog::PolicyId>) -> Result<()> {
    match tx.policy_by_name(name).await? {
        Some(other) if Some(&other.id) != except => {
            Err(OrgError::DuplicatePolicy(format!("policy {} already has the name {name:?}", other.id)))
        }
        _ => Ok(()),
    }
}

/// Refuses a policy type that is not enabled on the root.
async fn check_enabled(tx: &mut catalog::Tx, root: &RootId, policy_type: PolicyType) -> Result<()> {
    let enabled = tx.policy_types(root).await?;
    if enabled.iter().any(|t| t.policy_type == policy_type && t.status == "ENABLED") {
        Ok(())
    } else {
        Err(OrgError::PolicyTypeNotEnabled(format!(
            "policy type {policy_type} is not enabled on root {root}: run enable-policy-type first"
        )))
    }
}

impl Organizations {
    /// `EnablePolicyType`.
    pub async fn enable_policy_type(&self, root_id: &str, policy_type: &str) -> Result<shapes::Root> {
        let policy_type = supported_policy_type(policy_type)?;
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let root = Self::require_root(&mut tx, root_id).await?;
        if tx.policy_types(&root.id).await?.iter().any(|t| t.policy_type == policy_type) {
            return Err(OrgError::PolicyTypeAlreadyEnabled(format!(
                "policy type {policy_type} is already enabled on root {root_id}"
            )));
        }
        let status = catalog::PolicyTypeStatus { policy_type, status: "ENABLED".into() };
        tx.insert_policy_type(&root.id, &status).await?;
        if policy_type == PolicyType::ServiceControl {
            self.attach_full_access_everywhere(&mut tx, &root.id).await?;
        }
        let shape = root_shape(&mut tx, &ctx, &root).await?;
        tx.commit().await?;
        Ok(shape)
    }

    /// `DisablePolicyType`: as in AWS, every policy of the type is detached from every target.
    pub async fn disable_policy_type(&self, root_id: &str, policy_type: &str) -> Result<shapes::Root> {
        let policy_type = known_policy_type(policy_type)?;
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let root = Self::require_root(&mut tx, root_id).await?;
        if !tx.delete_policy_type(&root.id, policy_type).await? {
            return Err(OrgError::PolicyTypeNotEnabled(format!(
                "policy type {policy_type} is not enabled on root {root_id}"
            )));
        }
        let detached = tx.detach_all_of_type(policy_type).await?;
        let shape = root_shape(&mut tx, &ctx, &root).await?;
        tx.commit().await?;
        tracing::info!(%policy_type, detached, "disabled policy type");
        Ok(shape)
    }

    /// Makes AWS's `FullAWSAccess` SCP (once) and attaches it to the root, every OU and every
    /// account that has no SCP yet.
    async fn attach_full_access_everywhere(&self, tx: &mut catalog::Tx, root: &RootId) -> Result<()> {
        let id = catalog::PolicyId::parse(FULL_AWS_ACCESS_ID)?;
        let now = self.now();
        if tx.policy(&id).await?.is_none() {
            tx.insert_policy(&catalog::Policy {
                id: id.clone(),
                name: "FullAWSAccess".into(),
                policy_type: PolicyType::ServiceControl,
                description: "Allows access to every operation".into(),
                content: FULL_AWS_ACCESS.into(),
                aws_managed: true,
                created_at: now,
                last_updated: now,
            })
            .await?;
        }
        let mut targets = vec![TargetId::Root(root.clone())];
        targets.extend(tx.all_ous().await?.into_iter().map(|ou| TargetId::OrganizationalUnit(ou.id)));
        targets.extend(tx.accounts().await?.into_iter().map(|a| TargetId::Account(a.id)));
        for target in targets {
            if tx.attached_policies(&target, PolicyType::ServiceControl).await?.is_empty() {
                tx.attach_policy(&id, &target, now).await?;
            }
        }
        Ok(())
    }

    async fn require_root(tx: &mut catalog::Tx, id: &str) -> Result<catalog::Root> {
        let root_id = RootId::parse(id)?;
        tx.root(&root_id).await?.ok_or_else(|| OrgError::RootNotFound(format!("no root has id {id}")))
    }

    /// `CreatePolicy`: the document is checked against every rule of its type first.
    pub async fn create_policy(&self, req: CreatePolicy) -> Result<shapes::Policy> {
        let policy_type = supported_policy_type(&req.policy_type)?;
        check_name(&req.name)?;
        check_description(&req.description)?;
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        check_content(policy_type, &req.content)?;
        check_name_free(&mut tx, &req.name, None).await?;
        if tx.policies(policy_type).await?.len() >= MAX_POLICIES {
            return Err(OrgError::ConstraintViolation(format!(
                "POLICY_NUMBER_LIMIT_EXCEEDED: an organization holds at most {MAX_POLICIES} policies of type {policy_type}"
            )));
        }
        let id = loop {
            let id = ids::policy_id();
            if tx.policy(&id).await?.is_none() {
                break id;
            }
        };
        let now = self.now();
        let policy = catalog::Policy {
            id,
            name: req.name,
            policy_type,
            description: req.description,
            content: req.content,
            aws_managed: false,
            created_at: now,
            last_updated: now,
        };
        tx.insert_policy(&policy).await?;
        tx.commit().await?;
        Ok(policy_shape(&ctx, &policy))
    }

    /// `UpdatePolicy`.
    pub async fn update_policy(&self, req: UpdatePolicy) -> Result<shapes::Policy> {
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let mut policy = require_policy(&mut tx, &req.policy_id).await?;
        if policy.aws_managed {
            return Err(OrgError::AccessDenied(format!("policy {} is managed by AWS and cannot be changed", policy.id)));
        }
        if let Some(name) = req.name {
            check_name(&name)?;
            check_name_free(&mut tx, &name, Some(&policy.id)).await?;
            policy.name = name;
        }
        if let Some(description) = req.description {
            check_description(&description)?;
            policy.description = description;
        }
        if let Some(content) = req.content {
            check_content(policy.policy_type, &content)?;
            policy.content = content;
        }
        policy.last_updated = self.now();
        tx.update_policy(&policy).await?;
        tx.commit().await?;
        Ok(policy_shape(&ctx, &policy))
    }

    /// `DeletePolicy`: refused while the policy is attached anywhere.
    pub async fn delete_policy(&self, policy_id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        context(&mut tx).await?;
        let policy = require_policy(&mut tx, policy_id).await?;
        if policy.aws_managed {
            return Err(OrgError::AccessDenied(format!("policy {} is managed by AWS and cannot be deleted", policy.id)));
        }
        let targets: Vec<String> =
            tx.attachments_for_policy(&policy.id).await?.into_iter().map(|a| a.target_id.to_string()).collect();
        if !targets.is_empty() {
            return Err(OrgError::PolicyInUse(format!(
                "policy {policy_id} ({}) is attached to {}: detach it first",
                policy.name,
                targets.join(", ")
            )));
        }
        tx.delete_policy(&policy.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DescribePolicy`.
    pub async fn describe_policy(&self, policy_id: &str) -> Result<shapes::Policy> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        Ok(policy_shape(&ctx, &require_policy(&mut tx, policy_id).await?))
    }

    /// `ListPolicies --filter TYPE`.
    pub async fn list_policies(&self, filter: &str) -> Result<Vec<shapes::PolicySummary>> {
        let policy_type = known_policy_type(filter)?;
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        Ok(tx.policies(policy_type).await?.iter().map(|p| policy_summary(&ctx, p)).collect())
    }

    /// `AttachPolicy`: after the target's other policies, which decides how they merge.
    pub async fn attach_policy(&self, policy_id: &str, target_id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let policy = require_policy(&mut tx, policy_id).await?;
        let target = require_target(&mut tx, target_id).await?;
        check_enabled(&mut tx, &ctx.root, policy.policy_type).await?;
        let attached = tx.attached_policies(&target, policy.policy_type).await?;
        if attached.iter().any(|(a, _)| a.policy_id == policy.id) {
            return Err(OrgError::DuplicatePolicyAttachment(format!(
                "policy {policy_id} is already attached to {target_id}"
            )));
        }
        if attached.len() >= MAX_ATTACHMENTS_PER_TARGET {
            return Err(OrgError::ConstraintViolation(format!(
                "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED: {target_id} already has {} {} policies attached",
                attached.len(),
                policy.policy_type
            )));
        }
        tx.attach_policy(&policy.id, &target, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DetachPolicy`.
    pub async fn detach_policy(&self, policy_id: &str, target_id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        context(&mut tx).await?;
        let policy = require_policy(&mut tx, policy_id).await?;
        let target = require_target(&mut tx, target_id).await?;
        // As in AWS: a target keeps at least one SCP while SCPs are enabled, or nothing
        // would be allowed in it.
        if policy.policy_type == PolicyType::ServiceControl {
            let attached = tx.attached_policies(&target, PolicyType::ServiceControl).await?;
            if attached.len() == 1 && attached[0].0.policy_id == policy.id {
                return Err(OrgError::ConstraintViolation(format!(
                    "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED: {target_id} must keep at least one service control policy"
                )));
            }
        }
        if !tx.detach_policy(&policy.id, &target).await? {
            return Err(OrgError::PolicyNotAttached(format!("policy {policy_id} is not attached to {target_id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// `ListPoliciesForTarget --filter TYPE`, in attachment order.
    pub async fn list_policies_for_target(&self, target_id: &str, filter: &str) -> Result<Vec<shapes::PolicySummary>> {
        let policy_type = known_policy_type(filter)?;
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        let target = require_target(&mut tx, target_id).await?;
        let attached = tx.attached_policies(&target, policy_type).await?;
        Ok(attached.iter().map(|(_, p)| policy_summary(&ctx, p)).collect())
    }

    /// `ListTargetsForPolicy`, in attachment order.
    pub async fn list_targets_for_policy(&self, policy_id: &str) -> Result<Vec<shapes::PolicyTargetSummary>> {
        let mut tx = self.catalog.read().await?;
        let ctx = context(&mut tx).await?;
        let policy = require_policy(&mut tx, policy_id).await?;
        let mut targets = Vec::new();
        for attachment in tx.attachments_for_policy(&policy.id).await? {
            targets.push(target_summary(&mut tx, &ctx, &attachment.target_id).await?);
        }
        Ok(targets)
    }
}

async fn target_summary(
    tx: &mut catalog::Tx,
    ctx: &super::Context,
    target: &TargetId,
) -> Result<shapes::PolicyTargetSummary> {
    Ok(shapes::PolicyTargetSummary {
        target_id: target.to_string(),
        arn: ctx.arns.target(target),
        name: target_name(tx, target).await?,
        kind: target.kind(),
    })
}
