//! The lifecycle tables on both databases: what a pass finds due (moves, deletions,
//! interrupted deletions, warm snapshots still to forget), the guarded move to `COLD`, new
//! lifecycles, and the next lifecycle instants.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

const VAULT: &str = "arn:aws:backup:eu-west-1:111111111111:backup-vault:Default";

fn arn(i: i64) -> String {
    format!("arn:aws:backup:eu-west-1:111111111111:recovery-point:{i:04}")
}

/// Point `i`: created at `i`, cold at `i + 100`, deleted at `i + 1000`.
fn rp(i: i64) -> RecoveryPointRow {
    RecoveryPointRow {
        arn: arn(i),
        vault_arn: VAULT.into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        resource_arn: "arn:aws:bunker:eu-west-1:111111111111:directory/files".into(),
        resource_type: "Directory".into(),
        resource_name: "files".into(),
        backup_job_id: None,
        snapshot_id: format!("{i:064x}"),
        status: "COMPLETED".into(),
        status_message: None,
        storage_class: "WARM".into(),
        created_at: at(i),
        completed_at: Some(at(i)),
        size_bytes: i,
        lifecycle: r#"{"MoveToColdStorageAfterDays":1,"DeleteAfterDays":91}"#.into(),
        move_to_cold_at: Some(at(i + 100)),
        delete_at: Some(at(i + 1000)),
        tags: Tags::new(),
        plan_id: None,
        plan_version: None,
        rule_id: None,
        iam_role_arn: "arn:aws:iam::111111111111:role/r".into(),
        source_recovery_point_arn: None,
        source_backup_vault_arn: None,
    }
}

async fn with_points(db: &TestDb, n: i64) -> Catalog {
    let catalog = seeded(db).await;
    let mut tx = catalog.write().await.unwrap();
    tx.insert_vault(&BackupVault {
        arn: VAULT.into(),
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        name: "Default".into(),
        location: "/v".into(),
        encryption_key_arn: "arn:aws:kms:eu-west-1:111111111111:key/k".into(),
        creator_request_id: None,
        tags: Tags::new(),
        created_at: at(0),
    })
    .await
    .unwrap();
    for i in 0..n {
        tx.insert_recovery_point(&rp(i)).await.unwrap();
    }
    tx.commit().await.unwrap();
    catalog
}

fn arns(rows: &[RecoveryPointRow]) -> Vec<String> {
    rows.iter().map(|r| r.arn.clone()).collect()
}

async fn moves_due_and_the_guarded_move(db: TestDb) {
    let catalog = with_points(&db, 5).await;
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.recovery_points_due_for_cold(at(99), 10).await.unwrap().is_empty());
    assert_eq!(arns(&tx.recovery_points_due_for_cold(at(102), 10).await.unwrap()), [arn(0), arn(1), arn(2)]);
    assert_eq!(arns(&tx.recovery_points_due_for_cold(at(102), 2).await.unwrap()), [arn(0), arn(1)]);

    // Moved: COLD with the cold snapshot id; the warm one is remembered until forgotten.
    let warm = format!("{:064x}", 0);
    assert!(tx.set_recovery_point_cold(&arn(0), &warm, "c0").await.unwrap());
    let moved = tx.recovery_point(&arn(0)).await.unwrap().unwrap();
    assert_eq!((moved.storage_class.as_str(), moved.snapshot_id.as_str()), ("COLD", "c0"));
    assert_eq!(tx.warm_snapshot_id(&arn(0)).await.unwrap(), Some(warm.clone()));
    // Twice, or for a point whose snapshot changed, nothing happens.
    assert!(!tx.set_recovery_point_cold(&arn(0), &warm, "c1").await.unwrap());
    assert!(!tx.set_recovery_point_cold(&arn(1), "other", "c1").await.unwrap());
    assert_eq!(arns(&tx.recovery_points_due_for_cold(at(102), 10).await.unwrap()), [arn(1), arn(2)]);
    let left = tx.warm_leftovers(10).await.unwrap();
    assert_eq!(left, vec![WarmLeftover { arn: arn(0), vault_arn: VAULT.into(), warm_snapshot_id: warm }]);
    assert!(tx.clear_warm_snapshot_id(&arn(0)).await.unwrap());
    assert!(tx.warm_leftovers(10).await.unwrap().is_empty());
    assert_eq!(tx.warm_snapshot_id(&arn(0)).await.unwrap(), None);

    // A point being deleted neither moves nor is due to move.
    assert!(tx.mark_recovery_point_deleting(&arn(1), "DeleteRecoveryPoint").await.unwrap());
    assert!(!tx.set_recovery_point_cold(&arn(1), &format!("{:064x}", 1), "c1").await.unwrap());
    assert_eq!(arns(&tx.recovery_points_due_for_cold(at(102), 10).await.unwrap()), [arn(2)]);
    // A point whose deletion is due is deleted rather than moved.
    assert!(tx.recovery_points_due_for_cold(at(1003), 10).await.unwrap().iter().all(|r| r.arn == arn(4)));
    tx.commit().await.unwrap();
}

