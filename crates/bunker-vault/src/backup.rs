//! Backup of directory trees and byte streams.
//!
//! Pipeline, with bounded memory:
//!
//! ```text
//! caller thread: walk → read → FastCDC → keyed BLAKE3 → dedup ──(bounded channel)──┐
//!                                                                                  ▼
//! N worker threads:                      zstd → AEAD → own pack writer → storage (fsync)
//! ```
//!
//! Hashing on the walking thread gives every chunk its id immediately, so file content lists
//! and trees are built in order without waiting on workers, and the dedup set needs no lock.
//! Compression and encryption (the expensive half) run on the workers. Each worker owns a
//! pack, so packs are filled and written without contention. At most `channel capacity`
//! chunks plus one pack per worker are in memory at a time.
//!
//! Durability order: every pack is written atomically and durably by its worker; the index
//! file naming them is written after all workers have finished; the snapshot manifest after
//! the index. A crash at any point leaves only unreferenced packs (garbage for prune).

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::blob::BlobKind;
use crate::chunker::Chunker;
use crate::error::{Result, VaultError};
use crate::id::{BlobId, ChunkId, PackId, SnapshotId, TreeId};
use crate::index::Index;
use crate::pack::{PackBlob, PackWriter};
use crate::progress::{Phase, Progress};
use crate::snapshot::{self, Snapshot, SnapshotSource, SnapshotSummary};
use crate::storage::ObjectKey;
use crate::tree::{Name, Node, NodeKind, Tree, read_xattrs};
use crate::vault::Vault;

/// Inputs of a tree backup.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// Snapshot whose unchanged files are reused by metadata; `None` reads everything.
    pub parent: Option<SnapshotId>,
    /// Tags recorded in the manifest.
    pub tags: Vec<String>,
    /// Host name to record; defaults to this machine's.
    pub hostname: Option<String>,
    /// Record this time instead of now (imports, tests).
    pub time: Option<jiff::Timestamp>,
    /// Worker threads for compression and encryption; default: available cores.
    pub threads: Option<usize>,
}

/// Inputs of a stream backup.
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    /// File name of the stream inside the snapshot (e.g. `db.dump`).
    pub name: String,
    /// Tags recorded in the manifest.
    pub tags: Vec<String>,
    /// Host name to record; defaults to this machine's.
    pub hostname: Option<String>,
    /// Record this time instead of now (the service passes its clock's time).
    pub time: Option<jiff::Timestamp>,
    /// Worker threads; default: available cores.
    pub threads: Option<usize>,
}

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The new recovery point.
    pub snapshot_id: SnapshotId,
    /// Regular files in it.
    pub files: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Stored bytes added to the vault (after dedup, compression and encryption).
    pub bytes_added: u64,
    /// Wall time.
    pub duration: Duration,
    /// All counters, as recorded in the manifest.
    pub details: SnapshotSummary,
}

struct Job {
    kind: BlobKind,
    id: BlobId,
    data: Vec<u8>,
}

/// The shared half of the pipeline: dedup set, job queue and counters.
struct Pipeline<'a> {
    vault: &'a Vault,
    index: &'a Index,
    sent: HashSet<BlobId>,
    jobs: Sender<Job>,
    failed: &'a AtomicBool,
    progress: &'a dyn Progress,
    summary: SnapshotSummary,
}

