//! The key service's tables on both databases: keys and their material versions, what is
//! due for rotation or deletion, aliases and grants.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn key(n: u32, when: i64) -> KmsKeyRow {
    let key_id = format!("0000000{n}-0000-4000-8000-000000000000");
    KmsKeyRow {
        arn: format!("arn:aws:kms:eu-west-1:111111111111:key/{key_id}"),
        key_id,
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        description: format!("key {n}"),
        state: "Enabled".into(),
        key_manager: "CUSTOMER".into(),
        created_at: at(when),
        deletion_date: None,
        pending_window_days: None,
        rotation_enabled: false,
        rotation_period_days: 365,
        next_rotation_at: None,
        policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
    }
}

async fn keys_and_versions_round_trip(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    let (k1, k2) = (key(1, 1), key(2, 2));
    tx.insert_kms_key(&k2).await.unwrap();
    tx.insert_kms_key(&k1).await.unwrap();
    assert_eq!(tx.kms_key(&k1.arn).await.unwrap(), Some(k1.clone()));
    assert_eq!(tx.kms_key("arn:aws:kms:eu-west-1:111111111111:key/none").await.unwrap(), None);
    assert_eq!(tx.kms_keys("111111111111", "eu-west-1").await.unwrap(), vec![k1.clone(), k2.clone()]);
    assert!(tx.kms_keys("111111111111", "us-east-1").await.unwrap().is_empty());

    for version in [2, 1] {
        let v = KmsKeyVersionRow { key_arn: k1.arn.clone(), version, material: vec![version as u8; 60], created_at: at(version) };
        tx.insert_kms_key_version(&v).await.unwrap();
    }
    let versions = tx.kms_key_versions(&k1.arn).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(versions[1].material, vec![2u8; 60]);

    let changed = KmsKeyRow {
        state: "PendingDeletion".into(),
        deletion_date: Some(at(100)),
        pending_window_days: Some(7),
        rotation_enabled: true,
        next_rotation_at: Some(at(50)),
        description: "changed".into(),
        ..k1.clone()
    };
    assert!(tx.update_kms_key(&changed).await.unwrap());
    assert_eq!(tx.kms_key(&k1.arn).await.unwrap(), Some(changed.clone()));
    assert_eq!(tx.kms_keys_in_state("PendingDeletion").await.unwrap(), vec![changed.clone()]);
    assert!(tx.kms_keys_due_for_deletion(at(99)).await.unwrap().is_empty());
    assert_eq!(tx.kms_keys_due_for_deletion(at(100)).await.unwrap(), vec![changed]);
    assert_eq!(tx.delete_kms_key_versions(&k1.arn).await.unwrap(), 2);
    assert!(tx.kms_key_versions(&k1.arn).await.unwrap().is_empty());
    tx.commit().await.unwrap();

    // A key id is unique.
    let mut tx = catalog.write().await.unwrap();
    let clash = KmsKeyRow { arn: "arn:aws:kms:us-east-1:111111111111:key/x".into(), ..k2 };
    assert!(matches!(tx.insert_kms_key(&clash).await, Err(CatalogError::Duplicate(_))));
}

async fn rotation_due_only_for_enabled_keys(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    let due = KmsKeyRow { rotation_enabled: true, next_rotation_at: Some(at(10)), ..key(1, 0) };
    let later = KmsKeyRow { rotation_enabled: true, next_rotation_at: Some(at(20)), ..key(2, 0) };
    let disabled = KmsKeyRow { state: "Disabled".into(), rotation_enabled: true, next_rotation_at: Some(at(5)), ..key(3, 0) };
    let off = KmsKeyRow { next_rotation_at: Some(at(5)), ..key(4, 0) };
    for k in [&due, &later, &disabled, &off] {
        tx.insert_kms_key(k).await.unwrap();
    }
    assert_eq!(tx.kms_keys_due_for_rotation(at(10)).await.unwrap(), vec![due.clone()]);
    assert_eq!(tx.kms_keys_due_for_rotation(at(30)).await.unwrap(), vec![due, later]);
}

async fn aliases_and_grants(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    let (k1, k2) = (key(1, 1), key(2, 2));
    tx.insert_kms_key(&k1).await.unwrap();
    tx.insert_kms_key(&k2).await.unwrap();
    let alias = |name: &str, k: &KmsKeyRow| KmsAliasRow {
        account_id: "111111111111".into(),
        region: "eu-west-1".into(),
        name: name.into(),
        key_arn: k.arn.clone(),
        created_at: at(3),
    };
    tx.insert_kms_alias(&alias("alias/b", &k1)).await.unwrap();
    tx.insert_kms_alias(&alias("alias/a", &k2)).await.unwrap();
    tx.insert_kms_alias(&alias("alias/c", &k1)).await.unwrap();
    assert_eq!(tx.kms_alias("111111111111", "eu-west-1", "alias/b").await.unwrap(), Some(alias("alias/b", &k1)));
    assert_eq!(tx.kms_alias("111111111111", "us-east-1", "alias/b").await.unwrap(), None);
    let names = |v: Vec<KmsAliasRow>| v.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(names(tx.kms_aliases("111111111111", "eu-west-1", None).await.unwrap()), ["alias/a", "alias/b", "alias/c"]);
    assert_eq!(names(tx.kms_aliases("111111111111", "eu-west-1", Some(&k1.arn)).await.unwrap()), ["alias/b", "alias/c"]);
    assert!(tx.delete_kms_alias("111111111111", "eu-west-1", "alias/b").await.unwrap());
    assert!(!tx.delete_kms_alias("111111111111", "eu-west-1", "alias/b").await.unwrap());
    assert_eq!(tx.delete_kms_aliases_of_key(&k1.arn).await.unwrap(), 1);

    let grant = |id: &str, grantee: &str| KmsGrantRow {
        grant_id: id.into(),
        key_arn: k1.arn.clone(),
        name: Some("g".into()),
        grantee_principal: grantee.into(),
        retiring_principal: None,
        operations: vec!["Encrypt".into(), "Decrypt".into()],
        issuing_account: "arn:aws:iam::111111111111:root".into(),
        created_at: at(4),
    };
    tx.insert_kms_grant(&grant("g1", "arn:aws:iam::222222222222:root")).await.unwrap();
    tx.insert_kms_grant(&grant("g2", "arn:aws:iam::333333333333:role/r")).await.unwrap();
    assert_eq!(tx.kms_grants(&k1.arn, None).await.unwrap().len(), 2);
    assert_eq!(tx.kms_grants(&k1.arn, Some("arn:aws:iam::222222222222:root")).await.unwrap(), vec![grant("g1", "arn:aws:iam::222222222222:root")]);
    assert!(tx.delete_kms_grant(&k1.arn, "g1").await.unwrap());
    assert!(!tx.delete_kms_grant(&k2.arn, "g2").await.unwrap());
    assert_eq!(tx.delete_kms_grants_of_key(&k1.arn).await.unwrap(), 1);
    tx.commit().await.unwrap();

    // An alias names one key at a time, and only a key that exists.
    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.insert_kms_alias(&alias("alias/a", &k1)).await, Err(CatalogError::Duplicate(_))));
    drop(tx);
    let mut tx = catalog.write().await.unwrap();
    let ghost = KmsKeyRow { arn: "arn:aws:kms:eu-west-1:111111111111:key/ghost".into(), ..key(9, 0) };
    assert!(matches!(tx.insert_kms_alias(&alias("alias/g", &ghost)).await, Err(CatalogError::Reference(_))));
}

suite! {
    keys_and_versions_round_trip,
    rotation_due_only_for_enabled_keys,
    aliases_and_grants,
}
