//! Copying a recovery point into another vault that has its own master key.
//!
//! Blob ids are keyed by the vault's id key, so the same chunk has different ids in the two
//! vaults and the target's index cannot be asked about source ids. Every blob of the snapshot
//! is therefore read (decrypted and verified) from the source, its id recomputed under the
//! target's key, and only blobs the target lacks are sealed under the target's data key into
//! new packs. Trees name chunk and subtree ids, so they are rewritten bottom-up with the target
//! ids and hashed again. Chunk boundaries stay the source's (the data is not re-chunked), which
//! is what makes an incremental copy write only what the source's backup added.
//!
//! Order in the target, as for a backup: packs, then one index file naming them, then the
//! manifest. Nothing in the target refers to the source or its key afterwards. The copied
//! manifest keeps time, host, paths, tags, source and counters; its `parent` is the target
//! copy of the source's parent when one exists (found by time, host and paths), else none.
//! Copying a snapshot the target already holds (same tree, time, host and paths) writes
//! nothing and returns the existing id.
//!
//! Locks: shared on the source (so a prune there cannot remove packs mid-read) and shared on
//! the target (a writer, like backup); see [`crate::lock`].

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::blob::BlobKind;
use crate::crypto::OVERHEAD;
use crate::error::Result;
use crate::id::{BlobId, ChunkId, SnapshotId, TreeId};
use crate::index;
use crate::lock::LockKind;
use crate::prune::{PackSink, index_file_size};
use crate::snapshot::{self, Snapshot};
use crate::vault::Vault;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    /// The snapshot in the source.
    pub source_snapshot: SnapshotId,
    /// The snapshot in the target (new, or the one already there).
    pub snapshot_id: SnapshotId,
    /// Whether the target already held this recovery point (nothing was written).
    pub already_present: bool,
    /// Distinct blobs (chunks and trees) in the snapshot.
    pub blobs: u64,
    /// Blobs the target lacked and received.
    pub blobs_written: u64,
    /// Plaintext bytes read from the source.
    pub bytes_read: u64,
    /// Plaintext bytes of the blobs written.
    pub bytes_added_raw: u64,
    /// Bytes of new packs in the target.
    pub pack_bytes: u64,
    /// Every byte written to the target: packs, index file and manifest.
    pub bytes_written: u64,
    /// New packs in the target.
    pub packs_written: u64,
    /// Wall time.
    pub duration: Duration,
}

/// The same recovery point, ignoring which vault's ids it uses.
fn same_point(a: &Snapshot, b: &Snapshot) -> bool {
    a.time == b.time && a.hostname == b.hostname && a.paths == b.paths && a.tags == b.tags && a.source == b.source
}

struct Copier<'a> {
    source: &'a Vault,
    target: &'a Vault,
    /// Source id → target id of every blob handled so far.
    map: HashMap<BlobId, BlobId>,
    /// Target ids written by this copy (not yet in the target's index).
    written: HashSet<BlobId>,
    sink: PackSink<'a>,
    summary: CopySummary,
}

impl Copier<'_> {
    /// Stores `data` in the target unless it is there already; returns its target id.
    fn store(&mut self, kind: BlobKind, data: &[u8]) -> Result<BlobId> {
        let id = self.target.crypto.blob_id(data);
        self.summary.blobs += 1;
        self.summary.bytes_read += data.len() as u64;
        if !self.target.index().contains(&id) && self.written.insert(id) {
            self.sink.add(kind, id, data)?;
            self.summary.blobs_written += 1;
            self.summary.bytes_added_raw += data.len() as u64;
        }
        Ok(id)
    }

    fn chunk(&mut self, id: ChunkId) -> Result<ChunkId> {
        if let Some(t) = self.map.get(&id.into()) {
            return Ok(t.as_chunk());
        }
        let data = self.source.read_blob(id.into())?;
        let t = self.store(BlobKind::Data, &data)?;
        self.map.insert(id.into(), t);
        Ok(t.as_chunk())
    }

    /// Copies a tree after everything it references, so its new bytes name target ids.
    fn tree(&mut self, id: TreeId) -> Result<TreeId> {
        if let Some(t) = self.map.get(&id.into()) {
            return Ok(t.as_tree());
        }
        let mut tree = self.source.load_tree(id)?;
        for node in &mut tree.nodes {
            if let Some(content) = &mut node.content {
                for c in content.iter_mut() {
                    *c = self.chunk(*c)?;
                }
            }
            if let Some(sub) = node.subtree {
                node.subtree = Some(self.tree(sub)?);
            }
        }
        let t = self.store(BlobKind::Tree, &tree.encode())?;
        self.map.insert(id.into(), t);
        Ok(t.as_tree())
    }
}