impl Pipeline<'_> {
    /// Queues a blob unless the vault or this backup already has it; returns its id.
    fn add_blob(&mut self, kind: BlobKind, data: Vec<u8>) -> Result<BlobId> {
        let id = self.vault.crypto.blob_id(&data);
        if self.index.contains(&id) || !self.sent.insert(id) {
            return Ok(id);
        }
        self.summary.blobs_added += 1;
        self.summary.bytes_added_raw += data.len() as u64;
        if self.failed.load(Ordering::Relaxed) || self.jobs.send(Job { kind, id, data }).is_err() {
            return Err(VaultError::Internal { reason: "pack writers stopped".into() });
        }
        Ok(id)
    }

    /// Chunks a reader into data blobs; returns the content list and the bytes read.
    fn add_content(&mut self, reader: impl Read, path: &Path) -> Result<(Vec<ChunkId>, u64)> {
        let mut ids = Vec::new();
        let mut n = 0u64;
        for chunk in Chunker::new(reader, self.vault.config.chunker, self.vault.crypto.chunker_seed()) {
            let chunk = chunk.map_err(|e| VaultError::io("read", path, e))?;
            let len = chunk.len() as u64;
            n += len;
            ids.push(self.add_blob(BlobKind::Data, chunk)?.as_chunk());
            self.progress.advance(len);
        }
        self.summary.bytes_read += n;
        Ok((ids, n))
    }

    fn add_tree(&mut self, mut tree: Tree) -> Result<TreeId> {
        let bytes = tree.encode();
        Ok(self.add_blob(BlobKind::Tree, bytes)?.as_tree())
    }

    /// Backs up one file-system entry at `path` named `name`; `parent` is the same entry in
    /// the parent snapshot, if any.
    fn entry(&mut self, path: &Path, name: Name, parent: Option<&Node>) -> Result<Node> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| VaultError::io("stat", path, e))?;
        let mut node = Node::from_metadata(name, &meta);
        node.xattrs = read_xattrs(path);
        match node.kind {
            NodeKind::Dir => {
                self.summary.dirs += 1;
                let parent_tree = match parent {
                    Some(Node { kind: NodeKind::Dir, subtree: Some(t), .. }) => self.vault.load_tree(*t).ok(),
                    _ => None,
                };
                node.subtree = Some(self.dir(path, parent_tree.as_ref())?);
            }
            NodeKind::File => {
                self.summary.files += 1;
                self.summary.bytes_total += node.size;
                match parent {
                    Some(p) if node.unchanged_since(p) && self.all_indexed(p) => {
                        node.content.clone_from(&p.content);
                        self.summary.files_unchanged += 1;
                        self.progress.advance(node.size);
                    }
                    _ => {
                        self.progress.item(&path.to_string_lossy());
                        let mut f = File::open(path).map_err(|e| VaultError::io("open", path, e))?;
                        let (content, n) = if node.size < u64::from(self.vault.config.chunker.min_size) {
                            // FastCDC never cuts below min_size, so a small file is one chunk:
                            // read it directly and skip the chunker's buffer.
                            let mut data = Vec::with_capacity(node.size as usize + 1);
                            f.read_to_end(&mut data).map_err(|e| VaultError::io("read", path, e))?;
                            if data.len() < self.vault.config.chunker.min_size as usize {
                                let n = data.len() as u64;
                                self.summary.bytes_read += n;
                                self.progress.advance(n);
                                let ids = if data.is_empty() {
                                    Vec::new()
                                } else {
                                    vec![self.add_blob(BlobKind::Data, data)?.as_chunk()]
                                };
                                (ids, n)
                            } else {
                                self.add_content(&data[..], path)?
                            }
                        } else {
                            self.add_content(f, path)?
                        };
                        // The file may have grown or shrunk while being read: record what was read.
                        node.size = n;
                        node.content = Some(content);
                        self.summary.files_changed += 1;
                    }
                }
            }
            NodeKind::Symlink => {
                self.summary.others += 1;
                let target = std::fs::read_link(path).map_err(|e| VaultError::io("read link", path, e))?;
                node.target = Some(Name::from_os(target.as_os_str()));
            }
            _ => self.summary.others += 1,
        }
        Ok(node)
    }

    /// A parent's content can only be reused if every chunk is still indexed.
    fn all_indexed(&self, parent: &Node) -> bool {
        parent.content.as_ref().is_some_and(|c| c.iter().all(|id| self.index.contains(&(*id).into())))
    }

    fn dir(&mut self, path: &Path, parent: Option<&Tree>) -> Result<TreeId> {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| VaultError::io("list", path, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| VaultError::io("list", path, e))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut tree = Tree::default();
        for name in names {
            let child = path.join(&name);
            let prev = parent.and_then(|t| t.get(name.as_bytes()));
            match self.entry(&child, Name::from_os(&name), prev) {
                Ok(node) => tree.nodes.push(node),
                // Entries that vanish or cannot be read are skipped, as restic and tar do;
                // failures of the vault itself abort.
                Err(VaultError::Io { op, path, source }) => {
                    tracing::warn!(path = %path.display(), op, error = %source, "skipping entry");
                    self.summary.errors += 1;
                }
                Err(e) => return Err(e),
            }
        }
        self.add_tree(tree)
    }
}

