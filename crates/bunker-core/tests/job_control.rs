//! Job control as AWS Backup does it, on real directory trees and disk images in real
//! vaults, on the fake clock:
//!
//! * `StopBackupJob`: a running job is asked to stop (`ABORTING`) and ends `ABORTED` with
//!   nothing kept: no recovery point, the vault passes a full check and the resource's
//!   earlier recovery point still restores byte for byte. Jobs in a final state cannot be
//!   stopped (`InvalidRequestException`); unknown ids are `ResourceNotFoundException`.
//! * The per-account limit: never more than `max_concurrent_jobs_per_account` of one
//!   account's jobs at once, jobs of the same instant start in creation order, and another
//!   account's jobs do not wait behind the first account's queue.
//! * Retries: a refused connection is tried again (`max_attempts`), within the start
//!   window; other failures end `FAILED` at once; other jobs are undisturbed.
//! * `ListBackupJobs`: every filter, and pages of `MaxResults` that hold every job exactly
//!   once, newest first (creation order breaking ties).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bunker_catalog::{Catalog, JobFilter};
use bunker_connectors::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Source};
use bunker_core::backup::{
    BackupJob, BackupService, Connectors, JobSettings, ListBackupJobs, RealConnectors, RegisterResource, StartBackupJob, StartRestoreJob,
    vault_arn,
};
use bunker_core::{Clock, CreateAccount, CreateOrganization, ManualClock, Organizations};
use bunker_testkit::noise;
use bunker_vault::{CheckOptions, LocalStorage, NoProgress, Progress, SnapshotId, Vault};
use jiff::{SignedDuration, Timestamp};

const REGION: &str = "eu-west-1";

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    clock: ManualClock,
    svc: BackupService,
    accounts: Vec<String>,
}

/// An organization with `accounts` accounts, each with a `Default` vault.
async fn world(accounts: usize, settings: JobSettings, connectors: Arc<dyn Connectors>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let clock = ManualClock::new("2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let catalog = Catalog::open_file(&root.join("catalog.db")).await.unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..accounts {
        let req = CreateAccount { account_name: format!("a{i}"), email: format!("a{i}@example.com"), account_id: None, parent_id: None };
        ids.push(orgs.create_account(req).await.unwrap().account_id);
    }
    let svc = BackupService::new(catalog, Arc::new(clock.clone()), root.join("data")).with_settings(settings).with_connectors(connectors);
    for a in &ids {
        svc.create_backup_vault(a, REGION, "Default", BTreeMap::new(), None).await.unwrap();
    }
    World { _dir: dir, root, clock, svc, accounts: ids }
}

impl World {
    /// Registers a directory (or image) at `<root>/src/<account>/<name>`.
    async fn register(&self, account: &str, name: &str, image: bool) -> (String, PathBuf) {
        let path = self.root.join("src").join(account).join(name);
        let source = if image { Source::DiskImage { path: path.clone() } } else { Source::Directory { path: path.clone() } };
        let req = RegisterResource { account_id: account.into(), region: REGION.into(), name: name.into(), source, tags: BTreeMap::new() };
        (self.svc.register_resource(req).await.unwrap().arn, path)
    }

    fn job(&self, account: &str, arn: &str, vault: &str) -> StartBackupJob {
        StartBackupJob {
            account_id: account.into(),
            region: REGION.into(),
            backup_vault_name: vault.into(),
            resource_arn: arn.into(),
            iam_role_arn: None,
            start_window_minutes: None,
            complete_window_minutes: None,
            lifecycle: None,
            recovery_point_tags: BTreeMap::new(),
        }
    }

    async fn start(&self, account: &str, arn: &str) -> String {
        self.svc.start_backup_job(self.job(account, arn, "Default")).await.unwrap().backup_job_id
    }

    async fn describe(&self, id: &str) -> BackupJob {
        self.svc.describe_backup_job(id).await.unwrap()
    }

    /// The account's `Default` vault, opened as an operator would (blocking).
    async fn open_vault(&self, account: &str) -> Vault {
        let location = self.svc.describe_backup_vault(account, REGION, "Default").await.unwrap().location;
        let kek = self.svc.vault_key_encryption_key(account, REGION, "Default").await.unwrap();
        Vault::open(Arc::new(LocalStorage::new(&location)), &kek).unwrap()
    }

