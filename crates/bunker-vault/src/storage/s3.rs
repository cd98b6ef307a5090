//! Vault objects in an S3-compatible bucket, through `object_store`.
//!
//! Each object is one S3 key, `<prefix>/<object path>`. A single PUT is atomic in S3 (readers
//! see the old object, the new one, or nothing, never part of one) and durable when it is
//! acknowledged, so writes need no temporary name. S3 is strongly consistent (read-after-write
//! and list-after-write), so a listing sees every write that completed before it. `object_store` is async; the [`Storage`]
//! trait is synchronous because the engine's hot paths run on plain threads, so the storage
//! owns a small tokio runtime and blocks on it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use super::{ObjectInfo, ObjectKey, ObjectKind, Storage};
use crate::error::{Result, VaultError};

/// Where an S3 vault lives and how to reach it.
#[derive(Clone, Default)]
pub struct S3Config {
    /// Server URL, e.g. `http://127.0.0.1:9000`; `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix of the vault inside the bucket (outer `/` are ignored); may be empty.
    pub prefix: String,
    /// Region; `None` means `us-east-1` (what most S3-compatible servers expect).
    pub region: Option<String>,
    /// Access key id; with no keys, `object_store`'s default credential chain applies.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token for temporary credentials.
    pub session_token: Option<String>,
    /// Whether plain `http://` endpoints are allowed (local test servers, private networks).
    pub allow_http: bool,
    /// How often `object_store` retries a failed request itself before reporting it
    /// (`None`: its default, 10).
    pub max_retries: Option<usize>,
    /// How long those retries may take in total (`None`: its default, 3 minutes).
    pub retry_timeout: Option<Duration>,
}

impl fmt::Debug for S3Config {
    // Hand-written so the secret never ends up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "<redacted>"))
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("allow_http", &self.allow_http)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .finish()
    }
}

impl S3Config {
    /// Parses `s3://bucket[/prefix]` and fills the rest from the standard AWS variables
    /// (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`), as the AWS tools do. An `http://` endpoint
    /// allows plain HTTP, since naming one is an explicit choice.
    pub fn from_url(url: &str) -> Result<Self> {
        let mut config = Self::parse_url(url)?;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        config.endpoint = var("AWS_ENDPOINT_URL");
        config.allow_http = config.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        config.access_key_id = var("AWS_ACCESS_KEY_ID");
        config.secret_access_key = var("AWS_SECRET_ACCESS_KEY");
        config.session_token = var("AWS_SESSION_TOKEN");
        config.region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
        Ok(config)
    }

    /// Bucket and prefix of `s3://bucket[/prefix]`, everything else unset.
    pub fn parse_url(url: &str) -> Result<Self> {
        let invalid = |why: &str| VaultError::InvalidOptions { reason: format!("`{url}` {why}") };
        let rest = url.strip_prefix("s3://").ok_or_else(|| invalid("is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("names no bucket"));
        }
        Ok(Self { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned(), ..Self::default() })
    }
}

/// A vault in an S3-compatible bucket.
pub struct S3Storage {
    store: Arc<dyn ObjectStore>,
    /// Always `Some` until drop, which takes it to shut it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    config: S3Config,
}

impl fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("endpoint", &self.config.endpoint)
            .field("bucket", &self.config.bucket)
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

impl Drop for S3Storage {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime: never block here.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl S3Storage {
    /// Storage in the bucket and prefix of `config`. Nothing is contacted until the first call.
    pub fn new(config: S3Config) -> Result<Self> {
        let invalid = |reason: String| VaultError::InvalidOptions { reason };
        if config.bucket.is_empty() {
            return Err(invalid("S3 storage: no bucket given".to_owned()));
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(config.region.as_deref().unwrap_or("us-east-1"))
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &config.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token);
        }
        if config.max_retries.is_some() || config.retry_timeout.is_some() {
            let default = RetryConfig::default();
            builder = builder.with_retry(RetryConfig {
                max_retries: config.max_retries.unwrap_or(default.max_retries),
                retry_timeout: config.retry_timeout.unwrap_or(default.retry_timeout),
                backoff: default.backoff,
            });
        }
        let store = builder.build().map_err(|e| invalid(format!("S3 storage: {e}")))?;
        // Two workers drive the sockets; the futures themselves run on the calling threads
        // (`block_on`), so the engine's own worker threads give the parallelism.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bunker-s3")
            .enable_all()
            .build()
            .map_err(|e| invalid(format!("S3 storage: cannot start its runtime: {e}")))?;
        Ok(Self { store: Arc::new(store), runtime: Some(runtime), config })
    }

    /// The configuration this storage was made with.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// The S3 key of `rel` (a `/`-separated path below the vault root).
    fn location(&self, rel: &str) -> Path {
        match self.config.prefix.trim_matches('/') {
            "" => Path::from(rel),
            prefix => Path::from(format!("{prefix}/{rel}")),
        }
    }

    /// Runs `f` to completion on the storage's runtime.
    fn run<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self.runtime.as_ref().expect("runtime lives until drop");
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(f);
        }
        // Called from inside some runtime (an async caller that did not use
        // `spawn_blocking`): `block_on` would panic there, so block a helper thread instead.
        std::thread::scope(|s| s.spawn(|| rt.block_on(f)).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    fn head(&self, key: &ObjectKey) -> Result<Option<u64>> {
        match self.run(self.store.head(&self.location(&key.path()))) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(map_err("stat", key, e)),
        }
    }
}

