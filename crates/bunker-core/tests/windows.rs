//! Start and completion windows, on the fake clock with a deliberately slow connector:
//! every chunk it reads moves the clock on by ten minutes, so a backup "takes" hours of
//! simulated time while really running for milliseconds.
//!
//! * A directory backup running past its completion window ends `PARTIAL` with a `PARTIAL`
//!   recovery point holding the files read so far (and those restore).
//! * A disk-image backup (one stream: nothing partial can be kept) past its window ends
//!   `ABORTED` with no recovery point.
//! * A job waiting behind the slow one (one job at a time per account) that cannot start
//!   before its `StartBy` ends `EXPIRED`.
//! * Bad input: unknown vault, a resource whose path vanished, a database that refuses the
//!   connection, a plan with an invalid cron — each a clear error or a `FAILED` job.

use std::collections::BTreeMap;
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::{BackupOutcome, BackupRequest, RestoreOutcome, Source};
use bunker_core::backup::{BackupService, Connectors, JobSettings, RealConnectors, RegisterResource, StartBackupJob, StartRestoreJob};
use bunker_core::{Clock, CreateAccount, CreateOrganization, ManualClock, Organizations};
use bunker_testkit::noise;
use bunker_vault::{Phase, Progress, SnapshotId, Vault};
use jiff::{SignedDuration, Timestamp};

const REGION: &str = "eu-west-1";

/// Moves the clock ten minutes per chunk of progress.
struct SlowClock(ManualClock);