    /// Restores `rp` into a new directory and reads it back.
    async fn restore(&self, rp: &str, name: &str) -> BTreeMap<String, Vec<u8>> {
        let out = self.root.join("restores").join(name);
        let req = StartRestoreJob { recovery_point_arn: rp.into(), metadata: [("Path".to_owned(), out.display().to_string())].into(), ..Default::default() };
        let job = self.svc.start_restore_job(req).await.unwrap();
        assert_eq!(job.status, "COMPLETED", "{job:?}");
        read_tree(&out)
    }
}

/// `name → bytes` of the files directly in `dir`.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    bunker_testkit::read_files(dir)
}

fn write_files(dir: &Path, files: impl IntoIterator<Item = (String, Vec<u8>)>) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Polls `cond` in real time; the jobs run on real threads.
async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------
// StopBackupJob

/// Real connectors; when armed, a backup holds at its first chunk until its stop flag is
/// set and the test releases it, so the test sees it `RUNNING`, then `ABORTING`.
#[derive(Default)]
struct Gate {
    armed: AtomicBool,
    entered: AtomicBool,
    release: AtomicBool,
    backups: AtomicUsize,
}

impl Gate {
    fn arm(&self) {
        self.entered.store(false, Ordering::SeqCst);
        self.release.store(false, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }
}

struct GateProgress<'a> {
    gate: &'a Gate,
    stop: Option<Arc<AtomicBool>>,
}

