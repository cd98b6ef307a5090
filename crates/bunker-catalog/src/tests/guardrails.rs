//! Vault locks and legal holds on both databases: the lock's round trip and its going with
//! its vault, holds taking the points their selection matches, cancelling, keyset paging,
//! and the lifecycle query leaving out what a lock or an active hold keeps.

use jiff::{SignedDuration, Timestamp};

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

const DAY: i64 = 86_400;
const ACCOUNT: &str = "111111111111";
const REGION: &str = "eu-west-1";

fn vault_arn(name: &str) -> String {
    format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{name}")
}

fn resource(r: &str) -> String {
    format!("arn:aws:bunker:{REGION}:{ACCOUNT}:directory/{r}")
}

fn arn(i: i64) -> String {
    format!("arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{i:04}")
}

/// Point `i` in `vault` of resource `res`: created on day `i`, due for deletion on day
/// `i + 10`.
fn rp(i: i64, vault: &str, res: &str) -> RecoveryPointRow {
    RecoveryPointRow {
        arn: arn(i),
        vault_arn: vault_arn(vault),
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        resource_arn: resource(res),
        resource_type: "Directory".into(),
        resource_name: res.into(),
        backup_job_id: None,
        snapshot_id: format!("{i:064x}"),
        status: "COMPLETED".into(),
        status_message: None,
        storage_class: "WARM".into(),
        created_at: at(i * DAY),
        completed_at: Some(at(i * DAY)),
        size_bytes: i,
        lifecycle: r#"{"DeleteAfterDays":10}"#.into(),
        move_to_cold_at: None,
        delete_at: Some(at((i + 10) * DAY)),
        tags: Tags::new(),
        plan_id: None,
        plan_version: None,
        rule_id: None,
        iam_role_arn: "arn:aws:iam::111111111111:role/r".into(),
        source_recovery_point_arn: None,
        source_backup_vault_arn: None,
    }
}

fn vault(name: &str) -> BackupVault {
    BackupVault {
        arn: vault_arn(name),
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        name: name.into(),
        location: format!("/v/{name}"),
        encryption_key_arn: "arn:aws:kms:eu-west-1:111111111111:key/k".into(),
        creator_request_id: None,
        tags: Tags::new(),
        created_at: at(0),
    }
}

/// Vaults `A` and `B`; points 0–9 in `A` (even: resource `x`, odd: `y`), 10–14 in `B`.
async fn with_points(db: &TestDb) -> Catalog {
    let catalog = seeded(db).await;
    let mut tx = catalog.write().await.unwrap();
    tx.insert_vault(&vault("A")).await.unwrap();
    tx.insert_vault(&vault("B")).await.unwrap();
    for i in 0..15 {
        let v = if i < 10 { "A" } else { "B" };
        tx.insert_recovery_point(&rp(i, v, if i % 2 == 0 { "x" } else { "y" })).await.unwrap();
    }
    tx.commit().await.unwrap();
    catalog
}

fn lock(vault: &str, min: Option<i64>, lock_date: Option<Timestamp>) -> VaultLockRow {
    VaultLockRow {
        vault_arn: vault_arn(vault),
        min_retention_days: min,
        max_retention_days: Some(400),
        changeable_for_days: lock_date.map(|_| 3),
        lock_date,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn hold(id: &str, when: i64, token: Option<&str>) -> LegalHoldRow {
    LegalHoldRow {
        id: id.into(),
        arn: format!("arn:aws:backup:{REGION}:{ACCOUNT}:legal-hold:{id}"),
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        title: format!("hold {id}"),
        description: "case".into(),
        status: "ACTIVE".into(),
        cancel_description: None,
        selection: "{}".into(),
        tags: [("k".to_owned(), "v".to_owned())].into(),
        idempotency_token: token.map(str::to_owned),
        created_at: at(when),
        cancelled_at: None,
        retain_record_until: None,
    }
}

async fn vault_locks_round_trip_and_go_with_their_vault(db: TestDb) {
    let catalog = with_points(&db).await;
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.vault_lock(&vault_arn("A")).await.unwrap(), None);
    let governance = lock("A", Some(100), None);
    tx.put_vault_lock(&governance).await.unwrap();
    assert_eq!(tx.vault_lock(&vault_arn("A")).await.unwrap(), Some(governance.clone()));
    assert!(!governance.is_immutable(at(10 * 365 * DAY)));
    // Put again: replaced, the creation date kept by the caller.
    let compliance = VaultLockRow { updated_at: at(5), ..lock("A", Some(120), Some(at(3 * DAY))) };
    tx.put_vault_lock(&compliance).await.unwrap();
    let got = tx.vault_lock(&vault_arn("A")).await.unwrap().unwrap();
    assert_eq!(got, compliance);
    assert!(!got.is_immutable(at(3 * DAY - 1)) && got.is_immutable(at(3 * DAY)));
    assert!(tx.delete_vault_lock(&vault_arn("A")).await.unwrap());
    assert!(!tx.delete_vault_lock(&vault_arn("A")).await.unwrap());
    // A lock needs its vault, and goes with it.
    tx.put_vault_lock(&lock("B", Some(1), None)).await.unwrap();
    tx.insert_vault(&vault("C")).await.unwrap();
    tx.put_vault_lock(&lock("C", Some(1), None)).await.unwrap();
    assert!(tx.delete_vault(&vault_arn("C")).await.unwrap());
    assert_eq!(tx.vault_lock(&vault_arn("C")).await.unwrap(), None);
    tx.commit().await.unwrap();
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.put_vault_lock(&lock("Nope", Some(1), None)).await.is_err());
}

