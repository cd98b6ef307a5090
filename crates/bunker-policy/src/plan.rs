//! AWS Backup plan documents generated from an effective policy.
//!
//! The shapes are those of the AWS Backup API (`BackupPlan`, `BackupRule`,
//! `BackupSelection`), so a plan printed here reads like `aws backup get-backup-plan`.
//! Settings the policy leaves out get AWS Backup's defaults: schedule
//! `cron(0 5 ? * * *)`, start window 480 minutes, completion window 10,080 minutes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{PolicyError, Rule};
use crate::path::JsonPath;
use crate::validate::{as_bool, as_int};

/// AWS Backup's schedule when a rule gives none: daily at 05:00 UTC.
pub const DEFAULT_SCHEDULE: &str = "cron(0 5 ? * * *)";
/// AWS Backup's default start window: 8 hours.
pub const DEFAULT_START_WINDOW_MINUTES: i64 = 480;
/// AWS Backup's default completion window: 7 days.
pub const DEFAULT_COMPLETION_WINDOW_MINUTES: i64 = 10_080;

fn default_schedule() -> String {
    DEFAULT_SCHEDULE.to_owned()
}

fn default_start_window() -> i64 {
    DEFAULT_START_WINDOW_MINUTES
}

fn default_completion_window() -> i64 {
    DEFAULT_COMPLETION_WINDOW_MINUTES
}

/// An AWS Backup plan (`BackupPlan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BackupPlan {
    /// `BackupPlanName`.
    pub backup_plan_name: String,
    /// `Rules`.
    pub rules: Vec<BackupRule>,
    /// `AdvancedBackupSettings`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advanced_backup_settings: Vec<AdvancedBackupSetting>,
}

/// An AWS Backup rule (`BackupRule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BackupRule {
    /// `RuleName`.
    pub rule_name: String,
    /// `RuleId`: assigned by the service when a plan version is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// `TargetBackupVaultName`.
    pub target_backup_vault_name: String,
    /// `ScheduleExpression`.
    #[serde(default = "default_schedule")]
    pub schedule_expression: String,
    /// `ScheduleExpressionTimezone` (UTC when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression_timezone: Option<String>,
    /// `StartWindowMinutes`.
    #[serde(default = "default_start_window")]
    pub start_window_minutes: i64,
    /// `CompletionWindowMinutes`.
    #[serde(default = "default_completion_window")]
    pub completion_window_minutes: i64,
    /// `Lifecycle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// `RecoveryPointTags`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recovery_point_tags: BTreeMap<String, String>,
    /// `CopyActions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_actions: Vec<CopyAction>,
    /// `EnableContinuousBackup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_continuous_backup: Option<bool>,
}

/// `Lifecycle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Lifecycle {
    /// `MoveToColdStorageAfterDays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_to_cold_storage_after_days: Option<i64>,
    /// `DeleteAfterDays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<i64>,
    /// `OptInToArchiveForSupportedResources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_in_to_archive_for_supported_resources: Option<bool>,
}

/// `CopyAction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CopyAction {
    /// `DestinationBackupVaultArn`.
    pub destination_backup_vault_arn: String,
    /// `Lifecycle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// `AdvancedBackupSetting`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AdvancedBackupSetting {
    /// `ResourceType` (`EC2`).
    pub resource_type: String,
    /// `BackupOptions` (`{"WindowsVSS": "enabled"}`).
    pub backup_options: BTreeMap<String, String>,
}

/// An AWS Backup selection (`BackupSelection`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BackupSelection {
    /// `SelectionName`.
    pub selection_name: String,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `Resources`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// `NotResources`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_resources: Vec<String>,
    /// `ListOfTags`: any one matching tag selects (OR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list_of_tags: Vec<TagCondition>,
    /// `Conditions`: all must hold (AND).
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
}

/// One `ListOfTags` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TagCondition {
    /// Always `STRINGEQUALS`.
    pub condition_type: String,
    /// The tag key.
    pub condition_key: String,
    /// The tag value.
    pub condition_value: String,
}

/// `Conditions` of a selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Conditions {
    /// `StringEquals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_equals: Vec<ConditionParameter>,
    /// `StringNotEquals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_not_equals: Vec<ConditionParameter>,
    /// `StringLike`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_like: Vec<ConditionParameter>,
    /// `StringNotLike`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_not_like: Vec<ConditionParameter>,
}

