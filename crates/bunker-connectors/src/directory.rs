//! Directory trees: the vault's tree backup, incremental against the previous recovery point.
//!
//! The snapshot holds one directory node named by the source's base name. A restore makes
//! `target` hold what the source held, whatever `target` is called: a new target is built in a
//! temporary directory next to it and renamed into place (so a failed restore leaves no
//! half-written target); an existing empty directory (a mount point, say) is filled in place;
//! the original directory itself (same base name) is restored in place, overwriting the files
//! the snapshot has and leaving others alone.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use bunker_vault::{BackupOptions, NodeKind, Progress, RestoreOptions, SnapshotId, Vault};

use crate::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Result, Source};

fn path_of(source: &Source) -> Result<&Path> {
    match source {
        Source::Directory { path } if path.is_absolute() => Ok(path),
        Source::Directory { .. } => Err(ConnectorError::InvalidSource { reason: "Path must be absolute".into() }),
        other => Err(ConnectorError::InvalidSource { reason: format!("not a directory: {}", other.describe()) }),
    }
}

pub(crate) fn backup(source: &Source, request: &BackupRequest<'_>) -> Result<BackupOutcome> {
    let path = path_of(source)?;
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(ConnectorError::InvalidSource { reason: format!("{} is not a directory", path.display()) }),
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(ConnectorError::SourceMissing { path: path.to_owned() }),
        Err(e) => return Err(ConnectorError::io("stat", path, e)),
    }
    if request.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Err(ConnectorError::Stopped);
    }
    let options = BackupOptions {
        parent: request.parent,
        tags: request.tags.clone(),
        time: Some(request.time),
        stop: request.stop.clone(),
        ..BackupOptions::default()
    };
    let summary = request.vault.backup(&[path], &options, request.progress)?;
    if summary.stopped && summary.details.dirs == 0 {
        // Stopped before the directory itself was listed: nothing worth a recovery point.
        request.vault.forget(&[summary.snapshot_id])?;
        return Err(ConnectorError::Stopped);
    }
    Ok(BackupOutcome {
        snapshot: summary.snapshot_id,
        bytes_read: summary.bytes_read,
        bytes_added: summary.bytes_added,
        size: summary.details.bytes_total,
        partial: summary.stopped,
    })
}

pub(crate) fn restore(vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> Result<RestoreOutcome> {
    let target = path_of(target)?;
    let name = root_dir_name(vault, snapshot)?;
    let parent = target
        .parent()
        .ok_or_else(|| ConnectorError::InvalidSource { reason: "cannot restore over the root directory".into() })?;
    let bytes = match fs::symlink_metadata(target) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(parent).map_err(|e| ConnectorError::io("create", parent, e))?;
            let staging = staging_dir(parent)?;
            let restored = vault.restore(snapshot, &RestoreOptions::new(staging.path()).include(&name), progress)?;
            rename(&staging.path().join(&name), target)?;
            restored.bytes
        }
        Err(e) => return Err(ConnectorError::io("stat", target, e)),
        Ok(m) if m.is_dir() && target.file_name().is_some_and(|n| n == Path::new(&name).as_os_str()) => {
            // In place: the vault restores `<parent>/<name>`, which is the target.
            vault.restore(snapshot, &RestoreOptions::new(parent).include(&name), progress)?.bytes
        }
        Ok(m) if m.is_dir() && is_empty_dir(target)? => fill_empty_dir(vault, snapshot, &name, target, progress)?,
        Ok(_) => return Err(ConnectorError::TargetExists { target: target.display().to_string() }),
    };
    Ok(RestoreOutcome { bytes, location: target.display().to_string() })
}

/// The name of the one directory a directory recovery point holds.
fn root_dir_name(vault: &Vault, snapshot: SnapshotId) -> Result<String> {
    let snap = vault.snapshot(snapshot)?;
    let root = vault.load_tree(snap.tree)?;
    let wrong = |reason: String| ConnectorError::WrongShape { snapshot: snapshot.to_string(), expected: "Directory", reason };
    match root.nodes.as_slice() {
        [node] if node.kind == NodeKind::Dir => {
            String::from_utf8(node.name.0.clone()).map_err(|_| wrong("the directory name is not UTF-8".into()))
        }
        nodes => Err(wrong(format!("expected one directory at its root, found {} entries", nodes.len()))),
    }
}

/// A temporary directory in `parent` (same file system as the target, so renames work).
fn staging_dir(parent: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".bunker-restore-")
        .tempdir_in(parent)
        .map_err(|e| ConnectorError::io("create temporary directory in", parent, e))
}

fn is_empty_dir(path: &Path) -> Result<bool> {
    let mut entries = fs::read_dir(path).map_err(|e| ConnectorError::io("list", path, e))?;
    Ok(entries.next().is_none())
}

/// Restores into an existing empty directory (possibly a mount point, so no rename over it):
/// builds the tree in a temporary directory inside it, moves the entries up, and gives the
/// directory the snapshot's mode and modification time.
fn fill_empty_dir(vault: &Vault, snapshot: SnapshotId, name: &str, target: &Path, progress: &dyn Progress) -> Result<u64> {
    let staging = staging_dir(target)?;
    let restored = vault.restore(snapshot, &RestoreOptions::new(staging.path()).include(name), progress)?;
    let built: PathBuf = staging.path().join(name);
    // Read before the moves below change it.
    let meta = fs::metadata(&built).map_err(|e| ConnectorError::io("stat", &built, e))?;
    for entry in fs::read_dir(&built).map_err(|e| ConnectorError::io("list", &built, e))? {
        let entry = entry.map_err(|e| ConnectorError::io("list", &built, e))?;
        rename(&entry.path(), &target.join(entry.file_name()))?;
    }
    drop(staging);
    fs::set_permissions(target, meta.permissions()).map_err(|e| ConnectorError::io("chmod", target, e))?;
    let mtime = meta.modified().map_err(|e| ConnectorError::io("stat", &built, e))?;
    let dir = fs::File::open(target).map_err(|e| ConnectorError::io("open", target, e))?;
    dir.set_modified(mtime).map_err(|e| ConnectorError::io("set times", target, e))?;
    Ok(restored.bytes)
}

/// Renames `from` to `to`. Moving a directory to another parent rewrites its `..` entry, which
/// needs write permission on it: a read-only directory gets it for the move only.
fn rename(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let moved = |e| ConnectorError::io("move into place", to, e);
    match fs::rename(from, to) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            let meta = fs::symlink_metadata(from).map_err(|e| ConnectorError::io("stat", from, e))?;
            if !meta.is_dir() || meta.permissions().mode() & 0o200 != 0 {
                return Err(moved(e));
            }
            let mode = meta.permissions().mode();
            fs::set_permissions(from, fs::Permissions::from_mode(mode | 0o200)).map_err(|e| ConnectorError::io("chmod", from, e))?;
            fs::rename(from, to).map_err(moved)?;
            fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(|e| ConnectorError::io("chmod", to, e))
        }
        other => other.map_err(moved),
    }
}
