//! Garbage collection: plan from the index and the snapshots, then apply.
//!
//! Planning ([`PrunePlan::compute`]) is a pure function of the index files' contents, the
//! packs in storage and the set of blobs the remaining snapshots reach (trees walked from
//! every manifest). Each used blob is assigned to one pack holding it; per pack:
//!
//! * nothing used → **delete**;
//! * partly used, with more than [`PruneOptions::max_unused`] of its blob bytes unused →
//!   **repack**: its used blobs (those no kept pack also holds) are verified, re-sealed into
//!   new packs, and the pack deleted;
//! * otherwise **keep**.
//!
//! Packs in storage that no index names are leftovers of interrupted backups and are deleted.
//! Prune refuses to plan (deleting nothing) when the vault is already damaged: an unreadable
//! manifest, tree or index file, or a used blob that no present pack holds.
//!
//! Applying, in this order, each step durable before the next:
//! 1. new packs with the repacked blobs;
//! 2. one new index file naming every kept pack and the new packs;
//! 3. deletion of the old index files (those read while planning);
//! 4. deletion of the dropped packs.
//!
//! An interruption before 3 leaves old and new index files whose union names only packs
//! that exist; during or after 3 every remaining index file names only packs that stay.
//! So every snapshot stays restorable at every point, and a rerun finishes the job.
//!
//! Concurrency: prune holds an exclusive [`crate::lock`] from before it lists anything until
//! it has deleted its last object, and re-checks the lock before each deletion; backups and
//! copies hold shared locks. See the table in [`crate::lock`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::blob::{self, BlobKind};
use crate::crypto::OVERHEAD;
use crate::error::{Result, VaultError};
use crate::id::{BlobId, IndexId, PackId, TreeId};
use crate::index;
use crate::lock::{LockGuard, LockKind, LockOptions};
use crate::pack::{PackBlob, PackWriter};
use crate::snapshot;
use crate::storage::{ObjectKey, ObjectKind};
use crate::vault::Vault;

/// How to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Repack a partly used pack once more than this share (0.0–1.0) of its blob bytes is
    /// unused. Lower frees more space and rewrites more data.
    pub max_unused: f64,
    /// Plan only; change nothing (takes a shared lock instead of an exclusive one).
    pub dry_run: bool,
    /// Lock lifetime and how long to wait for running backups.
    pub lock: LockOptions,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self { max_unused: 0.2, dry_run: false, lock: LockOptions::default() }
    }
}

/// What prune does with one pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackAction {
    /// Left as it is (named by the new index).
    Keep,
    /// Used blobs copied into new packs, then deleted.
    Repack,
    /// Deleted: nothing in it is used.
    Delete,
}

/// The fate of one indexed pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackPlan {
    /// The pack.
    pub pack: PackId,
    /// Its size in storage.
    pub size: u64,
    /// What happens to it.
    pub action: PackAction,
    /// Used blobs assigned to it.
    pub used_blobs: usize,
    /// Sealed bytes of those.
    pub used_bytes: u64,
    /// Sealed bytes of its other blobs (unused, or a duplicate of a blob kept elsewhere).
    pub unused_bytes: u64,
}

/// Everything prune will do, computed before it does anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrunePlan {
    /// Every indexed pack present in storage, by id.
    pub packs: Vec<PackPlan>,
    /// Blobs to copy out of repacked packs, by pack.
    pub copy: BTreeMap<PackId, Vec<PackBlob>>,
    /// Packs in storage that no index names (interrupted backups), with sizes: deleted.
    pub unindexed: Vec<(PackId, u64)>,
    /// Packs the index names but storage lacks, holding nothing used: dropped from the index.
    pub missing: Vec<PackId>,
    /// Distinct blobs reachable from the snapshots.
    pub used_blobs: usize,
}

