//! One BACKUP_POLICY document: parsed and checked against every documented rule.
//!
//! Parsing builds a [`Node`] tree guided by [`schema::DOCUMENT`]: keyword objects, maps
//! of user-chosen names, and leaves holding value-setting operators. Every violation is
//! collected (not just the first), each with its JSON path and the rule it breaks.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{PolicyError, PolicyErrors, Rule};
use crate::ops::{CHILD_CONTROL, Op, OpSet};
use crate::path::JsonPath;
use crate::schema::{self, Leaf, NameKind, Shape};
use crate::validate;

/// The longest document AWS Organizations accepts for a backup policy, in characters.
pub const MAX_DOCUMENT_CHARS: usize = 10_000;

/// A validated policy document, as written (operators not yet resolved).
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    pub(crate) root: Node,
    json: Value,
}

/// A node of a parsed document.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A keyword object or a map of names.
    Object { entries: Vec<Entry>, control: Option<OpSet> },
    /// A setting.
    Leaf { ops: Vec<(Op, Value)>, control: Option<OpSet> },
}

/// A key of an object node and what it holds.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The key as written.
    pub key: String,
    /// The key as the effective policy shows it (user-chosen names lower-cased).
    pub norm: String,
    pub node: Node,
}

impl PolicyDocument {
    /// Parses and validates a document. Every violation is reported with its JSON path.
    pub fn parse(text: &str) -> Result<Self, PolicyErrors> {
        let root_path = JsonPath::root();
        let chars = text.chars().count();
        if chars > MAX_DOCUMENT_CHARS {
            return Err(PolicyErrors(vec![PolicyError::new(
                &root_path,
                Rule::DocumentTooLarge,
                format!("document is {chars} characters long; backup policies may hold at most {MAX_DOCUMENT_CHARS}"),
            )]));
        }
        let json = parse_json_strict(text).map_err(|e| PolicyErrors(vec![e]))?;
        let mut errors = Vec::new();
        let root = match &json {
            Value::Object(map) => {
                if !map.contains_key("plans") {
                    errors.push(PolicyError::new(&root_path, Rule::Missing, "the document must have the top-level key `plans`"));
                }
                build_object(map, &schema::DOCUMENT, &root_path, &mut errors)
            }
            other => {
                errors.push(PolicyError::new(
                    &root_path,
                    Rule::WrongType,
                    format!("the document must be a JSON object with the key `plans` (got {})", type_name(other)),
                ));
                Node::Object { entries: Vec::new(), control: None }
            }
        };
        if errors.is_empty() {
            validate::check_document(&root, &mut errors);
        }
        if errors.is_empty() { Ok(Self { root, json }) } else { Err(PolicyErrors(errors)) }
    }

    /// The document as JSON.
    pub fn as_json(&self) -> &Value {
        &self.json
    }
}

/// Parses JSON, refusing duplicate keys (AWS rejects them; serde_json would keep the last).
fn parse_json_strict(text: &str) -> Result<Value, PolicyError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de
        .deserialize_any(StrictValue)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            let msg = e.to_string();
            let rule = if msg.contains("duplicate key") { Rule::DuplicateKey } else { Rule::InvalidJson };
            PolicyError::new(&JsonPath::root(), rule, msg)
        })?;
    Ok(value)
}

struct StrictValue;

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let v = map.next_value_seed(StrictSeed)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

struct StrictSeed;

impl<'de> de::DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictValue)
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn build(value: &Value, shape: &'static Shape, path: &JsonPath, errors: &mut Vec<PolicyError>) -> Node {
    match (shape, value) {
        (Shape::Leaf(kind), Value::Object(map)) => build_leaf(map, *kind, path, errors),
        (Shape::Leaf(_), other) => {
            errors.push(PolicyError::new(
                path,
                Rule::WrongType,
                format!("a setting must be an object holding an operator such as {{\"@@assign\": …}} (got {})", type_name(other)),
            ));
            Node::Leaf { ops: Vec::new(), control: None }
        }
        (_, Value::Object(map)) => build_object(map, shape, path, errors),
        (_, other) => {
            errors.push(PolicyError::new(path, Rule::WrongType, format!("must be an object (got {})", type_name(other))));
            Node::Object { entries: Vec::new(), control: None }
        }
    }
}

