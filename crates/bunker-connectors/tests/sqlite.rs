//! SQLite connector against real database files: an online backup while another connection
//! keeps committing (WAL and rollback-journal mode) restores to a database at a transaction
//! boundary; round trips are query-identical; and the error cases (missing file, not a
//! database, existing target, stop) say what they are.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bunker_connectors::{BackupOutcome, BackupRequest, ConnectorError, Source};
use bunker_vault::{FileKek, InitOptions, LocalStorage, NoProgress, Progress, StreamOptions, Vault};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

/// Rows each of tables `a` and `b` start with.
const PRELOAD: i64 = 3000;

fn vault(dir: &Path) -> Vault {
    let kek = FileKek::generate(dir.join("key")).unwrap();
    Vault::init(Arc::new(LocalStorage::new(dir.join("vault"))), &kek, InitOptions::default()).unwrap()
}

fn time() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap()
}

fn backup(vault: &Vault, path: &Path, stop: Option<Arc<AtomicBool>>) -> Result<BackupOutcome, ConnectorError> {
    backup_with(vault, path, stop, &NoProgress)
}

fn backup_with(vault: &Vault, path: &Path, stop: Option<Arc<AtomicBool>>, progress: &dyn Progress) -> Result<BackupOutcome, ConnectorError> {
    let request = BackupRequest { vault, time: time(), tags: vec!["job-1".into()], parent: None, stop, progress };
    bunker_connectors::backup(&Source::Sqlite { path: path.to_owned() }, &request)
}

fn restore(vault: &Vault, outcome: &BackupOutcome, target: &Path) -> Result<bunker_connectors::RestoreOutcome, ConnectorError> {
    bunker_connectors::restore(vault, outcome.snapshot, &Source::Sqlite { path: target.to_owned() }, &NoProgress)
}

/// Runs a future on a runtime of its own (the tests' SQLite client is async sqlx).
fn block<T>(fut: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(fut)
}

async fn connect(path: &Path, mode: SqliteJournalMode) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(mode)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap()
}

/// Tables `a` and `b` with [`PRELOAD`] rows of 1000 random bytes each, and `counter` = the
/// number of transactions that added one row to each.
async fn create(path: &Path, mode: SqliteJournalMode) {
    let mut conn = connect(path, mode).await;
    // Only a constant is formatted in.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = 7;
         CREATE TABLE a (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);
         CREATE TABLE b (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, note TEXT);
         CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
         CREATE INDEX b_note ON b (note);
         BEGIN;
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {PRELOAD})
             INSERT INTO a (payload) SELECT randomblob(1000) FROM s;
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {PRELOAD})
             INSERT INTO b (payload, note) SELECT randomblob(1000), 'row ' || i FROM s;
         INSERT INTO counter VALUES (1, {PRELOAD});
         COMMIT;"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

/// One row per table and a counter update per transaction, until `stop`; `commits` counts
/// the transactions committed.
fn writer(path: PathBuf, mode: SqliteJournalMode, stop: Arc<AtomicBool>, commits: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        block(async {
            let mut conn = connect(&path, mode).await;
            while !stop.load(Ordering::Relaxed) {
                sqlx::raw_sql(
                    "BEGIN IMMEDIATE;
                     INSERT INTO a (payload) VALUES (randomblob(1000));
                     INSERT INTO b (payload, note) VALUES (randomblob(1000), 'live');
                     UPDATE counter SET n = n + 1 WHERE id = 1;
                     COMMIT;",
                )
                .execute(&mut conn)
                .await
                .unwrap();
                commits.fetch_add(1, Ordering::Relaxed);
            }
            conn.close().await.unwrap();
        });
    })
}

type Rows = Vec<(i64, Vec<u8>, Option<String>)>;

