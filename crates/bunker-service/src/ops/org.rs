//! `bunker org …`: the AWS Organizations operations, with the names, flags and JSON output
//! of `aws organizations …`.

use bunker_core::{CreateAccount, CreateOrganization, CreatePolicy, Organizations, UpdatePolicy};
use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws_json as aws;
use crate::failure::Failure;

/// The operations. Each name, flag and output key is the AWS CLI's; the ones marked
/// "Bunker extension" have no AWS counterpart.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum OrgCommand {
    /// Create the organization, with its root and its management account in the root.
    CreateOrganization {
        /// Only ALL: backup policies need all features.
        #[arg(long, default_value = "ALL")]
        feature_set: String,
        /// Bunker extension: the management account's id (12 digits; generated if omitted).
        #[arg(long, value_name = "ID")]
        management_account_id: Option<String>,
        /// Bunker extension: the management account's email address.
        #[arg(long, value_name = "EMAIL")]
        management_account_email: Option<String>,
    },
    /// Describe the organization.
    DescribeOrganization,
    /// List the roots (there is one) with the policy types enabled on them.
    ListRoots,
    /// Create an organizational unit in a root or another OU.
    CreateOrganizationalUnit {
        /// The root (r-…) or OU (ou-…) to create it in.
        #[arg(long)]
        parent_id: String,
        /// Its name, unique within the parent.
        #[arg(long)]
        name: String,
    },
    /// Describe an organizational unit.
    DescribeOrganizationalUnit {
        /// The OU (ou-…).
        #[arg(long)]
        organizational_unit_id: String,
    },
    /// Delete an empty organizational unit (its policies are detached).
    DeleteOrganizationalUnit {
        /// The OU (ou-…).
        #[arg(long)]
        organizational_unit_id: String,
    },
    /// List the organizational units directly in a root or OU.
    ListOrganizationalUnitsForParent {
        /// The root (r-…) or OU (ou-…).
        #[arg(long)]
        parent_id: String,
    },
    /// List the parent of an OU or account.
    ListParents {
        /// The OU (ou-…) or account (12 digits).
        #[arg(long)]
        child_id: String,
    },
    /// List the accounts or OUs directly in a root or OU.
    ListChildren {
        /// The root (r-…) or OU (ou-…).
        #[arg(long)]
        parent_id: String,
        /// ACCOUNT or ORGANIZATIONAL_UNIT.
        #[arg(long)]
        child_type: String,
    },
    /// Create an account (at once: the status returned is final).
    CreateAccount {
        /// The account's name.
        #[arg(long)]
        account_name: String,
        /// Its email address, unique in the organization.
        #[arg(long)]
        email: String,
        /// Bunker extension: its id (12 digits), e.g. to mirror an existing AWS account.
        #[arg(long, value_name = "ID")]
        account_id: Option<String>,
        /// Bunker extension: the root or OU to put it in (default: the root).
        #[arg(long)]
        parent_id: Option<String>,
    },
    /// Describe an account.
    DescribeAccount {
        /// The account (12 digits).
        #[arg(long)]
        account_id: String,
    },
    /// List every account in the organization.
    ListAccounts,
    /// List the accounts directly in a root or OU.
    ListAccountsForParent {
        /// The root (r-…) or OU (ou-…).
        #[arg(long)]
        parent_id: String,
    },
    /// Move an account from its parent to another root or OU.
    MoveAccount {
        /// The account (12 digits).
        #[arg(long)]
        account_id: String,
        /// Where it is now.
        #[arg(long)]
        source_parent_id: String,
        /// Where it goes.
        #[arg(long)]
        destination_parent_id: String,
    },
    /// Enable a policy type on the root (BACKUP_POLICY).
    EnablePolicyType {
        /// The root (r-…).
        #[arg(long)]
        root_id: String,
        /// BACKUP_POLICY.
        #[arg(long)]
        policy_type: String,
    },
    /// Disable a policy type on the root, detaching every policy of that type.
    DisablePolicyType {
        /// The root (r-…).
        #[arg(long)]
        root_id: String,
        /// BACKUP_POLICY.
        #[arg(long)]
        policy_type: String,
    },
    /// Create a policy; the document is checked against every rule of its type.
    CreatePolicy {
        /// The policy type: BACKUP_POLICY.
        #[arg(long = "type", value_name = "TYPE")]
        policy_type: String,
        /// Its name, unique in the organization.
        #[arg(long)]
        name: String,
        /// The document: JSON text, or file://PATH to read it from a file.
        #[arg(long)]
        content: String,
        /// A description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change a policy's name, description or document.
    UpdatePolicy {
        /// The policy (p-…).
        #[arg(long)]
        policy_id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// A new document: JSON text, or file://PATH.
        #[arg(long)]
        content: Option<String>,
    },
    /// Delete a policy that is attached nowhere.
    DeletePolicy {
        /// The policy (p-…).
        #[arg(long)]
        policy_id: String,
    },
    /// Describe a policy, with its document.
    DescribePolicy {
        /// The policy (p-…).
        #[arg(long)]
        policy_id: String,
    },
    /// List the policies of a type.
    ListPolicies {
        /// The policy type: BACKUP_POLICY.
        #[arg(long)]
        filter: String,
    },
    /// Attach a policy to the root, an OU or an account (after the target's other policies).
    AttachPolicy {
        /// The policy (p-…).
        #[arg(long)]
        policy_id: String,
        /// The root (r-…), OU (ou-…) or account (12 digits).
        #[arg(long)]
        target_id: String,
    },
    /// Let a member account manage backup policies (`--service-principal backup.amazonaws.com`).
    RegisterDelegatedAdministrator {
        /// The member account.
        #[arg(long)]
        account_id: String,
        /// `backup.amazonaws.com`.
        #[arg(long)]
        service_principal: String,
    },
    /// Stop a member account being a delegated administrator.
    DeregisterDelegatedAdministrator {
        /// The member account.
        #[arg(long)]
        account_id: String,
        /// `backup.amazonaws.com`.
        #[arg(long)]
        service_principal: String,
    },
    /// List the delegated administrators.
    ListDelegatedAdministrators,
    /// Detach a policy from a target.
    DetachPolicy {
        /// The policy (p-…).
        #[arg(long)]
        policy_id: String,
        /// The root (r-…), OU (ou-…) or account (12 digits).
        #[arg(long)]
        target_id: String,
    },
    /// List the policies of a type attached directly to a target, in attachment order.
    ListPoliciesForTarget {
        /// The root (r-…), OU (ou-…) or account (12 digits).
        #[arg(long)]
        target_id: String,
        /// The policy type: BACKUP_POLICY.
        #[arg(long)]
        filter: String,
    },
    /// List the targets a policy is attached to.
    ListTargetsForPolicy {
        /// The policy (p-…).
        #[arg(long)]
        policy_id: String,
    },
    /// Show an account's effective policy: every policy from the root down, merged.
    DescribeEffectivePolicy {
        /// BACKUP_POLICY.
        #[arg(long)]
        policy_type: String,
        /// The account (default: the management account, the caller in embedded mode).
        #[arg(long)]
        target_id: Option<String>,
    },
    /// Bunker extension: which policy set each value of an account's effective backup
    /// policy, and which operations were ignored and why.
    ExplainEffectivePolicy {
        /// The account (12 digits).
        #[arg(long)]
        target_id: String,
    },
    /// Bunker extension: the AWS Backup plans an account's effective backup policy yields.
    ListEffectivePlans {
        /// The account (12 digits).
        #[arg(long)]
        account_id: String,
        /// Only the plans of this Region.
        #[arg(long)]
        region: Option<String>,
    },
}

