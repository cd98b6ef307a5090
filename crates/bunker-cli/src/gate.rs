//! Every AWS-style command passes here first: who is calling (credentials from
//! `BUNKER_ACCESS_KEY_ID`/`BUNKER_SECRET_ACCESS_KEY`/`BUNKER_SESSION_TOKEN`, else the
//! configured principal, else the root of the account the command names, else the
//! management account's root), what the command asks
//! (the IAM action is the service prefix and the operation name; the resource comes from
//! its arguments), whether the policies allow it — and then the audit trail records the
//! call with its decision and result, denied calls included.
//!
//! Embedded mode reads the catalog directly, so the gate protects against mistakes and
//! makes local commands answer exactly as remote ones will, not against someone who can
//! write the home directory.

use std::collections::BTreeMap;

use bunker_core::security::{AccessRequest, Caller};
use clap::ArgMatches;
use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::home::Services;
use crate::scope::DEFAULT_REGION;

/// One command as the authorizer and the audit trail see it.
#[derive(Debug, Clone)]
pub struct Call {
    /// `backup.amazonaws.com`.
    pub event_source: String,
    /// `DeleteRecoveryPoint`.
    pub operation: String,
    /// The Region it acts in.
    pub region: String,
    /// Its parameters, AWS-named.
    pub parameters: Map<String, Value>,
    /// What must be allowed (most commands: one action on one resource).
    pub requests: Vec<AccessRequest>,
    /// Reads change nothing (CloudTrail's `readOnly`).
    pub read_only: bool,
}

/// The caller of this process: the owner of `BUNKER_ACCESS_KEY_ID`, else the configured
/// principal, else the root of the account the command names, else the management
/// account's root.
///
/// # Errors
/// Wrong or expired credentials.
pub async fn caller(services: &Services, matches: &ArgMatches) -> Result<Caller, Failure> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret)) = (var(ACCESS_KEY_ENV), var(SECRET_ENV)) {
        let token = var(SESSION_TOKEN_ENV);
        return Ok(services.security.authenticate(&id, &secret, token.as_deref(), "cli").await?);
    }
    // No credentials: the configured principal (`BUNKER_PRINCIPAL`, an account's root by
    // id or `arn:aws:iam::ACCOUNT:root`: the local operator may act as any account's root,
    // having the home's files anyway), else the management account's root; before an
    // organization exists, a root outside any (nothing bounds it).
    if let Some(principal) = var("BUNKER_PRINCIPAL") {
        let account = principal.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")).unwrap_or(&principal);
        if bunker_catalog::AccountId::parse(account).is_err() {
            return Err(Failure::Parameter {
                name: "BUNKER_PRINCIPAL",
                message: format!("`{principal}` is not an account id or an account root ARN (arn:aws:iam::ACCOUNT:root)"),
            });
        }
        return Ok(Caller::root(account, "cli"));
    }
    // A command that names another account with `--account-id` acts as that account's
    // root: the local operator owns every account's data in the home anyway, and the
    // account's SCPs still bound what its root may do.
    let named = matches
        .subcommand()
        .filter(|(group, _)| SCOPED_GROUPS.contains(group))
        .and_then(|(_, m)| m.subcommand())
        .and_then(|(_, m)| {
            let first = |id: &str| match m.try_get_raw(id) {
                Ok(Some(mut values)) => values.next().map(|v| v.to_string_lossy().into_owned()),
                _ => None,
            };
            // `--account-id`, else the account of the ARN the command acts on.
            first("account_id").or_else(|| {
                ["recovery_point_arn", "resource_arn"]
                    .iter()
                    .find_map(|id| first(id))
                    .and_then(|arn| arn_account(&arn).map(str::to_owned))
            })
        });
    let management = services.orgs.describe_organization().await.ok().map(|o| o.master_account_id);
    let account = named.or(management).unwrap_or_else(|| "000000000000".to_owned());
    Ok(Caller::root(&account, "cli"))
}

/// The caller's credentials. Not `AWS_ACCESS_KEY_ID` & co.: in the embedded CLI those
/// belong to the S3-compatible storage under the vaults, as for every S3 client.
pub const ACCESS_KEY_ENV: &str = "BUNKER_ACCESS_KEY_ID";
/// The secret of [`ACCESS_KEY_ENV`].
pub const SECRET_ENV: &str = "BUNKER_SECRET_ACCESS_KEY";
/// The session token of temporary credentials.
pub const SESSION_TOKEN_ENV: &str = "BUNKER_SESSION_TOKEN";

/// The approval request a call under the two-person rule uses.
pub const APPROVAL_ENV: &str = "BUNKER_APPROVAL_ID";

/// The command groups that act in an account (`--account-id`).
const SCOPED_GROUPS: &[&str] = &["backup", "resource", "iam", "kms"];

