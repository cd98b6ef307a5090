//! Backup of directory trees and byte streams.
//!
//! Pipeline, with bounded memory:
//!
//! ```text
//! caller thread: walk, stat, xattrs → trees ──(bounded channel: changed files)──┐
//!                                                                               ▼
//! 2–3 reader threads:          read → FastCDC → keyed BLAKE3 → dedup ──(bounded channel)──┐
//!                                                                                         ▼
//! N worker threads:                                      zstd → AEAD → own pack writer → storage (fsync)
//! ```
//!
//! Reader threads each take a whole file, so several cold reads overlap with each other and
//! with chunking and hashing; a file's chunk list is in file order because one reader makes it.
//! The walker keeps every directory whose files are still being read pending (nodes already in
//! name order) and encodes its tree once its files and subdirectories are done, so trees do not
//! depend on thread timing. The dedup set is behind a mutex: of two readers that find the same
//! chunk at once, one queues it. Compression and encryption (the expensive half) run on the
//! workers. Each worker owns a pack, so packs are filled and written without contention. At most
//! the two channel capacities (files, chunks), one chunker buffer per reader and one pack per
//! worker are in memory at a time, plus the pending directories (each has a file in flight
//! below it or is on the walker's path).
//!
//! Durability order: every pack is written atomically and durably by its worker; the index
//! file naming them is written after all workers have finished; the snapshot manifest after
//! the index. A crash at any point leaves only unreferenced packs (garbage for prune).
//!
//! Cooperative stop (`stop` in the options, set by another thread): a tree backup stops
//! listing entries and drops the files no reader has started; files being read are finished,
//! so every file in the result is whole. Readers claim files in queue order under one lock,
//! so the files read are a prefix of the files queued in walk order. What was read is then
//! written in the normal order and the manifest is marked `partial`. A stream cannot be cut
//! short meaningfully: a stopped stream backup fails with [`VaultError::Stopped`] and writes
//! no manifest (its packs are garbage for prune, as after a crash).

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Set by another thread to stop early: what was read so far becomes a snapshot marked
    /// partial (see the module docs; [`BackupSummary::stopped`]).
    pub stop: Option<Arc<AtomicBool>>,
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
    /// Set by another thread to abandon the backup: it fails with [`VaultError::Stopped`]
    /// and writes no snapshot (half a stream is not a usable recovery point).
    pub stop: Option<Arc<AtomicBool>>,
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
    /// The backup was stopped and the snapshot holds only part of the source (recorded as
    /// `partial` in the manifest).
    pub stopped: bool,
}

struct Job {
    kind: BlobKind,
    id: BlobId,
    data: Vec<u8>,
}

/// The half of the pipeline shared by the walking thread and the readers: dedup set, job
/// queue and the counters they update.
struct Shared<'a> {
    vault: &'a Vault,
    index: &'a Index,
    /// Blobs queued by this backup. The insert decides, under the lock, which of two readers
    /// that found the same chunk at once queues it: the blob is stored once.
    sent: Mutex<HashSet<BlobId>>,
    jobs: Sender<Job>,
    failed: &'a AtomicBool,
    progress: &'a dyn Progress,
    blobs_added: AtomicU64,
    bytes_added_raw: AtomicU64,
    /// The caller's stop flag.
    stop: Option<&'a AtomicBool>,
    /// Which queued files may still be read once the stop flag is seen.
    claims: Mutex<Claims>,
}

/// Reader bookkeeping that keeps the files read a prefix of the queue after a stop.
#[derive(Default)]
struct Claims {
    /// A reader has seen the stop flag: files queued after `next` are dropped.
    stopped: bool,
    /// One past the highest sequence number a reader has started.
    next: u64,
}

