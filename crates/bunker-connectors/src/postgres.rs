//! PostgreSQL databases, logically: a `pg_dump` custom-format archive streamed straight into
//! the vault, and `pg_restore` into a new database.
//!
//! `pg_dump` reads the whole database in one repeatable-read transaction, so the archive is
//! the database as of one commit while applications keep writing. Its output goes through a
//! pipe into [`Vault::backup_stream`] with no local copy. The archive is written uncompressed
//! (`--compress=0`): the vault compresses anyway, and uncompressed archives of a database that
//! changed a little share most chunks with the previous one, which compressed ones do not.
//!
//! A failed `pg_dump` must not leave a recovery point behind. The stream the vault reads
//! ends only once `pg_dump` has exited: at the end of its output the reader waits for the
//! exit status and, if it is not success, fails the read, which fails the stream backup
//! before its manifest is written.
//!
//! A restore creates the target database (the URL's database must not exist yet), then
//! feeds the archive from the vault into `pg_restore --no-owner --exit-on-error`; if that
//! fails the new database is dropped again, so no half-restored database remains.
//!
//! The tools are found in `$BUNKER_PG_BIN_DIR`, else on the `PATH`, else in the newest
//! `/usr/lib/postgresql/<version>/bin`. `pg_dump` must be at least the server's major version.
//! A password in the URI is taken out of it and given to the tools as `PGPASSWORD`: a
//! command line is readable by every local user, a process's environment only by its
//! owner. Without one, `PGPASSWORD` or `~/.pgpass` apply; the tools never prompt.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

use bunker_vault::{Phase, Progress, SnapshotId, StreamOptions, Vault, VaultError, snapshot::SnapshotSource};

use crate::sqlite::ProgressWriter;
use crate::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Result, Source};

/// Environment variable naming the directory of the PostgreSQL client tools.
const BIN_DIR_VAR: &str = "BUNKER_PG_BIN_DIR";

/// How long the tools try to connect unless `PGCONNECT_TIMEOUT` says otherwise, so an
/// unreachable server fails the job instead of hanging it.
const CONNECT_TIMEOUT_SECS: &str = "30";

/// How much of a tool's error output is kept for the error message.
const STDERR_KEEP: usize = 16 * 1024;

/// The source's URI without its password, and the password.
fn url_of(source: &Source) -> Result<(String, Option<String>)> {
    match source {
        Source::Postgresql { url } => {
            source.validate()?;
            split_password(url)
        }
        other => Err(ConnectorError::InvalidSource { reason: format!("not a PostgreSQL database: {}", other.describe()) }),
    }
}

/// `url` without its password (user information or `password=` parameter), and the
/// password, percent-decoded as libpq would.
fn split_password(url: &str) -> Result<(String, Option<String>)> {
    let invalid = |reason: &str| ConnectorError::InvalidSource { reason: reason.to_owned() };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid("Url must be a postgresql:// connection URI"))?;
    let bad_password = || invalid("bad percent-encoding in the Url's password");
    let mut password = None;
    // As the user information ends at the last `@` before the path, a password may hold `@`.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (user, host_on) = match rest[..authority_end].rfind('@') {
        Some(at) => {
            let (user, pass) = rest[..at].split_once(':').unwrap_or((&rest[..at], ""));
            if !pass.is_empty() {
                password = Some(percent_decode_text(pass).ok_or_else(bad_password)?);
            }
            (Some(user), &rest[at + 1..])
        }
        None => (None, rest),
    };
    let (before_query, query) = host_on.split_once('?').map_or((host_on, None), |(b, q)| (b, Some(q)));
    let mut kept = Vec::new();
    for param in query.into_iter().flat_map(|q| q.split('&')) {
        match param.strip_prefix("password=") {
            Some(value) => password = Some(percent_decode_text(value).ok_or_else(bad_password)?),
            None => kept.push(param),
        }
    }
    let mut out = format!("{scheme}://");
    if let Some(user) = user {
        out.push_str(user);
        out.push('@');
    }
    out.push_str(before_query);
    if query.is_some() && !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Ok((out, password))
}

