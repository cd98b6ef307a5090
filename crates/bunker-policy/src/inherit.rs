//! Inheritance: merging the documents attached root → OUs → account.

use crate::document::PolicyDocument;
use crate::effective::EffectivePolicy;

/// Where a document came from: the policy and the target it is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Source {
    /// Policy id (`p-…`).
    pub policy_id: String,
    /// Policy name.
    pub policy_name: String,
    /// Target the policy is attached to (root `r-…`, OU `ou-…`, or a 12-digit account id).
    pub target_id: String,
}

impl Source {
    /// A source.
    pub fn new(policy_id: &str, policy_name: &str, target_id: &str) -> Self {
        Self { policy_id: policy_id.into(), policy_name: policy_name.into(), target_id: target_id.into() }
    }
}

/// A document attached to a target.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    /// Where it came from.
    pub source: Source,
    /// The document.
    pub document: &'a PolicyDocument,
}

/// The merge state. Apply the levels from the root down, then [`finish`](Self::finish).
/// Cloning is cheap enough to share the state of an OU among its accounts.
#[derive(Debug, Clone, Default)]
pub struct Inheritance {}

impl Inheritance {
    /// Nothing inherited yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Applies the policies attached to one target (root, OU or account), in attachment order.
    pub fn apply_level(&mut self, attachments: &[Attachment<'_>]) {
        todo!("{attachments:?}")
    }
    /// The effective policy.
    pub fn finish(self) -> EffectivePolicy {
        todo!()
    }
}