impl Shared<'_> {
    fn stop_requested(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Whether the reader that dequeued file `seq` may read it. Before the stop every file is
    /// claimed; after it only files queued before one already started (whose reader may have
    /// been slow to check), so the files read stay a prefix of the queue.
    fn claim(&self, seq: u64) -> bool {
        let mut c = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if !c.stopped && self.stop_requested() {
            c.stopped = true;
        }
        if c.stopped {
            return seq < c.next;
        }
        c.next = c.next.max(seq + 1);
        true
    }

    /// Queues a blob unless the vault or this backup already has it; returns its id.
    fn add_blob(&self, kind: BlobKind, data: Vec<u8>) -> Result<BlobId> {
        let id = self.vault.crypto.blob_id(&data);
        if self.index.contains(&id) || !self.sent.lock().unwrap_or_else(PoisonError::into_inner).insert(id) {
            return Ok(id);
        }
        self.blobs_added.fetch_add(1, Ordering::Relaxed);
        self.bytes_added_raw.fetch_add(data.len() as u64, Ordering::Relaxed);
        if self.failed.load(Ordering::Relaxed) || self.jobs.send(Job { kind, id, data }).is_err() {
            return Err(VaultError::Internal { reason: "pack writers stopped".into() });
        }
        Ok(id)
    }

    /// Chunks a reader into data blobs; returns the content list and the bytes read. With
    /// `stop`, fails with [`VaultError::Stopped`] as soon as the flag is seen.
    fn add_content(&self, reader: impl Read, path: &Path, stop: Option<&AtomicBool>) -> Result<(Vec<ChunkId>, u64)> {
        let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
        if stopped() {
            return Err(VaultError::Stopped);
        }
        let mut ids = Vec::new();
        let mut n = 0u64;
        for chunk in Chunker::new(reader, self.vault.config.chunker, self.vault.crypto.chunker_seed()) {
            if stopped() {
                return Err(VaultError::Stopped);
            }
            let chunk = chunk.map_err(|e| VaultError::io("read", path, e))?;
            let len = chunk.len() as u64;
            n += len;
            ids.push(self.add_blob(BlobKind::Data, chunk)?.as_chunk());
            self.progress.advance(len);
        }
        Ok((ids, n))
    }

    /// Reads, chunks and hashes one regular file of (stat) size `size`.
    fn add_file(&self, path: &Path, size: u64) -> Result<(Vec<ChunkId>, u64)> {
        self.progress.item(&path.to_string_lossy());
        let mut f = File::open(path).map_err(|e| VaultError::io("open", path, e))?;
        let min = self.vault.config.chunker.min_size;
        if size >= u64::from(min) {
            return self.add_content(f, path, None);
        }
        // FastCDC never cuts below min_size, so a small file is one chunk: read it directly
        // and skip the chunker's buffer.
        let mut data = Vec::with_capacity(size as usize + 1);
        f.read_to_end(&mut data).map_err(|e| VaultError::io("read", path, e))?;
        if data.len() >= min as usize {
            return self.add_content(&data[..], path, None);
        }
        let n = data.len() as u64;
        self.progress.advance(n);
        let ids = if data.is_empty() { Vec::new() } else { vec![self.add_blob(BlobKind::Data, data)?.as_chunk()] };
        Ok((ids, n))
    }
}

/// A file for a reader thread: its content goes to node `node` of pending directory `dir`.
struct ReadTask {
    path: PathBuf,
    size: u64,
    dir: u64,
    node: usize,
    /// Queue position, for [`Shared::claim`].
    seq: u64,
}

struct ReadDone {
    dir: u64,
    node: usize,
    /// Content and bytes read; `None` for a file dropped because of a stop.
    result: Result<Option<(Vec<ChunkId>, u64)>>,
}

/// Reader thread: reads, chunks and hashes whole files, one at a time, in any order.
fn reader(shared: &Shared<'_>, tasks: &Receiver<ReadTask>, done: &Sender<ReadDone>) {
    for t in tasks {
        let result = if shared.claim(t.seq) { shared.add_file(&t.path, t.size).map(Some) } else { Ok(None) };
        if done.send(ReadDone { dir: t.dir, node: t.node, result }).is_err() {
            return;
        }
    }
}