async fn deletions_due_and_interrupted(db: TestDb) {
    let catalog = with_points(&db, 4).await;
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.recovery_points_due_for_deletion(at(999), 10).await.unwrap().is_empty());
    assert_eq!(arns(&tx.recovery_points_due_for_deletion(at(1001), 10).await.unwrap()), [arn(0), arn(1)]);
    assert!(tx.mark_recovery_point_deleting(&arn(0), "lifecycle").await.unwrap());
    assert!(!tx.mark_recovery_point_deleting(&arn(9), "lifecycle").await.unwrap());
    tx.commit().await.unwrap();

    // Marked and committed: found by the next pass (a fresh process), not due twice.
    catalog.close().await;
    let catalog = db.open().await;
    let mut tx = catalog.write().await.unwrap();
    let deleting = tx.recovery_points_deleting(10).await.unwrap();
    assert_eq!(arns(&deleting), [arn(0)]);
    assert_eq!((deleting[0].status.as_str(), deleting[0].status_message.as_deref()), ("DELETING", Some("lifecycle")));
    assert_eq!(arns(&tx.recovery_points_due_for_deletion(at(1001), 10).await.unwrap()), [arn(1)]);
    assert!(tx.delete_recovery_point(&arn(0)).await.unwrap());
    assert!(tx.recovery_points_deleting(10).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

async fn new_lifecycles_and_next_instants(db: TestDb) {
    let catalog = with_points(&db, 3).await;
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.next_cold_move_after(at(0)).await.unwrap(), Some(at(100)));
    assert_eq!(tx.next_cold_move_after(at(100)).await.unwrap(), Some(at(101)));
    assert_eq!(tx.next_deletion_after(at(1000)).await.unwrap(), Some(at(1001)));
    assert_eq!(tx.next_deletion_after(at(1002)).await.unwrap(), None);

    // Cold points no longer move.
    assert!(tx.set_recovery_point_cold(&arn(0), &format!("{:064x}", 0), "c0").await.unwrap());
    assert_eq!(tx.next_cold_move_after(at(0)).await.unwrap(), Some(at(101)));

    // A new lifecycle: kept forever, never cold.
    assert!(tx.set_recovery_point_lifecycle(&arn(1), "{}", None, None).await.unwrap());
    assert!(tx.set_recovery_point_lifecycle(&arn(2), r#"{"DeleteAfterDays":5}"#, None, Some(at(50))).await.unwrap());
    assert!(!tx.set_recovery_point_lifecycle(&arn(9), "{}", None, None).await.unwrap());
    let r = tx.recovery_point(&arn(1)).await.unwrap().unwrap();
    assert_eq!((r.lifecycle.as_str(), r.move_to_cold_at, r.delete_at), ("{}", None, None));
    assert_eq!(tx.next_cold_move_after(at(0)).await.unwrap(), None);
    assert_eq!(tx.next_deletion_after(at(0)).await.unwrap(), Some(at(50)));
    assert_eq!(arns(&tx.recovery_points_due_for_deletion(at(50), 10).await.unwrap()), [arn(2)]);
    tx.commit().await.unwrap();
}

suite! {
    moves_due_and_the_guarded_move,
    deletions_due_and_interrupted,
    new_lifecycles_and_next_instants,
}
