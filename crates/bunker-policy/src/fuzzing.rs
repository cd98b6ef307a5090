//! The entry point shared by the `cargo fuzz` target (`fuzz/`) and the test that replays
//! its corpus: parse arbitrary bytes and, when they form a valid document, push it
//! through everything that consumes documents.

use crate::{Attachment, Inheritance, PolicyDocument, Source};

/// Parses `data` as a policy; a valid one is merged under itself as parent and child
/// and rendered every way. Must never panic.
pub fn exercise(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = PolicyDocument::parse(text) else { return };
    let mut inh = Inheritance::new();
    inh.apply_level(&[Attachment { source: Source::new("p-00000001", "parent", "r-root"), document: &doc }]);
    inh.apply_level(&[Attachment { source: Source::new("p-00000002", "child", "111111111111"), document: &doc }]);
    let eff = inh.finish();
    let _ = (eff.to_json(), eff.explain(), eff.problems(), eff.backup_plans("111111111111"));
}
