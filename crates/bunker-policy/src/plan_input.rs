//! AWS Backup plan and selection documents as people write them for
//! `create-backup-plan --backup-plan file://…` and `create-backup-selection`: parsed
//! strictly (unknown keys refused) and validated, every error naming its JSON path and rule,
//! like the policy documents.

use serde::de::DeserializeOwned;

use crate::error::{PolicyError, PolicyErrors, Rule};
use crate::path::JsonPath;
use crate::plan::{BackupPlan, BackupSelection, Lifecycle};
use crate::schedule::Schedule;

/// AWS Backup's shortest start window.
pub const MIN_START_WINDOW_MINUTES: i64 = 60;
/// Cold storage keeps data at least this long (AWS's rule).
pub const COLD_STORAGE_MINIMUM_DAYS: i64 = 90;

/// Parses and validates a `BackupPlan` input document.
///
/// # Errors
/// Every violation: JSON syntax or shape (with the path serde reached), names, schedules,
/// time zones, windows, lifecycle.
pub fn parse_backup_plan(json: &str) -> Result<BackupPlan, PolicyErrors> {
    let plan: BackupPlan = parse_shape(json)?;
    let root = JsonPath::root();
    let mut errors = Vec::new();
    check_name(&root.key("BackupPlanName"), &plan.backup_plan_name, &mut errors);
    if plan.rules.is_empty() {
        errors.push(PolicyError::new(&root.key("Rules"), Rule::Missing, "a plan needs at least one rule"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, rule) in plan.rules.iter().enumerate() {
        let at = root.key("Rules").index(i);
        check_name(&at.key("RuleName"), &rule.rule_name, &mut errors);
        if !seen.insert(rule.rule_name.as_str()) {
            errors.push(PolicyError::new(&at.key("RuleName"), Rule::InvalidName, format!("rule name `{}` is used twice", rule.rule_name)));
        }
        if !valid_vault_name(&rule.target_backup_vault_name) {
            errors.push(PolicyError::new(
                &at.key("TargetBackupVaultName"),
                Rule::InvalidVaultName,
                format!("`{}` is not a backup vault name (2 to 50 letters, digits, '-' or '_')", rule.target_backup_vault_name),
            ));
        }
        if let Err(e) = Schedule::parse(&rule.schedule_expression) {
            errors.push(PolicyError::new(
                &at.key("ScheduleExpression"),
                Rule::InvalidSchedule,
                format!("`{}`: {}", rule.schedule_expression, e.message()),
            ));
        }
        if let Some(tz) = &rule.schedule_expression_timezone
            && jiff::tz::TimeZone::get(tz).is_err()
        {
            errors.push(PolicyError::new(
                &at.key("ScheduleExpressionTimezone"),
                Rule::InvalidTimezone,
                format!("`{tz}` is not an IANA time zone"),
            ));
        }
        if rule.start_window_minutes < MIN_START_WINDOW_MINUTES {
            errors.push(PolicyError::new(
                &at.key("StartWindowMinutes"),
                Rule::OutOfRange,
                format!("{} minutes: the start window must be at least {MIN_START_WINDOW_MINUTES} minutes", rule.start_window_minutes),
            ));
        }
        if rule.completion_window_minutes <= rule.start_window_minutes.max(0) {
            errors.push(PolicyError::new(
                &at.key("CompletionWindowMinutes"),
                Rule::OutOfRange,
                format!(
                    "{} minutes: the completion window must be longer than the start window ({} minutes)",
                    rule.completion_window_minutes, rule.start_window_minutes
                ),
            ));
        }
        if let Some(lc) = &rule.lifecycle {
            check_lifecycle(&at.key("Lifecycle"), lc, &mut errors);
        }
        for (j, copy) in rule.copy_actions.iter().enumerate() {
            let cat = at.key("CopyActions").index(j);
            if !copy.destination_backup_vault_arn.starts_with("arn:") || !copy.destination_backup_vault_arn.contains(":backup-vault:") {
                errors.push(PolicyError::new(
                    &cat.key("DestinationBackupVaultArn"),
                    Rule::InvalidArn,
                    format!("`{}` is not a backup vault ARN", copy.destination_backup_vault_arn),
                ));
            }
            if let Some(lc) = &copy.lifecycle {
                check_lifecycle(&cat.key("Lifecycle"), lc, &mut errors);
            }
        }
    }
    if errors.is_empty() { Ok(plan) } else { Err(PolicyErrors(errors)) }
}

/// Parses and validates a `BackupSelection` input document.
///
/// # Errors
/// Every violation, with its path.
pub fn parse_backup_selection(json: &str) -> Result<BackupSelection, PolicyErrors> {
    let selection: BackupSelection = parse_shape(json)?;
    let root = JsonPath::root();
    let mut errors = Vec::new();
    check_name(&root.key("SelectionName"), &selection.selection_name, &mut errors);
    if !selection.iam_role_arn.starts_with("arn:") {
        errors.push(PolicyError::new(&root.key("IamRoleArn"), Rule::InvalidArn, format!("`{}` is not a role ARN", selection.iam_role_arn)));
    }
    for (i, t) in selection.list_of_tags.iter().enumerate() {
        if !t.condition_type.eq_ignore_ascii_case("STRINGEQUALS") {
            errors.push(PolicyError::new(
                &root.key("ListOfTags").index(i).key("ConditionType"),
                Rule::InvalidValue,
                format!("`{}`: ListOfTags supports only STRINGEQUALS", t.condition_type),
            ));
        }
    }
    let c = &selection.conditions;
    for (name, list) in [
        ("StringEquals", &c.string_equals),
        ("StringNotEquals", &c.string_not_equals),
        ("StringLike", &c.string_like),
        ("StringNotLike", &c.string_not_like),
    ] {
        for (i, p) in list.iter().enumerate() {
            if !p.condition_key.starts_with("aws:ResourceTag/") {
                errors.push(PolicyError::new(
                    &root.key("Conditions").key(name).index(i).key("ConditionKey"),
                    Rule::InvalidValue,
                    format!("`{}`: condition keys have the form aws:ResourceTag/<key>", p.condition_key),
                ));
            }
        }
    }
    if errors.is_empty() { Ok(selection) } else { Err(PolicyErrors(errors)) }
}

/// Checks a lifecycle: days positive, and cold storage kept at least 90 days; appends
/// violations (paths below `at`) to `errors`.
pub fn check_lifecycle(at: &JsonPath, lc: &Lifecycle, errors: &mut Vec<PolicyError>) {
    for (key, days) in [("MoveToColdStorageAfterDays", lc.move_to_cold_storage_after_days), ("DeleteAfterDays", lc.delete_after_days)] {
        if let Some(d) = days
            && d < 1
        {
            errors.push(PolicyError::new(&at.key(key), Rule::OutOfRange, format!("{d} days: must be at least 1")));
        }
    }
    if let (Some(cold), Some(delete)) = (lc.move_to_cold_storage_after_days, lc.delete_after_days)
        && delete < cold + COLD_STORAGE_MINIMUM_DAYS
    {
        errors.push(PolicyError::new(
            &at.key("DeleteAfterDays"),
            Rule::ColdStorageMinimum,
            format!(
                "{delete} days: recovery points in cold storage are kept at least {COLD_STORAGE_MINIMUM_DAYS} days, so DeleteAfterDays must be at least MoveToColdStorageAfterDays + 90 = {}",
                cold + COLD_STORAGE_MINIMUM_DAYS
            ),
        ));
    }
}

fn check_name(at: &JsonPath, name: &str, errors: &mut Vec<PolicyError>) {
    let ok = (1..=50).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok {
        errors.push(PolicyError::new(at, Rule::InvalidName, format!("`{name}`: 1 to 50 letters, digits, '-', '_' or '.'")));
    }
}

/// AWS's backup vault name rule.
pub fn valid_vault_name(name: &str) -> bool {
    (2..=50).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Deserializes a shape, turning serde's error into one with the path it reached.
fn parse_shape<T: DeserializeOwned>(json: &str) -> Result<T, PolicyErrors> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = to_json_path(e.path());
        let inner = e.into_inner();
        let rule = if inner.is_syntax() || inner.is_eof() {
            Rule::InvalidJson
        } else if inner.to_string().contains("unknown field") {
            Rule::UnknownKey
        } else if inner.to_string().contains("missing field") {
            Rule::Missing
        } else {
            Rule::WrongType
        };
        PolicyErrors(vec![PolicyError::new(&path, rule, inner.to_string())])
    })?;
    de.end().map_err(|e| PolicyErrors(vec![PolicyError::new(&JsonPath::root(), Rule::InvalidJson, e.to_string())]))?;
    Ok(value)
}

