//! PostgreSQL connector against a real server started for each test (`PgServer`): a dump
//! taken while a client keeps committing restores to a transaction boundary, quiet tables
//! restore identically, and failures (refused connection, unknown database, existing
//! target, bad archive, stop) are reported as such and leave nothing behind.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bunker_connectors::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Source};
use bunker_testkit::postgres::PgServer;
use bunker_vault::{FileKek, InitOptions, LocalStorage, NoProgress, Progress, SnapshotId, StreamOptions, Vault};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

fn vault(dir: &Path) -> Vault {
    let kek = FileKek::generate(dir.join("key")).unwrap();
    Vault::init(Arc::new(LocalStorage::new(dir.join("vault"))), &kek, InitOptions::default()).unwrap()
}

fn pg(url: String) -> Source {
    Source::Postgresql { url }
}

fn backup_with(vault: &Vault, url: String, stop: Option<Arc<AtomicBool>>, progress: &dyn Progress) -> Result<BackupOutcome, ConnectorError> {
    let request = BackupRequest {
        vault,
        time: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        tags: vec!["job-7".into()],
        parent: None,
        stop,
        progress,
    };
    bunker_connectors::backup(&pg(url), &request)
}

fn backup(vault: &Vault, url: String) -> Result<BackupOutcome, ConnectorError> {
    backup_with(vault, url, None, &NoProgress)
}

fn restore(vault: &Vault, snapshot: SnapshotId, url: String) -> Result<RestoreOutcome, ConnectorError> {
    bunker_connectors::restore(vault, snapshot, &pg(url), &NoProgress)
}

fn snapshot_ids(vault: &Vault) -> Vec<SnapshotId> {
    vault.snapshots().unwrap().into_iter().map(|(id, _)| id).collect()
}

fn database_exists(server: &PgServer, name: &str) -> bool {
    server.psql("postgres", &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")) == "1"
}

/// Tables `a` and `b` (one row each per transaction), `counter` (the number of such
/// transactions) and `q`, which nobody writes.
fn create_schema(server: &PgServer, db: &str, rows: u32) {
    server.create_database(db);
    server.psql(
        db,
        &format!(
            "CREATE TABLE a (id bigserial PRIMARY KEY, payload text NOT NULL);
             CREATE TABLE b (id bigserial PRIMARY KEY, payload text NOT NULL, made timestamptz DEFAULT now());
             CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL);
             CREATE TABLE q (id int PRIMARY KEY, v text NOT NULL, j jsonb);
             CREATE INDEX b_made ON b (made);
             CREATE VIEW totals AS SELECT (SELECT count(*) FROM a) AS a, (SELECT count(*) FROM b) AS b;
             INSERT INTO a (payload) SELECT repeat(md5(i::text), 8) FROM generate_series(1, {rows}) i;
             INSERT INTO b (payload) SELECT repeat(md5((-i)::text), 8) FROM generate_series(1, {rows}) i;
             INSERT INTO counter VALUES (1, {rows});
             INSERT INTO q SELECT i, md5(i::text) || ' ünïcødé', jsonb_build_object('i', i, 'sq', i * i)
                 FROM generate_series(1, 5000) i;"
        ),
    );
}

/// Commits one row into `a` and `b` and bumps the counter per transaction until `stop`.
fn writer(url: String, stop: Arc<AtomicBool>, commits: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            while !stop.load(Ordering::Relaxed) {
                let mut tx = conn.begin().await.unwrap();
                sqlx::query("INSERT INTO a (payload) VALUES (md5(random()::text))").execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO b (payload) VALUES (md5(random()::text))").execute(&mut *tx).await.unwrap();
                sqlx::query("UPDATE counter SET n = n + 1 WHERE id = 1").execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
                commits.fetch_add(1, Ordering::Relaxed);
            }
            conn.close().await.unwrap();
        });
    })
}

const Q_DIGEST: &str = "SELECT md5(string_agg(id || ':' || v || ':' || j::text, ',' ORDER BY id)) FROM q";

#[test]
fn dump_while_writing_restores_a_transaction_boundary() {
    let Some(server) = PgServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    create_schema(&server, "app", 20_000);

    let (stop, commits) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let handle = writer(server.url("app"), stop.clone(), commits.clone());
    let started = Instant::now();
    while commits.load(Ordering::Relaxed) < 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "the writer does not commit");
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = commits.load(Ordering::Relaxed);
    let outcome = backup(&vault, server.url("app")).unwrap();
    let after = commits.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    assert!(after > before, "the writer made no progress during the backup ({before} commits before, {after} after)");
    assert!(outcome.size > 1_000_000 && !outcome.partial, "{outcome:?}");
    let snap = vault.snapshot(outcome.snapshot).unwrap();
    assert_eq!(snap.paths, ["app.dump"]);
    assert_eq!(snap.tags, ["job-7"]);

    let restored = restore(&vault, outcome.snapshot, server.url("app_restored")).unwrap();
    assert_eq!(restored.bytes, outcome.size);
    assert_eq!(restored.location, server.url("app_restored"));

    // A transaction boundary: each writer transaction is there entirely or not at all.
    let counts = server.psql("app_restored", "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), n FROM counter");
    let counts: Vec<u64> = counts.split('|').map(|c| c.parse().unwrap()).collect();
    let n = counts[2];
    assert_eq!(counts, [n, n, n], "rows of a, rows of b, counter");
    assert!(n >= 20_000 + before && n <= 20_000 + after + 1, "counter {n}, commits {before}..{after}");
    // The same rows as the source up to the dump's last one (rows are only appended).
    let digest = format!("SELECT md5(string_agg(id || ':' || payload, ',' ORDER BY id)) FROM a WHERE id <= {n}");
    assert_eq!(server.psql("app_restored", &digest), server.psql("app", &digest));
    // The table nobody wrote is identical, and the schema came along.
    assert_eq!(server.psql("app_restored", Q_DIGEST), server.psql("app", Q_DIGEST));
    assert_eq!(server.psql("app_restored", "SELECT a = b FROM totals"), "t");
    assert_eq!(server.psql("app_restored", "SELECT count(*) FROM pg_indexes WHERE indexname = 'b_made'"), "1");
}

