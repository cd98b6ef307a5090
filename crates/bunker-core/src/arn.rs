//! ARNs of organization resources, in AWS's shapes with Bunker's partition.

use bunker_catalog::{AccountId, Organization, OrganizationId, OuId, PolicyId, PolicyType, RootId, TargetId};

/// The ARN partition Bunker uses for what it owns.
pub const PARTITION: &str = "bunker";

/// Builds ARNs for one organization: they all name its management account and id.
#[derive(Debug, Clone)]
pub struct Arns {
    management: AccountId,
    org: OrganizationId,
}

impl Arns {
    /// The ARNs of `org`.
    pub fn new(org: &Organization) -> Self {
        Self { management: org.management_account_id.clone(), org: org.id.clone() }
    }

    fn build(&self, resource: &str) -> String {
        format!("arn:{PARTITION}:organizations::{}:{resource}", self.management)
    }

    /// `…:organization/o-…`.
    pub fn organization(&self) -> String {
        self.build(&format!("organization/{}", self.org))
    }
    /// `…:root/o-…/r-…`.
    pub fn root(&self, id: &RootId) -> String {
        self.build(&format!("root/{}/{id}", self.org))
    }
    /// `…:ou/o-…/ou-…`.
    pub fn ou(&self, id: &OuId) -> String {
        self.build(&format!("ou/{}/{id}", self.org))
    }
    /// `…:account/o-…/123456789012`.
    pub fn account(&self, id: &AccountId) -> String {
        self.build(&format!("account/{}/{id}", self.org))
    }
    /// `…:policy/o-…/backup_policy/p-…`.
    pub fn policy(&self, policy_type: PolicyType, id: &PolicyId) -> String {
        self.build(&format!("policy/{}/{}/{id}", self.org, policy_type.as_str().to_ascii_lowercase()))
    }
    /// The ARN of a root, OU or account.
    pub fn target(&self, id: &TargetId) -> String {
        match id {
            TargetId::Root(r) => self.root(r),
            TargetId::OrganizationalUnit(o) => self.ou(o),
            TargetId::Account(a) => self.account(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_mirror_aws_shapes() {
        let org = Organization {
            id: OrganizationId::parse("o-abcdefgh12").unwrap(),
            feature_set: "ALL".into(),
            management_account_id: AccountId::parse("111111111111").unwrap(),
            management_account_email: "m@example.com".into(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let arns = Arns::new(&org);
        assert_eq!(arns.organization(), "arn:bunker:organizations::111111111111:organization/o-abcdefgh12");
        let policy = PolicyId::parse("p-abcdefgh").unwrap();
        assert_eq!(
            arns.policy(PolicyType::Backup, &policy),
            "arn:bunker:organizations::111111111111:policy/o-abcdefgh12/backup_policy/p-abcdefgh"
        );
        let ou = TargetId::parse("ou-ab12-abcdefgh").unwrap();
        assert_eq!(arns.target(&ou), "arn:bunker:organizations::111111111111:ou/o-abcdefgh12/ou-ab12-abcdefgh");
    }
}
