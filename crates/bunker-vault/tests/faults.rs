//! Storage that fails part-way through a backup: a full disk, or a failure at any single
//! write. The backup must fail with a clear error, and the vault must stay consistent:
//! `check --read-data` passes and every earlier recovery point restores byte-identically.

mod support;
use support::{options, noise};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bunker_vault::storage::{ObjectInfo, ObjectKey, ObjectKind};
use bunker_vault::{
    BackupOptions, CheckOptions, FileKek, LocalStorage, NoProgress, RestoreOptions, Storage, Vault,
    VaultError,
};

/// Local storage that refuses writes once `budget` bytes are spent (ENOSPC), or refuses
/// exactly the `fail_at`-th write of a pack, index or snapshot.
#[derive(Debug)]
struct Faulty {
    inner: LocalStorage,
    budget: AtomicU64,
    writes: AtomicUsize,
    fail_at: Option<usize>,
}

impl Faulty {
    fn full_after(inner: LocalStorage, budget: u64) -> Self {
        Self { inner, budget: AtomicU64::new(budget), writes: AtomicUsize::new(0), fail_at: None }
    }
    fn failing_write(inner: LocalStorage, n: usize) -> Self {
        Self { inner, budget: AtomicU64::new(u64::MAX), writes: AtomicUsize::new(0), fail_at: Some(n) }
    }
}

fn enospc(key: &ObjectKey) -> VaultError {
    VaultError::Storage { op: "write", key: *key, retryable: false, source: std::io::Error::from_raw_os_error(28) }
}

impl Storage for Faulty {
    fn list(&self, kind: ObjectKind) -> bunker_vault::Result<Vec<ObjectInfo>> {
        self.inner.list(kind)
    }
    fn read(&self, key: &ObjectKey) -> bunker_vault::Result<Vec<u8>> {
        self.inner.read(key)
    }
    fn read_range(&self, key: &ObjectKey, offset: u64, len: u64) -> bunker_vault::Result<Vec<u8>> {
        self.inner.read_range(key, offset, len)
    }
    fn write(&self, key: &ObjectKey, data: &[u8]) -> bunker_vault::Result<()> {
        // Only the objects a backup adds count; lock objects come and go beside them.
        if !matches!(key, ObjectKey::Lock(_)) {
            let n = self.writes.fetch_add(1, Ordering::SeqCst);
            if self.fail_at == Some(n) {
                return Err(enospc(key));
            }
        }
        let len = data.len() as u64;
        if self.budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(len)).is_err() {
            return Err(enospc(key));
        }
        self.inner.write(key, data)
    }
    fn delete(&self, key: &ObjectKey) -> bunker_vault::Result<()> {
        self.inner.delete(key)
    }
    fn exists(&self, key: &ObjectKey) -> bunker_vault::Result<bool> {
        self.inner.exists(key)
    }
}

fn tree(dir: &Path, seed: u64, files: usize) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..files {
        let sub = if i % 2 == 0 { "" } else { "sub/" };
        std::fs::write(dir.join(format!("{sub}f{i}")), noise(100_000 + i * 7_919, seed + i as u64)).unwrap();
    }
}

/// Asserts that the vault is consistent and its only snapshot restores as `src`.
fn assert_consistent(storage: Arc<dyn Storage>, kek: &FileKek, src: &Path, scratch: &Path) {
    let vault = Vault::open(storage, kek).unwrap();
    let report = vault.check(&CheckOptions { read_data: true, threads: None }, &NoProgress).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let snaps = vault.snapshots().unwrap();
    assert_eq!(snaps.len(), 1, "the failed backup left no snapshot");
    let target = scratch.join(format!("restore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&target);
    vault.restore(snaps[0].0, &RestoreOptions::new(&target), &NoProgress).unwrap();
    let base = target.join(src.file_name().unwrap());
    for entry in walk(src) {
        let rel = entry.strip_prefix(src).unwrap();
        assert_eq!(std::fs::read(&entry).unwrap(), std::fs::read(base.join(rel)).unwrap(), "{}", rel.display());
    }
    std::fs::remove_dir_all(&target).unwrap();
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn full_disk_fails_the_backup_clearly_and_keeps_the_vault_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    tree(&first, 1, 6);
    tree(&second, 100, 30);
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let repo = dir.path().join("vault");
    let vault = Vault::init(Arc::new(LocalStorage::new(&repo)), &kek, options()).unwrap();
    vault.backup(std::slice::from_ref(&first), &BackupOptions::default(), &NoProgress).unwrap();

    // About 1 MiB left: the second backup (3+ MiB of new data) runs out part-way.
    let full: Arc<dyn Storage> = Arc::new(Faulty::full_after(LocalStorage::new(&repo), 1 << 20));
    let vault = Vault::open(full, &kek).unwrap();
    let err = vault.backup(std::slice::from_ref(&second), &BackupOptions::default(), &NoProgress).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("No space left on device"), "{text}");
    assert!(!err.is_retryable());

    assert_consistent(Arc::new(LocalStorage::new(&repo)), &kek, &first, dir.path());
    // Space is back: the next backup works.
    let vault = Vault::open(Arc::new(LocalStorage::new(&repo)), &kek).unwrap();
    vault.backup(&[second], &BackupOptions::default(), &NoProgress).unwrap();
    assert!(vault.check(&CheckOptions { read_data: true, threads: None }, &NoProgress).unwrap().is_ok());
}

#[test]
fn a_failure_at_any_write_leaves_the_vault_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    tree(&first, 1, 4);
    tree(&second, 50, 30);
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let template = dir.path().join("template");
    let vault = Vault::init(Arc::new(LocalStorage::new(&template)), &kek, options()).unwrap();
    vault.backup(std::slice::from_ref(&first), &BackupOptions::default(), &NoProgress).unwrap();

    // Count the writes a successful second backup makes, then fail each one in turn.
    let probe_repo = dir.path().join("probe");
    copy_dir(&template, &probe_repo);
    let probe = Arc::new(Faulty::failing_write(LocalStorage::new(&probe_repo), usize::MAX));
    Vault::open(probe.clone(), &kek).unwrap().backup(std::slice::from_ref(&second), &BackupOptions::default(), &NoProgress).unwrap();
    let writes = probe.writes.load(Ordering::SeqCst);
    assert!(writes >= 5, "the second backup writes several objects ({writes})");

    let mut fired = 0;
    for n in 0..writes {
        let repo = dir.path().join(format!("repo-{n}"));
        copy_dir(&template, &repo);
        let faulty = Arc::new(Faulty::failing_write(LocalStorage::new(&repo), n));
        let storage: Arc<dyn Storage> = faulty.clone();
        let result = Vault::open(storage, &kek).unwrap().backup(std::slice::from_ref(&second), &BackupOptions::default(), &NoProgress);
        // Parallel readers fill packs in a varying order, so a run may need one write fewer
        // than the probe did and never reach write `n`; then it must simply have succeeded.
        if faulty.writes.load(Ordering::SeqCst) > n {
            fired += 1;
            assert!(result.is_err(), "write {n} of {writes} failed, so must the backup");
            assert_consistent(Arc::new(LocalStorage::new(&repo)), &kek, &first, dir.path());
        } else {
            result.unwrap();
        }
        std::fs::remove_dir_all(&repo).unwrap();
    }
    assert!(fired + 1 >= writes, "the failure hit nearly every write ({fired} of {writes})");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() { copy_dir(&e.path(), &dest) } else { std::fs::copy(e.path(), dest).unwrap(); }
    }
}
