//! `S3Storage` against a real S3 server: moto's `moto_server` (`bunker_testkit::moto`),
//! started per test on a free 127.0.0.1 port and killed at the end.
//!
//! The server is `$MOTO_SERVER` or `<workspace>/.venv/bin/moto_server`, which `scripts/test`
//! installs. Without either the tests skip loudly, unless `BUNKER_REQUIRE_S3=1` (set by
//! `scripts/test`, so CI can never pass by skipping).
#![cfg(feature = "s3")]

mod support;
use support::{assert_same_tree, make_tree, noise, options, set_mtime};

use std::fs;
use std::sync::Arc;

use bunker_testkit::moto::{ACCESS_KEY_ID, Moto, REGION, SECRET_ACCESS_KEY};
use bunker_vault::storage::{S3Config, S3Storage};
use bunker_vault::{
    BackupOptions, CheckOptions, FileKek, IndexId, NoProgress, ObjectKey, ObjectKind,
    PackId, RestoreOptions, SnapshotId, Storage, Vault, VaultError,
};

/// Creates `bucket` (moto accepts unsigned requests) and returns storage under `prefix`.
fn bucket_storage(moto: &Moto, bucket: &str, prefix: &str) -> S3Storage {
    moto.create_bucket(bucket);
    S3Storage::new(config(moto, bucket, prefix)).unwrap()
}

fn config(moto: &Moto, bucket: &str, prefix: &str) -> S3Config {
    S3Config {
        endpoint: Some(moto.endpoint()),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        region: Some(REGION.to_owned()),
        access_key_id: Some(ACCESS_KEY_ID.to_owned()),
        secret_access_key: Some(SECRET_ACCESS_KEY.to_owned()),
        allow_http: true,
        ..S3Config::default()
    }
}

/// An id of 32 equal bytes `b`.
fn id<T: std::str::FromStr<Err: std::fmt::Debug>>(b: u8) -> T {
    format!("{b:02x}").repeat(32).parse().unwrap()
}

#[test]
fn storage_contract_on_s3() {
    let Some(moto) = Moto::start() else { return };
    let s = bucket_storage(&moto, "contract", "vaults/one");
    let p = ObjectKey::Pack(id::<PackId>(7));
    let i = ObjectKey::Index(id::<IndexId>(8));

    // Missing objects.
    assert!(!s.exists(&p).unwrap());
    assert!(matches!(s.read(&p), Err(VaultError::NotFound { .. })));
    assert!(matches!(s.read_range(&p, 0, 4), Err(VaultError::NotFound { .. })));
    assert!(s.list(ObjectKind::Config).unwrap().is_empty());

    // Write, read, ranges.
    s.write(&p, b"hello world").unwrap();
    s.write(&i, b"x").unwrap();
    assert!(s.exists(&p).unwrap());
    assert_eq!(s.read(&p).unwrap(), b"hello world");
    assert_eq!(s.read_range(&p, 6, 5).unwrap(), b"world");
    assert_eq!(s.read_range(&p, 0, 1).unwrap(), b"h");
    assert_eq!(s.read_range(&p, 11, 0).unwrap(), b"");
    let past_end = s.read_range(&p, 6, 6).unwrap_err();
    assert!(!past_end.is_retryable(), "{past_end}");
    assert!(s.read_range(&p, 20, 1).is_err());

    // Listing by kind, with sizes.
    assert_eq!(s.list(ObjectKind::Pack).unwrap(), vec![bunker_vault::storage::ObjectInfo { key: p, size: 11 }]);
    assert_eq!(s.list(ObjectKind::Index).unwrap().len(), 1);
    assert!(s.list(ObjectKind::Snapshot).unwrap().is_empty());

    // Delete is idempotent.
    s.delete(&p).unwrap();
    s.delete(&p).unwrap();
    assert!(!s.exists(&p).unwrap());
    assert!(s.list(ObjectKind::Pack).unwrap().is_empty());

    // Overwriting replaces the whole object.
    s.write(&ObjectKey::Config, b"first version").unwrap();
    s.write(&ObjectKey::Config, b"c2").unwrap();
    assert_eq!(s.read(&ObjectKey::Config).unwrap(), b"c2");
    assert_eq!(s.list(ObjectKind::Config).unwrap().len(), 1);

    // Prefixes isolate vaults; objects that are not at a canonical place are not listed.
    let other = bucket_storage(&moto, "contract", "vaults/two");
    assert!(other.list(ObjectKind::Index).unwrap().is_empty());
    assert!(!other.exists(&ObjectKey::Config).unwrap());
    let stranger = bucket_storage(&moto, "contract", "vaults/one/data/ab");
    stranger.write(&ObjectKey::Config, b"not a pack").unwrap();
    assert!(s.list(ObjectKind::Pack).unwrap().is_empty());

    // A vault at the bucket root works too.
    let root = bucket_storage(&moto, "contract-root", "");
    root.write(&i, b"root").unwrap();
    assert_eq!(root.list(ObjectKind::Index).unwrap().len(), 1);
    assert_eq!(root.read(&i).unwrap(), b"root");
}