/// A directory listed by the walker whose tree cannot be encoded yet: some of its files are
/// still being read, or some of its subdirectories are still pending.
struct PendingDir {
    /// Nodes in name order; `None` for entries skipped after a read error.
    nodes: Vec<Option<Node>>,
    /// Files and subdirectories not finished yet.
    outstanding: usize,
    /// Every entry has been listed (no more nodes will be added).
    listed: bool,
    /// Where the tree id goes: node of the parent directory; `None` for the snapshot root.
    up: Option<(u64, usize)>,
}

/// The walking thread's half of the pipeline.
///
/// The walker stats entries and builds trees in name order; it hands changed files to reader
/// threads. A directory's tree is encoded once all its files are read and its subdirectories
/// encoded, so every tree is the same whatever order the readers finish in. Pending
/// directories are bounded: each has a file in flight (at most the task queue plus one per
/// reader) below it, or is on the walker's current path.
struct Pipeline<'a, 's> {
    shared: &'s Shared<'a>,
    tasks: Sender<ReadTask>,
    results: Receiver<ReadDone>,
    pending: HashMap<u64, PendingDir>,
    next_dir: u64,
    in_flight: usize,
    root: Option<TreeId>,
    summary: SnapshotSummary,
    /// Sequence number of the next queued file.
    next_seq: u64,
    /// Something was left out because of the stop flag.
    stopped: bool,
}

impl Pipeline<'_, '_> {
    /// Chunks a reader into data blobs on this thread; returns the content list and bytes read.
    /// Honours the stop flag between chunks ([`VaultError::Stopped`]).
    fn add_content(&mut self, reader: impl Read, path: &Path) -> Result<(Vec<ChunkId>, u64)> {
        let (ids, n) = self.shared.add_content(reader, path, self.shared.stop)?;
        self.summary.bytes_read += n;
        Ok((ids, n))
    }

    fn add_tree(&self, mut tree: Tree) -> Result<TreeId> {
        let bytes = tree.encode();
        Ok(self.shared.add_blob(BlobKind::Tree, bytes)?.as_tree())
    }

    /// Starts a pending directory whose tree id goes to `up` (see [`PendingDir::up`]).
    fn open_dir(&mut self, up: Option<(u64, usize)>) -> u64 {
        let id = self.next_dir;
        self.next_dir += 1;
        self.pending.insert(id, PendingDir { nodes: Vec::new(), outstanding: 0, listed: false, up });
        id
    }

    fn pending_dir(&mut self, dir: u64) -> Result<&mut PendingDir> {
        self.pending
            .get_mut(&dir)
            .ok_or_else(|| VaultError::Internal { reason: "backup lost a pending directory".into() })
    }

    /// Marks a directory fully listed, and encodes it (and any parent that becomes complete).
    fn close_dir(&mut self, dir: u64) -> Result<()> {
        self.pending_dir(dir)?.listed = true;
        self.settle(dir)
    }

    /// Encodes `dir` if it is complete, then walks up while parents become complete.
    fn settle(&mut self, mut dir: u64) -> Result<()> {
        loop {
            let d = self.pending_dir(dir)?;
            if !d.listed || d.outstanding > 0 {
                return Ok(());
            }
            let d = self.pending.remove(&dir).expect("checked above");
            let id = self.add_tree(Tree { nodes: d.nodes.into_iter().flatten().collect() })?;
            let Some((parent, slot)) = d.up else {
                self.root = Some(id);
                return Ok(());
            };
            let p = self.pending_dir(parent)?;
            if let Some(node) = p.nodes[slot].as_mut() {
                node.subtree = Some(id);
            }
            p.outstanding -= 1;
            dir = parent;
        }
    }

