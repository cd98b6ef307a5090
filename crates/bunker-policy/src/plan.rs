//! AWS Backup plan documents generated from an effective policy.

use serde::Serialize;

/// An AWS Backup plan (`BackupPlan` in the AWS Backup API).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupPlan {
    /// `BackupPlanName`.
    pub backup_plan_name: String,
}

/// One plan as it runs in one account and region, with its selections and tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EffectivePlan {
    /// The Region the plan runs in.
    pub region: String,
    /// The plan.
    pub backup_plan: BackupPlan,
}