/// Every row of `a` and `b` (ordered) with at most id `max`, the counter, and `user_version`.
async fn contents(path: &Path, max: i64) -> (Rows, Rows, i64, i64) {
    let mut conn = SqliteConnectOptions::new().filename(path).read_only(true).connect().await.unwrap();
    let a: Rows = sqlx::query_as("SELECT id, payload, NULL FROM a WHERE id <= ?1 ORDER BY id")
        .bind(max)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let b: Rows =
        sqlx::query_as("SELECT id, payload, note FROM b WHERE id <= ?1 ORDER BY id").bind(max).fetch_all(&mut conn).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT n FROM counter WHERE id = 1").fetch_one(&mut conn).await.unwrap();
    let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (a, b, n, version)
}

fn integrity(path: &Path) -> Vec<String> {
    block(async {
        let mut conn = SqliteConnectOptions::new().filename(path).read_only(true).connect().await.unwrap();
        sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.unwrap()
    })
}

fn consistent_while_writing(mode: SqliteJournalMode) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    block(create(&db, mode));
    let vault = vault(dir.path());

    let (stop, commits) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let handle = writer(db.clone(), mode, stop.clone(), commits.clone());
    let started = Instant::now();
    while commits.load(Ordering::Relaxed) < 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "the writer does not commit");
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = commits.load(Ordering::Relaxed);
    let outcome = backup(&vault, &db, None).unwrap();
    let after = commits.load(Ordering::Relaxed);
    // Let the writer go on a little after the backup too, then stop it.
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    assert!(after > before, "the writer made no progress during the backup ({before} commits before, {after} after)");

    let target = dir.path().join("restored/app.db");
    let restored = restore(&vault, &outcome, &target).unwrap();
    assert_eq!(restored.location, target.display().to_string());
    assert_eq!(restored.bytes, outcome.size);
    assert_eq!(integrity(&target), ["ok"]);

    let (a, b, n, version) = block(contents(&target, i64::MAX));
    // A transaction boundary: every committed transaction is there entirely, or not at all.
    assert_eq!(a.len() as i64, n, "rows of a vs counter");
    assert_eq!(b.len() as i64, n, "rows of b vs counter");
    // Committed before the backup started ≤ the copy ≤ committed when it ended (+1 in flight).
    assert!(n >= PRELOAD + before as i64 && n <= PRELOAD + after as i64 + 1, "counter {n}, commits {before}..{after}");
    assert_eq!(version, 7);
    // The same rows as the source up to the copy's last one: rows are only ever appended.
    let (sa, sb, _, _) = block(contents(&db, n));
    assert!(sa == a && sb == b, "restored rows differ from the source's");
}

#[test]
fn online_backup_of_a_wal_database_is_consistent_while_writing() {
    consistent_while_writing(SqliteJournalMode::Wal);
}

#[test]
fn online_backup_of_a_rollback_journal_database_is_consistent_while_writing() {
    consistent_while_writing(SqliteJournalMode::Delete);
}

/// The service runs connectors on blocking threads of its tokio runtime; a connector called
/// from there (or, carelessly, right on a runtime thread) must not panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_from_a_tokio_runtime_and_round_trips_query_identically() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    create(&db, SqliteJournalMode::Wal).await;
    let vault = Arc::new(vault(dir.path()));
    let (v, path) = (vault.clone(), db.clone());
    let outcome = tokio::task::spawn_blocking(move || backup(&v, &path, None)).await.unwrap().unwrap();
    assert!(outcome.size > 6_000_000 && !outcome.partial, "{outcome:?}");
    let snap = vault.snapshot(outcome.snapshot).unwrap();
    assert_eq!(snap.time, time());
    assert_eq!(snap.tags, ["job-1"]);
    assert_eq!(snap.paths, ["app.db"]);

    let target = dir.path().join("copy.db");
    let (v, t, o) = (vault.clone(), target.clone(), outcome.clone());
    tokio::task::spawn_blocking(move || restore(&v, &o, &t)).await.unwrap().unwrap();
    assert_eq!(contents(&target, i64::MAX).await, contents(&db, i64::MAX).await);

    // Straight from an async task (blocking it for the duration): still no nested-runtime panic.
    let again = backup(&vault, &db, None).unwrap();
    let direct = dir.path().join("direct.db");
    restore(&vault, &again, &direct).unwrap();
    assert_eq!(contents(&direct, i64::MAX).await, contents(&db, i64::MAX).await);
}

