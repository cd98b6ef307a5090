//! [`Service::call`]: scope, authorization, the audit record, execution — for every
//! operation of every front end.
//!
//! What an operation asks (the IAM action, the resources, the tags it sets) is read from
//! the typed request's AWS-named members, as AWS's service models name them; whether it
//! only reads is a table of operations that a test checks covers every operation.

use std::collections::BTreeMap;

use bunker_core::security::AccessRequest;
use bunker_core::security::audit::{AuditResource, AuditTrail, NewAuditEvent};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::ops::{audit, backup, iam, kms, org, resource, sts};
use crate::{Authenticated, Place, Service};

/// Every operation of the service: one typed request each, grouped by AWS service.
#[derive(Debug, Clone, clap::Subcommand, Serialize)]
pub enum Operation {
    /// The organization: its root, OUs, accounts and backup policies (as `aws organizations`).
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// Backup vaults, plans, selections, jobs, recovery points and restores (as `aws backup`).
    Backup(backup::BackupArgs),
    /// The resources an account protects: directories, SQLite and PostgreSQL databases,
    /// disk images, S3 buckets.
    Resource(resource::ResourceArgs),
    /// Users, roles, access keys, their policies, MFA devices; `simulate` decides a request
    /// and names the statement that decided (as `aws iam`).
    Iam(iam::IamArgs),
    /// Temporary credentials: assume a role, a session with MFA (as `aws sts`).
    #[command(subcommand)]
    Sts(sts::Command),
    /// Keys per account and Region: aliases, key policies, grants, rotation, deletion (as
    /// `aws kms`).
    #[command(subcommand)]
    Kms(kms::Command),
    /// The audit trail: look up events, verify the hash chain and signed digests.
    #[command(subcommand)]
    Audit(audit::Command),
}

/// What the authorizer and the audit trail see of an operation.
#[derive(Debug, Clone)]
pub struct OperationInfo {
    /// The command group (`backup`).
    pub group: &'static str,
    /// The AWS operation (`DeleteRecoveryPoint`).
    pub name: String,
    /// Its members, AWS-named, absent ones left out.
    pub parameters: Map<String, Value>,
}

impl OperationInfo {
    /// Whether the operation only reads (CloudTrail's `readOnly`).
    pub fn read_only(&self) -> bool {
        classify(self.group, &self.name).expect("every operation is classified (see READ_ONLY and MUTATING)")
    }
}

impl Operation {
    /// The group, the operation's AWS name and its members.
    pub fn info(&self) -> OperationInfo {
        let (group, value, scope) = match self {
            Self::Org(c) => ("org", serde_json::to_value(c), None),
            Self::Backup(a) => ("backup", serde_json::to_value(&a.command), Some(&a.scope)),
            Self::Resource(a) => ("resource", serde_json::to_value(&a.command), Some(&a.scope)),
            Self::Iam(a) => ("iam", serde_json::to_value(&a.command), Some(&a.scope)),
            Self::Sts(c) => ("sts", serde_json::to_value(c), None),
            Self::Kms(c) => ("kms", serde_json::to_value(c), None),
            Self::Audit(c) => ("audit", serde_json::to_value(c), None),
        };
        let (name, mut parameters) = match value.expect("requests serialize") {
            Value::String(name) => (name, Map::new()),
            Value::Object(map) if map.len() == 1 => {
                let (name, fields) = map.into_iter().next().expect("one entry");
                match fields {
                    Value::Object(fields) => (name, fields),
                    _ => (name, Map::new()),
                }
            }
            other => unreachable!("an operation serializes as its name and members, not {other}"),
        };
        if let Some(scope) = scope
            && let Ok(Value::Object(s)) = serde_json::to_value(scope)
        {
            parameters.extend(s);
        }
        // Flags not given are not parameters of the call.
        parameters.retain(|_, v| !(v.is_null() || *v == Value::Bool(false) || v.as_array().is_some_and(Vec::is_empty)));
        OperationInfo { group, name, parameters }
    }

    /// Whether the operation only reads (CloudTrail's `readOnly`).
    pub fn read_only(&self) -> bool {
        self.info().read_only()
    }
}