/// Runs one operation. `None` for operations that print nothing (as in the AWS CLI).
pub async fn run(svc: &Organizations, command: OrgCommand) -> Result<Option<Value>, Failure> {
    use OrgCommand as C;
    let output = match command {
        C::CreateOrganization { feature_set, management_account_id, management_account_email } => {
            let req = CreateOrganization {
                feature_set: Some(feature_set),
                management_account_id,
                management_account_email,
            };
            json!({"Organization": aws::organization(&svc.create_organization(req).await?)})
        }
        C::DescribeOrganization => json!({"Organization": aws::organization(&svc.describe_organization().await?)}),
        C::ListRoots => aws::list("Roots", &svc.list_roots().await?, aws::root),
        C::CreateOrganizationalUnit { parent_id, name } => {
            let ou = svc.create_organizational_unit(&parent_id, &name).await?;
            json!({"OrganizationalUnit": aws::organizational_unit(&ou)})
        }
        C::DescribeOrganizationalUnit { organizational_unit_id } => {
            let ou = svc.describe_organizational_unit(&organizational_unit_id).await?;
            json!({"OrganizationalUnit": aws::organizational_unit(&ou)})
        }
        C::DeleteOrganizationalUnit { organizational_unit_id } => {
            svc.delete_organizational_unit(&organizational_unit_id).await?;
            return Ok(None);
        }
        C::ListOrganizationalUnitsForParent { parent_id } => {
            let ous = svc.list_organizational_units_for_parent(&parent_id).await?;
            aws::list("OrganizationalUnits", &ous, aws::organizational_unit)
        }
        C::ListParents { child_id } => aws::list("Parents", &svc.list_parents(&child_id).await?, aws::node),
        C::ListChildren { parent_id, child_type } => {
            aws::list("Children", &svc.list_children(&parent_id, &child_type).await?, aws::node)
        }
        command => return run_accounts(svc, command).await,
    };
    Ok(Some(output))
}

