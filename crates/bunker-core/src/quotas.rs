//! AWS's documented quotas that the service enforces, one module per service. Each is
//! checked before anything is stored, and refused with the error AWS gives.

/// IAM: sizes of policy documents (kept in `bunker-iam`, whose parser applies the API's
/// length constraint to every document in the IAM language).
pub mod iam {
    pub use bunker_iam::quotas::*;
}

/// AWS KMS.
pub mod kms {
    pub use bunker_security::kms::KEY_POLICY_MAX_BYTES;
}

/// AWS Backup ("AWS Backup quotas" in the AWS Backup Developer Guide, and the API
/// reference where the guide gives no number).
pub mod backup {
    /// "Backup plan rules in a plan": 10.
    pub const RULES_PER_PLAN: usize = 10;
    /// "Resource assignments per backup plan": 100 selections.
    pub const SELECTIONS_PER_PLAN: usize = 100;
    /// `BackupSelection.Resources` / `NotResources`: at most 500 ARNs each.
    pub const ARNS_PER_SELECTION: usize = 500;
    /// The same lists, when any ARN holds a wildcard: at most 30.
    pub const WILDCARD_ARNS_PER_SELECTION: usize = 30;
    /// "Tags in a resource selection": 30 (`ListOfTags` and `Conditions` together).
    pub const TAGS_PER_SELECTION: usize = 30;
    /// AWS Backup documents no size for a backup vault access policy; this is the documented
    /// size of an Amazon S3 Glacier vault access policy (and of an S3 bucket policy): 20 KB.
    pub const VAULT_ACCESS_POLICY_MAX_BYTES: usize = 20_480;
}

/// AWS Organizations ("Quotas for AWS Organizations", maximum and minimum values).
pub mod organizations {
    use bunker_catalog::PolicyType;

    /// "Maximum size of a policy document", per policy type, in characters. Documents sent
    /// through the API are counted as sent, white space included.
    pub fn policy_content_max_chars(policy_type: PolicyType) -> usize {
        match policy_type {
            PolicyType::ServiceControl | PolicyType::ResourceControl => 5_120,
            PolicyType::AiServicesOptOut => 2_500,
            PolicyType::Backup => bunker_policy::document::MAX_DOCUMENT_CHARS,
            PolicyType::Tag | PolicyType::Chatbot | PolicyType::DeclarativeEc2 | PolicyType::SecurityHub => 10_000,
        }
    }

    /// "Number of policies of each type in an organization" (Bunker applies the backup
    /// policy number to every type).
    pub const MAX_POLICIES: usize = 1000;
    /// "Maximum number of policies of a type attached to a root, OU or account" (Bunker
    /// applies the backup policy number to every type).
    pub const MAX_ATTACHMENTS_PER_TARGET: usize = 10;

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_type_has_its_documented_size() {
            assert_eq!(policy_content_max_chars(PolicyType::ServiceControl), 5_120);
            assert_eq!(policy_content_max_chars(PolicyType::Backup), 10_000);
            assert_eq!(policy_content_max_chars(PolicyType::AiServicesOptOut), 2_500);
            assert!(PolicyType::ALL.iter().all(|&t| policy_content_max_chars(t) >= 2_500));
        }
    }
}
