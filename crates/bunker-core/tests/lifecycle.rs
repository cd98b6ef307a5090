//! Lifecycle on real directory trees in real vaults, on the fake clock:
//!
//! * 400 simulated days of a daily rule (cold after 30 days, deleted after 366), lived by
//!   `Scheduler::run_until` (its ticks apply lifecycle, its clock jumps to each step): at each
//!   checkpoint exactly the points the dates say are `WARM`, `COLD` or gone, the warm and
//!   cold repositories hold exactly those snapshots and pass a full check, the space of
//!   moved and deleted points is freed on disk, and cold points restore byte for byte. The
//!   Region's cold root comes from the instance's `regions.json`.
//! * A plan whose lifecycle keeps cold data less than 90 days is refused, naming the path.
//! * `UpdateRecoveryPointLifecycle` and `DeleteRecoveryPoint`, warm and cold.
//! * A deletion (and a move) interrupted by a crash is finished by a fresh service's next
//!   pass: no row stays `DELETING`, the repositories check clean, the rest restores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RecoveryPoint, RegisterResource, Scheduler, StartBackupJob, StartRestoreJob};
use bunker_core::{Clock, CreateAccount, CreateOrganization, ManualClock, Organizations};
use bunker_policy::plan::Lifecycle;
use bunker_testkit::noise;
use bunker_vault::{CheckOptions, LocalStorage, NoProgress, Vault};
use jiff::{SignedDuration, Timestamp};

const REGION: &str = "eu-west-1";
const DAY: SignedDuration = SignedDuration::from_hours(24);

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    clock: ManualClock,
    svc: BackupService,
    account: String,
    /// The directory backed up.
    files: PathBuf,
    resource: String,
}

/// One account with a `Default` vault in a Region whose roots `regions.json` places
/// (`<root>/fast/eu`, `<root>/slow/eu`), and a directory resource holding day 0's data.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let catalog = Catalog::open_file(&root.join("catalog.db")).await.unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let req = CreateAccount { account_name: "prod".into(), email: "prod@example.com".into(), account_id: None, parent_id: None };
    let account = orgs.create_account(req).await.unwrap().account_id;
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let sites = serde_json::json!({ REGION: { "Warm": root.join("fast/eu"), "Cold": root.join("slow/eu") } });
    std::fs::write(data.join("regions.json"), sites.to_string()).unwrap();
    let svc = BackupService::new(catalog, Arc::new(clock.clone()), &data);
    let vault = svc.create_backup_vault(&account, REGION, "Default", BTreeMap::new(), None).await.unwrap();
    assert_eq!(Path::new(&vault.location), root.join("fast/eu").join(&account).join("Default"));
    let files = root.join("src/files");
    let req = RegisterResource {
        account_id: account.clone(),
        region: REGION.into(),
        name: "files".into(),
        source: Source::Directory { path: files.clone() },
        tags: [("backup".to_owned(), "daily".to_owned())].into(),
    };
    let resource = svc.register_resource(req).await.unwrap().arn;
    let w = World { _dir: dir, root, clock, svc, account, files, resource };
    w.write_day(0);
    w
}

/// Day `day`'s data: a file that never changes and one replaced every day, so a deleted
/// point frees its day's file and nothing else.
fn day_data(day: i64) -> BTreeMap<String, Vec<u8>> {
    [("base.bin".to_owned(), noise(32 << 10, 1)), ("today.bin".to_owned(), noise(16 << 10, 1000 + day as u64))].into()
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    bunker_testkit::read_files(dir)
}

fn dir_size(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else { return 0 };
    entries
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() { dir_size(&e.path()) } else { m.len() }
        })
        .sum()
}

impl World {
    fn write_day(&self, day: i64) {
        std::fs::create_dir_all(&self.files).unwrap();
        for (name, bytes) in day_data(day) {
            std::fs::write(self.files.join(name), bytes).unwrap();
        }
    }

    fn warm_repo(&self) -> PathBuf {
        self.root.join("fast/eu").join(&self.account).join("Default")
    }

    fn cold_repo(&self) -> PathBuf {
        self.root.join("slow/eu").join(&self.account).join("Default")
    }

    /// The vault's points, oldest first.
    async fn points(&self) -> Vec<RecoveryPoint> {
        let mut rps = self.svc.list_recovery_points_by_backup_vault(&self.account, REGION, "Default", None, None).await.unwrap().items;
        rps.reverse();
        rps
    }

