//! What the organization operations return, shaped like the AWS Organizations API's
//! response objects (field for field). Rendering (JSON keys, timestamp format) belongs
//! to the edge that prints them: the CLI and, later, the API server.

use bunker_catalog::{PolicyType, TargetKind};
use jiff::Timestamp;

/// A policy type and its status (`ENABLED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTypeSummary {
    /// The type.
    pub policy_type: PolicyType,
    /// Its status.
    pub status: String,
}

/// `Organization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// `o-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `ALL`.
    pub feature_set: String,
    /// The management account's ARN (AWS still calls it master).
    pub master_account_arn: String,
    /// The management account's id.
    pub master_account_id: String,
    /// The management account's email.
    pub master_account_email: String,
    /// The policy types this organization can use.
    pub available_policy_types: Vec<PolicyTypeSummary>,
}

/// `Root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// `r-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `Root`.
    pub name: String,
    /// The policy types enabled on it.
    pub policy_types: Vec<PolicyTypeSummary>,
}

/// `OrganizationalUnit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationalUnit {
    /// `ou-…-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
}

/// `Account`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// 12 digits.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its email address.
    pub email: String,
    /// Its name.
    pub name: String,
    /// `ACTIVE`.
    pub status: String,
    /// `CREATED`.
    pub joined_method: String,
    /// When it joined.
    pub joined_timestamp: Timestamp,
}

/// `CreateAccountStatus`. Bunker creates accounts synchronously, so the state is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAccountStatus {
    /// `car-…`.
    pub id: String,
    /// The name asked for.
    pub account_name: String,
    /// `SUCCEEDED`.
    pub state: String,
    /// When it was asked for.
    pub requested_timestamp: Timestamp,
    /// When it was done.
    pub completed_timestamp: Timestamp,
    /// The new account's id.
    pub account_id: String,
}

/// `Parent` / `Child`: a node of the tree and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id.
    pub id: String,
    /// `ROOT`, `ORGANIZATIONAL_UNIT` or `ACCOUNT`.
    pub kind: TargetKind,
}

/// `PolicySummary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySummary {
    /// `p-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its type.
    pub policy_type: PolicyType,
    /// Always false.
    pub aws_managed: bool,
}

/// `Policy`: summary and document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The summary.
    pub summary: PolicySummary,
    /// The document, exactly as given.
    pub content: String,
}

/// `PolicyTargetSummary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTargetSummary {
    /// Root, OU or account id.
    pub target_id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: TargetKind,
}

/// `EffectivePolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// The effective document as compact JSON text.
    pub policy_content: String,
    /// The newest change among the policies and attachments that made it.
    pub last_updated_timestamp: Timestamp,
    /// The account.
    pub target_id: String,
    /// `BACKUP_POLICY`.
    pub policy_type: PolicyType,
}
