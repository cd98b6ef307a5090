//! End-to-end: back up generated trees, restore them, compare bytes and metadata; incremental
//! backups, sub-path restore, streams, keys, check and corruption detection.

mod support;
use support::{assert_same_tree, make_tree, noise, options, walk};

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use bunker_vault::{
    BackupOptions, CheckOptions, FileKek, LocalStorage, NoProgress, PasswordKek,
    RestoreOptions, Storage, StreamOptions, Vault, VaultError,
};

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    storage: Arc<LocalStorage>,
    kek: FileKek,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let kek = FileKek::generate(root.join("vault.key")).unwrap();
    let storage = Arc::new(LocalStorage::new(root.join("vault")));
    Setup { _dir: dir, root, storage, kek }
}

#[test]
fn round_trip_incremental_subpath_and_check() {
    let s = setup();
    let src = s.root.join("data");
    let xattrs = make_tree(&src);
    let vault = Vault::init(s.storage.clone(), &s.kek, options()).unwrap();
    assert!(matches!(Vault::init(s.storage.clone(), &s.kek, options()), Err(VaultError::AlreadyInitialized)));

    let first = vault.backup(&[&src], &BackupOptions::default(), &NoProgress).unwrap();
    assert_eq!(first.details.errors, 0);
    assert!(first.bytes_read >= 24 * 1024 * 1024);
    // A fresh handle sees the same vault.
    let vault = Vault::open(s.storage.clone(), &s.kek).unwrap();

    let out = s.root.join("restore1");
    let r = vault.restore(first.snapshot_id, &RestoreOptions::new(&out), &NoProgress).unwrap();
    assert_same_tree(&src, &out.join("data"), xattrs, true);
    // Sparse file keeps its holes.
    let m = fs::metadata(out.join("data/sparse.img")).unwrap();
    assert_eq!(m.len(), 24 * 1024 * 1024);
    assert!(m.blocks() * 512 < m.len() / 4, "sparse file restored dense: {} blocks", m.blocks());
    assert!(r.bytes_written < r.bytes / 2);

    // Incremental: change ~5 %: edit in place, append, add a file.
    let total: u64 = walk(&src).iter().filter_map(|p| fs::symlink_metadata(src.join(p)).ok()).filter(|m| m.is_file()).map(|m| m.len()).sum();
    {
        use std::os::unix::fs::FileExt;
        let f = fs::OpenOptions::new().write(true).open(src.join("a/b/big.bin")).unwrap();
        f.write_all_at(&noise(4096, 7), 700_000).unwrap();
    }
    let mut appended = fs::read(src.join("a/file03.bin")).unwrap();
    appended.extend(noise(20_000, 8));
    fs::write(src.join("a/file03.bin"), appended).unwrap();
    fs::write(src.join("a/new.bin"), noise(60_000, 9)).unwrap();
    let second = vault
        .backup(&[&src], &BackupOptions { parent: Some(first.snapshot_id), ..Default::default() }, &NoProgress)
        .unwrap();
    let d = &second.details;
    assert!(d.files_unchanged >= 25, "{d:?}");
    assert!(d.files_changed <= 4, "{d:?}");
    assert!(second.bytes_added < total / 20, "added {} of {total}", second.bytes_added);
    let out2 = s.root.join("restore2");
    vault.restore(second.snapshot_id, &RestoreOptions::new(&out2), &NoProgress).unwrap();
    assert_same_tree(&src, &out2.join("data"), xattrs, true);

    // Restoring over an earlier restore that was tampered with: longer files, data inside
    // the sparse file's holes, a symlink where a file belongs, a stray file in a directory.
    let old = out2.join("data");
    fs::write(old.join("a/file00.bin"), noise(400_000, 42)).unwrap();
    fs::write(old.join("sparse.img"), vec![0xAB; 24 * 1024 * 1024]).unwrap();
    fs::remove_file(old.join("a/exec.sh")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", old.join("a/exec.sh")).unwrap();
    fs::set_permissions(old.join("a/readonly"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(old.join("a/readonly"), b"rw now, and longer").unwrap();
    vault.restore(second.snapshot_id, &RestoreOptions::new(&out2), &NoProgress).unwrap();
    assert_same_tree(&src, &old, xattrs, true);

    // Listing and diff.
    let snaps = vault.snapshots().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(vault.find_snapshot("latest").unwrap().0, second.snapshot_id);
    assert_eq!(vault.find_snapshot(&first.snapshot_id.to_string()[..10]).unwrap().0, first.snapshot_id);
    let ls = vault.ls(second.snapshot_id, Some("data/a/b")).unwrap();
    assert!(ls.iter().any(|e| e.path == "data/a/b/c/deep.txt"));
    let diff = vault.diff(first.snapshot_id, second.snapshot_id).unwrap();
    let changed: Vec<&str> = diff.iter().filter(|d| d.change != bunker_vault::Change::Metadata).map(|d| d.path.as_str()).collect();
    assert_eq!(changed, ["data/a/b/big.bin", "data/a/file03.bin", "data/a/new.bin"], "{diff:?}");

    // Sub-path restore.
    let out3 = s.root.join("restore3");
    vault.restore(second.snapshot_id, &RestoreOptions::new(&out3).include("data/a/b"), &NoProgress).unwrap();
    assert_same_tree(&src.join("a/b"), &out3.join("data/a/b"), xattrs, false);
    assert!(!out3.join("data/a/file00.bin").exists());
    assert!(matches!(
        vault.restore(second.snapshot_id, &RestoreOptions::new(&out3).include("data/nope"), &NoProgress),
        Err(VaultError::PathNotInSnapshot { .. })
    ));

    // Check.
    let report = vault.check(&CheckOptions::default(), &NoProgress).unwrap();
    assert!(report.is_ok(), "{report:?}");
    let report = vault.check(&CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.blobs_read, vault.blob_count());
    assert!(report.unindexed_packs.is_empty());

    // The index can be rebuilt from the packs alone.
    assert!(vault.rebuild_index().unwrap().is_empty());
    let vault = Vault::open(s.storage.clone(), &s.kek).unwrap();
    assert!(vault.check(&CheckOptions::default(), &NoProgress).unwrap().is_ok());
}

#[test]
fn flipped_byte_names_chunk_and_snapshot_and_spares_others() {
    let s = setup();
    let (x, y) = (s.root.join("x"), s.root.join("y"));
    fs::create_dir_all(&x).unwrap();
    fs::create_dir_all(&y).unwrap();
    fs::write(x.join("one.bin"), noise(300_000, 1)).unwrap();
    fs::write(y.join("two.bin"), noise(300_000, 2)).unwrap();
    let vault = Vault::init(s.storage.clone(), &s.kek, options()).unwrap();
    let a = vault.backup(&[&x], &BackupOptions::default(), &NoProgress).unwrap().snapshot_id;
    let b = vault.backup(&[&y], &BackupOptions::default(), &NoProgress).unwrap().snapshot_id;

    let entry = vault.ls(b, Some("y/two.bin")).unwrap().remove(0);
    let chunk = entry.node.content.unwrap()[1];
    let loc = vault.blob_location(chunk.into()).unwrap();
    let pack_path = s.storage.path_of(&bunker_vault::ObjectKey::Pack(loc.pack));
    let mut bytes = fs::read(&pack_path).unwrap();
    bytes[loc.offset as usize + 40] ^= 0x01;
    fs::write(&pack_path, bytes).unwrap();

    let report = vault.check(&CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.bad_blobs.iter().copied().collect::<Vec<_>>(), vec![chunk.into()]);
    assert_eq!(report.affected_snapshots.iter().copied().collect::<Vec<_>>(), vec![b]);
    assert!(report.problems.iter().any(|p| matches!(p, bunker_vault::Problem::DamagedBlob { blob, .. } if *blob == chunk.into())));
    assert!(report.problems.iter().any(|p| matches!(p, bunker_vault::Problem::PackHashMismatch { .. })));

    // The untouched snapshot still restores; the damaged one fails naming the chunk.
    let out = s.root.join("ra");
    vault.restore(a, &RestoreOptions::new(&out), &NoProgress).unwrap();
    assert_eq!(fs::read(out.join("x/one.bin")).unwrap(), fs::read(x.join("one.bin")).unwrap());
    let err = vault.restore(b, &RestoreOptions::new(s.root.join("rb")), &NoProgress).unwrap_err();
    assert!(matches!(err, VaultError::CorruptBlob { id, .. } if id == chunk.into()), "{err}");
}

#[test]
fn streams_dedup_against_each_other() {
    let s = setup();
    let vault = Vault::init(s.storage.clone(), &s.kek, options()).unwrap();
    let dump = noise(2_000_000, 3);
    let opts = StreamOptions { name: "db.dump".into(), ..Default::default() };
    let first = vault.backup_stream(&dump[..], &opts, &NoProgress).unwrap();
    let mut edited = dump.clone();
    edited[1_000_000..1_000_100].copy_from_slice(&[0xaa; 100]);
    let second = vault.backup_stream(&edited[..], &opts, &NoProgress).unwrap();
    assert!(second.bytes_added < first.bytes_added / 5, "{} vs {}", second.bytes_added, first.bytes_added);
    let mut out = Vec::new();
    assert_eq!(vault.restore_stream(second.snapshot_id, &mut out).unwrap(), edited.len() as u64);
    assert_eq!(out, edited);
    out.clear();
    vault.restore_stream(first.snapshot_id, &mut out).unwrap();
    assert_eq!(out, dump);
    // Empty stream.
    let empty = vault.backup_stream(&[][..], &opts, &NoProgress).unwrap();
    out.clear();
    assert_eq!(vault.restore_stream(empty.snapshot_id, &mut out).unwrap(), 0);
}

#[test]
fn passwords_and_key_rotation() {
    let s = setup();
    let pw = PasswordKek::with_cost("correct horse", 1024, 1, 1);
    let mut vault = Vault::init(s.storage.clone(), &pw, options()).unwrap();
    let src = s.root.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"content").unwrap();
    let snap = vault.backup(&[src], &BackupOptions::default(), &NoProgress).unwrap().snapshot_id;
    assert!(matches!(
        Vault::open(s.storage.clone(), &PasswordKek::with_cost("wrong", 1024, 1, 1)),
        Err(VaultError::WrongKey)
    ));
    let data_before: Vec<_> = s.storage.list(bunker_vault::ObjectKind::Pack).unwrap();
    vault.rotate_key(&s.kek).unwrap();
    assert_eq!(vault.keys().unwrap().len(), 1);
    assert!(matches!(Vault::open(s.storage.clone(), &pw), Err(VaultError::WrongKey)));
    let reopened = Vault::open(s.storage.clone(), &s.kek).unwrap();
    assert_eq!(s.storage.list(bunker_vault::ObjectKind::Pack).unwrap(), data_before);
    let out = s.root.join("out");
    reopened.restore(snap, &RestoreOptions::new(&out), &NoProgress).unwrap();
    assert_eq!(fs::read(out.join("src/f")).unwrap(), b"content");
}