async fn holds_take_the_points_their_selection_matches(db: TestDb) {
    let catalog = with_points(&db).await;
    let mut tx = catalog.write().await.unwrap();
    // Vault A, resource x, days 2–6: points 2, 4, 6.
    tx.insert_legal_hold(&hold("h1", 100, Some("t1"))).await.unwrap();
    let s = HoldSelection { vault_arns: vec![vault_arn("A")], resource_arns: vec![resource("x")], from: Some(at(2 * DAY)), to: Some(at(6 * DAY)) };
    assert_eq!(tx.hold_recovery_points("h1", ACCOUNT, REGION, &s).await.unwrap(), 3);
    // Everything of the account and Region: 15 points; another account's: none.
    tx.insert_legal_hold(&hold("h2", 100, None)).await.unwrap();
    assert_eq!(tx.hold_recovery_points("h2", ACCOUNT, REGION, &HoldSelection::default()).await.unwrap(), 15);
    tx.insert_legal_hold(&hold("h3", 200, None)).await.unwrap();
    assert_eq!(tx.hold_recovery_points("h3", "222222222222", REGION, &HoldSelection::default()).await.unwrap(), 0);
    // Two vaults, two resources.
    tx.insert_legal_hold(&hold("h4", 300, None)).await.unwrap();
    let s = HoldSelection { vault_arns: vec![vault_arn("A"), vault_arn("B")], resource_arns: vec![resource("x"), resource("y")], from: Some(at(9 * DAY)), to: None };
    assert_eq!(tx.hold_recovery_points("h4", ACCOUNT, REGION, &s).await.unwrap(), 6);

    let held: Vec<String> = tx.legal_hold_recovery_points("h1", None, 10).await.unwrap().into_iter().map(|h| h.arn).collect();
    assert_eq!(held, [arn(2), arn(4), arn(6)]);
    let first = tx.legal_hold_recovery_points("h1", None, 2).await.unwrap();
    assert_eq!(first[0], HeldRecoveryPoint { arn: arn(2), vault_arn: vault_arn("A"), resource_arn: resource("x"), resource_type: "Directory".into() });
    let rest = tx.legal_hold_recovery_points("h1", Some(&first[1].arn), 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(tx.active_legal_holds_on(&arn(4)).await.unwrap(), ["h1", "h2"]);
    assert_eq!(tx.active_legal_holds_on(&arn(11)).await.unwrap(), ["h2", "h4"]);
    // A deleted point leaves the lists.
    tx.delete_recovery_point(&arn(4)).await.unwrap();
    assert_eq!(tx.legal_hold_recovery_points("h1", None, 10).await.unwrap().len(), 2);
    tx.commit().await.unwrap();

    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.legal_hold("h1").await.unwrap(), Some(hold("h1", 100, Some("t1"))));
    assert_eq!(tx.legal_hold("nope").await.unwrap(), None);
    assert_eq!(tx.legal_hold_by_token(ACCOUNT, REGION, "t1").await.unwrap().map(|h| h.id), Some("h1".into()));
    assert_eq!(tx.legal_hold_by_token(ACCOUNT, "us-east-1", "t1").await.unwrap(), None);
}

