//! Restore testing end to end, on the fake clock: daily backups of a directory and a SQLite
//! database, a weekly restore testing plan for eight weeks.
//!
//! * Every weekly run restores the latest recovery point of each resource into a scratch
//!   location, validates it (file checksums against the manifest; `PRAGMA integrity_check`
//!   and a validation query) and records `SUCCESSFUL`: 8 per resource.
//! * A byte flipped in a pack (inside a chunk every later recovery point still uses)
//!   makes the next directory test `FAILED`, naming the recovery point; the database's
//!   test still succeeds.
//! * Scratch copies are gone after each run and no resource was left registered.
//!
//! And, once each: a PostgreSQL database restored into a scratch database on the same
//! server (dropped afterwards), a bucket restored under a scratch prefix (objects counted
//! and compared, then deleted), a disk image checked against its snapshot, and a
//! validation query whose answer is wrong (`FAILED`, naming the recovery point).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RegisterResource, StartBackupJob, pick_recovery_point};
use bunker_core::{CreateAccount, CreateOrganization, ManualClock, Organizations, Scheduler};
use bunker_vault::{LocalStorage, ObjectKey, Vault};
use jiff::{SignedDuration, Timestamp};
use sqlx::Connection;

const REGION: &str = "eu-west-1";

async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
    sqlx::SqliteConnection::connect_with(&opts).await.unwrap()
}

/// Day `day`'s changes: a new file and an edited one; three new orders.
async fn change(files: &Path, db: &Path, day: i64) {
    std::fs::write(files.join(format!("day-{day:02}.txt")), format!("day {day}\n").repeat(200)).unwrap();
    std::fs::write(files.join("sub/latest.txt"), format!("latest is {day}")).unwrap();
    let mut c = sqlite(db).await;
    for i in 0..3 {
        sqlx::query("INSERT INTO orders (day, item) VALUES ($1, $2)").bind(day).bind(format!("item {i} of day {day}")).execute(&mut c).await.unwrap();
    }
}

/// Flips one byte inside the sealed chunk of `file` in the recovery point's snapshot.
async fn corrupt_chunk_of(svc: &BackupService, account: &str, resource_arn: &str, file: &str) -> String {
    let rp = svc.catalog().read().await.unwrap().recovery_points_by_resource(resource_arn, None, 1).await.unwrap().remove(0);
    let location = svc.describe_backup_vault(account, REGION, "Default").await.unwrap().location;
    let kek = svc.vault_key_encryption_key(account, REGION, "Default").await.unwrap();
    let storage = LocalStorage::new(&location);
    let vault = Vault::open(Arc::new(LocalStorage::new(&location)), &kek).unwrap();
    let entry = vault.ls(rp.snapshot_id.parse().unwrap(), None).unwrap().into_iter().find(|e| e.path.ends_with(file)).unwrap();
    let chunk = entry.node.content.unwrap()[0];
    let at = vault.blob_location(chunk.into()).unwrap();
    let pack = storage.path_of(&ObjectKey::Pack(at.pack));
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[(at.offset + at.length / 2) as usize] ^= 0x5a;
    // Packs are read-only once written.
    let mut perms = std::fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).unwrap();
    std::fs::write(&pack, bytes).unwrap();
    rp.arn
}

