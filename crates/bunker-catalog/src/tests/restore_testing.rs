//! The restore testing tables on both databases: plans by name, one claim per firing,
//! selections guarding their plan's deletion, and the tests linked to restore jobs.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn plan(name: &str, account: &str) -> RestoreTestingPlanRow {
    RestoreTestingPlanRow {
        arn: format!("arn:aws:backup:eu-west-1:{account}:restore-testing-plan:{name}-abcd1234"),
        name: name.into(),
        account_id: account.into(),
        region: "eu-west-1".into(),
        schedule_expression: "cron(0 6 ? * SUN *)".into(),
        schedule_timezone: "UTC".into(),
        start_window_hours: 24,
        recovery_point_selection: r#"{"Algorithm":"LATEST_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"]}"#.into(),
        tags: "{}".into(),
        creator_request_id: Some("token".into()),
        created_at: at(0),
        updated_at: None,
        last_execution_at: None,
    }
}

fn selection(plan_arn: &str, name: &str) -> RestoreTestingSelectionRow {
    RestoreTestingSelectionRow {
        plan_arn: plan_arn.into(),
        name: name.into(),
        protected_resource_type: "SQLite".into(),
        document: r#"{"ProtectedResourceArns":["*"]}"#.into(),
        iam_role_arn: "arn:aws:iam::111111111111:role/rt".into(),
        validation_window_hours: 2,
        creator_request_id: None,
        created_at: at(1),
        updated_at: None,
    }
}

fn restore_job(id: &str) -> RestoreJobRow {
    RestoreJobRow {
        id: id.into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        recovery_point_arn: "arn:aws:backup:eu-west-1:111111111111:recovery-point:rp".into(),
        resource_type: "SQLite".into(),
        state: "RUNNING".into(),
        status_message: None,
        created_at: at(10),
        completed_at: None,
        metadata: "{}".into(),
        copy_source_tags: false,
        backup_size: 0,
        created_resource_arn: None,
        iam_role_arn: "arn:aws:iam::111111111111:role/rt".into(),
    }
}

fn test_row(job: &str, plan_arn: &str, firing: i64) -> RestoreTestingJobRow {
    RestoreTestingJobRow {
        restore_job_id: job.into(),
        plan_arn: plan_arn.into(),
        selection_name: "dbs".into(),
        resource_arn: "arn:aws:bunker:eu-west-1:111111111111:sqlite/orders".into(),
        scheduled_at: at(firing),
        validation_status: None,
        validation_status_message: None,
        deletion_status: None,
        deletion_status_message: None,
        restore_duration_us: None,
        scratch_location: r#"{"Type":"SQLite","Path":"/tmp/x.db"}"#.into(),
    }
}

async fn plans_by_name_updated_and_claimed_once(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    let p = plan("weekly", "111111111111");
    tx.insert_restore_testing_plan(&p).await.unwrap();
    tx.insert_restore_testing_plan(&plan("daily", "111111111111")).await.unwrap();
    tx.insert_restore_testing_plan(&plan("weekly", "222222222222")).await.unwrap();
    assert_eq!(tx.restore_testing_plan("111111111111", "eu-west-1", "weekly").await.unwrap(), Some(p.clone()));
    assert_eq!(tx.restore_testing_plan_by_arn(&p.arn).await.unwrap(), Some(p.clone()));
    assert_eq!(tx.restore_testing_plan("111111111111", "us-east-1", "weekly").await.unwrap(), None);
    let mine: Vec<_> = tx.restore_testing_plans(Some("111111111111"), Some("eu-west-1")).await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(mine, ["daily", "weekly"]);
    assert_eq!(tx.restore_testing_plans(None, None).await.unwrap().len(), 3);

    let changed = RestoreTestingPlanRow { start_window_hours: 3, updated_at: Some(at(5)), ..p.clone() };
    assert!(tx.update_restore_testing_plan(&changed).await.unwrap());
    // One claim per firing: the second process sees the first one's mark.
    assert!(tx.claim_restore_testing_firing(&p.arn, None, at(100)).await.unwrap());
    assert!(!tx.claim_restore_testing_firing(&p.arn, None, at(100)).await.unwrap());
    assert!(tx.claim_restore_testing_firing(&p.arn, Some(at(100)), at(200)).await.unwrap());
    assert!(!tx.claim_restore_testing_firing(&p.arn, Some(at(100)), at(200)).await.unwrap());
    tx.commit().await.unwrap();
    let got = catalog.read().await.unwrap().restore_testing_plan_by_arn(&p.arn).await.unwrap().unwrap();
    assert_eq!(got, RestoreTestingPlanRow { last_execution_at: Some(at(200)), ..changed });

    // Names are unique in the account and Region.
    let mut tx = catalog.write().await.unwrap();
    let dup = RestoreTestingPlanRow { arn: "arn:other".into(), ..p };
    assert!(matches!(tx.insert_restore_testing_plan(&dup).await, Err(CatalogError::Duplicate(_))));
}

