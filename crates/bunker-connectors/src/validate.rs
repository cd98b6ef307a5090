//! Checking a restore against its recovery point, per resource type: a file tree or file
//! chunk by chunk against the manifest, a bucket's objects, a database's integrity and an
//! answer to a query; and removing scratch copies (a bucket prefix, a database). Restore
//! testing in the service decides what to check and when; the I/O is here, with the
//! connectors that wrote the data.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use bunker_vault::{NodeKind, SnapshotId, Vault};
use serde::Deserialize;

use crate::Source;

/// A query whose answer a restored database must give: the first column of its first
/// row, as text.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// SQL, run on the scratch copy only.
    pub query: &'a str,
    /// The answer.
    pub answer: &'a str,
}

/// Checks a restored file tree (or single file) against the recovery point's manifest:
/// every file's size and content chunk by chunk (each chunk read back from the vault is
/// verified against its keyed id), and no file missing or extra.
pub fn validate_tree(v: &Vault, snapshot: SnapshotId, target: &Path, tree: bool) -> std::result::Result<String, String> {
    let entries = v.ls(snapshot, None).map_err(|e| format!("cannot list the snapshot: {e}"))?;
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut expected = BTreeSet::new();
    for e in &entries {
        let path = if tree {
            // The first level is the backed-up directory itself, restored as `target`.
            match e.path.split_once('/') {
                Some((_, rel)) => {
                    expected.insert(rel.to_owned());
                    target.join(rel)
                }
                None => continue,
            }
        } else if e.node.kind == NodeKind::File {
            target.to_owned()
        } else {
            continue;
        };
        match e.node.kind {
            NodeKind::File => {
                compare_file(v, &e.node, &path).map_err(|m| format!("{}: {m}", e.path))?;
                files += 1;
                bytes += e.node.size;
            }
            NodeKind::Dir if !path.is_dir() => return Err(format!("{}: directory missing from the restore", e.path)),
            _ => {}
        }
    }
    if tree {
        let mut found = Vec::new();
        walk(target, Path::new(""), &mut found).map_err(|e| format!("cannot read the restore: {e}"))?;
        if let Some(extra) = found.iter().find(|p| !expected.contains(*p)) {
            return Err(format!("{extra}: in the restore but not in the recovery point"));
        }
    }
    Ok(format!("{files} file(s), {bytes} bytes match the recovery point's manifest"))
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in std::fs::read_dir(root.join(rel))? {
        let e = e?;
        let r = rel.join(e.file_name());
        out.push(r.to_string_lossy().into_owned());
        if e.file_type()?.is_dir() {
            walk(root, &r, out)?;
        }
    }
    Ok(())
}

fn compare_file(v: &Vault, node: &bunker_vault::Node, path: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("missing from the restore ({e})"))?;
    if meta.len() != node.size {
        return Err(format!("{} bytes restored, {} in the manifest", meta.len(), node.size));
    }
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    for (i, chunk) in node.content.iter().flatten().enumerate() {
        let expected = v.read_blob((*chunk).into()).map_err(|e| format!("chunk {i} ({chunk}): {e}"))?;
        buf.resize(expected.len(), 0);
        f.read_exact(&mut buf).map_err(|e| format!("chunk {i}: {e}"))?;
        if buf != expected {
            return Err(format!("chunk {i} ({chunk}) differs from the recovery point"));
        }
    }
    Ok(())
}

/// The bucket connector's manifest entry (`bucket/bucket-manifest.json`): what we check.
#[derive(Deserialize)]
struct BucketObject {
    key: String,
    file: String,
    size: u64,
}

#[derive(Deserialize)]
struct BucketManifest {
    objects: Vec<BucketObject>,
}

/// The plaintext of a file node, every chunk verified against its keyed id.
fn node_bytes(v: &Vault, node: &bunker_vault::Node) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(usize::try_from(node.size).unwrap_or(0));
    for chunk in node.content.iter().flatten() {
        out.extend(v.read_blob((*chunk).into()).map_err(|e| format!("chunk {chunk}: {e}"))?);
    }
    Ok(out)
}

/// An S3 client for a bucket source (keys given with the source, else the standard
/// variables, as the connector does).
fn s3_store(source: &Source) -> std::result::Result<(object_store::aws::AmazonS3, String), String> {
    let Source::Bucket { endpoint, bucket, prefix, region, access_key_id, secret_access_key } = source else {
        return Err("not a bucket".into());
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut b = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_allow_http(endpoint.as_deref().is_some_and(|e| e.starts_with("http://")));
    if let Some(e) = endpoint {
        b = b.with_endpoint(e);
    }
    if let Some(k) = access_key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID")) {
        b = b.with_access_key_id(k);
    }
    if let Some(k) = secret_access_key.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY")) {
        b = b.with_secret_access_key(k);
    }
    let store = b.build().map_err(|e| format!("s3://{bucket}/{prefix}: {e}"))?;
    Ok((store, prefix.trim_matches('/').to_owned()))
}