pub(crate) fn backup(source: &Source, request: &BackupRequest<'_>) -> Result<BackupOutcome> {
    let (url, password) = url_of(source)?;
    let parts = UrlParts::parse(&url)?;
    let stop = request.stop.as_deref();
    let stop_requested = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
    if stop_requested() {
        return Err(ConnectorError::Stopped);
    }
    let pg_dump = tool("pg_dump")?;
    let mut child = command(&pg_dump, password.as_deref())
        .args(["--format=custom", "--compress=0", "--no-password"])
        .arg(format!("--dbname={url}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error("pg_dump", &pg_dump, &e))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        unreachable!("both streams were requested as pipes");
    };
    let child = Mutex::new(child);
    let name = format!("{}.dump", parts.database.as_deref().filter(|d| !d.is_empty()).map_or("database".into(), file_safe));
    let options = StreamOptions {
        name,
        tags: request.tags.clone(),
        time: Some(request.time),
        stop: request.stop.clone(),
        ..StreamOptions::default()
    };
    request.progress.item(&source.describe());

    let (result, killed, errors) = std::thread::scope(|s| {
        let errors = s.spawn(|| keep_tail(stderr));
        // Kills pg_dump as soon as the stop flag is set, even while it produces no output.
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let (child_ref, stop_requested) = (&child, &stop_requested);
        let watcher = s.spawn(move || {
            loop {
                match done_rx.recv_timeout(Duration::from_millis(50)) {
                    Err(mpsc::RecvTimeoutError::Timeout) if stop_requested() => {
                        let _ = lock(child_ref).kill();
                        return true;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return false,
                }
            }
        });
        let reader = DumpReader { out: stdout, child: &child };
        let result = request.vault.backup_stream(reader, &options, request.progress);
        let _ = done_tx.send(());
        let killed = watcher.join().unwrap_or(false);
        // The vault may have failed mid-stream: pg_dump must not outlive this call.
        let mut c = lock(&child);
        if c.try_wait().ok().flatten().is_none() {
            let _ = c.kill();
        }
        let _ = c.wait();
        drop(c);
        (result, killed, errors.join().unwrap_or_default())
    });
    let status = lock(&child).try_wait().ok().flatten();
    let failed = status.filter(|s| !s.success());
    match result {
        Ok(summary) => {
            if let Some(status) = failed {
                // Not reachable through `DumpReader`, which fails the stream first; never keep
                // a dump whose writer failed.
                request.vault.forget(&[summary.snapshot_id])?;
                return Err(tool_failure("pg_dump", source, status, &errors));
            }
            Ok(BackupOutcome {
                snapshot: summary.snapshot_id,
                bytes_read: summary.bytes_read,
                bytes_added: summary.bytes_added,
                size: summary.details.bytes_total,
                partial: false,
            })
        }
        Err(_) if killed => Err(ConnectorError::Stopped),
        Err(VaultError::Stopped) => Err(ConnectorError::Stopped),
        Err(e) => match failed {
            Some(status) => Err(tool_failure("pg_dump", source, status, &errors)),
            None => Err(e.into()),
        },
    }
}

fn lock(child: &Mutex<Child>) -> std::sync::MutexGuard<'_, Child> {
    child.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `pg_dump`'s output, which ends (without error) only once `pg_dump` exited successfully.
struct DumpReader<'a> {
    out: ChildStdout,
    child: &'a Mutex<Child>,
}

impl Read for DumpReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.out.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let status = wait(self.child)?;
            if !status.success() {
                return Err(io::Error::other(format!("pg_dump failed ({status})")));
            }
        }
        Ok(n)
    }
}

