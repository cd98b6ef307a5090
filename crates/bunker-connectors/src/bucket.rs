//! S3-compatible buckets (or one prefix of a bucket): every object's bytes, headers, user
//! metadata and tags.
//!
//! Layout of a recovery point (a tree backup of a staging directory):
//!
//! ```text
//! bucket/
//!   bucket-manifest.json      {"version":1,"source":"s3://b/p","complete":true,"objects":[…]}
//!   objects/00000001-<key>    one file per object; the key with `%` → `%25` and `/` → `%2F`,
//!                             behind a sequence number that keeps names unique and short
//! ```
//!
//! Each manifest entry names the object's key relative to the source prefix, its file, size,
//! ETag, last-modified time, headers (`content-type`, `content-encoding`,
//! `content-disposition`, `content-language`, `cache-control`), user metadata
//! (`x-amz-meta-*`) and tags. Files are only a place for the bytes: the manifest is the truth,
//! so a stopped backup (partial) lists exactly the objects it downloaded. Unchanged objects
//! cost no storage in later backups because the vault deduplicates by content.
//!
//! The prefix is a folder: `logs` selects `logs/…`. Keys that object_store cannot represent
//! (empty or `.`/`..` segments, control characters, a trailing `/` as in folder markers) are
//! outside what this connector supports.
//!
//! Tags: object_store writes tags on upload but has no public call to read them, so the
//! connector sends `GET <key>?tagging` itself, signed with object_store's SigV4 signer and the
//! store's own credentials, over object_store's HTTP client. Servers without tagging
//! (HTTP 501) are backed up without tags, with a warning.
//!
//! Backup stages objects on local disk (temporary directory) before the vault reads them, and
//! restore materialises the recovery point locally before uploading: both need free space for
//! the bucket's size.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use bunker_vault::{BackupOptions, Progress, RestoreOptions, SnapshotId, Vault, VaultError};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::path::Path;
use object_store::signer::Method;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, TagSet, WriteMultipart,
};
use serde::{Deserialize, Serialize};

use crate::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Result, Source};

/// Name of the directory the snapshot holds.
const ROOT: &str = "bucket";
/// The manifest inside it.
const MANIFEST: &str = "bucket-manifest.json";
/// Where object files are, inside it.
const OBJECTS: &str = "objects";
/// Objects transferred at once.
const CONCURRENCY: usize = 8;
/// Larger objects are uploaded in parts of this size (S3's minimum part is 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// The bucket manifest (`bucket/bucket-manifest.json`).
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// Format version (1).
    version: u32,
    /// Where the objects came from, `s3://bucket/prefix`.
    source: String,
    /// False when the backup was stopped before every object was downloaded.
    complete: bool,
    /// The objects, in key order.
    objects: Vec<Object>,
}