async fn run_accounts(svc: &Organizations, command: OrgCommand) -> Result<Option<Value>, Failure> {
    use OrgCommand as C;
    let output = match command {
        C::CreateAccount { account_name, email, account_id, parent_id } => {
            let status = svc.create_account(CreateAccount { account_name, email, account_id, parent_id }).await?;
            json!({"CreateAccountStatus": aws::create_account_status(&status)})
        }
        C::DescribeAccount { account_id } => json!({"Account": aws::account(&svc.describe_account(&account_id).await?)}),
        C::ListAccounts => aws::list("Accounts", &svc.list_accounts().await?, aws::account),
        C::ListAccountsForParent { parent_id } => {
            aws::list("Accounts", &svc.list_accounts_for_parent(&parent_id).await?, aws::account)
        }
        C::MoveAccount { account_id, source_parent_id, destination_parent_id } => {
            svc.move_account(&account_id, &source_parent_id, &destination_parent_id).await?;
            return Ok(None);
        }
        C::EnablePolicyType { root_id, policy_type } => {
            json!({"Root": aws::root(&svc.enable_policy_type(&root_id, &policy_type).await?)})
        }
        C::DisablePolicyType { root_id, policy_type } => {
            json!({"Root": aws::root(&svc.disable_policy_type(&root_id, &policy_type).await?)})
        }
        command => return run_policies(svc, command).await,
    };
    Ok(Some(output))
}

async fn run_policies(svc: &Organizations, command: OrgCommand) -> Result<Option<Value>, Failure> {
    use OrgCommand as C;
    let output = match command {
        C::CreatePolicy { policy_type, name, content: text, description } => {
            let content = text;
            let policy = svc.create_policy(CreatePolicy { name, description, policy_type, content }).await?;
            json!({"Policy": aws::policy(&policy)})
        }
        C::UpdatePolicy { policy_id, name, description, content: text } => {
            let content = text;
            let policy = svc.update_policy(UpdatePolicy { policy_id, name, description, content }).await?;
            json!({"Policy": aws::policy(&policy)})
        }
        C::DeletePolicy { policy_id } => {
            svc.delete_policy(&policy_id).await?;
            return Ok(None);
        }
        C::DescribePolicy { policy_id } => json!({"Policy": aws::policy(&svc.describe_policy(&policy_id).await?)}),
        C::ListPolicies { filter } => aws::list("Policies", &svc.list_policies(&filter).await?, aws::policy_summary),
        C::AttachPolicy { policy_id, target_id } => {
            svc.attach_policy(&policy_id, &target_id).await?;
            return Ok(None);
        }
        C::RegisterDelegatedAdministrator { account_id, service_principal } => {
            svc.register_delegated_administrator(&account_id, &service_principal).await?;
            return Ok(None);
        }
        C::DeregisterDelegatedAdministrator { account_id, service_principal } => {
            svc.deregister_delegated_administrator(&account_id, &service_principal).await?;
            return Ok(None);
        }
        C::ListDelegatedAdministrators => {
            serde_json::json!({ "DelegatedAdministrators": crate::aws_json::shape(&svc.list_delegated_administrators().await?) })
        }
        C::DetachPolicy { policy_id, target_id } => {
            svc.detach_policy(&policy_id, &target_id).await?;
            return Ok(None);
        }
        C::ListPoliciesForTarget { target_id, filter } => {
            let policies = svc.list_policies_for_target(&target_id, &filter).await?;
            aws::list("Policies", &policies, aws::policy_summary)
        }
        C::ListTargetsForPolicy { policy_id } => {
            aws::list("Targets", &svc.list_targets_for_policy(&policy_id).await?, aws::policy_target)
        }
        command => return run_effective(svc, command).await,
    };
    Ok(Some(output))
}

async fn run_effective(svc: &Organizations, command: OrgCommand) -> Result<Option<Value>, Failure> {
    use OrgCommand as C;
    let output = match command {
        C::DescribeEffectivePolicy { policy_type, target_id } => {
            let target = match target_id {
                Some(t) => t,
                None => svc.describe_organization().await?.master_account_id,
            };
            let effective = svc.describe_effective_policy(&policy_type, &target).await?;
            json!({"EffectivePolicy": aws::effective_policy(&effective)})
        }
        C::ExplainEffectivePolicy { target_id } => {
            let explanation = svc.explain_effective_policy(&target_id).await?;
            json!({"TargetId": target_id, "Explanation": explanation})
        }
        C::ListEffectivePlans { account_id, region } => {
            let plans = svc.list_effective_plans(&account_id, region.as_deref()).await?;
            json!({"BackupPlans": serde_json::to_value(plans).expect("plans serialize")})
        }
        other => unreachable!("every command is handled above: {other:?}"),
    };
    Ok(Some(output))
}

/// The AWS operation name of a subcommand: `delete-policy` → `DeletePolicy`.
pub fn operation_name(subcommand: &str) -> String {
    subcommand
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names() {
        assert_eq!(operation_name("delete-policy"), "DeletePolicy");
        assert_eq!(operation_name("list-organizational-units-for-parent"), "ListOrganizationalUnitsForParent");
    }

}
