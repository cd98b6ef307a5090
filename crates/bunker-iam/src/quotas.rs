//! IAM's documented size quotas on policy documents, in one place.
//!
//! IAM counts characters other than white space against its quotas (IAM User Guide, "IAM
//! and AWS STS quotas"); the API's length constraint on a `PolicyDocument` parameter counts
//! every character. [`PolicyDocument::parse`](crate::PolicyDocument::parse) applies the
//! latter to every document in the IAM language (identity, trust, resource, key policies,
//! SCPs), so none is ever decoded, let alone stored, past it.

use std::fmt;

/// IAM API length constraint of `PolicyDocument` / `AssumeRolePolicyDocument`
/// (`PutUserPolicy`, `PutRolePolicy`, `CreateRole`, `CreatePolicy`): 131,072 characters.
pub const POLICY_DOCUMENT_MAX_CHARS: usize = 131_072;
/// IAM quota "User policy size": all inline policies of a user together, 2,048 characters.
pub const USER_INLINE_POLICIES_MAX_CHARS: usize = 2_048;
/// IAM quota "Role policy size": all inline policies of a role together, 10,240 characters.
pub const ROLE_INLINE_POLICIES_MAX_CHARS: usize = 10_240;
/// IAM quota "Group policy size": all inline policies of a group together, 5,120 characters.
pub const GROUP_INLINE_POLICIES_MAX_CHARS: usize = 5_120;
/// IAM quota "Managed policy size": 6,144 characters.
pub const MANAGED_POLICY_MAX_CHARS: usize = 6_144;
/// IAM quota "Role trust policy length": 2,048 characters (the default AWS applies).
pub const ROLE_TRUST_POLICY_MAX_CHARS: usize = 2_048;

/// Which of IAM's size quotas a document counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySizeQuota {
    /// The inline policies of a user, together.
    UserInline,
    /// The inline policies of a role, together.
    RoleInline,
    /// The inline policies of a group, together.
    GroupInline,
    /// One managed policy.
    Managed,
    /// A role's trust policy.
    RoleTrust,
}

impl PolicySizeQuota {
    /// The limit, in characters other than white space.
    pub fn max_chars(self) -> usize {
        match self {
            Self::UserInline => USER_INLINE_POLICIES_MAX_CHARS,
            Self::RoleInline => ROLE_INLINE_POLICIES_MAX_CHARS,
            Self::GroupInline => GROUP_INLINE_POLICIES_MAX_CHARS,
            Self::Managed => MANAGED_POLICY_MAX_CHARS,
            Self::RoleTrust => ROLE_TRUST_POLICY_MAX_CHARS,
        }
    }

    /// The quota's name, as IAM's `GetAccountSummary` and its errors name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::UserInline => "UserPolicySize",
            Self::RoleInline => "RolePolicySize",
            Self::GroupInline => "GroupPolicySize",
            Self::Managed => "PolicySize",
            Self::RoleTrust => "AssumeRolePolicySize",
        }
    }
}

/// Documents over one of IAM's size quotas (IAM answers `LimitExceeded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySizeExceeded {
    /// Which quota.
    pub quota: PolicySizeQuota,
    /// The size counted.
    pub size: usize,
}

impl fmt::Display for PolicySizeExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cannot exceed quota for {}: {} (the policy holds {} characters other than white space)",
            self.quota.name(),
            self.quota.max_chars(),
            self.size
        )
    }
}

impl std::error::Error for PolicySizeExceeded {}

/// A document's size as IAM counts it: characters other than white space.
pub fn policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks documents that count together against `quota` (a principal's inline policies
/// as they would be after the change, or one managed or trust policy).
///
/// # Errors
/// [`PolicySizeExceeded`] with the total.
pub fn check_policy_size<'a>(quota: PolicySizeQuota, documents: impl IntoIterator<Item = &'a str>) -> Result<(), PolicySizeExceeded> {
    let size = documents.into_iter().map(policy_size).sum();
    if size > quota.max_chars() { Err(PolicySizeExceeded { quota, size }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_does_not_count_and_documents_add_up() {
        assert_eq!(policy_size("{ \"a\" :\n\t1 }"), 7);
        let half = format!("{{\"Sid\":\"{}\"}}", "x".repeat(1_000));
        check_policy_size(PolicySizeQuota::UserInline, [half.as_str(), half.as_str()]).unwrap();
        let third = format!("{{\"a\":\"{}\"}}", "y".repeat(40));
        let err = check_policy_size(PolicySizeQuota::UserInline, [half.as_str(), half.as_str(), third.as_str()]).unwrap_err();
        assert_eq!(err.size, 2 * 1_010 + 48);
        assert!(err.to_string().starts_with("Cannot exceed quota for UserPolicySize: 2048"), "{err}");
        let padded = format!("{half}{}", " ".repeat(100_000));
        check_policy_size(PolicySizeQuota::Managed, [padded.as_str()]).unwrap();
        assert!(check_policy_size(PolicySizeQuota::RoleTrust, [format!("{half}{half}{half}").as_str()]).is_err());
        assert!(check_policy_size(PolicySizeQuota::RoleInline, [format!("{half}{half}{half}").as_str()]).is_ok());
    }

    #[test]
    fn no_document_past_the_api_length_is_decoded() {
        let doc = |pad: usize| format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}}]}}{}"#, " ".repeat(pad));
        let base = doc(0).len();
        crate::PolicyDocument::parse(&doc(POLICY_DOCUMENT_MAX_CHARS - base)).unwrap();
        let err = crate::PolicyDocument::parse(&doc(POLICY_DOCUMENT_MAX_CHARS - base + 1)).unwrap_err();
        assert_eq!(err.0[0].path, "$");
        assert!(err.to_string().contains("at most 131072"), "{err}");
        let huge = crate::PolicyDocument::parse(&doc(10 << 20)).unwrap_err();
        assert!(huge.to_string().contains(&format!("{} characters long", base + (10 << 20))), "{huge}");
    }
}
