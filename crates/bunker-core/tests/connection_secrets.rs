//! Connection secrets end to end:
//!
//! * On a PostgreSQL server whose `backup` role must give its password (so a backup that
//!   succeeds proves the password reached `pg_dump`): a resource registered with the
//!   password in its URI is shown with it masked, stored sealed, backed up, restored into a
//!   new database named by a URI with a password (the restored resource is stored sealed
//!   too and backs up), and restore-tested (scratch database validated and dropped). No
//!   row, and no byte of the catalog file, holds the password; a wrong password fails the
//!   job without being echoed.
//! * A catalog written before secrets were sealed: `seal_stored_secrets` seals its
//!   resource rows (they still open to the same source), masks restore job metadata and
//!   restore-test scratch locations, and changes nothing the second time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bunker_catalog::{Catalog, Resource, RestoreJobRow, RestoreTestingJobRow};
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RegisterResource, SealedSecrets, StartBackupJob, StartRestoreJob};
use bunker_core::security::MasterKey;
use bunker_core::{CreateAccount, CreateOrganization, ManualClock, Organizations, secrets};
use bunker_testkit::postgres::PgServer;
use jiff::{SignedDuration, Timestamp};

const REGION: &str = "eu-west-1";
const PASSWORD: &str = "Xk7rT2pQ9wLm";

/// An organization with one account holding a `Default` vault; the catalog and data in
/// one home, as the binary lays them out.
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
    let svc = BackupService::new(catalog, Arc::new(clock.clone()), dir.path());
    svc.create_backup_vault(&account, REGION, "Default", BTreeMap::new(), None).await.unwrap();
    (dir, clock, svc, account)
}

fn register(account: &str, name: &str, source: Source) -> RegisterResource {
    RegisterResource { account_id: account.into(), region: REGION.into(), name: name.into(), source, tags: BTreeMap::new() }
}

async fn back_up(svc: &BackupService, account: &str, arn: &str) -> bunker_core::backup::BackupJob {
    let job = StartBackupJob {
        account_id: account.into(),
        region: REGION.into(),
        backup_vault_name: "Default".into(),
        resource_arn: arn.into(),
        iam_role_arn: None,
        start_window_minutes: Some(60),
        complete_window_minutes: Some(600),
        lifecycle: None,
        recovery_point_tags: BTreeMap::new(),
    };
    let job = svc.start_backup_job(job).await.unwrap();
    svc.run_backup_job_now(&job.backup_job_id).await.unwrap()
}

async fn raw_resource(svc: &BackupService, arn: &str) -> Resource {
    svc.catalog().read().await.unwrap().resource(arn).await.unwrap().unwrap()
}

