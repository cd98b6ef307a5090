//! Listing the entries of a snapshot.

use crate::error::{Result, VaultError};
use crate::id::{SnapshotId, TreeId};
use crate::tree::{Node, NodeKind};
use crate::vault::Vault;

/// One listed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsEntry {
    /// `/`-separated path inside the snapshot (lossy for non-UTF-8 names).
    pub path: String,
    /// Its metadata; `content` holds the chunk list of files.
    pub node: Node,
}

impl Vault {
    /// Every entry of a snapshot below `path` (all of it when `None`), depth first, in name order.
    ///
    /// # Errors
    /// [`VaultError::PathNotInSnapshot`], blob or storage errors.
    pub fn ls(&self, snapshot: SnapshotId, path: Option<&str>) -> Result<Vec<LsEntry>> {
        let snap = self.snapshot(snapshot)?;
        let mut out = Vec::new();
        let sub = path.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty());
        match sub {
            None => self.ls_tree(snap.tree, "", &mut out)?,
            Some(sub) => {
                let missing = || VaultError::PathNotInSnapshot { snapshot, path: sub.to_owned() };
                let mut tree = self.load_tree(snap.tree)?;
                let parts: Vec<&str> = sub.split('/').filter(|p| !p.is_empty()).collect();
                for (i, part) in parts.iter().enumerate() {
                    let node = tree.get(part.as_bytes()).cloned().ok_or_else(missing)?;
                    if i + 1 == parts.len() {
                        let subtree = node.subtree.filter(|_| node.kind == NodeKind::Dir);
                        out.push(LsEntry { path: sub.to_owned(), node });
                        if let Some(t) = subtree {
                            self.ls_tree(t, sub, &mut out)?;
                        }
                    } else {
                        let t = node.subtree.filter(|_| node.kind == NodeKind::Dir).ok_or_else(missing)?;
                        tree = self.load_tree(t)?;
                    }
                }
            }
        }
        Ok(out)
    }

    fn ls_tree(&self, id: TreeId, prefix: &str, out: &mut Vec<LsEntry>) -> Result<()> {
        for node in self.load_tree(id)?.nodes {
            let path = if prefix.is_empty() {
                node.name.to_string_lossy()
            } else {
                format!("{prefix}/{}", node.name.to_string_lossy())
            };
            let subtree = node.subtree.filter(|_| node.kind == NodeKind::Dir);
            out.push(LsEntry { path: path.clone(), node });
            if let Some(t) = subtree {
                self.ls_tree(t, &path, out)?;
            }
        }
        Ok(())
    }
}
