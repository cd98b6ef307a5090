//! SQLite database files, backed up online while applications keep writing to them.
//!
//! Copying the file with `cp` while a transaction commits can tear it (and misses the `-wal`
//! file). `VACUUM INTO` instead writes a compact copy from inside one read transaction, so
//! the copy is the database as of one commit, in WAL and rollback-journal mode alike, and
//! it never blocks writers of a WAL database. The copy is staged in the temporary directory
//! (`$TMPDIR`), stored in the vault as one stream named like the file, and deleted.
//!
//! A restore writes a new file only: the data goes to a temporary name in the target's
//! directory, passes `PRAGMA integrity_check`, and is then renamed to the target without
//! replacing anything, so a failed restore leaves no file that looks like a database.
//!
//! SQLite is reached through sqlx (the SQLite the workspace already builds). Its API is
//! async, so each call runs on a private current-thread runtime on a thread of its own,
//! which works whether or not the caller is itself inside a tokio runtime.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bunker_vault::{Phase, Progress, SnapshotId, StreamOptions, Vault, VaultError, snapshot::SnapshotSource};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use crate::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Result, Source};

/// The first 16 bytes of every SQLite 3 database file.
const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How long a read waits for a writer's exclusive lock (rollback-journal databases).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// SQLite result codes (primary) this module tells apart.
const SQLITE_INTERRUPT: i32 = 9;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

fn path_of(source: &Source) -> Result<&Path> {
    match source {
        Source::Sqlite { path } if path.is_absolute() => Ok(path),
        Source::Sqlite { .. } => Err(ConnectorError::InvalidSource { reason: "Path must be absolute".into() }),
        other => Err(ConnectorError::InvalidSource { reason: format!("not a SQLite database: {}", other.describe()) }),
    }
}

fn stopped(stop: Option<&Arc<AtomicBool>>) -> bool {
    stop.is_some_and(|s| s.load(Ordering::Relaxed))
}

pub(crate) fn backup(source: &Source, request: &BackupRequest<'_>) -> Result<BackupOutcome> {
    let path = path_of(source)?;
    check_source(path)?;
    let stop = request.stop.as_ref();
    if stopped(stop) {
        return Err(ConnectorError::Stopped);
    }
    let name = path.file_name().map_or_else(|| "database.sqlite".to_owned(), |n| n.to_string_lossy().into_owned());
    let staging = tempfile::Builder::new()
        .prefix("bunker-sqlite-")
        .tempdir()
        .map_err(|e| ConnectorError::io("create staging directory in", std::env::temp_dir(), e))?;
    let copy = staging.path().join(&name);
    request.progress.item(&path.display().to_string());
    online_copy(path, &copy, stop.cloned())?;
    if stopped(stop) {
        return Err(ConnectorError::Stopped);
    }
    let file = fs::File::open(&copy).map_err(|e| ConnectorError::io("open", &copy, e))?;
    let options = StreamOptions {
        name,
        tags: request.tags.clone(),
        time: Some(request.time),
        stop: request.stop.clone(),
        ..StreamOptions::default()
    };
    let summary = request.vault.backup_stream(file, &options, request.progress).map_err(|e| match e {
        VaultError::Stopped => ConnectorError::Stopped,
        other => other.into(),
    })?;
    Ok(BackupOutcome {
        snapshot: summary.snapshot_id,
        bytes_read: summary.bytes_read,
        bytes_added: summary.bytes_added,
        size: summary.details.bytes_total,
        partial: false,
    })
}

/// The source exists, is a file, and starts like a SQLite database (an empty file is one
/// too, for SQLite: a database with no tables yet).
fn check_source(path: &Path) -> Result<()> {
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(ConnectorError::SourceMissing { path: path.to_owned() }),
        Err(e) => return Err(ConnectorError::io("open", path, e)),
    };
    let meta = file.metadata().map_err(|e| ConnectorError::io("stat", path, e))?;
    if !meta.is_file() {
        return Err(ConnectorError::InvalidSource { reason: format!("{} is not a file", path.display()) });
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).map_err(|e| ConnectorError::io("read", path, e))?;
    if n < head.len() || &head != HEADER {
        return Err(not_a_database(path));
    }
    Ok(())
}

fn not_a_database(path: &Path) -> ConnectorError {
    ConnectorError::InvalidSource {
        reason: format!("{} is not a SQLite database (its first bytes are not the SQLite 3 file header)", path.display()),
    }
}

/// Reads until `buf` is full or the file ends; the number of bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `VACUUM INTO dest` from a read-only connection: a consistent copy as of one commit. A set
/// stop flag interrupts the copy (checked by SQLite's progress handler).
fn online_copy(src: &Path, dest: &Path, stop: Option<Arc<AtomicBool>>) -> Result<()> {
    let dest_text = dest
        .to_str()
        .ok_or_else(|| ConnectorError::InvalidSource { reason: format!("{} is not valid UTF-8", dest.display()) })?
        .to_owned();
    let flag = stop.clone();
    let result = run_async(async move {
        let mut conn = open(src, true).await?;
        if let Some(stop) = stop {
            conn.lock_handle().await?.set_progress_handler(10_000, move || !stop.load(Ordering::Relaxed));
        }
        let copied = sqlx::query("VACUUM INTO ?1").bind(dest_text).execute(&mut conn).await.map(drop);
        let closed = conn.close().await;
        copied.and(closed)
    });
    result.map_err(|e| match sqlite_code(&e) {
        Some(SQLITE_INTERRUPT) if stopped(flag.as_ref()) => ConnectorError::Stopped,
        _ => sqlite_error(src, "VACUUM INTO", &e),
    })
}

