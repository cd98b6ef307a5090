//! The audit trail on a real SQLite catalog, as the service layer uses it: lookups
//! restricted to one account, the write check a call path runs before a mutating
//! operation, the signed anchor (a trail cut short, emptied, rewritten or rolled back is
//! named, and stays named however many records follow), and a trail written before
//! anchors existed, anchored by its first append.

use std::path::PathBuf;
use std::sync::Arc;

use bunker_catalog::{AuditEventRow, Catalog};
use bunker_core::security::audit::{
    AuditResource, AuditTrail, LookupAttribute, LookupAttributeKey, LookupEvents, LookupScope, NewAuditEvent, record_hash,
};
use bunker_core::security::{Caller, MasterKey, SecurityError};
use bunker_core::{Clock, CreateOrganization, ManualClock, Organizations};
use jiff::{SignedDuration, Timestamp};

const MANAGEMENT: &str = "111111111111";
const MEMBER_A: &str = "222222222222";
const MEMBER_B: &str = "333333333333";

fn start() -> Timestamp {
    "2027-03-01T00:00:00Z".parse().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    catalog: Catalog,
    clock: ManualClock,
    trail: AuditTrail,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let catalog = Catalog::open_file(&path).await.unwrap();
    let clock = ManualClock::new(start());
    let trail = AuditTrail::new(catalog.clone(), MasterKey::from_bytes([5; 32]), Arc::new(clock.clone()));
    Fixture { _dir: dir, path, catalog, clock, trail }
}

/// A call by `account`'s root to `name`, touching `resources`.
fn call(account: &str, name: &str, resources: &[&str]) -> NewAuditEvent {
    let mut e = NewAuditEvent::new(&Caller::root(account, "cli"), "backup.amazonaws.com", name, "eu-west-1");
    e.resources = resources.iter().map(|arn| AuditResource { arn: (*arn).to_owned(), resource_type: AuditResource::type_of(arn) }).collect();
    e
}

fn vault(account: &str, name: &str) -> String {
    format!("arn:aws:backup:eu-west-1:{account}:backup-vault:{name}")
}

impl Fixture {
    async fn record(&self, e: NewAuditEvent) -> String {
        self.clock.advance(SignedDuration::from_secs(1));
        self.trail.record(e).await.unwrap().event_id
    }

    async fn record_n(&self, n: usize) {
        for i in 0..n {
            self.record(call(MEMBER_A, "StartBackupJob", &[&vault(MEMBER_A, &format!("v{}", i % 3))])).await;
        }
    }

    async fn rows(&self) -> Vec<AuditEventRow> {
        self.catalog.read().await.unwrap().audit_events_after(0, 100_000).await.unwrap()
    }

    async fn head(&self) -> (i64, String) {
        self.catalog.read().await.unwrap().audit_head().await.unwrap()
    }

    /// A raw statement on the catalog file, as someone with write access to it could run.
    async fn tamper(&self, sql: &str) {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&self.path).connect().await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    /// The message of the first problem `verify` finds.
    async fn problem(&self) -> String {
        self.trail.verify().await.unwrap().problem.expect("tampering found").message
    }

    async fn assert_intact(&self) {
        let report = self.trail.verify().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
    }

    /// The statements that edit record `from` and recompute every hash after it, as the
    /// chain alone would let anyone do.
    async fn rewrite_from(&self, from: i64) -> String {
        let mut rows = self.rows().await;
        let mut prev = rows.iter().find(|r| r.seq == from - 1).map_or(bunker_catalog::AUDIT_GENESIS_HASH.to_owned(), |r| r.hash.clone());
        let mut sql = String::new();
        for row in rows.iter_mut().filter(|r| r.seq >= from) {
            if row.seq == from {
                row.event_name = "NothingHappened".into();
            }
            row.prev_hash = prev;
            row.hash = record_hash(row);
            prev = row.hash.clone();
            sql.push_str(&format!(
                "UPDATE audit_events SET event_name = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
                row.event_name, row.prev_hash, row.hash, row.seq
            ));
        }
        sql.push_str(&format!("UPDATE audit_head SET last_hash = '{prev}';"));
        sql
    }

    /// Makes the catalog look as one written before anchors: no anchor, no accounts index,
    /// no anchor file.
    async fn forget_anchor(&self) {
        self.tamper("DELETE FROM audit_anchor; DELETE FROM audit_event_accounts;").await;
        std::fs::remove_file(self.trail.anchor_file().unwrap()).unwrap();
    }
}

