//! Effective policies for a whole organization at once.
//!
//! Walking the tree once and cloning the merge state at each OU costs one merge per
//! attachment plus one clone per account, instead of one merge per attachment *per
//! account* below it.

use crate::effective::EffectivePolicy;
use crate::inherit::{Attachment, Inheritance};

/// A root or OU: its attachments, its child OUs and its accounts.
#[derive(Debug, Clone, Default)]
pub struct OrgNode<'a> {
    /// Policies attached to this root or OU, in attachment order.
    pub attachments: Vec<Attachment<'a>>,
    /// Child OUs.
    pub children: Vec<OrgNode<'a>>,
    /// Accounts directly in this root or OU, with the policies attached to each.
    pub accounts: Vec<(String, Vec<Attachment<'a>>)>,
}

/// Calls `visit` with every account's id and effective policy, depth first.
pub fn for_each_account<'a>(root: &OrgNode<'a>, mut visit: impl FnMut(&str, EffectivePolicy)) {
    walk(root, Inheritance::new(), &mut visit);
}

fn walk(node: &OrgNode<'_>, mut state: Inheritance, visit: &mut impl FnMut(&str, EffectivePolicy)) {
    state.apply_level(&node.attachments);
    for (account, attachments) in &node.accounts {
        let mut own = state.clone();
        own.apply_level(attachments);
        visit(account, own.finish());
    }
    for child in &node.children {
        walk(child, state.clone(), visit);
    }
}
