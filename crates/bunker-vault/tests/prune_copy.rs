//! Forget, prune (alone and racing a backup) and copy between vaults with different keys.

mod support;
use support::{options, noise};

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use std::sync::{Arc, Mutex};

use bunker_vault::storage::ObjectInfo;
use bunker_vault::{
    BackupOptions, CheckOptions, FileKek, LocalStorage, NoProgress, ObjectKey, ObjectKind,
    PackAction, PruneOptions, RestoreOptions, SnapshotId, Storage, Vault, VaultError,
};

/// What a tree holds: relative path → (mode, file bytes or link target; dirs empty).
type Contents = BTreeMap<PathBuf, (u32, Vec<u8>)>;

fn contents(root: &Path) -> Contents {
    fn walk(root: &Path, dir: &Path, out: &mut Contents) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let mode = m.permissions().mode() & 0o7777;
            if m.is_dir() {
                out.insert(rel, (mode, Vec::new()));
                walk(root, &p, out);
            } else if m.is_symlink() {
                out.insert(rel, (0, fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()));
            } else {
                out.insert(rel, (mode, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Contents::new();
    walk(root, root, &mut out);
    out
}

fn assert_restores(vault: &Vault, id: SnapshotId, expected: &Contents, scratch: &Path) {
    let target = scratch.join(format!("restore-{}", id.short()));
    vault.restore(id, &RestoreOptions::new(&target), &NoProgress).unwrap();
    let got = contents(&target.join("data"));
    assert_eq!(got.len(), expected.len(), "snapshot {id:?}: entries differ");
    for (path, want) in expected {
        assert!(got.get(path) == Some(want), "snapshot {id:?}: `{}` differs", path.display());
    }
    fs::remove_dir_all(&target).unwrap();
}

fn assert_check_passes(vault: &Vault) {
    let report = vault.check(&CheckOptions { read_data: true, threads: Some(2) }, &NoProgress).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(report.affected_snapshots.is_empty());
}

fn pack_bytes(storage: &dyn Storage) -> u64 {
    storage.list(ObjectKind::Pack).unwrap().iter().map(|i| i.size).sum()
}

/// Every object with a hash of its bytes.
fn everything(storage: &dyn Storage) -> BTreeMap<String, [u8; 32]> {
    let kinds = [ObjectKind::Config, ObjectKind::Key, ObjectKind::Pack, ObjectKind::Index, ObjectKind::Snapshot, ObjectKind::Lock];
    kinds
        .iter()
        .flat_map(|k| storage.list(*k).unwrap())
        .map(|i| (i.key.path(), *blake3::hash(&storage.read(&i.key).unwrap()).as_bytes()))
        .collect()
}

fn backup(vault: &Vault, src: &Path, parent: Option<SnapshotId>) -> bunker_vault::BackupSummary {
    let opts = BackupOptions { parent, threads: Some(2), ..BackupOptions::default() };
    vault.backup(&[src], &opts, &NoProgress).unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    src: PathBuf,
    kek: FileKek,
    storage: Arc<LocalStorage>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let src = root.join("data");
    fs::create_dir_all(src.join("shared")).unwrap();
    let kek = FileKek::generate(root.join("key")).unwrap();
    let storage = Arc::new(LocalStorage::new(root.join("vault")));
    Vault::init(storage.clone(), &kek, options()).unwrap();
    Setup { _dir: dir, root, src, kek, storage }
}

fn write_files(dir: &Path, prefix: &str, count: u64, size: usize, seed: u64) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        fs::write(dir.join(format!("{prefix}{i:02}.bin")), noise(size, seed * 1000 + i)).unwrap();
    }
}

#[test]
fn forget_and_prune_free_space_and_keep_the_rest() {
    let s = setup();
    let vault = Vault::open(s.storage.clone(), &s.kek).unwrap();
    write_files(&s.src.join("shared"), "s", 8, 100_000, 1);
    write_files(&s.src.join("gone"), "a", 12, 100_000, 2);
    std::os::unix::fs::symlink("shared/s00.bin", s.src.join("link")).unwrap();
    let first = backup(&vault, &s.src, None);
    fs::remove_dir_all(s.src.join("gone")).unwrap();
    write_files(&s.src.join("new"), "b", 6, 100_000, 3);
    let second = backup(&vault, &s.src, Some(first.snapshot_id));
    let expected_second = contents(&s.src);
    fs::write(s.src.join("shared/s03.bin"), noise(120_000, 77)).unwrap();
    let third = backup(&vault, &s.src, Some(second.snapshot_id));
    let expected_third = contents(&s.src);

    // A mistyped id forgets nothing.
    let bogus: SnapshotId = "ab".repeat(32).parse().unwrap();
    assert!(matches!(vault.forget(&[first.snapshot_id, bogus]), Err(VaultError::SnapshotRef { .. })));
    assert_eq!(vault.snapshots().unwrap().len(), 3);

    let before = pack_bytes(s.storage.as_ref());
    let objects_before = everything(s.storage.as_ref());
    assert_eq!(vault.forget(&[first.snapshot_id, first.snapshot_id]).unwrap(), vec![first.snapshot_id]);
    // Forget deletes the manifest and nothing else.
    let objects_after_forget = everything(s.storage.as_ref());
    let removed: Vec<_> = objects_before.keys().filter(|k| !objects_after_forget.contains_key(*k)).collect();
    assert_eq!(removed, vec![&format!("snapshots/{}", first.snapshot_id)]);

    let dry = vault.prune(&PruneOptions { dry_run: true, ..PruneOptions::default() }).unwrap();
    assert!(!dry.applied && !dry.plan.is_empty());
    assert_eq!(everything(s.storage.as_ref()), objects_after_forget);

    let report = vault.prune(&PruneOptions::default()).unwrap();
    let after = pack_bytes(s.storage.as_ref());
    eprintln!(
        "prune: packs {} → {} bytes, deleted {} repacked {} written {} (blobs repacked {}), freed {} written {}",
        before,
        after,
        report.packs_deleted,
        report.packs_repacked,
        report.packs_written,
        report.blobs_repacked,
        report.bytes_freed,
        report.bytes_written
    );
    assert!(report.applied);
    assert_eq!(report.snapshots, 2);
    assert!(report.packs_deleted + report.packs_repacked > 0);
    // The forgotten snapshot's 1.2 MB of unique data is gone (noise does not compress).
    assert!(after + 1_000_000 < before, "{before} → {after}");
    assert_eq!(s.storage.list(ObjectKind::Index).unwrap().len(), 1);
    assert!(s.storage.list(ObjectKind::Lock).unwrap().is_empty());

    // The handle that pruned and a fresh one both see the same, complete vault.
    let fresh = Vault::open(s.storage.clone(), &s.kek).unwrap();
    for v in [&vault, &fresh] {
        assert_restores(v, second.snapshot_id, &expected_second, &s.root);
        assert_restores(v, third.snapshot_id, &expected_third, &s.root);
        assert_check_passes(v);
    }
    assert!(fresh.check(&CheckOptions::default(), &NoProgress).unwrap().unindexed_packs.is_empty());

    // Forgetting everything and pruning leaves an empty but valid vault.
    fresh.forget(&[second.snapshot_id, third.snapshot_id]).unwrap();
    let report = fresh.prune(&PruneOptions::default()).unwrap();
    assert!(report.new_index.is_none());
    assert_eq!(pack_bytes(s.storage.as_ref()), 0);
    assert_check_passes(&Vault::open(s.storage.clone(), &s.kek).unwrap());
}

#[test]
fn prune_with_nothing_to_do_changes_nothing() {
    let s = setup();
    let vault = Vault::open(s.storage.clone(), &s.kek).unwrap();
    write_files(&s.src.join("shared"), "s", 6, 80_000, 4);
    let first = backup(&vault, &s.src, None);
    fs::write(s.src.join("shared/extra.bin"), noise(50_000, 5)).unwrap();
    backup(&vault, &s.src, Some(first.snapshot_id));
    let before = everything(s.storage.as_ref());
    let report = vault.prune(&PruneOptions { max_unused: 0.0, ..PruneOptions::default() }).unwrap();
    assert!(!report.applied);
    assert!(report.plan.is_empty());
    assert!(report.plan.packs.iter().all(|p| p.action == PackAction::Keep && p.unused_bytes == 0));
    assert_eq!(report.bytes_freed + report.bytes_written, 0);
    assert_eq!(everything(s.storage.as_ref()), before);
}

#[test]
fn backup_racing_prune_loses_nothing() {
    let s = setup();
    // Two handles on the same directory, as two processes would have.
    let writer = Vault::open(Arc::new(LocalStorage::new(s.storage.root())), &s.kek).unwrap();
    let pruner = Vault::open(Arc::new(LocalStorage::new(s.storage.root())), &s.kek).unwrap();
    write_files(&s.src.join("shared"), "s", 4, 60_000, 6);
    let first = backup(&writer, &s.src, None);
    let expected: Mutex<Vec<(SnapshotId, Contents)>> = Mutex::new(vec![(first.snapshot_id, contents(&s.src))]);
    let done = AtomicBool::new(false);
    let prunes = AtomicUsize::new(0);
    let rounds = 8;
    let (prunes_applied, forgotten) = std::thread::scope(|scope| {
        let pruning = scope.spawn(|| {
            let (mut applied, mut forgotten) = (0, Vec::new());
            while !done.load(Ordering::SeqCst) {
                let snaps = pruner.snapshots().unwrap();
                // Forget the oldest while more than two remain: never the writer's parent.
                if snaps.len() > 2 {
                    pruner.forget(&[snaps[0].0]).unwrap();
                    forgotten.push(snaps[0].0);
                }
                let r = pruner.prune(&PruneOptions { max_unused: 0.0, ..PruneOptions::default() }).unwrap();
                applied += usize::from(r.applied);
                prunes.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
            (applied, forgotten)
        });
        // Stops the pruner however this thread ends, so a failed backup fails the test
        // instead of leaving the pruner looping.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let stop = StopOnDrop(&done);
        let mut parent = first.snapshot_id;
        for round in 1..=rounds {
            // Each round drops a batch, adds one and rewrites a shared file.
            let _ = fs::remove_dir_all(s.src.join(format!("batch{}", round - 1)));
            write_files(&s.src.join(format!("batch{round}")), "f", 5, 60_000, 100 + round);
            fs::write(s.src.join("shared/s00.bin"), noise(60_000, 500 + round)).unwrap();
            let seen = prunes.load(Ordering::SeqCst);
            let b = backup(&writer, &s.src, Some(parent));
            expected.lock().unwrap().push((b.snapshot_id, contents(&s.src)));
            parent = b.snapshot_id;
            // Let a prune in between (locks starve it otherwise); the next backup then starts
            // while the following prune is trying to start or running.
            let waiting = Instant::now();
            while prunes.load(Ordering::SeqCst) == seen && waiting.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        drop(stop);
        pruning.join().unwrap()
    });
    eprintln!("race: {rounds} backups, {prunes_applied} prunes applied, {} snapshots forgotten", forgotten.len());
    assert!(prunes_applied > 0, "prune never ran against the backups");
    // One last prune after the race, then everything that remains must be whole.
    pruner.prune(&PruneOptions { max_unused: 0.0, ..PruneOptions::default() }).unwrap();
    let vault = Vault::open(s.storage.clone(), &s.kek).unwrap();
    let remaining: Vec<SnapshotId> = vault.snapshots().unwrap().into_iter().map(|(id, _)| id).collect();
    let expected = expected.into_inner().unwrap();
    assert_eq!(remaining.len() + forgotten.len(), expected.len());
    for (id, want) in &expected {
        if remaining.contains(id) {
            assert_restores(&vault, *id, want, &s.root);
        }
    }
    assert_check_passes(&vault);
    assert!(vault.check(&CheckOptions::default(), &NoProgress).unwrap().unindexed_packs.is_empty());
}

#[test]
fn copy_moves_only_missing_blobs_and_needs_only_the_target_key() {
    let s = setup();
    let source = Vault::open(s.storage.clone(), &s.kek).unwrap();
    let target_kek = FileKek::generate(s.root.join("key2")).unwrap();
    let target_storage = Arc::new(LocalStorage::new(s.root.join("vault2")));
    let target = Vault::init(target_storage.clone(), &target_kek, options()).unwrap();

    // ~4 MB, then ~5 % changed: in-place edits, an append and a new file.
    write_files(&s.src.join("shared"), "s", 40, 100_000, 8);
    fs::write(s.src.join("notes.txt"), "a line of text\n".repeat(5_000)).unwrap();
    let first = backup(&source, &s.src, None);
    let expected_first = contents(&s.src);
    for i in [3u64, 17] {
        let path = s.src.join(format!("shared/s{i:02}.bin"));
        let mut data = fs::read(&path).unwrap();
        data[40_000..50_000].copy_from_slice(&noise(10_000, 900 + i));
        fs::write(&path, data).unwrap();
    }
    let mut notes = fs::read(s.src.join("notes.txt")).unwrap();
    notes.extend_from_slice(&noise(20_000, 901));
    fs::write(s.src.join("notes.txt"), notes).unwrap();
    fs::write(s.src.join("shared/new.bin"), noise(100_000, 902)).unwrap();
    let second = backup(&source, &s.src, Some(first.snapshot_id));
    let expected_second = contents(&s.src);

    let c1 = bunker_vault::copy(&source, first.snapshot_id, &target).unwrap();
    let c2 = source.copy_to(second.snapshot_id, &target).unwrap();
    eprintln!(
        "copy 1: {} of {} blobs, {} bytes written (source backup added {})",
        c1.blobs_written, c1.blobs, c1.bytes_written, first.bytes_added
    );
    eprintln!(
        "copy 2: {} of {} blobs, {} bytes written, {} in packs (source backup added {}: ratio {:.3})",
        c2.blobs_written,
        c2.blobs,
        c2.bytes_written,
        c2.pack_bytes,
        second.bytes_added,
        c2.bytes_written as f64 / second.bytes_added as f64
    );
    assert!(c1.blobs_written > 40 && !c1.already_present);
    assert!(c2.blobs_written < c2.blobs / 4);
    assert!(c2.bytes_written as f64 <= 1.1 * second.bytes_added as f64);

    // Copying again writes nothing and adds no snapshot.
    let objects = everything(target_storage.as_ref());
    for id in [second.snapshot_id, first.snapshot_id] {
        let again = bunker_vault::copy(&source, id, &target).unwrap();
        assert!(again.already_present);
        assert_eq!((again.bytes_written, again.blobs_written, again.packs_written), (0, 0, 0));
    }
    assert_eq!(everything(target_storage.as_ref()), objects);
    assert_eq!(target.snapshots().unwrap().len(), 2);

    // The source and its key are gone; the target opens with its own key alone.
    drop((source, target));
    fs::remove_dir_all(s.storage.root()).unwrap();
    fs::remove_file(s.root.join("key")).unwrap();
    assert!(matches!(Vault::open(target_storage.clone(), &s.kek), Err(VaultError::WrongKey)));
    let target = Vault::open(target_storage, &target_kek).unwrap();
    let copied_second = target.snapshot(c2.snapshot_id).unwrap();
    assert_eq!(copied_second.parent, Some(c1.snapshot_id));
    assert_restores(&target, c1.snapshot_id, &expected_first, &s.root);
    assert_restores(&target, c2.snapshot_id, &expected_second, &s.root);
    assert_check_passes(&target);
}

/// Local storage that stops writing and deleting data after `left` such operations, as if
/// the process died there (lock objects still come and go, so reruns need not wait).
#[derive(Debug)]
struct CrashAfter {
    inner: LocalStorage,
    left: AtomicUsize,
}

impl CrashAfter {
    fn step(&self, key: &ObjectKey) -> bunker_vault::Result<()> {
        if key.kind() == ObjectKind::Lock || self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            Ok(())
        } else {
            Err(VaultError::Internal { reason: format!("simulated crash before touching `{key}`") })
        }
    }
}

impl Storage for CrashAfter {
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
        self.step(key)?;
        self.inner.write(key, data)
    }
    fn delete(&self, key: &ObjectKey) -> bunker_vault::Result<()> {
        self.step(key)?;
        self.inner.delete(key)
    }
    fn exists(&self, key: &ObjectKey) -> bunker_vault::Result<bool> {
        self.inner.exists(key)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn prune_interrupted_at_every_step_keeps_every_snapshot() {
    let s = setup();
    let vault = Vault::open(s.storage.clone(), &s.kek).unwrap();
    write_files(&s.src.join("shared"), "s", 6, 100_000, 11);
    write_files(&s.src.join("gone"), "a", 6, 100_000, 12);
    let first = backup(&vault, &s.src, None);
    fs::remove_dir_all(s.src.join("gone")).unwrap();
    write_files(&s.src.join("new"), "b", 4, 100_000, 13);
    let second = backup(&vault, &s.src, Some(first.snapshot_id));
    let expected = contents(&s.src);
    vault.forget(&[first.snapshot_id]).unwrap();
    drop(vault);
    let options = PruneOptions { max_unused: 0.0, ..PruneOptions::default() };
    let pristine = s.storage.root();
    let mut crashes = 0;
    for budget in 0.. {
        let work = s.root.join(format!("crash-{budget}"));
        copy_dir(pristine, &work);
        let crashing = Arc::new(CrashAfter { inner: LocalStorage::new(&work), left: AtomicUsize::new(budget) });
        let outcome = Vault::open(crashing, &s.kek).unwrap().prune(&options);
        let storage = Arc::new(LocalStorage::new(&work));
        let vault = Vault::open(storage.clone(), &s.kek).unwrap();
        assert_restores(&vault, second.snapshot_id, &expected, &s.root);
        assert_check_passes(&vault);
        if outcome.is_ok() {
            break;
        }
        crashes += 1;
        // A rerun finishes the job.
        let report = vault.prune(&options).unwrap();
        assert!(report.applied, "{report:?}");
        let again = vault.prune(&options).unwrap();
        assert!(again.plan.is_empty(), "{:?}", again.plan);
        assert_check_passes(&Vault::open(storage, &s.kek).unwrap());
        fs::remove_dir_all(&work).unwrap();
    }
    eprintln!("prune interrupted at {crashes} different steps");
    assert!(crashes >= 4);
}