impl PrunePlan {
    /// Plans from the packs the index files name (`indexed`, each with all its blobs), the
    /// packs in storage with their sizes, and the blobs the snapshots use.
    ///
    /// # Errors
    /// [`VaultError::BlobMissing`] (the smallest such id) if a used blob is in no present
    /// pack: the vault is already damaged and prune must not decide anything from it.
    pub fn compute(
        indexed: &[(PackId, Vec<PackBlob>)],
        stored: &HashMap<PackId, u64>,
        used: &HashSet<BlobId>,
        max_unused: f64,
    ) -> Result<Self> {
        let mut packs: BTreeMap<PackId, &[PackBlob]> = BTreeMap::new();
        for (id, blobs) in indexed {
            packs.entry(*id).or_insert(blobs.as_slice());
        }
        let missing: Vec<PackId> = packs.keys().filter(|p| !stored.contains_key(p)).copied().collect();
        // The one copy of each used blob that counts: the one in the pack with the largest
        // share of used bytes (then the smallest id), so duplicates leave sparse packs.
        let density = |blobs: &[PackBlob]| {
            let total: u64 = blobs.iter().map(|b| u64::from(b.length)).sum();
            let live: u64 = blobs.iter().filter(|b| used.contains(&b.id)).map(|b| u64::from(b.length)).sum();
            if total == 0 { 0.0 } else { live as f64 / total as f64 }
        };
        let mut holder: HashMap<BlobId, PackId> = HashMap::new();
        let mut best: HashMap<BlobId, f64> = HashMap::new();
        for (pack, blobs) in packs.iter().filter(|(p, _)| stored.contains_key(p)) {
            let d = density(blobs);
            for b in blobs.iter().filter(|b| used.contains(&b.id)) {
                if best.get(&b.id).is_none_or(|&old| d > old) {
                    best.insert(b.id, d);
                    holder.insert(b.id, *pack);
                }
            }
        }
        if let Some(id) = used.iter().filter(|id| !holder.contains_key(id)).min() {
            return Err(VaultError::BlobMissing { id: *id });
        }
        let mut plans = Vec::new();
        for (pack, blobs) in packs.iter().filter(|(p, _)| stored.contains_key(p)) {
            let (mut used_blobs, mut used_bytes, mut unused_bytes) = (0, 0u64, 0u64);
            for b in blobs.iter() {
                if holder.get(&b.id) == Some(pack) {
                    used_blobs += 1;
                    used_bytes += u64::from(b.length);
                } else {
                    unused_bytes += u64::from(b.length);
                }
            }
            let action = if used_blobs == 0 {
                PackAction::Delete
            } else if unused_bytes as f64 > max_unused * (used_bytes + unused_bytes) as f64 {
                PackAction::Repack
            } else {
                PackAction::Keep
            };
            plans.push(PackPlan { pack: *pack, size: stored[pack], action, used_blobs, used_bytes, unused_bytes });
        }
        // A blob that a kept pack also holds needs no new copy.
        let kept: HashSet<BlobId> = plans
            .iter()
            .filter(|p| p.action == PackAction::Keep)
            .flat_map(|p| packs[&p.pack].iter().map(|b| b.id))
            .collect();
        let mut copy = BTreeMap::new();
        for p in plans.iter().filter(|p| p.action == PackAction::Repack) {
            let blobs: Vec<PackBlob> = packs[&p.pack]
                .iter()
                .filter(|b| holder.get(&b.id) == Some(&p.pack) && !kept.contains(&b.id))
                .copied()
                .collect();
            if !blobs.is_empty() {
                copy.insert(p.pack, blobs);
            }
        }
        let mut unindexed: Vec<(PackId, u64)> =
            stored.iter().filter(|(p, _)| !packs.contains_key(p)).map(|(p, s)| (*p, *s)).collect();
        unindexed.sort();
        Ok(Self { packs: plans, copy, unindexed, missing, used_blobs: used.len() })
    }

    /// Whether applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.packs.iter().all(|p| p.action == PackAction::Keep) && self.unindexed.is_empty() && self.missing.is_empty()
    }

    /// Packs with `action`.
    pub fn with_action(&self, action: PackAction) -> impl Iterator<Item = &PackPlan> + '_ {
        self.packs.iter().filter(move |p| p.action == action)
    }

    /// Storage bytes of every pack that will be deleted (repacked ones included).
    pub fn pack_bytes_freed(&self) -> u64 {
        self.packs.iter().filter(|p| p.action != PackAction::Keep).map(|p| p.size).sum::<u64>()
            + self.unindexed.iter().map(|(_, s)| s).sum::<u64>()
    }

    /// Sealed bytes the repack copies.
    pub fn bytes_to_copy(&self) -> u64 {
        self.copy.values().flatten().map(|b| u64::from(b.length)).sum()
    }
}

