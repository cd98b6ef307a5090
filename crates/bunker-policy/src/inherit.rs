//! Inheritance: merging the documents attached root → OUs → account.
//!
//! The rules, as the AWS Organizations documentation gives them (the choices it leaves
//! open are in `docs/policy-semantics.md`):
//!
//! * Levels apply top-down; at one level, policies apply in attachment order.
//! * `@@assign` replaces, `@@append` adds values not yet present (after the inherited
//!   ones), `@@remove` takes values out; named entries (plans, rules, tags, copy actions)
//!   merge key by key, names compared case-insensitively.
//! * `@@operators_allowed_for_child_policies` on a node limits what policies attached
//!   *lower* in the tree may do on that node; limits from one level intersect and can
//!   only narrow further down. Adding a new key under an object node counts as
//!   `@@append` on that node. A forbidden operation is dropped, not an error.
//! * Two policies attached to the same target that both `@@assign` one setting: the
//!   first attached wins, as the documented tag-policy example shows.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::document::{Node, PolicyDocument};
use crate::effective::EffectivePolicy;
use crate::ops::{Op, OpSet};

/// Where a document came from: the policy and the target it is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Source {
    /// Policy id (`p-…`).
    pub policy_id: String,
    /// Policy name.
    pub policy_name: String,
    /// Target the policy is attached to (root `r-…`, OU `ou-…`, or a 12-digit account id).
    pub target_id: String,
}

impl Source {
    /// A source.
    pub fn new(policy_id: &str, policy_name: &str, target_id: &str) -> Self {
        Self { policy_id: policy_id.into(), policy_name: policy_name.into(), target_id: target_id.into() }
    }
}

/// A document attached to a target.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    /// Where it came from.
    pub source: Source,
    /// The document.
    pub document: &'a PolicyDocument,
}

/// The merge state. Apply the levels from the root down, then [`finish`](Self::finish).
/// Cloning is cheap enough to share the state of an OU among its accounts.
#[derive(Debug, Clone, Default)]
pub struct Inheritance {
    root: ENode,
    /// The level being applied: root = 1. Limits declared at a level bind deeper levels only.
    level: u16,
    applied: usize,
}

/// A node of the merge state.
#[derive(Debug, Clone, Default)]
pub(crate) struct ENode {
    pub(crate) body: Body,
    /// `@@operators_allowed_for_child_policies` declarations on this node: (level, set, by).
    pub(crate) controls: Vec<(u16, OpSet, Arc<Source>)>,
    /// Everything every policy tried on this node, kept for `explain`.
    pub(crate) history: Vec<Event>,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    Object(Vec<(String, ENode)>),
    Leaf(LeafState),
}

impl Default for Body {
    fn default() -> Self {
        Body::Object(Vec::new())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LeafState {
    pub(crate) value: Option<Value>,
    /// For a list: which source put each element there. For a scalar: one entry.
    pub(crate) set_by: Vec<Arc<Source>>,
    /// The level and source of the last `@@assign`, for the same-level rule.
    assigned: Option<(u16, Arc<Source>)>,
}

/// One operation a policy tried on a node.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Event {
    pub(crate) level: u16,
    #[serde(flatten)]
    pub(crate) source: Arc<Source>,
    pub(crate) operator: Op,
    pub(crate) value: Value,
    #[serde(flatten)]
    pub(crate) outcome: Outcome,
}

/// What became of an operation.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "Outcome", rename_all = "PascalCase")]
pub(crate) enum Outcome {
    /// It changed the effective policy.
    Applied,
    /// A policy higher in the tree does not allow this operator here.
    #[serde(rename_all = "PascalCase")]
    Forbidden { allowed: Vec<&'static str>, limited_by: Arc<Source> },
    /// Another policy on the same target, attached earlier, assigned this setting first.
    #[serde(rename_all = "PascalCase")]
    SameTargetConflict { kept: Arc<Source> },
}

impl Inheritance {
    /// Nothing inherited yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the policies attached to one target (root, OU or account), in attachment order.
    /// Call it for every level on the path, even one with no attachments.
    pub fn apply_level(&mut self, attachments: &[Attachment<'_>]) {
        self.level += 1;
        for a in attachments {
            let source = Arc::new(a.source.clone());
            let cx = Cx { level: self.level, source: &source };
            if let Node::Object { entries, control } = &a.document.root {
                merge_object(&mut self.root, entries, *control, &cx);
            }
            self.applied += 1;
        }
    }

    /// The effective policy.
    pub fn finish(self) -> EffectivePolicy {
        EffectivePolicy::new(self.root, self.applied)
    }
}

struct Cx<'a> {
    level: u16,
    source: &'a Arc<Source>,
}

impl ENode {
    fn new_for(doc: &Node) -> ENode {
        let body = match doc {
            Node::Object { .. } => Body::Object(Vec::new()),
            Node::Leaf { .. } => Body::Leaf(LeafState { value: None, set_by: Vec::new(), assigned: None }),
        };
        ENode { body, controls: Vec::new(), history: Vec::new() }
    }