fn ids(out: &bunker_core::security::audit::LookupEventsOutput) -> Vec<String> {
    out.events.iter().map(|e| e.event_id.clone()).collect()
}

#[tokio::test]
async fn a_member_account_looks_up_only_its_own_events() {
    let f = fixture().await;
    let orgs = Organizations::new(f.catalog.clone(), Arc::new(f.clock.clone()));
    orgs.create_organization(CreateOrganization { management_account_id: Some(MANAGEMENT.into()), ..CreateOrganization::default() })
        .await
        .unwrap();

    let a_own = f.record(call(MEMBER_A, "CreateBackupVault", &[&vault(MEMBER_A, "a")])).await;
    let b_own = f.record(call(MEMBER_B, "CreateBackupVault", &[&vault(MEMBER_B, "b")])).await;
    // The management account acting on A's vault: A's event too.
    let m_on_a = f.record(call(MANAGEMENT, "DeleteBackupVault", &[&vault(MEMBER_A, "old")])).await;
    // The service copying for B into the management account's central vault.
    let mut copy = NewAuditEvent::new(&Caller::backup_service(MEMBER_B), "backup.amazonaws.com", "CopyIntoBackupVault", "eu-west-1");
    copy.resources = vec![AuditResource { arn: vault(MANAGEMENT, "central"), resource_type: "AWS::Backup::BackupVault".into() }];
    let b_into_m = f.record(copy).await;
    let a_list = f.record(call(MEMBER_A, "ListBackupVaults", &[])).await;

    let trail = &f.trail;
    assert_eq!(trail.scope_of(&Caller::root(MEMBER_A, "cli")).await.unwrap(), LookupScope::Account(MEMBER_A.into()));
    assert_eq!(trail.scope_of(&Caller::backup_service(MEMBER_B)).await.unwrap(), LookupScope::Account(MEMBER_B.into()));
    assert_eq!(trail.scope_of(&Caller::root(MANAGEMENT, "cli")).await.unwrap(), LookupScope::All);

    let of = |account: &str| LookupScope::Account(account.into());
    let everything = LookupEvents::default();
    let a = trail.lookup_events_in(everything.clone(), &of(MEMBER_A)).await.unwrap();
    assert_eq!(ids(&a), [a_list.clone(), m_on_a.clone(), a_own.clone()]);
    let b = trail.lookup_events_in(everything.clone(), &of(MEMBER_B)).await.unwrap();
    assert_eq!(ids(&b), [b_into_m.clone(), b_own.clone()]);
    let m = trail.lookup_events_in(everything.clone(), &of(MANAGEMENT)).await.unwrap();
    assert_eq!(ids(&m), [b_into_m.clone(), m_on_a.clone()]);
    let all = [a_list.clone(), b_into_m.clone(), m_on_a.clone(), b_own.clone(), a_own.clone()];
    assert_eq!(ids(&trail.lookup_events_in(everything.clone(), &LookupScope::All).await.unwrap()), all);
    assert_eq!(ids(&trail.lookup_events(everything).await.unwrap()), all);
    assert!(trail.lookup_events_in(LookupEvents::default(), &of("444444444444")).await.unwrap().events.is_empty());

    // The scope combines with the lookup attribute: B cannot find A's events by name or id.
    let by = |key, value: &str| LookupEvents { lookup_attributes: vec![LookupAttribute { key, value: value.into() }], ..LookupEvents::default() };
    assert!(trail.lookup_events_in(by(LookupAttributeKey::EventId, &a_own), &of(MEMBER_B)).await.unwrap().events.is_empty());
    assert_eq!(ids(&trail.lookup_events_in(by(LookupAttributeKey::EventId, &a_own), &of(MEMBER_A)).await.unwrap()), vec![a_own.clone()]);
    let creates = trail.lookup_events_in(by(LookupAttributeKey::EventName, "CreateBackupVault"), &of(MEMBER_B)).await.unwrap();
    assert_eq!(ids(&creates), vec![b_own.clone()]);

    // Pages stay within the scope, and a page token does not carry over to another scope.
    let page = |token: Option<String>| LookupEvents { max_results: Some(2), next_token: token, ..LookupEvents::default() };
    let first = trail.lookup_events_in(page(None), &of(MEMBER_A)).await.unwrap();
    assert_eq!(ids(&first), [a_list, m_on_a]);
    let second = trail.lookup_events_in(page(first.next_token.clone()), &of(MEMBER_A)).await.unwrap();
    assert_eq!((ids(&second), second.next_token), (vec![a_own], None));
    for other in [of(MEMBER_B), LookupScope::All] {
        let refused = trail.lookup_events_in(page(first.next_token.clone()), &other).await;
        assert!(matches!(refused, Err(SecurityError::InvalidParameterValue(_))), "{refused:?}");
    }

    // The accounts index is checked like the resources index.
    f.assert_intact().await;
    f.tamper(&format!("UPDATE audit_event_accounts SET account_id = '{MEMBER_B}' WHERE seq = 1")).await;
    assert_eq!(f.problem().await, "the lookup index of record 1 was edited");
    f.tamper(&format!("UPDATE audit_event_accounts SET account_id = '{MEMBER_A}' WHERE seq = 1; DELETE FROM audit_event_accounts WHERE seq = 4 AND account_id = '{MANAGEMENT}'")).await;
    assert_eq!(f.problem().await, "the lookup index of record 4 was edited");
}