/// An organization with one account holding a `Default` vault; data below `<dir>/data`.
async fn world(start: Timestamp) -> (tempfile::TempDir, ManualClock, BackupService, String) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start);
    let catalog = Catalog::open_file(&dir.path().join("catalog.db")).await.unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let account = orgs
        .create_account(CreateAccount { account_name: "a".into(), email: "a@example.com".into(), account_id: None, parent_id: None })
        .await
        .unwrap()
        .account_id;
    let svc = BackupService::new(catalog, Arc::new(clock.clone()), dir.path().join("data"));
    svc.create_backup_vault(&account, REGION, "Default", BTreeMap::new(), None).await.unwrap();
    (dir, clock, svc, account)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_restore_tests_validate_and_catch_a_corrupted_chunk() {
    let began = std::time::Instant::now();
    let start: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap(); // a Sunday
    let (dir, clock, svc, account) = world(start).await;
    let root = dir.path().to_owned();
    let data = root.join("data");

    // The resources: a directory tree and a SQLite database, both tagged for backup.
    let files = root.join("files");
    std::fs::create_dir_all(files.join("sub")).unwrap();
    std::fs::write(files.join("sub/base.txt"), "base\n".repeat(1000)).unwrap();
    let db = root.join("orders.db");
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, day INTEGER NOT NULL, item TEXT NOT NULL)")
        .execute(&mut sqlite(&db).await)
        .await
        .unwrap();
    let tags: BTreeMap<String, String> = [("backup".to_owned(), "daily".to_owned())].into();
    let register = |name: &str, source: Source| RegisterResource {
        account_id: account.clone(),
        region: REGION.into(),
        name: name.into(),
        source,
        tags: tags.clone(),
    };
    let dir_arn = svc.register_resource(register("files", Source::Directory { path: files.clone() })).await.unwrap().arn;
    let db_arn = svc.register_resource(register("orders", Source::Sqlite { path: db.clone() })).await.unwrap().arn;

    // Daily backups at 01:00.
    let plan = r#"{"BackupPlanName":"daily","Rules":[{"RuleName":"d","TargetBackupVaultName":"Default","ScheduleExpression":"cron(0 1 * * ? *)"}]}"#;
    let plan = svc.create_backup_plan(&account, REGION, plan, None).await.unwrap();
    let sel = r#"{"SelectionName":"tagged","IamRoleArn":"arn:aws:iam::1:role/r","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}]}"#;
    svc.create_backup_selection(&plan.backup_plan_id, sel, None).await.unwrap();

    // Weekly restore tests, Sundays at 06:00.
    let rt = r#"{"RestoreTestingPlanName":"weekly","ScheduleExpression":"cron(0 6 ? * SUN *)","StartWindowHours":2,
        "RecoveryPointSelection":{"Algorithm":"LATEST_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"],"SelectionWindowDays":7}}"#;
    let created = svc.create_restore_testing_plan(&account, REGION, rt, BTreeMap::new(), None).await.unwrap();
    assert!(created.restore_testing_plan_arn.contains(":restore-testing-plan:weekly-"), "{created:?}");
    let dir_sel = r#"{"RestoreTestingSelectionName":"files","ProtectedResourceType":"Directory","IamRoleArn":"arn:aws:iam::1:role/rt","ProtectedResourceArns":["*"]}"#;
    svc.create_restore_testing_selection(&account, REGION, "weekly", dir_sel, None).await.unwrap();
    let db_sel = r#"{"RestoreTestingSelectionName":"databases","ProtectedResourceType":"SQLite","IamRoleArn":"arn:aws:iam::1:role/rt",
        "ProtectedResourceConditions":{"StringEquals":[{"Key":"aws:ResourceTag/backup","Value":"daily"}]},
        "ValidationQuery":{"Query":"SELECT COUNT(*) > 0 FROM orders","ExpectedResult":"1"}}"#;
    let got = svc.create_restore_testing_selection(&account, REGION, "weekly", db_sel, None).await.unwrap();
    assert_eq!(got.validation_query.as_ref().unwrap().expected_result, "1");
    // Bad input is refused up front.
    let bad = svc.create_restore_testing_selection(&account, REGION, "weekly", r#"{"RestoreTestingSelectionName":"x","ProtectedResourceType":"Directory","IamRoleArn":"arn:aws:iam::1:role/r","RestoreMetadataOverrides":{"Path":"/"}}"#, None).await.unwrap_err();
    assert_eq!(bad.code(), "InvalidParameterValueException", "{bad}");
    let err = svc.delete_restore_testing_plan(&account, REGION, "weekly").await.unwrap_err();
    assert_eq!(err.code(), "InvalidRequestException");

    // Eight weeks of days; the scheduler ticks from event to event (backups, restore tests).
    let mut scheduler = Scheduler::new(svc.clone(), start);
    let mut tests_run = 0;
    for day in 0..56 {
        change(&files, &db, day).await;
        let report = scheduler.run_until(&clock, start + SignedDuration::from_hours(24 * day + 23)).await.unwrap();
        tests_run += report.restore_tests_run;
        // The scratch copies of this day's tests are gone.
        let scratch = data.join("restore-tests");
        assert!(!scratch.exists() || std::fs::read_dir(&scratch).unwrap().next().is_none(), "day {day}: scratch left");
    }
    assert_eq!(tests_run, 16, "8 weeks × 2 resources");
    let jobs = svc.list_restore_jobs_by_restore_testing_plan(&account, REGION, "weekly", None).await.unwrap();
    assert_eq!(jobs.len(), 16);
    for arn in [&dir_arn, &db_arn] {
        let mine: Vec<_> = jobs.iter().filter(|j| &j.source_resource_arn == arn).collect();
        assert_eq!(mine.len(), 8, "{arn}");
        for j in &mine {
            assert_eq!(j.job.status, "COMPLETED", "{j:?}");
            assert_eq!(j.validation_status.as_deref(), Some("SUCCESSFUL"), "{j:?}");
            assert_eq!(j.deletion_status.as_deref(), Some("SUCCESSFUL"), "{j:?}");
            assert_eq!(j.created_by.restore_testing_plan_arn, created.restore_testing_plan_arn);
        }
    }
    let db_job = jobs.iter().find(|j| j.source_resource_arn == db_arn).unwrap();
    let m = db_job.validation_status_message.as_deref().unwrap();
    assert!(m.contains("integrity_check ok") && m.contains("validation query returned \"1\""), "{m}");
    let dir_job = jobs.iter().find(|j| j.source_resource_arn == dir_arn).unwrap();
    assert!(dir_job.validation_status_message.as_deref().unwrap().contains("match the recovery point's manifest"), "{dir_job:?}");
    // The latest point of the window was tested: the newest test restored the day-49 backup.
    let newest_rp = svc.describe_recovery_point(&dir_job.job.recovery_point_arn).await.unwrap();
    assert_eq!(newest_rp.creation_date, start + SignedDuration::from_hours(24 * 49 + 1));

    // RANDOM_WITHIN_WINDOW: the same pick for the same plan, resource and firing, inside the window.
    let points = svc.catalog().read().await.unwrap().recovery_points_by_resource(&dir_arn, None, 1000).await.unwrap();
    let random: bunker_core::backup::RecoveryPointSelection =
        serde_json::from_str(r#"{"Algorithm":"RANDOM_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"],"SelectionWindowDays":7}"#).unwrap();
    let firing = start + SignedDuration::from_hours(24 * 49 + 6);
    let a = pick_recovery_point(&random, "plan", firing, &points).unwrap();
    assert_eq!(a.arn, pick_recovery_point(&random, "plan", firing, &points).unwrap().arn);
    assert!(a.created_at <= firing && a.created_at >= firing - SignedDuration::from_hours(24 * 7));

    // A corrupted chunk of a file every later recovery point keeps: the next test fails.
    let corrupted_rp = corrupt_chunk_of(&svc, &account, &dir_arn, "day-01.txt").await;
    let report = scheduler.run_until(&clock, start + SignedDuration::from_hours(24 * 56 + 7)).await.unwrap();
    assert_eq!(report.restore_tests_run, 2, "{report:?}");
    let jobs = svc.list_restore_jobs_by_restore_testing_plan(&account, REGION, "weekly", Some(2)).await.unwrap();
    let failed = jobs.iter().find(|j| j.source_resource_arn == dir_arn).unwrap();
    assert_eq!(failed.validation_status.as_deref(), Some("FAILED"), "{failed:?}");
    let message = failed.validation_status_message.as_deref().unwrap();
    assert!(message.contains(&failed.job.recovery_point_arn), "{message}");
    // The failing point is the day-56 backup, which still holds the corrupted chunk.
    assert_ne!(failed.job.recovery_point_arn, corrupted_rp);
    assert_eq!(failed.deletion_status.as_deref(), Some("SUCCESSFUL"), "{failed:?}");
    eprintln!("failed test: {message}");
    let ok = jobs.iter().find(|j| j.source_resource_arn == db_arn).unwrap();
    assert_eq!(ok.validation_status.as_deref(), Some("SUCCESSFUL"), "{ok:?}");

    // Nothing left behind: no scratch directory, no extra registered resource.
    let scratch = data.join("restore-tests");
    assert!(!scratch.exists() || std::fs::read_dir(&scratch).unwrap().next().is_none());
    let resources = svc.list_resources(Some(&account), Some(REGION)).await.unwrap();
    assert_eq!(resources.len(), 2, "{resources:?}");

    // Restore times by resource type.
    let durations = svc.restore_testing_durations(&account, REGION, "weekly").await.unwrap();
    assert_eq!(durations["Directory"].count, 9);
    assert_eq!(durations["SQLite"].count, 9);
    eprintln!("restore durations: {durations:?}; whole test {:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_databases_images_and_wrong_query_answers() {
    let start: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let (dir, clock, svc, account) = world(start).await;
    let root = dir.path().to_owned();
    let data = root.join("data");
    let register = |name: &str, source: Source| RegisterResource {
        account_id: account.clone(),
        region: REGION.into(),
        name: name.into(),
        source,
        tags: BTreeMap::new(),
    };

    let image = root.join("disk.img");
    let mut bytes = vec![0u8; 3 << 20];
    bytes[1 << 20..(1 << 20) + 4096].fill(0xab);
    std::fs::write(&image, &bytes).unwrap();
    let db = root.join("orders.db");
    let mut c = sqlite(&db).await;
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY)").execute(&mut c).await.unwrap();
    sqlx::query("INSERT INTO orders (id) VALUES (1), (2)").execute(&mut c).await.unwrap();
    drop(c);
    let mut arns = vec![
        svc.register_resource(register("disk", Source::DiskImage { path: image })).await.unwrap().arn,
        svc.register_resource(register("orders", Source::Sqlite { path: db })).await.unwrap().arn,
    ];
    let pg = bunker_testkit::postgres::PgServer::start();
    if let Some(pg) = &pg {
        pg.create_database("app");
        pg.psql("app", "CREATE TABLE orders (id INT PRIMARY KEY); INSERT INTO orders VALUES (1), (2), (3);");
        arns.push(svc.register_resource(register("app", Source::Postgresql { url: pg.url("app") })).await.unwrap().arn);
    }
    let moto = bunker_testkit::moto::Moto::start();
    let store = moto.as_ref().map(|m| {
        m.create_bucket("assets");
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(m.endpoint())
            .with_allow_http(true)
            .with_bucket_name("assets")
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap()
    });
    if let (Some(m), Some(store)) = (&moto, &store) {
        use object_store::ObjectStoreExt;
        store.put(&"data/a.txt".into(), "assets\n".repeat(100).into()).await.unwrap();
        store.put(&"data/sub/b.bin".into(), vec![9u8; 5000].into()).await.unwrap();
        let source = Source::Bucket {
            endpoint: Some(m.endpoint()),
            bucket: "assets".into(),
            prefix: "data/".into(),
            region: "us-east-1".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
        };
        arns.push(svc.register_resource(register("assets", source)).await.unwrap().arn);
    }
    for arn in &arns {
        let job = StartBackupJob {
            account_id: account.clone(),
            region: REGION.into(),
            backup_vault_name: "Default".into(),
            resource_arn: arn.clone(),
            iam_role_arn: None,
            start_window_minutes: Some(60),
            complete_window_minutes: Some(600),
            lifecycle: None,
            recovery_point_tags: BTreeMap::new(),
        };
        svc.start_backup_job(job).await.unwrap();
    }
    svc.run_ready_jobs().await.unwrap();

    let rt = r#"{"RestoreTestingPlanName":"daily","ScheduleExpression":"cron(0 6 * * ? *)","StartWindowHours":1,
        "RecoveryPointSelection":{"Algorithm":"RANDOM_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"]}}"#;
    svc.create_restore_testing_plan(&account, REGION, rt, BTreeMap::new(), None).await.unwrap();
    for doc in [
        r#"{"RestoreTestingSelectionName":"images","ProtectedResourceType":"DiskImage","IamRoleArn":"arn:aws:iam::1:role/rt"}"#,
        r#"{"RestoreTestingSelectionName":"sqlite","ProtectedResourceType":"SQLite","IamRoleArn":"arn:aws:iam::1:role/rt",
            "ValidationQuery":{"Query":"SELECT COUNT(*) FROM orders","ExpectedResult":"3"}}"#,
        r#"{"RestoreTestingSelectionName":"pg","ProtectedResourceType":"PostgreSQL","IamRoleArn":"arn:aws:iam::1:role/rt",
            "ValidationQuery":{"Query":"SELECT COUNT(*) FROM orders","ExpectedResult":"3"}}"#,
        r#"{"RestoreTestingSelectionName":"buckets","ProtectedResourceType":"S3","IamRoleArn":"arn:aws:iam::1:role/rt"}"#,
    ] {
        svc.create_restore_testing_selection(&account, REGION, "daily", doc, None).await.unwrap();
    }
    // Nothing is due before the first firing; the fake clock jumps to it.
    assert_eq!(svc.run_restore_tests().await.unwrap(), 0);
    clock.set(start + SignedDuration::from_hours(6));
    assert_eq!(svc.run_restore_tests().await.unwrap(), arns.len());
    // The same firing never runs twice.
    assert_eq!(svc.run_restore_tests().await.unwrap(), 0);

    let jobs = svc.list_restore_jobs_by_restore_testing_plan(&account, REGION, "daily", None).await.unwrap();
    let of = |arn: &str| jobs.iter().find(|j| j.source_resource_arn == arn).unwrap();
    let disk = of(&arns[0]);
    assert_eq!(disk.validation_status.as_deref(), Some("SUCCESSFUL"), "{disk:?}");
    assert!(disk.validation_status_message.as_deref().unwrap().contains(&format!("{} bytes match", 3 << 20)), "{disk:?}");
    // Two orders, not three: the restore worked, the data is not what was expected.
    let wrong = of(&arns[1]);
    assert_eq!(wrong.job.status, "COMPLETED");
    assert_eq!(wrong.validation_status.as_deref(), Some("FAILED"), "{wrong:?}");
    let m = wrong.validation_status_message.as_deref().unwrap();
    assert!(m.contains(&wrong.job.recovery_point_arn) && m.contains("returned \"2\", expected \"3\""), "{m}");
    if let Some(pg) = &pg {
        let p = of(&arns[2]);
        assert_eq!(p.validation_status.as_deref(), Some("SUCCESSFUL"), "{p:?}");
        assert_eq!(p.deletion_status.as_deref(), Some("SUCCESSFUL"), "{p:?}");
        // The scratch database was on the same server, and is gone.
        assert!(p.job.recovery_point_arn.starts_with("arn:aws:backup:"));
        assert_eq!(pg.psql("postgres", "SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'bunker_rt_%'"), "0");
    } else {
        eprintln!("no PostgreSQL server: its restore test was skipped");
    }
    if let Some(store) = &store {
        use futures_util::TryStreamExt;
        use object_store::ObjectStore;
        let b = of(arns.last().unwrap());
        assert_eq!(b.job.resource_type, "S3");
        assert_eq!(b.validation_status.as_deref(), Some("SUCCESSFUL"), "{b:?}");
        assert!(b.validation_status_message.as_deref().unwrap().contains("2 object(s), 5700 bytes match"), "{b:?}");
        // The scratch prefix is empty again; the source objects are untouched.
        let all: Vec<_> = store.list(None).try_collect().await.unwrap();
        let keys: Vec<_> = all.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|k| k.starts_with("data/")), "{keys:?}");
    } else {
        eprintln!("no S3 server: the bucket's restore test was skipped");
    }
    assert!(jobs.iter().all(|j| j.deletion_status.as_deref() == Some("SUCCESSFUL")), "{jobs:?}");
    let scratch = data.join("restore-tests");
    assert!(!scratch.exists() || std::fs::read_dir(&scratch).unwrap().next().is_none());
    assert_eq!(svc.list_resources(Some(&account), Some(REGION)).await.unwrap().len(), arns.len());

    // An outside validator may overrule.
    svc.put_restore_validation_result(&wrong.job.restore_job_id, "SUCCESSFUL", Some("checked by hand".into())).await.unwrap();
    let again = svc.describe_restore_testing_job(&wrong.job.restore_job_id).await.unwrap();
    assert_eq!(again.validation_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(svc.put_restore_validation_result(&wrong.job.restore_job_id, "MAYBE", None).await.unwrap_err().code(), "InvalidParameterValueException");

    // A firing missed by more than its start window is skipped, not run late.
    clock.set(start + SignedDuration::from_hours(24 + 6 + 2));
    assert_eq!(svc.run_restore_tests().await.unwrap(), 0);
    assert_eq!(svc.get_restore_testing_plan(&account, REGION, "daily").await.unwrap().last_execution_time, Some(start + SignedDuration::from_hours(30)));
}
