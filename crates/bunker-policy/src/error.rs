//! Policy errors: each names the JSON path, the rule broken and the value given.

use std::fmt;

use crate::path::JsonPath;

/// The documented rule a policy broke. The name is stable and machine-readable
/// (`bunker` prints it, tests match on it); the message carries the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The text is not JSON.
    InvalidJson,
    /// The same key appears twice in one JSON object.
    DuplicateKey,
    /// The document is longer than 10,000 characters.
    DocumentTooLarge,
    /// A key the BACKUP_POLICY syntax does not define.
    UnknownKey,
    /// A value of the wrong JSON type.
    WrongType,
    /// A required element is missing (such as the top-level `plans`).
    Missing,
    /// A value-setting operator used where the syntax does not allow it.
    OperatorNotAllowed,
    /// An invalid `@@operators_allowed_for_child_policies` value.
    InvalidChildControl,
    /// A plan, rule, selection or tag identifier that breaks the name rules.
    InvalidName,
    /// A backup vault name that breaks the vault name rules.
    InvalidVaultName,
    /// A value that is not an AWS-style Region code.
    InvalidRegion,
    /// A `cron(...)` / `rate(...)` expression that does not parse or fires too often.
    InvalidSchedule,
    /// An IANA time zone name that does not exist.
    InvalidTimezone,
    /// A number out of its documented range (windows, lifecycle days).
    OutOfRange,
    /// `delete_after_days` shorter than `move_to_cold_storage_after_days` + 90.
    ColdStorageMinimum,
    /// `enable_continuous_backup` together with cold storage or more than 35 days.
    ContinuousBackupLimit,
    /// A value that should be an ARN and is not.
    InvalidArn,
    /// `$account` used outside a value that holds an ARN.
    AccountVariableNotAllowed,
    /// A value not among the documented choices.
    InvalidValue,
}

impl Rule {
    /// The stable kebab-case name of the rule.
    pub fn name(self) -> &'static str {
        match self {
            Rule::InvalidJson => "invalid-json",
            Rule::DuplicateKey => "duplicate-key",
            Rule::DocumentTooLarge => "document-too-large",
            Rule::UnknownKey => "unknown-key",
            Rule::WrongType => "wrong-type",
            Rule::Missing => "missing",
            Rule::OperatorNotAllowed => "operator-not-allowed",
            Rule::InvalidChildControl => "invalid-child-control",
            Rule::InvalidName => "invalid-name",
            Rule::InvalidVaultName => "invalid-vault-name",
            Rule::InvalidRegion => "invalid-region",
            Rule::InvalidSchedule => "invalid-schedule",
            Rule::InvalidTimezone => "invalid-timezone",
            Rule::OutOfRange => "out-of-range",
            Rule::ColdStorageMinimum => "cold-storage-minimum",
            Rule::ContinuousBackupLimit => "continuous-backup-limit",
            Rule::InvalidArn => "invalid-arn",
            Rule::AccountVariableNotAllowed => "account-variable-not-allowed",
            Rule::InvalidValue => "invalid-value",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One violation in a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Where in the document.
    pub path: JsonPath,
    /// Which rule.
    pub rule: Rule,
    /// What is wrong, in the user's words, with the value given.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(path: &JsonPath, rule: Rule, message: impl Into<String>) -> Self {
        Self { path: path.clone(), rule, message: message.into() }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.path, self.message, self.rule)
    }
}

/// Every violation found in one document, in document order (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(pub(crate) Vec<PolicyError>);

impl PolicyErrors {
    /// The violations.
    pub fn errors(&self) -> &[PolicyError] {
        &self.0
    }
    /// The first violation.
    pub fn first(&self) -> &PolicyError {
        &self.0[0]
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}