    /// Applies one read result. Read errors below the snapshot root skip the file; a given path
    /// (a root entry) that cannot be read fails the backup.
    fn finish_read(&mut self, r: ReadDone) -> Result<()> {
        self.in_flight -= 1;
        let is_root = self.pending_dir(r.dir)?.up.is_none();
        match r.result {
            Ok(None) => {
                // Dropped by the stop: the file is not in the snapshot.
                self.stopped = true;
                let d = self.pending_dir(r.dir)?;
                if let Some(node) = d.nodes[r.node].take() {
                    self.summary.files -= 1;
                    self.summary.bytes_total -= node.size;
                }
            }
            Ok(Some((content, n))) => {
                self.summary.bytes_read += n;
                self.summary.files_changed += 1;
                let d = self.pending_dir(r.dir)?;
                if let Some(node) = d.nodes[r.node].as_mut() {
                    // The file may have grown or shrunk while being read: record what was read.
                    node.size = n;
                    node.content = Some(content);
                }
            }
            Err(e @ VaultError::Io { .. }) if is_root => return Err(e),
            Err(VaultError::Io { op, path, source }) => {
                tracing::warn!(path = %path.display(), op, error = %source, "skipping entry");
                self.summary.errors += 1;
                self.pending_dir(r.dir)?.nodes[r.node] = None;
            }
            Err(e) => return Err(e),
        }
        self.pending_dir(r.dir)?.outstanding -= 1;
        self.settle(r.dir)
    }

    /// Applies the reader results that are ready, without waiting.
    fn drain(&mut self) -> Result<()> {
        while let Ok(r) = self.results.try_recv() {
            self.finish_read(r)?;
        }
        Ok(())
    }

    /// Waits for every file in flight.
    fn wait_all(&mut self) -> Result<()> {
        while self.in_flight > 0 {
            let r = self
                .results
                .recv()
                .map_err(|_| VaultError::Internal { reason: "backup readers stopped".into() })?;
            self.finish_read(r)?;
        }
        Ok(())
    }

    /// Has `path` (a file at node `node` of `dir`) read, chunked and hashed by a reader. A
    /// given path (an entry of the snapshot root) is read on this thread, so that its read
    /// error fails the backup right here rather than surfacing inside an unrelated directory.
    fn read_file(&mut self, path: &Path, size: u64, dir: u64, node: usize) -> Result<()> {
        let d = self.pending_dir(dir)?;
        d.outstanding += 1;
        let is_root = d.up.is_none();
        self.in_flight += 1;
        if is_root {
            let result = self.shared.add_file(path, size).map(Some);
            return self.finish_read(ReadDone { dir, node, result });
        }
        self.drain()?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let task = ReadTask { path: path.to_owned(), size, dir, node, seq };
        self.tasks.send(task).map_err(|_| VaultError::Internal { reason: "backup readers stopped".into() })
    }