/// Maps an `object_store` error to the crate's, deciding whether a retry may help.
fn map_err(op: &'static str, key: &ObjectKey, e: object_store::Error) -> VaultError {
    use object_store::Error as E;
    let retryable = match &e {
        E::NotFound { .. } => return VaultError::NotFound { key: *key },
        E::Generic { source, .. } => transient(source.as_ref()),
        // Permissions, credentials, preconditions, invalid paths, unsupported operations.
        _ => false,
    };
    VaultError::Storage { op, key: *key, retryable, source: std::io::Error::other(e) }
}

/// Whether a generic failure (which `object_store` has already retried itself) is of the
/// passing kind: network trouble, timeouts, server errors and throttling are; client errors
/// (4xx) and undecodable responses are not.
fn transient(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(http) = err.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Timeout | HttpErrorKind::Interrupted
            );
        }
        // The status-carrying error type is private to `object_store`; its message is not.
        if let Some(status) = status_in(&err.to_string()) {
            return status >= 500 || status == 408 || status == 429;
        }
        cur = err.source();
    }
    false
}

/// The HTTP status in an `object_store` message ("... status code: 503 ...").
fn status_in(msg: &str) -> Option<u16> {
    let (_, rest) = msg.split_once("status code: ")?;
    rest.get(..3)?.parse().ok()
}

impl Storage for S3Storage {
    fn list(&self, kind: ObjectKind) -> Result<Vec<ObjectInfo>> {
        if kind == ObjectKind::Config {
            // S3 lists by directory-like prefix: `config` is a single known key, ask for it.
            let key = ObjectKey::Config;
            return Ok(self.head(&key)?.map(|size| ObjectInfo { key, size }).into_iter().collect());
        }
        let dir = self.location(kind.dir());
        // Listing is about no one object; the error names the kind through `op`.
        let op = match kind {
            ObjectKind::Key => "list keys/",
            ObjectKind::Pack => "list data/",
            ObjectKind::Index => "list index/",
            ObjectKind::Snapshot => "list snapshots/",
            _ => "list",
        };
        let metas: Vec<_> =
            self.run(self.store.list(Some(&dir)).try_collect()).map_err(|e| map_err(op, &ObjectKey::Config, e))?;
        let mut out = Vec::with_capacity(metas.len());
        for meta in metas {
            let Some(key) = meta.location.filename().and_then(|name| ObjectKey::from_name(kind, name)) else {
                continue; // strangers
            };
            // Only objects at their canonical place: what `read` can find again.
            if meta.location == self.location(&key.path()) {
                out.push(ObjectInfo { key, size: meta.size });
            }
        }
        Ok(out)
    }

    fn read(&self, key: &ObjectKey) -> Result<Vec<u8>> {
        let location = self.location(&key.path());
        let bytes = self
            .run(async {
                let got = self.store.get(&location).await?;
                got.bytes().await
            })
            .map_err(|e| map_err("read", key, e))?;
        Ok(bytes.into())
    }

    fn read_range(&self, key: &ObjectKey, offset: u64, len: u64) -> Result<Vec<u8>> {
        let short = |op| VaultError::Storage {
            op,
            key: *key,
            retryable: false,
            source: std::io::ErrorKind::UnexpectedEof.into(),
        };
        if len == 0 {
            // S3 has no empty ranges; the object must still exist and be long enough.
            return match self.head(key)? {
                None => Err(VaultError::NotFound { key: *key }),
                Some(size) if size < offset => Err(short("read range")),
                Some(_) => Ok(Vec::new()),
            };
        }
        let end = offset.checked_add(len).ok_or_else(|| short("read range"))?;
        let location = self.location(&key.path());
        let bytes = self
            .run(self.store.get_range(&location, offset..end))
            .map_err(|e| map_err("read range", key, e))?;
        // A range past the end comes back short (or as an error, depending on the server).
        if bytes.len() as u64 != len {
            return Err(short("read range"));
        }
        Ok(bytes.into())
    }

    fn write(&self, key: &ObjectKey, data: &[u8]) -> Result<()> {
        let location = self.location(&key.path());
        // The payload must be owned: the request is signed over it and may be resent.
        let payload = PutPayload::from(data.to_vec());
        self.run(self.store.put(&location, payload)).map(drop).map_err(|e| map_err("write", key, e))
    }

    fn delete(&self, key: &ObjectKey) -> Result<()> {
        match self.run(self.store.delete(&self.location(&key.path()))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err("delete", key, e)),
        }
    }

    fn exists(&self, key: &ObjectKey) -> Result<bool> {
        Ok(self.head(key)?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let c = S3Config::parse_url("s3://bucket/some/prefix/").unwrap();
        assert_eq!((c.bucket.as_str(), c.prefix.as_str()), ("bucket", "some/prefix"));
        let c = S3Config::parse_url("s3://bucket").unwrap();
        assert_eq!((c.bucket.as_str(), c.prefix.as_str()), ("bucket", ""));
        assert!(S3Config::parse_url("s3:///prefix").is_err());
        assert!(S3Config::parse_url("/local/path").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c = S3Config { secret_access_key: Some("hunter2".into()), ..S3Config::default() };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn classifies_statuses() {
        assert_eq!(status_in("Server returned non-2xx status code: 503 Service Unavailable: "), Some(503));
        assert_eq!(status_in("no status here"), None);
        let e = std::io::Error::other("Server returned non-2xx status code: 400 Bad Request: ");
        assert!(!transient(&e));
        let e = std::io::Error::other("Server returned non-2xx status code: 503 Service Unavailable: ");
        assert!(transient(&e));
    }
}