#[test]
fn concurrent_calls_from_plain_threads_and_from_inside_a_runtime() {
    let Some(moto) = Moto::start() else { return };
    let s = Arc::new(bucket_storage(&moto, "threads", "v"));
    // The engine's workers are plain threads sharing one storage.
    let handles: Vec<_> = (0..8u8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for n in 0..4u8 {
                    let key = ObjectKey::Snapshot(id::<SnapshotId>(t * 16 + n));
                    let data = noise(10_000 + usize::from(t) * 100 + usize::from(n), u64::from(t * 16 + n));
                    s.write(&key, &data).unwrap();
                    assert_eq!(s.read(&key).unwrap(), data);
                    assert_eq!(s.read_range(&key, 100, 50).unwrap(), data[100..150]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(s.list(ObjectKind::Snapshot).unwrap().len(), 32);

    // An async caller that forgot `spawn_blocking` gets an answer, not a panic; dropping the
    // storage there does not panic either.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let inner = S3Storage::new(config(&moto, "threads", "v")).unwrap();
    let listed = rt.block_on(async move {
        let n = inner.list(ObjectKind::Snapshot).unwrap().len();
        drop(inner);
        n
    });
    assert_eq!(listed, 32);
}

#[test]
fn errors_say_whether_a_retry_may_help() {
    let Some(moto) = Moto::start() else { return };
    let mut config = config(&moto, "errors", "v");
    config.max_retries = Some(0);
    let key = ObjectKey::Config;
    // A bucket that does not exist: the object is simply not there.
    let s = S3Storage::new(config.clone()).unwrap();
    assert!(matches!(s.read(&key), Err(VaultError::NotFound { .. })));
    // The server going away is a retryable failure.
    drop(moto);
    let err = s.exists(&key).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(matches!(err, VaultError::Storage { op: "stat", .. }), "{err:?}");
    // Configuration mistakes are reported at construction.
    assert!(S3Storage::new(S3Config { bucket: String::new(), ..config }).is_err());
}

#[test]
fn vault_round_trip_on_s3() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data");
    // The same tree as the local round trip (modes, mtimes, hard links, a sparse file,
    // unicode names, symlinks, empty files and directories), plus a file larger than a pack
    // so several packs and ranged reads are exercised.
    let xattrs = make_tree(&src);
    fs::write(src.join("a/b/big2.bin"), noise(2_500_000, 98)).unwrap();
    set_mtime(&src.join("a/b/big2.bin"), 1_500_000_000, 7);

    let kek = FileKek::generate(dir.path().join("vault.key")).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(bucket_storage(&moto, "vault", "backups/host1"));
    let options = options();
    let vault = Vault::init(storage.clone(), &kek, options.clone()).unwrap();
    assert!(matches!(Vault::init(storage.clone(), &kek, options), Err(VaultError::AlreadyInitialized)));
    let summary = vault.backup(&[&src], &BackupOptions::default(), &NoProgress).unwrap();
    assert_eq!(summary.details.errors, 0);
    assert!(storage.list(ObjectKind::Pack).unwrap().len() >= 3);

    // A fresh handle on a fresh connection sees the same vault.
    let storage: Arc<dyn Storage> = Arc::new(bucket_storage(&moto, "vault", "backups/host1"));
    let vault = Vault::open(storage, &kek).unwrap();
    let out = dir.path().join("restored");
    vault.restore(summary.snapshot_id, &RestoreOptions::new(&out), &NoProgress).unwrap();
    assert_same_tree(&src, &out.join("data"), xattrs, true);

    let report = vault.check(&CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.blobs_read, vault.blob_count());
    assert!(report.unindexed_packs.is_empty());
}