    /// Backs up one file-system entry at `path` named `name` as the next node of pending
    /// directory `dir`; `parent` is the same entry in the parent snapshot, if any.
    fn entry(&mut self, path: &Path, name: Name, parent: Option<&Node>, dir: u64) -> Result<()> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| VaultError::io("stat", path, e))?;
        let mut node = Node::from_metadata(name, &meta);
        node.xattrs = read_xattrs(path);
        let slot = self.pending_dir(dir)?.nodes.len();
        match node.kind {
            NodeKind::Dir => {
                let names = list_dir(path)?;
                self.summary.dirs += 1;
                let parent_tree = match parent {
                    Some(Node { kind: NodeKind::Dir, subtree: Some(t), .. }) => self.shared.vault.load_tree(*t).ok(),
                    _ => None,
                };
                let d = self.pending_dir(dir)?;
                d.nodes.push(Some(node));
                d.outstanding += 1;
                let sub = self.open_dir(Some((dir, slot)));
                self.dir(path, names, parent_tree.as_ref(), sub)?;
            }
            NodeKind::File => {
                self.summary.files += 1;
                self.summary.bytes_total += node.size;
                match parent {
                    Some(p) if node.unchanged_since(p) && self.all_indexed(p) => {
                        node.content.clone_from(&p.content);
                        self.summary.files_unchanged += 1;
                        self.shared.progress.advance(node.size);
                        self.pending_dir(dir)?.nodes.push(Some(node));
                    }
                    _ => {
                        let size = node.size;
                        self.pending_dir(dir)?.nodes.push(Some(node));
                        self.read_file(path, size, dir, slot)?;
                    }
                }
            }
            NodeKind::Symlink => {
                self.summary.others += 1;
                let target = std::fs::read_link(path).map_err(|e| VaultError::io("read link", path, e))?;
                node.target = Some(Name::from_os(target.as_os_str()));
                self.pending_dir(dir)?.nodes.push(Some(node));
            }
            _ => {
                self.summary.others += 1;
                self.pending_dir(dir)?.nodes.push(Some(node));
            }
        }
        Ok(())
    }

    /// Whether the walk must end here because of the stop flag (remembered as stopped).
    fn stop_walk(&mut self) -> bool {
        if self.shared.stop_requested() {
            self.stopped = true;
        }
        self.stopped
    }

    /// A parent's content can only be reused if every chunk is still indexed.
    fn all_indexed(&self, parent: &Node) -> bool {
        parent.content.as_ref().is_some_and(|c| c.iter().all(|id| self.shared.index.contains(&(*id).into())))
    }

    /// Walks the (sorted) entries `names` of directory `path` into pending directory `dir`.
    fn dir(&mut self, path: &Path, names: Vec<OsString>, parent: Option<&Tree>, dir: u64) -> Result<()> {
        for name in names {
            if self.stop_walk() {
                break;
            }
            let child = path.join(&name);
            let prev = parent.and_then(|t| t.get(name.as_bytes()));
            match self.entry(&child, Name::from_os(&name), prev, dir) {
                Ok(()) => {}
                // Entries that vanish or cannot be read are skipped, as restic and tar do;
                // failures of the vault itself abort.
                Err(VaultError::Io { op, path, source }) => {
                    tracing::warn!(path = %path.display(), op, error = %source, "skipping entry");
                    self.summary.errors += 1;
                }
                Err(e) => return Err(e),
            }
        }
        self.close_dir(dir)
    }
}

