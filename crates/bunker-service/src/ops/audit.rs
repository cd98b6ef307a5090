//! `bunker audit`: the audit trail — `lookup-events` as `aws cloudtrail lookup-events`
//! names and prints it, and `verify`, which walks the hash chain and the signed digests
//! and names the first record that was edited, deleted or moved.

use bunker_core::security::audit::{AuditTrail, LookupAttribute, LookupAttributeKey, LookupEvents, LookupEventsOutput, VerifyReport};
use clap::Subcommand;
use serde::Serialize;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::aws_json::timestamp;
use crate::failure::Failure;
use crate::Service;

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum Command {
    /// Recorded calls, newest first, by one lookup attribute and a time range.
    LookupEvents {
        /// `AttributeKey=EventName,AttributeValue=DeleteRecoveryPoint`, or JSON
        /// `[{"AttributeKey":…,"AttributeValue":…}]`. Keys: EventId, EventName, ReadOnly,
        /// Username, ResourceType, ResourceName, EventSource, AccessKeyId.
        #[arg(long, num_args = 1.., value_name = "AttributeKey=KEY,AttributeValue=VALUE")]
        lookup_attributes: Vec<String>,
        /// Events at or after this time (ISO 8601, or seconds since the epoch).
        #[arg(long, value_parser = parse_time)]
        start_time: Option<Timestamp>,
        /// Events at or before this time.
        #[arg(long, value_parser = parse_time)]
        end_time: Option<Timestamp>,
        /// Events per page (1–50, default 50).
        #[arg(long)]
        max_results: Option<i64>,
        /// The previous page's `NextToken`.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Check every record's hash and link and every digest's signature; fails with
    /// AuditTrailTamperedException naming the first bad record.
    Verify,
}

/// Runs one operation.
pub(crate) async fn run(service: &Service, who: &crate::Authenticated, command: Command) -> Result<Option<Value>, Failure> {
    let trail = AuditTrail::of(&service.security);
    match command {
        Command::LookupEvents { lookup_attributes, start_time, end_time, max_results, next_token } => {
            let mut attributes = Vec::new();
            for text in lookup_attributes {
                attributes.extend(parse_attributes(&text)?);
            }
            let request = LookupEvents { lookup_attributes: attributes, start_time, end_time, max_results, next_token };
            // As CloudTrail's LookupEvents: an account sees its own events; the management
            // account sees the organization's.
            let scope = trail.scope_of(who.caller()).await?;
            Ok(Some(lookup_output(&trail.lookup_events_in(request, &scope).await?)))
        }
        Command::Verify => Ok(Some(report(&trail.verify().await?.ensure_intact()?))),
    }
}

fn lookup_output(out: &LookupEventsOutput) -> Value {
    let events: Vec<Value> = out
        .events
        .iter()
        .map(|e| {
            let mut v = Map::new();
            v.insert("EventId".into(), e.event_id.clone().into());
            v.insert("EventName".into(), e.event_name.clone().into());
            v.insert("ReadOnly".into(), e.read_only.clone().into());
            if let Some(key) = &e.access_key_id {
                v.insert("AccessKeyId".into(), key.clone().into());
            }
            v.insert("EventTime".into(), timestamp(e.event_time));
            v.insert("EventSource".into(), e.event_source.clone().into());
            v.insert("Username".into(), e.username.clone().into());
            let resources: Vec<Value> =
                e.resources.iter().map(|r| json!({"ResourceType": r.resource_type, "ResourceName": r.resource_name})).collect();
            v.insert("Resources".into(), resources.into());
            v.insert("CloudTrailEvent".into(), e.cloud_trail_event.clone().into());
            Value::Object(v)
        })
        .collect();
    let mut out_json = Map::new();
    out_json.insert("Events".into(), events.into());
    if let Some(token) = &out.next_token {
        out_json.insert("NextToken".into(), token.clone().into());
    }
    Value::Object(out_json)
}

fn report(r: &VerifyReport) -> Value {
    json!({
        "Valid": r.is_intact(),
        "RecordsChecked": r.records_checked,
        "DigestsChecked": r.digests_checked,
        "LastRecord": r.last_seq,
        "LastHash": r.last_hash,
    })
}

/// One `--lookup-attributes` value: shorthand `AttributeKey=K,AttributeValue=V` (the value
/// runs to the end, so it may hold commas) or a JSON object or list.
fn parse_attributes(text: &str) -> Result<Vec<LookupAttribute>, Failure> {
    let bad = |message: String| Failure::Parameter { name: "--lookup-attributes", message };
    let key_of = |name: &str| {
        LookupAttributeKey::parse(name).ok_or_else(|| {
            let valid: Vec<&str> = LookupAttributeKey::ALL.iter().map(|k| k.as_str()).collect();
            bad(format!("Invalid AttributeKey {name:?}, valid choices are: {}", valid.join(" | ")))
        })
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(trimmed).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        return items
            .iter()
            .map(|item| {
                let field = |f: &str| item.get(f).and_then(Value::as_str).ok_or_else(|| bad(format!("missing {f}")));
                Ok(LookupAttribute { key: key_of(field("AttributeKey")?)?, value: field("AttributeValue")?.to_owned() })
            })
            .collect();
    }
    let (before, value) = text
        .split_once("AttributeValue=")
        .ok_or_else(|| bad(format!("expected AttributeKey=KEY,AttributeValue=VALUE, got `{text}`")))?;
    // The key comes before the value, or after it (`AttributeValue=V,AttributeKey=K`).
    let (key, value) = match before.trim_end_matches(',').strip_prefix("AttributeKey=") {
        Some(key) => (key.to_owned(), value.to_owned()),
        None => match value.rsplit_once(",AttributeKey=") {
            Some((value, key)) if before.is_empty() => (key.to_owned(), value.to_owned()),
            _ => return Err(bad(format!("expected AttributeKey=KEY,AttributeValue=VALUE, got `{text}`"))),
        },
    };
    Ok(vec![LookupAttribute { key: key_of(key.trim())?, value }])
}

/// A time as the AWS CLI takes it: ISO 8601 (`2026-11-25T18:05:28Z`, with an offset, or
/// without one for UTC; a date alone is its midnight UTC), or seconds since the epoch.
fn parse_time(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        let micros = (seconds * 1e6).round() as i64;
        return Timestamp::from_microsecond(micros).map_err(|e| e.to_string());
    }
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return jiff::tz::TimeZone::UTC.to_timestamp(dt).map_err(|e| e.to_string());
    }
    Err(format!("invalid time {text:?}: expected ISO 8601 (2026-11-25T18:05:28Z) or seconds since the epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_in_shorthand_and_json() {
        let one = parse_attributes("AttributeKey=EventName,AttributeValue=DeleteRecoveryPoint").unwrap();
        assert_eq!(one, vec![LookupAttribute { key: LookupAttributeKey::EventName, value: "DeleteRecoveryPoint".into() }]);
        let flipped = parse_attributes("AttributeValue=a,b,AttributeKey=ResourceName").unwrap();
        assert_eq!(flipped[0].value, "a,b");
        assert_eq!(flipped[0].key, LookupAttributeKey::ResourceName);
        let json = parse_attributes(r#"[{"AttributeKey":"ReadOnly","AttributeValue":"true"}]"#).unwrap();
        assert_eq!(json[0].key, LookupAttributeKey::ReadOnly);
        assert!(parse_attributes("AttributeKey=Colour,AttributeValue=x").unwrap_err().to_string().contains("valid choices"));
        assert!(parse_attributes("EventName=x").is_err());
    }

    #[test]
    fn times_as_the_aws_cli_takes_them() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(parse_time("1800000000").unwrap(), t);
        assert_eq!(parse_time("2027-01-15T08:00:00Z").unwrap(), t);
        assert_eq!(parse_time("2027-01-15T09:00:00+01:00").unwrap(), t);
        assert_eq!(parse_time("2027-01-15T08:00:00").unwrap(), t);
        assert_eq!(parse_time("2027-01-15").unwrap(), Timestamp::from_second(1_800_000_000 - 8 * 3600).unwrap());
        assert!(parse_time("yesterday").is_err());
    }
}