/// Copies `snapshot` from `source` into `target` (see the module docs).
///
/// # Errors
/// [`crate::VaultError::Locked`] or [`crate::VaultError::LockLost`]; source damage
/// ([`crate::VaultError::CorruptBlob`], [`crate::VaultError::BlobMissing`]); storage errors.
/// An interrupted copy leaves the target with unreferenced packs at worst.
pub fn copy(source: &Vault, snapshot: SnapshotId, target: &Vault) -> Result<CopySummary> {
    let start = Instant::now();
    let _source_lock = source.lock(LockKind::Shared, "copy (source)")?;
    let target_lock = target.lock(LockKind::Shared, "copy")?;
    let snap = source.snapshot(snapshot)?;
    let mut copier = Copier {
        source,
        target,
        map: HashMap::new(),
        written: HashSet::new(),
        sink: PackSink::new(target),
        summary: CopySummary {
            source_snapshot: snapshot,
            snapshot_id: snapshot,
            already_present: false,
            blobs: 0,
            blobs_written: 0,
            bytes_read: 0,
            bytes_added_raw: 0,
            pack_bytes: 0,
            bytes_written: 0,
            packs_written: 0,
            duration: Duration::ZERO,
        },
    };
    let root = copier.tree(snap.tree)?;
    let Copier { sink, mut summary, .. } = copier;
    let (packs, pack_bytes) = sink.finish()?;
    summary.pack_bytes = pack_bytes;
    summary.bytes_written = pack_bytes;
    summary.packs_written = packs.len() as u64;
    if !packs.is_empty() {
        index::write(target.storage.as_ref(), &target.crypto, &packs)?;
        summary.bytes_written += index_file_size(&packs);
        let mut idx = target.index_mut();
        for (pack, blobs) in &packs {
            idx.add_pack(*pack, blobs);
        }
    }
    let existing = target.snapshots()?;
    if let Some((id, _)) = existing.iter().find(|(_, s)| s.tree == root && same_point(s, &snap)) {
        summary.snapshot_id = *id;
        summary.already_present = true;
    } else {
        let parent_point = snap.parent.and_then(|p| source.snapshot(p).ok());
        let parent = parent_point.and_then(|p| existing.iter().find(|(_, s)| same_point(s, &p)).map(|(id, _)| *id));
        let copied = Snapshot { tree: root, parent, ..snap };
        target_lock.ensure_valid()?;
        summary.snapshot_id = snapshot::write(target.storage.as_ref(), &target.crypto, &copied)?;
        let json = serde_json::to_vec(&copied).expect("snapshots always serialize");
        summary.bytes_written += (json.len() + OVERHEAD) as u64;
    }
    summary.duration = start.elapsed();
    tracing::info!(source = %snapshot, target = %summary.snapshot_id, blobs = summary.blobs_written,
        bytes = summary.bytes_written, "copy done");
    Ok(summary)
}

impl Vault {
    /// Copies one of this vault's snapshots into `target`; see [`copy`].
    ///
    /// # Errors
    /// As [`copy`].
    pub fn copy_to(&self, snapshot: SnapshotId, target: &Vault) -> Result<CopySummary> {
        copy(self, snapshot, target)
    }
}