/// The entries of a directory, sorted by name bytes.
fn list_dir(path: &Path) -> Result<Vec<OsString>> {
    let mut names: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| VaultError::io("list", path, e))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| VaultError::io("list", path, e))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
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
    /// `manifest` gets whether the stop flag cut the backup short.
    fn run_backup(
        &self,
        threads: Option<usize>,
        stop: Option<&AtomicBool>,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut Pipeline<'_, '_>) -> Result<TreeId>,
        manifest: impl FnOnce(TreeId, SnapshotSummary, bool) -> Snapshot,
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
        let readers = threads.clamp(2, 3);
        let (root, mut summary, stopped, packs) = std::thread::scope(|s| {
            let (job_tx, job_rx) = crossbeam_channel::bounded::<Job>(threads * 2);
            let (done_tx, done_rx) = crossbeam_channel::unbounded();
            for _ in 0..threads {
                let (rx, tx, failed, stored) = (job_rx.clone(), done_tx.clone(), &failed, &stored);
                s.spawn(move || worker(self, &rx, &tx, failed, stored));
            }
            drop((job_rx, done_tx));
            let shared = Shared {
                vault: self,
                index: &index,
                sent: Mutex::new(HashSet::new()),
                jobs: job_tx,
                failed: &failed,
                progress,
                blobs_added: AtomicU64::new(0),
                bytes_added_raw: AtomicU64::new(0),
                stop,
                claims: Mutex::new(Claims::default()),
            };
            // Readers end (with this inner scope) before `shared` drops the job queue.
            let (root, mut summary, stopped) = std::thread::scope(|rs| {
                let (task_tx, task_rx) = crossbeam_channel::bounded::<ReadTask>(readers * 4);
                let (res_tx, res_rx) = crossbeam_channel::unbounded();
                for _ in 0..readers {
                    let (rx, tx, shared) = (task_rx.clone(), res_tx.clone(), &shared);
                    rs.spawn(move || reader(shared, &rx, &tx));
                }
                drop((task_rx, res_tx));
                let mut pipe = Pipeline {
                    shared: &shared,
                    tasks: task_tx,
                    results: res_rx,
                    pending: HashMap::new(),
                    next_dir: 0,
                    in_flight: 0,
                    root: None,
                    summary: SnapshotSummary::default(),
                    next_seq: 0,
                    stopped: false,
                };
                let root = produce(&mut pipe);
                // Closing both queues stops the readers, also after an error with files in flight.
                let Pipeline { summary, stopped, .. } = pipe;
                (root, summary, stopped)
            });
            summary.blobs_added = shared.blobs_added.load(Ordering::Relaxed);
            summary.bytes_added_raw = shared.bytes_added_raw.load(Ordering::Relaxed);
            drop(shared); // workers flush their last pack and exit
            let packs: Vec<Result<(PackId, Vec<PackBlob>)>> = done_rx.iter().collect();
            (root, summary, stopped, packs)
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
        let snap = manifest(root, summary.clone(), stopped);
        lock.ensure_valid()?;
        let snapshot_id = snapshot::write(self.storage.as_ref(), &self.crypto, &snap)?;
        progress.finish(Phase::Backup);
        tracing::info!(snapshot = %snapshot_id, files = summary.files, bytes_read = summary.bytes_read,
            bytes_added = summary.bytes_added, stopped, "backup done");
        Ok(BackupSummary {
            snapshot_id,
            files: summary.files,
            bytes_read: summary.bytes_read,
            bytes_added: summary.bytes_added,
            duration: start.elapsed(),
            details: summary,
            stopped,
        })
    }

    /// Backs up directory trees (or single files) into a new recovery point. Each path
    /// becomes an entry of the snapshot's root tree named by its last component. When
    /// `options.stop` is set meanwhile, the snapshot holds what was read so far and is marked
    /// partial ([`BackupSummary::stopped`]).
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
            options.stop.as_deref(),
            progress,
            |pipe| {
                let root = pipe.open_dir(None);
                for (path, name) in &named {
                    if pipe.stop_walk() {
                        break;
                    }
                    let prev = parent_tree.as_ref().and_then(|t| t.get(&name.0));
                    pipe.entry(path, name.clone(), prev, root)?;
                }
                pipe.close_dir(root)?;
                pipe.wait_all()?;
                pipe.root.ok_or_else(|| VaultError::Internal { reason: "backup left a directory pending".into() })
            },
            |tree, summary, stopped| Snapshot {
                version: 1,
                time,
                hostname: options.hostname.clone().unwrap_or_else(hostname),
                paths: named.iter().map(|(p, _)| p.to_string_lossy().into_owned()).collect(),
                tags: options.tags.clone(),
                parent: options.parent,
                source: SnapshotSource::Paths,
                tree,
                summary,
                partial: stopped,
            },
        )
    }

    /// Backs up one byte stream (a database dump, a disk image) as a snapshot holding a single
    /// file named `options.name`, deduplicated against everything in the vault.
    ///
    /// # Errors
    /// [`VaultError::Io`] if the reader fails, [`VaultError::Stopped`] if `options.stop` was
    /// set before the stream ended, storage errors.
    pub fn backup_stream(&self, reader: impl Read, options: &StreamOptions, progress: &dyn Progress) -> Result<BackupSummary> {
        if options.name.is_empty() || options.name.contains('/') {
            return Err(VaultError::InvalidOptions { reason: "stream name must be a plain file name".into() });
        }
        let time = options.time.unwrap_or_else(jiff::Timestamp::now);
        let name = Name(options.name.clone().into_bytes());
        self.run_backup(
            options.threads,
            options.stop.as_deref(),
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
            |tree, summary, _| Snapshot {
                version: 1,
                time,
                hostname: options.hostname.clone().unwrap_or_else(hostname),
                paths: vec![options.name.clone()],
                tags: options.tags.clone(),
                parent: None,
                source: SnapshotSource::Stream { name: options.name.clone() },
                tree,
                summary,
                partial: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use bunker_testkit::noise;

    use super::*;
    use crate::{ChunkerParams, FileKek, InitOptions, MemoryStorage, NoProgress};

    /// Every blob reachable from `tree`, trees included.
    fn reachable(vault: &Vault, tree: TreeId, out: &mut HashSet<BlobId>) {
        out.insert(tree.into());
        for node in vault.load_tree(tree).unwrap().nodes {
            out.extend(node.content.iter().flatten().map(|c| BlobId::from(*c)));
            if let Some(sub) = node.subtree {
                reachable(vault, sub, out);
            }
        }
    }

    /// Readers finish files in any order, yet trees are the same for every thread count, and
    /// chunks found by two readers at once are stored once.
    #[test]
    fn trees_are_deterministic_and_blobs_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("data");
        for d in 0..6u64 {
            let sub = src.join(format!("d{d}/e{}", d % 2));
            fs::create_dir_all(&sub).unwrap();
            for f in 0..25u64 {
                // The same contents in every directory: concurrent duplicates.
                let size = if f % 5 == 0 { 300_000 + f as usize * 1000 } else { 2_000 + f as usize * 700 };
                fs::write(sub.join(format!("f{f:02}")), noise(size, f)).unwrap();
            }
            fs::write(src.join(format!("d{d}/own")), noise(100_000, 100 + d)).unwrap();
        }
        fs::write(src.join("empty"), b"").unwrap();
        let unreadable = src.join("d3/unreadable");
        fs::write(&unreadable, b"no access").unwrap();
        fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();
        let can_deny = File::open(&unreadable).is_err(); // not as root

        let kek = FileKek::generate(dir.path().join("key")).unwrap();
        let options = InitOptions {
            chunker: ChunkerParams { min_size: 16 * 1024, avg_size: 64 * 1024, max_size: 256 * 1024 },
            pack_size: 1024 * 1024,
            ..InitOptions::default()
        };
        let vault = Vault::init(Arc::new(MemoryStorage::default()), &kek, options).unwrap();
        let first = vault.backup(&[&src], &BackupOptions { threads: Some(2), ..Default::default() }, &NoProgress).unwrap();
        let tree = vault.snapshot(first.snapshot_id).unwrap().tree;
        let mut blobs = HashSet::new();
        reachable(&vault, tree, &mut blobs);
        assert_eq!(first.details.blobs_added, blobs.len() as u64, "every blob queued exactly once");
        assert_eq!(first.details.errors, u64::from(can_deny));
        assert_eq!(first.files, 6 * 26 + 2);
        assert_eq!(first.details.files_changed, first.files - u64::from(can_deny));

        for threads in [1, 3, 4, 2] {
            let again = vault.backup(&[&src], &BackupOptions { threads: Some(threads), ..Default::default() }, &NoProgress).unwrap();
            assert_eq!(vault.snapshot(again.snapshot_id).unwrap().tree, tree, "threads {threads}");
            assert_eq!(again.details.blobs_added, 0);
            assert_eq!(again.bytes_read, first.bytes_read);
            let parent = BackupOptions { threads: Some(threads), parent: Some(first.snapshot_id), ..Default::default() };
            let incremental = vault.backup(&[&src], &parent, &NoProgress).unwrap();
            assert_eq!(vault.snapshot(incremental.snapshot_id).unwrap().tree, tree, "incremental, threads {threads}");
        }
    }
}
