//! Directory connector against real files: round trips into new, empty and original
//! directories, incremental backups, a stopped (partial) backup, and the error cases.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bunker_connectors::{BackupOutcome, BackupRequest, ConnectorError, Source};
use bunker_testkit::noise;
use bunker_vault::{ChunkerParams, FileKek, InitOptions, LocalStorage, NoProgress, Progress, SnapshotId, Vault};

struct Setup {
    dir: tempfile::TempDir,
    vault: Vault,
    src: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let options = InitOptions {
        chunker: ChunkerParams { min_size: 16 * 1024, avg_size: 64 * 1024, max_size: 256 * 1024 },
        pack_size: 1024 * 1024,
        ..InitOptions::default()
    };
    let vault = Vault::init(Arc::new(LocalStorage::new(dir.path().join("vault"))), &kek, options).unwrap();
    let src = dir.path().join("app-data");
    fs::create_dir_all(src.join("logs/2024")).unwrap();
    fs::create_dir_all(src.join("empty")).unwrap();
    fs::write(src.join("config.toml"), b"[server]\nport = 8080\n").unwrap();
    fs::write(src.join("logs/2024/jan.log"), "line\n".repeat(50_000)).unwrap();
    fs::write(src.join("blob.bin"), noise(700_000, 1)).unwrap();
    fs::write(src.join("run.sh"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(src.join("run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("config.toml", src.join("current")).unwrap();
    Setup { dir, vault, src }
}

fn dir_source(path: &Path) -> Source {
    Source::Directory { path: path.to_owned() }
}

fn backup(s: &Setup, parent: Option<SnapshotId>, stop: Option<Arc<AtomicBool>>, progress: &dyn Progress) -> Result<BackupOutcome, ConnectorError> {
    let request = BackupRequest {
        vault: &s.vault,
        time: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        tags: vec!["job-1".into()],
        parent,
        stop,
        progress,
    };
    bunker_connectors::backup(&dir_source(&s.src), &request)
}

/// Every entry below `root`: type, mode, content or link target, and mtime (files).
fn listing(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let m = fs::symlink_metadata(e.path()).unwrap();
            let what = if m.is_dir() {
                stack.push(r.clone());
                format!("dir {:o} {}", m.mode() & 0o7777, m.mtime())
            } else if m.file_type().is_symlink() {
                format!("link {}", fs::read_link(e.path()).unwrap().display())
            } else {
                let data = fs::read(e.path()).unwrap();
                format!("file {:o} {} {} {}", m.mode() & 0o7777, m.mtime(), data.len(), blake(&data))
            };
            out.insert(r, what);
        }
    }
    out
}

/// A cheap content fingerprint (FNV-1a) so listings stay printable.
fn blake(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[test]
fn round_trip_into_a_new_directory_and_incremental() {
    let s = setup();
    let first = backup(&s, None, None, &NoProgress).unwrap();
    assert!(!first.partial);
    assert_eq!(first.size, 21 + 250_000 + 700_000 + 10);
    assert!(first.bytes_added > 0);

    // Any target name: the target holds what the source held.
    let target = s.dir.path().join("restores/elsewhere");
    let r = bunker_connectors::restore(&s.vault, first.snapshot, &dir_source(&target), &NoProgress).unwrap();
    assert_eq!(r.bytes, first.size);
    assert_eq!(r.location, target.display().to_string());
    assert_eq!(listing(&target), listing(&s.src));
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o7777, fs::metadata(&s.src).unwrap().mode() & 0o7777);
    let leftovers: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("elsewhere")], "no staging directory left behind");

    // Incremental: only the changed file is read again.
    fs::write(s.src.join("config.toml"), b"[server]\nport = 9090\n").unwrap();
    let second = backup(&s, Some(first.snapshot), None, &NoProgress).unwrap();
    assert_eq!(second.bytes_read, 21);
    let target2 = s.dir.path().join("second");
    bunker_connectors::restore(&s.vault, second.snapshot, &dir_source(&target2), &NoProgress).unwrap();
    assert_eq!(listing(&target2), listing(&s.src));
}

#[test]
fn in_place_restore_overwrites_what_the_snapshot_has_and_keeps_the_rest() {
    let s = setup();
    let before = listing(&s.src);
    let point = backup(&s, None, None, &NoProgress).unwrap();
    fs::write(s.src.join("config.toml"), b"damaged").unwrap();
    fs::remove_file(s.src.join("blob.bin")).unwrap();
    fs::remove_dir_all(s.src.join("logs")).unwrap();
    fs::write(s.src.join("new-file"), b"created after the backup").unwrap();

    bunker_connectors::restore(&s.vault, point.snapshot, &dir_source(&s.src), &NoProgress).unwrap();
    let mut after = listing(&s.src);
    assert_eq!(fs::read(s.src.join("new-file")).unwrap(), b"created after the backup");
    after.remove(Path::new("new-file"));
    assert_eq!(after, before);
}

