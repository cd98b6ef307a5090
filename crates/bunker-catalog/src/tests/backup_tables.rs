//! The backup tables on both databases: resources, vaults, plan versions, selections, jobs
//! (the scheduler's unique key), recovery points paged newest first, protected resources.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn rp(i: i64, vault: &str, resource: &str) -> RecoveryPointRow {
    RecoveryPointRow {
        arn: format!("arn:aws:backup:eu-west-1:111111111111:recovery-point:{i:04}"),
        vault_arn: vault.into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        resource_arn: resource.into(),
        resource_type: "Directory".into(),
        resource_name: "files".into(),
        backup_job_id: None,
        snapshot_id: format!("{i:064x}"),
        status: "COMPLETED".into(),
        status_message: None,
        storage_class: "WARM".into(),
        // Two points share each second: the keyset must break ties by ARN.
        created_at: at(i / 2),
        completed_at: Some(at(i / 2 + 1)),
        size_bytes: i,
        lifecycle: "{}".into(),
        move_to_cold_at: None,
        delete_at: Some(at(i + 100)),
        tags: [("k".to_owned(), format!("v{i}"))].into(),
        plan_id: None,
        plan_version: None,
        rule_id: None,
        iam_role_arn: "arn:aws:iam::111111111111:role/r".into(),
        source_recovery_point_arn: None,
        source_backup_vault_arn: None,
    }
}

async fn backup_tables_round_trip(db: TestDb) {
    let catalog = seeded(&db).await;
    let vault = BackupVault {
        arn: "arn:aws:backup:eu-west-1:111111111111:backup-vault:Default".into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        name: "Default".into(),
        location: "/v".into(),
        encryption_key_arn: "arn:aws:kms:eu-west-1:111111111111:key/k".into(),
        creator_request_id: None,
        tags: Tags::new(),
        created_at: at(0),
    };
    let resource = Resource {
        arn: "arn:aws:bunker:eu-west-1:111111111111:directory/files".into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        resource_type: "Directory".into(),
        name: "files".into(),
        location: r#"{"Type":"Directory","Path":"/srv"}"#.into(),
        tags: [("backup".to_owned(), "daily".to_owned())].into(),
        created_at: at(0),
    };
    let mut tx = catalog.write().await.unwrap();
    tx.insert_vault(&vault).await.unwrap();
    tx.insert_resource(&resource).await.unwrap();
    let plan = BackupPlanRow {
        id: "plan-1".into(),
        arn: "arn:aws:backup:eu-west-1:111111111111:backup-plan:plan-1".into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        name: "daily".into(),
        version_id: "v1".into(),
        policy_plan_name: None,
        creator_request_id: None,
        created_at: at(0),
        deleted_at: None,
        last_execution_at: None,
    };
    let v1 = PlanVersion { plan_id: "plan-1".into(), version_id: "v1".into(), document: "{}".into(), created_at: at(0), deleted_at: None };
    tx.insert_plan(&plan, &v1).await.unwrap();
    let v2 = PlanVersion { version_id: "v2".into(), created_at: at(5), ..v1.clone() };
    tx.add_plan_version("daily-2", &v2).await.unwrap();
    tx.insert_selection(&SelectionRow {
        id: "sel-1".into(),
        plan_id: "plan-1".into(),
        name: "tagged".into(),
        document: "{}".into(),
        creator_request_id: None,
        created_at: at(1),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.resource(&resource.arn).await.unwrap().unwrap(), resource);
    assert_eq!(tx.vaults(Some("111111111111"), Some("eu-west-1")).await.unwrap(), vec![vault.clone()]);
    let p = tx.plan("plan-1").await.unwrap().unwrap();
    assert_eq!((p.name.as_str(), p.version_id.as_str()), ("daily-2", "v2"));
    let versions: Vec<_> = tx.plan_versions("plan-1").await.unwrap().into_iter().map(|v| v.version_id).collect();
    assert_eq!(versions, ["v2", "v1"]);
    assert_eq!(tx.all_live_selections().await.unwrap().len(), 1);
    drop(tx);

    // Jobs: the schedule key makes a second job for the same firing a no-op.
    let job = BackupJobRow {
        id: "JOB1".into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        vault_arn: vault.arn.clone(),
        resource_arn: resource.arn.clone(),
        resource_type: "Directory".into(),
        plan_id: Some("plan-1".into()),
        plan_version: Some("v2".into()),
        rule_id: Some("r".into()),
        rule_name: Some("daily".into()),
        schedule_key: Some(format!("{}@1", resource.arn)),
        state: "CREATED".into(),
        status_message: None,
        created_at: at(10),
        start_by: at(70),
        completion_window_minutes: 120,
        complete_by: None,
        started_at: None,
        completed_at: None,
        attempt: 1,
        recovery_point_arn: None,
        bytes_transferred: 0,
        backup_size: 0,
        lifecycle: "{}".into(),
        recovery_point_tags: Tags::new(),
        iam_role_arn: "arn:aws:iam::111111111111:role/r".into(),
    };
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.insert_backup_job(&job).await.unwrap());
    assert!(!tx.insert_backup_job(&BackupJobRow { id: "JOB2".into(), ..job.clone() }).await.unwrap());
    let mut done = job.clone();
    done.state = "COMPLETED".into();
    done.completed_at = Some(at(20));
    tx.update_backup_job(&done).await.unwrap();
    for i in 0..25 {
        tx.insert_recovery_point(&rp(i, &vault.arn, &resource.arn)).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.backup_job("JOB1").await.unwrap().unwrap(), done);
    assert!(tx.backup_job("JOB2").await.unwrap().is_none());
    let f = JobFilter { state: Some("COMPLETED".into()), account_id: Some("111111111111".into()), ..JobFilter::default() };
    assert_eq!(tx.backup_jobs(&f, None, 10).await.unwrap().len(), 1);
    let f = JobFilter { state: Some("FAILED".into()), ..JobFilter::default() };
    assert!(tx.backup_jobs(&f, None, 10).await.unwrap().is_empty());
    // Pages of 10, newest first, no point twice, none missed.
    let mut seen = Vec::new();
    let mut after: Option<(Timestamp, String)> = None;
    loop {
        let page = tx.recovery_points_by_vault(&vault.arn, after.as_ref().map(|(t, a)| (*t, a.as_str())), 10).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.arn.clone()));
        seen.extend(page.into_iter().map(|r| r.size_bytes));
    }
    assert_eq!(seen, (0..25).rev().collect::<Vec<_>>());
    assert_eq!(tx.recovery_point(&rp(3, &vault.arn, &resource.arn).arn).await.unwrap().unwrap(), rp(3, &vault.arn, &resource.arn));
    assert_eq!(tx.count_recovery_points_in_vault(&vault.arn).await.unwrap(), 25);
    let protected = tx.protected_resources(Some("111111111111")).await.unwrap();
    assert_eq!(protected.len(), 1);
    assert_eq!(protected[0].last_recovery_point_arn, rp(24, &vault.arn, &resource.arn).arn);
}