    /// Opens a repository as an operator would, checks every byte, and returns how many
    /// snapshots it holds.
    async fn check(&self, repo: &Path) -> usize {
        let kek = self.svc.vault_key_encryption_key(&self.account, REGION, "Default").await.unwrap();
        let v = Vault::open(Arc::new(LocalStorage::new(repo)), &kek).unwrap();
        let report = v.check(&CheckOptions { read_data: true, threads: Some(2) }, &NoProgress).unwrap();
        assert!(report.problems.is_empty(), "{}: {:?}", repo.display(), report.problems);
        report.snapshots
    }

    async fn restore(&self, rp: &str, name: &str) -> BTreeMap<String, Vec<u8>> {
        let out = self.root.join("restores").join(name);
        let req = StartRestoreJob { recovery_point_arn: rp.into(), metadata: [("Path".to_owned(), out.display().to_string())].into(), ..Default::default() };
        let job = self.svc.start_restore_job(req).await.unwrap();
        assert_eq!(job.status, "COMPLETED", "{job:?}");
        read_tree(&out)
    }

    /// An on-demand backup of the resource now, with `lifecycle`; its recovery point.
    async fn backup_now(&self, lifecycle: Option<Lifecycle>) -> String {
        let req = StartBackupJob {
            account_id: self.account.clone(),
            region: REGION.into(),
            backup_vault_name: "Default".into(),
            resource_arn: self.resource.clone(),
            iam_role_arn: None,
            start_window_minutes: None,
            complete_window_minutes: None,
            lifecycle,
            recovery_point_tags: BTreeMap::new(),
        };
        let id = self.svc.start_backup_job(req).await.unwrap().backup_job_id;
        let job = self.svc.run_backup_job_now(&id).await.unwrap();
        assert_eq!(job.state, "COMPLETED", "{job:?}");
        job.recovery_point_arn.unwrap()
    }
}

fn lifecycle(cold: Option<i64>, delete: Option<i64>) -> Lifecycle {
    Lifecycle { move_to_cold_storage_after_days: cold, delete_after_days: delete, opt_in_to_archive_for_supported_resources: None }
}