/// Every byte of the catalog's files.
fn catalog_bytes(home: &Path) -> Vec<u8> {
    ["catalog.db", "catalog.db-wal"].iter().filter_map(|f| std::fs::read(home.join(f)).ok()).flatten().collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_password_is_sealed_masked_and_reaches_the_tools() {
    let Some(pg) = PgServer::start() else { return };
    pg.create_password_role("backup", PASSWORD);
    pg.create_database("crm");
    pg.psql("crm", "CREATE TABLE customers (id INT PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'ada'), (2, 'bob');");
    let start: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let (dir, clock, svc, account) = world(start).await;
    let home = dir.path();
    let port = pg.port();
    let masked = format!("postgresql://backup:****@127.0.0.1:{port}/crm");

    // Registered, described and listed with the password masked.
    let url = pg.url_with_password("backup", PASSWORD, "crm");
    let r = svc.register_resource(register(&account, "crm", Source::Postgresql { url })).await.unwrap();
    let shown: serde_json::Value = serde_json::from_str(&r.location).unwrap();
    assert_eq!(shown["Url"], masked.as_str());
    assert_eq!(svc.describe_resource(&r.arn).await.unwrap().location, r.location);
    let listed = svc.list_resources(Some(&account), None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].location, r.location);
    assert!(!format!("{listed:?}").contains(PASSWORD));
    // Stored sealed.
    let stored = raw_resource(&svc, &r.arn).await.location;
    assert!(!stored.contains(PASSWORD) && stored.contains("SealedSecrets"), "{stored}");

    // The server demands the password: this backup got it.
    let job = back_up(&svc, &account, &r.arn).await;
    assert_eq!(job.state, "COMPLETED", "{job:?}");
    let rp = job.recovery_point_arn.unwrap();

    // Restored into a new database named by a URI with the password.
    let metadata: BTreeMap<String, String> = [
        ("Url".to_owned(), pg.url_with_password("backup", PASSWORD, "crm_copy")),
        ("NewResourceName".to_owned(), "crm-copy".to_owned()),
    ]
    .into();
    let restore = svc.start_restore_job(StartRestoreJob { recovery_point_arn: rp.clone(), metadata, ..Default::default() }).await.unwrap();
    assert_eq!(restore.status, "COMPLETED", "{restore:?}");
    assert_eq!(pg.psql("crm_copy", "SELECT string_agg(name, ',' ORDER BY id) FROM customers"), "ada,bob");
    let row = svc.catalog().read().await.unwrap().restore_job(&restore.restore_job_id).await.unwrap().unwrap();
    assert!(!row.metadata.contains(PASSWORD) && row.metadata.contains(&format!("backup:****@127.0.0.1:{port}/crm_copy")), "{}", row.metadata);
    let copy_arn = restore.created_resource_arn.unwrap();
    let copy = svc.describe_resource(&copy_arn).await.unwrap();
    assert!(copy.location.contains(&format!("backup:****@127.0.0.1:{port}/crm_copy")), "{}", copy.location);
    assert!(!raw_resource(&svc, &copy_arn).await.location.contains(PASSWORD));
    let job = back_up(&svc, &account, &copy_arn).await;
    assert_eq!(job.state, "COMPLETED", "the restored resource's sealed password opens: {job:?}");

    // Restore testing: the scratch database is reached with the password, then dropped.
    let rt = r#"{"RestoreTestingPlanName":"daily","ScheduleExpression":"cron(0 6 * * ? *)","StartWindowHours":1,
        "RecoveryPointSelection":{"Algorithm":"LATEST_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"]}}"#;
    svc.create_restore_testing_plan(&account, REGION, rt, BTreeMap::new(), None).await.unwrap();
    let sel = r#"{"RestoreTestingSelectionName":"pg","ProtectedResourceType":"PostgreSQL","IamRoleArn":"arn:aws:iam::1:role/rt",
        "ProtectedResourceArns":["ARN"],"ValidationQuery":{"Query":"SELECT COUNT(*) FROM customers","ExpectedResult":"2"}}"#
        .replace("ARN", &r.arn);
    svc.create_restore_testing_selection(&account, REGION, "daily", &sel, None).await.unwrap();
    clock.set(start + SignedDuration::from_hours(6));
    assert_eq!(svc.run_restore_tests().await.unwrap(), 1);
    let tests = svc.list_restore_jobs_by_restore_testing_plan(&account, REGION, "daily", None).await.unwrap();
    assert_eq!(tests[0].validation_status.as_deref(), Some("SUCCESSFUL"), "{:?}", tests[0]);
    assert_eq!(tests[0].deletion_status.as_deref(), Some("SUCCESSFUL"), "{:?}", tests[0]);
    let id = &tests[0].job.restore_job_id;
    let mut tx = svc.catalog().read().await.unwrap();
    let test_row = tx.restore_testing_job(id).await.unwrap().unwrap();
    assert!(!test_row.scratch_location.contains(PASSWORD) && test_row.scratch_location.contains("backup:****@"), "{}", test_row.scratch_location);
    assert!(!tx.restore_job(id).await.unwrap().unwrap().metadata.contains(PASSWORD));
    drop(tx);

    // A wrong password fails the job, and the message does not echo it.
    let wrong = pg.url_with_password("backup", "Wrong4711", "crm");
    let w = svc.register_resource(register(&account, "crm-wrong", Source::Postgresql { url: wrong })).await.unwrap();
    let job = back_up(&svc, &account, &w.arn).await;
    assert_ne!(job.state, "COMPLETED", "{job:?}");
    let message = job.status_message.unwrap_or_default();
    assert!(message.contains("password authentication failed") && !message.contains("Wrong4711"), "{message}");

    // Not one byte of the catalog holds either password.
    svc.catalog().close().await;
    let bytes = catalog_bytes(home);
    assert!(!bytes.is_empty());
    assert!(!contains(&bytes, PASSWORD) && !contains(&bytes, "Wrong4711"), "a password is in the catalog file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_secrets_of_an_older_catalog_are_sealed_when_the_home_is_opened() {
    let start: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let (dir, _clock, svc, account) = world(start).await;
    let pg = Source::Postgresql { url: format!("postgresql://backup:{PASSWORD}@127.0.0.1:5432/crm") };
    let s3 = Source::Bucket {
        endpoint: Some("http://127.0.0.1:9000".into()),
        bucket: "assets".into(),
        prefix: String::new(),
        region: "us-east-1".into(),
        access_key_id: Some("AKIAEXAMPLE".into()),
        secret_access_key: Some(PASSWORD.into()),
    };
    let files = Source::Directory { path: dir.path().join("files") };
    // Rows as an older release wrote them: locations and metadata in clear.
    let mut tx = svc.catalog().write().await.unwrap();
    let mut arns = Vec::new();
    for (word, name, source) in [("postgresql", "crm", &pg), ("bucket", "assets", &s3), ("directory", "files", &files)] {
        let arn = format!("arn:aws:bunker:{REGION}:{account}:{word}/{name}");
        let row = Resource {
            arn: arn.clone(),
            account_id: account.clone(),
            region: REGION.into(),
            resource_type: source.resource_type().as_str().into(),
            name: name.into(),
            location: source.to_json(),
            tags: BTreeMap::new(),
            created_at: start,
        };
        tx.insert_resource(&row).await.unwrap();
        arns.push(arn);
    }
    let metadata = serde_json::json!({"Url": format!("postgresql://backup:{PASSWORD}@127.0.0.1:5432/crm2"), "Location": s3.to_json()});
    let job = RestoreJobRow {
        id: "OLD-RESTORE".into(),
        account_id: account.clone(),
        region: REGION.into(),
        recovery_point_arn: format!("arn:aws:backup:{REGION}:{account}:recovery-point:1"),
        resource_type: "PostgreSQL".into(),
        state: "COMPLETED".into(),
        status_message: None,
        created_at: start,
        completed_at: Some(start),
        metadata: metadata.to_string(),
        copy_source_tags: true,
        backup_size: 0,
        created_resource_arn: None,
        iam_role_arn: "arn:aws:iam::1:role/r".into(),
    };
    tx.insert_restore_job(&job).await.unwrap();
    let test = RestoreTestingJobRow {
        restore_job_id: job.id.clone(),
        plan_arn: format!("arn:aws:backup:{REGION}:{account}:restore-testing-plan:old-1"),
        selection_name: "pg".into(),
        resource_arn: arns[0].clone(),
        scheduled_at: start,
        validation_status: None,
        validation_status_message: None,
        deletion_status: None,
        deletion_status_message: None,
        restore_duration_us: None,
        scratch_location: pg.to_json(),
    };
    tx.insert_restore_testing_job(&test).await.unwrap();
    tx.commit().await.unwrap();

    // Shown masked even before they are sealed.
    for r in svc.list_resources(Some(&account), None).await.unwrap() {
        assert!(!r.location.contains(PASSWORD), "{}", r.location);
    }

    let done = svc.seal_stored_secrets().await.unwrap();
    assert_eq!(done, SealedSecrets { resources: 2, restore_jobs: 1, restore_tests: 1 });
    assert_eq!(svc.seal_stored_secrets().await.unwrap(), SealedSecrets::default(), "nothing left the second time");

    let master = MasterKey::load(dir.path()).unwrap();
    let mut tx = svc.catalog().read().await.unwrap();
    for (arn, source) in arns.iter().zip([&pg, &s3, &files]) {
        let stored = tx.resource(arn).await.unwrap().unwrap().location;
        assert!(!stored.contains(PASSWORD), "{stored}");
        assert_eq!(&secrets::open_location(&master, arn, &stored).unwrap(), source);
    }
    let metadata = tx.restore_job("OLD-RESTORE").await.unwrap().unwrap().metadata;
    assert!(!metadata.contains(PASSWORD) && metadata.contains("backup:****@127.0.0.1:5432/crm2"), "{metadata}");
    let scratch = tx.restore_testing_job("OLD-RESTORE").await.unwrap().unwrap().scratch_location;
    assert!(!scratch.contains(PASSWORD), "{scratch}");
}
