//! Bunker's home is private: with the umask the binary sets at start
//! (`home::restrict_umask`) and a home made by `home::secure_home`, a realistic sequence —
//! an organization, the instance master key, IAM credentials, two vaults in two Regions, a
//! backup of a real directory (whose files are world-readable), a copy into the other
//! vault, a restore outside the home, a restore test (scratch copy inside the home), a move
//! to the cold tier — leaves every directory of the home 0700 and every file 0600.
//!
//! One test in this binary: the umask is the whole process's.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RegisterResource, StartBackupJob, StartCopyJob, StartRestoreJob, vault_arn};
use bunker_core::home::{self, DIR_MODE, FILE_MODE};
use bunker_core::security::Security;
use bunker_core::{CreateAccount, CreateOrganization, ManualClock, Organizations};
use bunker_policy::plan::Lifecycle;
use jiff::{SignedDuration, Timestamp};

const REGION: &str = "eu-west-1";
const OTHER_REGION: &str = "eu-central-1";

/// Every path below `root` whose mode is not the home's, with its mode.
fn loose_entries(root: &Path, out: &mut Vec<(PathBuf, u32)>, counts: &mut (usize, usize)) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            counts.0 += 1;
            if mode != DIR_MODE {
                out.push((path.clone(), mode));
            }
            loose_entries(&path, out, counts);
        } else {
            counts.1 += 1;
            if mode != FILE_MODE {
                out.push((path, mode));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_directory_is_0700_and_every_file_0600() {
    home::restrict_umask();
    let outside = tempfile::tempdir().unwrap();
    let home = outside.path().join("bunker");
    home::secure_home(&home).unwrap();

    // Data to protect, readable by everyone as data often is.
    let files = outside.path().join("files");
    std::fs::create_dir_all(files.join("sub")).unwrap();
    for (name, body) in [("a.txt", "alpha\n".repeat(500)), ("sub/b.txt", "beta\n".repeat(800))] {
        std::fs::write(files.join(name), body).unwrap();
        std::fs::set_permissions(files.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for dir in [&files, &files.join("sub")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let start: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let clock = ManualClock::new(start);
    let catalog = Catalog::open_file(&home.join("catalog.db")).await.unwrap();
    let security = Security::open(catalog.clone(), Arc::new(clock.clone()), &home).unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let account = orgs
        .create_account(CreateAccount { account_name: "a".into(), email: "a@example.com".into(), account_id: None, parent_id: None })
        .await
        .unwrap()
        .account_id;
    security.create_user(&account, "operator", None).await.unwrap();
    security.create_access_key(&account, "operator").await.unwrap();

    let svc = BackupService::new(catalog.clone(), Arc::new(clock.clone()), &home);
    svc.create_backup_vault(&account, REGION, "Default", BTreeMap::new(), None).await.unwrap();
    svc.create_backup_vault(&account, OTHER_REGION, "Copies", BTreeMap::new(), None).await.unwrap();
    let register = RegisterResource {
        account_id: account.clone(),
        region: REGION.into(),
        name: "files".into(),
        source: Source::Directory { path: files.clone() },
        tags: BTreeMap::new(),
    };
    let arn = svc.register_resource(register).await.unwrap().arn;

    // A backup that goes cold after a day.
    let job = StartBackupJob {
        account_id: account.clone(),
        region: REGION.into(),
        backup_vault_name: "Default".into(),
        resource_arn: arn.clone(),
        iam_role_arn: None,
        start_window_minutes: Some(60),
        complete_window_minutes: Some(600),
        lifecycle: Some(Lifecycle { move_to_cold_storage_after_days: Some(1), delete_after_days: Some(100), ..Default::default() }),
        recovery_point_tags: BTreeMap::new(),
    };
    let job = svc.start_backup_job(job).await.unwrap();
    let job = svc.run_backup_job_now(&job.backup_job_id).await.unwrap();
    assert_eq!(job.state, "COMPLETED", "{job:?}");
    let rp = job.recovery_point_arn.unwrap();

    // Copied into the other Region's vault.
    let copy = StartCopyJob {
        recovery_point_arn: rp.clone(),
        source_backup_vault_name: "Default".into(),
        destination_backup_vault_arn: vault_arn(OTHER_REGION, &account, "Copies"),
        iam_role_arn: None,
        lifecycle: None,
    };
    let copy = svc.start_copy_job(copy).await.unwrap();
    let copy = svc.run_copy_job_now(&copy.copy_job_id).await.unwrap();
    assert_eq!(copy.state, "COMPLETED", "{copy:?}");

    // Restored outside the home.
    let target = outside.path().join("restored");
    let metadata: BTreeMap<String, String> = [("Path".to_owned(), target.to_str().unwrap().to_owned())].into();
    let restore = svc.start_restore_job(StartRestoreJob { recovery_point_arn: rp.clone(), metadata, ..Default::default() }).await.unwrap();
    assert_eq!(restore.status, "COMPLETED", "{restore:?}");
    assert_eq!(std::fs::read_to_string(target.join("sub/b.txt")).unwrap(), "beta\n".repeat(800));

    // A restore test: its scratch copy is made inside the home, checked, deleted.
    let rt = r#"{"RestoreTestingPlanName":"daily","ScheduleExpression":"cron(0 6 * * ? *)","StartWindowHours":1,
        "RecoveryPointSelection":{"Algorithm":"LATEST_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"]}}"#;
    svc.create_restore_testing_plan(&account, REGION, rt, BTreeMap::new(), None).await.unwrap();
    let sel = r#"{"RestoreTestingSelectionName":"files","ProtectedResourceType":"Directory","IamRoleArn":"arn:aws:iam::1:role/rt"}"#;
    svc.create_restore_testing_selection(&account, REGION, "daily", sel, None).await.unwrap();
    clock.set(start + SignedDuration::from_hours(6));
    assert_eq!(svc.run_restore_tests().await.unwrap(), 1);
    let tests = svc.list_restore_jobs_by_restore_testing_plan(&account, REGION, "daily", None).await.unwrap();
    assert_eq!(tests[0].validation_status.as_deref(), Some("SUCCESSFUL"), "{:?}", tests[0]);

    // Two days on: the point moves to the cold tier.
    clock.set(start + SignedDuration::from_hours(50));
    assert!(svc.apply_lifecycle().await.unwrap() >= 1);
    assert_eq!(svc.describe_recovery_point(&rp).await.unwrap().storage_class, "COLD");

    // Walked with the catalog open (its -wal and -shm exist) and again once closed.
    for round in ["open", "closed"] {
        let (mut loose, mut counts) = (Vec::new(), (0, 0));
        assert_eq!(std::fs::metadata(&home).unwrap().permissions().mode() & 0o7777, DIR_MODE);
        loose_entries(&home, &mut loose, &mut counts);
        let listed: Vec<String> = loose.iter().map(|(p, m)| format!("{:o} {}", m, p.display())).collect();
        assert!(loose.is_empty(), "catalog {round}: not private:\n{}", listed.join("\n"));
        // The walk saw what it should: the catalog, the master key, both tiers, the scratch root.
        for name in ["catalog.db", "master.key", "regions", "cold", "restore-tests"] {
            assert!(home.join(name).exists(), "{name} missing");
        }
        assert!(counts.0 >= 8 && counts.1 >= 10, "{counts:?}");
        eprintln!("catalog {round}: {} directories, {} files, all private", counts.0, counts.1);
        catalog.close().await;
    }
}