impl Conditions {
    /// Whether no condition is given.
    pub fn is_empty(&self) -> bool {
        self.string_equals.is_empty() && self.string_not_equals.is_empty() && self.string_like.is_empty() && self.string_not_like.is_empty()
    }
}

/// `ConditionParameter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConditionParameter {
    /// `ConditionKey`.
    pub condition_key: String,
    /// `ConditionValue`.
    pub condition_value: String,
}

/// One plan as it runs in one account and Region, with its selections and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EffectivePlan {
    /// The Region the plan runs in.
    pub region: String,
    /// The plan.
    pub backup_plan: BackupPlan,
    /// Its resource assignments.
    pub selections: Vec<BackupSelection>,
    /// `BackupPlanTags`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub backup_plan_tags: BTreeMap<String, String>,
}

fn obj(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// Plans of an effective policy that cannot run, reported as errors with their path.
pub(crate) fn check_complete(doc: &Value, errors: &mut Vec<PolicyError>) {
    let plans_path = JsonPath::root().key("plans");
    for (name, plan) in obj(doc.get("plans").unwrap_or(&Value::Null)) {
        let path = plans_path.key(name);
        let mut missing = |p: JsonPath, what: &str| errors.push(PolicyError::new(&p, Rule::Missing, format!("the plan will not run: {what}")));
        if strings(plan.get("regions")).is_empty() {
            missing(path.key("regions"), "it names no Region");
        }
        let rules = plan.get("rules").map(obj).into_iter().flatten().collect::<Vec<_>>();
        if rules.is_empty() {
            missing(path.key("rules"), "it has no rule");
        }
        for (rule_name, rule) in rules {
            if text(rule, "target_backup_vault_name").is_none() {
                missing(path.key("rules").key(rule_name).key("target_backup_vault_name"), "the rule names no backup vault");
            }
        }
        let selections = plan.get("selections").cloned().unwrap_or(Value::Null);
        let all: Vec<(String, &Value)> = ["tags", "resources"]
            .iter()
            .flat_map(|kind| obj(selections.get(kind).unwrap_or(&Value::Null)).map(move |(n, s)| (format!("{kind}.{n}"), s)))
            .collect();
        if all.is_empty() {
            missing(path.key("selections"), "it selects no resources");
        }
        for (name, sel) in all {
            if text(sel, "iam_role_arn").is_none() {
                missing(path.key("selections").key(&name).key("iam_role_arn"), "the selection names no IAM role");
            }
        }
    }
}

/// Replaces `$account` in every string of `v`.
fn substitute(v: &Value, account_id: &str) -> Value {
    match v {
        Value::String(s) if s.contains("$account") => Value::String(s.replace("$account", account_id)),
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, account_id)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, i)| (k.clone(), substitute(i, account_id))).collect()),
        other => other.clone(),
    }
}

/// Builds the runnable plans of an effective policy. Plans that are incomplete or whose
/// merged values break a rule are left out; [`crate::EffectivePolicy::problems`] says why.
pub(crate) fn from_effective(doc: &Value, account_id: &str) -> Vec<EffectivePlan> {
    let mut problems = Vec::new();
    crate::validate::check_plans(doc, &JsonPath::root(), &mut problems);
    check_complete(doc, &mut problems);
    let broken = |name: &str| problems.iter().any(|p| p.path.segments().get(1) == Some(&crate::path::Segment::Key(name.to_owned())));
    let doc = substitute(doc, account_id);
    let mut out = Vec::new();
    for (name, plan) in obj(doc.get("plans").unwrap_or(&Value::Null)) {
        if broken(name) {
            continue;
        }
        let backup_plan = BackupPlan {
            backup_plan_name: name.clone(),
            rules: obj(&plan["rules"]).map(|(n, r)| rule(n, r)).collect(),
            advanced_backup_settings: advanced(plan.get("advanced_backup_settings")),
        };
        let selections = selections(plan.get("selections").unwrap_or(&Value::Null));
        let tags = tag_map(plan.get("backup_plan_tags"));
        for region in strings(plan.get("regions")) {
            out.push(EffectivePlan {
                region,
                backup_plan: backup_plan.clone(),
                selections: selections.clone(),
                backup_plan_tags: tags.clone(),
            });
        }
    }
    out
}

