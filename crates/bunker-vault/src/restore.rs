//! Restore of a whole snapshot or a sub-path into a directory, and of a stream to a writer.
//!
//! Plan, then apply, pack by pack:
//!
//! 1. Walk the trees below the requested path, creating directories, symlinks and special
//!    files. A regular file that already exists in the target is truncated now, so no stale
//!    byte survives; files in freshly created directories are left to the workers (saving
//!    four system calls per file on the single planning thread). Paths sharing a source
//!    (device, inode) are restored once and hard-linked.
//! 2. Group every needed blob by pack and restore packs in parallel: one range read per
//!    pack, each blob decrypted and verified once and written at every offset that uses it.
//!    All-zero chunks are skipped, leaving holes: sparse files stay sparse.
//! 3. On the same threads, each file is opened once more (created if no chunk needed
//!    writing), set to its final size (trailing holes) and given its metadata: ownership
//!    (when running as root), mode, xattrs, mtime. Links, symlinks and special files follow,
//!    directories last and deepest first, so writing children does not disturb their
//!    mtimes.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::blob;
use crate::chunker::is_zero;
use crate::error::{Result, VaultError};
use crate::id::{BlobId, PackId, SnapshotId};
use crate::index::IndexEntry;
use crate::progress::{Phase, Progress};
use crate::storage::ObjectKey;
use crate::tree::{Node, NodeKind};
use crate::vault::Vault;

/// Inputs of a restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Directory to restore into (created if missing). Entries land at
    /// `target/<path inside the snapshot>`.
    pub target: PathBuf,
    /// Restore only this path inside the snapshot (`/`-separated, e.g. `src/lib`).
    pub include: Option<String>,
    /// Worker threads; default: available cores.
    pub threads: Option<usize>,
    /// Restore owners (uid/gid); only effective when running as root. Default true.
    pub owners: bool,
}

impl RestoreOptions {
    /// Restore everything into `target`.
    pub fn new(target: impl Into<PathBuf>) -> Self {
        Self { target: target.into(), include: None, threads: None, owners: true }
    }