fn build_object(map: &Map<String, Value>, shape: &'static Shape, path: &JsonPath, errors: &mut Vec<PolicyError>) -> Node {
    let mut entries: Vec<Entry> = Vec::new();
    let mut control = None;
    for (key, value) in map {
        let here = path.key(key);
        if key == CHILD_CONTROL {
            if path.is_root() {
                errors.push(PolicyError::new(&here, Rule::UnknownKey, format!("`{CHILD_CONTROL}` is not allowed at the top level; put it on `plans` or below")));
            } else {
                control = parse_control(value, &here, errors);
            }
            continue;
        }
        if key.starts_with("@@") {
            let rule = if Op::from_keyword(key).is_some() { Rule::OperatorNotAllowed } else { Rule::UnknownKey };
            errors.push(PolicyError::new(&here, rule, format!("`{key}` cannot be used on `{}`, which holds other settings; only `{CHILD_CONTROL}` can", last_key(path))));
            continue;
        }
        let norm = match shape {
            Shape::Map(kind, _) => {
                check_name(key, *kind, &here, errors);
                key.to_lowercase()
            }
            _ => key.clone(),
        };
        let Some(child_shape) = shape.child(key) else {
            errors.push(PolicyError::new(
                &here,
                Rule::UnknownKey,
                format!("unknown key `{key}`; expected one of: {}", shape.keywords().join(", ")),
            ));
            continue;
        };
        if let Some(prev) = entries.iter().find(|e| e.norm == norm) {
            errors.push(PolicyError::new(
                &here,
                Rule::DuplicateKey,
                format!("`{key}` and `{}` name the same entry (names are not case-sensitive)", prev.key),
            ));
            continue;
        }
        let node = build(value, child_shape, &here, errors);
        entries.push(Entry { key: key.clone(), norm, node });
    }
    Node::Object { entries, control }
}

fn build_leaf(map: &Map<String, Value>, kind: Leaf, path: &JsonPath, errors: &mut Vec<PolicyError>) -> Node {
    let mut ops = Vec::new();
    let mut control = None;
    for (key, value) in map {
        let here = path.key(key);
        if key == CHILD_CONTROL {
            control = parse_control(value, &here, errors);
            continue;
        }
        let Some(op) = Op::from_keyword(key) else {
            errors.push(PolicyError::new(
                &here,
                Rule::UnknownKey,
                format!("unknown key `{key}` in a setting; expected @@assign, @@append, @@remove or {CHILD_CONTROL}"),
            ));
            continue;
        };
        if op != Op::Assign && !kind.is_list() {
            errors.push(PolicyError::new(
                &here,
                Rule::OperatorNotAllowed,
                format!("`{key}` works only on multi-valued settings; `{}` holds a single value, use @@assign", last_key(path)),
            ));
            continue;
        }
        // Value errors name the setting, not the operator: `…lifecycle.delete_after_days`.
        if validate::check_value(kind, op, value, path, errors) {
            ops.push((op, value.clone()));
        }
    }
    Node::Leaf { ops, control }
}

fn parse_control(value: &Value, path: &JsonPath, errors: &mut Vec<PolicyError>) -> Option<OpSet> {
    let bad = |errors: &mut Vec<PolicyError>, why: String| {
        errors.push(PolicyError::new(path, Rule::InvalidChildControl, why));
        None
    };
    let Some(items) = value.as_array() else {
        return bad(errors, format!("must be an array such as [\"@@assign\"], [\"@@all\"] or [\"@@none\"] (got {})", type_name(value)));
    };
    if items.is_empty() {
        return bad(errors, "must not be empty; use [\"@@none\"] to forbid every operator".into());
    }
    let mut set = OpSet::NONE;
    for item in items {
        match item.as_str() {
            Some("@@all" | "@@none") if items.len() > 1 => {
                return bad(errors, format!("{item} must stand alone (got {value})"));
            }
            Some("@@all") => return Some(OpSet::ALL),
            Some("@@none") => return Some(OpSet::NONE),
            Some(s) => match Op::from_keyword(s) {
                Some(op) => set = set.with(op),
                None => return bad(errors, format!("unknown operator {item}; expected @@all, @@none, @@assign, @@append or @@remove")),
            },
            None => return bad(errors, format!("must hold operator names as strings (got {item})")),
        }
    }
    Some(set)
}

