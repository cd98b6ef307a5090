//! ARNs: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
//!
//! INTERFACE (fixed): `Arn::parse(&str) -> Result<Arn, InvalidArn>` with pub fields
//! `partition, service, region, account, resource: String`; `InvalidArn` is an error whose
//! message says what is wrong ("`foo` is not an ARN: expected arn:partition:service:region:account:resource").

/// A parsed ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// `aws`.
    pub partition: String,
    /// `backup`.
    pub service: String,
    /// The Region, or empty.
    pub region: String,
    /// The account, or empty.
    pub account: String,
    /// Everything after the account.
    pub resource: String,
}

/// Not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidArn(pub String);

impl Arn {
    /// Parses.
    ///
    /// # Errors
    /// Not six colon-separated parts starting with `arn`.
    pub fn parse(text: &str) -> Result<Self, InvalidArn> {
        let parts = split(text).ok_or_else(|| {
            InvalidArn(format!(
                "`{text}` is not an ARN: expected arn:partition:service:region:account:resource"
            ))
        })?;
        let [_, partition, service, region, account, resource] = parts;
        Ok(Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// The six parts of an ARN, borrowed: `arn`, partition, service, region, account, resource
/// (which may itself hold colons). `None` when the shape is wrong: fewer than six parts, a
/// first part other than `arn`, or an empty partition, service or resource.
pub(crate) fn split(text: &str) -> Option<[&str; 6]> {
    let mut it = text.splitn(6, ':');
    let parts = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    let [arn, partition, service, _, _, resource] = parts;
    (arn == "arn" && !partition.is_empty() && !service.is_empty() && !resource.is_empty())
        .then_some(parts)
}

/// `ArnLike` matching: each of the six colon-separated parts is matched on its own, so a
/// wildcard never spans a colon before the resource part; the resource part (which may hold
/// colons) is matched as a whole. A value that is not an ARN matches only the pattern `*`.
pub(crate) fn arn_like(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (Some(p), Some(v)) = (split(pattern), split(value)) else {
        return false;
    };
    p.iter()
        .zip(v.iter())
        .all(|(p, v)| crate::wildcard::matches(p, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_six_parts() {
        let arn = Arn::parse("arn:aws:backup:eu-west-1:111122223333:backup-vault:central").unwrap();
        assert_eq!(arn.partition, "aws");
        assert_eq!(arn.service, "backup");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account, "111122223333");
        assert_eq!(arn.resource, "backup-vault:central");
        assert_eq!(
            arn.to_string(),
            "arn:aws:backup:eu-west-1:111122223333:backup-vault:central"
        );
        let root = Arn::parse("arn:aws:iam::111122223333:root").unwrap();
        assert_eq!(root.region, "");
        assert_eq!(root.resource, "root");
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "foo",
            "arn:aws:s3",
            "arn:aws:s3:::",
            "urn:aws:s3:::b",
            "arn::s3:::b",
            "arn:aws::::b",
            "",
        ] {
            let err = Arn::parse(bad).unwrap_err();
            assert!(err.to_string().contains("is not an ARN"), "{bad}: {err}");
        }
    }

    #[test]
    fn arn_like_matches_part_by_part() {
        assert!(arn_like(
            "arn:aws:iam::*:role/BackupAdmin",
            "arn:aws:iam::111122223333:role/BackupAdmin"
        ));
        assert!(!arn_like(
            "arn:aws:iam::*:role/BackupAdmin",
            "arn:aws:iam::111122223333:role/Other"
        ));
        assert!(arn_like(
            "arn:aws:backup:*:*:backup-vault:*",
            "arn:aws:backup:us-east-1:1:backup-vault:v"
        ));
        // A wildcard in the region does not swallow the account.
        assert!(!arn_like(
            "arn:aws:backup:*:backup-vault:*",
            "arn:aws:backup:us-east-1:1:backup-vault:v"
        ));
        assert!(arn_like(
            "arn:aws:iam::1:role/*",
            "arn:aws:iam::1:role/path/R"
        ));
        assert!(!arn_like("arn:aws:iam::1:role/*", "not-an-arn"));
        assert!(arn_like("*", "not-an-arn"));
    }
}