/// A trigger refusing `op` (`INSERT`, `UPDATE`) on `table`, as a full disk or a revoked
/// permission would.
fn refuse(table: &str, op: &str) -> String {
    format!("CREATE TRIGGER refuse_{table} BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, 'no space left for {table}'); END;")
}

#[tokio::test]
async fn check_writable_fails_when_the_trail_cannot_take_a_record() {
    let f = fixture().await;
    // On a trail never written to, and on one with records.
    f.trail.check_writable().await.unwrap();
    f.record_n(98).await;
    let before = (f.head().await, f.rows().await.len());
    f.trail.check_writable().await.unwrap();
    // The probe left nothing behind, and the trail still takes records after it.
    assert_eq!((f.head().await, f.rows().await.len()), before);
    f.assert_intact().await;

    let refusals = [
        ("audit_events", "INSERT"),
        ("audit_event_resources", "INSERT"),
        ("audit_event_accounts", "INSERT"),
        ("audit_head", "UPDATE"),
        ("audit_anchor", "UPDATE"),
    ];
    for (table, op) in refusals {
        f.tamper(&refuse(table, op)).await;
        let err = f.trail.check_writable().await.unwrap_err();
        assert!(err.to_string().contains(&format!("no space left for {table}")), "{table}: {err}");
        let err = f.trail.record(call(MEMBER_A, "DeleteBackupVault", &[&vault(MEMBER_A, "v")])).await.unwrap_err();
        assert!(err.to_string().contains(&format!("no space left for {table}")), "{table}: {err}");
        assert_eq!((f.head().await, f.rows().await.len()), before, "{table}");
        f.tamper(&format!("DROP TRIGGER refuse_{table}")).await;
        f.trail.check_writable().await.unwrap();
    }
    f.assert_intact().await;

    // The 99th record goes in; the 100th would need a digest, which is refused.
    f.record_n(1).await;
    f.tamper(&refuse("audit_digests", "INSERT")).await;
    assert!(f.trail.check_writable().await.unwrap_err().to_string().contains("no space left for audit_digests"));
    f.tamper("DROP TRIGGER refuse_audit_digests").await;
    f.trail.check_writable().await.unwrap();
    f.record_n(1).await;
    let report = f.trail.verify().await.unwrap().ensure_intact().unwrap();
    assert_eq!((report.records_checked, report.digests_checked), (100, 1));
}

