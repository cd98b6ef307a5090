//! Errors of the security services (IAM, STS, KMS, the audit trail), named after AWS's
//! exceptions.

use bunker_catalog::CatalogError;

/// A failed security operation. Each variant is one AWS exception ([`SecurityError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The caller may not do this (the message says which policy or guardrail decided).
    #[error("{0}")]
    AccessDenied(String),
    /// Unknown access key id or a wrong secret.
    #[error("{0}")]
    InvalidClientTokenId(String),
    /// Temporary credentials past their expiry.
    #[error("{0}")]
    ExpiredToken(String),
    /// A policy document that breaks its rules (names the JSON path and the rule).
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// Something named does not exist.
    #[error("{0}")]
    NoSuchEntity(String),
    /// A name already used.
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// KMS: a key, alias or grant that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// KMS: an alias already used.
    #[error("{0}")]
    AlreadyExists(String),
    /// A parameter with a wrong value (an invalid ARN, a waiting period out of range).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A document or a count over one of AWS's quotas (an IAM policy's size, a key policy's).
    #[error("{0}")]
    LimitExceeded(String),
    /// A wrong or reused MFA code.
    #[error("{0}")]
    InvalidAuthenticationCode(String),
    /// A KMS key in a state that forbids the operation (disabled, pending deletion).
    #[error("{0}")]
    KmsInvalidState(String),
    /// The audit trail failed verification.
    #[error("{0}")]
    AuditTampered(String),
    /// A file the service needs (the instance master key) failed.
    #[error("{0}")]
    Dependency(String),
    /// The catalog failed.
    #[error("{0}")]
    Service(#[from] CatalogError),
}

impl SecurityError {
    /// The AWS exception name, as the AWS CLI prints it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::InvalidClientTokenId(_) => "InvalidClientTokenId",
            Self::ExpiredToken(_) => "ExpiredTokenException",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Self::NoSuchEntity(_) => "NoSuchEntityException",
            Self::EntityAlreadyExists(_) => "EntityAlreadyExistsException",
            Self::NotFound(_) => "NotFoundException",
            Self::AlreadyExists(_) => "AlreadyExistsException",
            Self::InvalidParameterValue(_) => "InvalidParameterValueException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::InvalidAuthenticationCode(_) => "InvalidAuthenticationCodeException",
            Self::KmsInvalidState(_) => "KMSInvalidStateException",
            Self::AuditTampered(_) => "AuditTrailTamperedException",
            Self::Dependency(_) => "DependencyFailureException",
            Self::Service(_) => "ServiceUnavailableException",
        }
    }
}

impl From<bunker_policy::InvalidRegion> for SecurityError {
    fn from(e: bunker_policy::InvalidRegion) -> Self {
        SecurityError::InvalidParameterValue(e.to_string())
    }
}

/// Shorthand.
pub type SecurityResult<T> = std::result::Result<T, SecurityError>;