/// What the dates say at `now` about the points made on `days` at 05:00 after `start`
/// (cold after 30 days, deleted after 366): (warm, cold, deleted).
fn expected(start: Timestamp, days: std::ops::Range<i64>, now: Timestamp) -> (usize, usize, usize) {
    let (mut warm, mut cold, mut deleted) = (0, 0, 0);
    for k in days {
        let created = start + DAY * k as i32 + SignedDuration::from_hours(5);
        if created + DAY * 366 <= now {
            deleted += 1;
        } else if created + DAY * 30 <= now {
            cold += 1;
        } else {
            warm += 1;
        }
    }
    (warm, cold, deleted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_days_of_a_daily_rule_through_warm_cold_and_deletion() {
    let began = Instant::now();
    let w = world().await;
    let start = w.clock.now();
    let plan = r#"{"BackupPlanName":"daily-cold","Rules":[{"RuleName":"daily","TargetBackupVaultName":"Default",
        "ScheduleExpression":"cron(0 5 ? * * *)","Lifecycle":{"MoveToColdStorageAfterDays":30,"DeleteAfterDays":366}}]}"#;
    let plan = w.svc.create_backup_plan(&w.account, REGION, plan, None).await.unwrap();
    let sel = r#"{"SelectionName":"tagged","IamRoleArn":"arn:aws:iam::1:role/r",
        "ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}]}"#;
    let selection = w.svc.create_backup_selection(&plan.backup_plan_id, sel, None).await.unwrap();

    // Days 0–39: new data at midnight, the 05:00 backup; the scheduler's ticks apply
    // lifecycle and its fake clock jumps to each lifecycle step.
    const DAYS: i64 = 40;
    let mut scheduler = Scheduler::new(w.svc.clone(), start);
    let census = |rps: &[RecoveryPoint]| {
        let warm = rps.iter().filter(|r| r.storage_class == "WARM").count();
        (warm, rps.len() - warm)
    };
    let mut sizes: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let mut lifecycle_changes = 0;
    for day in 0..DAYS {
        w.write_day(day);
        lifecycle_changes += scheduler.run_until(&w.clock, start + DAY * (day as i32 + 1)).await.unwrap().lifecycle_changes;
        if day == 9 {
            // Checkpoint day 10: ten points, all warm; no cold repository yet.
            let rps = w.points().await;
            assert_eq!(census(&rps), (10, 0));
            assert_eq!(expected(start, 0..10, w.clock.now()), (10, 0, 0));
            assert!(!w.cold_repo().exists());
        }
    }
    // No more backups: the lifecycle of these 40 points is what follows.
    w.svc.delete_backup_selection(&plan.backup_plan_id, &selection.selection_id).await.unwrap();
    let rps = w.points().await;
    assert_eq!(rps.len(), DAYS as usize);
    for (k, rp) in rps.iter().enumerate() {
        assert_eq!(rp.creation_date, start + DAY * k as i32 + SignedDuration::from_hours(5));
        assert_eq!(rp.calculated_lifecycle.move_to_cold_storage_at, Some(rp.creation_date + DAY * 30));
        assert_eq!(rp.calculated_lifecycle.delete_at, Some(rp.creation_date + DAY * 366));
    }
    let arn_of_day: Vec<String> = rps.iter().map(|r| r.recovery_point_arn.clone()).collect();

    for checkpoint in [45, 200, 370, 400] {
        let now = start + DAY * checkpoint;
        lifecycle_changes += scheduler.run_until(&w.clock, now).await.unwrap().lifecycle_changes;
        let rps = w.points().await;
        let (warm, cold, deleted) = expected(start, 0..DAYS, now);
        assert_eq!(census(&rps), (warm, cold), "day {checkpoint}");
        assert_eq!(rps.len() + deleted, DAYS as usize, "day {checkpoint}");
        // The oldest points are the ones gone, and each class is the right one.
        for (i, rp) in rps.iter().enumerate() {
            let k = i + deleted;
            assert_eq!(rp.recovery_point_arn, arn_of_day[k], "day {checkpoint}");
            assert_eq!(rp.status, "COMPLETED");
            let cold_now = rp.calculated_lifecycle.move_to_cold_storage_at.unwrap() <= now;
            assert_eq!(rp.storage_class, if cold_now { "COLD" } else { "WARM" }, "day {checkpoint}, point of day {k}");
        }
        // The repositories hold exactly these snapshots and check clean, every byte read.
        assert_eq!(w.check(&w.warm_repo()).await, warm, "day {checkpoint}: warm snapshots");
        assert_eq!(w.check(&w.cold_repo()).await, cold, "day {checkpoint}: cold snapshots");
        sizes.insert(checkpoint.into(), (dir_size(&w.warm_repo().join("data")), dir_size(&w.cold_repo().join("data"))));
        // The oldest point left restores byte for byte from where it is, and so does the
        // newest.
        for (i, rp) in [(0, &rps[0]), (rps.len() - 1, &rps[rps.len() - 1])] {
            let k = (i + deleted) as i64;
            let restored = w.restore(&rp.recovery_point_arn, &format!("day{checkpoint}-point{k}")).await;
            assert!(restored == day_data(k), "day {checkpoint}: restore of the {} point of day {k} differs", rp.storage_class);
        }
    }
    assert_eq!(expected(start, 0..DAYS, start + DAY * 45), (25, 15, 0));
    assert_eq!(expected(start, 0..DAYS, start + DAY * 200), (0, 40, 0));
    assert_eq!(expected(start, 0..DAYS, start + DAY * 370), (0, 36, 4));
    assert_eq!(expected(start, 0..DAYS, start + DAY * 400), (0, 6, 34));

    // Space is freed: warm once every point moved out, cold as points are deleted (each
    // point's own day file is 16 KiB).
    let (warm45, _) = sizes[&45];
    let (warm200, cold200) = sizes[&200];
    let (_, cold370) = sizes[&370];
    let (_, cold400) = sizes[&400];
    eprintln!("data sizes by day (warm, cold): {sizes:?}");
    assert!(warm45 > 25 * (16 << 10), "{sizes:?}");
    assert!(warm200 * 10 < warm45, "warm space not freed after the moves: {sizes:?}");
    assert!(cold200 > 40 * (16 << 10), "{sizes:?}");
    assert!(cold370 + 3 * (16 << 10) < cold200, "cold space not freed by 4 deletions: {sizes:?}");
    assert!(cold400 * 3 < cold200, "cold space not freed by 34 deletions: {sizes:?}");
    assert_eq!(lifecycle_changes, 40 + 34, "every move and deletion, each counted once");
    assert!(w.svc.next_lifecycle_event(w.clock.now()).await.unwrap().is_some(), "the last six points are still to delete");
    eprintln!("400 days in {:?}", began.elapsed());
}

