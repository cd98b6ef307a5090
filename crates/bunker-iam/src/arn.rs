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
        let _ = text;
        unimplemented!("arn parsing")
    }
}
