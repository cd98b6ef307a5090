//! Policy documents: parsing and validation.
//!
//! INTERFACE (fixed; other crates code against it):
//! - `PolicyDocument::parse(text: &str) -> Result<PolicyDocument, PolicyErrors>`
//! - `PolicyErrors` displays one line per error: "`Statement[1].Condition.StringEqualsX`: unknown condition operator"
//! - `PolicyError { path: String, message: String }`
//! - `Effect { Allow, Deny }` (Serialize as "Allow"/"Deny")
//! - `PolicyDocument` keeps the original JSON (`to_json()`), `statements()`.

use serde::Serialize;

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever grants.
    Deny,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// `Statement[1].Condition.StringEqualsX`.
    pub path: String,
    /// The rule broken.
    pub message: String,
}

/// Every broken rule of a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(|e| format!("`{}`: {}", e.path, e.message)).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {}

impl PolicyDocument {
    /// Parses and validates.
    ///
    /// # Errors
    /// Every broken rule, with its JSON path.
    pub fn parse(text: &str) -> Result<Self, PolicyErrors> {
        let _ = text;
        unimplemented!("parsing")
    }
}