#[test]
fn restore_fills_an_existing_empty_directory() {
    let s = setup();
    let point = backup(&s, None, None, &NoProgress).unwrap();
    let target = s.dir.path().join("mount-point");
    fs::create_dir(&target).unwrap();
    bunker_connectors::restore(&s.vault, point.snapshot, &dir_source(&target), &NoProgress).unwrap();
    assert_eq!(listing(&target), listing(&s.src));
    let (a, b) = (fs::metadata(&target).unwrap(), fs::metadata(&s.src).unwrap());
    assert_eq!((a.mode() & 0o7777, a.mtime()), (b.mode() & 0o7777, b.mtime()));
}

/// Sets the stop flag once `after` bytes were read.
struct StopAfter {
    after: u64,
    seen: AtomicU64,
    stop: Arc<AtomicBool>,
}

impl Progress for StopAfter {
    fn advance(&self, bytes: u64) {
        if self.seen.fetch_add(bytes, Ordering::Relaxed) + bytes >= self.after {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_stopped_backup_is_partial_and_what_it_kept_restores() {
    let s = setup();
    let many = s.src.join("many");
    fs::create_dir(&many).unwrap();
    for i in 0..40u64 {
        fs::write(many.join(format!("part{i:02}")), noise(100_000, 10 + i)).unwrap();
    }
    let progress = StopAfter { after: 1_000_000, seen: AtomicU64::new(0), stop: Arc::new(AtomicBool::new(false)) };
    let out = backup(&s, None, Some(progress.stop.clone()), &progress).unwrap();
    assert!(out.partial);
    assert!(out.size < 1_000_000 + 4_000_000, "stopped early: {} bytes", out.size);
    let target = s.dir.path().join("partial");
    bunker_connectors::restore(&s.vault, out.snapshot, &dir_source(&target), &NoProgress).unwrap();
    let (kept, all) = (listing(&target), listing(&s.src));
    let kept_files = kept.values().filter(|v| v.starts_with("file")).count();
    let all_files = all.values().filter(|v| v.starts_with("file")).count();
    assert!(kept_files > 0 && kept_files < all_files, "kept {kept_files} of {all_files} files");
    for (path, what) in &kept {
        if what.starts_with("file") {
            assert_eq!(Some(what), all.get(path), "{}", path.display());
        }
    }

    // A flag set before the start keeps nothing.
    let stop = Arc::new(AtomicBool::new(true));
    assert!(matches!(backup(&s, None, Some(stop), &NoProgress), Err(ConnectorError::Stopped)));
}

#[test]
fn errors_name_the_problem() {
    let s = setup();
    let missing = s.dir.path().join("no-such-dir");
    let request = BackupRequest {
        vault: &s.vault,
        time: jiff::Timestamp::now(),
        tags: Vec::new(),
        parent: None,
        stop: None,
        progress: &NoProgress,
    };
    let err = bunker_connectors::backup(&dir_source(&missing), &request).unwrap_err();
    assert!(matches!(&err, ConnectorError::SourceMissing { path } if *path == missing), "{err}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");

    let file = s.src.join("config.toml");
    let err = bunker_connectors::backup(&dir_source(&file), &request).unwrap_err();
    assert!(matches!(err, ConnectorError::InvalidSource { .. }), "{err}");

    let point = backup(&s, None, None, &NoProgress).unwrap();
    let occupied = s.dir.path().join("occupied");
    fs::create_dir(&occupied).unwrap();
    fs::write(occupied.join("keep.txt"), b"mine").unwrap();
    let err = bunker_connectors::restore(&s.vault, point.snapshot, &dir_source(&occupied), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");
    assert_eq!(fs::read(occupied.join("keep.txt")).unwrap(), b"mine");
    let err = bunker_connectors::restore(&s.vault, point.snapshot, &dir_source(&file), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");

    // A stream recovery point is not a directory.
    let stream = s
        .vault
        .backup_stream(&b"not a tree"[..], &bunker_vault::StreamOptions { name: "x.img".into(), ..Default::default() }, &NoProgress)
        .unwrap();
    let err = bunker_connectors::restore(&s.vault, stream.snapshot_id, &dir_source(&s.dir.path().join("t")), &NoProgress)
        .unwrap_err();
    assert!(matches!(err, ConnectorError::WrongShape { .. }), "{err}");
}
