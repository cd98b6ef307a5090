//! Why an operation failed, and reading map parameters the AWS CLI's way (`Key=Value,…`
//! shorthand or JSON). `file://` parameters are read by the front end, never here.

use std::collections::BTreeMap;

use bunker_core::security::SecurityError;
use bunker_core::{BackupError, OrgError};
use serde_json::Value;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The organization service refused: printed as the AWS CLI prints a service error.
    #[error(transparent)]
    Service(#[from] OrgError),
    /// The backup service refused.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The security services (IAM, STS, KMS, the audit trail) refused.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// The audit trail cannot take the call's record: the call is refused.
    #[error("the audit trail cannot be written, so nothing was done: {0}")]
    AuditUnavailable(String),
    /// A parameter could not be read (such as a missing `file://`).
    #[error("Error parsing parameter '{name}': {message}")]
    Parameter {
        /// The flag.
        name: &'static str,
        /// Why.
        message: String,
    },
}

impl Failure {
    /// The AWS exception name of a service error.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Service(e) => Some(e.code()),
            Self::Backup(e) => Some(e.code()),
            Self::Security(e) => Some(e.code()),
            Self::AuditUnavailable(_) => Some("ServiceUnavailableException"),
            Self::Parameter { .. } => None,
        }
    }

    /// The audit trail refused a record.
    pub fn audit_unavailable(e: impl std::fmt::Display) -> Self {
        Self::AuditUnavailable(e.to_string())
    }
}

/// Reads a string map (tags, restore metadata): JSON `{"k":"v"}`, `file://`, or the
/// AWS CLI shorthand `k=v,k2=v2`.
pub fn string_map(name: &'static str, value: String) -> Result<BTreeMap<String, String>, Failure> {
    let text = value;
    let bad = |message: String| Failure::Parameter { name, message };
    if text.trim_start().starts_with('{') {
        let map: BTreeMap<String, Value> = serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        return map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Bool(_) | Value::Number(_) => Ok((k, v.to_string())),
                other => Err(bad(format!("the value of `{k}` must be a string, not {other}"))),
            })
            .collect();
    }
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| bad(format!("expected Key=Value, got `{pair}`")))?;
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_in_shorthand_and_json() {
        let m = string_map("--tags", "backup=daily, team=web".into()).unwrap();
        assert_eq!(m.get("backup").map(String::as_str), Some("daily"));
        assert_eq!(m.get("team").map(String::as_str), Some("web"));
        let j = string_map("--tags", r#"{"a":"1","n":2}"#.into()).unwrap();
        assert_eq!(j.get("n").map(String::as_str), Some("2"));
        assert!(string_map("--tags", "novalue".into()).unwrap_err().to_string().contains("expected Key=Value"));
        assert!(string_map("--tags", r#"{"a":[1]}"#.into()).is_err());
    }
}