fn to_json_path(p: &serde_path_to_error::Path) -> JsonPath {
    use serde_path_to_error::Segment;
    let mut path = JsonPath::root();
    for seg in p.iter() {
        path = match seg {
            Segment::Seq { index } => path.index(*index),
            Segment::Map { key } => path.key(key),
            Segment::Enum { variant } => path.key(variant),
            Segment::Unknown => path,
        };
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(json: &str) -> (String, Rule) {
        let e = parse_backup_plan(json).unwrap_err();
        (e.first().path.to_string(), e.first().rule)
    }

    #[test]
    fn a_plan_parses_with_aws_defaults() {
        let plan = parse_backup_plan(
            r#"{"BackupPlanName":"daily","Rules":[{"RuleName":"d","TargetBackupVaultName":"Default",
                "Lifecycle":{"DeleteAfterDays":35},"RecoveryPointTags":{"k":"v"}}]}"#,
        )
        .unwrap();
        let r = &plan.rules[0];
        assert_eq!(r.schedule_expression, "cron(0 5 ? * * *)");
        assert_eq!((r.start_window_minutes, r.completion_window_minutes), (480, 10_080));
        assert_eq!(r.lifecycle.as_ref().unwrap().delete_after_days, Some(35));
    }

    #[test]
    fn errors_name_the_path_and_rule() {
        let rule = |extra: &str| {
            format!(r#"{{"BackupPlanName":"p","Rules":[{{"RuleName":"r","TargetBackupVaultName":"Default"{extra}}}]}}"#)
        };
        assert_eq!(first_error(&rule(r#","ScheduleExpression":"cron(0 5 * * * *)""#)), ("Rules[0].ScheduleExpression".into(), Rule::InvalidSchedule));
        assert_eq!(first_error(&rule(r#","StartWindowMinutes":30"#)), ("Rules[0].StartWindowMinutes".into(), Rule::OutOfRange));
        assert_eq!(
            first_error(&rule(r#","Lifecycle":{"MoveToColdStorageAfterDays":30,"DeleteAfterDays":100}"#)),
            ("Rules[0].Lifecycle.DeleteAfterDays".into(), Rule::ColdStorageMinimum)
        );
        assert_eq!(first_error(&rule(r#","Colour":"blue""#)), ("Rules[0].Colour".into(), Rule::UnknownKey));
        assert_eq!(first_error(&rule(r#","StartWindowMinutes":"soon""#)), ("Rules[0].StartWindowMinutes".into(), Rule::WrongType));
        assert_eq!(first_error(&rule(r#","ScheduleExpressionTimezone":"Mars/Olympus""#)).1, Rule::InvalidTimezone);
        assert_eq!(first_error(r#"{"BackupPlanName":"p","Rules":[]}"#), ("Rules".into(), Rule::Missing));
        assert_eq!(first_error(r#"{"BackupPlanName":"p""#).1, Rule::InvalidJson);
        assert_eq!(first_error(r#"{"Rules":[]}"#).1, Rule::Missing);
    }

    #[test]
    fn selections_parse_and_check_condition_keys() {
        let s = parse_backup_selection(
            r#"{"SelectionName":"tagged","IamRoleArn":"arn:aws:iam::111122223333:role/backup",
                "Conditions":{"StringEquals":[{"ConditionKey":"aws:ResourceTag/backup","ConditionValue":"daily"}]}}"#,
        )
        .unwrap();
        assert_eq!(s.conditions.string_equals.len(), 1);
        let e = parse_backup_selection(
            r#"{"SelectionName":"x","IamRoleArn":"arn:aws:iam::1:role/r","Conditions":{"StringLike":[{"ConditionKey":"backup","ConditionValue":"d*"}]}}"#,
        )
        .unwrap_err();
        assert_eq!(e.first().path.to_string(), "Conditions.StringLike[0].ConditionKey");
    }
}
