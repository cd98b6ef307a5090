//! Authorization: gathers what AWS's evaluation needs for one request — the caller's
//! identity policies, the SCPs of every node from the root down to the caller's account,
//! the resource's policy (vault access policy, key policy, trust policy), the request
//! context — and asks `bunker-iam` for the decision.
//!
//! The management account is exempt from SCPs, as in AWS. An account's root user has every
//! permission its SCPs leave it. The service acting for an account (the scheduler's copies)
//! is the account's backup service role, bounded by the same SCPs.

use std::collections::BTreeMap;

use bunker_catalog::{AccountId, ParentId, PolicyType, TargetId, Tx};
use bunker_iam::{Context, Decision, EvalDecision, NamedPolicy, PolicyDocument, PolicySet, Principal, Request};

use super::{Caller, IdentityType, Security, SecurityError, SecurityResult};

/// What a root user's identity allows: everything (SCPs still bound it).
const ROOT_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
/// The backup service role's permissions when the account has not made the role itself
/// (as AWS's `AWSBackupServiceRolePolicyForBackup`).
const SERVICE_ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["backup:*","bunker:*","kms:Decrypt","kms:Encrypt","kms:GenerateDataKey","kms:DescribeKey","kms:CreateGrant"],"Resource":"*"}]}"#;

/// One request to authorize.
#[derive(Debug, Clone, Default)]
pub struct AccessRequest {
    /// `backup:DeleteRecoveryPoint`.
    pub action: String,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The account owning the resource.
    pub resource_account: String,
    /// The resource's policy: (name in decisions, document).
    pub resource_policy: Option<(String, String)>,
    /// KMS: nothing is allowed unless the key policy allows it.
    pub resource_policy_required: bool,
    /// `aws:ResourceTag/…`.
    pub resource_tags: BTreeMap<String, String>,
    /// `aws:RequestTag/…` (and `aws:TagKeys`).
    pub request_tags: BTreeMap<String, String>,
    /// Organizations writes: the policy type concerned (a delegated administrator may
    /// manage backup policies only).
    pub organizations_policy_type: Option<String>,
}

impl AccessRequest {
    /// `action` on `resource` owned by `resource_account`.
    pub fn new(action: &str, resource: &str, resource_account: &str) -> Self {
        Self { action: action.to_owned(), resource: resource.to_owned(), resource_account: resource_account.to_owned(), ..Self::default() }
    }

    /// With a resource policy that may grant (a vault access policy, a trust policy).
    #[must_use]
    pub fn with_resource_policy(mut self, name: String, document: String) -> Self {
        self.resource_policy = Some((name, document));
        self
    }

    /// With a key policy, which must allow (KMS).
    #[must_use]
    pub fn with_key_policy(mut self, name: String, document: String) -> Self {
        self.resource_policy = Some((name, document));
        self.resource_policy_required = true;
        self
    }
}

/// The organization as the context keys see it.
struct OrgFacts {
    org_id: String,
    management_account: String,
    /// `o-…/r-…/ou-…/` of the caller's account.
    path: Option<String>,
    /// SCP documents per level (root → account), when SCPs bound the caller.
    scp_levels: Vec<Vec<(String, String)>>,
    delegated_backup_admins: Vec<String>,
}