impl Progress for SlowClock {
    fn start(&self, _phase: Phase, _total: Option<u64>) {}
    fn advance(&self, _bytes: u64) {
        self.0.advance(SignedDuration::from_mins(10));
        // Give the job's completion-window watch (every 20 ms) time to notice.
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    fn item(&self, _name: &str) {}
    fn finish(&self, _phase: Phase) {}
}

struct Slow(ManualClock);

impl Connectors for Slow {
    fn backup(&self, source: &Source, request: &BackupRequest<'_>) -> bunker_connectors::Result<BackupOutcome> {
        let slow = SlowClock(self.0.clone());
        let req = BackupRequest { progress: &slow, tags: request.tags.clone(), stop: request.stop.clone(), ..*request };
        RealConnectors.backup(source, &req)
    }
    fn restore(&self, vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> bunker_connectors::Result<RestoreOutcome> {
        RealConnectors.restore(vault, snapshot, target, progress)
    }
}

struct World {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    clock: ManualClock,
    svc: BackupService,
    account: String,
}

async fn world(slow: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let clock = ManualClock::new("2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let catalog = Catalog::open_file(&root.join("catalog.db")).await.unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let account = orgs
        .create_account(CreateAccount { account_name: "a".into(), email: "a@example.com".into(), account_id: None, parent_id: None })
        .await
        .unwrap()
        .account_id;
    let mut svc = BackupService::new(catalog, Arc::new(clock.clone()), root.join("data"))
        .with_settings(JobSettings { max_concurrent_jobs_per_account: 1, ..JobSettings::default() });
    if slow {
        svc = svc.with_connectors(Arc::new(Slow(clock.clone())));
    }
    svc.create_backup_vault(&account, REGION, "Default", BTreeMap::new(), None).await.unwrap();
    World { _dir: dir, root, clock, svc, account }
}

impl World {
    async fn register(&self, name: &str, source: Source) -> String {
        self.svc
            .register_resource(RegisterResource {
                account_id: self.account.clone(),
                region: REGION.into(),
                name: name.into(),
                source,
                tags: [("team".to_owned(), "ops".to_owned())].into(),
            })
            .await
            .unwrap()
            .arn
    }

    fn job(&self, arn: &str, start: i64, complete: i64) -> StartBackupJob {
        StartBackupJob {
            account_id: self.account.clone(),
            region: REGION.into(),
            backup_vault_name: "Default".into(),
            resource_arn: arn.into(),
            iam_role_arn: None,
            start_window_minutes: Some(start),
            complete_window_minutes: Some(complete),
            lifecycle: None,
            recovery_point_tags: BTreeMap::new(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_window_partial_aborted_and_start_window_expired() {
    let w = world(true).await;
    let files = w.root.join("files");
    std::fs::create_dir_all(&files).unwrap();
    for i in 0..40 {
        std::fs::write(files.join(format!("f{i:02}.bin")), noise(300_000, i)).unwrap();
    }
    let image = w.root.join("disk.img");
    std::fs::write(&image, noise(6_000_000, 99)).unwrap();
    let dir_arn = w.register("files", Source::Directory { path: files.clone() }).await;
    let img_arn = w.register("disk", Source::DiskImage { path: image }).await;

    // Directory: a 2-hour completion window, far too short for the slow connector.
    let partial = w.svc.start_backup_job(w.job(&dir_arn, 60, 120)).await.unwrap();
    // Queued behind it (one job at a time): its 60-minute start window passes meanwhile.
    let expired = w.svc.start_backup_job(w.job(&img_arn, 60, 10_080)).await.unwrap();
    w.svc.run_ready_jobs().await.unwrap();

    let p = w.svc.describe_backup_job(&partial.backup_job_id).await.unwrap();
    assert_eq!(p.state, "PARTIAL", "{p:?}");
    assert!(p.status_message.as_deref().unwrap().contains("completion window"), "{p:?}");
    let rp = w.svc.describe_recovery_point(p.recovery_point_arn.as_ref().unwrap()).await.unwrap();
    assert_eq!(rp.status, "PARTIAL");
    let e = w.svc.describe_backup_job(&expired.backup_job_id).await.unwrap();
    assert_eq!(e.state, "EXPIRED", "{e:?}");
    assert!(e.status_message.as_deref().unwrap().contains("start window"), "{e:?}");
    assert!(e.recovery_point_arn.is_none());

    // The partial recovery point restores the files it holds, each whole.
    let out = w.root.join("partial-restore");
    let job = w
        .svc
        .start_restore_job(StartRestoreJob {
            recovery_point_arn: rp.recovery_point_arn.clone(),
            metadata: [("Path".to_owned(), out.display().to_string())].into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(job.status, "COMPLETED", "{job:?}");
    let restored: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!restored.is_empty() && restored.len() < 40, "{} files restored", restored.len());
    for name in restored {
        assert_eq!(std::fs::read(out.join(&name)).unwrap(), std::fs::read(files.join(&name)).unwrap(), "{name:?}");
    }

    // A stream (disk image) cannot be kept in part: ABORTED, no recovery point.
    let aborted = w.svc.start_backup_job(w.job(&img_arn, 60, 30)).await.unwrap();
    w.svc.run_ready_jobs().await.unwrap();
    let a = w.svc.describe_backup_job(&aborted.backup_job_id).await.unwrap();
    assert_eq!(a.state, "ABORTED", "{a:?}");
    assert!(a.recovery_point_arn.is_none());
    let rps = w.svc.list_recovery_points_by_resource(&img_arn, None, None).await.unwrap();
    assert!(rps.items.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gives_clear_errors_or_failed_jobs() {
    let w = world(false).await;
    let files = w.root.join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("a"), b"a").unwrap();
    let dir_arn = w.register("files", Source::Directory { path: files.clone() }).await;

    // Unknown vault: refused up front, by name.
    let mut req = w.job(&dir_arn, 60, 600);
    req.backup_vault_name = "Nope".into();
    let err = w.svc.start_backup_job(req).await.unwrap_err();
    assert_eq!(err.code(), "ResourceNotFoundException");
    assert!(err.to_string().contains("Nope"), "{err}");

    // A plan with an invalid cron: the JSON path and the rule.
    let plan = r#"{"BackupPlanName":"p","Rules":[{"RuleName":"r","TargetBackupVaultName":"Default","ScheduleExpression":"cron(0 5 * * * *)"}]}"#;
    let err = w.svc.create_backup_plan(&w.account, REGION, plan, None).await.unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValueException");
    assert!(err.to_string().contains("Rules[0].ScheduleExpression") && err.to_string().contains("invalid-schedule"), "{err}");
    // A plan naming a vault that does not exist.
    let plan = r#"{"BackupPlanName":"p","Rules":[{"RuleName":"r","TargetBackupVaultName":"Missing"}]}"#;
    let err = w.svc.create_backup_plan(&w.account, REGION, plan, None).await.unwrap_err();
    assert!(err.to_string().contains("Missing"), "{err}");
    assert!(w.svc.list_backup_plans(&w.account, REGION, true).await.unwrap().is_empty(), "nothing stored");

    // A selection matching nothing: the plan runs and creates no job.
    let plan = r#"{"BackupPlanName":"nightly","Rules":[{"RuleName":"r","TargetBackupVaultName":"Default","ScheduleExpression":"cron(0 1 * * ? *)"}]}"#;
    let created = w.svc.create_backup_plan(&w.account, REGION, plan, None).await.unwrap();
    let sel = r#"{"SelectionName":"none","IamRoleArn":"arn:aws:iam::1:role/r","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"nobody-has-this"}]}"#;
    w.svc.create_backup_selection(&created.backup_plan_id, sel, None).await.unwrap();
    let mut scheduler = bunker_core::Scheduler::new(w.svc.clone(), w.clock.now());
    let report = scheduler.run_until(&w.clock, w.clock.now() + SignedDuration::from_hours(48)).await.unwrap();
    assert_eq!(report.jobs_created, 0, "{report:?}");

    // A resource whose path vanished: FAILED, saying which path.
    std::fs::remove_dir_all(&files).unwrap();
    let job = w.svc.start_backup_job(w.job(&dir_arn, 60, 600)).await.unwrap();
    w.svc.run_ready_jobs().await.unwrap();
    let j = w.svc.describe_backup_job(&job.backup_job_id).await.unwrap();
    assert_eq!(j.state, "FAILED");
    assert!(j.status_message.as_deref().unwrap().contains(&files.display().to_string()), "{j:?}");

    // A database that refuses the connection: retried within the start window, then FAILED.
    let port = bunker_testkit::free_port();
    let pg_arn = w.register("db", Source::Postgresql { url: format!("postgresql://app@127.0.0.1:{port}/app") }).await;
    let job = w.svc.start_backup_job(w.job(&pg_arn, 60, 600)).await.unwrap();
    w.svc.run_ready_jobs().await.unwrap();
    let j = w.svc.describe_backup_job(&job.backup_job_id).await.unwrap();
    assert_eq!(j.state, "FAILED", "{j:?}");
    assert_eq!(j.attempt, 3);
    assert!(j.status_message.as_deref().unwrap().contains("cannot connect"), "{j:?}");

    // Nothing else was disturbed: the vault has no recovery points, and stays usable.
    assert_eq!(w.svc.describe_backup_vault(&w.account, REGION, "Default").await.unwrap().number_of_recovery_points, 0);
    let err = w.svc.delete_backup_plan(&created.backup_plan_id).await.unwrap_err();
    assert_eq!(err.code(), "InvalidRequestException");
}
