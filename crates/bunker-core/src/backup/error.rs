//! Errors of the backup service, named after AWS Backup's exceptions.

use bunker_catalog::CatalogError;
use bunker_policy::PolicyErrors;

/// A failed operation. Each variant is one AWS Backup exception ([`BackupError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A parameter with a wrong value (a malformed plan names the JSON path and rule).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// A plan or selection document that breaks its rules.
    #[error("Invalid document:\n{0}")]
    MalformedDocument(PolicyErrors),
    /// A required parameter is missing.
    #[error("{0}")]
    MissingParameterValue(String),
    /// Something named does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// A name already used.
    #[error("{0}")]
    AlreadyExists(String),
    /// Over one of AWS Backup's quotas (rules in a plan, selections of a plan).
    #[error("{0}")]
    LimitExceeded(String),
    /// The request is valid but not now (deleting a vault holding recovery points,
    /// changing a policy-managed plan, stopping a finished job).
    #[error("{0}")]
    InvalidRequest(String),
    /// The vault engine or a file it needs failed.
    #[error("{0}")]
    DependencyFailure(String),
    /// The catalog failed.
    #[error("{0}")]
    Service(#[from] CatalogError),
}

impl BackupError {
    /// The AWS exception name, as the AWS CLI prints it.
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::InvalidParameterValue(_) | BackupError::MalformedDocument(_) => "InvalidParameterValueException",
            BackupError::MissingParameterValue(_) => "MissingParameterValueException",
            BackupError::ResourceNotFound(_) => "ResourceNotFoundException",
            BackupError::AlreadyExists(_) => "AlreadyExistsException",
            BackupError::LimitExceeded(_) => "LimitExceededException",
            BackupError::InvalidRequest(_) => "InvalidRequestException",
            BackupError::DependencyFailure(_) => "DependencyFailureException",
            BackupError::Service(_) => "ServiceUnavailableException",
        }
    }
}

impl From<bunker_policy::InvalidRegion> for BackupError {
    fn from(e: bunker_policy::InvalidRegion) -> Self {
        BackupError::InvalidParameterValue(e.to_string())
    }
}

impl From<bunker_vault::VaultError> for BackupError {
    fn from(e: bunker_vault::VaultError) -> Self {
        BackupError::DependencyFailure(format!("vault: {e}"))
    }
}

/// Shorthand.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
