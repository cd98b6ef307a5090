//! Connection secrets: passwords in resource URIs and S3 secret keys.
//!
//! A resource's location is stored with every secret sealed under the instance master key
//! (purpose `connection secret`, bound to the row's owner — the resource ARN — and the
//! field) and shown with it masked:
//!
//! ```json
//! {"Type":"PostgreSQL","Url":"postgresql://backup:****@127.0.0.1:5432/crm",
//!  "SealedSecrets":{"Url":"<hex: nonce ‖ AES-256-GCM of the whole clear Url>"}}
//! ```
//!
//! The whole field is sealed, not only the password, so opening never has to splice a
//! password back into a URI. [`open_location`] gives the connector the clear [`Source`]
//! only when a job runs; [`shown_location`] is what describe and list return. Job rows
//! (restore metadata, restore-test scratch locations) keep no secret at all: nothing
//! reads one back from them.
//!
//! [`redact_uri`] and [`redact_parameters`] are the pure redactions for anything shown,
//! logged or recorded in the audit trail.

use bunker_connectors::Source;
use serde_json::{Map, Value};

use crate::security::{MasterKey, SecurityError, SecurityResult};

pub use bunker_connectors::{MASK, redact_uri};

const PURPOSE: &str = "connection secret";
/// The key of a stored location that holds its sealed fields.
const SEALED: &str = "SealedSecrets";
/// Fields of a location that are secret whatever they hold.
const SECRET_FIELDS: [&str; 1] = ["SecretAccessKey"];

fn aad(owner: &str, field: &str) -> Vec<u8> {
    format!("{owner}\n{field}").into_bytes()
}

/// A field's value as shown: secret fields masked, passwords in URIs masked.
fn shown_field(field: &str, value: &str) -> String {
    if SECRET_FIELDS.contains(&field) {
        if value.is_empty() { String::new() } else { MASK.to_owned() }
    } else {
        redact_uri(value)
    }
}

/// The location JSON to store for `source`, owned by `owner` (its resource ARN): every
/// secret sealed, the visible fields masked.
pub fn seal_location(master: &MasterKey, owner: &str, source: &Source) -> String {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(source) else { return source.to_json() };
    let sealed = seal_fields(master, owner, &mut fields);
    if !sealed.is_empty() {
        fields.insert(SEALED.into(), Value::Object(sealed));
    }
    Value::Object(fields).to_string()
}

fn seal_fields(master: &MasterKey, owner: &str, fields: &mut Map<String, Value>) -> Map<String, Value> {
    let mut sealed = Map::new();
    for (field, value) in fields.iter_mut() {
        let Value::String(clear) = value else { continue };
        let shown = shown_field(field, clear);
        if shown != *clear {
            sealed.insert(field.clone(), Value::String(hex::encode(master.seal(PURPOSE, &aad(owner, field), clear.as_bytes()))));
            *clear = shown;
        }
    }
    sealed
}

/// The [`Source`] a stored location describes, its sealed secrets opened, for a connector.
/// A location stored before secrets were sealed is taken as it is.
///
/// # Errors
/// A location that is not a valid source; a sealed value that does not open (another
/// instance master key, another owner, altered data).
pub fn open_location(master: &MasterKey, owner: &str, stored: &str) -> SecurityResult<Source> {
    let invalid = |e: &dyn std::fmt::Display| SecurityError::Dependency(format!("location of {owner}: {e}"));
    let mut value: Value = serde_json::from_str(stored).map_err(|e| invalid(&e))?;
    if let Some(fields) = value.as_object_mut()
        && let Some(sealed) = fields.remove(SEALED)
    {
        let Value::Object(sealed) = sealed else { return Err(invalid(&"SealedSecrets is not an object")) };
        for (field, hex_value) in sealed {
            let bytes = hex_value.as_str().and_then(|h| hex::decode(h).ok()).ok_or_else(|| invalid(&format!("sealed {field} is not hex")))?;
            let clear = master.open(PURPOSE, &aad(owner, &field), &bytes)?;
            let clear = String::from_utf8(clear).map_err(|_| invalid(&format!("sealed {field} is not text")))?;
            fields.insert(field, Value::String(clear));
        }
    }
    Source::from_json(&value.to_string()).map_err(|e| invalid(&e))
}

/// A stored location as describe and list show it: sealed values left out, secrets masked
/// (also those of a location stored before secrets were sealed).
pub fn shown_location(stored: &str) -> String {
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(stored) else { return redact_uri(stored) };
    fields.remove(SEALED);
    for (field, value) in &mut fields {
        if let Value::String(text) = value {
            *text = shown_field(field, text);
        }
    }
    Value::Object(fields).to_string()
}

/// Whether a stored location still holds a secret in clear (stored before secrets were
/// sealed).
pub fn holds_clear_secret(stored: &str) -> bool {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(stored) else { return redact_uri(stored) != stored };
    fields.iter().any(|(field, value)| field != SEALED && value.as_str().is_some_and(|text| shown_field(field, text) != text))
}