#[tokio::test]
async fn the_anchor_names_a_trail_cut_short_emptied_or_rewritten() {
    // Cut off after the last digest (100): the chain and the digests still agree.
    let f = fixture().await;
    f.record_n(130).await;
    f.tamper("DELETE FROM audit_events WHERE seq > 120; DELETE FROM audit_event_resources WHERE seq > 120; DELETE FROM audit_event_accounts WHERE seq > 120; UPDATE audit_head SET last_seq = 120, last_hash = (SELECT hash FROM audit_events WHERE seq = 120);").await;
    assert_eq!(f.problem().await, "records 121 to 130 are missing (cut off): the trail's anchor shows 130 records written");
    // Later calls are still recorded, but the anchor (and its copy) stay where they were:
    // the cut stays named.
    let anchor = f.catalog.read().await.unwrap().audit_anchor().await.unwrap();
    let copy = std::fs::read_to_string(f.trail.anchor_file().unwrap()).unwrap();
    f.trail.check_writable().await.unwrap();
    f.record_n(1).await;
    f.trail.write_digest().await.unwrap();
    assert_eq!(f.head().await.0, 121);
    assert_eq!(f.catalog.read().await.unwrap().audit_anchor().await.unwrap(), anchor);
    assert_eq!(std::fs::read_to_string(f.trail.anchor_file().unwrap()).unwrap(), copy);
    assert_eq!(f.problem().await, "records 122 to 130 are missing (cut off): the trail's anchor shows 130 records written");
    f.record_n(14).await;
    assert_eq!(f.problem().await, "record 130 is not the one the trail's anchor signed: records up to it were cut off or rewritten");

    // Emptied.
    let f = fixture().await;
    f.record_n(30).await;
    f.tamper("DELETE FROM audit_events; DELETE FROM audit_event_resources; DELETE FROM audit_event_accounts; DELETE FROM audit_digests; UPDATE audit_head SET last_seq = 0, last_hash = '0000000000000000000000000000000000000000000000000000000000000000';").await;
    assert_eq!(f.problem().await, "the trail was emptied: its anchor shows 30 records written, none is left");
    // ... and its anchor deleted too: the file copy still shows what was written.
    f.tamper("DELETE FROM audit_anchor").await;
    assert_eq!(f.problem().await, "the trail was emptied and its anchor deleted: the anchor file catalog.db.audit-anchor shows 30 records written");
    // A record after it does not make it pass for a new trail: no anchor is signed.
    f.record_n(1).await;
    assert!(f.catalog.read().await.unwrap().audit_anchor().await.unwrap().is_none());
    assert_eq!(f.problem().await, "the trail's anchor is missing (deleted): the anchor file catalog.db.audit-anchor shows 30 records written");

    // Records forged after the head, with the chain's (unkeyed) hashes.
    let f = fixture().await;
    f.record_n(10).await;
    let mut forged = f.rows().await.pop().unwrap();
    forged.seq = 11;
    forged.event_id = "00000000-0000-4000-8000-000000000000".into();
    forged.prev_hash = forged.hash.clone();
    forged.hash = record_hash(&forged);
    f.tamper(&format!(
        "INSERT INTO audit_events SELECT 11, '{}', event_time, event_source, event_name, account_id, principal_arn, username,
             access_key_id, region, source, read_only, resources, decision, error_code, record, '{}', '{}' FROM audit_events WHERE seq = 10;
         INSERT INTO audit_event_resources SELECT 11, resource_type, resource_name FROM audit_event_resources WHERE seq = 10;
         INSERT INTO audit_event_accounts SELECT 11, account_id FROM audit_event_accounts WHERE seq = 10;
         UPDATE audit_head SET last_seq = 11, last_hash = '{}';",
        forged.event_id, forged.prev_hash, forged.hash, forged.hash
    ))
    .await;
    assert_eq!(f.problem().await, "record 11 was added without the master key: the trail's anchor shows 10 records written");

    // Digests deleted and the chain recomputed after an edit (fewer than 100 records, so
    // no digest was due).
    let f = fixture().await;
    f.record_n(60).await;
    f.trail.write_digest().await.unwrap();
    let rewrite = f.rewrite_from(40).await;
    f.tamper(&format!("{rewrite} DELETE FROM audit_digests;")).await;
    assert_eq!(f.problem().await, "the chain no longer matches its anchor: records 1 to 60 were rewritten");
    // Digests kept, only deleted: the anchor counted them.
    let f = fixture().await;
    f.record_n(60).await;
    f.trail.write_digest().await.unwrap();
    f.tamper("DELETE FROM audit_digests").await;
    assert_eq!(f.problem().await, "digest 1 is missing (deleted)");
    // With 100 records or more, a digest is due at every hundredth.
    let f = fixture().await;
    f.record_n(130).await;
    let rewrite = f.rewrite_from(40).await;
    f.tamper(&format!("{rewrite} DELETE FROM audit_digests;")).await;
    assert_eq!(f.problem().await, "the digest due at record 100 is missing (deleted)");

    // The anchor edited, or its file copy.
    let f = fixture().await;
    f.record_n(10).await;
    f.tamper("UPDATE audit_anchor SET last_seq = 9").await;
    assert_eq!(f.problem().await, "the trail's anchor was edited: its signature does not match");
    let f = fixture().await;
    f.record_n(10).await;
    let file = f.trail.anchor_file().unwrap().to_owned();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"LastRecord\":10", "\"LastRecord\":9")).unwrap();
    assert_eq!(f.problem().await, "the trail's anchor file catalog.db.audit-anchor was edited: its signature does not match");

    // An older anchor put back after the trail was cut back to it: its signature holds,
    // the file copy shows more.
    let f = fixture().await;
    f.record_n(20).await;
    let mut tx = f.catalog.read().await.unwrap();
    let old = tx.audit_anchor().await.unwrap().unwrap();
    drop(tx);
    f.record_n(5).await;
    f.tamper(&format!(
        "DELETE FROM audit_events WHERE seq > 20; DELETE FROM audit_event_resources WHERE seq > 20; DELETE FROM audit_event_accounts WHERE seq > 20;
         UPDATE audit_head SET last_seq = 20, last_hash = '{}';
         UPDATE audit_anchor SET last_seq = 20, last_hash = '{}', signature = '{}';",
        old.last_hash, old.last_hash, old.signature
    ))
    .await;
    assert_eq!(
        f.problem().await,
        "the trail's anchor was rolled back: it shows 20 records and 0 digests, the anchor file catalog.db.audit-anchor shows 25 and 0"
    );

    // A home moved without the anchor file still verifies (the catalog's anchor stands),
    // and the next append writes the file again.
    let f = fixture().await;
    f.record_n(10).await;
    std::fs::remove_file(f.trail.anchor_file().unwrap()).unwrap();
    f.assert_intact().await;
    f.record_n(1).await;
    assert!(std::fs::read_to_string(f.trail.anchor_file().unwrap()).unwrap().contains("\"LastRecord\":11"));
    f.assert_intact().await;
}

