//! S3 bucket connector against a real S3 server (moto's `moto_server`, started per test):
//! keys, bytes, content types, user metadata and tags survive a round trip; prefixes are
//! replaced; a stopped backup is partial; missing buckets and occupied targets are refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bunker_connectors::{BackupOutcome, BackupRequest, ConnectorError, Source};
use bunker_testkit::moto::{ACCESS_KEY_ID, Moto, REGION, SECRET_ACCESS_KEY};
use bunker_testkit::noise;
use bunker_vault::{ChunkerParams, FileKek, InitOptions, MemoryStorage, NoProgress, Progress, Vault};
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::{Method, SignedUrlOptions, Signer};
use object_store::{Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload, TagSet};

fn source(moto: &Moto, bucket: &str, prefix: &str) -> Source {
    Source::Bucket {
        endpoint: Some(moto.endpoint()),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        region: REGION.to_owned(),
        access_key_id: Some(ACCESS_KEY_ID.to_owned()),
        secret_access_key: Some(SECRET_ACCESS_KEY.to_owned()),
    }
}

fn vault() -> Vault {
    let dir = tempfile::tempdir().unwrap();
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let options = InitOptions {
        chunker: ChunkerParams { min_size: 16 * 1024, avg_size: 64 * 1024, max_size: 256 * 1024 },
        pack_size: 1024 * 1024,
        ..InitOptions::default()
    };
    Vault::init(Arc::new(MemoryStorage::default()), &kek, options).unwrap()
}

/// A plain S3 client for preparing and inspecting buckets.
struct Client {
    runtime: tokio::runtime::Runtime,
    moto: Moto,
}

/// What a test compares: per key, bytes, content type, user metadata and tags.
#[derive(Debug, PartialEq, Eq)]
struct Obj {
    data: Vec<u8>,
    content_type: Option<String>,
    cache_control: Option<String>,
    metadata: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
}

impl Client {
    fn start() -> Option<Client> {
        let moto = Moto::start()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Some(Client { runtime, moto })
    }

    fn store(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.moto.endpoint())
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region(REGION)
            .with_access_key_id(ACCESS_KEY_ID)
            .with_secret_access_key(SECRET_ACCESS_KEY)
            .build()
            .unwrap()
    }

    fn put(&self, bucket: &str, key: &str, data: Vec<u8>, content_type: &str, metadata: &[(&str, &str)], tags: &[(&str, &str)]) {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, AttributeValue::from(content_type.to_owned()));
        for (k, v) in metadata {
            attributes.insert(Attribute::Metadata((*k).to_owned().into()), AttributeValue::from((*v).to_owned()));
        }
        let mut tag_set = TagSet::default();
        for (k, v) in tags {
            tag_set.push(k, v);
        }
        let mut options = PutOptions::from(tag_set);
        options.attributes = attributes;
        let store = self.store(bucket);
        self.runtime.block_on(store.put_opts(&Path::parse(key).unwrap(), PutPayload::from(data), options)).unwrap();
    }

    /// Every object of `bucket` by key.
    fn contents(&self, bucket: &str) -> BTreeMap<String, Obj> {
        let store = self.store(bucket);
        self.runtime.block_on(async {
            let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
            let mut out = BTreeMap::new();
            for meta in listed {
                let got = store.get(&meta.location).await.unwrap();
                let mut obj = Obj {
                    data: Vec::new(),
                    content_type: None,
                    cache_control: None,
                    metadata: BTreeMap::new(),
                    tags: BTreeMap::new(),
                };
                for (a, v) in &got.attributes {
                    match a {
                        Attribute::ContentType => obj.content_type = Some(v.to_string()),
                        Attribute::CacheControl => obj.cache_control = Some(v.to_string()),
                        Attribute::Metadata(k) => {
                            obj.metadata.insert(k.to_string(), v.to_string());
                        }
                        _ => {}
                    }
                }
                obj.data = got.bytes().await.unwrap().to_vec();
                obj.tags = self.tags(&store, &meta.location).await;
                out.insert(meta.location.to_string(), obj);
            }
            out
        })
    }

    /// Tags through a presigned GetObjectTagging URL (independent of the connector's code).
    async fn tags(&self, store: &AmazonS3, key: &Path) -> BTreeMap<String, String> {
        let query = SignedUrlOptions::new().with_query([("tagging", "")]);
        let url = store.signed_url_opts(Method::GET, key, Duration::from_secs(600), &query).await.unwrap();
        let (status, body) = self.moto.request("GET", &format!("{}?{}", url.path(), url.query().unwrap_or(""))).unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let text = String::from_utf8(body).unwrap();
        let mut tags = BTreeMap::new();
        for tag in text.split("<Tag>").skip(1) {
            let field = |name: &str| tag.split(&format!("<{name}>")).nth(1).and_then(|r| r.split(&format!("</{name}>")).next()).unwrap_or("").to_owned();
            tags.insert(field("Key"), field("Value"));
        }
        tags
    }
}