/// What a prune did.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneReport {
    /// The plan it followed.
    pub plan: PrunePlan,
    /// Whether it changed anything (false for a dry run or an empty plan).
    pub applied: bool,
    /// Snapshots whose data was kept.
    pub snapshots: usize,
    /// Packs deleted outright (unused or unindexed).
    pub packs_deleted: usize,
    /// Packs rewritten and deleted.
    pub packs_repacked: usize,
    /// New packs written by the repack.
    pub packs_written: usize,
    /// Blobs copied by the repack.
    pub blobs_repacked: usize,
    /// Bytes removed from storage: packs and old index files.
    pub bytes_freed: u64,
    /// Bytes written: new packs and the new index file.
    pub bytes_written: u64,
    /// Old index files removed.
    pub index_files_removed: usize,
    /// The index file that replaced them (none when nothing is left to index).
    pub new_index: Option<IndexId>,
    /// Bytes of interrupted writes (temporary files of killed processes) removed.
    pub incomplete_bytes_removed: u64,
    /// Wall time.
    pub duration: Duration,
}

/// What planning reads: index files and their contents, packs in storage, used blobs.
struct Inputs {
    index_files: Vec<(IndexId, u64)>,
    indexed: PackList,
    stored: HashMap<PackId, u64>,
    used: HashSet<BlobId>,
    snapshots: usize,
}

/// Packs with all their blobs, as index files list them.
pub(crate) type PackList = Vec<(PackId, Vec<PackBlob>)>;

/// Seals blobs into packs of the vault's size and stores each durably as it fills.
pub(crate) struct PackSink<'a> {
    vault: &'a Vault,
    writer: PackWriter,
    packs: PackList,
    bytes: u64,
}

impl<'a> PackSink<'a> {
    pub(crate) fn new(vault: &'a Vault) -> Self {
        Self { vault, writer: PackWriter::default(), packs: Vec::new(), bytes: 0 }
    }

    /// Seals `data` (whose id under this vault's key is `id`) into the current pack.
    pub(crate) fn add(&mut self, kind: BlobKind, id: BlobId, data: &[u8]) -> Result<()> {
        self.writer.add(&self.vault.crypto, self.vault.config.compression.level, kind, id, data);
        if self.writer.len() >= self.vault.config.pack_size as usize {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let writer = std::mem::take(&mut self.writer);
        if writer.is_empty() {
            return Ok(());
        }
        let p = writer.finish(&self.vault.crypto);
        self.vault.storage.write(&ObjectKey::Pack(p.id), &p.bytes)?;
        self.bytes += p.bytes.len() as u64;
        self.packs.push((p.id, p.blobs));
        Ok(())
    }

    /// Stores the last pack; returns every pack written and their total size.
    pub(crate) fn finish(mut self) -> Result<(PackList, u64)> {
        self.flush()?;
        Ok((self.packs, self.bytes))
    }
}

/// Stored size of an index file naming `packs`.
pub(crate) fn index_file_size(packs: &[(PackId, Vec<PackBlob>)]) -> u64 {
    (index::encode(packs).len() + OVERHEAD) as u64
}

impl Vault {
    /// Removes data no snapshot uses (see the module docs for the order of steps and why it
    /// is safe). Waits for running backups (they hold shared locks) up to
    /// `options.lock.wait`.
    ///
    /// # Errors
    /// [`VaultError::Locked`], [`VaultError::LockLost`]; damage that makes planning unsafe
    /// ([`VaultError::BlobMissing`], [`VaultError::Corrupt`], [`VaultError::CorruptBlob`]);
    /// storage errors. Whatever fails, every remaining snapshot stays restorable.
    pub fn prune(&self, options: &PruneOptions) -> Result<PruneReport> {
        let start = Instant::now();
        if !(0.0..=1.0).contains(&options.max_unused) {
            return Err(VaultError::InvalidOptions { reason: "max_unused must be between 0 and 1".into() });
        }
        let kind = if options.dry_run { LockKind::Shared } else { LockKind::Exclusive };
        let lock = self.lock_with(kind, "prune", &options.lock)?;
        let inputs = self.prune_inputs()?;
        let plan = PrunePlan::compute(&inputs.indexed, &inputs.stored, &inputs.used, options.max_unused)?;
        let mut report = PruneReport {
            plan,
            applied: false,
            snapshots: inputs.snapshots,
            packs_deleted: 0,
            packs_repacked: 0,
            packs_written: 0,
            blobs_repacked: 0,
            bytes_freed: 0,
            bytes_written: 0,
            index_files_removed: 0,
            new_index: None,
            incomplete_bytes_removed: 0,
            duration: Duration::ZERO,
        };
        if !options.dry_run {
            // Under the exclusive lock no writer runs: every temporary file is a leftover.
            report.incomplete_bytes_removed = self.storage.remove_incomplete()?;
        }
        if !options.dry_run && !report.plan.is_empty() {
            self.apply_prune(&inputs, &lock, &mut report)?;
        }
        report.duration = start.elapsed();
        tracing::info!(deleted = report.packs_deleted, repacked = report.packs_repacked,
            freed = report.bytes_freed, written = report.bytes_written, "prune done");
        Ok(report)
    }