/// One object.
#[derive(Debug, Serialize, Deserialize)]
struct Object {
    /// Key relative to the source prefix.
    key: String,
    /// Its file, relative to the `bucket` directory.
    file: String,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    /// RFC 3339.
    last_modified: String,
    /// Standard headers by lower-case name (`content-type`, …).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// User metadata (`x-amz-meta-<name>`) by name.
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    /// Object tags.
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// The headers kept, with their object_store attribute.
const HEADERS: [(&str, Attribute); 5] = [
    ("content-type", Attribute::ContentType),
    ("content-encoding", Attribute::ContentEncoding),
    ("content-disposition", Attribute::ContentDisposition),
    ("content-language", Attribute::ContentLanguage),
    ("cache-control", Attribute::CacheControl),
];

/// A connection to one bucket and prefix.
struct Bucket {
    store: Arc<AmazonS3>,
    http: HttpClient,
    /// Always `Some` until drop, which shuts it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    region: String,
    /// The bucket's URL, path-style like object_store's requests.
    bucket_url: String,
    bucket: String,
    /// The prefix without outer `/`; empty for the whole bucket.
    prefix: String,
}

impl Drop for Bucket {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Bucket {
    fn connect(source: &Source) -> Result<Bucket> {
        let Source::Bucket { endpoint, bucket, prefix, region, access_key_id, secret_access_key } = source else {
            return Err(ConnectorError::InvalidSource { reason: format!("not a bucket: {}", source.describe()) });
        };
        source.validate()?;
        let invalid = |e: &dyn std::fmt::Display| ConnectorError::InvalidSource { reason: format!("{}: {e}", source.describe()) };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let allow_http = endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket).with_region(region).with_allow_http(allow_http);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        // Keys given with the source win; else the standard variables.
        let given = access_key_id.is_some();
        if let Some(key) = access_key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID")) {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = secret_access_key.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY")) {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = env("AWS_SESSION_TOKEN").filter(|_| !given) {
            builder = builder.with_token(token);
        }
        let store = builder.build().map_err(|e| invalid(&e))?;
        let http = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http))
            .map_err(|e| invalid(&e))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bunker-bucket")
            .enable_all()
            .build()
            .map_err(|e| invalid(&format!("cannot start the S3 client's runtime: {e}")))?;
        let bucket_url = match endpoint {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        Ok(Bucket {
            store: Arc::new(store),
            http,
            runtime: Some(runtime),
            region: region.clone(),
            bucket_url,
            bucket: bucket.clone(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.as_ref().expect("runtime lives until drop").block_on(f)
    }

    fn failed(&self, what: &str, e: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::Connection { what: self.describe(), reason: format!("{what}: {e}") }
    }

    /// The object_store path of `key` (relative to the prefix).
    fn location(&self, key: &str) -> Result<Path> {
        let full = if self.prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.prefix) };
        Path::parse(&full).map_err(|e| self.failed("unsupported key", e))
    }

    /// `key` of `location` relative to the prefix.
    fn relative<'a>(&self, location: &'a Path) -> &'a str {
        let full = location.as_ref();
        if self.prefix.is_empty() {
            return full;
        }
        full.strip_prefix(self.prefix.as_str()).and_then(|r| r.strip_prefix('/')).unwrap_or(full)
    }

    /// One SigV4-signed request outside object_store's API; returns status and body.
    async fn send(&self, method: Method, url: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>)> {
        let credential = self.store.credentials().get_credential().await.map_err(|e| self.failed("credentials", e))?;
        let mut request = HttpRequest::new(body.into());
        *request.method_mut() = method;
        *request.uri_mut() = url.parse().map_err(|e| self.failed("bad URL", e))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| self.failed("signing", e))?;
        let response = self.http.execute(request).await.map_err(|e| self.failed(url, e))?;
        let status = response.status().as_u16();
        let bytes = response.into_body().bytes().await.map_err(|e| self.failed(url, e))?;
        Ok((status, bytes.to_vec()))
    }

    /// Whether the bucket exists (HEAD bucket).
    async fn exists(&self) -> Result<bool> {
        match self.send(Method::HEAD, &self.bucket_url, Vec::new()).await? {
            (200, _) => Ok(true),
            (404, _) => Ok(false),
            (status, body) => Err(self.failed("HEAD bucket", reply(status, &body))),
        }
    }

    /// Creates the bucket (in the source's region).
    async fn create(&self) -> Result<()> {
        let body = if self.region == "us-east-1" {
            Vec::new()
        } else {
            format!(
                "<CreateBucketConfiguration><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
            .into_bytes()
        };
        match self.send(Method::PUT, &self.bucket_url, body).await? {
            (200, _) => Ok(()),
            (status, body) => Err(self.failed("create bucket", reply(status, &body))),
        }
    }

    /// The tags of the object at `location` (GetObjectTagging).
    async fn tags(&self, location: &Path) -> Result<BTreeMap<String, String>> {
        let url = format!("{}/{}?tagging", self.bucket_url, encode_key(location.as_ref()));
        match self.send(Method::GET, &url, Vec::new()).await? {
            (200, body) => parse_tagging(&body).map_err(|e| self.failed(&format!("tags of {location}"), e)),
            (501, _) => {
                tracing::warn!(bucket = %self.describe(), "the server does not support object tags; not preserved");
                Ok(BTreeMap::new())
            }
            (status, body) => Err(self.failed(&format!("tags of {location}"), reply(status, &body))),
        }
    }

    /// The prefix as an object_store path; `None` for the whole bucket.
    fn prefix_path(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }

    /// Every object below the prefix.
    async fn list(&self) -> Result<Vec<ObjectMeta>> {
        let mut all: Vec<ObjectMeta> =
            self.store.list(self.prefix_path().as_ref()).try_collect().await.map_err(|e| self.failed("list", e))?;
        all.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(all)
    }

    /// Downloads one object into `dir/<file>`; `None` if it vanished or the stop flag was set
    /// meanwhile (its partial file is removed).
    async fn download(&self, meta: ObjectMeta, dir: &FsPath, seq: usize, stop: &dyn Fn() -> bool) -> Result<Option<Object>> {
        let key = self.relative(&meta.location).to_owned();
        let result = match self.store.get(&meta.location).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => {
                tracing::warn!(bucket = %self.describe(), key, "object deleted while backing up; skipped");
                return Ok(None);
            }
            Err(e) => return Err(self.failed(&format!("download {key}"), e)),
        };
        let mut headers = BTreeMap::new();
        let mut metadata = BTreeMap::new();
        for (attribute, value) in &result.attributes {
            match attribute {
                Attribute::Metadata(name) => {
                    metadata.insert(name.to_string(), value.to_string());
                }
                other => {
                    if let Some((name, _)) = HEADERS.iter().find(|(_, a)| a == other) {
                        headers.insert((*name).to_owned(), value.to_string());
                    }
                }
            }
        }
        let (etag, last_modified) = (result.meta.e_tag.clone(), result.meta.last_modified);
        let file = format!("{OBJECTS}/{}", file_name(seq, &key));
        let path = dir.join(&file);
        let mut out = File::create(&path).map_err(|e| ConnectorError::io("create", &path, e))?;
        let mut size = 0u64;
        let mut stream = result.into_stream();
        while let Some(bytes) = stream.try_next().await.map_err(|e| self.failed(&format!("download {key}"), e))? {
            if stop() {
                drop(out);
                let _ = fs::remove_file(&path);
                return Ok(None);
            }
            out.write_all(&bytes).map_err(|e| ConnectorError::io("write", &path, e))?;
            size += bytes.len() as u64;
        }
        out.set_modified(SystemTime::from(last_modified)).map_err(|e| ConnectorError::io("set times", &path, e))?;
        let tags = self.tags(&meta.location).await?;
        Ok(Some(Object { key, file, size, etag, last_modified: last_modified.to_rfc3339(), headers, metadata, tags }))
    }

    /// Uploads one object from `dir/<file>` below the prefix.
    async fn upload(&self, object: &Object, dir: &FsPath) -> Result<()> {
        let location = self.location(&object.key)?;
        let mut attributes = Attributes::new();
        for (name, value) in &object.headers {
            if let Some((_, attribute)) = HEADERS.iter().find(|(n, _)| n == name) {
                attributes.insert(attribute.clone(), AttributeValue::from(value.clone()));
            }
        }
        for (name, value) in &object.metadata {
            attributes.insert(Attribute::Metadata(name.clone().into()), AttributeValue::from(value.clone()));
        }
        let mut tags = TagSet::default();
        for (key, value) in &object.tags {
            tags.push(key, value);
        }
        let path = dir.join(&object.file);
        let mut file = File::open(&path).map_err(|e| ConnectorError::io("open", &path, e))?;
        let failed = |e| self.failed(&format!("upload {}", object.key), e);
        if object.size <= PART_SIZE as u64 {
            let mut data = Vec::with_capacity(object.size as usize);
            file.read_to_end(&mut data).map_err(|e| ConnectorError::io("read", &path, e))?;
            let options = PutOptions { tags, attributes, ..PutOptions::default() };
            self.store.put_opts(&location, PutPayload::from(data), options).await.map_err(failed)?;
            return Ok(());
        }
        let options = PutMultipartOptions { tags, attributes, ..PutMultipartOptions::default() };
        let upload = self.store.put_multipart_opts(&location, options).await.map_err(failed)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; PART_SIZE];
        loop {
            let n = file.read(&mut buf).map_err(|e| ConnectorError::io("read", &path, e))?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(failed)?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(failed)?;
        Ok(())
    }
}

