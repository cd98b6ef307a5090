//! Identifiers in the formats AWS Organizations uses, checked on the way in so that a
//! malformed id never reaches a query.

use std::fmt;
use std::str::FromStr;

/// A string that is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind} id (expected {pattern})")]
pub struct InvalidId {
    /// What kind of id was expected ("account", "policy", …).
    pub kind: &'static str,
    /// The pattern it must match, as AWS documents it.
    pub pattern: &'static str,
    /// The value given.
    pub value: String,
}

fn is_lower_alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn len_in(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
}

fn suffix_after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)
}

fn valid_organization(s: &str) -> bool {
    suffix_after(s, "o-").is_some_and(|r| len_in(r, 10, 32) && is_lower_alnum(r))
}

fn valid_root(s: &str) -> bool {
    suffix_after(s, "r-").is_some_and(|r| len_in(r, 4, 32) && is_lower_alnum(r))
}

fn valid_ou(s: &str) -> bool {
    let Some(rest) = suffix_after(s, "ou-") else { return false };
    let Some((root, own)) = rest.split_once('-') else { return false };
    len_in(root, 4, 32) && is_lower_alnum(root) && len_in(own, 8, 32) && is_lower_alnum(own)
}

fn valid_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn valid_policy(s: &str) -> bool {
    suffix_after(s, "p-").is_some_and(|r| {
        len_in(r, 8, 128) && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

fn valid_create_account_request(s: &str) -> bool {
    suffix_after(s, "car-").is_some_and(|r| len_in(r, 8, 32) && is_lower_alnum(r))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $pattern:literal, $valid:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks the format.
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                if $valid(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(InvalidId { kind: $kind, pattern: $pattern, value: s.to_owned() })
                }
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
    };
}

id_type!(
    /// `o-` and 10–32 lower-case letters or digits.
    OrganizationId, "organization", "o-[a-z0-9]{10,32}", valid_organization
);
id_type!(
    /// `r-` and 4–32 lower-case letters or digits.
    RootId, "root", "r-[0-9a-z]{4,32}", valid_root
);
id_type!(
    /// `ou-`, the root's suffix, `-` and 8–32 lower-case letters or digits.
    OuId, "organizational unit", "ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}", valid_ou
);
id_type!(
    /// Exactly 12 digits.
    AccountId, "account", "12 digits", valid_account
);
id_type!(
    /// `p-` and 8–128 letters, digits or underscores.
    PolicyId, "policy", "p-[0-9a-zA-Z_]{8,128}", valid_policy
);
id_type!(
    /// `car-` and 8–32 lower-case letters or digits: a create-account request.
    CreateAccountRequestId, "create account request", "car-[a-z0-9]{8,32}", valid_create_account_request
);

/// The three kinds of node a policy can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// The organization root.
    Root,
    /// An organizational unit.
    OrganizationalUnit,
    /// A member (or the management) account.
    Account,
}

impl TargetKind {
    /// The AWS name (`ROOT`, `ORGANIZATIONAL_UNIT`, `ACCOUNT`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Root => "ROOT",
            TargetKind::OrganizationalUnit => "ORGANIZATIONAL_UNIT",
            TargetKind::Account => "ACCOUNT",
        }
    }
    /// Parses the AWS name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ROOT" => Some(TargetKind::Root),
            "ORGANIZATIONAL_UNIT" => Some(TargetKind::OrganizationalUnit),
            "ACCOUNT" => Some(TargetKind::Account),
            _ => None,
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that can hold accounts and OUs: the root or an OU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParentId {
    /// The root.
    Root(RootId),
    /// An organizational unit.
    OrganizationalUnit(OuId),
}

impl ParentId {
    /// Parses a root or OU id.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        match TargetId::parse(s) {
            Ok(TargetId::Root(r)) => Ok(ParentId::Root(r)),
            Ok(TargetId::OrganizationalUnit(o)) => Ok(ParentId::OrganizationalUnit(o)),
            _ => Err(InvalidId { kind: "parent", pattern: "r-… or ou-…-…", value: s.to_owned() }),
        }
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        match self {
            ParentId::Root(r) => r.as_str(),
            ParentId::OrganizationalUnit(o) => o.as_str(),
        }
    }
    /// Root or OU.
    pub fn kind(&self) -> TargetKind {
        match self {
            ParentId::Root(_) => TargetKind::Root,
            ParentId::OrganizationalUnit(_) => TargetKind::OrganizationalUnit,
        }
    }
}

impl fmt::Display for ParentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ParentId> for TargetId {
    fn from(p: ParentId) -> Self {
        match p {
            ParentId::Root(r) => TargetId::Root(r),
            ParentId::OrganizationalUnit(o) => TargetId::OrganizationalUnit(o),
        }
    }
}

/// Anything a policy can be attached to: root, OU or account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetId {
    /// The root.
    Root(RootId),
    /// An organizational unit.
    OrganizationalUnit(OuId),
    /// An account.
    Account(AccountId),
}