#[test]
fn connection_failures_are_connection_errors_and_record_nothing() {
    let Some(server) = PgServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    server.create_database("small");
    server.psql("small", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)");
    backup(&vault, server.url("small")).unwrap();
    let before = snapshot_ids(&vault);
    assert_eq!(before.len(), 1);

    // Nothing listens on this port.
    let port = bunker_testkit::free_port();
    let err = backup(&vault, format!("postgresql://app:hunter2@127.0.0.1:{port}/small")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConnectorError::Connection { .. }), "{text}");
    assert!(text.contains(&format!("postgresql://app:****@127.0.0.1:{port}/small")), "{text}");
    assert!(text.to_lowercase().contains("refused") && !text.contains("hunter2"), "{text}");
    assert_eq!(snapshot_ids(&vault), before);

    let err = backup(&vault, server.url("nope")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConnectorError::Connection { .. }), "{text}");
    assert!(text.contains("\"nope\" does not exist"), "{text}");
    assert_eq!(snapshot_ids(&vault), before);

    let err = restore(&vault, before[0], format!("postgresql://postgres@127.0.0.1:{port}/fresh")).unwrap_err();
    assert!(matches!(err, ConnectorError::Connection { .. }), "{err}");
}

#[test]
fn restores_only_create_new_databases_and_clean_up_after_failures() {
    let Some(server) = PgServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    server.create_database("src");
    server.psql("src", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3)");
    let outcome = backup(&vault, server.url("src")).unwrap();

    server.create_database("taken");
    server.psql("taken", "CREATE TABLE mine (y int); INSERT INTO mine VALUES (42)");
    let err = restore(&vault, outcome.snapshot, server.url("taken")).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");
    assert_eq!(server.psql("taken", "SELECT y FROM mine"), "42", "the existing database was touched");
    let err = restore(&vault, outcome.snapshot, server.url("src")).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");

    let no_name = format!("postgresql://postgres@127.0.0.1:{}", server.port());
    let err = restore(&vault, outcome.snapshot, no_name).unwrap_err();
    assert!(matches!(err, ConnectorError::InvalidSource { .. }), "{err}");

    // Not a pg_dump archive: pg_restore fails, and the database it was to fill is dropped.
    let junk = vault
        .backup_stream(&b"PGDMP but not really an archive"[..], &StreamOptions { name: "junk.dump".into(), ..Default::default() }, &NoProgress)
        .unwrap();
    let err = restore(&vault, junk.snapshot_id, server.url("junk")).unwrap_err();
    assert!(matches!(&err, ConnectorError::Tool { tool, .. } if tool == "pg_restore"), "{err}");
    assert!(!database_exists(&server, "junk"), "a failed restore left its database behind");

    restore(&vault, outcome.snapshot, server.url("copy")).unwrap();
    assert_eq!(server.psql("copy", "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"), "1,2,3");
}

/// Sets `stop` once `after` bytes went by.
struct StopAfter {
    after: u64,
    seen: AtomicU64,
    stop: Arc<AtomicBool>,
}

impl Progress for StopAfter {
    fn advance(&self, bytes: u64) {
        if self.seen.fetch_add(bytes, Ordering::Relaxed) + bytes >= self.after {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_stopped_dump_records_nothing_and_ends_pg_dump() {
    let Some(server) = PgServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    create_schema(&server, "big", 60_000);
    let progress = StopAfter { after: 1024 * 1024, seen: AtomicU64::new(0), stop: Arc::new(AtomicBool::new(false)) };
    let err = backup_with(&vault, server.url("big"), Some(progress.stop.clone()), &progress).unwrap_err();
    assert!(matches!(err, ConnectorError::Stopped), "{err}");
    assert!(vault.snapshots().unwrap().is_empty());
    // pg_dump's connection goes away with it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let connected = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'";
    while server.psql("postgres", connected) != "0" {
        assert!(Instant::now() < deadline, "pg_dump is still connected after the stop");
        std::thread::sleep(Duration::from_millis(50));
    }

    // pg_dump waiting for a lock writes nothing, yet the stop ends it.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let url = server.url("big");
    let holder = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("LOCK TABLE q IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv();
            tx.rollback().await.unwrap();
        });
    });
    locked_rx.recv().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let setter = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let started = Instant::now();
    let err = backup_with(&vault, server.url("big"), Some(stop), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::Stopped), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "the stop took {:?}", started.elapsed());
    setter.join().unwrap();
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert!(vault.snapshots().unwrap().is_empty());

    // Set before the start: nothing is run at all.
    let err = backup_with(&vault, server.url("big"), Some(Arc::new(AtomicBool::new(true))), &NoProgress).unwrap_err();
    assert!(matches!(err, ConnectorError::Stopped), "{err}");
    assert!(vault.snapshots().unwrap().is_empty());
}