    /// Reads everything the plan depends on; any damage aborts.
    fn prune_inputs(&self) -> Result<Inputs> {
        let index_files: Vec<(IndexId, u64)> = self
            .storage
            .list(ObjectKind::Index)?
            .into_iter()
            .filter_map(|i| match i.key {
                ObjectKey::Index(id) => Some((id, i.size)),
                _ => None,
            })
            .collect();
        let mut indexed = Vec::new();
        for (id, _) in &index_files {
            indexed.extend(index::read(self.storage.as_ref(), &self.crypto, *id)?);
        }
        // Trees are read through the in-memory index: make it match the files just read.
        self.reload_index()?;
        let stored = self
            .storage
            .list(ObjectKind::Pack)?
            .into_iter()
            .filter_map(|i| match i.key {
                ObjectKey::Pack(id) => Some((id, i.size)),
                _ => None,
            })
            .collect();
        let mut used = HashSet::new();
        let mut seen_trees = HashSet::new();
        let ids = snapshot::list(self.storage.as_ref())?;
        for id in &ids {
            let snap = snapshot::read(self.storage.as_ref(), &self.crypto, *id)?;
            self.mark_used(snap.tree, &mut seen_trees, &mut used)?;
        }
        Ok(Inputs { index_files, indexed, stored, used, snapshots: ids.len() })
    }

    /// Adds every blob reachable from `root` to `used`. Trees are tracked apart from `used`,
    /// since a file chunk may have the same bytes (and id) as a tree.
    fn mark_used(&self, root: TreeId, seen: &mut HashSet<TreeId>, used: &mut HashSet<BlobId>) -> Result<()> {
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            used.insert(id.into());
            let tree = self.load_tree(id)?;
            for node in &tree.nodes {
                used.extend(node.content.iter().flatten().map(|c| BlobId::from(*c)));
                stack.extend(node.subtree);
            }
        }
        Ok(())
    }