#[tokio::test]
async fn works_from_a_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("small.db");
    let mut conn = connect(&db, SqliteJournalMode::Delete).await;
    sqlx::raw_sql("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('hello');").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let vault = vault(dir.path());
    let outcome = backup(&vault, &db, None).unwrap();
    let target = dir.path().join("out.db");
    restore(&vault, &outcome, &target).unwrap();
    let mut conn = connect(&target, SqliteJournalMode::Delete).await;
    let x: String = sqlx::query_scalar("SELECT x FROM t").fetch_one(&mut conn).await.unwrap();
    assert_eq!(x, "hello");
}

#[test]
fn a_missing_file_is_source_missing() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let path = dir.path().join("gone.db");
    let err = backup(&vault, &path, None).unwrap_err();
    assert!(matches!(&err, ConnectorError::SourceMissing { path: p } if p == &path), "{err}");
    assert!(!path.exists(), "the backup must not create the database");
    assert!(vault.snapshots().unwrap().is_empty());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(dir.path());
    let path = dir.path().join("notes.db");
    fs::write(&path, "these are plain notes, long enough to fill a header\n".repeat(100)).unwrap();
    let err = backup(&vault, &path, None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConnectorError::InvalidSource { .. }), "{text}");
    assert!(text.contains("not a SQLite database") && text.contains("notes.db"), "{text}");
    let err = backup(&vault, dir.path(), None).unwrap_err().to_string();
    assert!(err.contains("not a file"), "{err}");
    assert!(vault.snapshots().unwrap().is_empty());
}

#[test]
fn restores_never_overwrite_and_check_what_they_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    block(create(&db, SqliteJournalMode::Wal));
    let vault = vault(dir.path());
    let outcome = backup(&vault, &db, None).unwrap();

    let existing = dir.path().join("existing.db");
    fs::write(&existing, b"precious").unwrap();
    let err = restore(&vault, &outcome, &existing).unwrap_err();
    assert!(matches!(err, ConnectorError::TargetExists { .. }), "{err}");
    assert_eq!(fs::read(&existing).unwrap(), b"precious");

    // A recovery point that is not a SQLite file leaves nothing behind at the target.
    let other = vault
        .backup_stream(&b"not a database at all"[..], &StreamOptions { name: "x.bin".into(), ..Default::default() }, &NoProgress)
        .unwrap();
    let bogus = BackupOutcome { snapshot: other.snapshot_id, ..outcome.clone() };
    let target = dir.path().join("bogus.db");
    let err = restore(&vault, &bogus, &target).unwrap_err();
    assert!(matches!(err, ConnectorError::WrongShape { expected: "SQLite", .. }), "{err}");
    assert!(!target.exists());
    let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains("restore")), "{leftovers:?}");
}

#[test]
fn a_stopped_backup_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    block(create(&db, SqliteJournalMode::Wal));
    let vault = vault(dir.path());
    let err = backup(&vault, &db, Some(Arc::new(AtomicBool::new(true)))).unwrap_err();
    assert!(matches!(err, ConnectorError::Stopped), "{err}");
    assert!(vault.snapshots().unwrap().is_empty());
}

/// Sets the stop flag when the connector names what it starts copying: the copy is under way.
struct StopOnItem(Arc<AtomicBool>);

impl Progress for StopOnItem {
    fn item(&self, _name: &str) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_backup_stopped_during_the_copy_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    block(create(&db, SqliteJournalMode::Delete));
    let vault = vault(dir.path());
    let progress = StopOnItem(Arc::new(AtomicBool::new(false)));
    let err = backup_with(&vault, &db, Some(progress.0.clone()), &progress).unwrap_err();
    assert!(matches!(err, ConnectorError::Stopped), "{err}");
    assert!(vault.snapshots().unwrap().is_empty());
    // The source is untouched and still usable.
    assert_eq!(integrity(&db), ["ok"]);
    assert_eq!(block(contents(&db, i64::MAX)).2, PRELOAD);
}