/// A connection to the database file at `path`, never creating it.
async fn open(path: &Path, read_only: bool) -> sqlx::Result<SqliteConnection> {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(BUSY_TIMEOUT)
        .disable_statement_logging()
        .connect()
        .await
}

/// The primary SQLite result code of a database error.
fn sqlite_code(e: &sqlx::Error) -> Option<i32> {
    let sqlx::Error::Database(db) = e else { return None };
    db.code()?.parse::<i32>().ok().map(|c| c & 0xff)
}

/// Maps a SQLite failure on database `path` during `what` to the connector's terms.
fn sqlite_error(path: &Path, what: &str, e: &sqlx::Error) -> ConnectorError {
    match sqlite_code(e) {
        Some(SQLITE_NOTADB) => not_a_database(path),
        Some(SQLITE_CANTOPEN) if !path.exists() => ConnectorError::SourceMissing { path: path.to_owned() },
        _ => ConnectorError::Tool { tool: format!("SQLite {what}"), reason: format!("{}: {e}", path.display()) },
    }
}

/// Runs a future to completion on a private current-thread runtime on a new thread: a thread
/// of its own never is inside another runtime, so this neither panics nor blocks a caller's
/// executor thread that happens to call a connector.
fn run_async<T: Send>(fut: impl Future<Output = sqlx::Result<T>> + Send) -> sqlx::Result<T> {
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(sqlx::Error::Io)?;
            rt.block_on(fut)
        });
        worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

pub(crate) fn restore(vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> Result<RestoreOutcome> {
    let path = path_of(target)?;
    let exists = || ConnectorError::TargetExists { target: path.display().to_string() };
    match fs::symlink_metadata(path) {
        Ok(_) => return Err(exists()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(ConnectorError::io("stat", path, e)),
    }
    let snap = vault.snapshot(snapshot)?;
    let SnapshotSource::Stream { .. } = snap.source else {
        return Err(ConnectorError::WrongShape {
            snapshot: snapshot.to_string(),
            expected: "SQLite",
            reason: "it holds directory trees, not one database file".into(),
        });
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("/"));
    fs::create_dir_all(dir).map_err(|e| ConnectorError::io("create directory", dir, e))?;
    let base = path.file_name().map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{base}.restore-"))
        .tempfile_in(dir)
        .map_err(|e| ConnectorError::io("create temporary file in", dir, e))?;
    let tmp_path = tmp.path().to_owned();

    progress.start(Phase::Restore, Some(snap.summary.bytes_total));
    let bytes = {
        let mut out = ProgressWriter { inner: std::io::BufWriter::new(tmp.as_file()), progress };
        vault.restore_stream(snapshot, &mut out)?
    };
    tmp.as_file().sync_all().map_err(|e| ConnectorError::io("sync", &tmp_path, e))?;
    check_restored(&tmp_path, snapshot)?;
    tmp.persist_noclobber(path).map_err(|e| match e.error.kind() {
        ErrorKind::AlreadyExists => exists(),
        _ => ConnectorError::io("rename into place", path, e.error),
    })?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| ConnectorError::io("sync directory", dir, e))?;
    progress.finish(Phase::Restore);
    Ok(RestoreOutcome { bytes, location: path.display().to_string() })
}

/// The restored bytes are a SQLite database that passes `PRAGMA integrity_check`.
fn check_restored(file: &Path, snapshot: SnapshotId) -> Result<()> {
    let wrong = |reason: String| ConnectorError::WrongShape { snapshot: snapshot.to_string(), expected: "SQLite", reason };
    let mut head = [0u8; 16];
    let n = fs::File::open(file)
        .and_then(|mut f| read_up_to(&mut f, &mut head))
        .map_err(|e| ConnectorError::io("read", file, e))?;
    if n < head.len() || &head != HEADER {
        return Err(wrong("its data is not a SQLite database file".into()));
    }
    let problems = integrity_check(file).map_err(|e| sqlite_error(file, "integrity check", &e))?;
    if problems != ["ok"] {
        let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
        return Err(wrong(format!("the restored database fails PRAGMA integrity_check: {}", shown.join("; "))));
    }
    Ok(())
}

/// The rows of `PRAGMA integrity_check` (`["ok"]` for a sound database).
fn integrity_check(file: &Path) -> sqlx::Result<Vec<String>> {
    let file = file.to_owned();
    run_async(async move {
        let mut conn = open(&file, true).await?;
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await?;
        conn.close().await?;
        Ok(rows)
    })
}

/// Reports bytes written to the progress sink (restores write through it).
pub(crate) struct ProgressWriter<'a, W: Write> {
    pub(crate) inner: W,
    pub(crate) progress: &'a dyn Progress,
}

impl<W: Write> Write for ProgressWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