fn rule(name: &str, r: &Value) -> BackupRule {
    BackupRule {
        rule_id: None,
        rule_name: name.to_owned(),
        target_backup_vault_name: text(r, "target_backup_vault_name").unwrap_or_default(),
        schedule_expression: text(r, "schedule_expression").unwrap_or_else(|| DEFAULT_SCHEDULE.to_owned()),
        schedule_expression_timezone: text(r, "schedule_expression_timezone"),
        start_window_minutes: r.get("start_backup_window_minutes").and_then(as_int).unwrap_or(DEFAULT_START_WINDOW_MINUTES),
        completion_window_minutes: r.get("complete_backup_window_minutes").and_then(as_int).unwrap_or(DEFAULT_COMPLETION_WINDOW_MINUTES),
        lifecycle: r.get("lifecycle").map(lifecycle),
        recovery_point_tags: tag_map(r.get("recovery_point_tags")),
        copy_actions: obj(r.get("copy_actions").unwrap_or(&Value::Null))
            .map(|(key, a)| CopyAction {
                destination_backup_vault_arn: text(a, "target_backup_vault_arn").unwrap_or_else(|| key.clone()),
                lifecycle: a.get("lifecycle").map(lifecycle),
            })
            .collect(),
        enable_continuous_backup: r.get("enable_continuous_backup").and_then(as_bool),
    }
}

fn lifecycle(lc: &Value) -> Lifecycle {
    Lifecycle {
        move_to_cold_storage_after_days: lc.get("move_to_cold_storage_after_days").and_then(as_int),
        delete_after_days: lc.get("delete_after_days").and_then(as_int),
        opt_in_to_archive_for_supported_resources: lc.get("opt_in_to_archive_for_supported_resources").and_then(as_bool),
    }
}

fn tag_map(v: Option<&Value>) -> BTreeMap<String, String> {
    obj(v.unwrap_or(&Value::Null)).filter_map(|(_, t)| Some((text(t, "tag_key")?, text(t, "tag_value").unwrap_or_default()))).collect()
}

fn advanced(v: Option<&Value>) -> Vec<AdvancedBackupSetting> {
    let vss = v.and_then(|a| a.get("ec2")).and_then(|e| text(e, "windows_vss"));
    vss.map(|vss| AdvancedBackupSetting {
        resource_type: "EC2".into(),
        backup_options: BTreeMap::from([("WindowsVSS".to_owned(), vss)]),
    })
    .into_iter()
    .collect()
}

fn selections(s: &Value) -> Vec<BackupSelection> {
    let tags = obj(s.get("tags").unwrap_or(&Value::Null)).map(|(name, t)| BackupSelection {
        selection_name: name.clone(),
        iam_role_arn: text(t, "iam_role_arn").unwrap_or_default(),
        resources: Vec::new(),
        not_resources: Vec::new(),
        list_of_tags: text(t, "tag_key")
            .map(|key| {
                strings(t.get("tag_value"))
                    .into_iter()
                    .map(|value| TagCondition { condition_type: "STRINGEQUALS".into(), condition_key: key.clone(), condition_value: value })
                    .collect()
            })
            .unwrap_or_default(),
        conditions: Conditions::default(),
    });
    let resources = obj(s.get("resources").unwrap_or(&Value::Null)).map(|(name, r)| {
        let cond = |kind: &str| -> Vec<ConditionParameter> {
            obj(r.get("conditions").and_then(|c| c.get(kind)).unwrap_or(&Value::Null))
                .filter_map(|(_, c)| {
                    Some(ConditionParameter { condition_key: text(c, "condition_key")?, condition_value: text(c, "condition_value").unwrap_or_default() })
                })
                .collect()
        };
        BackupSelection {
            selection_name: name.clone(),
            iam_role_arn: text(r, "iam_role_arn").unwrap_or_default(),
            resources: strings(r.get("resource_types")),
            not_resources: strings(r.get("not_resource_types")),
            list_of_tags: Vec::new(),
            conditions: Conditions {
                string_equals: cond("string_equals"),
                string_not_equals: cond("string_not_equals"),
                string_like: cond("string_like"),
                string_not_like: cond("string_not_like"),
            },
        }
    });
    tags.chain(resources).collect()
}
