//! The service's response shapes as the AWS CLI prints them: PascalCase keys, and
//! timestamps in Python's `isoformat()` (`2026-11-25T18:05:28.123000+00:00`).

use bunker_core::shapes;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

/// A timestamp as the AWS CLI prints it: UTC, microseconds unless there are none.
pub fn timestamp(t: Timestamp) -> Value {
    let dt = TimeZone::UTC.to_datetime(t);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let micros = t.subsec_microsecond();
    if micros != 0 {
        s.push_str(&format!(".{micros:06}"));
    }
    s.push_str("+00:00");
    Value::String(s)
}

fn policy_types(types: &[shapes::PolicyTypeSummary]) -> Value {
    types.iter().map(|t| json!({"Type": t.policy_type.as_str(), "Status": t.status})).collect()
}

pub fn organization(o: &shapes::Organization) -> Value {
    json!({
        "Id": o.id,
        "Arn": o.arn,
        "FeatureSet": o.feature_set,
        "MasterAccountArn": o.master_account_arn,
        "MasterAccountId": o.master_account_id,
        "MasterAccountEmail": o.master_account_email,
        "AvailablePolicyTypes": policy_types(&o.available_policy_types),
    })
}

pub fn root(r: &shapes::Root) -> Value {
    json!({"Id": r.id, "Arn": r.arn, "Name": r.name, "PolicyTypes": policy_types(&r.policy_types)})
}

pub fn organizational_unit(o: &shapes::OrganizationalUnit) -> Value {
    json!({"Id": o.id, "Arn": o.arn, "Name": o.name})
}

pub fn account(a: &shapes::Account) -> Value {
    json!({
        "Id": a.id,
        "Arn": a.arn,
        "Email": a.email,
        "Name": a.name,
        "Status": a.status,
        "JoinedMethod": a.joined_method,
        "JoinedTimestamp": timestamp(a.joined_timestamp),
    })
}

pub fn create_account_status(s: &shapes::CreateAccountStatus) -> Value {
    json!({
        "Id": s.id,
        "AccountName": s.account_name,
        "State": s.state,
        "RequestedTimestamp": timestamp(s.requested_timestamp),
        "CompletedTimestamp": timestamp(s.completed_timestamp),
        "AccountId": s.account_id,
    })
}

pub fn node(n: &shapes::Node) -> Value {
    json!({"Id": n.id, "Type": n.kind.as_str()})
}

pub fn policy_summary(p: &shapes::PolicySummary) -> Value {
    json!({
        "Id": p.id,
        "Arn": p.arn,
        "Name": p.name,
        "Description": p.description,
        "Type": p.policy_type.as_str(),
        "AwsManaged": p.aws_managed,
    })
}

pub fn policy(p: &shapes::Policy) -> Value {
    json!({"PolicySummary": policy_summary(&p.summary), "Content": p.content})
}

pub fn policy_target(t: &shapes::PolicyTargetSummary) -> Value {
    json!({"TargetId": t.target_id, "Arn": t.arn, "Name": t.name, "Type": t.kind.as_str()})
}

pub fn effective_policy(e: &shapes::EffectivePolicy) -> Value {
    json!({
        "PolicyContent": e.policy_content,
        "LastUpdatedTimestamp": timestamp(e.last_updated_timestamp),
        "TargetId": e.target_id,
        "PolicyType": e.policy_type.as_str(),
    })
}

/// A service response as JSON, with its timestamps (keys ending in `Date`, `At`, `By`,
/// `Time`) printed as the AWS CLI prints them.
pub fn shape<T: serde::Serialize>(value: &T) -> Value {
    let mut v = serde_json::to_value(value).unwrap_or(Value::Null);
    fix_timestamps(&mut v);
    v
}

fn fix_timestamps(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let is_time = ["Date", "At", "By", "Time"].iter().any(|s| k.ends_with(s));
                match item {
                    Value::String(s) if is_time => {
                        if let Ok(t) = s.parse::<Timestamp>() {
                            *item = timestamp(t);
                        }
                    }
                    other => fix_timestamps(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix_timestamps),
        _ => {}
    }
}

/// A registered resource; credentials in its location are never printed.
pub fn resource(r: &bunker_catalog::Resource) -> Value {
    let mut location: Value = serde_json::from_str(&r.location).unwrap_or(Value::String(r.location.clone()));
    if let Some(secret) = location.get_mut("SecretAccessKey") {
        *secret = Value::String("********".into());
    }
    json!({
        "ResourceArn": r.arn,
        "ResourceType": r.resource_type,
        "ResourceName": r.name,
        "AccountId": r.account_id,
        "Region": r.region,
        "Location": location,
        "Tags": r.tags,
        "CreationDate": timestamp(r.created_at),
    })
}

/// A `ListProtectedResources` entry.
pub fn protected_resource(p: &bunker_catalog::ProtectedResourceRow) -> Value {
    json!({
        "ResourceArn": p.resource_arn,
        "ResourceType": p.resource_type,
        "ResourceName": p.resource_name,
        "LastBackupTime": timestamp(p.last_backup_at),
        "LastBackupVaultArn": p.last_backup_vault_arn,
        "LastRecoveryPointArn": p.last_recovery_point_arn,
    })
}

/// `{"Key": [render(item)…]}`.
pub fn list<T>(key: &str, items: &[T], render: fn(&T) -> Value) -> Value {
    json!({ key: items.iter().map(render).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_nested_timestamps_like_the_aws_cli() {
        let t: Timestamp = "2026-11-25T18:05:28.5Z".parse().unwrap();
        let v = shape(&json!({"CreationDate": t, "Name": "2026-11-25T18:05:28Z", "C": {"DeleteAt": t}, "L": [{"StartBy": t}]}));
        assert_eq!(v["CreationDate"], json!("2026-11-25T18:05:28.500000+00:00"));
        assert_eq!(v["Name"], json!("2026-11-25T18:05:28Z"), "only time keys change");
        assert_eq!(v["C"]["DeleteAt"], v["CreationDate"]);
        assert_eq!(v["L"][0]["StartBy"], v["CreationDate"]);
    }

    #[test]
    fn timestamps_print_like_python_isoformat() {
        let t: Timestamp = "2026-11-25T18:05:28.123Z".parse().unwrap();
        assert_eq!(timestamp(t), json!("2026-11-25T18:05:28.123000+00:00"));
        let whole: Timestamp = "2026-11-25T18:05:28Z".parse().unwrap();
        assert_eq!(timestamp(whole), json!("2026-11-25T18:05:28+00:00"));
    }
}
