//! The effective policy: operators resolved, with provenance.

use serde_json::{Map, Value, json};

use crate::error::PolicyError;
use crate::inherit::{Body, ENode};
use crate::path::JsonPath;
use crate::plan::{self, EffectivePlan};
use crate::validate;

/// The result of inheritance for one account.
#[derive(Debug, Clone)]
pub struct EffectivePolicy {
    root: ENode,
    applied: usize,
}

impl EffectivePolicy {
    pub(crate) fn new(root: ENode, applied: usize) -> Self {
        Self { root, applied }
    }

    /// Whether no policy applies at all (AWS answers `EffectivePolicyNotFoundException`).
    pub fn is_empty(&self) -> bool {
        self.applied == 0
    }

    /// The effective policy as AWS shows it: operators resolved, user-chosen names
    /// lower-cased, nodes without a value left out.
    pub fn to_json(&self) -> Value {
        render(&self.root).unwrap_or_else(|| json!({}))
    }

    /// For every node any policy touched: its value, who set it (per element for
    /// lists), the limits declared on it, and every operation tried on it, with the
    /// ones dropped because a parent forbade them or an earlier attachment on the
    /// same target won.
    pub fn explain(&self) -> Value {
        let mut out = Vec::new();
        explain_node(&self.root, &JsonPath::root(), &mut out);
        Value::Array(out)
    }

    /// Rules broken by the merged values (a parent's and a child's value can break a
    /// rule neither breaks alone), and plans that are incomplete and will not run.
    pub fn problems(&self) -> Vec<PolicyError> {
        let doc = self.to_json();
        let mut errors = Vec::new();
        validate::check_plans(&doc, &JsonPath::root(), &mut errors);
        plan::check_complete(&doc, &mut errors);
        errors
    }

    /// AWS Backup plans for `account_id`, one per complete plan and Region, with
    /// `$account` replaced by the account id.
    pub fn backup_plans(&self, account_id: &str) -> Vec<EffectivePlan> {
        plan::from_effective(&self.to_json(), account_id)
    }
}

fn render(node: &ENode) -> Option<Value> {
    match &node.body {
        Body::Leaf(leaf) => leaf.value.clone(),
        Body::Object(children) => {
            let map: Map<String, Value> = children.iter().filter_map(|(k, c)| render(c).map(|v| (k.clone(), v))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
    }
}

fn explain_node(node: &ENode, path: &JsonPath, out: &mut Vec<Value>) {
    let mut entry = Map::new();
    if let Body::Leaf(leaf) = &node.body
        && let Some(value) = &leaf.value {
            entry.insert("Value".into(), value.clone());
            let set_by = match value {
                Value::Array(items) => Value::Array(
                    items.iter().zip(&leaf.set_by).map(|(v, s)| json!({"Value": v, "SetBy": s.as_ref()})).collect(),
                ),
                _ => json!(leaf.set_by.last().map(AsRef::as_ref)),
            };
            entry.insert(if value.is_array() { "Elements" } else { "SetBy" }.into(), set_by);
        }
    if !node.controls.is_empty() {
        let controls = node
            .controls
            .iter()
            .map(|(level, set, by)| json!({"Level": level, "AllowedForChildPolicies": set.keywords(), "DeclaredBy": by.as_ref()}))
            .collect();
        entry.insert("ChildControl".into(), Value::Array(controls));
    }
    if !node.history.is_empty() {
        entry.insert("History".into(), serde_json::to_value(&node.history).unwrap_or_default());
    }
    if !entry.is_empty() {
        let mut full = Map::new();
        full.insert("Path".into(), Value::String(path.to_string()));
        full.extend(entry);
        out.push(Value::Object(full));
    }
    if let Body::Object(children) = &node.body {
        for (k, c) in children {
            explain_node(c, &path.key(k), out);
        }
    }
}
