//! Verifying a vault: structure always, every byte with `read_data`.
//!
//! Structure: every index entry points inside an existing pack; every snapshot's trees load
//! and every tree and chunk it references is indexed. Read-data: every pack is read whole,
//! its id (BLAKE3 of its bytes) and header are checked against the index, and every blob is
//! decrypted, decompressed and its keyed id recomputed. Damaged or missing blobs are then
//! traced to the snapshots that use them, so the report says which recovery points are hurt
//! and, by omission, which are still good.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::blob;
use crate::error::{Result, VaultError};
use crate::id::{BlobId, PackId, SnapshotId, TreeId};
use crate::index::IndexEntry;
use crate::pack;
use crate::progress::{Phase, Progress};
use crate::storage::{ObjectKey, ObjectKind};
use crate::tree::NodeKind;
use crate::vault::Vault;

/// Inputs of a check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Also read and verify every blob.
    pub read_data: bool,
    /// Worker threads for read-data; default: available cores.
    pub threads: Option<usize>,
}

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An index file could not be read.
    DamagedIndex {
        /// The error.
        reason: String,
    },
    /// The index names a pack that storage does not have.
    MissingPack {
        /// The pack.
        pack: PackId,
    },
    /// An index entry points past the end of its pack.
    EntryOutsidePack {
        /// The blob.
        blob: BlobId,
        /// Its pack.
        pack: PackId,
    },
    /// A pack's bytes do not hash to its name.
    PackHashMismatch {
        /// The pack.
        pack: PackId,
    },
    /// A pack's header is unreadable or disagrees with the index.
    BadPackHeader {
        /// The pack.
        pack: PackId,
        /// What is wrong.
        reason: String,
    },
    /// A blob failed decryption, decompression or id verification.
    DamagedBlob {
        /// The blob.
        blob: BlobId,
        /// Its pack.
        pack: PackId,
        /// What failed.
        reason: String,
    },
    /// A snapshot references a blob that is not indexed.
    MissingBlob {
        /// The blob.
        blob: BlobId,
        /// The first snapshot found referencing it.
        snapshot: SnapshotId,
    },
    /// A snapshot manifest cannot be read.
    DamagedSnapshot {
        /// The snapshot.
        snapshot: SnapshotId,
        /// Why.
        reason: String,
    },
}