/// Operations that change nothing, per group.
const READ_ONLY: &[(&str, &[&str])] = &[
    ("org", &[
        "DescribeOrganization", "ListRoots", "DescribeOrganizationalUnit", "ListOrganizationalUnitsForParent", "ListParents",
        "ListChildren", "DescribeAccount", "ListAccounts", "ListAccountsForParent", "DescribePolicy", "ListPolicies",
        "ListDelegatedAdministrators", "ListPoliciesForTarget", "ListTargetsForPolicy", "DescribeEffectivePolicy",
        "ExplainEffectivePolicy", "ListEffectivePlans",
    ]),
    ("backup", &[
        "DescribeBackupVault", "ListBackupVaults", "GetBackupPlan", "ListBackupPlans", "ListBackupPlanVersions",
        "GetBackupSelection", "ListBackupSelections", "DescribeBackupJob", "ListBackupJobs", "DescribeRecoveryPoint",
        "ListRecoveryPointsByBackupVault", "ListRecoveryPointsByResource", "ListTags", "ListProtectedResources",
        "DescribeRestoreJob", "ListRestoreJobs", "DescribeCopyJob", "ListCopyJobs", "GetRestoreTestingPlan",
        "ListRestoreTestingPlans", "GetRestoreTestingSelection", "ListRestoreTestingSelections", "GetBackupVaultAccessPolicy",
        "GetLegalHold", "ListLegalHolds", "ListRecoveryPointsByLegalHold", "ListRestoreJobsByRestoreTestingPlan",
        "GetRestoreTestingDurations",
    ]),
    ("resource", &["Describe", "List", "GetAllowedRoots"]),
    ("iam", &[
        "GetUser", "ListUsers", "GetRole", "ListRoles", "ListUserPolicies", "ListRolePolicies", "ListAccessKeys",
        "ListMfaDevices", "ListApprovalRequests", "Simulate",
    ]),
    ("sts", &["GetCallerIdentity"]),
    ("kms", &[
        "DescribeKey", "ListKeys", "ListAliases", "GetKeyPolicy", "GetKeyRotationStatus", "ListGrants",
    ]),
    ("audit", &["LookupEvents", "Verify"]),
];

/// Operations that change something, per group.
const MUTATING: &[(&str, &[&str])] = &[
    ("org", &[
        "CreateOrganization", "CreateOrganizationalUnit", "DeleteOrganizationalUnit", "CreateAccount", "MoveAccount",
        "EnablePolicyType", "DisablePolicyType", "CreatePolicy", "UpdatePolicy", "DeletePolicy", "AttachPolicy", "DetachPolicy",
        "RegisterDelegatedAdministrator", "DeregisterDelegatedAdministrator",
    ]),
    ("backup", &[
        "CreateBackupVault", "DeleteBackupVault", "CreateBackupPlan", "UpdateBackupPlan", "DeleteBackupPlan",
        "CreateBackupSelection", "DeleteBackupSelection", "StartBackupJob", "StopBackupJob", "StartRestoreJob",
        "UpdateRecoveryPointLifecycle", "DeleteRecoveryPoint", "StartCopyJob", "CreateRestoreTestingPlan",
        "UpdateRestoreTestingPlan", "DeleteRestoreTestingPlan", "CreateRestoreTestingSelection", "UpdateRestoreTestingSelection",
        "DeleteRestoreTestingSelection", "PutBackupVaultAccessPolicy", "DeleteBackupVaultAccessPolicy",
        "PutBackupVaultLockConfiguration", "DeleteBackupVaultLockConfiguration", "CreateLegalHold", "CancelLegalHold", "PutRestoreValidationResult",
    ]),
    ("resource", &["Register", "Tag", "Untag", "PutAllowedRoots", "DeleteAllowedRoots"]),
    ("iam", &[
        "CreateUser", "DeleteUser", "CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "PutUserPolicy", "PutRolePolicy",
        "AttachUserPolicy", "AttachRolePolicy", "DetachUserPolicy", "DeleteUserPolicy", "DetachRolePolicy", "DeleteRolePolicy",
        "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "CreateVirtualMfaDevice", "EnableMfaDevice",
        "EnableTwoPersonRule", "DisableTwoPersonRule", "ApproveRequest",
    ]),
    ("sts", &["AssumeRole", "GetSessionToken"]),
    ("kms", &[
        "CreateKey", "CreateAlias", "DeleteAlias", "PutKeyPolicy", "EnableKey", "DisableKey", "EnableKeyRotation",
        "DisableKeyRotation", "RotateKeyOnDemand", "ScheduleKeyDeletion", "CancelKeyDeletion", "CreateGrant", "RevokeGrant",
        "Encrypt", "Decrypt", "GenerateDataKey",
    ]),
    ("audit", &[]),
];