    /// Restore only `path` inside the snapshot.
    #[must_use]
    pub fn include(mut self, path: impl Into<String>) -> Self {
        self.include = Some(path.into());
        self
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// Regular files written (hard links counted once).
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symlinks, links and special files created.
    pub others: u64,
    /// Logical bytes of restored files.
    pub bytes: u64,
    /// Bytes actually written (all-zero chunks are holes).
    pub bytes_written: u64,
    /// Wall time.
    pub duration: Duration,
}

/// A blob to restore: where it is and every (file index, offset) it goes to.
type BlobWork = (BlobId, IndexEntry, Vec<(usize, u64)>);

struct FileTask {
    path: PathBuf,
    node: Node,
}

#[derive(Default)]
struct Plan {
    dirs: Vec<(PathBuf, Node)>,
    files: Vec<FileTask>,
    /// (path to create, existing path with the same source inode)
    links: Vec<(PathBuf, PathBuf)>,
    /// symlinks and special files, for their metadata
    others: Vec<(PathBuf, Node)>,
    first_link: HashMap<(u64, u64), PathBuf>,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> VaultError + 'a {
    move |e| VaultError::io(op, path, e)
}

impl Vault {
    /// Restores a snapshot (or the part below `options.include`) into `options.target`.
    ///
    /// # Errors
    /// [`VaultError::PathNotInSnapshot`], [`VaultError::BlobMissing`] or
    /// [`VaultError::CorruptBlob`] for damaged data, [`VaultError::Io`] for the target.
    pub fn restore(&self, snapshot: SnapshotId, options: &RestoreOptions, progress: &dyn Progress) -> Result<RestoreSummary> {
        let start = Instant::now();
        let snap = self.snapshot(snapshot)?;
        fs::create_dir_all(&options.target).map_err(io("create", &options.target))?;
        let mut plan = Plan::default();
        // Find the node to restore, remembering its path inside the snapshot.
        match options.include.as_deref().map(|p| p.trim_matches('/')).filter(|p| !p.is_empty()) {
            None => {
                let root = self.load_tree(snap.tree)?;
                for node in root.nodes {
                    self.plan_node(&options.target, node, &mut plan, false)?;
                }
            }
            Some(sub) => {
                let mut tree = self.load_tree(snap.tree)?;
                let parts: Vec<&str> = sub.split('/').filter(|p| !p.is_empty()).collect();
                let missing = || VaultError::PathNotInSnapshot { snapshot, path: sub.to_owned() };
                let mut dir = options.target.clone();
                for (i, part) in parts.iter().enumerate() {
                    let node = tree.get(part.as_bytes()).cloned().ok_or_else(missing)?;
                    if i + 1 == parts.len() {
                        self.plan_node(&dir, node, &mut plan, false)?;
                    } else {
                        let Some(sub_id) = node.subtree.filter(|_| node.kind == NodeKind::Dir) else {
                            return Err(missing());
                        };
                        dir.push(part);
                        fs::create_dir_all(&dir).map_err(io("create", &dir))?;
                        tree = self.load_tree(sub_id)?;
                    }
                }
            }
        }
        let bytes: u64 = plan.files.iter().map(|f| f.node.size).sum();
        progress.start(Phase::Restore, Some(bytes));
        let as_root = options.owners && rustix::process::geteuid().is_root();
        let written = self.write_contents(&plan.files, options.threads, as_root, progress)?;
        for (path, existing) in &plan.links {
            let _ = fs::remove_file(path);
            fs::hard_link(existing, path).map_err(io("link", path))?;
        }
        for (path, node) in &plan.others {
            apply_metadata(path, node, as_root)?;
        }
        for (path, node) in plan.dirs.iter().rev() {
            apply_metadata(path, node, as_root)?;
        }
        progress.finish(Phase::Restore);
        Ok(RestoreSummary {
            files: plan.files.len() as u64,
            dirs: plan.dirs.len() as u64,
            others: (plan.others.len() + plan.links.len()) as u64,
            bytes,
            bytes_written: written,
            duration: start.elapsed(),
        })
    }

    /// Creates `node` inside `dir` (recursively for directories) and records what to fill.
    /// `fresh_dir`: `dir` was created by this restore, so nothing in it needs replacing.
    fn plan_node(&self, dir: &Path, node: Node, plan: &mut Plan, fresh_dir: bool) -> Result<()> {
        if node.name.0.is_empty() || node.name.0 == b"." || node.name.0 == b".." || node.name.0.contains(&b'/') {
            // A damaged or hostile tree must not write outside the target.
            return Err(VaultError::CorruptBlob {
                id: BlobId::from_bytes([0; 32]),
                reason: format!("unsafe entry name `{}`", node.name.to_string_lossy()),
            });
        }
        let path = dir.join(node.name.as_os());
        match node.kind {
            NodeKind::Dir => {
                let fresh = match fs::create_dir(&path) {
                    Ok(()) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => false,
                    Err(e) => return Err(VaultError::io("create", &path, e)),
                };
                if let Some(sub) = node.subtree {
                    for child in self.load_tree(sub)?.nodes {
                        self.plan_node(&path, child, plan, fresh)?;
                    }
                }
                plan.dirs.push((path, node));
            }
            NodeKind::File => {
                if node.links > 1 {
                    let key = (node.device, node.inode);
                    if let Some(first) = plan.first_link.get(&key) {
                        plan.links.push((path, first.clone()));
                        return Ok(());
                    }
                    plan.first_link.insert(key, path.clone());
                }
                if !fresh_dir {
                    // Replace whatever is there (a file, a symlink) by an empty file.
                    let _ = fs::remove_file(&path);
                    OpenOptions::new().write(true).create_new(true).open(&path).map_err(io("create", &path))?;
                }
                plan.files.push(FileTask { path, node });
            }
            NodeKind::Symlink => {
                let target = node.target.clone().unwrap_or(crate::tree::Name(Vec::new()));
                let _ = fs::remove_file(&path);
                std::os::unix::fs::symlink(target.as_os(), &path).map_err(io("symlink", &path))?;
                plan.others.push((path, node));
            }
            NodeKind::Fifo | NodeKind::CharDevice | NodeKind::BlockDevice => {
                let ft = match node.kind {
                    NodeKind::Fifo => rustix::fs::FileType::Fifo,
                    NodeKind::CharDevice => rustix::fs::FileType::CharacterDevice,
                    _ => rustix::fs::FileType::BlockDevice,
                };
                let _ = fs::remove_file(&path);
                let mode = rustix::fs::Mode::from_raw_mode(node.mode);
                match rustix::fs::mknodat(rustix::fs::CWD, &path, ft, mode, node.rdev.unwrap_or(0)) {
                    Ok(()) => plan.others.push((path, node)),
                    // Devices need root; skip them like tar does for unprivileged users.
                    Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot create special file"),
                }
            }
            NodeKind::Socket => {}
        }
        Ok(())
    }