async fn org_facts(tx: &mut Tx, account: &str) -> SecurityResult<Option<OrgFacts>> {
    let Some(org) = tx.organization().await? else { return Ok(None) };
    let management_account = org.management_account_id.to_string();
    let delegated_backup_admins = tx.delegated_administrators("backup.amazonaws.com").await?;
    let Ok(account_id) = AccountId::parse(account) else {
        return Ok(Some(OrgFacts { org_id: org.id.to_string(), management_account, path: None, scp_levels: Vec::new(), delegated_backup_admins }));
    };
    let Some(acct) = tx.account(&account_id).await? else {
        return Ok(Some(OrgFacts { org_id: org.id.to_string(), management_account, path: None, scp_levels: Vec::new(), delegated_backup_admins }));
    };
    // Walk up to the root: the nodes whose SCPs bound the account.
    let mut targets = vec![TargetId::Account(acct.id.clone())];
    let mut parent = acct.parent_id.clone();
    let root = loop {
        match parent {
            ParentId::Root(r) => {
                targets.push(TargetId::Root(r.clone()));
                break r;
            }
            ParentId::OrganizationalUnit(ou) => {
                targets.push(TargetId::OrganizationalUnit(ou.clone()));
                let Some(row) = tx.ou(&ou).await? else { return Err(SecurityError::Dependency(format!("OU {ou} is missing"))) };
                parent = row.parent_id;
            }
        }
    };
    targets.reverse();
    let path = {
        let nodes: Vec<String> = targets.iter().filter(|t| !matches!(t, TargetId::Account(_))).map(ToString::to_string).collect();
        format!("{}/{}/", org.id, nodes.join("/"))
    };
    let scp_enabled = tx.policy_types(&root).await?.iter().any(|t| t.policy_type == PolicyType::ServiceControl && t.status == "ENABLED");
    let mut scp_levels = Vec::new();
    if scp_enabled && account != management_account {
        for target in &targets {
            let attached = tx.attached_policies(target, PolicyType::ServiceControl).await?;
            scp_levels.push(attached.into_iter().map(|(a, p)| (format!("scp:{}@{}", p.name, a.target_id), p.content)).collect());
        }
    }
    Ok(Some(OrgFacts { org_id: org.id.to_string(), management_account, path: Some(path), scp_levels, delegated_backup_admins }))
}

fn parse_stored(name: &str, text: &str) -> SecurityResult<PolicyDocument> {
    PolicyDocument::parse(text).map_err(|e| SecurityError::Dependency(format!("stored policy {name} no longer parses: {e}")))
}

impl Security {
    /// The request for `action` on `resource` (an ARN or `*`; the resource's account is the
    /// ARN's, else `default_account`), with the resource's policy when it has one: a
    /// vault's access policy (for the vault and its recovery points), a key's key policy
    /// (the key named by id, alias or ARN, decided on its canonical ARN).
    ///
    /// # Errors
    /// Catalog failures.
    pub async fn access_request(&self, action: &str, resource: &str, default_account: &str) -> SecurityResult<AccessRequest> {
        let account = resource.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or(default_account);
        let mut request = AccessRequest::new(action, resource, account);
        if resource.starts_with("arn:aws:backup:") {
            let mut tx = self.catalog.read().await?;
            let vault = if resource.contains(":backup-vault:") {
                Some(resource.to_owned())
            } else if resource.contains(":recovery-point:") {
                tx.recovery_point(resource).await?.map(|rp| rp.vault_arn)
            } else {
                None
            };
            if let Some(vault) = vault
                && let Some(document) = tx.vault_access_policy(&vault).await? {
                    let name = vault.rsplit(':').next().unwrap_or_default();
                    request = request.with_resource_policy(format!("vault-access-policy:{name}"), document);
                }
        } else if let Some(rest) = resource.strip_prefix("arn:aws:kms:") {
            let mut parts = rest.splitn(3, ':');
            if let (Some(region), Some(account), Some(id)) = (parts.next(), parts.next(), parts.next()) {
                let keys = super::kms::KeyService::new(self.catalog.clone(), self.master.clone(), self.clock.clone());
                if let Ok(key) = keys.describe_key(account, region, id.strip_prefix("key/").unwrap_or(id)).await
                    && let Some(policy) = keys.key_policy(&key.arn).await? {
                        request.resource = key.arn.clone();
                        request = request.with_key_policy(format!("key-policy:{}", key.key_id), policy);
                    }
            }
        }
        Ok(request)
    }

