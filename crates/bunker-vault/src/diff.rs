//! Differences between two snapshots, skipping identical subtrees by id.

use std::collections::BTreeSet;

use crate::error::Result;
use crate::id::{SnapshotId, TreeId};
use crate::tree::{Node, NodeKind, Tree};
use crate::vault::Vault;

/// How an entry differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only in the second snapshot.
    Added,
    /// Only in the first snapshot.
    Removed,
    /// Content or type differs.
    Modified,
    /// Same content, different metadata (mode, owner, mtime, xattrs, link target).
    Metadata,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffEntry {
    /// `/`-separated path inside the snapshots.
    pub path: String,
    /// What changed.
    pub change: Change,
}

impl Vault {
    /// What changed from snapshot `a` to snapshot `b`, in path order. Directories are
    /// reported only for their own metadata; their entries are reported one by one.
    ///
    /// # Errors
    /// Blob or storage errors.
    pub fn diff(&self, a: SnapshotId, b: SnapshotId) -> Result<Vec<DiffEntry>> {
        let (ta, tb) = (self.snapshot(a)?.tree, self.snapshot(b)?.tree);
        let mut out = Vec::new();
        self.diff_trees(Some(ta), Some(tb), "", &mut out)?;
        Ok(out)
    }

    fn diff_trees(&self, a: Option<TreeId>, b: Option<TreeId>, prefix: &str, out: &mut Vec<DiffEntry>) -> Result<()> {
        if a == b {
            return Ok(());
        }
        let load = |t: Option<TreeId>| -> Result<Tree> { t.map_or_else(|| Ok(Tree::default()), |t| self.load_tree(t)) };
        let (ta, tb) = (load(a)?, load(b)?);
        let names: BTreeSet<&[u8]> = ta.nodes.iter().chain(&tb.nodes).map(|n| n.name.0.as_slice()).collect();
        for name in names {
            let path = if prefix.is_empty() {
                String::from_utf8_lossy(name).into_owned()
            } else {
                format!("{prefix}/{}", String::from_utf8_lossy(name))
            };
            let (na, nb) = (ta.get(name), tb.get(name));
            let dir_of = |n: Option<&Node>| n.filter(|n| n.kind == NodeKind::Dir).and_then(|n| n.subtree);
            match (na, nb) {
                (None, Some(n)) => {
                    out.push(DiffEntry { path: path.clone(), change: Change::Added });
                    if n.kind == NodeKind::Dir {
                        self.diff_trees(None, n.subtree, &path, out)?;
                    }
                }
                (Some(n), None) => {
                    out.push(DiffEntry { path: path.clone(), change: Change::Removed });
                    if n.kind == NodeKind::Dir {
                        self.diff_trees(n.subtree, None, &path, out)?;
                    }
                }
                (Some(x), Some(y)) => {
                    if x.kind != y.kind || x.content != y.content {
                        out.push(DiffEntry { path: path.clone(), change: Change::Modified });
                    } else if !same_metadata(x, y) {
                        out.push(DiffEntry { path: path.clone(), change: Change::Metadata });
                    }
                    self.diff_trees(dir_of(na), dir_of(nb), &path, out)?;
                }
                (None, None) => {}
            }
        }
        Ok(())
    }
}

fn same_metadata(a: &Node, b: &Node) -> bool {
    a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime_ns == b.mtime_ns && a.target == b.target && a.xattrs == b.xattrs
}