fn source_missing(bucket: &Bucket) -> ConnectorError {
    ConnectorError::SourceMissing { path: PathBuf::from(format!("s3://{}", bucket.bucket)) }
}

pub(crate) fn backup(source: &Source, request: &BackupRequest<'_>) -> Result<BackupOutcome> {
    let bucket = Bucket::connect(source)?;
    let stop_flag: Option<&AtomicBool> = request.stop.as_deref();
    let stop = || stop_flag.is_some_and(|s| s.load(Ordering::Relaxed));
    if stop() {
        return Err(ConnectorError::Stopped);
    }
    if !bucket.block_on(bucket.exists())? {
        return Err(source_missing(&bucket));
    }
    let staging = tempfile::Builder::new()
        .prefix("bunker-bucket-")
        .tempdir()
        .map_err(|e| ConnectorError::io("create temporary directory in", std::env::temp_dir(), e))?;
    let root = staging.path().join(ROOT);
    fs::create_dir_all(root.join(OBJECTS)).map_err(|e| ConnectorError::io("create", &root, e))?;

    let listed = bucket.block_on(bucket.list())?;
    let total = listed.len();
    let objects: Vec<Object> = bucket.block_on(async {
        let root = root.as_path();
        let mut downloads = futures_util::stream::iter(listed.into_iter().enumerate())
            .take_while(|_| std::future::ready(!stop()))
            .map(|(seq, meta)| bucket.download(meta, root, seq + 1, &stop))
            .buffered(CONCURRENCY);
        let mut objects = Vec::new();
        while let Some(object) = downloads.next().await {
            if let Some(object) = object? {
                request.progress.item(&object.key);
                objects.push(object);
            }
        }
        Ok::<_, ConnectorError>(objects)
    })?;
    let stopped = stop() && objects.len() < total;
    if stopped && objects.is_empty() {
        return Err(ConnectorError::Stopped);
    }
    let bytes_read: u64 = objects.iter().map(|o| o.size).sum();
    let manifest = Manifest { version: 1, source: bucket.describe(), complete: !stopped, objects };
    let manifest_path = root.join(MANIFEST);
    let json = serde_json::to_vec_pretty(&manifest).expect("manifests serialize");
    fs::write(&manifest_path, json).map_err(|e| ConnectorError::io("write", &manifest_path, e))?;

    // The staged copy is complete: the stop flag has done its job and must not cut it short.
    // No parent: staged files are new every time, and judging them unchanged by metadata
    // (S3 times have one-second resolution; inodes get reused) could keep stale bytes.
    // Unchanged objects still cost nothing: their chunks are already in the vault.
    let options = BackupOptions {
        tags: request.tags.clone(),
        time: Some(request.time),
        ..BackupOptions::default()
    };
    let summary = request.vault.backup(&[&root], &options, request.progress)?;
    Ok(BackupOutcome {
        snapshot: summary.snapshot_id,
        bytes_read,
        bytes_added: summary.bytes_added,
        size: bytes_read,
        partial: stopped,
    })
}