/// The result of a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Everything wrong, in discovery order.
    pub problems: Vec<Problem>,
    /// Blobs that are damaged or missing.
    pub bad_blobs: BTreeSet<BlobId>,
    /// Snapshots that reference a bad blob (cannot be fully restored).
    pub affected_snapshots: BTreeSet<SnapshotId>,
    /// Packs in storage that no index names: left by interrupted backups; harmless, removed by prune.
    pub unindexed_packs: Vec<PackId>,
    /// Snapshots examined.
    pub snapshots: usize,
    /// Packs in storage.
    pub packs: usize,
    /// Blobs verified by reading (read-data only).
    pub blobs_read: usize,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Vault {
    /// Checks the vault.
    ///
    /// # Errors
    /// Only storage errors that prevent checking at all (listing fails); damage is reported
    /// in the [`CheckReport`].
    pub fn check(&self, options: &CheckOptions, progress: &dyn Progress) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        report.problems.extend(self.index_problems.iter().map(|r| Problem::DamagedIndex { reason: r.clone() }));
        progress.start(Phase::CheckStructure, None);
        let sizes: HashMap<PackId, u64> = self
            .storage
            .list(ObjectKind::Pack)?
            .into_iter()
            .filter_map(|i| match i.key {
                ObjectKey::Pack(id) => Some((id, i.size)),
                _ => None,
            })
            .collect();
        report.packs = sizes.len();
        // Index → packs.
        let mut by_pack: HashMap<PackId, Vec<(BlobId, IndexEntry)>> = HashMap::new();
        {
            let index = self.index();
            for pack in index.packs() {
                if !sizes.contains_key(pack) {
                    report.problems.push(Problem::MissingPack { pack: *pack });
                }
            }
            for (id, e) in index.iter() {
                match sizes.get(&e.pack) {
                    None => {
                        report.bad_blobs.insert(id);
                    }
                    Some(&size) if u64::from(e.offset) + u64::from(e.length) + pack::TRAILER_LEN > size => {
                        report.problems.push(Problem::EntryOutsidePack { blob: id, pack: e.pack });
                        report.bad_blobs.insert(id);
                    }
                    Some(_) => by_pack.entry(e.pack).or_default().push((id, e)),
                }
            }
            let mut unindexed: Vec<PackId> = sizes.keys().filter(|p| !by_pack.contains_key(p)).copied().collect();
            unindexed.retain(|p| !index.packs().contains(p));
            unindexed.sort();
            report.unindexed_packs = unindexed;
        }
        progress.finish(Phase::CheckStructure);
        if options.read_data {
            self.read_data(&by_pack, &sizes, options.threads, &mut report, progress);
        }
        // Snapshots → trees → blobs, memoized per tree.
        let mut tree_bad: HashMap<TreeId, bool> = HashMap::new();
        for id in crate::snapshot::list(self.storage.as_ref())? {
            report.snapshots += 1;
            match self.snapshot(id) {
                Ok(snap) => {
                    if self.tree_is_bad(snap.tree, id, &mut tree_bad, &mut report) {
                        report.affected_snapshots.insert(id);
                    }
                }
                Err(e) => {
                    report.problems.push(Problem::DamagedSnapshot { snapshot: id, reason: e.to_string() });
                    report.affected_snapshots.insert(id);
                }
            }
        }
        Ok(report)
    }

    /// Whether the tree or anything below it is damaged or missing; records missing blobs.
    fn tree_is_bad(&self, id: TreeId, snap: SnapshotId, memo: &mut HashMap<TreeId, bool>, report: &mut CheckReport) -> bool {
        if let Some(&bad) = memo.get(&id) {
            return bad;
        }
        let blob: BlobId = id.into();
        let mut bad = false;
        if report.bad_blobs.contains(&blob) {
            bad = true;
        } else if !self.index().contains(&blob) {
            report.problems.push(Problem::MissingBlob { blob, snapshot: snap });
            report.bad_blobs.insert(blob);
            bad = true;
        } else {
            match self.load_tree(id) {
                Err(e) => {
                    if !report.bad_blobs.contains(&blob) {
                        let pack = self.index().get(&blob).map_or(PackId::from_bytes([0; 32]), |e| e.pack);
                        report.problems.push(Problem::DamagedBlob { blob, pack, reason: e.to_string() });
                        report.bad_blobs.insert(blob);
                    }
                    bad = true;
                }
                Ok(tree) => {
                    for node in &tree.nodes {
                        for chunk in node.content.iter().flatten() {
                            let c: BlobId = (*chunk).into();
                            if report.bad_blobs.contains(&c) {
                                bad = true;
                            } else if !self.index().contains(&c) {
                                report.problems.push(Problem::MissingBlob { blob: c, snapshot: snap });
                                report.bad_blobs.insert(c);
                                bad = true;
                            }
                        }
                        if let (NodeKind::Dir, Some(sub)) = (node.kind, node.subtree) {
                            bad |= self.tree_is_bad(sub, snap, memo, report);
                        }
                    }
                }
            }
        }
        memo.insert(id, bad);
        bad
    }

    fn read_data(
        &self,
        by_pack: &HashMap<PackId, Vec<(BlobId, IndexEntry)>>,
        sizes: &HashMap<PackId, u64>,
        threads: Option<usize>,
        report: &mut CheckReport,
        progress: &dyn Progress,
    ) {
        let total: u64 = by_pack.keys().filter_map(|p| sizes.get(p)).sum();
        progress.start(Phase::CheckData, Some(total));
        let packs: Vec<&PackId> = by_pack.keys().collect();
        let next = AtomicUsize::new(0);
        let found = Mutex::new((Vec::new(), BTreeSet::new(), 0usize));
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
            .clamp(1, 64);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while let Some(&&pack) = packs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let (problems, bad, read) = self.check_pack(pack, &by_pack[&pack]);
                        progress.advance(sizes.get(&pack).copied().unwrap_or(0));
                        let mut f = found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        f.0.extend(problems);
                        f.1.extend(bad);
                        f.2 += read;
                    }
                });
            }
        });
        let (problems, bad, read) = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        report.problems.extend(problems);
        report.bad_blobs.extend(bad);
        report.blobs_read += read;
        progress.finish(Phase::CheckData);
    }

    fn check_pack(&self, pack: PackId, entries: &[(BlobId, IndexEntry)]) -> (Vec<Problem>, Vec<BlobId>, usize) {
        let mut problems = Vec::new();
        let mut bad = Vec::new();
        let bytes = match self.storage.read(&ObjectKey::Pack(pack)) {
            Ok(b) => b,
            Err(e) => {
                problems.push(Problem::BadPackHeader { pack, reason: e.to_string() });
                return (problems, entries.iter().map(|(id, _)| *id).collect(), 0);
            }
        };
        if blake3::hash(&bytes).as_bytes() != pack.as_bytes() {
            problems.push(Problem::PackHashMismatch { pack });
        }
        match pack::header_of_bytes(&self.crypto, pack, &bytes) {
            Ok(header) => {
                let listed: HashMap<BlobId, (u32, u32)> = header.iter().map(|b| (b.id, (b.offset, b.length))).collect();
                if entries.iter().any(|(id, e)| listed.get(id) != Some(&(e.offset, e.length))) {
                    problems.push(Problem::BadPackHeader { pack, reason: "header disagrees with the index".into() });
                }
            }
            Err(e) => problems.push(Problem::BadPackHeader { pack, reason: e.to_string() }),
        }
        let mut read = 0;
        for (id, e) in entries {
            let range = e.offset as usize..(e.offset + e.length) as usize;
            let result = match bytes.get(range) {
                Some(sealed) => blob::open(&self.crypto, *id, e.raw_length, sealed).map(drop),
                None => Err(VaultError::CorruptBlob { id: *id, reason: "outside its pack".into() }),
            };
            read += 1;
            if let Err(err) = result {
                let reason = match err {
                    VaultError::CorruptBlob { reason, .. } => reason,
                    other => other.to_string(),
                };
                problems.push(Problem::DamagedBlob { blob: *id, pack, reason });
                bad.push(*id);
            }
        }
        (problems, bad, read)
    }

    /// Rebuilds the index from the pack headers alone and writes it as one new index file,
    /// then removes the old index files (only after the new one is durable).
    ///
    /// # Errors
    /// Storage errors; packs with unreadable headers are skipped and returned.
    pub fn rebuild_index(&self) -> Result<Vec<PackId>> {
        let mut packs = Vec::new();
        let mut skipped = Vec::new();
        for info in self.storage.list(ObjectKind::Pack)? {
            let ObjectKey::Pack(id) = info.key else { continue };
            match pack::read_header(self.storage.as_ref(), &self.crypto, id, info.size) {
                Ok(blobs) => packs.push((id, blobs)),
                Err(e) => {
                    tracing::warn!(pack = %id, error = %e, "pack header unreadable; not indexed");
                    skipped.push(id);
                }
            }
        }
        let old = self.storage.list(ObjectKind::Index)?;
        let new_id = crate::index::write(self.storage.as_ref(), &self.crypto, &packs)?;
        for info in old {
            if info.key != ObjectKey::Index(new_id) {
                self.storage.delete(&info.key)?;
            }
        }
        let mut index = crate::index::Index::default();
        for (p, b) in &packs {
            index.add_pack(*p, b);
        }
        *self.index_mut() = index;
        Ok(skipped)
    }
}