#[tokio::test]
async fn a_lifecycle_keeping_cold_data_less_than_90_days_is_refused() {
    let w = world().await;
    let plan = r#"{"BackupPlanName":"short-cold","Rules":[{"RuleName":"daily","TargetBackupVaultName":"Default",
        "ScheduleExpression":"cron(0 5 ? * * *)","Lifecycle":{"MoveToColdStorageAfterDays":30,"DeleteAfterDays":100}}]}"#;
    let err = w.svc.create_backup_plan(&w.account, REGION, plan, None).await.unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValueException");
    let text = err.to_string();
    assert!(text.contains("Rules[0].Lifecycle.DeleteAfterDays") && text.contains("at least MoveToColdStorageAfterDays + 90 = 120"), "{text}");
    assert!(w.svc.list_backup_plans(&w.account, REGION, true).await.unwrap().is_empty(), "nothing stored");
    // At 120 days it is accepted.
    let ok = plan.replace("100", "120");
    w.svc.create_backup_plan(&w.account, REGION, &ok, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_recovery_point_lifecycle_and_delete_recovery_point() {
    let w = world().await;
    let created = w.clock.now();
    let a = w.backup_now(None).await;
    w.write_day(1);
    let b = w.backup_now(Some(lifecycle(None, Some(35)))).await;

    // A new lifecycle: CalculatedLifecycle from the creation date, the same rules as a plan.
    let out = w.svc.update_recovery_point_lifecycle(&a, lifecycle(Some(1), Some(91))).await.unwrap();
    assert_eq!(out.calculated_lifecycle.move_to_cold_storage_at, Some(created + DAY));
    assert_eq!(out.calculated_lifecycle.delete_at, Some(created + DAY * 91));
    assert!(out.backup_vault_arn.ends_with(":backup-vault:Default"));
    let err = w.svc.update_recovery_point_lifecycle(&a, lifecycle(Some(30), Some(100))).await.unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValueException");
    assert!(err.to_string().contains("Lifecycle.DeleteAfterDays"), "{err}");
    let err = w.svc.update_recovery_point_lifecycle("arn:aws:backup:eu-west-1:1:recovery-point:nope", lifecycle(None, None)).await.unwrap_err();
    assert_eq!(err.code(), "ResourceNotFoundException");

    // A day later `a` is cold; its move can no longer change, its deletion can.
    w.clock.set(created + DAY + SignedDuration::from_mins(1));
    assert_eq!(w.svc.apply_lifecycle().await.unwrap(), 1);
    let rp = w.svc.describe_recovery_point(&a).await.unwrap();
    assert_eq!(rp.storage_class, "COLD");
    let err = w.svc.update_recovery_point_lifecycle(&a, lifecycle(Some(2), Some(200))).await.unwrap_err();
    assert!(err.to_string().contains("cannot be changed"), "{err}");
    let err = w.svc.update_recovery_point_lifecycle(&a, lifecycle(None, Some(200))).await.unwrap_err();
    assert!(err.to_string().contains("MoveToColdStorageAfterDays"), "{err}");
    let out = w.svc.update_recovery_point_lifecycle(&a, lifecycle(Some(1), Some(200))).await.unwrap();
    assert_eq!(out.calculated_lifecycle.delete_at, Some(created + DAY * 200));
    assert_eq!(w.svc.describe_recovery_point(&a).await.unwrap().calculated_lifecycle.delete_at, Some(created + DAY * 200));
    assert_eq!(w.restore(&a, "a-cold").await, day_data(0));

    // DeleteRecoveryPoint: the vault must be the point's; the cold point goes, then the
    // warm one, each repository checking clean with the other points intact.
    let err = w.svc.delete_recovery_point("Other", &a).await.unwrap_err();
    assert_eq!(err.code(), "ResourceNotFoundException");
    w.svc.delete_recovery_point("Default", &a).await.unwrap();
    assert_eq!(w.svc.describe_recovery_point(&a).await.unwrap_err().code(), "ResourceNotFoundException");
    assert_eq!(w.check(&w.cold_repo()).await, 0);
    assert_eq!(w.check(&w.warm_repo()).await, 1);
    assert_eq!(w.restore(&b, "b-warm").await, day_data(1));
    w.svc.delete_recovery_point("Default", &b).await.unwrap();
    assert_eq!(w.check(&w.warm_repo()).await, 0);
    assert!(w.points().await.is_empty());
    let err = w.svc.delete_recovery_point("Default", &b).await.unwrap_err();
    assert_eq!(err.code(), "ResourceNotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_or_move_cut_short_by_a_crash_is_finished_by_the_next_pass() {
    let w = world().await;
    let mut arns = Vec::new();
    for day in 0..4 {
        w.write_day(day);
        w.clock.set(w.clock.now() + SignedDuration::from_hours(1));
        arns.push(w.backup_now(None).await);
    }
    let (a, b, c, d) = (&arns[0], &arns[1], &arns[2], &arns[3]);
    let kek = w.svc.vault_key_encryption_key(&w.account, REGION, "Default").await.unwrap();
    let warm = Vault::open(Arc::new(LocalStorage::new(w.warm_repo())), &kek).unwrap();

    // Killed after marking `a` and `b` DELETING (committed); for `b`, also after its
    // snapshot was forgotten, before the prune and the row's deletion.
    let catalog = w.svc.catalog().clone();
    let mut tx = catalog.write().await.unwrap();
    for arn in [a, b] {
        assert!(tx.mark_recovery_point_deleting(arn, "Deleted by DeleteRecoveryPoint").await.unwrap());
    }
    let b_row = tx.recovery_point(b).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    warm.forget(&[b_row.snapshot_id.parse().unwrap()]).unwrap();

    // Killed in the middle of moving `c` to cold: copied and recorded COLD, the warm
    // snapshot not yet forgotten.
    let cold = Vault::init(Arc::new(LocalStorage::new(w.cold_repo())), &kek, Default::default()).unwrap();
    let c_row = catalog.read().await.unwrap().recovery_point(c).await.unwrap().unwrap();
    let copied = warm.copy_to(c_row.snapshot_id.parse().unwrap(), &cold).unwrap();
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.set_recovery_point_cold(c, &c_row.snapshot_id, &copied.snapshot_id.to_string()).await.unwrap());
    tx.commit().await.unwrap();
    drop((warm, cold));

    // Meanwhile: a point being deleted is not restored, nor given a new lifecycle.
    let req = StartRestoreJob { recovery_point_arn: a.clone(), metadata: [("Path".to_owned(), w.root.join("r").display().to_string())].into(), ..Default::default() };
    assert_eq!(w.svc.start_restore_job(req).await.unwrap_err().code(), "InvalidRequestException");
    assert_eq!(w.svc.update_recovery_point_lifecycle(a, lifecycle(None, None)).await.unwrap_err().code(), "InvalidRequestException");
    assert_eq!(w.check(&w.warm_repo()).await, 3, "a, c and d still in warm");

    // A fresh service (a restarted process) on the same catalog and data.
    let catalog = Catalog::open_file(&w.root.join("catalog.db")).await.unwrap();
    let svc = BackupService::new(catalog, Arc::new(w.clock.clone()), w.root.join("data"));
    assert_eq!(svc.apply_lifecycle().await.unwrap(), 2);
    let left: Vec<RecoveryPoint> = w.points().await;
    let names: Vec<(&str, &str)> = left.iter().map(|r| (r.recovery_point_arn.as_str(), r.storage_class.as_str())).collect();
    assert_eq!(names, [(c.as_str(), "COLD"), (d.as_str(), "WARM")]);
    assert!(left.iter().all(|r| r.status == "COMPLETED"), "{left:?}");
    let mut tx = svc.catalog().read().await.unwrap();
    assert!(tx.recovery_points_deleting(100).await.unwrap().is_empty());
    assert!(tx.warm_leftovers(100).await.unwrap().is_empty());
    drop(tx);
    assert_eq!(w.check(&w.warm_repo()).await, 1, "only d in warm");
    assert_eq!(w.check(&w.cold_repo()).await, 1, "only c in cold");
    assert_eq!(w.restore(c, "c").await, day_data(2));
    assert_eq!(w.restore(d, "d").await, day_data(3));
    // A second pass has nothing to do.
    assert_eq!(svc.apply_lifecycle().await.unwrap(), 0);
}

/// The job runner takes the resource's newest point as the parent of an incremental backup;
/// once that point is COLD its snapshot is in the cold repository, so the runner must skip
/// it (`storage_class == "WARM"` in `run_backup_job`'s parent lookup, backup/jobs.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_after_the_newest_point_went_cold_completes() {
    let w = world().await;
    w.backup_now(Some(lifecycle(Some(1), Some(91)))).await;
    w.clock.set(w.clock.now() + DAY * 2);
    assert_eq!(w.svc.apply_lifecycle().await.unwrap(), 1);
    w.write_day(5);
    let rp = w.backup_now(None).await;
    assert_eq!(w.restore(&rp, "after-cold").await, day_data(5));
}
