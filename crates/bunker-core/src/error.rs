//! Errors of the organization service, named after AWS Organizations exceptions so that
//! scripts written against AWS keep recognizing them.

use bunker_catalog::{CatalogError, InvalidId};
use bunker_policy::PolicyErrors;

/// What AWS answers when a document breaks the rules of its policy type.
pub const MALFORMED_POLICY_MESSAGE: &str =
    "The provided policy document does not meet the requirements of the specified policy type.";

/// A failed operation. Each variant is one AWS Organizations exception ([`OrgError::code`])
/// and carries a message naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// No organization has been created yet.
    #[error("{0}")]
    AwsOrganizationsNotInUse(String),
    /// `create-organization` when there already is one.
    #[error("{0}")]
    AlreadyInOrganization(String),
    /// A root id that does not exist.
    #[error("{0}")]
    RootNotFound(String),
    /// A parent (root or OU) that does not exist.
    #[error("{0}")]
    ParentNotFound(String),
    /// A child (OU or account) that does not exist.
    #[error("{0}")]
    ChildNotFound(String),
    /// An OU id that does not exist.
    #[error("{0}")]
    OrganizationalUnitNotFound(String),
    /// Deleting an OU that still holds accounts or OUs.
    #[error("{0}")]
    OrganizationalUnitNotEmpty(String),
    /// An OU name already used under the same parent.
    #[error("{0}")]
    DuplicateOrganizationalUnit(String),
    /// An account id that does not exist.
    #[error("{0}")]
    AccountNotFound(String),
    /// An account id or email already used, or a move to where the account already is.
    #[error("{0}")]
    DuplicateAccount(String),
    /// `move-account` from a parent that does not exist or does not hold the account.
    #[error("{0}")]
    SourceParentNotFound(String),
    /// `move-account` to a parent that does not exist.
    #[error("{0}")]
    DestinationParentNotFound(String),
    /// A policy id that does not exist.
    #[error("{0}")]
    PolicyNotFound(String),
    /// Attaching a policy whose type is not enabled on the root.
    #[error("{0}")]
    PolicyTypeNotEnabled(String),
    /// Enabling a policy type twice.
    #[error("{0}")]
    PolicyTypeAlreadyEnabled(String),
    /// Attaching a policy to a target that already has it.
    #[error("{0}")]
    DuplicatePolicyAttachment(String),
    /// Detaching a policy that is not attached to the target.
    #[error("{0}")]
    PolicyNotAttached(String),
    /// Deleting a policy that is still attached.
    #[error("{0}")]
    PolicyInUse(String),
    /// A target (root, OU or account) that does not exist.
    #[error("{0}")]
    TargetNotFound(String),
    /// A policy document that breaks its type's rules: the policy crate's errors, verbatim.
    #[error("{MALFORMED_POLICY_MESSAGE}\n{0}")]
    MalformedPolicyDocument(PolicyErrors),
    /// A service control policy that is not a valid IAM policy document (JSON path and rule).
    #[error("{MALFORMED_POLICY_MESSAGE}\n{0}")]
    MalformedServiceControlPolicy(bunker_iam::PolicyErrors),
    /// A parameter with a wrong value or format.
    #[error("{0}")]
    InvalidInput(String),
    /// The caller may not do this (an AWS-managed policy, an account that is neither the
    /// management account nor a delegated administrator).
    #[error("{0}")]
    AccessDenied(String),
    /// A policy name already used.
    #[error("{0}")]
    DuplicatePolicy(String),
    /// No policy of the type applies to the target.
    #[error("{0}")]
    EffectivePolicyNotFound(String),
    /// A quota or structural limit would be exceeded.
    #[error("{0}")]
    ConstraintViolation(String),
    /// A failure inside Bunker (the catalog), not the caller's fault.
    #[error("{0}")]
    Service(#[from] CatalogError),
}

impl OrgError {
    /// The AWS exception name, as the AWS CLI prints it.
    pub fn code(&self) -> &'static str {
        match self {
            OrgError::AwsOrganizationsNotInUse(_) => "AWSOrganizationsNotInUseException",
            OrgError::AlreadyInOrganization(_) => "AlreadyInOrganizationException",
            OrgError::RootNotFound(_) => "RootNotFoundException",
            OrgError::ParentNotFound(_) => "ParentNotFoundException",
            OrgError::ChildNotFound(_) => "ChildNotFoundException",
            OrgError::OrganizationalUnitNotFound(_) => "OrganizationalUnitNotFoundException",
            OrgError::OrganizationalUnitNotEmpty(_) => "OrganizationalUnitNotEmptyException",
            OrgError::DuplicateOrganizationalUnit(_) => "DuplicateOrganizationalUnitException",
            OrgError::AccountNotFound(_) => "AccountNotFoundException",
            OrgError::DuplicateAccount(_) => "DuplicateAccountException",
            OrgError::SourceParentNotFound(_) => "SourceParentNotFoundException",
            OrgError::DestinationParentNotFound(_) => "DestinationParentNotFoundException",
            OrgError::PolicyNotFound(_) => "PolicyNotFoundException",
            OrgError::PolicyTypeNotEnabled(_) => "PolicyTypeNotEnabledException",
            OrgError::PolicyTypeAlreadyEnabled(_) => "PolicyTypeAlreadyEnabledException",
            OrgError::DuplicatePolicyAttachment(_) => "DuplicatePolicyAttachmentException",
            OrgError::PolicyNotAttached(_) => "PolicyNotAttachedException",
            OrgError::PolicyInUse(_) => "PolicyInUseException",
            OrgError::TargetNotFound(_) => "TargetNotFoundException",
            OrgError::MalformedPolicyDocument(_) | OrgError::MalformedServiceControlPolicy(_) => "MalformedPolicyDocumentException",
            OrgError::InvalidInput(_) => "InvalidInputException",
            OrgError::DuplicatePolicy(_) => "DuplicatePolicyException",
            OrgError::EffectivePolicyNotFound(_) => "EffectivePolicyNotFoundException",
            OrgError::ConstraintViolation(_) => "ConstraintViolationException",
            OrgError::AccessDenied(_) => "AccessDeniedException",
            OrgError::Service(_) => "ServiceException",
        }
    }

    /// Whether the caller's request was at fault (as opposed to Bunker itself).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, OrgError::Service(_))
    }
}

impl From<InvalidId> for OrgError {
    fn from(e: InvalidId) -> Self {
        OrgError::InvalidInput(e.to_string())
    }
}

/// Shorthand.
pub type Result<T, E = OrgError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_aws_exception_names() {
        assert_eq!(OrgError::PolicyInUse("p".into()).code(), "PolicyInUseException");
        assert_eq!(OrgError::AwsOrganizationsNotInUse("x".into()).code(), "AWSOrganizationsNotInUseException");
        let invalid: OrgError = bunker_catalog::AccountId::parse("12").unwrap_err().into();
        assert_eq!(invalid.code(), "InvalidInputException");
        assert!(invalid.to_string().contains("\"12\""));
    }
}