    /// Writes all file contents, pack by pack, on worker threads; returns bytes written.
    fn write_contents(&self, files: &[FileTask], threads: Option<usize>, as_root: bool, progress: &dyn Progress) -> Result<u64> {
        // blob → every (file, offset) using it; grouped by pack.
        let mut by_pack: HashMap<PackId, HashMap<BlobId, BlobWork>> = HashMap::new();
        {
            let index = self.index();
            for (fi, f) in files.iter().enumerate() {
                let mut offset = 0u64;
                for chunk in f.node.content.iter().flatten() {
                    let id: BlobId = (*chunk).into();
                    let e = index.get(&id).ok_or(VaultError::BlobMissing { id })?;
                    by_pack.entry(e.pack).or_default().entry(id).or_insert((id, e, Vec::new())).2.push((fi, offset));
                    offset += u64::from(e.raw_length);
                }
            }
        }
        let mut work: Vec<(PackId, Vec<BlobWork>)> = by_pack
            .into_iter()
            .map(|(p, blobs)| {
                let mut v: Vec<BlobWork> = blobs.into_values().collect();
                v.sort_by_key(|(_, e, _)| e.offset);
                (p, v)
            })
            .collect();
        work.sort_by_key(|(p, _)| *p);
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
            .clamp(1, 64);
        let next = AtomicUsize::new(0);
        let next_file = AtomicUsize::new(0);
        let packs_done = AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let written = AtomicU64::new(0);
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| -> Result<()> {
                        loop {
                            if failed.load(Ordering::Relaxed) {
                                return Ok(());
                            }
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some((pack, blobs)) = work.get(i) else { break };
                            let _done = CountOnDrop(&packs_done);
                            if let Err(e) = self.restore_pack(*pack, blobs, files, &written, progress) {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                        // Metadata only once every chunk of every file is written (a later
                        // write would move the mtime back).
                        while packs_done.load(Ordering::Acquire) < work.len() {
                            if failed.load(Ordering::Relaxed) {
                                return Ok(());
                            }
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        const BATCH: usize = 64;
                        loop {
                            let i = next_file.fetch_add(BATCH, Ordering::Relaxed);
                            let Some(batch) = files.get(i..(i + BATCH).min(files.len())) else { return Ok(()) };
                            for f in batch {
                                finish_file(f, as_root)?;
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(VaultError::Internal { reason: "restore worker panicked".into() })))
                .collect()
        });
        results.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(written.load(Ordering::Relaxed))
    }

    fn restore_pack(
        &self,
        pack: PackId,
        blobs: &[BlobWork],
        files: &[FileTask],
        written: &AtomicU64,
        progress: &dyn Progress,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (blobs.first(), blobs.last()) else { return Ok(()) };
        let start = u64::from(first.1.offset);
        let end = u64::from(last.1.offset) + u64::from(last.1.length);
        let span = self.storage.read_range(&ObjectKey::Pack(pack), start, end - start)?;
        for (id, e, targets) in blobs {
            let lo = (u64::from(e.offset) - start) as usize;
            let sealed = span.get(lo..lo + e.length as usize).ok_or(VaultError::CorruptBlob {
                id: *id,
                reason: "outside its pack".into(),
            })?;
            let data = blob::open(&self.crypto, *id, e.raw_length, sealed)?;
            let zero = is_zero(&data);
            for (fi, offset) in targets {
                let path = &files[*fi].path;
                if !zero {
                    let f = OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(io("open", path))?;
                    f.write_all_at(&data, *offset).map_err(io("write", path))?;
                    written.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
                progress.advance(data.len() as u64);
            }
        }
        Ok(())
    }

    /// Writes the single file of a stream snapshot (or any snapshot's first file) to `out`.
    ///
    /// # Errors
    /// [`VaultError::PathNotInSnapshot`] if the snapshot holds no file at its root, blob or
    /// I/O errors.
    pub fn restore_stream(&self, snapshot: SnapshotId, out: &mut dyn Write) -> Result<u64> {
        let snap = self.snapshot(snapshot)?;
        let root = self.load_tree(snap.tree)?;
        let node = root
            .nodes
            .iter()
            .find(|n| n.kind == NodeKind::File)
            .ok_or_else(|| VaultError::PathNotInSnapshot { snapshot, path: "<stream>".into() })?;
        let mut n = 0u64;
        let name = PathBuf::from(node.name.as_os());
        for chunk in node.content.iter().flatten() {
            let data = self.read_blob((*chunk).into())?;
            out.write_all(&data).map_err(io("write", &name))?;
            n += data.len() as u64;
        }
        out.flush().map_err(io("write", &name))?;
        Ok(n)
    }
}

/// Counts a finished pack even when its worker fails or panics, so no peer waits forever.
struct CountOnDrop<'a>(&'a AtomicUsize);

impl Drop for CountOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// Creates a regular file if no chunk created it, sets its final size and its metadata,
/// all through one descriptor.
fn finish_file(f: &FileTask, as_root: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use xattr::FileExt as _;
    let (path, node) = (&f.path, &f.node);
    let file = OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(io("open", path))?;
    file.set_len(node.size).map_err(io("resize", path))?;
    if as_root {
        std::os::unix::fs::fchown(&file, Some(node.uid), Some(node.gid)).map_err(io("chown", path))?;
    }
    file.set_permissions(fs::Permissions::from_mode(node.mode)).map_err(io("chmod", path))?;
    for x in &node.xattrs {
        if let Ok(value) = hex::decode(&x.value)
            && let Err(e) = file.set_xattr(x.name.as_os(), &value)
        {
            tracing::debug!(path = %path.display(), error = %e, "cannot restore xattr");
        }
    }
    rustix::fs::futimens(&file, &timestamps(node)).map_err(|e| VaultError::io("set times", path, e.into()))?;
    Ok(())
}

fn timestamps(node: &Node) -> rustix::fs::Timestamps {
    use rustix::fs::{Timespec, Timestamps, UTIME_OMIT};
    let mtime = Timespec { tv_sec: node.mtime_ns.div_euclid(1_000_000_000), tv_nsec: node.mtime_ns.rem_euclid(1_000_000_000) };
    Timestamps { last_access: Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT }, last_modification: mtime }
}

/// Restores ownership, mode, xattrs and mtime of one entry (not following symlinks).
fn apply_metadata(path: &Path, node: &Node, as_root: bool) -> Result<()> {
    use rustix::fs::{AtFlags, CWD};
    if as_root {
        std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid)).map_err(io("chown", path))?;
    }
    if node.kind != NodeKind::Symlink {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(node.mode)).map_err(io("chmod", path))?;
    }
    for x in &node.xattrs {
        if let Ok(value) = hex::decode(&x.value)
            && let Err(e) = xattr::set(path, x.name.as_os(), &value)
        {
            tracing::debug!(path = %path.display(), error = %e, "cannot restore xattr");
        }
    }
    rustix::fs::utimensat(CWD, path, &timestamps(node), AtFlags::SYMLINK_NOFOLLOW).map_err(|e| VaultError::io("set times", path, e.into()))?;
    Ok(())
}
