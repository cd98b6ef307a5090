//! Cooperative stop: a flag set by another thread (here: the progress sink, after some bytes)
//! turns a tree backup into a partial snapshot of whole files, and abandons a stream backup.

mod support;
use support::{noise, options};

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bunker_vault::{
    BackupOptions, CheckOptions, FileKek, MemoryStorage, NoProgress, Progress, RestoreOptions, Snapshot, StreamOptions,
    Vault, VaultError,
};

const FILES: usize = 40;
const FILE_SIZE: usize = 100_000;

/// Sets `stop` once `after` bytes have been reported.
struct StopAfter {
    after: u64,
    seen: AtomicU64,
    stop: Arc<AtomicBool>,
}

impl StopAfter {
    fn new(after: u64) -> Self {
        Self { after, seen: AtomicU64::new(0), stop: Arc::new(AtomicBool::new(false)) }
    }
}

impl Progress for StopAfter {
    fn advance(&self, bytes: u64) {
        if self.seen.fetch_add(bytes, Ordering::Relaxed) + bytes >= self.after {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn setup() -> (tempfile::TempDir, Vault, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data");
    fs::create_dir(&src).unwrap();
    for i in 0..FILES {
        fs::write(src.join(format!("f{i:02}")), noise(FILE_SIZE, i as u64)).unwrap();
    }
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let vault = Vault::init(Arc::new(MemoryStorage::default()), &kek, options()).unwrap();
    (dir, vault, src)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

#[test]
fn stopped_tree_backup_keeps_a_restorable_prefix_of_whole_files() {
    let (dir, vault, src) = setup();
    let progress = StopAfter::new(10 * FILE_SIZE as u64);
    let opts = BackupOptions { threads: Some(2), stop: Some(progress.stop.clone()), ..Default::default() };
    let summary = vault.backup(&[&src], &opts, &progress).unwrap();
    assert!(summary.stopped);
    assert!(vault.snapshot(summary.snapshot_id).unwrap().partial);
    let kept = summary.files as usize;
    assert!((10..FILES).contains(&kept), "kept {kept} of {FILES} files");
    assert_eq!(summary.details.bytes_total, (kept * FILE_SIZE) as u64);

    let target = dir.path().join("restored");
    vault.restore(summary.snapshot_id, &RestoreOptions::new(&target), &NoProgress).unwrap();
    let restored = names(&target.join("data"));
    let prefix: Vec<String> = (0..kept).map(|i| format!("f{i:02}")).collect();
    assert_eq!(restored, prefix, "the files kept are the first ones in walk order");
    for name in &restored {
        assert_eq!(fs::read(target.join("data").join(name)).unwrap(), fs::read(src.join(name)).unwrap(), "{name}");
    }
    let report = vault.check(&CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);

    // The next backup, incremental against the partial one, completes it.
    let next = BackupOptions { parent: Some(summary.snapshot_id), threads: Some(2), ..Default::default() };
    let full = vault.backup(&[&src], &next, &NoProgress).unwrap();
    assert!(!full.stopped && !vault.snapshot(full.snapshot_id).unwrap().partial);
    assert_eq!(full.files as usize, FILES);
    assert_eq!(full.details.files_unchanged as usize, kept);
}

#[test]
fn stopped_stream_backup_fails_and_records_nothing() {
    let (_dir, vault, _src) = setup();
    let data = noise(4 * 1024 * 1024, 7);
    let progress = StopAfter::new(1024 * 1024);
    let opts = StreamOptions { name: "image".into(), stop: Some(progress.stop.clone()), ..Default::default() };
    let err = vault.backup_stream(&data[..], &opts, &progress).unwrap_err();
    assert!(matches!(err, VaultError::Stopped), "{err}");
    assert!(vault.snapshots().unwrap().is_empty());
    // The packs written before the stop are unreferenced: harmless, not damage.
    assert!(vault.check(&CheckOptions::default(), &NoProgress).unwrap().is_ok());
}

#[test]
fn a_flag_never_set_changes_nothing() {
    let (_dir, vault, src) = setup();
    let flag = Arc::new(AtomicBool::new(false));
    let with = BackupOptions { threads: Some(2), stop: Some(flag.clone()), ..Default::default() };
    let a = vault.backup(&[&src], &with, &NoProgress).unwrap();
    let b = vault.backup(&[&src], &BackupOptions { threads: Some(2), ..Default::default() }, &NoProgress).unwrap();
    assert!(!a.stopped && !b.stopped);
    let (sa, sb) = (vault.snapshot(a.snapshot_id).unwrap(), vault.snapshot(b.snapshot_id).unwrap());
    assert_eq!(sa.tree, sb.tree);
    assert!(!sa.partial);
    assert_eq!(a.files as usize, FILES);

    let data = noise(2 * 1024 * 1024, 8);
    let opts = StreamOptions { name: "s".into(), stop: Some(flag), ..Default::default() };
    let s = vault.backup_stream(&data[..], &opts, &NoProgress).unwrap();
    assert!(!s.stopped);
    let mut out = Vec::new();
    vault.restore_stream(s.snapshot_id, &mut out).unwrap();
    assert_eq!(out, data);
}

#[test]
fn manifests_without_the_partial_field_still_parse() {
    let (_dir, vault, src) = setup();
    let s = vault.backup(&[&src], &BackupOptions::default(), &NoProgress).unwrap();
    let snap = vault.snapshot(s.snapshot_id).unwrap();
    let json = serde_json::to_value(&snap).unwrap();
    assert!(json.get("partial").is_none(), "complete snapshots do not write the field");
    let back: Snapshot = serde_json::from_value(json).unwrap();
    assert!(!back.partial);
    let mut partial = snap.clone();
    partial.partial = true;
    let json = serde_json::to_value(&partial).unwrap();
    assert_eq!(json["partial"], serde_json::Value::Bool(true));
}