/// `Some(read_only)` for a classified operation.
fn classify(group: &str, name: &str) -> Option<bool> {
    let listed = |table: &[(&str, &[&str])]| table.iter().any(|(g, ops)| *g == group && ops.contains(&name));
    match (listed(READ_ONLY), listed(MUTATING)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Every operation the CLI front end can build, as `(group, AWS name, command path)`,
/// from the request types themselves (a new operation appears here by being added).
pub fn all_operations() -> Vec<(String, String, Vec<String>)> {
    use clap::Subcommand;
    let root = Operation::augment_subcommands(clap::Command::new("bunker"));
    let mut out = Vec::new();
    for group in root.get_subcommands() {
        for op in group.get_subcommands() {
            let name = crate::ops::org::operation_name(op.get_name());
            out.push((group.get_name().to_owned(), name, vec![group.get_name().to_owned(), op.get_name().to_owned()]));
        }
    }
    out
}

fn service_of(group: &str) -> (&'static str, &'static str) {
    match group {
        "org" => ("organizations", "organizations.amazonaws.com"),
        "backup" => ("backup", "backup.amazonaws.com"),
        "resource" => ("bunker", "bunker.amazonaws.com"),
        "iam" => ("iam", "iam.amazonaws.com"),
        "kms" => ("kms", "kms.amazonaws.com"),
        "audit" => ("cloudtrail", "cloudtrail.amazonaws.com"),
        "sts" => ("sts", "sts.amazonaws.com"),
        other => unreachable!("no such group {other}"),
    }
}

/// One call as the authorizer and the audit trail see it.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) event_source: &'static str,
    pub(crate) operation: String,
    pub(crate) region: String,
    pub(crate) parameters: Map<String, Value>,
    pub(crate) requests: Vec<AccessRequest>,
    pub(crate) read_only: bool,
}

/// Requests larger than this are refused before anything else (AWS's APIs refuse
/// oversized bodies; a policy or plan document is the largest member any operation has).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

impl Service {
    /// Runs `operation` for `who`: the one path every front end takes.
    ///
    /// # Errors
    /// Malformed scope, `AccessDeniedException`, the operation's own errors, and
    /// `ServiceUnavailableException` when the audit trail cannot take the record (the
    /// operation is then not run).
    pub async fn call(&self, who: &Authenticated, operation: Operation) -> Result<Option<Value>, Failure> {
        self.call_with_approval(who, operation, None).await
    }

    /// [`Service::call`] with a two-person-rule approval id.
    ///
    /// # Errors
    /// As [`Service::call`].
    pub async fn call_with_approval(&self, who: &Authenticated, operation: Operation, approval: Option<&str>) -> Result<Option<Value>, Failure> {
        let info = operation.info();
        let read_only = info.read_only();
        let size = serde_json::to_vec(&info.parameters).map(|v| v.len()).unwrap_or(0);
        let place = match self.place_of(who, &operation, &info).await {
            Ok(place) => place,
            Err(failure) => {
                let call = self.bare_call(&info, read_only, None);
                self.audit(who, &call, None, Some(&failure)).await?;
                return Err(failure);
            }
        };
        if size > MAX_REQUEST_BYTES {
            let failure = Failure::Parameter {
                name: "request",
                message: format!("the request is {size} bytes; at most {MAX_REQUEST_BYTES} are accepted"),
            };
            let call = self.bare_call(&info, read_only, Some(&place));
            self.audit(who, &call, None, Some(&failure)).await?;
            return Err(failure);
        }
        let call = self.call_for(who, &info, read_only, &place).await?;
        let decisions = match self.authorize(who, &call, approval).await {
            Ok(d) => d,
            Err((failure, decision)) => {
                self.audit(who, &call, decision.as_ref(), Some(&failure)).await?;
                return Err(failure);
            }
        };
        if let Err(failure) = self.cross_account_listing(who, &info).await {
            self.audit(who, &call, None, Some(&failure)).await?;
            return Err(failure);
        }
        // No record, no change: a mutating call runs only if its record can be written.
        if !read_only {
            AuditTrail::of(&self.security).check_writable().await.map_err(Failure::audit_unavailable)?;
        }
        let result = self.execute(who, &place, operation).await;
        self.audit(who, &call, decisions.last(), result.as_ref().err()).await?;
        result
    }

    /// A refused call seen from the outside: the caller's credentials were wrong.
    ///
    /// # Errors
    /// The audit trail cannot be written.
    pub async fn record_refused_credentials(&self, access_key_id: Option<String>, source: &str, operation: &Operation, failure: &Failure) -> Result<(), Failure> {
        let who = Self::unknown_caller(access_key_id, source);
        let info = operation.info();
        let call = self.bare_call(&info, info.read_only(), None);
        self.audit(&who, &call, None, Some(failure)).await
    }

    /// The account and Region an operation acts in.
    async fn place_of(&self, who: &Authenticated, operation: &Operation, info: &OperationInfo) -> Result<Place, Failure> {
        let kms_scope;
        let scope = match operation {
            Operation::Backup(a) => Some(&a.scope),
            Operation::Resource(a) => Some(&a.scope),
            Operation::Iam(a) => Some(&a.scope),
            Operation::Kms(_) => {
                // Every KMS operation carries the scope among its members.
                let member = |k: &str| info.parameters.get(k).and_then(Value::as_str).map(str::to_owned);
                kms_scope = crate::Scope { account_id: member("AccountId"), region: member("Region") };
                Some(&kms_scope)
            }
            Operation::Org(_) | Operation::Sts(_) | Operation::Audit(_) => None,
        };
        match scope {
            // IAM principals may live in accounts outside the organization.
            Some(scope) if matches!(operation, Operation::Iam(_)) => scope.resolve_unchecked(who.account_id()),
            Some(scope) => scope.resolve(&self.orgs, who.account_id()).await,
            None => Ok(Place { account: who.account_id().to_owned(), region: crate::scope::DEFAULT_REGION.to_owned() }),
        }
    }

    fn bare_call(&self, info: &OperationInfo, read_only: bool, place: Option<&Place>) -> Call {
        let (_, event_source) = service_of(info.group);
        Call {
            event_source,
            operation: info.name.clone(),
            region: place.map_or_else(|| crate::scope::DEFAULT_REGION.to_owned(), |p| p.region.clone()),
            parameters: info.parameters.clone(),
            requests: Vec::new(),
            read_only,
        }
    }

    /// The access requests of an operation, from its members.
    async fn call_for(&self, who: &Authenticated, info: &OperationInfo, read_only: bool, place: &Place) -> Result<Call, Failure> {
        let (prefix, _) = service_of(info.group);
        let mut call = self.bare_call(info, read_only, Some(place));
        let args: BTreeMap<&str, String> = info
            .parameters
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(items) => items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(","),
                    other => other.to_string(),
                };
                (k.as_str(), text)
            })
            .collect();
        let (account, region) = (place.account.as_str(), place.region.as_str());
        let resource = match info.group {
            "backup" => {
                if let Some(arn) = args.get("RecoveryPointArn") {
                    arn.clone()
                } else if let Some(name) = args.get("BackupVaultName") {
                    bunker_core::backup::vault_arn(region, account, name)
                } else if let Some(id) = args.get("BackupPlanId") {
                    bunker_core::backup::plan_arn(region, account, id)
                } else if let Some(id) = args.get("LegalHoldId") {
                    format!("arn:aws:backup:{region}:{account}:legal-hold:{id}")
                } else {
                    "*".to_owned()
                }
            }
            "iam" => match (args.get("UserName"), args.get("RoleName"), args.get("Principal")) {
                (Some(user), _, _) => format!("arn:aws:iam::{account}:user/{user}"),
                (None, Some(role), _) => format!("arn:aws:iam::{account}:role/{role}"),
                (None, None, Some(principal)) if info.name == "Simulate" => principal.clone(),
                _ => "*".to_owned(),
            },
            "kms" => match args.get("KeyId") {
                Some(id) if id.starts_with("arn:") => id.clone(),
                Some(id) => format!("arn:aws:kms:{region}:{account}:{}", if id.starts_with("alias/") { id.clone() } else { format!("key/{id}") }),
                None => "*".to_owned(),
            },
            "resource" => args.get("ResourceArn").cloned().unwrap_or_else(|| "*".to_owned()),
            _ => "*".to_owned(),
        };
        // STS authorizes inside (the trust policy is the resource policy); asking who one
        // is needs no permission, as in AWS.
        if info.group != "sts" {
            // `bunker iam simulate` is IAM's SimulatePrincipalPolicy.
            let action = if info.name == "Simulate" { "iam:SimulatePrincipalPolicy".to_owned() } else { format!("{prefix}:{}", info.name) };
            let mut request = self.security.access_request(&action, &resource, account).await?;
            // Allowed roots are the organization's to set: only the management account's
            // principals reach them (a member's root is refused as any other account's).
            let org_level = info.group == "org" || info.name.ends_with("AllowedRoots");
            if org_level {
                // Organizations' resources are the management account's; before an
                // organization exists, the caller's own.
                request.resource_account = self.management_account().await.unwrap_or_else(|| who.account_id().to_owned());
                if info.group == "org" {
                    request.organizations_policy_type = match (args.get("Type").or_else(|| args.get("PolicyType")), args.get("PolicyId")) {
                    (Some(t), _) => Some(t.clone()),
                    (None, Some(id)) => self.orgs.describe_policy(id).await.ok().map(|p| p.summary.policy_type.as_str().to_owned()),
                    _ => None,
                    };
                }
            }
            if let Some(tags) = args.get("BackupVaultTags").or_else(|| args.get("Tags")) {
                request.request_tags = crate::failure::string_map("--tags", tags.clone()).unwrap_or_default();
            }
            call.requests.push(request);
        }
        // Bypassing a governance-mode Vault Lock is a permission of its own (and needs MFA).
        if info.parameters.get("BypassGovernanceRetention") == Some(&Value::Bool(true)) {
            call.requests.push(self.security.access_request("backup:BypassGovernanceRetention", &resource, account).await?);
        }
        // A copy asks the destination vault too: its access policy must let the caller in.
        if let Some(destination) = args.get("DestinationBackupVaultArn") {
            call.requests.push(self.security.access_request("backup:CopyIntoBackupVault", destination, account).await?);
        }
        Ok(call)
    }

    /// Authorizes every request of `call`; the first denial is the error, with the
    /// decision that denied.
    pub(crate) async fn authorize(&self, who: &Authenticated, call: &Call, approval: Option<&str>) -> Result<Vec<bunker_iam::Decision>, (Failure, Option<bunker_iam::Decision>)> {
        let mut decisions = Vec::new();
        for request in &call.requests {
            match self.security.require(who.caller(), request).await {
                Ok(d) => decisions.push(d),
                Err(e) => {
                    // Decide again to record which statement denied.
                    let decision = self.security.authorize(who.caller(), request).await.ok().filter(|d| !d.allowed());
                    return Err((e.into(), decision));
                }
            }
        }
        // Allowed by the policies; the account's two-person rule may still want an approval.
        for request in &call.requests {
            self.security.check_two_person(who.caller(), request, approval).await.map_err(|e| (e.into(), None))?;
        }
        Ok(decisions)
    }

    /// `--by-account-id` naming another account (or `ANY`, `*`) is answered only for the
    /// management account or a delegated administrator for backup, as in AWS.
    async fn cross_account_listing(&self, who: &Authenticated, info: &OperationInfo) -> Result<(), Failure> {
        let Some(Value::String(by)) = info.parameters.get("ByAccountId") else { return Ok(()) };
        if by == who.account_id() {
            return Ok(());
        }
        if self.management_account().await.as_deref() == Some(who.account_id()) {
            return Ok(());
        }
        let delegated = self
            .orgs
            .list_delegated_administrators()
            .await
            .map(|admins| admins.iter().any(|a| a.id == who.account_id() && a.service_principal == "backup.amazonaws.com"))
            .unwrap_or(false);
        if delegated {
            return Ok(());
        }
        Err(Failure::Security(bunker_core::security::SecurityError::AccessDenied(format!(
            "{} may list only its own account's jobs: --by-account-id {by} is for the management account or a delegated administrator for backup",
            who.caller().arn
        ))))
    }

    /// Appends one event to the audit trail; a trail that cannot be written fails the call.
    pub(crate) async fn audit(&self, who: &Authenticated, call: &Call, decision: Option<&bunker_iam::Decision>, error: Option<&Failure>) -> Result<(), Failure> {
        let trail = AuditTrail::of(&self.security);
        let mut event = NewAuditEvent::new(who.caller(), call.event_source, &call.operation, &call.region);
        let mut parameters = Value::Object(call.parameters.clone());
        bunker_core::secrets::redact_parameters(&mut parameters);
        event.request_parameters = parameters;
        event.read_only = call.read_only;
        event.resources = call
            .requests
            .iter()
            .filter(|r| r.resource != "*")
            .map(|r| AuditResource { arn: r.resource.clone(), resource_type: AuditResource::type_of(&r.resource) })
            .collect();
        event.decision = match decision {
            Some(d) => {
                let by: Vec<String> = d
                    .matched_statements
                    .iter()
                    .map(|m| format!("{} statement {}", m.source_policy_id, m.sid.clone().unwrap_or_else(|| m.index.to_string())))
                    .collect();
                let word = serde_json::to_value(d.eval_decision).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                if by.is_empty() { format!("{word}: {}", d.reason) } else { format!("{word} by {}", by.join(", ")) }
            }
            None if error.is_some_and(|e| e.code().is_some_and(|c| c.contains("AccessDenied") || c.contains("Token"))) => "denied".into(),
            None if call.requests.is_empty() && error.is_some() => "refused before authorization".into(),
            None => "allowed".into(),
        };
        if let Some(e) = error {
            event.error_code = Some(e.code().unwrap_or("ClientError").to_owned());
            event.error_message = Some(e.to_string());
        }
        // The caller is told; nothing else needs to log it.
        trail.record(event).await.map(|_| ()).map_err(Failure::audit_unavailable)
    }

    /// Runs an admitted operation.
    async fn execute(&self, who: &Authenticated, place: &Place, operation: Operation) -> Result<Option<Value>, Failure> {
        match operation {
            Operation::Org(command) => org::run(&self.orgs, command).await,
            Operation::Backup(args) => backup::run(&self.backup, place, args.command).await,
            Operation::Resource(args) => resource::run(&self.backup, place, args.command).await,
            Operation::Iam(args) => iam::run(self, who.caller(), place, args).await,
            Operation::Sts(command) => sts::run(&self.security, who.caller(), command).await,
            Operation::Kms(command) => kms::run(&self.backup, place, command).await,
            Operation::Audit(command) => audit::run(self, who, command).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_classified_once() {
        let all = all_operations();
        assert!(all.len() > 100, "{} operations", all.len());
        let unclassified: Vec<String> = all.iter().filter(|(g, n, _)| classify(g, n).is_none()).map(|(g, n, _)| format!("{g} {n}")).collect();
        assert!(unclassified.is_empty(), "in neither READ_ONLY nor MUTATING (or in both): {unclassified:?}");
        // And the tables name no operation that does not exist.
        let mut unknown = Vec::new();
        for table in [READ_ONLY, MUTATING] {
            for (group, ops) in table {
                unknown.extend(ops.iter().filter(|op| !all.iter().any(|(g, n, _)| g == group && n == *op)).map(|op| format!("{group} {op}")));
            }
        }
        assert!(unknown.is_empty(), "classified but no such operation: {unknown:?}");
    }
}