/// Masks every connection secret in request parameters or job metadata, at any depth:
/// passwords in URI-shaped strings (whole values or inside text), and string values that
/// are themselves location JSON (`Metadata.Location`) with their secret fields masked.
/// Keys that name a secret (`Password`, `SecretAccessKey`) are the audit trail's own
/// redaction; this one catches secrets under innocent keys (`Url`, `Location`).
pub fn redact_parameters(value: &mut Value) {
    match value {
        Value::String(text) => {
            let trimmed = text.trim_start();
            if (trimmed.starts_with('{') || trimmed.starts_with('['))
                && let Ok(mut inner) = serde_json::from_str::<Value>(text)
            {
                redact_parameters(&mut inner);
                mask_secret_fields(&mut inner);
                *text = inner.to_string();
            } else {
                *text = redact_uri(text);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_parameters),
        Value::Object(fields) => fields.values_mut().for_each(redact_parameters),
        _ => {}
    }
}

/// Masks the location fields that are secret by name, at any depth of embedded JSON.
fn mask_secret_fields(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.remove(SEALED);
            for (field, v) in fields.iter_mut() {
                match v {
                    Value::String(text) if SECRET_FIELDS.contains(&field.as_str()) && !text.is_empty() => *text = MASK.to_owned(),
                    other => mask_secret_fields(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secret_fields),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:bunker:us-east-1:111111111111:postgresql/crm";

    fn pg() -> Source {
        Source::Postgresql { url: "postgresql://backup:SECRET@127.0.0.1:5432/crm".into() }
    }

    fn bucket() -> Source {
        Source::Bucket {
            endpoint: Some("http://minio:KEY2@127.0.0.1:9000".into()),
            bucket: "b".into(),
            prefix: String::new(),
            region: "us-east-1".into(),
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key: Some("SECRET".into()),
        }
    }

    #[test]
    fn stored_locations_hold_no_secret_and_open_to_the_source() {
        let master = MasterKey::from_bytes([3; 32]);
        for source in [pg(), bucket()] {
            let stored = seal_location(&master, ARN, &source);
            assert!(!stored.contains("SECRET") && !stored.contains("KEY2"), "{stored}");
            assert!(!holds_clear_secret(&stored), "{stored}");
            assert_eq!(open_location(&master, ARN, &stored).unwrap(), source);
            // Bound to its row and to the instance's key.
            assert!(open_location(&master, "arn:aws:bunker:us-east-1:111111111111:postgresql/other", &stored).is_err());
            assert!(open_location(&MasterKey::from_bytes([4; 32]), ARN, &stored).is_err());
            let shown = shown_location(&stored);
            assert!(!shown.contains(SEALED) && !shown.contains("SECRET") && !shown.contains("KEY2"), "{shown}");
        }
        let shown = shown_location(&seal_location(&master, ARN, &pg()));
        assert_eq!(shown, r#"{"Type":"PostgreSQL","Url":"postgresql://backup:****@127.0.0.1:5432/crm"}"#);
    }

    #[test]
    fn locations_without_secrets_are_stored_as_they_are() {
        let master = MasterKey::from_bytes([3; 32]);
        for source in [Source::Directory { path: "/srv".into() }, Source::Postgresql { url: "postgresql://backup@h/crm".into() }] {
            let stored = seal_location(&master, ARN, &source);
            assert_eq!(stored, source.to_json());
            assert_eq!(shown_location(&stored), stored);
        }
    }

    #[test]
    fn old_clear_locations_open_and_show_masked() {
        let master = MasterKey::from_bytes([3; 32]);
        let old = pg().to_json();
        assert!(holds_clear_secret(&old));
        assert_eq!(open_location(&master, ARN, &old).unwrap(), pg());
        assert!(!shown_location(&old).contains("SECRET"));
        assert!(holds_clear_secret(&bucket().to_json()));
        assert!(!holds_clear_secret(r#"{"Type":"Directory","Path":"/srv"}"#));
    }

    #[test]
    fn request_parameters_lose_their_passwords_at_any_depth() {
        let location = bucket().to_json();
        let mut request = json!({
            "RecoveryPointArn": "arn:aws:backup:us-east-1:111111111111:recovery-point:1",
            "Metadata": {"Url": "postgresql://u:SECRET@h/new", "Location": location, "NewResourceName": "crm2"},
            "Notes": ["restore from postgres://a:SECRET@db/x please"],
            "Count": 3
        });
        redact_parameters(&mut request);
        let text = request.to_string();
        assert!(!text.contains("SECRET") && !text.contains("KEY2"), "{text}");
        assert_eq!(request["Metadata"]["Url"], "postgresql://u:****@h/new");
        assert_eq!(request["Metadata"]["NewResourceName"], "crm2");
        assert_eq!(request["Count"], 3);
        let inner: Value = serde_json::from_str(request["Metadata"]["Location"].as_str().unwrap()).unwrap();
        assert_eq!(inner["SecretAccessKey"], MASK);
        assert_eq!(inner["Bucket"], "b");
    }
}
