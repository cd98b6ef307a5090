//! Vault objects as files under a directory.
//!
//! Writes go to a temporary file in the target directory, are fsynced, renamed into place
//! and the directory is fsynced, so an object is either absent or complete and durable,
//! even across power loss. Temporary files start with `.tmp-` and are never listed.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{ObjectInfo, ObjectKey, ObjectKind, Storage};
use crate::error::{Result, VaultError};

/// A vault in a local directory.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Storage rooted at `root` (created on first write if absent).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The vault's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding `key`.
    pub fn path_of(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.path())
    }

    fn err(op: &'static str, key: &ObjectKey, source: std::io::Error) -> VaultError {
        if source.kind() == ErrorKind::NotFound {
            return VaultError::NotFound { key: *key };
        }
        let retryable = matches!(
            source.kind(),
            ErrorKind::Interrupted | ErrorKind::TimedOut | ErrorKind::WouldBlock
        );
        VaultError::Storage { op, key: *key, retryable, source }
    }

    /// Creates `dir` and its missing parents, fsyncing each parent that gained an entry.
    fn ensure_dir(dir: &Path) -> std::io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            Self::ensure_dir(parent)?;
        }
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => return Err(e),
        }
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().ok_or_else(|| std::io::Error::other("object path has no parent"))?;
        Self::ensure_dir(dir)?;
        let tmp = dir.join(format!(
            ".tmp-{}",
            hex::encode(crate::crypto::random_array::<8>())
        ));
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, path)?;
            sync_dir(dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Storage for LocalStorage {
    fn list(&self, kind: ObjectKind) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        if kind == ObjectKind::Config {
            match fs::metadata(self.root.join("config")) {
                Ok(m) => out.push(ObjectInfo { key: ObjectKey::Config, size: m.len() }),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Self::err("list", &ObjectKey::Config, e)),
            }
            return Ok(out);
        }
        let dir = self.root.join(kind.dir());
        let mut dirs = vec![dir];
        let mut i = 0;
        while i < dirs.len() {
            let d = dirs[i].clone();
            i += 1;
            let entries = match fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(VaultError::io("list", d, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| VaultError::io("list", &d, e))?;
                let ft = entry.file_type().map_err(|e| VaultError::io("list", entry.path(), e))?;
                if ft.is_dir() && kind == ObjectKind::Pack && i == 1 {
                    dirs.push(entry.path());
                    continue;
                }
                let name = entry.file_name();
                let Some(key) = name.to_str().and_then(|n| ObjectKey::from_name(kind, n)) else {
                    continue; // temporary files and strangers
                };
                let size = match entry.metadata() {
                    Ok(m) => m.len(),
                    // Deleted between the listing and the stat (a released lock): not there.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(VaultError::io("stat", entry.path(), e)),
                };
                out.push(ObjectInfo { key, size });
            }
        }
        Ok(out)
    }

    fn read(&self, key: &ObjectKey) -> Result<Vec<u8>> {
        fs::read(self.path_of(key)).map_err(|e| Self::err("read", key, e))
    }

    fn read_range(&self, key: &ObjectKey, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut f = File::open(self.path_of(key)).map_err(|e| Self::err("read", key, e))?;
        f.seek(SeekFrom::Start(offset)).map_err(|e| Self::err("read", key, e))?;
        let len = usize::try_from(len).map_err(|_| Self::err("read", key, ErrorKind::InvalidInput.into()))?;
        let mut buf = vec![0; len];
        f.read_exact(&mut buf).map_err(|e| Self::err("read range", key, e))?;
        Ok(buf)
    }

    fn write(&self, key: &ObjectKey, data: &[u8]) -> Result<()> {
        Self::write_file(&self.path_of(key), data).map_err(|e| Self::err("write", key, e))
    }

    fn delete(&self, key: &ObjectKey) -> Result<()> {
        match fs::remove_file(self.path_of(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Self::err("delete", key, e)),
        }
    }

    fn exists(&self, key: &ObjectKey) -> Result<bool> {
        match fs::symlink_metadata(self.path_of(key)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::err("stat", key, e)),
        }
    }

    fn remove_incomplete(&self) -> Result<u64> {
        // Lock objects are written by acquirers at any time, even while an exclusive lock is
        // held, so a temporary file under `locks/` is only garbage once it is old: no write
        // takes minutes.
        const LOCK_TMP_AGE: std::time::Duration = std::time::Duration::from_secs(600);
        let locks = self.root.join(ObjectKind::Lock.dir());
        let mut freed = 0;
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(VaultError::io("list", dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| VaultError::io("list", &dir, e))?;
                let ft = entry.file_type().map_err(|e| VaultError::io("list", entry.path(), e))?;
                if ft.is_dir() {
                    dirs.push(entry.path());
                    continue;
                }
                if !entry.file_name().as_encoded_bytes().starts_with(b".tmp-") {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue }; // gone meanwhile
                let age = meta.modified().ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
                if dir == locks && age < LOCK_TMP_AGE {
                    continue;
                }
                match fs::remove_file(entry.path()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(VaultError::io("remove", entry.path(), e)),
                }
                tracing::info!(file = %entry.path().display(), size = meta.len(), "removed an interrupted write");
                freed += meta.len();
            }
        }
        Ok(freed)
    }
}
