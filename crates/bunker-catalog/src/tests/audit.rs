//! The audit trail's tables on both databases: appends behind the locked head, lookups by
//! every filter, newest-first paging, digests, and concurrent appenders that keep the seq
//! consecutive and every link intact.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

/// A stand-in hash: the catalog stores whatever the service computes.
fn fake_hash(seq: i64) -> String {
    format!("{seq:064}")
}

/// Event `i` (1-based): names, sources, users and resources cycle so every filter has
/// several matches.
fn event(i: i64) -> (AuditEventRow, Vec<(String, String)>) {
    let name = ["DeleteRecoveryPoint", "ListBackupJobs", "StartBackupJob"][(i % 3) as usize];
    let user = ["alice", "bob"][(i % 2) as usize];
    let vault = format!("arn:aws:backup:eu-west-1:111111111111:backup-vault:v{}", i % 4);
    let resources = vec![("AWS::Backup::BackupVault".to_owned(), vault.clone())];
    let row = AuditEventRow {
        seq: 0,
        event_id: format!("00000000-0000-4000-8000-{i:012}"),
        event_time: at(i * 10).as_microsecond(),
        event_source: if i % 5 == 0 { "kms.amazonaws.com" } else { "backup.amazonaws.com" }.into(),
        event_name: name.into(),
        account_id: "111111111111".into(),
        principal_arn: format!("arn:aws:iam::111111111111:user/{user}"),
        username: user.into(),
        access_key_id: (i % 2 == 0).then(|| "AKIAAAAAAAAAAAAAAAAA".to_owned()),
        region: "eu-west-1".into(),
        source: "cli".into(),
        read_only: i64::from(name.starts_with("List")),
        resources: format!(r#"[{{"ResourceType":"AWS::Backup::BackupVault","ResourceName":"{vault}"}}]"#),
        decision: "allowed".into(),
        error_code: None,
        record: format!(r#"{{"eventName":"{name}"}}"#),
        prev_hash: String::new(),
        hash: String::new(),
    };
    (row, resources)
}

/// Appends as the service does: head first, then the row, then the head moved.
async fn append(catalog: &Catalog, i: i64) -> AuditEventRow {
    let (mut row, resources) = event(i);
    let mut tx = catalog.write().await.unwrap();
    let (last, prev) = tx.audit_head_for_update().await.unwrap();
    row.seq = last + 1;
    row.prev_hash = prev;
    row.hash = fake_hash(row.seq);
    tx.insert_audit_event(&row, &resources).await.unwrap();
    tx.set_audit_head(row.seq, &row.hash).await.unwrap();
    tx.commit().await.unwrap();
    row
}

async fn seqs(catalog: &Catalog, f: &AuditFilter) -> Vec<i64> {
    let mut tx = catalog.read().await.unwrap();
    tx.audit_events_page(f, None, 1000).await.unwrap().iter().map(|e| e.seq).collect()
}

async fn audit_events_append_and_read_back(db: TestDb) {
    let catalog = db.open().await;
    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), (0, AUDIT_GENESIS_HASH.to_owned()));
    drop(tx);
    let first = append(&catalog, 1).await;
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, AUDIT_GENESIS_HASH));
    let second = append(&catalog, 2).await;
    assert_eq!((second.seq, second.prev_hash.as_str()), (2, first.hash.as_str()));
    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), (2, second.hash.clone()));
    assert_eq!(tx.audit_events_after(0, 10).await.unwrap(), vec![first.clone(), second.clone()]);
    assert_eq!(tx.audit_events_after(1, 10).await.unwrap(), vec![second.clone()]);
    assert_eq!(tx.audit_event_seq_by_hash(&second.hash).await.unwrap(), Some(2));
    assert_eq!(tx.audit_event_seq_by_hash("nope").await.unwrap(), None);
    let vault = |i: i64| ("AWS::Backup::BackupVault".to_owned(), format!("arn:aws:backup:eu-west-1:111111111111:backup-vault:v{i}"));
    assert_eq!(tx.audit_event_resources_between(0, 2).await.unwrap(), vec![(1, vault(1).0, vault(1).1), (2, vault(2).0, vault(2).1)]);
    assert_eq!(tx.audit_event_resources_between(1, 2).await.unwrap(), vec![(2, vault(2).0, vault(2).1)]);
    assert_eq!(first.time().unwrap(), at(10));
}