/// The scheduler's next lifecycle deletion: the earliest `delete_at` strictly after a time,
/// over every vault, points without one ignored.
async fn next_deletion_over_every_vault(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.next_delete_at_after(at(0)).await.unwrap(), None, "no recovery points");
    let mut arns = Vec::new();
    for name in ["Default", "Archive"] {
        let vault = BackupVault {
            arn: format!("arn:aws:backup:eu-west-1:111111111111:backup-vault:{name}"),
            account_id: "111111111111".into(),
            region: "eu-west-1".into(),
            name: name.into(),
            location: format!("/v/{name}"),
            encryption_key_arn: "arn:aws:kms:eu-west-1:111111111111:key/k".into(),
            creator_request_id: None,
            tags: Tags::new(),
            created_at: at(0),
        };
        tx.insert_vault(&vault).await.unwrap();
        arns.push(vault.arn);
    }
    // Default: deletions at 1100, 1200, …; Archive: one at 1150 and one kept forever.
    for i in 0..5 {
        tx.insert_recovery_point(&RecoveryPointRow { delete_at: Some(at(1000 + 100 * (i + 1))), ..rp(i, &arns[0], "arn:r") })
            .await
            .unwrap();
    }
    tx.insert_recovery_point(&RecoveryPointRow { delete_at: Some(at(1150)), ..rp(10, &arns[1], "arn:r") }).await.unwrap();
    tx.insert_recovery_point(&RecoveryPointRow { delete_at: None, ..rp(11, &arns[1], "arn:r") }).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.next_delete_at_after(at(0)).await.unwrap(), Some(at(1100)));
    assert_eq!(tx.next_delete_at_after(at(1100)).await.unwrap(), Some(at(1150)), "strictly after");
    assert_eq!(tx.next_delete_at_after(at(1150)).await.unwrap(), Some(at(1200)));
    let micro = at(1499) + jiff::SignedDuration::from_micros(999_999);
    assert_eq!(tx.next_delete_at_after(micro).await.unwrap(), Some(at(1500)), "microsecond precision");
    assert_eq!(tx.next_delete_at_after(at(1500)).await.unwrap(), None, "only points kept forever remain");
}

suite! { backup_tables_round_trip, next_deletion_over_every_vault }