pub(crate) fn restore(vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> Result<RestoreOutcome> {
    let bucket = Bucket::connect(target)?;
    // Refuse an occupied target before materialising anything.
    let exists = bucket.block_on(async {
        if !bucket.exists().await? {
            return Ok(false);
        }
        match bucket.store.list(bucket.prefix_path().as_ref()).next().await {
            None => Ok(true),
            Some(Ok(_)) => Err(ConnectorError::TargetExists { target: bucket.describe() }),
            Some(Err(e)) => Err(bucket.failed("list", e)),
        }
    })?;
    let staging = tempfile::Builder::new()
        .prefix("bunker-bucket-")
        .tempdir()
        .map_err(|e| ConnectorError::io("create temporary directory in", std::env::temp_dir(), e))?;
    let wrong = |reason: String| ConnectorError::WrongShape { snapshot: snapshot.to_string(), expected: "S3", reason };
    match vault.restore(snapshot, &RestoreOptions::new(staging.path()).include(ROOT), progress) {
        Ok(_) => {}
        Err(VaultError::PathNotInSnapshot { .. }) => return Err(wrong(format!("it has no `{ROOT}` directory"))),
        Err(e) => return Err(e.into()),
    }
    let root = staging.path().join(ROOT);
    let manifest_path = root.join(MANIFEST);
    let json = match fs::read(&manifest_path) {
        Ok(j) => j,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(wrong(format!("it has no `{ROOT}/{MANIFEST}`"))),
        Err(e) => return Err(ConnectorError::io("read", &manifest_path, e)),
    };
    let manifest: Manifest = serde_json::from_slice(&json).map_err(|e| wrong(format!("{MANIFEST}: {e}")))?;

    let total: u64 = manifest.objects.iter().map(|o| o.size).sum();
    let (b, dir) = (&bucket, root.as_path());
    bucket.block_on(async {
        if !exists {
            bucket.create().await?;
        }
        progress.start(bunker_vault::Phase::Restore, Some(total));
        let mut uploads = futures_util::stream::iter(&manifest.objects)
            .map(|o| async move { b.upload(o, dir).await.map(|()| o) })
            .buffer_unordered(CONCURRENCY);
        while let Some(done) = uploads.next().await {
            let o = done?;
            progress.item(&o.key);
            progress.advance(o.size);
        }
        progress.finish(bunker_vault::Phase::Restore);
        Ok::<_, ConnectorError>(())
    })?;
    Ok(RestoreOutcome { bytes: total, location: bucket.describe() })
}

/// A short, unique file name for object number `seq`.
fn file_name(seq: usize, key: &str) -> String {
    let mut name = format!("{seq:08}-");
    for c in key.chars() {
        // Names stay well below the usual 255-byte limit; the manifest has the full key.
        if name.len() >= 180 {
            break;
        }
        match c {
            '%' => name.push_str("%25"),
            '/' => name.push_str("%2F"),
            c => name.push(c),
        }
    }
    name
}

/// Percent-encodes a key for a URL path as S3 signs it: all but unreserved characters and `/`.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `HTTP <status>` and the start of the server's message.
fn reply(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()) }
}