async fn audit_lookups_by_every_filter(db: TestDb) {
    let catalog = db.open().await;
    for i in 1..=30 {
        append(&catalog, i).await;
    }
    let all = seqs(&catalog, &AuditFilter::default()).await;
    assert_eq!(all, (1..=30).rev().collect::<Vec<_>>());
    let expect = |pred: &dyn Fn(i64) -> bool| (1..=30).rev().filter(|&i| pred(i)).collect::<Vec<i64>>();

    let f = AuditFilter { event_name: Some("DeleteRecoveryPoint".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 3 == 0));
    let f = AuditFilter { username: Some("alice".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 2 == 0));
    let f = AuditFilter { username: Some("arn:aws:iam::111111111111:user/bob".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 2 == 1));
    let f = AuditFilter { resource_name: Some("arn:aws:backup:eu-west-1:111111111111:backup-vault:v3".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 4 == 3));
    let f = AuditFilter { resource_type: Some("AWS::Backup::BackupVault".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, all);
    let f = AuditFilter { resource_type: Some("AWS::KMS::Key".into()), ..Default::default() };
    assert!(seqs(&catalog, &f).await.is_empty());
    let f = AuditFilter { event_source: Some("kms.amazonaws.com".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 5 == 0));
    let f = AuditFilter { access_key_id: Some("AKIAAAAAAAAAAAAAAAAA".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 2 == 0));
    let f = AuditFilter { read_only: Some(true), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 3 == 1));
    let f = AuditFilter { read_only: Some(false), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 3 != 1));
    let f = AuditFilter { event_id: Some("00000000-0000-4000-8000-000000000017".into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, vec![17]);
    // Both ends of a time range are included.
    let f = AuditFilter { start: Some(at(50)), end: Some(at(120)), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| (5..=12).contains(&i)));
    // Filters combine.
    let f = AuditFilter { event_name: Some("DeleteRecoveryPoint".into()), username: Some("alice".into()), end: Some(at(200)), ..Default::default() };
    assert_eq!(seqs(&catalog, &f).await, expect(&|i| i % 3 == 0 && i % 2 == 0 && i <= 20));
}

async fn audit_pages_newest_first(db: TestDb) {
    let catalog = db.open().await;
    for i in 1..=23 {
        append(&catalog, i).await;
    }
    let f = AuditFilter { read_only: Some(false), ..Default::default() };
    let mut tx = catalog.read().await.unwrap();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = tx.audit_events_page(&f, before, 4).await.unwrap();
        assert!(page.len() <= 4);
        seen.extend(page.iter().map(|e| e.seq));
        if page.len() < 4 {
            break;
        }
        before = page.last().map(|e| e.seq);
    }
    assert_eq!(seen, (1..=23).rev().filter(|i| i % 3 != 1).collect::<Vec<_>>());
}

async fn audit_digests_round_trip(db: TestDb) {
    let catalog = db.open().await;
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.last_audit_digest().await.unwrap(), None);
    let digests: Vec<_> = (1..=3)
        .map(|seq| AuditDigestRow {
            seq,
            last_event_seq: seq * 100,
            last_hash: fake_hash(seq * 100),
            created_at: at(seq).as_microsecond(),
            signature: format!("sig{seq}"),
        })
        .collect();
    for d in &digests {
        tx.insert_audit_digest(d).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.last_audit_digest().await.unwrap().as_ref(), digests.last());
    assert_eq!(tx.audit_digests_after(1, 10).await.unwrap(), digests[1..].to_vec());
    assert_eq!(tx.audit_digests_after(0, 1).await.unwrap(), digests[..1].to_vec());
}

async fn concurrent_appends_keep_the_seq_consecutive(db: TestDb) {
    // Two catalogs (two pools, as two processes would have) appending at once.
    let a = db.open().await;
    let b = db.open().await;
    let task = |catalog: Catalog, offset: i64| {
        tokio::spawn(async move {
            for i in 0..50 {
                append(&catalog, offset + i).await;
            }
        })
    };
    let (ra, rb) = tokio::join!(task(a.clone(), 1), task(b, 1001));
    ra.unwrap();
    rb.unwrap();
    let mut tx = a.read().await.unwrap();
    let rows = tx.audit_events_after(0, 1000).await.unwrap();
    assert_eq!(rows.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=100).collect::<Vec<_>>());
    let mut prev = AUDIT_GENESIS_HASH.to_owned();
    for row in &rows {
        assert_eq!(row.prev_hash, prev, "record {}", row.seq);
        prev = row.hash.clone();
    }
    assert_eq!(tx.audit_head().await.unwrap(), (100, prev));
    let from_b = rows.iter().filter(|e| e.event_id[24..].parse::<i64>().unwrap() > 1000).count();
    assert_eq!(from_b, 50);
}