fn check_name(key: &str, kind: NameKind, path: &JsonPath, errors: &mut Vec<PolicyError>) {
    match kind {
        NameKind::Identifier => {
            let ok = (1..=50).contains(&key.chars().count())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                errors.push(PolicyError::new(
                    path,
                    Rule::InvalidName,
                    format!("`{key}` is not a valid name: 1-50 characters from a-z, A-Z, 0-9, '-', '_', '.'"),
                ));
            }
        }
        NameKind::VaultArn => validate::check_vault_arn(key, path, errors),
        NameKind::Tag => {
            if key.is_empty() || key.chars().count() > 128 {
                errors.push(PolicyError::new(path, Rule::InvalidName, format!("`{key}` is not a valid identifier: 1-128 characters")));
            }
        }
    }
}

fn last_key(path: &JsonPath) -> String {
    match path.segments().last() {
        Some(crate::path::Segment::Key(k)) => k.clone(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> PolicyErrors {
        PolicyDocument::parse(text).expect_err("must be rejected")
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let e = err(r#"{"plans":{"A":{},"A":{}}}"#);
        assert_eq!(e.first().rule, Rule::DuplicateKey);
        let e = err(r#"{"plans":{"A":{},"a":{}}}"#);
        assert_eq!(e.first().rule, Rule::DuplicateKey);
        assert_eq!(e.first().path.to_string(), "plans.a");
    }

    #[test]
    fn not_json() {
        assert_eq!(err("{").first().rule, Rule::InvalidJson);
        assert_eq!(err("[]").first().rule, Rule::WrongType);
        assert_eq!(err("{}").first().rule, Rule::Missing);
        assert_eq!(err(r#"{"plan":{}}"#).first().rule, Rule::Missing);
    }

    #[test]
    fn unknown_keys_name_the_path_and_the_choices() {
        let e = err(r#"{"plans":{"P":{"rules":{"R":{"to_delete_after_days":{"@@assign":"5"}}}}}}"#);
        assert_eq!(e.first().rule, Rule::UnknownKey);
        assert_eq!(e.first().path.to_string(), "plans.P.rules.R.to_delete_after_days");
        assert!(e.first().message.contains("schedule_expression"), "{e}");
    }

    #[test]
    fn append_on_a_scalar_is_rejected() {
        let e = err(r#"{"plans":{"P":{"rules":{"R":{"target_backup_vault_name":{"@@append":["x"]}}}}}}"#);
        assert_eq!(e.first().rule, Rule::OperatorNotAllowed);
    }

    #[test]
    fn bare_values_are_rejected() {
        let e = err(r#"{"plans":{"P":{"regions":["us-east-1"]}}}"#);
        assert_eq!(e.first().rule, Rule::WrongType);
        assert_eq!(e.first().path.to_string(), "plans.P.regions");
    }

    #[test]
    fn child_control_values() {
        for bad in [r#"[]"#, r#"["@@all","@@assign"]"#, r#"["@@bogus"]"#, r#""@@all""#, r#"[1]"#] {
            let text = format!(r#"{{"plans":{{"@@operators_allowed_for_child_policies":{bad}}}}}"#);
            assert_eq!(err(&text).first().rule, Rule::InvalidChildControl, "{bad}");
        }
        PolicyDocument::parse(r#"{"plans":{"@@operators_allowed_for_child_policies":["@@append","@@remove"]}}"#).unwrap();
    }

    #[test]
    fn operators_on_object_nodes_are_rejected() {
        let e = err(r#"{"plans":{"@@assign":{}}}"#);
        assert_eq!(e.first().rule, Rule::OperatorNotAllowed);
    }

    #[test]
    fn size_limit() {
        let pad = " ".repeat(MAX_DOCUMENT_CHARS);
        let e = err(&format!(r#"{{"plans":{{}}}}{pad}"#));
        assert_eq!(e.first().rule, Rule::DocumentTooLarge);
    }

    #[test]
    fn all_errors_are_reported() {
        let e = err(r#"{"plans":{"P":{"regions":{"@@assign":["nowhere"]},"rules":{"R":{"start_backup_window_minutes":{"@@assign":"10"}}}}}}"#);
        let rules: Vec<_> = e.errors().iter().map(|e| e.rule).collect();
        assert_eq!(rules, vec![Rule::InvalidRegion, Rule::OutOfRange], "{e}");
    }
}