fn backup(vault: &Vault, source: &Source, stop: Option<Arc<AtomicBool>>, progress: &dyn Progress) -> Result<BackupOutcome, ConnectorError> {
    let request = BackupRequest {
        vault,
        time: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        tags: vec!["job-s3".into()],
        parent: None,
        stop,
        progress,
    };
    bunker_connectors::backup(source, &request)
}

#[test]
fn bucket_round_trip_keeps_keys_bytes_metadata_and_tags() {
    let Some(c) = Client::start() else { return };
    c.moto.create_bucket("photos");
    c.put("photos", "2024/beach.jpg", noise(300_000, 1), "image/jpeg", &[("camera", "x100"), ("owner", "alice")], &[("team", "web"), ("env", "prod")]);
    c.put("photos", "2024/notes with spaces+plus.txt", b"hello".to_vec(), "text/plain; charset=utf-8", &[], &[("a b", "c d")]);
    c.put("photos", "empty", Vec::new(), "application/octet-stream", &[], &[]);
    c.put("photos", "raw/big.bin", noise(9 * 1024 * 1024 + 77, 2), "application/x-raw", &[("k", "v")], &[("size", "big")]);
    let original = c.contents("photos");
    assert_eq!(original.len(), 4);
    assert_eq!(original["2024/beach.jpg"].tags.len(), 2, "the test setup tags objects");

    let vault = vault();
    let out = backup(&vault, &source(&c.moto, "photos", ""), None, &NoProgress).unwrap();
    assert!(!out.partial);
    let total: u64 = original.values().map(|o| o.data.len() as u64).sum();
    assert_eq!((out.size, out.bytes_read), (total, total));

    // Into a bucket that does not exist yet: created.
    let r = bunker_connectors::restore(&vault, out.snapshot, &source(&c.moto, "photos-restored", ""), &NoProgress).unwrap();
    assert_eq!(r.bytes, total);
    assert_eq!(r.location, "s3://photos-restored/");
    assert_eq!(c.contents("photos-restored"), original);

    // Into a prefix of an existing bucket: the prefix replaces the source's.
    c.moto.create_bucket("archive");
    c.put("archive", "unrelated/keep.txt", b"keep".to_vec(), "text/plain", &[], &[]);
    bunker_connectors::restore(&vault, out.snapshot, &source(&c.moto, "archive", "2025/photos/"), &NoProgress).unwrap();
    let archive = c.contents("archive");
    assert_eq!(archive.len(), 5);
    for (key, obj) in &original {
        assert_eq!(archive.get(&format!("2025/photos/{key}")), Some(obj), "{key}");
    }
}

#[test]
fn a_prefix_backs_up_only_its_objects() {
    let Some(c) = Client::start() else { return };
    c.moto.create_bucket("logs");
    c.put("logs", "app/a.log", b"a".to_vec(), "text/plain", &[], &[("k", "1")]);
    c.put("logs", "app/sub/b.log", b"bb".to_vec(), "text/plain", &[], &[]);
    c.put("logs", "app-other/c.log", b"ccc".to_vec(), "text/plain", &[], &[]);
    c.put("logs", "db/d.log", b"dddd".to_vec(), "text/plain", &[], &[]);
    let vault = vault();
    let out = backup(&vault, &source(&c.moto, "logs", "app"), None, &NoProgress).unwrap();
    assert_eq!(out.size, 3);
    bunker_connectors::restore(&vault, out.snapshot, &source(&c.moto, "logs-copy", "restored"), &NoProgress).unwrap();
    let copy = c.contents("logs-copy");
    assert_eq!(copy.keys().collect::<Vec<_>>(), ["restored/a.log", "restored/sub/b.log"]);
    assert_eq!(copy["restored/a.log"].tags, BTreeMap::from([("k".to_owned(), "1".to_owned())]));
}