fn worker(vault: &Vault, jobs: &Receiver<Job>, done: &Sender<Result<(PackId, Vec<PackBlob>)>>, failed: &AtomicBool, stored: &AtomicU64) {
    let cap = vault.config.pack_size as usize + vault.config.chunker.max_size as usize + 4096;
    let level = vault.config.compression.level;
    let mut pack = PackWriter::with_capacity(cap);
    let flush = |pack: PackWriter| -> Result<(PackId, Vec<PackBlob>)> {
        let p = pack.finish(&vault.crypto);
        vault.storage.write(&ObjectKey::Pack(p.id), &p.bytes)?;
        tracing::debug!(pack = %p.id, bytes = p.bytes.len(), blobs = p.blobs.len(), "pack written");
        Ok((p.id, p.blobs))
    };
    for job in jobs {
        let n = pack.add(&vault.crypto, level, job.kind, job.id, &job.data);
        stored.fetch_add(u64::from(n), Ordering::Relaxed);
        if pack.len() >= vault.config.pack_size as usize {
            let full = std::mem::replace(&mut pack, PackWriter::with_capacity(cap));
            let r = flush(full);
            let err = r.is_err();
            let _ = done.send(r);
            if err {
                failed.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
    if !pack.is_empty() {
        let r = flush(pack);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        let _ = done.send(r);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| rustix::system::uname().nodename().to_string_lossy().into_owned())
}

impl Vault {
    /// Runs `produce` against a pipeline with worker threads, then makes the new packs
    /// durable in the index and writes the manifest built by `manifest`.
    fn run_backup(
        &self,
        threads: Option<usize>,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut Pipeline<'_>) -> Result<TreeId>,
        manifest: impl FnOnce(TreeId, SnapshotSummary) -> Snapshot,
    ) -> Result<BackupSummary> {
        let start = Instant::now();
        // Shared lock: no prune can remove what this backup dedups against (see `crate::lock`).
        let lock = self.lock(crate::lock::LockKind::Shared, "backup")?;
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
            .clamp(1, 64);
        let failed = AtomicBool::new(false);
        let stored = AtomicU64::new(0);
        progress.start(Phase::Backup, None);
        let index = self.index();
        let (root, mut summary, packs) = std::thread::scope(|s| {
            let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(threads * 2);
            let (done_tx, done_rx) = crossbeam_channel::unbounded();
            for _ in 0..threads {
                let (rx, tx, failed, stored) = (job_rx.clone(), done_tx.clone(), &failed, &stored);
                s.spawn(move || worker(self, &rx, &tx, failed, stored));
            }
            drop((job_rx, done_tx));
            let mut pipe = Pipeline {
                vault: self,
                index: &index,
                sent: HashSet::new(),
                jobs: job_tx,
                failed: &failed,
                progress,
                summary: SnapshotSummary::default(),
            };
            let root = produce(&mut pipe);
            let Pipeline { jobs, summary, .. } = pipe;
            drop(jobs); // workers flush their last pack and exit
            let packs: Vec<Result<(PackId, Vec<PackBlob>)>> = done_rx.iter().collect();
            (root, summary, packs)
        });
        drop(index);
        let packs: Vec<(PackId, Vec<PackBlob>)> = packs.into_iter().collect::<Result<_>>()?;
        let root = root?;
        if !packs.is_empty() {
            let id = crate::index::write(self.storage.as_ref(), &self.crypto, &packs)?;
            tracing::debug!(index = %id, packs = packs.len(), "index written");
            let mut index = self.index_mut();
            for (pack, blobs) in &packs {
                index.add_pack(*pack, blobs);
            }
        }
        summary.packs_written = packs.len() as u64;
        summary.bytes_added = stored.load(Ordering::Relaxed)
            + packs.iter().map(|(_, b)| b.len() as u64 * 41 + 40).sum::<u64>();
        summary.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let snap = manifest(root, summary.clone());
        lock.ensure_valid()?;
        let snapshot_id = snapshot::write(self.storage.as_ref(), &self.crypto, &snap)?;
        progress.finish(Phase::Backup);
        tracing::info!(snapshot = %snapshot_id, files = summary.files, bytes_read = summary.bytes_read,
            bytes_added = summary.bytes_added, "backup done");
        Ok(BackupSummary {
            snapshot_id,
            files: summary.files,
            bytes_read: summary.bytes_read,
            bytes_added: summary.bytes_added,
            duration: start.elapsed(),
            details: summary,
        })
    }

    /// Backs up directory trees (or single files) into a new recovery point. Each path
    /// becomes an entry of the snapshot's root tree named by its last component.
    ///
    /// # Errors
    /// [`VaultError::InvalidOptions`] for duplicate or unnamed paths, [`VaultError::Io`] if a
    /// given path cannot be read, storage errors. Unreadable entries below a given path are
    /// skipped and counted in `details.errors`.
    pub fn backup<P: AsRef<Path>>(&self, paths: &[P], options: &BackupOptions, progress: &dyn Progress) -> Result<BackupSummary> {
        let mut named: Vec<(PathBuf, Name)> = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let abs = std::path::absolute(p).map_err(|e| VaultError::io("resolve", p, e))?;
            let name = abs
                .file_name()
                .ok_or_else(|| VaultError::InvalidOptions { reason: format!("`{}` has no name", p.display()) })?;
            named.push((abs.clone(), Name::from_os(name)));
        }
        let mut seen = HashSet::new();
        if let Some((p, _)) = named.iter().find(|(_, n)| !seen.insert(n.clone())) {
            return Err(VaultError::InvalidOptions { reason: format!("two paths are named like `{}`", p.display()) });
        }
        let parent_tree = match options.parent {
            Some(id) => Some(self.load_tree(self.snapshot(id)?.tree)?),
            None => None,
        };
        let time = options.time.unwrap_or_else(jiff::Timestamp::now);
        self.run_backup(
            options.threads,
            progress,
            |pipe| {
                let mut root = Tree::default();
                for (path, name) in &named {
                    let prev = parent_tree.as_ref().and_then(|t| t.get(&name.0));
                    root.nodes.push(pipe.entry(path, name.clone(), prev)?);
                }
                pipe.add_tree(root)
            },
            |tree, summary| Snapshot {
                version: 1,
                time,
                hostname: options.hostname.clone().unwrap_or_else(hostname),
                paths: named.iter().map(|(p, _)| p.to_string_lossy().into_owned()).collect(),
                tags: options.tags.clone(),
                parent: options.parent,
                source: SnapshotSource::Paths,
                tree,
                summary,
            },
        )
    }

    /// Backs up one byte stream (a database dump, a disk image) as a snapshot holding a single
    /// file named `options.name`, deduplicated against everything in the vault.
    ///
    /// # Errors
    /// [`VaultError::Io`] if the reader fails, storage errors.
    pub fn backup_stream(&self, reader: impl Read, options: &StreamOptions, progress: &dyn Progress) -> Result<BackupSummary> {
        if options.name.is_empty() || options.name.contains('/') {
            return Err(VaultError::InvalidOptions { reason: "stream name must be a plain file name".into() });
        }
        let time = options.time.unwrap_or_else(jiff::Timestamp::now);
        let name = Name(options.name.clone().into_bytes());
        self.run_backup(
            options.threads,
            progress,
            |pipe| {
                let (content, n) = pipe.add_content(reader, Path::new(&options.name))?;
                pipe.summary.files = 1;
                pipe.summary.files_changed = 1;
                pipe.summary.bytes_total = n;
                let mtime_ns = i64::try_from(time.as_nanosecond()).unwrap_or(i64::MAX);
                let node = Node {
                    name,
                    kind: NodeKind::File,
                    mode: 0o600,
                    uid: rustix::process::getuid().as_raw(),
                    gid: rustix::process::getgid().as_raw(),
                    mtime_ns,
                    size: n,
                    device: 0,
                    inode: 0,
                    links: 1,
                    rdev: None,
                    target: None,
                    xattrs: Vec::new(),
                    content: Some(content),
                    subtree: None,
                };
                pipe.add_tree(Tree { nodes: vec![node] })
            },
            |tree, summary| Snapshot {
                version: 1,
                time,
                hostname: options.hostname.clone().unwrap_or_else(hostname),
                paths: vec![options.name.clone()],
                tags: options.tags.clone(),
                parent: None,
                source: SnapshotSource::Stream { name: options.name.clone() },
                tree,
                summary,
            },
        )
    }
}
