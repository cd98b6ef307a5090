use serde_json::{Value, json};

use super::*;
use crate::PolicyDocument;

fn doc(v: Value) -> PolicyDocument {
    PolicyDocument::parse(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Merges `levels`, each a list of (policy name, document) attached to target `t<level>`.
fn merge(levels: &[Vec<(&str, &PolicyDocument)>]) -> EffectivePolicy {
    let mut inh = Inheritance::new();
    for (i, level) in levels.iter().enumerate() {
        let target = format!("t{i}");
        let atts: Vec<Attachment<'_>> =
            level.iter().map(|(name, d)| Attachment { source: Source::new(&format!("p-{name}"), name, &target), document: d }).collect();
        inh.apply_level(&atts);
    }
    inh.finish()
}

fn vault_policy(vault: &str) -> PolicyDocument {
    doc(json!({"plans": {"P": {"rules": {"R": {"target_backup_vault_name": {"@@assign": vault}}}}}}))
}

#[test]
fn same_target_assignments_first_attached_wins() {
    let a = vault_policy("First");
    let b = vault_policy("Second");
    let eff = merge(&[vec![("a", &a), ("b", &b)]]);
    assert_eq!(eff.to_json()["plans"]["p"]["rules"]["r"]["target_backup_vault_name"], "First");
    let explain = eff.explain().to_string();
    assert!(explain.contains("SameTargetConflict"), "{explain}");
    // The order of attachment decides, not the policy names.
    let eff = merge(&[vec![("b", &b), ("a", &a)]]);
    assert_eq!(eff.to_json()["plans"]["p"]["rules"]["r"]["target_backup_vault_name"], "Second");
}

#[test]
fn lower_level_assignment_overrides() {
    let a = vault_policy("First");
    let b = vault_policy("Second");
    let eff = merge(&[vec![("a", &a)], vec![("b", &b)]]);
    assert_eq!(eff.to_json()["plans"]["p"]["rules"]["r"]["target_backup_vault_name"], "Second");
}

#[test]
fn restriction_binds_lower_levels_only() {
    let lock = doc(json!({"plans": {"P": {"rules": {"R": {"target_backup_vault_name": {
        "@@operators_allowed_for_child_policies": ["@@none"], "@@assign": "Locked"}}}}}}));
    let other = vault_policy("SameLevel");
    let child = vault_policy("Child");
    // Same level: the restriction does not bind the other root policy, but first attached wins.
    let eff = merge(&[vec![("lock", &lock), ("other", &other)], vec![("child", &child)]]);
    assert_eq!(eff.to_json()["plans"]["p"]["rules"]["r"]["target_backup_vault_name"], "Locked");
    let explain = eff.explain();
    let entry = explain.as_array().unwrap().iter().find(|e| e["Path"] == "plans.p.rules.r.target_backup_vault_name").unwrap();
    let outcomes: Vec<&str> = entry["History"].as_array().unwrap().iter().map(|h| h["Outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["Applied", "SameTargetConflict", "Forbidden"]);
    assert_eq!(entry["SetBy"]["PolicyId"], "p-lock");
    assert_eq!(entry["History"][2]["LimitedBy"]["PolicyId"], "p-lock");
}

#[test]
fn restrictions_intersect_and_never_widen() {
    let root = doc(json!({"plans": {"P": {"regions": {"@@operators_allowed_for_child_policies": ["@@append", "@@remove"], "@@assign": ["us-east-1"]}}}}));
    let ou = doc(json!({"plans": {"P": {"regions": {"@@operators_allowed_for_child_policies": ["@@all"], "@@append": ["eu-west-1"]}}}}));
    let acct = doc(json!({"plans": {"P": {"regions": {"@@assign": ["ap-south-1"], "@@remove": ["us-east-1"]}}}}));
    let eff = merge(&[vec![("root", &root)], vec![("ou", &ou)], vec![("acct", &acct)]]);
    // The OU's @@all cannot give back @@assign; @@remove is still allowed.
    assert_eq!(eff.to_json()["plans"]["p"]["regions"], json!(["eu-west-1"]));
}

#[test]
fn new_keys_count_as_append_on_their_object() {
    let root = doc(json!({"plans": {"@@operators_allowed_for_child_policies": ["@@none"], "A": {"regions": {"@@assign": ["us-east-1"]}}}}));
    let child = doc(json!({"plans": {"B": {"regions": {"@@assign": ["us-east-1"]}}, "A": {"regions": {"@@append": ["eu-west-1"]}}}}));
    let eff = merge(&[vec![("root", &root)], vec![("child", &child)]]);
    let plans = eff.to_json()["plans"].clone();
    assert!(plans.get("b").is_none(), "{plans}");
    // The restriction is on `plans` only: the existing plan's settings stay open.
    assert_eq!(plans["a"]["regions"], json!(["us-east-1", "eu-west-1"]));
}

#[test]
fn control_only_nodes_do_not_appear() {
    let root = doc(json!({"plans": {"P": {"regions": {"@@operators_allowed_for_child_policies": ["@@none"]}}}}));
    let eff = merge(&[vec![("root", &root)]]);
    assert_eq!(eff.to_json(), json!({}));
    assert!(!eff.is_empty());
    assert!(merge(&[]).is_empty());
}

#[test]
fn append_keeps_order_and_skips_duplicates_remove_ignores_absent() {
    let root = doc(json!({"plans": {"P": {"regions": {"@@assign": ["us-west-2", "us-east-1"]}}}}));
    let ou = doc(json!({"plans": {"P": {"regions": {"@@append": ["us-east-1", "eu-west-1"]}}}}));
    let acct = doc(json!({"plans": {"P": {"regions": {"@@remove": ["us-west-2", "sa-east-1"]}}}}));
    let eff = merge(&[vec![("root", &root)], vec![("ou", &ou)], vec![("acct", &acct)]]);
    assert_eq!(eff.to_json()["plans"]["p"]["regions"], json!(["us-east-1", "eu-west-1"]));
    let explain = eff.explain();
    let regions = explain.as_array().unwrap().iter().find(|e| e["Path"] == "plans.p.regions").unwrap();
    assert_eq!(regions["Elements"][0]["SetBy"]["PolicyId"], "p-root");
    assert_eq!(regions["Elements"][1]["SetBy"]["PolicyId"], "p-ou");
}

#[test]
fn merged_values_can_break_rules_neither_breaks_alone() {
    let root = doc(json!({"plans": {"P": {"rules": {"R": {"lifecycle": {"move_to_cold_storage_after_days": {"@@assign": "30"}}}}}}}));
    let acct = doc(json!({"plans": {"P": {"rules": {"R": {"lifecycle": {"delete_after_days": {"@@assign": "100"}}}}}}}));
    let problems = merge(&[vec![("root", &root)], vec![("acct", &acct)]]).problems();
    assert!(problems.iter().any(|p| p.rule == crate::Rule::ColdStorageMinimum
        && p.path.to_string() == "plans.p.rules.r.lifecycle.delete_after_days"), "{problems:?}");
}

#[test]
fn backup_plans_in_aws_shape_per_region_with_account_substituted() {
    let d = doc(json!({"plans": {"Daily_Plan": {
        "regions": {"@@assign": ["us-east-1", "eu-north-1"]},
        "rules": {"Nightly": {
            "schedule_expression": {"@@assign": "cron(0 3 ? * * *)"},
            "schedule_expression_timezone": {"@@assign": "Europe/Berlin"},
            "target_backup_vault_name": {"@@assign": "Default"},
            "lifecycle": {"move_to_cold_storage_after_days": {"@@assign": "30"}, "delete_after_days": {"@@assign": 365}},
            "recovery_point_tags": {"Owner": {"tag_key": {"@@assign": "Owner"}, "tag_value": {"@@assign": "Ops"}}},
            "copy_actions": {"arn:aws:backup:us-west-2:$account:backup-vault:Bunker": {
                "target_backup_vault_arn": {"@@assign": "arn:aws:backup:us-west-2:$account:backup-vault:Bunker"}}}}},
        "selections": {"tags": {"Pii": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/Backup"},
            "tag_key": {"@@assign": "dataType"}, "tag_value": {"@@assign": ["PII", "RED"]}}},
            "resources": {"Tables": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/Backup"},
                "resource_types": {"@@assign": ["arn:aws:dynamodb:*:*:table/*"]},
                "conditions": {"string_equals": {"env": {"condition_key": {"@@assign": "aws:ResourceTag/env"}, "condition_value": {"@@assign": "prod"}}}}}}},
        "backup_plan_tags": {"Stage": {"tag_key": {"@@assign": "Stage"}, "tag_value": {"@@assign": "Beta"}}}}}}));
    let plans = merge(&[vec![("p", &d)]]).backup_plans("123456789012");
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].region, "us-east-1");
    let json = serde_json::to_value(&plans[0]).unwrap();
    assert_eq!(json["BackupPlan"]["BackupPlanName"], "daily_plan");
    let rule = &json["BackupPlan"]["Rules"][0];
    assert_eq!(rule["RuleName"], "nightly");
    assert_eq!(rule["ScheduleExpressionTimezone"], "Europe/Berlin");
    assert_eq!(rule["StartWindowMinutes"], 480);
    assert_eq!(rule["CompletionWindowMinutes"], 10080);
    assert_eq!(rule["Lifecycle"], json!({"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365}));
    assert_eq!(rule["RecoveryPointTags"], json!({"Owner": "Ops"}));
    assert_eq!(rule["CopyActions"][0]["DestinationBackupVaultArn"], "arn:aws:backup:us-west-2:123456789012:backup-vault:Bunker");
    assert_eq!(json["Selections"][0]["IamRoleArn"], "arn:aws:iam::123456789012:role/Backup");
    assert_eq!(json["Selections"][0]["ListOfTags"][1], json!({"ConditionType": "STRINGEQUALS", "ConditionKey": "dataType", "ConditionValue": "RED"}));
    assert_eq!(json["Selections"][1]["Resources"], json!(["arn:aws:dynamodb:*:*:table/*"]));
    assert_eq!(json["Selections"][1]["Conditions"]["StringEquals"][0]["ConditionValue"], "prod");
    assert_eq!(json["BackupPlanTags"], json!({"Stage": "Beta"}));
}

#[test]
fn incomplete_plans_do_not_run_and_say_why() {
    let d = doc(json!({"plans": {"P": {"regions": {"@@assign": ["us-east-1"]}, "rules": {"R": {"schedule_expression": {"@@assign": "cron(0 5 ? * * *)"}}}}}}));
    let eff = merge(&[vec![("p", &d)]]);
    assert!(eff.backup_plans("123456789012").is_empty());
    let problems: Vec<String> = eff.problems().iter().map(ToString::to_string).collect();
    assert!(problems.iter().any(|p| p.contains("plans.p.rules.r.target_backup_vault_name")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("plans.p.selections")), "{problems:?}");
}