/// Checks the objects restored under the scratch prefix against the recovery point's
/// manifest: the same count, and each object's size and bytes (blocking; S3 calls go
/// through `handle`).
pub fn validate_bucket(v: &Vault, snapshot: SnapshotId, target: &Source, handle: &tokio::runtime::Handle) -> std::result::Result<String, String> {
    use futures_util::TryStreamExt;
    use object_store::{ObjectStore, ObjectStoreExt};
    let entries = v.ls(snapshot, None).map_err(|e| format!("cannot list the snapshot: {e}"))?;
    let nodes: BTreeMap<&str, &bunker_vault::Node> = entries.iter().map(|e| (e.path.as_str(), &e.node)).collect();
    let manifest = nodes.get("bucket/bucket-manifest.json").ok_or("the recovery point has no bucket manifest")?;
    let manifest: BucketManifest =
        serde_json::from_slice(&node_bytes(v, manifest)?).map_err(|e| format!("bucket manifest: {e}"))?;
    let (store, prefix) = s3_store(target)?;
    let listed: Vec<object_store::ObjectMeta> = handle
        .block_on(store.list(Some(&object_store::path::Path::from(prefix.as_str()))).try_collect())
        .map_err(|e| format!("cannot list the restored objects: {e}"))?;
    if listed.len() != manifest.objects.len() {
        return Err(format!("{} object(s) restored, {} in the recovery point", listed.len(), manifest.objects.len()));
    }
    let mut bytes = 0;
    for o in &manifest.objects {
        let node = nodes.get(format!("bucket/{}", o.file).as_str()).ok_or_else(|| format!("{}: no data in the recovery point", o.key))?;
        let expected = node_bytes(v, node).map_err(|e| format!("{}: {e}", o.key))?;
        let location = object_store::path::Path::from(format!("{prefix}/{}", o.key));
        let got = handle
            .block_on(async { store.get(&location).await?.bytes().await })
            .map_err(|e| format!("{}: cannot read the restored object: {e}", o.key))?;
        if got.len() as u64 != o.size || got.as_ref() != expected.as_slice() {
            return Err(format!("{}: the restored object differs from the recovery point", o.key));
        }
        bytes += o.size;
    }
    Ok(format!("{} object(s), {bytes} bytes match the recovery point", manifest.objects.len()))
}

/// Deletes every object under a scratch bucket prefix.
pub async fn delete_prefix(scratch: &Source) -> std::result::Result<(), String> {
    use futures_util::TryStreamExt;
    use object_store::ObjectStore;
    use object_store::ObjectStoreExt;
    let (store, prefix) = s3_store(scratch)?;
    let listed: Vec<object_store::ObjectMeta> = store
        .list(Some(&object_store::path::Path::from(prefix.as_str())))
        .try_collect()
        .await
        .map_err(|e| format!("cannot list the scratch objects under {prefix}: {e}"))?;
    for m in listed {
        store.delete(&m.location).await.map_err(|e| format!("cannot delete the scratch object {}: {e}", m.location))?;
    }
    Ok(())
}

/// The first column of a row, as text.
fn first_column(row: &sqlx::any::AnyRow) -> Option<String> {
    use sqlx::Row;
    row.try_get::<String, _>(0)
        .ok()
        .or_else(|| row.try_get::<i64, _>(0).ok().map(|n| n.to_string()))
        .or_else(|| row.try_get::<i32, _>(0).ok().map(|n| n.to_string()))
        .or_else(|| row.try_get::<f64, _>(0).ok().map(|n| n.to_string()))
        .or_else(|| row.try_get::<bool, _>(0).ok().map(|b| b.to_string()))
}

async fn run_query(conn: &mut sqlx::AnyConnection, q: &Expected<'_>) -> std::result::Result<String, String> {
    let row = sqlx::query(sqlx::AssertSqlSafe(q.query.to_owned()))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| format!("validation query failed: {e}"))?;
    let got = row.as_ref().and_then(first_column).unwrap_or_default();
    if got == q.answer {
        Ok(format!("validation query returned {got:?}"))
    } else {
        Err(format!("validation query returned {got:?}, expected {:?}", q.answer))
    }
}

async fn connect(url: &str) -> std::result::Result<sqlx::AnyConnection, String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url).await.map_err(|e| format!("cannot open the restored database: {e}"))
}

pub async fn validate_sqlite(path: &Path, query: Option<&Expected<'_>>) -> std::result::Result<String, String> {
    use sqlx::ConnectOptions;
    let url = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true).to_url_lossy();
    let mut conn = connect(url.as_str()).await?;
    let row = sqlx::query("PRAGMA integrity_check").fetch_one(&mut conn).await.map_err(|e| format!("PRAGMA integrity_check: {e}"))?;
    let check = first_column(&row).unwrap_or_default();
    if check != "ok" {
        return Err(format!("PRAGMA integrity_check: {check}"));
    }
    let mut message = Ok("PRAGMA integrity_check ok".to_owned());
    if let Some(q) = query {
        message = run_query(&mut conn, q).await.map(|m| format!("PRAGMA integrity_check ok; {m}"));
    }
    let _ = sqlx::Connection::close(conn).await;
    message
}

pub async fn validate_postgres(url: &str, query: Option<&Expected<'_>>) -> std::result::Result<String, String> {
    use sqlx::Connection;
    let Some(q) = query else { return Ok("database restored".into()) };
    let mut conn = connect(url).await?;
    let result = run_query(&mut conn, q).await;
    // Closed (not just dropped) so the scratch database can be dropped right after.
    let _ = conn.close().await;
    result
}

pub async fn drop_database(url: &str, db: &str) -> std::result::Result<(), String> {
    use sqlx::Executor;
    let mut conn = connect(&with_database(url, "postgres")).await?;
    // Our own generated name (hex): safe to quote into the statement.
    let sql = format!("DROP DATABASE IF EXISTS \"{db}\"");
    conn.execute(sqlx::AssertSqlSafe(sql)).await.map_err(|e| format!("cannot drop the scratch database {db}: {e}"))?;
    Ok(())
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}
