//! `bunker iam`: users, roles, their policies, access keys and MFA devices in an account
//! (`--account-id`, default the caller's), as `aws iam …` names and prints them; and
//! `simulate`, which decides one request and names the statement that decided.

use bunker_core::security::{Caller, IdentityType};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws_json::shape;
use crate::failure::{Failure, string_map};
use crate::Service;
use crate::scope::{Place, Scope};

/// `bunker iam [--account-id] <operation>`.
#[derive(Debug, Clone, Args, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IamArgs {
    #[serde(flatten)]
    #[command(flatten)]
    pub scope: Scope,
    #[command(subcommand)]
    pub command: Command,
}

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum Command {
    /// Make an IAM user.
    CreateUser(UserName),
    /// Show a user.
    GetUser(UserName),
    /// List the account's users.
    ListUsers,
    /// Delete a user with its policies and access keys.
    DeleteUser(UserName),
    /// Make a role that principals named by its trust policy may assume.
    CreateRole {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The trust policy, or `file://PATH`.
        #[arg(long)]
        assume_role_policy_document: String,
        /// Longest session, in seconds (900–43200).
        #[arg(long)]
        max_session_duration: Option<i64>,
    },
    /// Show a role.
    GetRole(RoleName),
    /// List the account's roles.
    ListRoles,
    /// Delete a role.
    DeleteRole(RoleName),
    /// Replace a role's trust policy.
    UpdateAssumeRolePolicy {
        /// The role.
        #[arg(long)]
        role_name: String,
        /// The trust policy, or `file://PATH`.
        #[arg(long)]
        policy_document: String,
    },
    /// Put an inline policy on a user.
    PutUserPolicy {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
        /// The document, or `file://PATH`.
        #[arg(long)]
        policy_document: String,
    },
    /// Put an inline policy on a role.
    PutRolePolicy {
        /// The role.
        #[arg(long)]
        role_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
        /// The document, or `file://PATH`.
        #[arg(long)]
        policy_document: String,
    },
    /// Attach an AWS managed policy (AdministratorAccess, AWSBackupFullAccess,
    /// AWSBackupOperatorAccess, ReadOnlyAccess) to a user.
    AttachUserPolicy {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// `arn:aws:iam::aws:policy/NAME`.
        #[arg(long)]
        policy_arn: String,
    },
    /// Attach an AWS managed policy to a role.
    AttachRolePolicy {
        /// The role.
        #[arg(long)]
        role_name: String,
        /// `arn:aws:iam::aws:policy/NAME`.
        #[arg(long)]
        policy_arn: String,
    },
    /// Detach a managed policy from a user.
    DetachUserPolicy {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Detach a managed policy from a role.
    DetachRolePolicy {
        /// The role.
        #[arg(long)]
        role_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Delete a user's inline policy.
    DeleteUserPolicy {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Delete a role's inline policy.
    DeleteRolePolicy {
        /// The role.
        #[arg(long)]
        role_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// List a user's policies (inline names and attached managed ARNs).
    ListUserPolicies(UserName),
    /// List a role's policies.
    ListRolePolicies(RoleName),
    /// Make an access key for a user (the secret is shown once).
    CreateAccessKey(UserName),
    /// List a user's access keys.
    ListAccessKeys(UserName),
    /// Set an access key Active or Inactive.
    UpdateAccessKey {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// The key.
        #[arg(long)]
        access_key_id: String,
        /// `Active` or `Inactive`.
        #[arg(long)]
        status: String,
    },
    /// Delete an access key.
    DeleteAccessKey {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// The key.
        #[arg(long)]
        access_key_id: String,
    },
    /// Make a virtual MFA device (its Base32 seed is shown once).
    CreateVirtualMfaDevice {
        /// The device's name.
        #[arg(long)]
        virtual_mfa_device_name: String,
    },
    /// Enable an MFA device for a user with two consecutive codes.
    EnableMfaDevice {
        /// The user.
        #[arg(long)]
        user_name: String,
        /// The device's serial number (ARN).
        #[arg(long)]
        serial_number: String,
        /// A code.
        #[arg(long)]
        authentication_code1: String,
        /// The next code.
        #[arg(long)]
        authentication_code2: String,
    },
    /// List a user's MFA devices.
    ListMfaDevices(UserName),
    /// Turn the two-person rule on for the account: deleting keys, bypassing a governance
    /// lock and turning the rule off then need a second principal's approval.
    EnableTwoPersonRule,
    /// Turn the two-person rule off (itself needs an approval while it is on).
    DisableTwoPersonRule,
    /// Approve another principal's request under the two-person rule (needs MFA).
    ApproveRequest {
        /// The request (`apr-…`), as the refused call named it.
        #[arg(long)]
        request_id: String,
    },
    /// List the account's approval requests, newest first.
    ListApprovalRequests,
    /// Decide one request as the service would and name the statement that decided.
    Simulate {
        /// Who: `arn:aws:iam::A:root`, `…:user/NAME`, `…:role/NAME` (as a session of it).
        #[arg(long)]
        principal: String,
        /// `backup:DeleteRecoveryPoint`.
        #[arg(long)]
        action: String,
        /// The resource ARN (`*` when the action has none).
        #[arg(long, default_value = "*")]
        resource: String,
        /// The caller showed MFA (`aws:MultiFactorAuthPresent`).
        #[arg(long)]
        mfa: bool,
        /// The caller's address (`aws:SourceIp`).
        #[arg(long)]
        source_ip: Option<String>,
        /// Request tags (`aws:RequestTag/…`): `k=v,…` or JSON.
        #[arg(long)]
        request_tags: Option<String>,
    },
}

/// `--user-name`.
#[derive(Debug, Clone, Args, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserName {
    /// The user.
    #[arg(long)]
    user_name: String,
}

/// `--role-name`.
#[derive(Debug, Clone, Args, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleName {
    /// The role.
    #[arg(long)]
    role_name: String,
}

fn policy_list(rows: Vec<bunker_catalog::PrincipalPolicyRow>) -> Value {
    let (managed, inline): (Vec<_>, Vec<_>) = rows.into_iter().partition(|p| p.policy_arn.is_some());
    json!({
        "PolicyNames": inline.iter().map(|p| p.policy_name.clone()).collect::<Vec<_>>(),
        "AttachedPolicies": managed.iter().map(|p| json!({
            "PolicyName": p.policy_name.rsplit('/').next().unwrap_or_default(),
            "PolicyArn": p.policy_arn,
        })).collect::<Vec<_>>(),
    })
}

/// The caller a simulation pretends to be.
fn simulated_caller(arn: &str, mfa: bool, source_ip: Option<String>) -> Result<Caller, Failure> {
    let parsed = bunker_iam::Arn::parse(arn).map_err(|e| Failure::Parameter { name: "--principal", message: e.to_string() })?;
    let account = parsed.account.clone();
    let mut caller = Caller::root(&account, "cli");
    if let Some(role) = parsed.resource.strip_prefix("role/") {
        let name = role.rsplit('/').next().unwrap_or(role);
        caller.identity_type = IdentityType::AssumedRole;
        caller.arn = format!("arn:aws:sts::{account}:assumed-role/{name}/simulation");
        caller.policy_owner = Some(arn.to_owned());
        caller.principal_id = format!("AROA:{name}");
        caller.mfa_authenticated = Some(mfa);
    } else if parsed.resource.starts_with("user/") {
        caller.identity_type = IdentityType::IamUser;
        caller.arn = arn.to_owned();
        caller.policy_owner = Some(arn.to_owned());
        caller.mfa_authenticated = mfa.then_some(true);
    } else if parsed.resource != "root" {
        return Err(Failure::Parameter { name: "--principal", message: format!("`{arn}` is not a root, user or role ARN") });
    } else if mfa {
        caller.mfa_authenticated = Some(true);
    }
    caller.source_ip = source_ip;
    Ok(caller)
}

/// Runs one operation.
pub(crate) async fn run(service: &Service, caller: &bunker_core::security::Caller, place: &Place, args: IamArgs) -> Result<Option<Value>, Failure> {
    // Principals may live in accounts outside the organization (standalone accounts), so
    // the account was not checked against it.
    let account = place.account.as_str();
    let sec = &service.security;
    use Command as C;
    let out = match args.command {
        C::CreateUser(u) => json!({ "User": shape(&sec.create_user(account, &u.user_name, None).await?) }),
        C::GetUser(u) => json!({ "User": shape(&sec.get_user(account, &u.user_name).await?) }),
        C::ListUsers => json!({ "Users": shape(&sec.list_users(account).await?) }),
        C::DeleteUser(u) => {
            sec.delete_user(account, &u.user_name).await?;
            return Ok(None);
        }
        C::CreateRole { role_name, assume_role_policy_document, max_session_duration } => {
            let doc = assume_role_policy_document;
            json!({ "Role": shape(&sec.create_role(account, &role_name, &doc, None, max_session_duration).await?) })
        }
        C::GetRole(r) => json!({ "Role": shape(&sec.get_role(account, &r.role_name).await?) }),
        C::ListRoles => json!({ "Roles": shape(&sec.list_roles(account).await?) }),
        C::DeleteRole(r) => {
            sec.delete_role(account, &r.role_name).await?;
            return Ok(None);
        }
        C::UpdateAssumeRolePolicy { role_name, policy_document } => {
            let doc = policy_document;
            sec.update_assume_role_policy(account, &role_name, &doc).await?;
            return Ok(None);
        }
        C::PutUserPolicy { user_name, policy_name, policy_document } => {
            let doc = policy_document;
            sec.put_inline_policy(account, "USER", &user_name, &policy_name, &doc).await?;
            return Ok(None);
        }
        C::PutRolePolicy { role_name, policy_name, policy_document } => {
            let doc = policy_document;
            sec.put_inline_policy(account, "ROLE", &role_name, &policy_name, &doc).await?;
            return Ok(None);
        }
        C::AttachUserPolicy { user_name, policy_arn } => {
            sec.attach_managed_policy(account, "USER", &user_name, &policy_arn).await?;
            return Ok(None);
        }
        C::AttachRolePolicy { role_name, policy_arn } => {
            sec.attach_managed_policy(account, "ROLE", &role_name, &policy_arn).await?;
            return Ok(None);
        }
        C::DetachUserPolicy { user_name, policy_arn: policy } | C::DeleteUserPolicy { user_name, policy_name: policy } => {
            sec.remove_policy(account, "USER", &user_name, &policy).await?;
            return Ok(None);
        }
        C::DetachRolePolicy { role_name, policy_arn: policy } | C::DeleteRolePolicy { role_name, policy_name: policy } => {
            sec.remove_policy(account, "ROLE", &role_name, &policy).await?;
            return Ok(None);
        }
        C::ListUserPolicies(u) => policy_list(sec.policies_of(account, "USER", &u.user_name).await?),
        C::ListRolePolicies(r) => policy_list(sec.policies_of(account, "ROLE", &r.role_name).await?),
        C::CreateAccessKey(u) => json!({ "AccessKey": shape(&sec.create_access_key(account, &u.user_name).await?) }),
        C::ListAccessKeys(u) => json!({ "AccessKeyMetadata": shape(&sec.list_access_keys(account, &u.user_name).await?) }),
        C::UpdateAccessKey { user_name, access_key_id, status } => {
            sec.update_access_key(account, &user_name, &access_key_id, &status).await?;
            return Ok(None);
        }
        C::DeleteAccessKey { user_name, access_key_id } => {
            sec.delete_access_key(account, &user_name, &access_key_id).await?;
            return Ok(None);
        }
        C::CreateVirtualMfaDevice { virtual_mfa_device_name } => {
            json!({ "VirtualMFADevice": shape(&sec.create_virtual_mfa_device(account, &virtual_mfa_device_name).await?) })
        }
        C::EnableMfaDevice { user_name, serial_number, authentication_code1, authentication_code2 } => {
            sec.enable_mfa_device(account, &user_name, &serial_number, &authentication_code1, &authentication_code2).await?;
            return Ok(None);
        }
        C::ListMfaDevices(u) => json!({ "MFADevices": shape(&sec.list_mfa_devices(account, &u.user_name).await?) }),
        C::EnableTwoPersonRule => {
            sec.enable_two_person_rule(account).await?;
            return Ok(None);
        }
        C::DisableTwoPersonRule => {
            sec.disable_two_person_rule(account).await?;
            return Ok(None);
        }
        C::ApproveRequest { request_id } => json!({ "ApprovalRequest": shape(&sec.approve_request(caller, &request_id).await?) }),
        C::ListApprovalRequests => json!({ "ApprovalRequests": shape(&sec.list_approval_requests(account).await?) }),
        C::Simulate { principal, action, resource, mfa, source_ip, request_tags } => {
            let caller = simulated_caller(&principal, mfa, source_ip)?;
            let mut request = sec.access_request(&action, &resource, account).await?;
            if let Some(tags) = request_tags {
                request.request_tags = string_map("--request-tags", tags)?;
            }
            let decision = sec.authorize(&caller, &request).await?;
            let mut result = shape(&decision);
            if let Value::Object(map) = &mut result {
                map.insert("EvalActionName".into(), json!(action));
                map.insert("EvalResourceName".into(), json!(resource));
            }
            json!({ "EvaluationResults": [result] })
        }
    };
    Ok(Some(out))
}