/// Sets the stop flag after `after` objects were downloaded.
struct StopAfterItems {
    after: usize,
    seen: AtomicUsize,
    stop: Arc<AtomicBool>,
}

impl Progress for StopAfterItems {
    fn item(&self, _name: &str) {
        if self.seen.fetch_add(1, Ordering::Relaxed) + 1 >= self.after {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_stopped_backup_keeps_the_objects_downloaded_so_far() {
    let Some(c) = Client::start() else { return };
    c.moto.create_bucket("many");
    for i in 0..40u64 {
        c.put("many", &format!("obj/{i:03}"), noise(20_000, i), "application/octet-stream", &[("n", &i.to_string())], &[("i", &i.to_string())]);
    }
    let original = c.contents("many");
    let vault = vault();
    let progress = StopAfterItems { after: 5, seen: AtomicUsize::new(0), stop: Arc::new(AtomicBool::new(false)) };
    let out = backup(&vault, &source(&c.moto, "many", ""), Some(progress.stop.clone()), &progress).unwrap();
    assert!(out.partial);
    bunker_connectors::restore(&vault, out.snapshot, &source(&c.moto, "many-partial", ""), &NoProgress).unwrap();
    let kept = c.contents("many-partial");
    assert!(kept.len() >= 5 && kept.len() < original.len(), "kept {} of {}", kept.len(), original.len());
    assert_eq!(out.size, kept.values().map(|o| o.data.len() as u64).sum::<u64>());
    for (key, obj) in &kept {
        assert_eq!(Some(obj), original.get(key), "{key}");
    }

    let err = backup(&vault, &source(&c.moto, "many", ""), Some(Arc::new(AtomicBool::new(true))), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::Stopped), "{err}");
}

#[test]
fn missing_buckets_and_occupied_targets_are_refused() {
    let Some(c) = Client::start() else { return };
    let vault = vault();
    let err = backup(&vault, &source(&c.moto, "no-such-bucket", ""), None, &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::SourceMissing { .. }), "{err}");
    assert!(err.to_string().contains("s3://no-such-bucket"), "{err}");

    c.moto.create_bucket("busy");
    c.put("busy", "data/x", b"x".to_vec(), "text/plain", &[], &[]);
    let out = backup(&vault, &source(&c.moto, "busy", ""), None, &NoProgress).unwrap();
    let err = bunker_connectors::restore(&vault, out.snapshot, &source(&c.moto, "busy", "data"), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");
    assert!(err.to_string().contains("s3://busy/data"), "{err}");
    // Another prefix of the same bucket is free.
    bunker_connectors::restore(&vault, out.snapshot, &source(&c.moto, "busy", "copy"), &NoProgress).unwrap();
    assert_eq!(c.contents("busy")["copy/data/x"].data, b"x");

    // An empty bucket backs up and restores as an empty bucket.
    c.moto.create_bucket("hollow");
    let empty = backup(&vault, &source(&c.moto, "hollow", ""), None, &NoProgress).unwrap();
    assert_eq!(empty.size, 0);
    bunker_connectors::restore(&vault, empty.snapshot, &source(&c.moto, "hollow-copy", ""), &NoProgress).unwrap();
    assert!(c.contents("hollow-copy").is_empty());

    // A directory recovery point is not a bucket.
    let dir = tempfile::tempdir().unwrap();
    let tree = vault.backup(&[dir.path()], &bunker_vault::BackupOptions::default(), &NoProgress).unwrap();
    let err = bunker_connectors::restore(&vault, tree.snapshot_id, &source(&c.moto, "never-made", ""), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::WrongShape { .. }), "{err}");

    // Unreachable server: a connection error naming the bucket.
    let mut dead = source(&c.moto, "photos", "");
    if let Source::Bucket { endpoint, .. } = &mut dead {
        *endpoint = Some(format!("http://127.0.0.1:{}", bunker_testkit::free_port()));
    }
    let err = backup(&vault, &dead, None, &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::Connection { .. }), "{err}");
    assert!(err.to_string().contains("s3://photos"), "{err}");
}
