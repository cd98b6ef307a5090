//! One BACKUP_POLICY document: parsed and checked against every documented rule.

use serde_json::Value;

use crate::error::PolicyErrors;

/// A validated policy document, as written (operators not yet resolved).
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    pub(crate) json: Value,
}

impl PolicyDocument {
    /// Parses and validates a document. Every violation is reported with its JSON path.
    pub fn parse(text: &str) -> Result<Self, PolicyErrors> {
        todo!("{text}")
    }

    /// The document as JSON.
    pub fn as_json(&self) -> &Value {
        &self.json
    }
}