fn service_of(group: &str) -> Option<(&'static str, &'static str)> {
    Some(match group {
        "org" => ("organizations", "organizations.amazonaws.com"),
        "backup" => ("backup", "backup.amazonaws.com"),
        "resource" => ("bunker", "bunker.amazonaws.com"),
        "iam" => ("iam", "iam.amazonaws.com"),
        "kms" => ("kms", "kms.amazonaws.com"),
        "audit" => ("cloudtrail", "cloudtrail.amazonaws.com"),
        "sts" => ("sts", "sts.amazonaws.com"),
        _ => return None,
    })
}

/// `backup_vault_name` → `BackupVaultName`.
fn aws_name(id: &str) -> String {
    crate::org::operation_name(&id.replace('_', "-"))
}

fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The request for `action` on `resource`, with the resource's policy when it has one.
///
/// # Errors
/// Catalog failures.
pub async fn request_for(services: &Services, action: &str, resource: &str, default_account: &str) -> Result<AccessRequest, Failure> {
    Ok(services.security.access_request(action, resource, default_account).await?)
}

/// The call `matches` asks for, `None` for commands that are not AWS operations.
///
/// # Errors
/// Catalog failures while finding a resource's policy.
pub async fn call_for(services: &Services, matches: &ArgMatches, caller: &Caller) -> Result<Option<Call>, Failure> {
    let Some((group, group_matches)) = matches.subcommand() else { return Ok(None) };
    let Some((prefix, event_source)) = service_of(group) else { return Ok(None) };
    let Some((sub, sub_matches)) = group_matches.subcommand() else { return Ok(None) };
    let operation = crate::org::operation_name(sub);
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    for id in sub_matches.ids() {
        let id = id.as_str();
        // Where the home is and how to print are this process's business, not the call's.
        if ["home", "output", "query", "verbose"].contains(&id) {
            continue;
        }
        if let Ok(Some(values)) = sub_matches.try_get_raw(id) {
            let values: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
            if !values.is_empty() {
                args.insert(id.to_owned(), values.join(","));
            }
        }
    }
    let account = args.get("account_id").cloned().unwrap_or_else(|| caller.account_id.clone());
    let region = args
        .get("region")
        .cloned()
        .or_else(|| ["AWS_REGION", "AWS_DEFAULT_REGION"].iter().find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty())))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let action = format!("{prefix}:{operation}");
    let resource = match group {
        "backup" => {
            if let Some(arn) = args.get("recovery_point_arn") {
                arn.clone()
            } else if let Some(name) = args.get("backup_vault_name") {
                bunker_core::backup::vault_arn(&region, &account, name)
            } else if let Some(id) = args.get("backup_plan_id") {
                bunker_core::backup::plan_arn(&region, &account, id)
            } else if let Some(id) = args.get("legal_hold_id") {
                format!("arn:aws:backup:{region}:{account}:legal-hold:{id}")
            } else {
                "*".to_owned()
            }
        }
        "iam" => match (args.get("user_name"), args.get("role_name")) {
            (Some(user), _) => format!("arn:aws:iam::{account}:user/{user}"),
            (None, Some(role)) => format!("arn:aws:iam::{account}:role/{role}"),
            _ => "*".to_owned(),
        },
        "kms" => match args.get("key_id") {
            Some(id) if id.starts_with("arn:") => id.clone(),
            Some(id) => format!("arn:aws:kms:{region}:{account}:{}", if id.starts_with("alias/") { id.clone() } else { format!("key/{id}") }),
            None => "*".to_owned(),
        },
        "resource" => args.get("resource_arn").cloned().unwrap_or_else(|| "*".to_owned()),
        _ => "*".to_owned(),
    };
    let mut requests = Vec::new();
    // STS authorizes inside (the trust policy is the resource policy); asking who one is
    // needs no permission, as in AWS.
    if group != "sts" && operation != "Simulate" {
        let mut request = request_for(services, &action, &resource, &account).await?;
        if group == "org" {
            // Organizations' resources are the management account's; before an organization
            // exists, the caller's own.
            request.resource_account =
                services.orgs.describe_organization().await.map(|o| o.master_account_id).unwrap_or_else(|_| caller.account_id.clone());
            request.organizations_policy_type = match (args.get("type"), args.get("policy_id")) {
                (Some(t), _) => Some(t.clone()),
                (None, Some(id)) => services.orgs.describe_policy(id).await.ok().map(|p| p.summary.policy_type.as_str().to_owned()),
                _ => None,
            };
        }
        if let Some(tags) = args.get("backup_vault_tags").or_else(|| args.get("tags")) {
            request.request_tags = crate::failure::string_map("--tags", tags.clone()).unwrap_or_default();
        }
        requests.push(request);
    }
    // Bypassing a governance-mode Vault Lock is a permission of its own (and needs MFA).
    if args.get("bypass_governance_retention").is_some_and(|v| v == "true") {
        requests.push(request_for(services, "backup:BypassGovernanceRetention", &resource, &account).await?);
    }
    // A copy asks the destination vault too: its access policy must let the caller in.
    if let Some(destination) = args.get("destination_backup_vault_arn") {
        requests.push(request_for(services, "backup:CopyIntoBackupVault", destination, &account).await?);
    }
    let read_only = ["Describe", "Get", "List", "Lookup", "Verify", "Simulate"].iter().any(|p| operation.starts_with(p));
    let parameters = args.iter().map(|(k, v)| (aws_name(k), Value::String(v.clone()))).collect();
    Ok(Some(Call { event_source: event_source.to_owned(), operation, region, parameters, requests, read_only }))
}