    fn apply_prune(&self, inputs: &Inputs, lock: &LockGuard, report: &mut PruneReport) -> Result<()> {
        let plan = &report.plan;
        // 1. Repacked blobs into new packs, verified on the way.
        let mut sink = PackSink::new(self);
        for (pack, blobs) in &plan.copy {
            let bytes = self.storage.read(&ObjectKey::Pack(*pack))?;
            for b in blobs {
                let range = b.offset as usize..(b.offset as usize + b.length as usize);
                let sealed = bytes
                    .get(range)
                    .ok_or_else(|| VaultError::CorruptBlob { id: b.id, reason: "outside its pack".into() })?;
                let data = blob::open(&self.crypto, b.id, b.raw_length, sealed)?;
                sink.add(b.kind, b.id, &data)?;
                report.blobs_repacked += 1;
            }
        }
        let (new_packs, pack_bytes) = sink.finish()?;
        report.packs_written = new_packs.len();
        report.bytes_written = pack_bytes;
        // 2. One index for everything that stays.
        let keep: HashSet<PackId> = plan.with_action(PackAction::Keep).map(|p| p.pack).collect();
        let mut entries: PackList = Vec::new();
        let mut named = HashSet::new();
        for (pack, blobs) in &inputs.indexed {
            if keep.contains(pack) && named.insert(*pack) {
                entries.push((*pack, blobs.clone()));
            }
        }
        entries.extend(new_packs);
        if !entries.is_empty() {
            let id = index::write(self.storage.as_ref(), &self.crypto, &entries)?;
            report.bytes_written += index_file_size(&entries);
            report.new_index = Some(id);
        }
        // 3. Old index files, only now that the new one is durable.
        for (id, size) in &inputs.index_files {
            if Some(*id) != report.new_index {
                lock.ensure_valid()?;
                self.storage.delete(&ObjectKey::Index(*id))?;
                report.index_files_removed += 1;
                report.bytes_freed += size;
            }
        }
        // 4. Packs no index names any more.
        let dropped = plan.packs.iter().filter(|p| p.action != PackAction::Keep).map(|p| (p.pack, p.size, p.action));
        let unindexed = plan.unindexed.iter().map(|(p, s)| (*p, *s, PackAction::Delete));
        for (pack, size, action) in dropped.chain(unindexed) {
            lock.ensure_valid()?;
            self.storage.delete(&ObjectKey::Pack(pack))?;
            report.bytes_freed += size;
            match action {
                PackAction::Repack => report.packs_repacked += 1,
                _ => report.packs_deleted += 1,
            }
        }
        report.applied = true;
        self.reload_index()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(i: u8, length: u32) -> PackBlob {
        PackBlob { kind: BlobKind::Data, id: BlobId::from_bytes([i; 32]), offset: 0, length, raw_length: length }
    }

    fn pack(i: u8) -> PackId {
        PackId::from_bytes([i; 32])
    }

    fn used(ids: &[u8]) -> HashSet<BlobId> {
        ids.iter().map(|i| BlobId::from_bytes([*i; 32])).collect()
    }

    #[test]
    fn plans_keep_repack_delete_and_unindexed() {
        let indexed = vec![
            (pack(1), vec![blob(1, 100), blob(2, 100)]), // all used: keep
            (pack(2), vec![blob(3, 100), blob(4, 900)]), // 90 % unused: repack blob 3
            (pack(3), vec![blob(5, 100)]),               // unused: delete
            (pack(4), vec![blob(6, 950), blob(7, 50)]),  // 5 % unused: keep
            (pack(5), vec![blob(1, 100), blob(8, 100)]), // duplicate of 1 and unused 8: delete
            (pack(6), vec![blob(9, 10)]),                // indexed but gone from storage
        ];
        let stored: HashMap<PackId, u64> =
            [(pack(1), 300), (pack(2), 1100), (pack(3), 200), (pack(4), 1100), (pack(5), 300), (pack(7), 50)].into();
        let plan = PrunePlan::compute(&indexed, &stored, &used(&[1, 2, 3, 6]), 0.2).unwrap();
        let actions: Vec<_> = plan.packs.iter().map(|p| (p.pack, p.action)).collect();
        assert_eq!(
            actions,
            vec![
                (pack(1), PackAction::Keep),
                (pack(2), PackAction::Repack),
                (pack(3), PackAction::Delete),
                (pack(4), PackAction::Keep),
                (pack(5), PackAction::Delete),
            ]
        );
        assert_eq!(plan.copy.keys().copied().collect::<Vec<_>>(), vec![pack(2)]);
        assert_eq!(plan.copy[&pack(2)], vec![blob(3, 100)]);
        assert_eq!(plan.unindexed, vec![(pack(7), 50)]);
        assert_eq!(plan.missing, vec![pack(6)]);
        assert_eq!(plan.pack_bytes_freed(), 1100 + 200 + 300 + 50);
        assert!(!plan.is_empty());
        // A used blob no present pack holds stops the plan.
        let err = PrunePlan::compute(&indexed, &stored, &used(&[9]), 0.2).unwrap_err();
        assert!(matches!(err, VaultError::BlobMissing { .. }));
    }

    #[test]
    fn everything_used_is_an_empty_plan() {
        let indexed = vec![(pack(1), vec![blob(1, 100)]), (pack(2), vec![blob(2, 100), blob(3, 10)])];
        let stored: HashMap<PackId, u64> = [(pack(1), 150), (pack(2), 160)].into();
        let plan = PrunePlan::compute(&indexed, &stored, &used(&[1, 2]), 0.2).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
        // The same pack at a stricter threshold is repacked.
        let plan = PrunePlan::compute(&indexed, &stored, &used(&[1, 2]), 0.0).unwrap();
        assert_eq!(plan.with_action(PackAction::Repack).count(), 1);
    }

    #[test]
    fn duplicates_count_in_the_densest_pack() {
        // Blob 1 is in a mostly unused pack 1 and in fully used pack 2: pack 2 holds it, so
        // pack 1 is deleted instead of repacked and nothing is copied.
        let indexed = vec![(pack(1), vec![blob(1, 10), blob(9, 990)]), (pack(2), vec![blob(1, 10), blob(2, 10)])];
        let stored: HashMap<PackId, u64> = [(pack(1), 1000), (pack(2), 40)].into();
        let plan = PrunePlan::compute(&indexed, &stored, &used(&[1, 2]), 0.2).unwrap();
        assert_eq!(plan.packs[0].action, PackAction::Delete);
        assert_eq!(plan.packs[1].action, PackAction::Keep);
        assert!(plan.copy.is_empty());
    }
}