impl Progress for GateProgress<'_> {
    fn advance(&self, _bytes: u64) {
        if !self.gate.armed.load(Ordering::SeqCst) {
            return;
        }
        self.gate.entered.store(true, Ordering::SeqCst);
        let stopped = || self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
        // Bounded, so a failing test ends instead of hanging a reader thread.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(stopped() && self.gate.release.load(Ordering::SeqCst)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

struct Gated(Arc<Gate>);

impl Connectors for Gated {
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome> {
        self.0.backups.fetch_add(1, Ordering::SeqCst);
        let progress = GateProgress { gate: &self.0, stop: request.stop.clone() };
        RealConnectors.backup(source, &BackupRequest { progress: &progress, tags: request.tags.clone(), stop: request.stop.clone(), ..*request })
    }
    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome> {
        RealConnectors.restore(vault, snapshot, target, progress)
    }
}

impl World {
    /// Runs the ready jobs while `id` is held at the gate: stops it there through `via`
    /// (checking it is `RUNNING`, then `ABORTING`, which cannot be stopped again), releases
    /// it, and returns how it ended.
    async fn stop_while_running(&self, gate: &Gate, id: &str, via: &BackupService) -> BackupJob {
        gate.arm();
        let runner = tokio::spawn({
            let svc = self.svc.clone();
            async move { svc.run_ready_jobs().await }
        });
        wait_for("the backup to reach the gate", || gate.entered.load(Ordering::SeqCst)).await;
        assert_eq!(self.describe(id).await.state, "RUNNING");
        via.stop_backup_job(id).await.unwrap();
        assert_eq!(self.describe(id).await.state, "ABORTING");
        assert_eq!(via.stop_backup_job(id).await.unwrap_err().code(), "InvalidRequestException");
        gate.release.store(true, Ordering::SeqCst);
        runner.await.unwrap().unwrap();
        gate.armed.store(false, Ordering::SeqCst);
        self.describe(id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_backup_job_aborts_keeps_nothing_and_leaves_the_vault_whole() {
    let gate = Arc::new(Gate::default());
    let w = world(1, JobSettings::default(), Arc::new(Gated(gate.clone()))).await;
    let a = w.accounts[0].clone();
    let (dir_arn, dir) = w.register(&a, "files", false).await;
    write_files(&dir, (0..8).map(|i| (format!("f{i:02}.bin"), noise(200_000, i))));
    let v1 = read_tree(&dir);

    // An earlier recovery point of the same resource.
    let first = w.start(&a, &dir_arn).await;
    w.svc.run_ready_jobs().await.unwrap();
    let first = w.describe(&first).await;
    assert_eq!(first.state, "COMPLETED", "{first:?}");
    let rp1 = first.recovery_point_arn.clone().unwrap();

    // The tree changes (edits and new files); the next backup is stopped while it runs.
    write_files(&dir, (0..4).chain(8..30).map(|i| (format!("f{i:02}.bin"), noise(200_000, 1000 + i))));
    w.clock.advance(SignedDuration::from_hours(1));
    let stopped = w.start(&a, &dir_arn).await;
    let s = w.stop_while_running(&gate, &stopped, &w.svc).await;
    assert_eq!(s.state, "ABORTED", "{s:?}");
    assert!(s.status_message.as_deref().unwrap().contains("StopBackupJob"), "{s:?}");
    assert!(s.recovery_point_arn.is_none() && s.completion_date.is_some(), "{s:?}");
    assert_eq!(s.percent_done, "0.0");

    // A stream (disk image) stopped while running: ABORTED too.
    let (img_arn, img) = w.register(&a, "disk", true).await;
    std::fs::create_dir_all(img.parent().unwrap()).unwrap();
    std::fs::write(&img, noise(3_000_000, 77)).unwrap();
    let stopped_img = w.start(&a, &img_arn).await;
    let si = w.stop_while_running(&gate, &stopped_img, &w.svc).await;
    assert_eq!(si.state, "ABORTED", "{si:?}");
    assert!(si.status_message.as_deref().unwrap().contains("StopBackupJob"), "{si:?}");
    assert!(si.recovery_point_arn.is_none());

    // A job running in another process (another service on the same catalog, as
    // `bunker backup stop-backup-job` beside `bunker run`) is stopped through the catalog.
    let elsewhere = BackupService::new(w.svc.catalog().clone(), Arc::new(w.clock.clone()), w.root.join("data"));
    let remote = w.start(&a, &dir_arn).await;
    let r = w.stop_while_running(&gate, &remote, &elsewhere).await;
    assert_eq!(r.state, "ABORTED", "{r:?}");
    assert!(r.status_message.as_deref().unwrap().contains("StopBackupJob") && r.recovery_point_arn.is_none(), "{r:?}");

    // A job stopped before it starts never runs.
    let queued = w.start(&a, &dir_arn).await;
    w.svc.stop_backup_job(&queued).await.unwrap();
    let before = gate.backups.load(Ordering::SeqCst);
    assert_eq!(w.svc.run_ready_jobs().await.unwrap(), 0);
    assert_eq!(gate.backups.load(Ordering::SeqCst), before);
    let q = w.describe(&queued).await;
    assert_eq!(q.state, "ABORTED", "{q:?}");

    // Nothing of the stopped jobs remains: the catalog and the vault hold only the first
    // recovery point, and the vault passes a full check.
    let rps = w.svc.list_recovery_points_by_backup_vault(&a, REGION, "Default", None, None).await.unwrap().items;
    assert_eq!(rps.iter().map(|r| (r.recovery_point_arn.as_str(), r.status.as_str())).collect::<Vec<_>>(), [(rp1.as_str(), "COMPLETED")]);
    assert!(w.svc.list_recovery_points_by_resource(&img_arn, None, None).await.unwrap().items.is_empty());
    assert_eq!(w.svc.describe_backup_vault(&a, REGION, "Default").await.unwrap().number_of_recovery_points, 1);
    let vault = w.open_vault(&a).await;
    let (tags, report) = tokio::task::spawn_blocking(move || {
        let tags: Vec<Vec<String>> = vault.snapshots().unwrap().into_iter().map(|(_, s)| s.tags).collect();
        (tags, vault.check(&CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(tags, [vec![format!("backup-job:{}", first.backup_job_id)]]);
    assert!(report.is_ok(), "{report:?}");

    // The earlier recovery point restores byte for byte: the data before the change.
    assert_eq!(w.restore(&rp1, "first").await, v1);

    // The vault takes the next backup as usual, and it holds the tree as it is now.
    let next = w.start(&a, &dir_arn).await;
    w.svc.run_ready_jobs().await.unwrap();
    let next = w.describe(&next).await;
    assert_eq!(next.state, "COMPLETED", "{next:?}");
    assert_eq!(w.restore(next.recovery_point_arn.as_ref().unwrap(), "next").await, read_tree(&dir));

    // Final states cannot be stopped; unknown jobs do not exist.
    for id in [&first.backup_job_id, &stopped, &stopped_img, &remote, &queued, &next.backup_job_id] {
        let err = w.svc.stop_backup_job(id).await.unwrap_err();
        assert_eq!(err.code(), "InvalidRequestException", "{id}: {err}");
        assert!(err.to_string().contains(id.as_str()), "{err}");
    }
    let err = w.svc.stop_backup_job("00000000-0000-4000-8000-000000000000").await.unwrap_err();
    assert_eq!(err.code(), "ResourceNotFoundException", "{err}");
}

// ---------------------------------------------------------------------------------------
// The per-account limit

/// Real connectors that count the backups running at once per account (the account is the
/// source's parent directory) and hold each one long enough for the others to overlap.
#[derive(Default)]
struct Counting {
    now: Mutex<HashMap<String, usize>>,
    max: Mutex<HashMap<String, usize>>,
    max_total: AtomicUsize,
    total: AtomicUsize,
    started: Mutex<Vec<(String, String)>>,
}

impl Connectors for Counting {
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome> {
        let Source::Directory { path } = source else { unreachable!() };
        let account = path.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        {
            let mut now = self.now.lock().unwrap();
            let n = now.entry(account.clone()).or_default();
            *n += 1;
            let mut max = self.max.lock().unwrap();
            let m = max.entry(account.clone()).or_default();
            *m = (*m).max(*n);
            self.started.lock().unwrap().push((account.clone(), name));
        }
        let total = self.total.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_total.fetch_max(total, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(250));
        let out = RealConnectors.backup(source, request);
        self.total.fetch_sub(1, Ordering::SeqCst);
        *self.now.lock().unwrap().get_mut(&account).unwrap() -= 1;
        out
    }
    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome> {
        RealConnectors.restore(vault, snapshot, target, progress)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_the_limit_per_account_runs_at_once_and_other_accounts_do_not_wait() {
    let counting = Arc::new(Counting::default());
    let settings = JobSettings { max_concurrent_jobs_per_account: 2, ..JobSettings::default() };
    let w = world(2, settings, counting.clone()).await;
    let (a, b) = (w.accounts[0].clone(), w.accounts[1].clone());

    // Five jobs of A created in the same instant, then two of B (created last).
    let mut jobs = Vec::new();
    for (account, n) in [(&a, 5), (&b, 2)] {
        for i in 0..n {
            let name = format!("r{i}");
            let (arn, dir) = w.register(account, &name, false).await;
            write_files(&dir, (0..3).map(|f| (format!("f{f}"), noise(50_000, (i * 10 + f) as u64))));
            jobs.push((account.clone(), name, w.start(account, &arn).await, read_tree(&dir)));
        }
        w.clock.advance(SignedDuration::from_secs(1));
    }
    // Two dispatchers at once (a scheduler tick and an operator's run, say) share the limit.
    let (x, y) = tokio::join!(w.svc.run_ready_jobs(), w.svc.run_ready_jobs());
    x.unwrap();
    y.unwrap();

    let max = counting.max.lock().unwrap().clone();
    assert_eq!(max[&a], 2, "A's jobs at once: {max:?}");
    assert_eq!(max[&b], 2, "B's jobs at once: {max:?}");
    assert!(counting.max_total.load(Ordering::SeqCst) >= 3, "A and B ran side by side");

    // Jobs of one instant start in creation order, two at a time; B's start alongside A's
    // first two, not after A's queue.
    let started = counting.started.lock().unwrap().clone();
    assert_eq!(started.len(), 7, "each job ran once: {started:?}");
    let at = |acct: &str, name: &str| started.iter().position(|(x, n)| x == acct && n == name).unwrap();
    let a_order: Vec<usize> = (0..5).map(|i| at(&a, &format!("r{i}"))).collect();
    assert!(a_order[0].max(a_order[1]) < a_order[2].min(a_order[3]) && a_order[2].max(a_order[3]) < a_order[4], "{started:?}");
    for i in 0..2 {
        assert!(at(&b, &format!("r{i}")) < a_order[2].min(a_order[3]), "B waited for A: {started:?}");
    }

    for (account, name, id, data) in &jobs {
        let j = w.describe(id).await;
        assert_eq!((j.state.as_str(), j.attempt), ("COMPLETED", 1), "{j:?}");
        assert_eq!(&w.restore(j.recovery_point_arn.as_ref().unwrap(), &format!("{account}-{name}")).await, data);
    }
}

// ---------------------------------------------------------------------------------------
// Retries

/// What a resource's connector does, by resource name.
struct Scripted {
    clock: ManualClock,
    calls: Mutex<HashMap<String, usize>>,
}

impl Connectors for Scripted {
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome> {
        let Source::Directory { path } = source else { unreachable!() };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let call = {
            let mut calls = self.calls.lock().unwrap();
            let c = calls.entry(name.clone()).or_default();
            *c += 1;
            *c
        };
        let refused = || ConnectorError::Connection { what: format!("db-{name}:5432"), reason: "connection refused".into() };
        match name.as_str() {
            "flaky" if call <= 2 => Err(refused()),
            "down" => Err(refused()),
            "broken" => Err(ConnectorError::Tool { tool: "pg_dump".into(), reason: "exit status 1: permission denied".into() }),
            "late" => {
                // Each refusal takes longer than the job's start window.
                self.clock.advance(SignedDuration::from_mins(61));
                Err(refused())
            }
            _ => RealConnectors.backup(source, request),
        }
    }
    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome> {
        RealConnectors.restore(vault, snapshot, target, progress)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_retried_other_failures_are_final() {
    let settings = JobSettings { max_concurrent_jobs_per_account: 2, max_attempts: 3 };
    let mut w = world(1, settings, Arc::new(RealConnectors)).await;
    // The script moves the world's clock ("late").
    let scripted = Arc::new(Scripted { clock: w.clock.clone(), calls: Mutex::default() });
    w.svc = w.svc.clone().with_connectors(scripted.clone());
    let a = w.accounts[0].clone();

    let mut ids = BTreeMap::new();
    let mut data = BTreeMap::new();
    for name in ["flaky", "down", "broken", "late", "ok1", "ok2"] {
        let (arn, dir) = w.register(&a, name, false).await;
        write_files(&dir, (0..3).map(|f| (format!("{name}-{f}"), noise(80_000, f))));
        data.insert(name, read_tree(&dir));
        let mut req = w.job(&a, &arn, "Default");
        if name == "late" {
            req.start_window_minutes = Some(60);
        }
        ids.insert(name, w.svc.start_backup_job(req).await.unwrap().backup_job_id);
    }
    w.svc.run_ready_jobs().await.unwrap();
    let calls = scripted.calls.lock().unwrap().clone();

    // Two refusals, then success: COMPLETED on the third attempt, and the data is there.
    let j = w.describe(&ids["flaky"]).await;
    assert_eq!((j.state.as_str(), j.attempt, calls["flaky"]), ("COMPLETED", 3, 3), "{j:?}");
    assert!(j.status_message.is_none(), "{j:?}");
    assert_eq!(w.restore(j.recovery_point_arn.as_ref().unwrap(), "flaky").await, data["flaky"]);

    // Refused every time: FAILED after the last attempt, with the connector's message.
    let j = w.describe(&ids["down"]).await;
    assert_eq!((j.state.as_str(), j.attempt, calls["down"]), ("FAILED", 3, 3), "{j:?}");
    assert_eq!(j.status_message.as_deref(), Some("cannot connect to db-down:5432: connection refused"));
    assert!(j.recovery_point_arn.is_none() && j.completion_date.is_some());

    // Not a connection problem: no retry.
    let j = w.describe(&ids["broken"]).await;
    assert_eq!((j.state.as_str(), j.attempt, calls["broken"]), ("FAILED", 1, 1), "{j:?}");
    assert_eq!(j.status_message.as_deref(), Some("pg_dump failed: exit status 1: permission denied"));

    // Refused, but the start window has passed by then: no second attempt.
    let j = w.describe(&ids["late"]).await;
    assert_eq!((j.state.as_str(), calls["late"]), ("FAILED", 1), "{j:?}");
    assert!(j.status_message.as_deref().unwrap().contains("connection refused"), "{j:?}");

    // The others are undisturbed.
    for name in ["ok1", "ok2"] {
        let j = w.describe(&ids[name]).await;
        assert_eq!((j.state.as_str(), j.attempt, calls[name]), ("COMPLETED", 1, 1), "{j:?}");
        assert_eq!(w.restore(j.recovery_point_arn.as_ref().unwrap(), name).await, data[name]);
    }
    let rps = w.svc.list_recovery_points_by_backup_vault(&a, REGION, "Default", None, None).await.unwrap().items;
    assert_eq!(rps.len(), 3);
    let vault = w.open_vault(&a).await;
    let report = tokio::task::spawn_blocking(move || vault.check(&CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap())
        .await
        .unwrap();
    assert!(report.is_ok(), "{report:?}");
}

// ---------------------------------------------------------------------------------------
// ListBackupJobs

/// What the test knows about a job it made.
#[derive(Debug, Clone)]
struct Made {
    id: String,
    account: String,
    resource: String,
    vault: String,
    created: Timestamp,
    state: &'static str,
}

/// Every page of `req`, each page's length, and whether the last page ended the list.
async fn all_pages(svc: &BackupService, mut req: ListBackupJobs) -> (Vec<BackupJob>, Vec<usize>) {
    let (mut out, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let page = svc.list_backup_jobs(&req).await.unwrap();
        sizes.push(page.items.len());
        out.extend(page.items);
        match page.next_token {
            Some(t) => req.next_token = Some(t),
            None => return (out, sizes),
        }
        assert!(sizes.len() < 100, "paging does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_backup_jobs_filters_and_pages_newest_first() {
    let w = world(2, JobSettings::default(), Arc::new(RealConnectors)).await;
    let (a, b) = (w.accounts[0].clone(), w.accounts[1].clone());
    w.svc.create_backup_vault(&a, REGION, "Other", BTreeMap::new(), None).await.unwrap();
    let (r1, d1) = w.register(&a, "r1", false).await;
    let (r2, d2) = w.register(&a, "r2", false).await;
    let (r3, d3) = w.register(&b, "r3", false).await;
    for (d, seed) in [(&d1, 1), (&d2, 2), (&d3, 3)] {
        write_files(d, [("data".to_owned(), noise(20_000, seed))]);
    }
    let t0 = w.clock.now();

    // 25 jobs, a minute apart: every fifth is stopped before it starts (ABORTED); r2's
    // directory is gone when they run (FAILED); the rest COMPLETED.
    let plan = [(&a, &r1, "Default"), (&a, &r2, "Default"), (&a, &r1, "Other"), (&b, &r3, "Default")];
    let mut made = Vec::new();
    for i in 0..25 {
        let (account, resource, vault) = plan[i % plan.len()];
        let id = w.svc.start_backup_job(w.job(account, resource, vault)).await.unwrap().backup_job_id;
        let state = if i % 5 == 4 {
            w.svc.stop_backup_job(&id).await.unwrap();
            "ABORTED"
        } else if resource == &r2 {
            "FAILED"
        } else {
            "COMPLETED"
        };
        made.push(Made { id, account: account.clone(), resource: resource.clone(), vault: vault_arn(REGION, account, vault), created: w.clock.now(), state });
        w.clock.advance(SignedDuration::from_mins(1));
    }
    std::fs::remove_dir_all(&d2).unwrap();
    w.svc.run_ready_jobs().await.unwrap();
    for m in &made {
        let j = w.describe(&m.id).await;
        assert_eq!((j.state.as_str(), j.creation_date), (m.state, m.created), "{j:?}");
    }

    // Each filter returns exactly the jobs it names, newest first.
    let check = |filter: JobFilter, keep: Box<dyn Fn(&Made) -> bool>| {
        let expected: Vec<String> = made.iter().rev().filter(|m| keep(m)).map(|m| m.id.clone()).collect();
        let svc = w.svc.clone();
        async move {
            let (got, _) = all_pages(&svc, ListBackupJobs { filter: filter.clone(), ..Default::default() }).await;
            let got: Vec<String> = got.into_iter().map(|j| j.backup_job_id).collect();
            assert_eq!(got, expected, "{filter:?}");
            got.len()
        }
    };
    let mut by_state = 0;
    for state in ["COMPLETED", "FAILED", "ABORTED"] {
        let n = check(JobFilter { state: Some(state.into()), ..JobFilter::default() }, Box::new(move |m| m.state == state)).await;
        assert!(n > 0, "{state}");
        by_state += n;
    }
    assert_eq!(by_state, 25);
    assert_eq!(check(JobFilter { state: Some("EXPIRED".into()), ..JobFilter::default() }, Box::new(|_| false)).await, 0);
    for acct in [&a, &b] {
        let acct2 = acct.clone();
        check(JobFilter { account_id: Some(acct.clone()), ..JobFilter::default() }, Box::new(move |m| m.account == acct2)).await;
    }
    for r in [&r1, &r2, &r3] {
        let r2c = r.clone();
        check(JobFilter { resource_arn: Some(r.clone()), ..JobFilter::default() }, Box::new(move |m| m.resource == r2c)).await;
    }
    for v in [vault_arn(REGION, &a, "Default"), vault_arn(REGION, &a, "Other"), vault_arn(REGION, &b, "Default")] {
        let vc = v.clone();
        check(JobFilter { vault_arn: Some(v), ..JobFilter::default() }, Box::new(move |m| m.vault == vc)).await;
    }
    // A time range (both ends exclusive, as AWS's "created after/before").
    let (after, before) = (t0 + SignedDuration::from_mins(5), t0 + SignedDuration::from_mins(17));
    let n = check(
        JobFilter { created_after: Some(after), created_before: Some(before), ..JobFilter::default() },
        Box::new(move |m| m.created > after && m.created < before),
    )
    .await;
    assert_eq!(n, 11);
    check(JobFilter { created_after: Some(t0 + SignedDuration::from_hours(1)), ..JobFilter::default() }, Box::new(|_| false)).await;
    // Filters combine.
    let acct = a.clone();
    check(
        JobFilter { account_id: Some(a.clone()), state: Some("COMPLETED".into()), created_before: Some(before), ..JobFilter::default() },
        Box::new(move |m| m.account == acct && m.state == "COMPLETED" && m.created < before),
    )
    .await;

    // Pages of 7: 7 + 7 + 7 + 4, every job once, newest first.
    let (jobs, sizes) = all_pages(&w.svc, ListBackupJobs { max_results: Some(7), ..Default::default() }).await;
    assert_eq!(sizes, [7, 7, 7, 4]);
    let ids: Vec<&str> = jobs.iter().map(|j| j.backup_job_id.as_str()).collect();
    assert_eq!(ids, made.iter().rev().map(|m| m.id.as_str()).collect::<Vec<_>>());
    assert!(jobs.windows(2).all(|p| p[0].creation_date > p[1].creation_date));
    // Paged and filtered: one account's jobs three at a time.
    let (jobs, sizes) = all_pages(&w.svc, ListBackupJobs { filter: JobFilter { account_id: Some(b.clone()), ..JobFilter::default() }, max_results: Some(3), ..Default::default() }).await;
    assert!(sizes.iter().all(|&s| s <= 3) && sizes.len() >= 2, "{sizes:?}");
    assert_eq!(jobs.iter().map(|j| j.backup_job_id.as_str()).collect::<Vec<_>>(), made.iter().rev().filter(|m| m.account == b).map(|m| m.id.as_str()).collect::<Vec<_>>());

    // Jobs created in the same instant (one scheduler firing, say): pages still hold each
    // once, the last created first.
    let mut same = Vec::new();
    for _ in 0..9 {
        same.push(w.svc.start_backup_job(w.job(&a, &r1, "Default")).await.unwrap().backup_job_id);
    }
    let filter = JobFilter { created_after: Some(w.clock.now() - SignedDuration::from_secs(1)), ..JobFilter::default() };
    let (jobs, sizes) = all_pages(&w.svc, ListBackupJobs { filter, max_results: Some(4), ..Default::default() }).await;
    assert_eq!(sizes, [4, 4, 1]);
    same.reverse();
    assert_eq!(jobs.into_iter().map(|j| j.backup_job_id).collect::<Vec<_>>(), same);
    let unique: BTreeSet<&String> = same.iter().collect();
    assert_eq!(unique.len(), 9);

    // A token that is not one of ours.
    let err = w.svc.list_backup_jobs(&ListBackupJobs { next_token: Some("garbage".into()), ..Default::default() }).await.unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValueException", "{err}");
}