/// Authorizes every request of `call`; the first denial is the error.
///
/// # Errors
/// `AccessDeniedException` in AWS's words, naming what decided.
pub async fn authorize(services: &Services, caller: &Caller, call: &Call) -> Result<Vec<bunker_iam::Decision>, Failure> {
    let mut decisions = Vec::new();
    for request in &call.requests {
        decisions.push(services.security.require(caller, request).await?);
    }
    // Allowed by the policies; the account's two-person rule may still want an approval.
    let approval = std::env::var(APPROVAL_ENV).ok().filter(|v| !v.is_empty());
    for request in &call.requests {
        services.security.check_two_person(caller, request, approval.as_deref()).await?;
    }
    Ok(decisions)
}

/// A command let through: who called, what it asked, and why it was allowed.
#[derive(Debug)]
pub struct Admitted {
    /// The caller.
    pub caller: Caller,
    /// The call (`None` for commands that are not AWS operations).
    pub call: Option<Call>,
    /// The decisions that allowed it.
    pub decisions: Vec<bunker_iam::Decision>,
}

/// Authenticates the caller and authorizes the command `matches` holds. A refusal is
/// recorded in the audit trail before it is returned.
///
/// # Errors
/// Bad or expired credentials; `AccessDeniedException`.
pub async fn admit(services: &Services, matches: &ArgMatches) -> Result<Admitted, Failure> {
    let caller = match caller(services, matches).await {
        Ok(caller) => caller,
        Err(failure) => {
            // Unknown who: the event names the access key that was tried.
            let mut unknown = Caller::root("000000000000", "cli");
            unknown.arn = "unknown".into();
            unknown.access_key_id = std::env::var(ACCESS_KEY_ENV).ok();
            if let Ok(Some(call)) = call_for(services, matches, &unknown).await {
                audit_event(services, &unknown, &call, None, Some(&failure)).await;
            }
            return Err(failure);
        }
    };
    crate::scope::set_caller_account(&caller.account_id);
    let call = call_for(services, matches, &caller).await?;
    let mut decisions = Vec::new();
    if let Some(call) = &call {
        match authorize(services, &caller, call).await {
            Ok(d) => decisions = d,
            Err(failure) => {
                let decision = match &failure {
                    // Re-decide to record which statement denied.
                    Failure::Security(_) => {
                        let mut last = None;
                        for r in &call.requests {
                            if let Ok(d) = services.security.authorize(&caller, r).await
                                && !d.allowed() {
                                    last = Some(d);
                                    break;
                                }
                        }
                        last
                    }
                    _ => None,
                };
                audit_event(services, &caller, call, decision.as_ref(), Some(&failure)).await;
                return Err(failure);
            }
        }
    }
    Ok(Admitted { caller, call, decisions })
}

/// Records an admitted command's result in the audit trail.
pub async fn record(services: &Services, admitted: &Admitted, result: &Result<Option<Value>, Failure>) {
    if let Some(call) = &admitted.call {
        audit_event(services, &admitted.caller, call, admitted.decisions.last(), result.as_ref().err()).await;
    }
}

/// Appends one event to the audit trail; a trail that cannot be written is logged loudly
/// (the command's own result stands).
async fn audit_event(services: &Services, caller: &Caller, call: &Call, decision: Option<&bunker_iam::Decision>, error: Option<&Failure>) {
    use bunker_core::security::audit::{AuditResource, AuditTrail, NewAuditEvent};
    let trail = AuditTrail::new(
        services.backup.catalog().clone(),
        services.security.master_key().clone(),
        services.security.clock().clone(),
    );
    let mut event = NewAuditEvent::new(caller, &call.event_source, &call.operation, &call.region);
    event.request_parameters = Value::Object(call.parameters.clone());
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
        None => "allowed".into(),
    };
    if let Some(e) = error {
        event.error_code = Some(e.code().unwrap_or("ClientError").to_owned());
        event.error_message = Some(e.to_string());
    }
    if let Err(e) = trail.record(event).await {
        tracing::error!(operation = %call.operation, "cannot write the audit trail: {e}");
    }
}
