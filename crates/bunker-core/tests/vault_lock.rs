//! Vault Lock and legal holds on real directory trees in real vaults, on the fake clock:
//!
//! * 400 simulated days of a daily rule (deleted after 120 days) into a vault locked in
//!   compliance mode (MinRetentionDays 100, MaxRetentionDays 400, ChangeableForDays 3).
//!   Every day, every point younger than 100 days resists deletion and a shorter retention
//!   (every tenth day with the governance bypass too), and the lock resists deletion and
//!   loosening once the grace time is over; the vault cannot be deleted. Lifecycle deletes exactly what its
//!   dates say (120 points from day 120 on), and a point past 100 days may be deleted.
//! * Governance mode: refused without the bypass, allowed with it; changeable at any time.
//! * The grace time of compliance mode: changeable and removable until the lock date only.
//! * Jobs and copies whose retention the lock refuses fail, naming it; nothing is stored.
//! * Points made before a lock is put are kept by it too; lifecycle deletes them once it may.
//! * A legal hold over a date range keeps its points past their `DeleteAt`, against
//!   `DeleteRecoveryPoint` too; once cancelled the next pass deletes them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{
    BackupService, CreateLegalHold, DateRange, LegalHoldSelection, PutVaultLock, RecoveryPoint, RegisterResource, Scheduler,
    StartBackupJob, StartCopyJob,
};
use bunker_core::{BackupError, Clock, CreateAccount, CreateOrganization, ManualClock, Organizations};
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
    files: PathBuf,
    resource: String,
}