#[tokio::test]
async fn a_trail_written_before_anchors_is_anchored_by_its_next_append() {
    let f = fixture().await;
    f.record_n(130).await;
    f.record(call(MEMBER_B, "CreateBackupVault", &[&vault(MEMBER_A, "shared")])).await;
    f.forget_anchor().await;
    // As before anchors: it verifies, unanchored.
    let report = f.trail.verify().await.unwrap().ensure_intact().unwrap();
    assert_eq!((report.records_checked, report.anchor), (131, None));

    // The next append anchors it from where it stands, and derives its accounts index.
    f.record_n(1).await;
    let report = f.trail.verify().await.unwrap().ensure_intact().unwrap();
    let anchor = report.anchor.expect("anchored");
    assert_eq!((anchor.last_seq, anchor.anchored_from, anchor.digest_seq), (132, 131, 1));
    assert_eq!(anchor.anchored_at, f.clock.now());
    let of_b = f.trail.lookup_events_in(LookupEvents::default(), &LookupScope::Account(MEMBER_B.into())).await.unwrap();
    assert_eq!(of_b.events.len(), 1);
    let of_a = f.trail.lookup_events_in(LookupEvents { max_results: Some(50), ..LookupEvents::default() }, &LookupScope::Account(MEMBER_A.into())).await.unwrap();
    assert_eq!(of_a.events.len(), 50);

    // From then on, it is held to its anchor.
    f.tamper("DELETE FROM audit_events WHERE seq = 132; DELETE FROM audit_event_resources WHERE seq = 132; DELETE FROM audit_event_accounts WHERE seq = 132; UPDATE audit_head SET last_seq = 131, last_hash = (SELECT hash FROM audit_events WHERE seq = 131);").await;
    assert_eq!(f.problem().await, "record 132 is missing (cut off): the trail's anchor shows 132 records written");
}

#[tokio::test]
async fn a_trail_written_before_anchors_that_does_not_verify_goes_on_failing() {
    let f = fixture().await;
    f.record_n(30).await;
    f.forget_anchor().await;
    f.tamper("UPDATE audit_events SET region = 'us-east-1' WHERE seq = 7").await;
    assert_eq!(f.problem().await, "record 7 was edited");
    // Anchored from where it stands by its next append: that vouches for nothing before.
    f.record_n(1).await;
    let anchor = f.catalog.read().await.unwrap().audit_anchor().await.unwrap().expect("anchored");
    assert_eq!((anchor.anchored_from, anchor.last_seq), (30, 31));
    assert_eq!(f.problem().await, "record 7 was edited");

    // A trail whose anchor row was deleted while its file copy remains is not taken for
    // one written before anchors, however many records follow.
    let f = fixture().await;
    f.record_n(30).await;
    f.tamper("DELETE FROM audit_anchor").await;
    assert_eq!(f.problem().await, "the trail's anchor is missing (deleted): the anchor file catalog.db.audit-anchor shows 30 records written");
    f.record_n(5).await;
    f.trail.write_digest().await.unwrap();
    assert!(f.catalog.read().await.unwrap().audit_anchor().await.unwrap().is_none());
    assert_eq!(f.problem().await, "the trail's anchor is missing (deleted): the anchor file catalog.db.audit-anchor shows 30 records written");
}