impl TargetId {
    /// Parses a root, OU or account id, telling them apart by their shape.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let parsed = if s.starts_with("r-") {
            RootId::parse(s).map(TargetId::Root)
        } else if s.starts_with("ou-") {
            OuId::parse(s).map(TargetId::OrganizationalUnit)
        } else {
            AccountId::parse(s).map(TargetId::Account)
        };
        parsed.map_err(|_| InvalidId {
            kind: "target",
            pattern: "r-…, ou-…-… or a 12-digit account id",
            value: s.to_owned(),
        })
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        match self {
            TargetId::Root(r) => r.as_str(),
            TargetId::OrganizationalUnit(o) => o.as_str(),
            TargetId::Account(a) => a.as_str(),
        }
    }
    /// Root, OU or account.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetId::Root(_) => TargetKind::Root,
            TargetId::OrganizationalUnit(_) => TargetKind::OrganizationalUnit,
            TargetId::Account(_) => TargetKind::Account,
        }
    }
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<AccountId> for TargetId {
    fn from(a: AccountId) -> Self {
        TargetId::Account(a)
    }
}

impl From<RootId> for TargetId {
    fn from(r: RootId) -> Self {
        TargetId::Root(r)
    }
}

impl From<OuId> for TargetId {
    fn from(o: OuId) -> Self {
        TargetId::OrganizationalUnit(o)
    }
}

/// The AWS Organizations policy types. Bunker implements `BACKUP_POLICY`; the others are
/// known so that filters and errors can name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// `BACKUP_POLICY`.
    Backup,
    /// `SERVICE_CONTROL_POLICY`.
    ServiceControl,
    /// `RESOURCE_CONTROL_POLICY`.
    ResourceControl,
    /// `TAG_POLICY`.
    Tag,
    /// `AISERVICES_OPT_OUT_POLICY`.
    AiServicesOptOut,
    /// `CHATBOT_POLICY`.
    Chatbot,
    /// `DECLARATIVE_POLICY_EC2`.
    DeclarativeEc2,
    /// `SECURITYHUB_POLICY`.
    SecurityHub,
}

impl PolicyType {
    /// Every type, in the order AWS documents them.
    pub const ALL: [PolicyType; 8] = [
        PolicyType::ServiceControl,
        PolicyType::ResourceControl,
        PolicyType::Tag,
        PolicyType::Backup,
        PolicyType::AiServicesOptOut,
        PolicyType::Chatbot,
        PolicyType::DeclarativeEc2,
        PolicyType::SecurityHub,
    ];

    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Backup => "BACKUP_POLICY",
            PolicyType::ServiceControl => "SERVICE_CONTROL_POLICY",
            PolicyType::ResourceControl => "RESOURCE_CONTROL_POLICY",
            PolicyType::Tag => "TAG_POLICY",
            PolicyType::AiServicesOptOut => "AISERVICES_OPT_OUT_POLICY",
            PolicyType::Chatbot => "CHATBOT_POLICY",
            PolicyType::DeclarativeEc2 => "DECLARATIVE_POLICY_EC2",
            PolicyType::SecurityHub => "SECURITYHUB_POLICY",
        }
    }
    /// Parses the AWS name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_aws() {
        assert!(OrganizationId::parse("o-a1b2c3d4e5").is_ok());
        assert!(OrganizationId::parse("o-A1B2C3D4E5").is_err());
        assert!(RootId::parse("r-ab12").is_ok());
        assert!(RootId::parse("r-ab1").is_err());
        assert!(OuId::parse("ou-ab12-abcdef12").is_ok());
        assert!(OuId::parse("ou-ab12-abcdef1").is_err());
        assert!(AccountId::parse("012345678901").is_ok());
        assert!(AccountId::parse("12345678901").is_err());
        assert!(PolicyId::parse("p-abcd_1234").is_ok());
        assert!(PolicyId::parse("p-abc").is_err());
        assert!(CreateAccountRequestId::parse("car-abcdefgh12").is_ok());
    }

    #[test]
    fn targets_are_told_apart_by_shape() {
        assert_eq!(TargetId::parse("r-ab12").unwrap().kind(), TargetKind::Root);
        assert_eq!(TargetId::parse("ou-ab12-abcdef12").unwrap().kind(), TargetKind::OrganizationalUnit);
        assert_eq!(TargetId::parse("123456789012").unwrap().kind(), TargetKind::Account);
        let err = TargetId::parse("bogus").unwrap_err();
        assert_eq!(err.kind, "target");
        assert!(ParentId::parse("123456789012").is_err());
    }

    #[test]
    fn policy_types_round_trip() {
        for t in PolicyType::ALL {
            assert_eq!(PolicyType::parse(t.as_str()), Some(t));
        }
        assert_eq!(PolicyType::parse("backup_policy"), None);
    }
}
