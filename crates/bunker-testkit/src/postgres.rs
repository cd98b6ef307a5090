//! A throw-away PostgreSQL cluster: `initdb` into a temporary directory, then `postgres` on a
//! free 127.0.0.1 port, stopped (immediate shutdown) and deleted when the handle drops.
//!
//! The server binaries come from `$BUNKER_PG_BIN_DIR`, else the directory of `initdb` on the
//! `PATH`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout, where they are
//! not on the `PATH`).
//!
//! `postgres` is started directly as a child rather than through `pg_ctl`, which detaches the
//! server (`setsid`): as a child it stays in the test's process group, so a test runner that
//! kills a hung test also kills its server. Durability is switched off (`-F`, no
//! full-page writes) because the data dies with the test; only TCP on 127.0.0.1 is enabled
//! (no Unix socket), and authentication is `trust` for the `postgres` role. Roles made by
//! [`PgServer::create_password_role`] must give their password (`scram-sha-256`), so a test
//! can tell that a password really reached the server.
//!
//! `initdb` and `postgres` refuse to run as root. Under root (containers, CI) both run as the
//! `postgres` system user (the Debian package creates it), or `nobody`, via `setpriv`, in a
//! temporary directory given to that user.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the directory of the PostgreSQL server binaries.
pub const BIN_DIR_VAR: &str = "BUNKER_PG_BIN_DIR";

/// A running test cluster, stopped and deleted on drop.
#[derive(Debug)]
pub struct PgServer {
    child: Child,
    port: u16,
    bin: PathBuf,
    log: PathBuf,
    /// Removed last, after the server has exited.
    _dir: tempfile::TempDir,
}

/// The system user the server runs as when the tests run as root.
#[derive(Debug, Clone)]
struct RunAs {
    uid: u32,
    gid: u32,
}

impl PgServer {
    /// Creates and starts a cluster; `None` (after saying so loudly, or a panic under
    /// `BUNKER_REQUIRE_POSTGRES`) when the server binaries are not installed.
    ///
    /// # Panics
    /// If the binaries exist but the cluster cannot be created or started.
    pub fn start() -> Option<PgServer> {
        let Some(bin) = find_bin_dir() else {
            crate::skip_or_fail(
                "BUNKER_REQUIRE_POSTGRES",
                "no PostgreSQL server binaries (install the Debian package postgresql, or set BUNKER_PG_BIN_DIR)",
            );
            return None;
        };
        let run_as = if rustix::process::geteuid().is_root() { Some(system_user()) } else { None };
        let dir = tempfile::Builder::new().prefix("bunker-pg-").tempdir().expect("temporary directory for PostgreSQL");
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid))
                .unwrap_or_else(|e| panic!("giving {} to uid {}: {e}", dir.path().display(), user.uid));
        }
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        let initdb = command(&bin, "initdb", run_as.as_ref(), dir.path())
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .unwrap_or_else(|e| panic!("running {}/initdb{}: {e}", bin.display(), as_whom(run_as.as_ref())));
        check(&initdb, "initdb");
        // Members of PASSWORD_GROUP log in with their password; everyone else is trusted.
        let hba = data.join("pg_hba.conf");
        let trusted = fs::read_to_string(&hba).expect("pg_hba.conf written by initdb");
        fs::write(&hba, format!("host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256\n{trusted}")).expect("pg_hba.conf");

        // A free port may be taken by another process before the server binds it: retry.
        for _ in 0..5 {
            let port = crate::free_port();
            // Opened here: the server writes to the inherited descriptor whoever it runs as.
            let log_file = fs::File::create(&log).expect("server log file");
            let mut child = command(&bin, "postgres", run_as.as_ref(), dir.path())
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-F"])
                .args(SETTINGS.iter().flat_map(|s| ["-c", s]))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file handle"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}/postgres{}: {e}", bin.display(), as_whom(run_as.as_ref())));
            match wait_ready(&mut child, &data) {
                Ok(()) => return Some(PgServer { child, port, bin, log, _dir: dir }),
                Err(exited) => {
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    if !exited {
                        stop(&mut child);
                        panic!("PostgreSQL did not become ready within a minute; its log:\n{text}");
                    }
                    if !text.contains("Address already in use") {
                        panic!("PostgreSQL did not start; its log:\n{text}");
                    }
                }
            }
        }
        panic!("PostgreSQL found no free port on 127.0.0.1 in five tries");
    }

    /// The connection URI of database `db` (`postgresql://postgres@127.0.0.1:PORT/db`).
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The connection URI of database `db` as `user` with `password` in it
    /// (`postgresql://USER:PASSWORD@127.0.0.1:PORT/db`).
    pub fn url_with_password(&self, user: &str, password: &str, db: &str) -> String {
        format!("postgresql://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates superuser `name` that must log in with `password` (letters and digits only).
    ///
    /// # Panics
    /// If `psql` fails or the password is not plain.
    pub fn create_password_role(&self, name: &str, password: &str) {
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()), "test passwords are letters and digits");
        let group = format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_GROUP}') THEN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; END IF; END $$;"
        );
        self.psql("postgres", &group);
        self.psql("postgres", &format!("CREATE ROLE \"{name}\" LOGIN SUPERUSER PASSWORD '{password}' IN ROLE {PASSWORD_GROUP}"));
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory the server binaries (and the matching client tools) came from.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Creates database `name`.
    ///
    /// # Panics
    /// If `createdb` fails (the database exists, say).
    pub fn create_database(&self, name: &str) {
        let out = self
            .client("createdb")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "--no-password", "--", name])
            .output()
            .unwrap_or_else(|e| panic!("running createdb: {e}"));
        check(&out, &format!("createdb {name}"));
    }

    /// Runs one `psql` script against database `db` (stopping at the first error) and returns
    /// its output, unaligned and without headers (`-At`): one line per row, columns
    /// separated by `|`.
    ///
    /// # Panics
    /// If `psql` fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .client("psql")
            .args(["--no-psqlrc", "--no-password", "-v", "ON_ERROR_STOP=1", "-At", "-d", &self.url(db), "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("running psql: {e}"));
        check(&out, &format!("psql on {db}"));
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    /// A client tool of the server's version when installed next to it, else from the `PATH`.
    fn client(&self, name: &str) -> Command {
        let local = self.bin.join(name);
        let mut cmd = Command::new(if local.is_file() { local } else { PathBuf::from(name) });
        cmd.stdin(Stdio::null());
        cmd
    }

    /// The server's log so far, for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // The postmaster exits only after its backends, so the directory is free afterwards.
        stop(&mut self.child);
    }
}

