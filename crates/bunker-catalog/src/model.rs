//! Rows of the catalog, typed.

use jiff::Timestamp;

use crate::ids::{AccountId, CreateAccountRequestId, OrganizationId, OuId, ParentId, PolicyId, PolicyType, RootId, TargetId};

/// The organization (one per instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// `o-…`.
    pub id: OrganizationId,
    /// `ALL` (Bunker needs policies, which need all features).
    pub feature_set: String,
    /// The management account.
    pub management_account_id: AccountId,
    /// Its email address.
    pub management_account_email: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The organization root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// `r-…`.
    pub id: RootId,
    /// Always `Root`, as in AWS.
    pub name: String,
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationalUnit {
    /// `ou-…-…`.
    pub id: OuId,
    /// Unique among the OUs of the same parent.
    pub name: String,
    /// The root or the OU it sits in.
    pub parent_id: ParentId,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// 12 digits.
    pub id: AccountId,
    /// Display name.
    pub name: String,
    /// Unique regardless of case.
    pub email: String,
    /// `ACTIVE`, `SUSPENDED` or `PENDING_CLOSURE`.
    pub status: String,
    /// `CREATED` or `INVITED`.
    pub joined_method: String,
    /// When it joined.
    pub joined_at: Timestamp,
    /// The root or OU it sits in.
    pub parent_id: ParentId,
    /// The create-account request that made it.
    pub create_request_id: CreateAccountRequestId,
    /// When that request was made.
    pub requested_at: Timestamp,
}

/// A policy document with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `p-…`.
    pub id: PolicyId,
    /// Unique in the organization.
    pub name: String,
    /// Its type.
    pub policy_type: PolicyType,
    /// Free text (may be empty).
    pub description: String,
    /// The document exactly as given.
    pub content: String,
    /// Always false: Bunker has no AWS-managed policies.
    pub aws_managed: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its name, description or content last changed.
    pub last_updated: Timestamp,
}

/// A policy attached to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAttachment {
    /// The policy.
    pub policy_id: PolicyId,
    /// The root, OU or account.
    pub target_id: TargetId,
    /// Grows with every attachment: orders attachments.
    pub seq: i64,
    /// When it was attached.
    pub attached_at: Timestamp,
}

/// A policy type's status on a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTypeStatus {
    /// The type.
    pub policy_type: PolicyType,
    /// `ENABLED` (Bunker enables synchronously, so never `PENDING_…`).
    pub status: String,
}