    /// Decides `request` for `caller`.
    ///
    /// # Errors
    /// Catalog failures; a stored policy that no longer parses.
    pub async fn authorize(&self, caller: &Caller, request: &AccessRequest) -> SecurityResult<Decision> {
        let mut tx = self.catalog.read().await?;
        let facts = org_facts(&mut tx, &caller.account_id).await?;
        if let Some(denied) = organizations_rule(caller, request, facts.as_ref()) {
            return Ok(denied);
        }
        if let Some(denied) = mfa_rule(caller, request) {
            return Ok(denied);
        }
        // Identity policies.
        let mut identity: Vec<(String, String)> = Vec::new();
        match caller.identity_type {
            IdentityType::Root => identity.push(("root".into(), ROOT_POLICY.into())),
            IdentityType::AwsService => {
                let role = tx.principal_policies(&caller.arn).await?;
                if role.is_empty() {
                    identity.push(("AWSBackupServiceRolePolicyForBackup".into(), SERVICE_ROLE_POLICY.into()));
                } else {
                    identity.extend(role.into_iter().map(|p| (p.policy_name, p.document)));
                }
            }
            IdentityType::IamUser | IdentityType::AssumedRole => {
                if let Some(owner) = &caller.policy_owner {
                    let owner_name = owner.rsplit('/').next().unwrap_or(owner);
                    for p in tx.principal_policies(owner).await? {
                        identity.push((format!("{owner_name}:{}", p.policy_name), p.document));
                    }
                }
            }
        }
        drop(tx);
        let identity_docs: Vec<(String, PolicyDocument)> =
            identity.iter().map(|(n, t)| Ok((n.clone(), parse_stored(n, t)?))).collect::<SecurityResult<_>>()?;
        let scp_docs: Vec<Vec<(String, PolicyDocument)>> = facts
            .as_ref()
            .map(|f| &f.scp_levels)
            .into_iter()
            .flatten()
            .map(|level| level.iter().map(|(n, t)| Ok((n.clone(), parse_stored(n, t)?))).collect::<SecurityResult<Vec<_>>>())
            .collect::<SecurityResult<_>>()?;
        let resource_doc = match &request.resource_policy {
            Some((n, t)) if !t.trim().is_empty() => Some((n.clone(), parse_stored(n, t)?)),
            _ => None,
        };
        let policies = PolicySet {
            identity: identity_docs.iter().map(|(n, d)| NamedPolicy { name: n, document: d }).collect(),
            scp_levels: scp_docs.iter().map(|l| l.iter().map(|(n, d)| NamedPolicy { name: n, document: d }).collect()).collect(),
            resource: resource_doc.as_ref().map(|(n, d)| NamedPolicy { name: n, document: d }),
            resource_policy_required: request.resource_policy_required,
        };
        let context = self.context(caller, request, facts.as_ref());
        let principal = Principal {
            arn: caller.arn.clone(),
            account: caller.account_id.clone(),
            service: (caller.identity_type == IdentityType::AwsService).then(|| "backup.amazonaws.com".to_owned()),
        };
        let decision = bunker_iam::evaluate(
            &Request {
                principal: &principal,
                action: &request.action,
                resource: &request.resource,
                resource_account: &request.resource_account,
                context: &context,
            },
            &policies,
        );
        Ok(decision)
    }

    /// Like [`Security::authorize`], but a denial is an `AccessDenied` error in AWS's words.
    ///
    /// # Errors
    /// `AccessDenied` naming what decided; as [`Security::authorize`].
    pub async fn require(&self, caller: &Caller, request: &AccessRequest) -> SecurityResult<Decision> {
        let decision = self.authorize(caller, request).await?;
        if decision.allowed() {
            Ok(decision)
        } else {
            Err(SecurityError::AccessDenied(denial_message(caller, request, &decision)))
        }
    }

