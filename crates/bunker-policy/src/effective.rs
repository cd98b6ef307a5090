//! The effective policy: operators resolved, with provenance.

use serde_json::Value;

use crate::plan::EffectivePlan;

/// The result of inheritance for one account.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {}

impl EffectivePolicy {
    /// Whether no policy contributed anything (AWS answers `EffectivePolicyNotFoundException`).
    pub fn is_empty(&self) -> bool {
        todo!()
    }
    /// The effective policy as AWS shows it: operators resolved, user-chosen names lower-cased.
    pub fn to_json(&self) -> Value {
        todo!()
    }
    /// For each leaf, its value and the history of operations from each policy and target
    /// (applied, or ignored because a parent forbade the operator).
    pub fn explain(&self) -> Value {
        todo!()
    }
    /// AWS Backup plans for `account_id` (one per plan and region; `$account` substituted).
    pub fn backup_plans(&self, account_id: &str) -> Vec<EffectivePlan> {
        todo!("{account_id}")
    }
}