/// The group of roles that authenticate with a password.
const PASSWORD_GROUP: &str = "password_login";

/// Server settings for a fast, private, throw-away cluster.
const SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "unix_socket_directories=",
    "full_page_writes=off",
    "synchronous_commit=off",
    "shared_buffers=16MB",
    "max_connections=50",
    "max_wal_senders=0",
    "wal_level=minimal",
    "dynamic_shared_memory_type=mmap",
    "logging_collector=off",
];

/// Immediate shutdown (the data is thrown away), then reaps the child.
fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let pid = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::QUIT);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until the postmaster reports `ready` in `postmaster.pid` (what `pg_ctl -w` does).
/// `Err(true)` if it exited, `Err(false)` on timeout.
fn wait_ready(child: &mut Child, data: &Path) -> Result<(), bool> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return Err(true);
        }
        // Line 8 of the pid file is the postmaster's status once it has one.
        if let Ok(text) = fs::read_to_string(data.join("postmaster.pid"))
            && text.lines().nth(7).is_some_and(|l| l.trim() == "ready")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(false)
}

/// A command for server binary `name`, run as `run_as` when given, in `cwd` (a directory that
/// user can enter).
fn command(bin: &Path, name: &str, run_as: Option<&RunAs>, cwd: &Path) -> Command {
    let program = bin.join(name);
    let mut cmd = match run_as {
        Some(user) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.current_dir(cwd).stdin(Stdio::null());
    cmd
}

/// ` through setpriv as uid N` when the server runs as another user, for error messages.
fn as_whom(run_as: Option<&RunAs>) -> String {
    run_as.map(|u| format!(" through setpriv as uid {}", u.uid)).unwrap_or_default()
}

/// The `postgres` system user, else `nobody`.
fn system_user() -> RunAs {
    let id = |flag: &str, user: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).stderr(Stdio::null()).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    ["postgres", "nobody"]
        .iter()
        .find_map(|user| Some(RunAs { uid: id("-u", user)?, gid: id("-g", user)? }))
        .expect("running as root, but neither a `postgres` nor a `nobody` user exists to run PostgreSQL as")
}

/// Panics with the tool's output if it failed.
fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the server binaries are: `$BUNKER_PG_BIN_DIR`, the (resolved) directory of `initdb`
/// on the `PATH`, or the newest `/usr/lib/postgresql/<version>/bin`; each must hold `initdb`
/// and `postgres`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let complete = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os(BIN_DIR_VAR).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return complete(&dir).then_some(dir);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("initdb"))
            .filter(|p| p.is_file())
            .find_map(|p| fs::canonicalize(p).ok()?.parent().map(Path::to_path_buf))
    });
    if let Some(dir) = on_path.filter(|d| complete(d)) {
        return Some(dir);
    }
    newest_versioned_bin(Path::new("/usr/lib/postgresql")).filter(|d| complete(d))
}

/// `<root>/<version>/bin` for the highest version (compared numerically: 9.6 < 15 < 17).
fn newest_versioned_bin(root: &Path) -> Option<PathBuf> {
    let version = |name: &str| -> Option<Vec<u32>> { name.split('.').map(|p| p.parse().ok()).collect() };
    fs::read_dir(root)
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = version(e.file_name().to_str()?)?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.is_dir())
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "13", "not-a-version"] {
            fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        assert_eq!(newest_versioned_bin(root.path()), Some(root.path().join("15/bin")));
    }

    #[test]
    fn a_server_starts_answers_and_goes_away() {
        let Some(server) = PgServer::start() else { return };
        assert_eq!(server.psql("postgres", "SELECT 40 + 2"), "42");
        server.create_database("extra");
        assert_eq!(server.psql("extra", "SELECT current_database()"), "extra");
        let listening = std::net::TcpStream::connect(("127.0.0.1", server.port())).is_ok();
        assert!(listening);
        server.create_password_role("alice", "Secret1");
        let as_alice = |url: &str| {
            server
                .client("psql")
                .args(["--no-psqlrc", "--no-password", "-At", "-d", url, "-c", "SELECT current_user"])
                .env_remove("PGPASSWORD")
                .output()
                .unwrap()
        };
        let with = as_alice(&server.url_with_password("alice", "Secret1", "postgres"));
        assert_eq!(String::from_utf8_lossy(&with.stdout).trim(), "alice", "{}", String::from_utf8_lossy(&with.stderr));
        assert!(!as_alice(&format!("postgresql://alice@127.0.0.1:{}/postgres", server.port())).status.success());
        let port = server.port();
        drop(server);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "server still listening after drop");
    }
}