    fn context(&self, caller: &Caller, request: &AccessRequest, facts: Option<&OrgFacts>) -> Context {
        let now = self.now();
        let mut c = Context::new();
        c.set("aws:PrincipalArn", caller.principal_arn());
        c.set("aws:PrincipalAccount", caller.account_id.clone());
        c.set("aws:userid", caller.principal_id.clone());
        c.set("aws:username", caller.username());
        c.set(
            "aws:PrincipalType",
            match caller.identity_type {
                IdentityType::Root => "Account",
                IdentityType::IamUser => "User",
                IdentityType::AssumedRole => "AssumedRole",
                IdentityType::AwsService => "AWSService",
            },
        );
        c.set("aws:CurrentTime", now.to_string());
        c.set("aws:EpochTime", now.as_second().to_string());
        c.set("aws:SecureTransport", "true");
        c.set("aws:ResourceAccount", request.resource_account.clone());
        if let Some(mfa) = caller.mfa_authenticated {
            c.set("aws:MultiFactorAuthPresent", mfa.to_string());
        }
        if let Some(ip) = &caller.source_ip {
            c.set("aws:SourceIp", ip.clone());
        }
        if let Some(f) = facts
            && let Some(path) = &f.path {
                c.set("aws:PrincipalOrgID", f.org_id.clone());
                c.set_all("aws:PrincipalOrgPaths", vec![path.clone()]);
            }
        for (k, v) in &request.resource_tags {
            c.set(&format!("aws:ResourceTag/{k}"), v.clone());
        }
        for (k, v) in &request.request_tags {
            c.set(&format!("aws:RequestTag/{k}"), v.clone());
        }
        if !request.request_tags.is_empty() {
            c.set_all("aws:TagKeys", request.request_tags.keys().cloned().collect());
        }
        c
    }
}

/// AWS Organizations answers writes only from the management account, and from a
/// delegated administrator for the policy type delegated to it (backup policies).
fn organizations_rule(caller: &Caller, request: &AccessRequest, facts: Option<&OrgFacts>) -> Option<Decision> {
    let operation = request.action.strip_prefix("organizations:")?;
    let facts = facts?;
    if caller.account_id == facts.management_account {
        return None;
    }
    let read_only = ["Describe", "List"].iter().any(|p| operation.starts_with(p));
    let delegated = facts.delegated_backup_admins.contains(&caller.account_id)
        && request.organizations_policy_type.as_deref().is_none_or(|t| t == "BACKUP_POLICY");
    let member_read = read_only && (operation == "DescribeOrganization" || operation == "DescribeEffectivePolicy");
    if delegated || member_read {
        return None;
    }
    Some(Decision {
        eval_decision: EvalDecision::ImplicitDeny,
        matched_statements: Vec::new(),
        reason: format!(
            "account {} is neither the organization's management account nor a delegated administrator for this policy type",
            caller.account_id
        ),
        missing_context_values: Vec::new(),
    })
}

/// Actions no policy can grant without MFA: bypassing a governance-mode Vault Lock.
pub const MFA_ONLY_ACTIONS: &[&str] = &["backup:BypassGovernanceRetention"];

fn mfa_rule(caller: &Caller, request: &AccessRequest) -> Option<Decision> {
    let needs = MFA_ONLY_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(&request.action));
    (needs && caller.mfa_authenticated != Some(true)).then(|| Decision {
        eval_decision: EvalDecision::ImplicitDeny,
        matched_statements: Vec::new(),
        reason: format!("{} needs a session with MFA (sts get-session-token or assume-role with --token-code)", request.action),
        missing_context_values: vec!["aws:MultiFactorAuthPresent".into()],
    })
}

/// AWS's denial sentence, with Bunker's reason appended.
pub fn denial_message(caller: &Caller, request: &AccessRequest, decision: &Decision) -> String {
    let kind = match decision.eval_decision {
        EvalDecision::ExplicitDeny => {
            let source = decision.matched_statements.first().map(|m| m.source_policy_id.as_str()).unwrap_or("a policy");
            if source.starts_with("scp:") {
                " with an explicit deny in a service control policy".to_owned()
            } else if request.resource_policy.as_ref().is_some_and(|(n, _)| n == source) {
                " with an explicit deny in a resource-based policy".to_owned()
            } else {
                " with an explicit deny in an identity-based policy".to_owned()
            }
        }
        _ => " because no policy allows it".to_owned(),
    };
    format!(
        "User: {} is not authorized to perform: {} on resource: {}{kind} ({})",
        caller.arn, request.action, request.resource, decision.reason
    )
}
