//! Value rules: what each kind of setting accepts, and the rules that tie settings of
//! one rule together (lifecycle +90 days, continuous backup limits, window sizes).
//!
//! The cross-field rules run on a resolved view (plain values, no operators), so the
//! same code checks a single document at create time and an effective policy after
//! inheritance, where a parent's and a child's values may meet for the first time.

use serde_json::Value;

use crate::document::{Node, type_name};
use crate::error::{PolicyError, Rule};
use crate::ops::Op;
use crate::path::JsonPath;
use crate::schedule::Schedule;
use crate::schema::Leaf;

/// Longest start or completion window AWS Backup accepts: 100 years in minutes.
const MAX_WINDOW_MINUTES: i64 = 52_560_000;
/// Longest lifecycle AWS Backup accepts: 100 years in days.
const MAX_DAYS: i64 = 36_500;
/// Backups moved to cold storage stay there at least this long.
const COLD_STORAGE_MINIMUM_DAYS: i64 = 90;
/// Point-in-time (continuous) recovery points are kept at most this long.
const CONTINUOUS_MAX_DAYS: i64 = 35;
const ACCOUNT_VARIABLE: &str = "$account";

/// Checks one operator's value for a setting of kind `kind`. Returns whether it is valid.
pub(crate) fn check_value(kind: Leaf, op: Op, value: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) -> bool {
    let before = errors.len();
    if kind.is_list() {
        match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_list_item(kind, item, &path.index(i), errors);
                }
            }
            None => errors.push(PolicyError::new(
                path,
                Rule::WrongType,
                format!("{op} on this setting takes an array of strings (got {})", type_name(value)),
            )),
        }
    } else {
        check_scalar(kind, value, path, errors);
    }
    errors.len() == before
}

fn check_list_item(kind: Leaf, item: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let Some(s) = item.as_str() else {
        errors.push(PolicyError::new(path, Rule::WrongType, format!("must be a string (got {})", type_name(item))));
        return;
    };
    match kind {
        Leaf::Regions => check_region(s, path, errors),
        Leaf::ArnList => {
            if s != "*" && !s.starts_with("arn:") {
                errors.push(PolicyError::new(path, Rule::InvalidArn, format!("must be a resource ARN, an ARN pattern or * (got {s:?})")));
            }
        }
        _ => check_text(s, path, errors),
    }
}

fn check_scalar(kind: Leaf, value: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let push = |errors: &mut Vec<PolicyError>, rule, msg: String| errors.push(PolicyError::new(path, rule, msg));
    match kind {
        Leaf::Bool => {
            if as_bool(value).is_none() {
                push(errors, Rule::WrongType, format!("must be true or false (got {value})"));
            }
        }
        Leaf::StartWindow => check_int(value, 60, MAX_WINDOW_MINUTES, "minutes", path, errors),
        Leaf::CompleteWindow => check_int(value, 60, MAX_WINDOW_MINUTES, "minutes", path, errors),
        Leaf::Days => check_int(value, 1, MAX_DAYS, "days", path, errors),
        _ => {
            let Some(s) = value.as_str() else {
                push(errors, Rule::WrongType, format!("must be a string (got {})", type_name(value)));
                return;
            };
            match kind {
                Leaf::Schedule => match s.parse::<Schedule>() {
                    Ok(schedule) => {
                        if let Err(e) = schedule.check_backup_frequency() {
                            push(errors, Rule::InvalidSchedule, format!("{e} (got {s:?})"));
                        }
                    }
                    Err(e) => push(errors, Rule::InvalidSchedule, format!("{e} (got {s:?})")),
                },
                Leaf::Timezone => {
                    if jiff::tz::TimeZone::get(s).is_err() {
                        push(errors, Rule::InvalidTimezone, format!("{s:?} is not an IANA time zone name such as \"Europe/Berlin\""));
                    }
                }
                Leaf::VaultName => check_vault_name(s, path, errors),
                Leaf::VaultArn => check_vault_arn(s, path, errors),
                Leaf::RoleArn => check_role_arn(s, path, errors),
                Leaf::EnabledDisabled => {
                    if s != "enabled" && s != "disabled" {
                        push(errors, Rule::InvalidValue, format!("must be \"enabled\" or \"disabled\" (got {s:?})"));
                    }
                }
                _ => check_text(s, path, errors),
            }
        }
    }
}

fn check_text(s: &str, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    if s.contains(ACCOUNT_VARIABLE) {
        errors.push(PolicyError::new(path, Rule::AccountVariableNotAllowed, format!("$account may be used only in ARNs (got {s:?})")));
    } else if s.chars().count() > 256 {
        errors.push(PolicyError::new(path, Rule::OutOfRange, format!("must be at most 256 characters (got {})", s.chars().count())));
    }
}