    /// The operators a policy at `level` may use here, and the declaration that narrowed
    /// them last (for explanations).
    fn allowed_at(&self, level: u16) -> (OpSet, Option<&Arc<Source>>) {
        self.controls.iter().filter(|(l, _, _)| *l < level).fold((OpSet::ALL, None), |(set, by), (_, s, src)| {
            let narrowed = set.intersect(*s);
            (narrowed, if narrowed == set { by } else { Some(src) })
        })
    }

    fn record(&mut self, cx: &Cx<'_>, operator: Op, value: Value, outcome: Outcome) {
        self.history.push(Event { level: cx.level, source: cx.source.clone(), operator, value, outcome });
    }

    /// Checks `op` against the limits in force; records a refusal.
    fn permits(&mut self, cx: &Cx<'_>, op: Op, value: &Value) -> bool {
        let (allowed, by) = self.allowed_at(cx.level);
        if allowed.contains(op) {
            return true;
        }
        let limited_by = by.cloned().unwrap_or_else(|| cx.source.clone());
        self.record(cx, op, value.clone(), Outcome::Forbidden { allowed: allowed.keywords(), limited_by });
        false
    }
}

fn merge_object(node: &mut ENode, entries: &[crate::document::Entry], control: Option<OpSet>, cx: &Cx<'_>) {
    if let Some(set) = control {
        node.controls.push((cx.level, set, cx.source.clone()));
    }
    for entry in entries {
        let Body::Object(children) = &mut node.body else { return };
        let child = match children.iter_mut().position(|(k, _)| *k == entry.norm) {
            Some(i) => &mut children[i].1,
            None => {
                // A new key is an @@append on the object that holds it.
                let key = Value::String(entry.norm.clone());
                if !node.permits(cx, Op::Append, &key) {
                    continue;
                }
                let Body::Object(children) = &mut node.body else { return };
                children.push((entry.norm.clone(), ENode::new_for(&entry.node)));
                &mut children.last_mut().expect("just pushed").1
            }
        };
        merge_node(child, &entry.node, cx);
    }
}

fn merge_node(node: &mut ENode, doc: &Node, cx: &Cx<'_>) {
    match doc {
        Node::Object { entries, control } => merge_object(node, entries, *control, cx),
        Node::Leaf { ops, control, .. } => {
            if let Some(set) = control {
                node.controls.push((cx.level, *set, cx.source.clone()));
            }
            for (op, value) in ops {
                if node.permits(cx, *op, value) {
                    apply_op(node, *op, value, cx);
                }
            }
        }
    }
}

fn apply_op(node: &mut ENode, op: Op, value: &Value, cx: &Cx<'_>) {
    let Body::Leaf(leaf) = &mut node.body else { return };
    let outcome = match op {
        Op::Assign => match &leaf.assigned {
            Some((level, kept)) if *level == cx.level && kept != cx.source => {
                Outcome::SameTargetConflict { kept: kept.clone() }
            }
            _ => {
                leaf.set_by = match value {
                    Value::Array(items) => vec![cx.source.clone(); items.len()],
                    _ => vec![cx.source.clone()],
                };
                leaf.value = Some(value.clone());
                leaf.assigned = Some((cx.level, cx.source.clone()));
                Outcome::Applied
            }
        },
        Op::Append => {
            let (items, by) = list_parts(leaf);
            for v in value.as_array().into_iter().flatten() {
                if !items.contains(v) {
                    items.push(v.clone());
                    by.push(cx.source.clone());
                }
            }
            Outcome::Applied
        }
        Op::Remove => {
            let gone = value.as_array().cloned().unwrap_or_default();
            let (items, by) = list_parts(leaf);
            let keep: Vec<bool> = items.iter().map(|v| !gone.contains(v)).collect();
            let mut k = keep.iter();
            items.retain(|_| *k.next().expect("same length"));
            let mut k = keep.iter();
            by.retain(|_| *k.next().expect("same length"));
            Outcome::Applied
        }
    };
    node.record(cx, op, value.clone(), outcome);
}

/// The list value of a multi-valued setting and its per-element sources, created empty
/// when nothing was inherited.
fn list_parts(leaf: &mut LeafState) -> (&mut Vec<Value>, &mut Vec<Arc<Source>>) {
    if !matches!(leaf.value, Some(Value::Array(_))) {
        leaf.value = Some(Value::Array(Vec::new()));
        leaf.set_by.clear();
    }
    let Some(Value::Array(items)) = &mut leaf.value else { unreachable!("set just above") };
    (items, &mut leaf.set_by)
}

#[cfg(test)]
mod tests;