async fn selections_guard_their_plan(db: TestDb) {
    let catalog = seeded(&db).await;
    let p = plan("weekly", "111111111111");
    let mut tx = catalog.write().await.unwrap();
    tx.insert_restore_testing_plan(&p).await.unwrap();
    let s = selection(&p.arn, "dbs");
    tx.insert_restore_testing_selection(&s).await.unwrap();
    tx.insert_restore_testing_selection(&selection(&p.arn, "all")).await.unwrap();
    assert_eq!(tx.restore_testing_selection(&p.arn, "dbs").await.unwrap(), Some(s.clone()));
    let names: Vec<_> = tx.restore_testing_selections(&p.arn).await.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["all", "dbs"]);
    let changed = RestoreTestingSelectionRow { validation_window_hours: 5, updated_at: Some(at(9)), ..s.clone() };
    assert!(tx.update_restore_testing_selection(&changed).await.unwrap());
    assert_eq!(tx.restore_testing_selection(&p.arn, "dbs").await.unwrap(), Some(changed));
    tx.commit().await.unwrap();

    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.insert_restore_testing_selection(&s).await, Err(CatalogError::Duplicate(_))));
    drop(tx);
    // A plan with selections cannot go.
    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.delete_restore_testing_plan(&p.arn).await, Err(CatalogError::Reference(_))));
    drop(tx);
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.delete_restore_testing_selection(&p.arn, "dbs").await.unwrap());
    assert!(!tx.delete_restore_testing_selection(&p.arn, "dbs").await.unwrap());
    assert!(tx.delete_restore_testing_selection(&p.arn, "all").await.unwrap());
    assert!(tx.delete_restore_testing_plan(&p.arn).await.unwrap());
    assert_eq!(tx.restore_testing_plan_by_arn(&p.arn).await.unwrap(), None);
}

async fn tests_link_restore_jobs_once_per_firing(db: TestDb) {
    let catalog = seeded(&db).await;
    let p = plan("weekly", "111111111111");
    let mut tx = catalog.write().await.unwrap();
    tx.insert_restore_testing_plan(&p).await.unwrap();
    for (i, firing) in [(1, 100), (2, 200), (3, 300)] {
        let id = format!("JOB-{i}");
        tx.insert_restore_job(&restore_job(&id)).await.unwrap();
        tx.insert_restore_testing_job(&test_row(&id, &p.arn, firing)).await.unwrap();
    }
    let done = RestoreTestingJobRow {
        validation_status: Some("FAILED".into()),
        validation_status_message: Some("recovery point arn:…: chunk 0 differs".into()),
        deletion_status: Some("SUCCESSFUL".into()),
        restore_duration_us: Some(1234),
        ..test_row("JOB-2", &p.arn, 200)
    };
    assert!(tx.update_restore_testing_job(&done).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.restore_testing_job("JOB-2").await.unwrap(), Some(done));
    assert_eq!(tx.restore_testing_job("JOB-9").await.unwrap(), None);
    let newest: Vec<_> = tx.restore_testing_jobs(&p.arn, 2).await.unwrap().into_iter().map(|j| j.restore_job_id).collect();
    assert_eq!(newest, ["JOB-3", "JOB-2"]);
    assert!(tx.restore_testing_jobs("arn:none", 10).await.unwrap().is_empty());
    drop(tx);

    // The same resource, selection and firing again (another process): refused.
    let mut tx = catalog.write().await.unwrap();
    tx.insert_restore_job(&restore_job("JOB-4")).await.unwrap();
    assert!(matches!(tx.insert_restore_testing_job(&test_row("JOB-4", &p.arn, 300)).await, Err(CatalogError::Duplicate(_))));
    drop(tx);
    // A test always belongs to a recorded restore job.
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.insert_restore_testing_job(&test_row("JOB-GHOST", &p.arn, 400)).await.is_err());
}

suite! {
    plans_by_name_updated_and_claimed_once,
    selections_guard_their_plan,
    tests_link_restore_jobs_once_per_firing,
}