fn check_int(value: &Value, min: i64, max: i64, unit: &str, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    match as_int(value) {
        Some(n) if (min..=max).contains(&n) => {}
        Some(n) => errors.push(PolicyError::new(path, Rule::OutOfRange, format!("must be between {min} and {max} {unit} (got {n})"))),
        None => errors.push(PolicyError::new(path, Rule::WrongType, format!("must be a whole number of {unit}, as a number or a string (got {value})"))),
    }
}

/// A whole number written as a JSON number or a string of digits (`"60"`), as the AWS examples do.
pub(crate) fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.trim() == s => s.parse().ok(),
        _ => None,
    }
}

/// A boolean written as `true` or `"true"`.
pub(crate) fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// AWS-style Region codes: `us-east-1`, `ap-northeast-3`, `us-gov-west-1` ([`crate::Region`]).
pub(crate) fn is_region(s: &str) -> bool {
    crate::Region::parse(s).is_ok()
}

fn check_region(s: &str, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    if !is_region(s) {
        errors.push(PolicyError::new(path, Rule::InvalidRegion, format!("{s:?} is not a Region code such as \"us-east-1\"")));
    }
}

fn is_vault_name(s: &str) -> bool {
    (2..=50).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_vault_name(s: &str, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    if !is_vault_name(s) {
        errors.push(PolicyError::new(
            path,
            Rule::InvalidVaultName,
            format!("{s:?} is not a valid backup vault name: 2-50 characters from a-z, A-Z, 0-9, '-', '_'"),
        ));
    }
}

/// The parts of an ARN: partition, service, region, account, resource.
fn split_arn(s: &str) -> Option<[&str; 5]> {
    let mut it = s.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    (arn == "arn" && matches!(partition, "aws" | "aws-cn" | "aws-us-gov" | "bunker")).then_some([partition, service, region, account, resource])
}

fn is_account(s: &str) -> bool {
    s == ACCOUNT_VARIABLE || (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// A backup vault ARN: `arn:aws:backup:us-east-1:$account:backup-vault:Name`. The AWS
/// examples also write `vault:` for the resource type; both are accepted.
pub(crate) fn check_vault_arn(s: &str, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let ok = split_arn(s).is_some_and(|[_, service, region, account, resource]| {
        let name = resource.strip_prefix("backup-vault:").or_else(|| resource.strip_prefix("vault:"));
        service == "backup" && is_region(region) && is_account(account) && name.is_some_and(is_vault_name)
    });
    if !ok {
        errors.push(PolicyError::new(
            path,
            Rule::InvalidArn,
            format!("{s:?} is not a backup vault ARN such as \"arn:aws:backup:us-east-1:$account:backup-vault:Name\""),
        ));
    }
}

fn check_role_arn(s: &str, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let ok = split_arn(s).is_some_and(|[_, service, region, account, resource]| {
        service == "iam" && region.is_empty() && is_account(account) && resource.strip_prefix("role/").is_some_and(|r| !r.is_empty())
    });
    if !ok {
        errors.push(PolicyError::new(
            path,
            Rule::InvalidArn,
            format!("{s:?} is not an IAM role ARN such as \"arn:aws:iam::$account:role/BackupRole\""),
        ));
    }
}

/// Cross-field rules of one document, on the values it assigns.
pub(crate) fn check_document(root: &Node, errors: &mut Vec<PolicyError>) {
    check_plans(&resolved(root), &JsonPath::root(), errors);
}

/// A document's own values with the operators taken away: `@@assign` / `@@append` give
/// the value; a setting that only removes contributes nothing.
fn resolved(node: &Node) -> Value {
    match node {
        Node::Object { entries, .. } => {
            Value::Object(entries.iter().map(|e| (e.key.clone(), resolved(&e.node))).filter(|(_, v)| !v.is_null()).collect())
        }
        Node::Leaf { ops, .. } => ops
            .iter()
            .rev()
            .find(|(op, _)| *op != Op::Remove)
            .map_or(Value::Null, |(_, v)| v.clone()),
    }
}

/// Cross-field rules on a resolved document or an effective policy.
pub(crate) fn check_plans(doc: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let plans = path.key("plans");
    for (plan_name, plan) in entries(doc.get("plans")) {
        let plan_path = plans.key(plan_name);
        let rules_path = plan_path.key("rules");
        for (rule_name, rule) in entries(plan.get("rules")) {
            check_rule(rule, &rules_path.key(rule_name), errors);
        }
    }
}

fn entries(v: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    v.and_then(Value::as_object).into_iter().flatten()
}

fn check_rule(rule: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let int = |v: &Value, k: &str| v.get(k).and_then(as_int);
    if let (Some(start), Some(complete)) = (int(rule, "start_backup_window_minutes"), int(rule, "complete_backup_window_minutes"))
        && complete < start + 60 {
            errors.push(PolicyError::new(
                &path.key("complete_backup_window_minutes"),
                Rule::OutOfRange,
                format!("must be at least start_backup_window_minutes + 60 (got {complete}, start_backup_window_minutes is {start})"),
            ));
        }
    let lifecycle = rule.get("lifecycle");
    if let Some(lc) = lifecycle {
        check_lifecycle(lc, &path.key("lifecycle"), errors);
    }
    let continuous = rule.get("enable_continuous_backup").and_then(as_bool) == Some(true);
    if continuous {
        let cold = lifecycle.and_then(|lc| int(lc, "move_to_cold_storage_after_days"));
        let delete = lifecycle.and_then(|lc| int(lc, "delete_after_days"));
        let why = match (cold, delete) {
            (Some(c), _) => Some(format!("lifecycle.move_to_cold_storage_after_days is {c}")),
            (None, Some(d)) if d > CONTINUOUS_MAX_DAYS => Some(format!("lifecycle.delete_after_days is {d}")),
            _ => None,
        };
        if let Some(why) = why {
            errors.push(PolicyError::new(
                &path.key("enable_continuous_backup"),
                Rule::ContinuousBackupLimit,
                format!(
                    "must be false or absent when move_to_cold_storage_after_days is set or delete_after_days is greater than {CONTINUOUS_MAX_DAYS}: continuous backups cannot go to cold storage (got true; {why})"
                ),
            ));
        }
    }
    let copies = path.key("copy_actions");
    for (key, action) in entries(rule.get("copy_actions")) {
        if let Some(lc) = action.get("lifecycle") {
            check_lifecycle(lc, &copies.key(key).key("lifecycle"), errors);
        }
    }
}

fn check_lifecycle(lc: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    let cold = lc.get("move_to_cold_storage_after_days").and_then(as_int);
    let delete = lc.get("delete_after_days").and_then(as_int);
    if let (Some(cold), Some(delete)) = (cold, delete)
        && delete < cold + COLD_STORAGE_MINIMUM_DAYS {
            errors.push(PolicyError::new(
                &path.key("delete_after_days"),
                Rule::ColdStorageMinimum,
                format!(
                    "must be at least move_to_cold_storage_after_days + {COLD_STORAGE_MINIMUM_DAYS} (got {delete}, move_to_cold_storage_after_days is {cold}): backups stay in cold storage at least {COLD_STORAGE_MINIMUM_DAYS} days"
                ),
            ));
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyDocument;

    fn rule_doc(rule: &str) -> String {
        format!(r#"{{"plans":{{"PII_Backup_Plan":{{"rules":{{"Hourly":{rule}}}}}}}}}"#)
    }

    fn first_error(text: &str) -> PolicyError {
        PolicyDocument::parse(text).expect_err("must be rejected").first().clone()
    }

    #[test]
    fn lifecycle_cold_storage_minimum_names_path_and_value() {
        let e = first_error(&rule_doc(
            r#"{"lifecycle":{"move_to_cold_storage_after_days":{"@@assign":"10"},"delete_after_days":{"@@assign":"30"}}}"#,
        ));
        assert_eq!(e.rule, Rule::ColdStorageMinimum);
        let text = e.to_string();
        assert!(
            text.starts_with("plans.PII_Backup_Plan.rules.Hourly.lifecycle.delete_after_days: must be at least move_to_cold_storage_after_days + 90 (got 30"),
            "{text}"
        );
    }

    #[test]
    fn copy_action_lifecycle_is_checked_too() {
        let e = first_error(&rule_doc(
            r#"{"copy_actions":{"arn:aws:backup:us-west-2:$account:backup-vault:Sec":{"lifecycle":{"move_to_cold_storage_after_days":{"@@assign":10},"delete_after_days":{"@@assign":20}}}}}"#,
        ));
        assert_eq!(e.rule, Rule::ColdStorageMinimum);
        assert!(e.path.to_string().contains("copy_actions"));
    }

    #[test]
    fn continuous_backup_limits() {
        let e = first_error(&rule_doc(r#"{"enable_continuous_backup":{"@@assign":true},"lifecycle":{"delete_after_days":{"@@assign":"36"}}}"#));
        assert_eq!(e.rule, Rule::ContinuousBackupLimit);
        PolicyDocument::parse(&rule_doc(r#"{"enable_continuous_backup":{"@@assign":true},"lifecycle":{"delete_after_days":{"@@assign":"35"}}}"#)).unwrap();
    }

    #[test]
    fn windows() {
        assert_eq!(first_error(&rule_doc(r#"{"start_backup_window_minutes":{"@@assign":"59"}}"#)).rule, Rule::OutOfRange);
        assert_eq!(first_error(&rule_doc(r#"{"start_backup_window_minutes":{"@@assign":"sixty"}}"#)).rule, Rule::WrongType);
        assert_eq!(
            first_error(&rule_doc(r#"{"start_backup_window_minutes":{"@@assign":"120"},"complete_backup_window_minutes":{"@@assign":"150"}}"#)).rule,
            Rule::OutOfRange
        );
        assert_eq!(first_error(&rule_doc(r#"{"start_backup_window_minutes":{"@@assign":52560001}}"#)).rule, Rule::OutOfRange);
    }

    #[test]
    fn lifecycle_range() {
        let e = first_error(&rule_doc(r#"{"lifecycle":{"delete_after_days":{"@@assign":"36501"}}}"#));
        assert_eq!(e.rule, Rule::OutOfRange);
        assert!(e.message.contains("36501"));
    }

    #[test]
    fn vault_names_and_arns() {
        assert_eq!(first_error(&rule_doc(r#"{"target_backup_vault_name":{"@@assign":"a"}}"#)).rule, Rule::InvalidVaultName);
        assert_eq!(first_error(&rule_doc(r#"{"target_backup_vault_name":{"@@assign":"my vault"}}"#)).rule, Rule::InvalidVaultName);
        assert_eq!(
            first_error(&rule_doc(r#"{"copy_actions":{"not-an-arn":{"target_backup_vault_arn":{"@@assign":"x"}}}}"#)).rule,
            Rule::InvalidArn
        );
        PolicyDocument::parse(&rule_doc(
            r#"{"copy_actions":{"arn:aws:backup:us-east-1:$account:vault:secondary_vault":{"target_backup_vault_arn":{"@@assign":"arn:bunker:backup:us-east-1:111111111111:backup-vault:Central"}}}}"#,
        ))
        .unwrap();
    }

    #[test]
    fn schedules_and_timezones() {
        let e = first_error(&rule_doc(r#"{"schedule_expression":{"@@assign":"cron(0 5 * * * *)"}}"#));
        assert_eq!(e.rule, Rule::InvalidSchedule);
        assert_eq!(e.path.to_string(), "plans.PII_Backup_Plan.rules.Hourly.schedule_expression");
        assert_eq!(first_error(&rule_doc(r#"{"schedule_expression":{"@@assign":"cron(0/30 * ? * * *)"}}"#)).rule, Rule::InvalidSchedule);
        assert_eq!(first_error(&rule_doc(r#"{"schedule_expression_timezone":{"@@assign":"Mars/Olympus"}}"#)).rule, Rule::InvalidTimezone);
        PolicyDocument::parse(&rule_doc(
            r#"{"schedule_expression":{"@@assign":"cron(30 2 ? * MON-FRI *)"},"schedule_expression_timezone":{"@@assign":"Europe/Berlin"}}"#,
        ))
        .unwrap();
    }

    #[test]
    fn regions() {
        for good in ["us-east-1", "ap-northeast-3", "us-gov-west-1", "eu-central-2"] {
            assert!(is_region(good), "{good}");
        }
        for bad in ["useast1", "US-EAST-1", "us-east", "-east-1", "us--1", "1-east-1", ""] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn account_variable_only_in_arns() {
        let doc = r#"{"plans":{"P":{"backup_plan_tags":{"t":{"tag_key":{"@@assign":"k"},"tag_value":{"@@assign":"$account"}}}}}}"#;
        assert_eq!(first_error(doc).rule, Rule::AccountVariableNotAllowed);
        let doc = r#"{"plans":{"P":{"selections":{"tags":{"s":{"iam_role_arn":{"@@assign":"arn:aws:iam::$account:role/R"}}}}}}}"#;
        PolicyDocument::parse(doc).unwrap();
    }

    #[test]
    fn role_arns() {
        let doc = r#"{"plans":{"P":{"selections":{"tags":{"s":{"iam_role_arn":{"@@assign":"arn:aws:iam::12:role/R"}}}}}}}"#;
        assert_eq!(first_error(doc).rule, Rule::InvalidArn);
    }

    #[test]
    fn advanced_settings() {
        let doc = r#"{"plans":{"P":{"advanced_backup_settings":{"ec2":{"windows_vss":{"@@assign":"on"}}}}}}"#;
        assert_eq!(first_error(doc).rule, Rule::InvalidValue);
        let doc = r#"{"plans":{"P":{"advanced_backup_settings":{"s3":{}}}}}"#;
        assert_eq!(first_error(doc).rule, Rule::UnknownKey);
    }
}