async fn holds_are_cancelled_once_and_listed_by_keyset(db: TestDb) {
    let catalog = with_points(&db).await;
    let mut tx = catalog.write().await.unwrap();
    for (i, id) in ["h3", "h1", "h2", "h4"].iter().enumerate() {
        tx.insert_legal_hold(&hold(id, if i < 2 { 10 } else { 20 + i as i64 }, None)).await.unwrap();
    }
    // The same token twice in one place is refused.
    tx.insert_legal_hold(&hold("t1", 50, Some("same"))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.insert_legal_hold(&hold("t2", 51, Some("same"))).await, Err(CatalogError::Duplicate(_))));
    drop(tx);

    let mut tx = catalog.write().await.unwrap();
    let until = at(100) + SignedDuration::from_hours(24);
    assert!(tx.cancel_legal_hold("h1", "settled", at(100), Some(until)).await.unwrap());
    assert!(!tx.cancel_legal_hold("h1", "again", at(101), None).await.unwrap());
    assert!(!tx.cancel_legal_hold("nope", "x", at(101), None).await.unwrap());
    let h1 = tx.legal_hold("h1").await.unwrap().unwrap();
    assert_eq!(
        (h1.status.as_str(), h1.cancel_description.as_deref(), h1.cancelled_at, h1.retain_record_until),
        ("CANCELED", Some("settled"), Some(at(100)), Some(until))
    );
    // Oldest first; ties by id; pages of two.
    let page1: Vec<String> = tx.legal_holds(ACCOUNT, REGION, None, 2).await.unwrap().into_iter().map(|h| h.id).collect();
    assert_eq!(page1, ["h1", "h3"]);
    let page2: Vec<LegalHoldRow> = tx.legal_holds(ACCOUNT, REGION, Some((at(10), "h3")), 2).await.unwrap();
    assert_eq!(page2.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["h2", "h4"]);
    let page3 = tx.legal_holds(ACCOUNT, REGION, Some((page2[1].created_at, &page2[1].id)), 2).await.unwrap();
    assert_eq!(page3.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["t1"]);
    assert!(tx.legal_holds("222222222222", REGION, None, 10).await.unwrap().is_empty());
    // Bad statuses are refused.
    let bad = LegalHoldRow { status: "GONE".into(), ..hold("h9", 1, None) };
    assert!(tx.insert_legal_hold(&bad).await.is_err());
}

async fn lifecycle_leaves_out_what_locks_and_active_holds_keep(db: TestDb) {
    let catalog = with_points(&db).await;
    let due = |rows: Vec<RecoveryPointRow>| rows.into_iter().map(|r| r.arn).collect::<Vec<_>>();
    // Day 30: every point is due (deleted on day i + 10 ≤ 24).
    let now = at(30 * DAY);
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.recovery_points_deletable_by_lifecycle(now, 100).await.unwrap().len(), 15);
    // Vault A keeps its points 25 days: those created before day 5 may go.
    tx.put_vault_lock(&lock("A", Some(25), Some(at(DAY)))).await.unwrap();
    let expect: Vec<String> = [0, 1, 2, 3, 4, 5].into_iter().chain(10..15).map(arn).collect();
    assert_eq!(due(tx.recovery_points_deletable_by_lifecycle(now, 100).await.unwrap()), expect);
    // The lock lets point 6 go on day 31, the last (9) on day 34.
    assert_eq!(tx.next_lock_release_after(now).await.unwrap(), Some(at(31 * DAY)));
    assert_eq!(tx.next_lock_release_after(at(33 * DAY)).await.unwrap(), Some(at(34 * DAY)));
    assert_eq!(tx.next_lock_release_after(at(34 * DAY)).await.unwrap(), None);
    // A lock without a minimum keeps nothing.
    tx.put_vault_lock(&VaultLockRow { min_retention_days: None, ..lock("B", None, None) }).await.unwrap();
    assert_eq!(tx.recovery_points_deletable_by_lifecycle(now, 100).await.unwrap().len(), 11);
    // An active hold on 1, 3 and 12.
    tx.insert_legal_hold(&hold("h1", 100, None)).await.unwrap();
    let s = HoldSelection { resource_arns: vec![resource("y")], from: Some(at(DAY)), to: Some(at(12 * DAY)), ..HoldSelection::default() };
    assert_eq!(tx.hold_recovery_points("h1", ACCOUNT, REGION, &s).await.unwrap(), 6);
    let expect: Vec<String> = [0, 2, 4, 10, 12, 13, 14].into_iter().map(arn).collect();
    let mut got = due(tx.recovery_points_deletable_by_lifecycle(now, 100).await.unwrap());
    got.sort();
    assert_eq!(got, expect);
    // Limited, oldest DeleteAt first.
    assert_eq!(due(tx.recovery_points_deletable_by_lifecycle(now, 2).await.unwrap()), [arn(0), arn(2)]);
    // Cancelled: released. Points being deleted are never listed again.
    assert!(tx.cancel_legal_hold("h1", "done", at(31 * DAY), None).await.unwrap());
    tx.mark_recovery_point_deleting(&arn(0), "x").await.unwrap();
    assert_eq!(tx.recovery_points_deletable_by_lifecycle(now, 100).await.unwrap().len(), 10);
    // Later the lock keeps nothing more.
    assert_eq!(tx.recovery_points_deletable_by_lifecycle(at(40 * DAY), 100).await.unwrap().len(), 14);
}

suite! {
    vault_locks_round_trip_and_go_with_their_vault,
    holds_take_the_points_their_selection_matches,
    holds_are_cancelled_once_and_listed_by_keyset,
    lifecycle_leaves_out_what_locks_and_active_holds_keep,
}