/// Waits for the child without holding the lock, so the stop watcher can still kill it.
fn wait(child: &Mutex<Child>) -> io::Result<ExitStatus> {
    loop {
        if let Some(status) = lock(child).try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn restore(vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> Result<RestoreOutcome> {
    let (url, password) = url_of(target)?;
    let parts = UrlParts::parse(&url)?;
    let password = password.as_deref();
    let Some(database) = parts.database.clone().filter(|d| !d.is_empty()) else {
        return Err(ConnectorError::InvalidSource {
            reason: format!("{}: the Url must name the new database to restore into", target.describe()),
        });
    };
    let snap = vault.snapshot(snapshot)?;
    let SnapshotSource::Stream { .. } = snap.source else {
        return Err(ConnectorError::WrongShape {
            snapshot: snapshot.to_string(),
            expected: "PostgreSQL",
            reason: "it holds directory trees, not a pg_dump archive".into(),
        });
    };
    let maintenance = parts.with_database("postgres");
    create_database(&maintenance, password, &database, target)?;
    progress.start(Phase::Restore, Some(snap.summary.bytes_total));
    match pg_restore(vault, snapshot, &url, password, target, progress) {
        Ok(bytes) => {
            progress.finish(Phase::Restore);
            Ok(RestoreOutcome { bytes, location: target.describe() })
        }
        Err(e) => {
            if let Err(drop_error) = drop_database(&maintenance, password, &database, target) {
                tracing::warn!(database = %target.describe(), error = %drop_error,
                    "could not drop the partly restored database");
            }
            Err(e)
        }
    }
}

/// `CREATE DATABASE` through `createdb`, connected to the server's maintenance database.
fn create_database(maintenance: &str, password: Option<&str>, database: &str, target: &Source) -> Result<()> {
    let createdb = tool("createdb")?;
    let out = command(&createdb, password)
        .arg("--no-password")
        .arg(format!("--maintenance-db={maintenance}"))
        .arg("--")
        .arg(database)
        .output()
        .map_err(|e| spawn_error("createdb", &createdb, &e))?;
    if out.status.success() {
        return Ok(());
    }
    let errors = String::from_utf8_lossy(&out.stderr);
    if errors.contains("already exists") {
        return Err(ConnectorError::TargetExists { target: target.describe() });
    }
    Err(tool_failure("createdb", target, out.status, &errors))
}

/// `DROP DATABASE` of a database this restore created.
fn drop_database(maintenance: &str, password: Option<&str>, database: &str, target: &Source) -> Result<()> {
    let dropdb = tool("dropdb")?;
    let out = command(&dropdb, password)
        .args(["--no-password", "--if-exists"])
        .arg(format!("--maintenance-db={maintenance}"))
        .arg("--")
        .arg(database)
        .output()
        .map_err(|e| spawn_error("dropdb", &dropdb, &e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(tool_failure("dropdb", target, out.status, &String::from_utf8_lossy(&out.stderr)))
}

/// Streams the archive from the vault into `pg_restore`; the bytes fed.
fn pg_restore(vault: &Vault, snapshot: SnapshotId, url: &str, password: Option<&str>, target: &Source, progress: &dyn Progress) -> Result<u64> {
    let pg_restore = tool("pg_restore")?;
    let mut child = command(&pg_restore, password)
        .args(["--no-owner", "--exit-on-error", "--no-password"])
        .arg(format!("--dbname={url}"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error("pg_restore", &pg_restore, &e))?;
    let (Some(stdin), Some(stderr)) = (child.stdin.take(), child.stderr.take()) else {
        unreachable!("both streams were requested as pipes");
    };
    let (fed, errors, status) = std::thread::scope(|s| {
        let feeder = s.spawn(move || {
            let mut out = ProgressWriter { inner: io::BufWriter::with_capacity(1 << 20, stdin), progress };
            // Dropping the writer closes pg_restore's input: the end of the archive.
            vault.restore_stream(snapshot, &mut out)
        });
        let errors = keep_tail(stderr);
        let status = child.wait();
        let fed = feeder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (fed, errors, status)
    });
    let status = status.map_err(|e| ConnectorError::Tool { tool: "pg_restore".into(), reason: format!("waiting for it: {e}") })?;
    if !status.success() {
        return Err(tool_failure("pg_restore", target, status, &errors));
    }
    Ok(fed?)
}

/// A command for a PostgreSQL tool: no input, no password prompt, a connect timeout, the
/// URI's password (if any) in its environment.
fn command(program: &Path, password: Option<&str>) -> Command {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null());
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    if std::env::var_os("PGCONNECT_TIMEOUT").is_none() {
        cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS);
    }
    cmd
}

/// Reads a tool's error output to its end, keeping the last [`STDERR_KEEP`] bytes.
fn keep_tail(mut r: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_KEEP {
                    kept.drain(..kept.len() - STDERR_KEEP);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if kept.len() > STDERR_KEEP {
        kept.drain(..kept.len() - STDERR_KEEP);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The error for a tool that exited with `status`: a connection error when its output says
/// the server or database could not be reached, else a tool error with its last lines.
fn tool_failure(tool: &str, resource: &Source, status: ExitStatus, errors: &str) -> ConnectorError {
    let message = message_of(tool, errors);
    if is_connection_failure(errors) {
        return ConnectorError::Connection { what: resource.describe(), reason: message };
    }
    let reason = if message.is_empty() { format!("{status}, no error output") } else { format!("{status}: {message}") };
    ConnectorError::Tool { tool: tool.to_owned(), reason }
}

/// The last few lines of a tool's error output on one line, without the `tool: error:` tags.
fn message_of(tool: &str, errors: &str) -> String {
    let lines: Vec<&str> = errors.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(6);
    lines[start..]
        .iter()
        .map(|l| {
            let l = l.strip_prefix(tool).and_then(|r| r.strip_prefix(": ")).unwrap_or(l);
            l.strip_prefix("error: ").unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether libpq's messages say the connection itself failed (server unreachable, refused,
/// authentication, unknown database or role) rather than something later.
fn is_connection_failure(errors: &str) -> bool {
    let e = errors.to_lowercase();
    const SIGNS: [&str; 9] = [
        "connection to server",
        "could not connect to server",
        "connection refused",
        "could not translate host name",
        "password authentication failed",
        "no password supplied",
        "no pg_hba.conf entry",
        "timeout expired",
        "server does not support ssl",
    ];
    SIGNS.iter().any(|s| e.contains(s))
        || (e.contains("fatal:") && (e.contains("database \"") || e.contains("role \"")) && e.contains("does not exist"))
}

fn spawn_error(tool: &str, path: &Path, e: &io::Error) -> ConnectorError {
    ConnectorError::Tool { tool: tool.to_owned(), reason: format!("cannot run {}: {e}", path.display()) }
}

/// Where a PostgreSQL client tool is: `$BUNKER_PG_BIN_DIR`, the `PATH`, or the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn tool(name: &str) -> Result<PathBuf> {
    let missing = |reason: String| ConnectorError::Tool { tool: name.to_owned(), reason };
    if let Some(dir) = std::env::var_os(BIN_DIR_VAR).filter(|d| !d.is_empty()) {
        let path = Path::new(&dir).join(name);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(missing(format!("not found in {BIN_DIR_VAR} ({})", Path::new(&dir).display())))
        };
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p)));
    if let Some(path) = on_path {
        return Ok(path);
    }
    newest_versioned(Path::new("/usr/lib/postgresql"), name).ok_or_else(|| {
        missing(format!(
            "not found on the PATH or in /usr/lib/postgresql/*/bin (install the PostgreSQL client tools, or set {BIN_DIR_VAR})"
        ))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `<root>/<version>/bin/<name>` for the highest version having it (9.6 < 15 < 17).
fn newest_versioned(root: &Path, name: &str) -> Option<PathBuf> {
    let version = |n: &OsStr| -> Option<Vec<u32>> { n.to_str()?.split('.').map(|p| p.parse().ok()).collect() };
    std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            Some((version(&e.file_name())?, e.path().join("bin").join(name)))
        })
        .filter(|(_, p)| is_executable(p))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, p)| p)
}

/// A file name made of a database name: path separators and control characters replaced.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c == '/' || c.is_control() { '_' } else { c }).collect()
}

/// A `postgresql://` URI cut where the database name is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UrlParts {
    /// `postgresql://user@host:port`, everything before the path.
    base: String,
    /// The database (percent-decoded); `None` when the URI has no path.
    database: Option<String>,
    /// `?…` including the question mark, or empty.
    query: String,
}

impl UrlParts {
    fn parse(url: &str) -> Result<UrlParts> {
        let invalid = |reason: &str| ConnectorError::InvalidSource { reason: reason.to_owned() };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid("Url must be a postgresql:// connection URI"))?;
        let (before_query, query) = match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if query.split(['?', '&']).any(|p| p.starts_with("dbname=")) {
            return Err(invalid("Url must name the database in its path, not with a dbname= parameter"));
        }
        let (authority, database) = match before_query.find('/') {
            Some(i) => (&before_query[..i], Some(percent_decode(&before_query[i + 1..])?)),
            None => (before_query, None),
        };
        Ok(UrlParts { base: format!("{scheme}://{authority}"), database, query: query.to_owned() })
    }

    /// The same server, user and parameters, another database.
    fn with_database(&self, database: &str) -> String {
        let mut encoded = String::new();
        for b in database.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                encoded.push(char::from(b));
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        format!("{}/{encoded}{}", self.base, self.query)
    }
}

fn percent_decode(s: &str) -> Result<String> {
    percent_decode_text(s).ok_or_else(|| ConnectorError::InvalidSource { reason: format!("bad percent-encoding in database name `{s}`") })
}

fn percent_decode_text(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_cut_at_the_database() {
        let p = UrlParts::parse("postgresql://app:pw@db.example:5433/my%20db?sslmode=require").unwrap();
        assert_eq!(p.database.as_deref(), Some("my db"));
        assert_eq!(p.with_database("postgres"), "postgresql://app:pw@db.example:5433/postgres?sslmode=require");
        assert_eq!(p.with_database("a b/c"), "postgresql://app:pw@db.example:5433/a%20b%2Fc?sslmode=require");
        let p = UrlParts::parse("postgres://h").unwrap();
        assert_eq!(p.database, None);
        assert_eq!(p.with_database("postgres"), "postgres://h/postgres");
        assert!(UrlParts::parse("postgresql://h/x?dbname=y").is_err());
        assert!(UrlParts::parse("postgresql://h/%zz").is_err());
    }

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        let split = |u: &str| split_password(u).unwrap();
        assert_eq!(split("postgresql://backup:S%40cret@127.0.0.1:5432/crm"), ("postgresql://backup@127.0.0.1:5432/crm".into(), Some("S@cret".into())));
        assert_eq!(split("postgresql://u:p@ss@h/db?sslmode=require"), ("postgresql://u@h/db?sslmode=require".into(), Some("p@ss".into())));
        assert_eq!(split("postgresql://h/db?user=u&password=pw&sslmode=require"), ("postgresql://h/db?user=u&sslmode=require".into(), Some("pw".into())));
        assert_eq!(split("postgresql://h/db?password=pw"), ("postgresql://h/db".into(), Some("pw".into())));
        for plain in ["postgresql://u@h/db", "postgres://h", "postgresql://h:5432/db?sslmode=require"] {
            assert_eq!(split(plain), (plain.into(), None));
        }
        let e = split_password("postgresql://u:%zzSECRET@h/db").unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[test]
    fn connection_failures_are_told_from_other_failures() {
        let refused = "pg_dump: error: connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\
                       \tIs the server running on that host and accepting TCP/IP connections?\n";
        assert!(is_connection_failure(refused));
        assert_eq!(
            message_of("pg_dump", refused),
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused \
             Is the server running on that host and accepting TCP/IP connections?"
        );
        assert!(is_connection_failure("FATAL:  database \"nope\" does not exist"));
        assert!(!is_connection_failure("pg_dump: error: query failed: ERROR:  relation \"t\" does not exist"));
        assert!(!is_connection_failure("pg_restore: error: could not execute query: ERROR:  syntax error"));
        assert_eq!(file_safe("a/b"), "a_b");
    }

    #[test]
    fn versions_compare_numerically() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "13", "x"] {
            let bin = root.path().join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("pg_dump"), "").unwrap();
            std::fs::set_permissions(bin.join("pg_dump"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        assert_eq!(newest_versioned(root.path(), "pg_dump"), Some(root.path().join("15/bin/pg_dump")));
        assert_eq!(newest_versioned(root.path(), "pg_restore"), None);
    }
}