/// One account with vault `vault`, and a directory resource tagged for the daily plan.
async fn world(vault: &str) -> World {
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
    svc.create_backup_vault(&account, REGION, vault, BTreeMap::new(), None).await.unwrap();
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

/// Day `day`'s data, small: a file that never changes and one replaced every day.
fn day_data(day: i64) -> BTreeMap<String, Vec<u8>> {
    [("base.bin".to_owned(), noise(4 << 10, 1)), ("today.bin".to_owned(), noise(1 << 10, 1000 + day as u64))].into()
}

fn lifecycle(delete: Option<i64>) -> Lifecycle {
    Lifecycle { move_to_cold_storage_after_days: None, delete_after_days: delete, opt_in_to_archive_for_supported_resources: None }
}

fn lock(min: Option<i64>, max: Option<i64>, changeable: Option<i64>) -> PutVaultLock {
    PutVaultLock { min_retention_days: min, max_retention_days: max, changeable_for_days: changeable }
}

/// The error, which must be an `InvalidRequestException` whose message contains `needle`.
fn refused<T: std::fmt::Debug>(r: Result<T, BackupError>, needle: &str) -> String {
    let err = r.expect_err(&format!("refused, naming `{needle}`"));
    assert_eq!(err.code(), "InvalidRequestException", "{err}");
    let text = err.to_string();
    assert!(text.contains(needle), "`{needle}` not in: {text}");
    text
}

impl World {
    fn write_day(&self, day: i64) {
        std::fs::create_dir_all(&self.files).unwrap();
        for (name, bytes) in day_data(day) {
            std::fs::write(self.files.join(name), bytes).unwrap();
        }
    }

    /// Checks vault `vault`'s (warm) repository and returns how many snapshots it holds.
    async fn check(&self, vault: &str) -> usize {
        let repo = self.root.join("fast/eu").join(&self.account).join(vault);
        let kek = self.svc.vault_key_encryption_key(&self.account, REGION, vault).await.unwrap();
        let v = Vault::open(Arc::new(LocalStorage::new(&repo)), &kek).unwrap();
        let report = v.check(&CheckOptions { read_data: false, threads: Some(2) }, &NoProgress).unwrap();
        assert!(report.problems.is_empty(), "{}: {:?}", repo.display(), report.problems);
        report.snapshots
    }

    /// The vault's points, oldest first.
    async fn points(&self, vault: &str) -> Vec<RecoveryPoint> {
        let mut rps = self.svc.list_recovery_points_by_backup_vault(&self.account, REGION, vault, None, None).await.unwrap().items;
        rps.reverse();
        rps
    }

    fn job(&self, vault: &str, lifecycle: Option<Lifecycle>) -> StartBackupJob {
        StartBackupJob {
            account_id: self.account.clone(),
            region: REGION.into(),
            backup_vault_name: vault.into(),
            resource_arn: self.resource.clone(),
            iam_role_arn: None,
            start_window_minutes: None,
            complete_window_minutes: None,
            lifecycle,
            recovery_point_tags: BTreeMap::new(),
        }
    }

    /// An on-demand backup now; the job as it ended.
    async fn run_backup(&self, vault: &str, lifecycle: Option<Lifecycle>) -> bunker_core::backup::BackupJob {
        let id = self.svc.start_backup_job(self.job(vault, lifecycle)).await.unwrap().backup_job_id;
        self.svc.run_backup_job_now(&id).await.unwrap()
    }

    /// An on-demand backup now that must complete; its recovery point.
    async fn backup_now(&self, vault: &str, lifecycle: Option<Lifecycle>) -> String {
        let job = self.run_backup(vault, lifecycle).await;
        assert_eq!(job.state, "COMPLETED", "{job:?}");
        job.recovery_point_arn.unwrap()
    }

    async fn put_lock(&self, vault: &str, l: PutVaultLock) -> Result<(), BackupError> {
        self.svc.put_backup_vault_lock_configuration(&self.account, REGION, vault, l).await
    }

    async fn delete_lock(&self, vault: &str) -> Result<(), BackupError> {
        self.svc.delete_backup_vault_lock_configuration(&self.account, REGION, vault).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_days_in_a_vault_locked_in_compliance_mode() {
    let began = Instant::now();
    let w = world("Locked").await;
    let start = w.clock.now();
    w.put_lock("Locked", lock(Some(100), Some(400), Some(3))).await.unwrap();
    let lock_date = start + DAY * 3;
    let fields = w.svc.backup_vault_lock(&w.account, REGION, "Locked").await.unwrap();
    assert!(fields.locked);
    assert_eq!((fields.min_retention_days, fields.max_retention_days, fields.lock_date), (Some(100), Some(400), Some(lock_date)));

    let plan = r#"{"BackupPlanName":"daily","Rules":[{"RuleName":"daily","TargetBackupVaultName":"Locked",
        "ScheduleExpression":"cron(0 5 ? * * *)","Lifecycle":{"DeleteAfterDays":120}}]}"#;
    let plan = w.svc.create_backup_plan(&w.account, REGION, plan, None).await.unwrap();
    let sel = r#"{"SelectionName":"tagged","IamRoleArn":"arn:aws:iam::1:role/r",
        "ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}]}"#;
    w.svc.create_backup_selection(&plan.backup_plan_id, sel, None).await.unwrap();

    const DAYS: i64 = 400;
    let the_lock = "Vault Lock of backup vault Locked";
    let mut scheduler = Scheduler::new(w.svc.clone(), start);
    let mut refusals = 0usize;
    for day in 0..DAYS {
        w.write_day(day);
        scheduler.run_until(&w.clock, start + DAY * (day as i32 + 1)).await.unwrap();
        let now = w.clock.now();
        let rps = w.points("Locked").await;

        // Lifecycle deletes exactly as configured: the points of the last 120 days.
        assert_eq!(rps.len(), (day + 1).min(120) as usize, "day {day}: points");
        assert!(rps.iter().all(|r| r.status == "COMPLETED" && r.calculated_lifecycle.delete_at == Some(r.creation_date + DAY * 120)));

        // Every point younger than MinRetentionDays resists deletion and a shorter
        // retention, even with the bypass once the lock is immutable.
        for rp in rps.iter().filter(|r| r.creation_date + DAY * 100 > now) {
            let arn = &rp.recovery_point_arn;
            refused(w.svc.delete_recovery_point("Locked", arn).await, the_lock);
            refused(w.svc.update_recovery_point_lifecycle(arn, lifecycle(Some(99))).await, "MinRetentionDays");
            refusals += 2;
            if now >= lock_date && day % 10 == 0 {
                refused(w.svc.delete_recovery_point_bypassing_governance("Locked", arn).await, "compliance mode since");
                refused(w.svc.update_recovery_point_lifecycle_bypassing_governance(arn, lifecycle(Some(1))).await, the_lock);
            }
        }
        // Once the lock date has come the lock can be neither removed nor loosened (nor
        // tightened); the vault, holding points, cannot be deleted.
        if now >= lock_date {
            refused(w.delete_lock("Locked").await, "immutable");
            refused(w.put_lock("Locked", lock(Some(1), None, None)).await, "immutable");
            if day % 50 == 0 {
                refused(w.put_lock("Locked", lock(Some(200), Some(400), Some(3))).await, the_lock);
            }
        }
        let err = w.svc.delete_backup_vault(&w.account, REGION, "Locked").await.unwrap_err();
        assert_eq!(err.code(), "InvalidRequestException", "{err}");

        // A point past MinRetentionDays may be deleted by hand (day 300: the oldest, 119
        // days old, due the next day anyway, so the count above holds), though not given a
        // retention ending before them.
        if day == 300 {
            let oldest = &rps[0];
            assert!(oldest.creation_date + DAY * 100 <= now);
            refused(w.svc.update_recovery_point_lifecycle(&oldest.recovery_point_arn, lifecycle(Some(50))).await, the_lock);
            let longer = w.svc.update_recovery_point_lifecycle(&oldest.recovery_point_arn, lifecycle(Some(130))).await.unwrap();
            assert_eq!(longer.calculated_lifecycle.delete_at, Some(oldest.creation_date + DAY * 130));
            refused(w.svc.update_recovery_point_lifecycle(&oldest.recovery_point_arn, lifecycle(Some(401))).await, "MaxRetentionDays");
            w.svc.delete_recovery_point("Locked", &oldest.recovery_point_arn).await.unwrap();
            assert_eq!(w.points("Locked").await.len(), 119);
        }
    }
    let fields = w.svc.backup_vault_lock(&w.account, REGION, "Locked").await.unwrap();
    assert_eq!((fields.locked, fields.min_retention_days, fields.lock_date), (true, Some(100), Some(lock_date)));
    assert_eq!(w.check("Locked").await, 120, "the repository holds exactly the points");
    assert!(refusals > 30_000, "{refusals}");
    eprintln!("400 locked days, {refusals} refusals, in {:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_mode_is_bypassed_only_on_request_and_changes_at_any_time() {
    let w = world("Gov").await;
    w.put_lock("Gov", lock(Some(30), None, None)).await.unwrap();
    let fields = w.svc.backup_vault_lock(&w.account, REGION, "Gov").await.unwrap();
    assert_eq!((fields.locked, fields.min_retention_days, fields.lock_date), (true, Some(30), None));
    let a = w.backup_now("Gov", Some(lifecycle(Some(35)))).await;
    let b = w.backup_now("Gov", Some(lifecycle(Some(35)))).await;

    w.clock.set(w.clock.now() + DAY * 2);

    let text = refused(w.svc.delete_recovery_point("Gov", &a).await, "Vault Lock of backup vault Gov (governance mode");
    assert!(text.contains("MinRetentionDays 30"), "{text}");
    refused(w.svc.update_recovery_point_lifecycle(&a, lifecycle(Some(10))).await, "MinRetentionDays");
    let out = w.svc.update_recovery_point_lifecycle_bypassing_governance(&a, lifecycle(Some(10))).await.unwrap();
    assert!(out.calculated_lifecycle.delete_at.is_some());
    w.svc.delete_recovery_point_bypassing_governance("Gov", &b).await.unwrap();
    assert_eq!(w.points("Gov").await.len(), 1);
    // Lifecycle never bypasses: `a` is due (10 days) but kept until day 30.
    w.clock.set(w.clock.now() + DAY * 20);
    w.svc.apply_lifecycle().await.unwrap();
    assert_eq!(w.points("Gov").await.len(), 1);
    w.clock.set(w.clock.now() + DAY * 9);
    w.svc.apply_lifecycle().await.unwrap();
    assert!(w.points("Gov").await.is_empty());
    // Governance locks change and go whenever asked, years on.
    w.clock.set(w.clock.now() + DAY * 4000);
    w.put_lock("Gov", lock(Some(30), Some(1000), None)).await.unwrap();
    assert_eq!(w.svc.backup_vault_lock(&w.account, REGION, "Gov").await.unwrap().max_retention_days, Some(1000));
    w.delete_lock("Gov").await.unwrap();
    assert!(!w.svc.backup_vault_lock(&w.account, REGION, "Gov").await.unwrap().locked);
    assert_eq!(w.delete_lock("Gov").await.unwrap_err().code(), "ResourceNotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_mode_is_changeable_only_within_its_grace_time() {
    let w = world("Vault").await;
    let start = w.clock.now();
    // Parameters are checked.
    for bad in [lock(Some(10), Some(5), None), lock(Some(0), None, None), lock(Some(1), None, Some(2)), lock(None, Some(36_501), None)] {
        let err = w.put_lock("Vault", bad).await.unwrap_err();
        assert_eq!(err.code(), "InvalidParameterValueException", "{bad:?}: {err}");
    }
    assert_eq!(w.put_lock("Nope", lock(Some(1), None, None)).await.unwrap_err().code(), "ResourceNotFoundException");
    assert!(!w.svc.backup_vault_lock(&w.account, REGION, "Vault").await.unwrap().locked);

    // Within the grace time: changed, removed, put again (a new lock date each time).
    w.put_lock("Vault", lock(Some(50), None, Some(3))).await.unwrap();
    w.clock.set(start + DAY * 2);
    w.put_lock("Vault", lock(Some(60), Some(90), Some(5))).await.unwrap();
    let fields = w.svc.backup_vault_lock(&w.account, REGION, "Vault").await.unwrap();
    assert_eq!((fields.min_retention_days, fields.max_retention_days, fields.lock_date), (Some(60), Some(90), Some(start + DAY * 7)));
    // Before the lock date a point may still be deleted with the bypass.
    let a = w.backup_now("Vault", Some(lifecycle(Some(70)))).await;
    refused(w.svc.delete_recovery_point("Vault", &a).await, "compliance mode from");
    w.svc.delete_recovery_point_bypassing_governance("Vault", &a).await.unwrap();
    w.delete_lock("Vault").await.unwrap();
    w.put_lock("Vault", lock(Some(60), Some(90), Some(3))).await.unwrap();
    let lock_date = start + DAY * 5;

    // Just before the lock date: still changeable. From it on: never again.
    w.clock.set(lock_date - SignedDuration::from_secs(1));
    w.put_lock("Vault", lock(Some(60), Some(90), Some(3))).await.unwrap();
    let lock_date = lock_date - SignedDuration::from_secs(1) + DAY * 3;
    let b = w.backup_now("Vault", Some(lifecycle(Some(70)))).await;
    w.clock.set(lock_date);
    refused(w.delete_lock("Vault").await, "immutable");
    refused(w.put_lock("Vault", lock(Some(1), None, None)).await, "immutable");
    refused(w.put_lock("Vault", lock(Some(60), Some(90), Some(3))).await, "immutable");
    refused(w.svc.delete_recovery_point_bypassing_governance("Vault", &b).await, "compliance mode since");
    w.clock.set(lock_date + DAY * 3650);
    refused(w.delete_lock("Vault").await, "immutable");
    let fields = w.svc.backup_vault_lock(&w.account, REGION, "Vault").await.unwrap();
    assert_eq!((fields.locked, fields.min_retention_days, fields.max_retention_days, fields.lock_date), (true, Some(60), Some(90), Some(lock_date)));
    // Ten years on, `b` is long past its 60 days: lifecycle deleted it at 70.
    w.svc.apply_lifecycle().await.unwrap();
    assert!(w.points("Vault").await.is_empty());
    // Empty, the vault may go, and its lock with it.
    w.svc.delete_backup_vault(&w.account, REGION, "Vault").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_copies_outside_the_locked_retention_fail_naming_the_lock() {
    let w = world("Locked").await;
    w.svc.create_backup_vault(&w.account, REGION, "Open", BTreeMap::new(), None).await.unwrap();
    w.put_lock("Locked", lock(Some(100), Some(400), Some(3))).await.unwrap();
    for (l, why) in [(Some(50), "less than the MinRetentionDays"), (None, "kept forever"), (Some(500), "longer than the MaxRetentionDays")] {
        let job = w.run_backup("Locked", Some(lifecycle(l))).await;
        assert_eq!(job.state, "FAILED", "{job:?}");
        let message = job.status_message.clone().unwrap_or_default();
        assert!(message.contains(why) && message.contains("Vault Lock of backup vault Locked"), "{message}");
        assert!(job.recovery_point_arn.is_none());
    }
    assert!(w.points("Locked").await.is_empty());
    assert_eq!(w.check("Locked").await, 0, "nothing written");
    // Within bounds: fine, at both ends.
    w.backup_now("Locked", Some(lifecycle(Some(100)))).await;
    w.write_day(1);
    w.backup_now("Locked", Some(lifecycle(Some(400)))).await;

    // Copies into the locked vault: the same rule on the copy's lifecycle.
    let src = w.backup_now("Open", Some(lifecycle(Some(10)))).await;
    let destination = bunker_core::backup::vault_arn(REGION, &w.account, "Locked");
    let copy = |l: Option<Lifecycle>| StartCopyJob {
        recovery_point_arn: src.clone(),
        source_backup_vault_name: "Open".into(),
        destination_backup_vault_arn: destination.clone(),
        iam_role_arn: None,
        lifecycle: l,
    };
    // The source's own lifecycle (10 days) is too short for the destination.
    let job = w.svc.start_copy_job(copy(None)).await.unwrap();
    let job = w.svc.run_copy_job_now(&job.copy_job_id).await.unwrap();
    assert_eq!(job.state, "FAILED", "{job:?}");
    assert!(job.status_message.as_deref().unwrap_or("").contains("MinRetentionDays of the Vault Lock of backup vault Locked"), "{job:?}");
    assert_eq!(w.points("Locked").await.len(), 2);
    let job = w.svc.start_copy_job(copy(Some(lifecycle(Some(200))))).await.unwrap();
    let job = w.svc.run_copy_job_now(&job.copy_job_id).await.unwrap();
    assert_eq!(job.state, "COMPLETED", "{job:?}");
    assert_eq!(w.points("Locked").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_made_before_the_lock_are_kept_until_it_allows_their_deletion() {
    let w = world("Vault").await;
    let start = w.clock.now();
    // Days 0–4: points kept 10 days, no lock yet.
    for day in 0..5 {
        w.clock.set(start + DAY * day);
        w.write_day(day as i64);
        w.backup_now("Vault", Some(lifecycle(Some(10)))).await;
    }
    // Day 5: a governance lock of 20 days covers them too.
    w.clock.set(start + DAY * 5);
    w.put_lock("Vault", lock(Some(20), None, None)).await.unwrap();
    let first = w.points("Vault").await[0].recovery_point_arn.clone();
    refused(w.svc.delete_recovery_point("Vault", &first).await, "Vault Lock of backup vault Vault");
    // Past their DeleteAt (day 10–14), lifecycle keeps retrying and deletes nothing …
    for day in 10..20 {
        w.clock.set(start + DAY * day + SignedDuration::from_hours(1));
        assert_eq!(w.svc.apply_lifecycle().await.unwrap(), 0, "day {day}");
        assert_eq!(w.points("Vault").await.len(), 5);
    }
    // The scheduler wakes up for it: the next lifecycle event is the first point's 20th day.
    assert_eq!(w.svc.next_lifecycle_event(w.clock.now()).await.unwrap(), Some(start + DAY * 20));
    // … then deletes each point on the first pass after its 20 days.
    for day in 20..25 {
        w.clock.set(start + DAY * day + SignedDuration::from_hours(1));
        assert_eq!(w.svc.apply_lifecycle().await.unwrap(), 1, "day {day}");
        assert_eq!(w.points("Vault").await.len(), (24 - day) as usize);
    }
    assert_eq!(w.check("Vault").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legal_hold_keeps_its_points_until_cancelled() {
    let w = world("Vault").await;
    let start = w.clock.now();
    // Days 0–9: a point a day at noon, kept 10 days.
    let mut arns = Vec::new();
    for day in 0..10 {
        w.clock.set(start + DAY * day + SignedDuration::from_hours(12));
        w.write_day(day as i64);
        arns.push(w.backup_now("Vault", Some(lifecycle(Some(10)))).await);
    }
    // Day 10: a hold on the points of days 3 to 6.
    w.clock.set(start + DAY * 10);
    let req = CreateLegalHold {
        title: "case 42".into(),
        description: "litigation".into(),
        idempotency_token: Some("token-1".into()),
        recovery_point_selection: Some(LegalHoldSelection {
            vault_names: vec!["Vault".into()],
            resource_identifiers: vec![w.resource.clone()],
            date_range: Some(DateRange { from_date: start + DAY * 3, to_date: start + DAY * 7 }),
        }),
        tags: BTreeMap::new(),
    };
    let hold = w.svc.create_legal_hold(&w.account, REGION, req.clone()).await.unwrap();
    assert_eq!(hold.status, "ACTIVE");
    assert!(hold.legal_hold_arn.ends_with(&format!(":legal-hold:{}", hold.legal_hold_id)));
    // A retry with the same token is the same hold.
    assert_eq!(w.svc.create_legal_hold(&w.account, REGION, req).await.unwrap(), hold);
    assert_eq!(w.svc.list_legal_holds(&w.account, REGION, None, None).await.unwrap().items, vec![hold.clone()]);
    let held: Vec<String> = w.svc.list_recovery_points_by_legal_hold(&w.account, REGION, &hold.legal_hold_id, None, None).await.unwrap().items.into_iter().map(|r| r.recovery_point_arn).collect();
    let mut expected: Vec<String> = arns[3..7].to_vec();
    expected.sort();
    assert_eq!(held, expected);

    // DeleteRecoveryPoint: refused, naming the hold, even with the bypass.
    refused(w.svc.delete_recovery_point("Vault", &arns[4]).await, &hold.legal_hold_id);
    refused(w.svc.delete_recovery_point_bypassing_governance("Vault", &arns[4]).await, &hold.legal_hold_id);
    // An unheld point goes.
    w.svc.delete_recovery_point("Vault", &arns[9]).await.unwrap();

    // Day 25: every point is past its DeleteAt; only the held ones stay.
    for day in 10..=25 {
        w.clock.set(start + DAY * day + SignedDuration::from_hours(13));
        w.svc.apply_lifecycle().await.unwrap();
    }
    let left: Vec<String> = w.points("Vault").await.into_iter().map(|r| r.recovery_point_arn).collect();
    assert_eq!(left, arns[3..7].to_vec());

    // Cancelled: the next pass deletes them; the record stays 1 day.
    let err = w.svc.cancel_legal_hold(&w.account, REGION, &hold.legal_hold_id, "", None).await.unwrap_err();
    assert_eq!(err.code(), "MissingParameterValueException");
    w.svc.cancel_legal_hold(&w.account, REGION, &hold.legal_hold_id, "settled", Some(1)).await.unwrap();
    refused(w.svc.cancel_legal_hold(&w.account, REGION, &hold.legal_hold_id, "again", None).await, "CANCELED");
    let got = w.svc.get_legal_hold(&w.account, REGION, &hold.legal_hold_id).await.unwrap();
    assert_eq!((got.status.as_str(), got.cancel_description.as_deref()), ("CANCELED", Some("settled")));
    assert_eq!(got.cancellation_date, Some(w.clock.now()));
    assert_eq!(w.svc.apply_lifecycle().await.unwrap(), 4);
    assert!(w.points("Vault").await.is_empty());
    assert_eq!(w.check("Vault").await, 0);
    w.clock.set(w.clock.now() + DAY);
    assert_eq!(w.svc.get_legal_hold(&w.account, REGION, &hold.legal_hold_id).await.unwrap_err().code(), "ResourceNotFoundException");
    assert!(w.svc.list_legal_holds(&w.account, REGION, None, None).await.unwrap().items.is_empty());
}