async fn audit_anchor_round_trip(db: TestDb) {
    let catalog = db.open().await;
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.audit_anchor().await.unwrap(), None);
    let mut anchor = AuditAnchorRow {
        last_seq: 0,
        last_hash: AUDIT_GENESIS_HASH.into(),
        digest_seq: 0,
        anchored_from: 0,
        anchored_at: at(0).as_microsecond(),
        signature: "sig0".into(),
    };
    tx.put_audit_anchor(&anchor).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(catalog.read().await.unwrap().audit_anchor().await.unwrap().as_ref(), Some(&anchor));
    // Moved, in the same transaction as an append.
    let (row, resources) = event(1);
    let mut tx = catalog.write().await.unwrap();
    let (last, prev) = tx.audit_head_for_update().await.unwrap();
    let row = AuditEventRow { seq: last + 1, prev_hash: prev, hash: fake_hash(last + 1), ..row };
    tx.insert_audit_event(&row, &resources).await.unwrap();
    tx.set_audit_head(row.seq, &row.hash).await.unwrap();
    anchor = AuditAnchorRow { last_seq: 1, last_hash: row.hash.clone(), digest_seq: 1, signature: "sig1".into(), ..anchor };
    tx.put_audit_anchor(&anchor).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(catalog.read().await.unwrap().audit_anchor().await.unwrap(), Some(anchor.clone()));
    // A rolled-back append moves nothing.
    let mut tx = catalog.write().await.unwrap();
    tx.set_audit_head(2, &fake_hash(2)).await.unwrap();
    tx.put_audit_anchor(&AuditAnchorRow { last_seq: 2, ..anchor.clone() }).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.audit_anchor().await.unwrap(), Some(anchor));
    assert_eq!(tx.audit_head().await.unwrap(), (1, row.hash));
}

async fn audit_lookups_by_account(db: TestDb) {
    let catalog = db.open().await;
    // Event i belongs to 111111111111 and, for every third, to 222222222222 too.
    for i in 1..=12 {
        let row = append(&catalog, i).await;
        let mut accounts = vec!["111111111111".to_owned()];
        if i % 3 == 0 {
            accounts.push("222222222222".to_owned());
        }
        let mut tx = catalog.write().await.unwrap();
        tx.insert_audit_event_accounts(row.seq, &accounts).await.unwrap();
        tx.commit().await.unwrap();
    }
    let f = |account: &str| AuditFilter { account: Some(account.into()), ..Default::default() };
    assert_eq!(seqs(&catalog, &f("111111111111")).await, (1..=12).rev().collect::<Vec<_>>());
    assert_eq!(seqs(&catalog, &f("222222222222")).await, vec![12, 9, 6, 3]);
    assert!(seqs(&catalog, &f("333333333333")).await.is_empty());
    let both = AuditFilter { event_name: Some("DeleteRecoveryPoint".into()), ..f("222222222222") };
    assert_eq!(seqs(&catalog, &both).await, vec![12, 9, 6, 3]);
    let mut tx = catalog.read().await.unwrap();
    assert_eq!(
        tx.audit_event_accounts_between(2, 3).await.unwrap(),
        vec![(3, "111111111111".to_owned()), (3, "222222222222".to_owned())]
    );
    drop(tx);
    let mut tx = catalog.write().await.unwrap();
    tx.delete_audit_event_accounts_up_to(6).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(seqs(&catalog, &f("222222222222")).await, vec![12, 9]);
}

suite! {
    audit_anchor_round_trip,
    audit_lookups_by_account,
    audit_events_append_and_read_back,
    audit_lookups_by_every_filter,
    audit_pages_newest_first,
    audit_digests_round_trip,
    concurrent_appends_keep_the_seq_consecutive,
}
