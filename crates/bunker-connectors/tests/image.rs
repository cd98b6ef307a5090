//! DiskImage connector against a real sparse file: holes are neither read nor stored, zero
//! blocks cost nothing, and the restored image is byte-identical and sparse.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bunker_connectors::{BackupOutcome, BackupRequest, ConnectorError, Source};
use bunker_testkit::noise;
use bunker_vault::{FileKek, InitOptions, LocalStorage, NoProgress, Vault};

const MIB: u64 = 1024 * 1024;
const SIZE: u64 = 64 * MIB;

/// Bytes of all files below `dir`.
fn stored_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() { stored_bytes(&e.path()) } else { m.len() };
    }
    total
}

/// A 64 MiB image: about 3.5 MiB of data in islands (one at the very end), 8 MiB of written
/// zeros, holes elsewhere.
fn make_image(path: &Path) -> u64 {
    let f = File::create(path).unwrap();
    f.set_len(SIZE).unwrap();
    let islands: [(u64, usize); 4] = [(0, MIB as usize), (10 * MIB, 512 * 1024), (40 * MIB + 12_345, 2 * MIB as usize), (SIZE - 4096, 4096)];
    for (i, (at, len)) in islands.iter().enumerate() {
        f.write_all_at(&noise(*len, i as u64 + 1), *at).unwrap();
    }
    f.write_all_at(&vec![0u8; 8 * MIB as usize], 20 * MIB).unwrap();
    f.sync_all().unwrap();
    islands.iter().map(|(_, l)| *l as u64).sum()
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (File::open(a).unwrap(), File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0u8; MIB as usize], vec![0u8; MIB as usize]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let nb = fb.read(&mut bb).unwrap();
        if na != nb || ba[..na] != bb[..nb] {
            return false;
        }
        if na == 0 {
            return true;
        }
    }
}

fn image(path: &Path) -> Source {
    Source::DiskImage { path: path.to_owned() }
}

fn backup(vault: &Vault, source: &Source, stop: Option<Arc<AtomicBool>>) -> Result<BackupOutcome, ConnectorError> {
    let request = BackupRequest {
        vault,
        time: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        tags: vec!["job-7".into()],
        parent: None,
        stop,
        progress: &NoProgress,
    };
    bunker_connectors::backup(source, &request)
}

#[test]
fn sparse_image_round_trip_costs_its_data_only() {
    let dir = tempfile::tempdir().unwrap();
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let vault_dir = dir.path().join("vault");
    let vault = Vault::init(Arc::new(LocalStorage::new(&vault_dir)), &kek, InitOptions::default()).unwrap();
    let empty_vault = stored_bytes(&vault_dir);
    let src = dir.path().join("disk.img");
    let data = make_image(&src);
    let holes_here = fs::metadata(&src).unwrap().blocks() * 512 < SIZE / 2;

    let out = backup(&vault, &image(&src), None).unwrap();
    assert_eq!(out.size, SIZE);
    assert!(!out.partial);
    if holes_here {
        // Only the data and the written zeros are read; holes are not.
        assert!(out.bytes_read < data + 8 * MIB + 4 * MIB, "read {} bytes", out.bytes_read);
    }
    let grown = stored_bytes(&vault_dir) - empty_vault;
    assert!(grown < data + 2 * MIB, "the vault grew by {grown} bytes for {data} bytes of data");
    assert!(out.bytes_added < data + 2 * MIB, "{} bytes added", out.bytes_added);

    let target = dir.path().join("restored/disk-copy.img");
    let r = bunker_connectors::restore(&vault, out.snapshot, &image(&target), &NoProgress).unwrap();
    assert_eq!(r.bytes, SIZE);
    let m = fs::metadata(&target).unwrap();
    assert_eq!(m.len(), SIZE);
    assert!(same_bytes(&src, &target), "restored image differs");
    // Holes come back at chunk granularity: a chunk that straddles an island's edge is written
    // whole, zeros included, so each of the 8 edges may allocate up to one maximal chunk.
    let edges = 8 * u64::from(vault.config().chunker.max_size);
    let allocated = m.blocks() * 512;
    assert!(allocated <= data + edges + MIB && allocated < SIZE / 2, "restored image allocates {allocated} bytes");
    let names: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("disk-copy.img")], "no staging directory left behind");

    // A second backup of the same image adds (almost) nothing.
    let again = backup(&vault, &image(&src), None).unwrap();
    assert!(again.bytes_added < 64 * 1024, "{} bytes added", again.bytes_added);
}

#[test]
fn errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let vault = Vault::init(Arc::new(LocalStorage::new(dir.path().join("vault"))), &kek, InitOptions::default()).unwrap();
    let missing = dir.path().join("gone.img");
    let err = backup(&vault, &image(&missing), None).unwrap_err();
    assert!(matches!(&err, ConnectorError::SourceMissing { path } if *path == missing), "{err}");
    assert!(err.to_string().contains("gone.img"), "{err}");

    let src = dir.path().join("small.img");
    fs::write(&src, noise(300_000, 9)).unwrap();
    let stopped = backup(&vault, &image(&src), Some(Arc::new(AtomicBool::new(true)))).unwrap_err();
    assert!(matches!(stopped, ConnectorError::Stopped), "{stopped}");
    assert!(vault.snapshots().unwrap().is_empty(), "a stopped image backup records nothing");

    let out = backup(&vault, &image(&src), None).unwrap();
    let err = bunker_connectors::restore(&vault, out.snapshot, &image(&src), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");
    assert_eq!(fs::read(&src).unwrap(), noise(300_000, 9), "the existing file is untouched");

    // A directory recovery point is not an image.
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    let t = vault.backup(&[&tree], &bunker_vault::BackupOptions::default(), &NoProgress).unwrap();
    let err = bunker_connectors::restore(&vault, t.snapshot_id, &image(&dir.path().join("x.img")), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::WrongShape { .. }), "{err}");
}