/// Parses a GetObjectTagging reply.
fn parse_tagging(body: &[u8]) -> std::result::Result<BTreeMap<String, String>, String> {
    #[derive(Deserialize)]
    struct Tagging {
        #[serde(rename = "TagSet", default)]
        tag_set: TagList,
    }
    #[derive(Deserialize, Default)]
    struct TagList {
        #[serde(rename = "Tag", default)]
        tags: Vec<Tag>,
    }
    #[derive(Deserialize)]
    struct Tag {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Value", default)]
        value: String,
    }
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let parsed: Tagging = quick_xml::de::from_str(text).map_err(|e| e.to_string())?;
    Ok(parsed.tag_set.tags.into_iter().map(|t| (t.key, t.value)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_replies_parse_with_escapes_and_empty_sets() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
            <Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>
            <Tag><Key>team</Key><Value>a &amp; b</Value></Tag><Tag><Key>empty</Key><Value></Value></Tag>
            </TagSet></Tagging>"#;
        let tags = parse_tagging(xml).unwrap();
        assert_eq!(tags.get("team").map(String::as_str), Some("a & b"));
        assert_eq!(tags.get("empty").map(String::as_str), Some(""));
        assert!(parse_tagging(b"<Tagging><TagSet/></Tagging>").unwrap().is_empty());
        assert!(parse_tagging(b"<Tagging></Tagging>").unwrap().is_empty());
    }

    #[test]
    fn names_and_urls_escape_what_they_must() {
        assert_eq!(file_name(7, "a/b%c d"), "00000007-a%2Fb%25c d");
        assert!(file_name(1, &"x".repeat(1000)).len() < 200);
        assert_eq!(encode_key("dir/k +1é"), "dir/k%20%2B1%C3%A9");
    }
}
