//! The audit trail through the real binary: a trail of varied events recorded in a home's
//! catalog, then tampered with as someone with write access to `catalog.db` but not to the
//! master key could — every column of a record edited, records deleted, records swapped,
//! digests edited or deleted, the chain recomputed after an edit, the trail cut short or
//! emptied, its anchor deleted or edited — and `bunker audit verify` must fail naming the
//! first bad record, digest or anchor each time, while the untouched trail verifies clean.
//! `bunker audit lookup-events` filters by every lookup attribute and time range, and pages.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use bunker_catalog::{AUDIT_GENESIS_HASH, Catalog};
use bunker_core::ManualClock;
use bunker_core::security::audit::{AuditRecord, AuditResource, AuditTrail, NewAuditEvent, UserIdentity, record_hash};
use bunker_core::security::{IdentityType, MasterKey};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::Home;

const ACCOUNT: &str = "111111111111";
/// Events recorded by [`seed`].
const EVENTS: usize = 120;

/// The seeded trail's clock starts here, far from the real time at which the binary
/// records its own calls.
fn start() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Event `i`'s time: one a minute.
fn time_of(i: usize) -> Timestamp {
    start() + SignedDuration::from_secs(60 * (i as i64 + 1))
}

fn identity(i: usize) -> UserIdentity {
    let (identity_type, arn, principal_id, key) = match i % 4 {
        0 => (IdentityType::Root, format!("arn:aws:iam::{ACCOUNT}:root"), Some(ACCOUNT.to_owned()), None),
        1 => (IdentityType::IamUser, format!("arn:aws:iam::{ACCOUNT}:user/alice"), Some("AIDAALICE".into()), Some("AKIAALICEALICEALICE1")),
        2 => (
            IdentityType::AssumedRole,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/Ops/bob-session"),
            Some("AROAOPS:bob-session".into()),
            Some("ASIABOBBOBBOBBOBBOB1"),
        ),
        _ => (
            IdentityType::AwsService,
            format!("arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"),
            Some("backup.amazonaws.com".into()),
            None,
        ),
    };
    UserIdentity {
        identity_type,
        principal_arn: arn,
        principal_id,
        account_id: ACCOUNT.into(),
        access_key_id: key.map(str::to_owned),
        mfa_authenticated: i % 8 == 2,
    }
}

/// Event `i`: five operations over three services, four kinds of caller, every seventh
/// call denied, secrets in some requests and responses.
fn event(i: usize) -> NewAuditEvent {
    let rp = format!("arn:aws:backup:eu-west-1:{ACCOUNT}:recovery-point:rp-{:03}", i % 10);
    let vault = format!("arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:vault-{}", i % 3);
    let key = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/k-{}", i % 2);
    let (source, name, resources, read_only, request, response) = match i % 5 {
        0 => ("backup", "DeleteRecoveryPoint", vec![(rp.clone(), "AWS::Backup::RecoveryPoint")], false, json!({"RecoveryPointArn": rp}), None),
        1 => ("backup", "StartBackupJob", vec![(vault.clone(), "AWS::Backup::BackupVault")], false, json!({"BackupVaultName": vault}), Some(json!({"BackupJobId": format!("job-{i}")}))),
        2 => ("backup", "ListBackupVaults", vec![], true, json!({}), None),
        3 => ("kms", "Decrypt", vec![(key.clone(), "AWS::KMS::Key")], false, json!({"KeyId": key, "CiphertextBlob": "AQID"}), Some(json!({"Plaintext": "c2VjcmV0"}))),
        _ => (
            "iam",
            "CreateLoginProfile",
            vec![(format!("arn:aws:iam::{ACCOUNT}:user/u{i}"), "AWS::IAM::User")],
            false,
            json!({"UserName": format!("u{i}"), "Password": "hunter2-password"}),
            None,
        ),
    };
    let denied = i % 7 == 6;
    NewAuditEvent {
        event_source: format!("{source}.amazonaws.com"),
        event_name: name.into(),
        region: "eu-west-1".into(),
        source: if i % 4 == 3 { "scheduler" } else { "cli" }.into(),
        source_ip: None,
        user_identity: identity(i),
        resources: resources.into_iter().map(|(arn, t)| AuditResource { arn, resource_type: t.into() }).collect(),
        request_parameters: request,
        response_elements: if denied { None } else { response },
        read_only,
        decision: if denied { "explicitDeny by SCP p-deny statement 0".into() } else { "allowed by identity policy admin statement 0".into() },
        error_code: denied.then(|| "AccessDeniedException".to_owned()),
        error_message: denied.then(|| format!("User is not authorized to perform: {source}:{name}")),
    }
}

/// Records [`EVENTS`] events into the home's catalog, as the services do, with an hourly
/// digest after the 30th and at the end (and the automatic one after the 100th).
async fn seed(home: &Path) -> Vec<AuditRecord> {
    seed_with(home, EVENTS, &[30, EVENTS]).await
}

/// Records `events` events, with an hourly digest after each count in `digests_after`.
async fn seed_with(home: &Path, events: usize, digests_after: &[usize]) -> Vec<AuditRecord> {
    let catalog = Catalog::open_file(&home.join("catalog.db")).await.unwrap();
    let clock = ManualClock::new(start());
    let trail = AuditTrail::new(catalog.clone(), MasterKey::load(home).unwrap(), Arc::new(clock.clone()));
    let mut records = Vec::new();
    for i in 0..events {
        clock.set(time_of(i));
        records.push(trail.record(event(i)).await.unwrap());
        if digests_after.contains(&(i + 1)) {
            trail.write_digest().await.unwrap();
        }
    }
    catalog.close().await;
    records
}

/// A fresh home holding a copy of `seeded`'s catalog, the anchor's copy beside it, and the
/// master key.
fn copy_of(seeded: &Home) -> Home {
    let home = Home::new();
    for file in ["catalog.db", "catalog.db-wal", "catalog.db.audit-anchor", "master.key"] {
        let from = seeded.path().join(file);
        if from.exists() {
            std::fs::copy(&from, home.path().join(file)).unwrap();
        }
    }
    home
}

/// Runs SQL on the home's catalog file directly.
async fn tamper(home: &Home, sql: &str) {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(home.path().join("catalog.db")).connect().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

/// The statements that edit record `from` and recompute every hash after it (and the
/// head), as the unkeyed chain lets anyone with write access do.
async fn rewrite_from(home: &Home, from: i64) -> String {
    let catalog = Catalog::open_file(&home.path().join("catalog.db")).await.unwrap();
    let mut rows = catalog.read().await.unwrap().audit_events_after(0, 10_000).await.unwrap();
    catalog.close().await;
    let mut prev = rows.iter().find(|r| r.seq == from - 1).map_or(AUDIT_GENESIS_HASH.to_owned(), |r| r.hash.clone());
    let mut sql = String::new();
    for row in rows.iter_mut().filter(|r| r.seq >= from) {
        if row.seq == from {
            row.region = "us-east-1".into();
        }
        row.prev_hash = prev;
        row.hash = record_hash(row);
        prev = row.hash.clone();
        sql.push_str(&format!(
            "UPDATE audit_events SET region = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};\n",
            row.region, row.prev_hash, row.hash, row.seq
        ));
    }
    sql.push_str(&format!("UPDATE audit_head SET last_hash = '{prev}';\n"));
    sql
}

/// Deletes every record after `seq`, with its lookup index rows, and moves the head back
/// to it: the trail cut short, consistent with itself.
fn cut_after(seq: usize) -> String {
    format!(
        "DELETE FROM audit_events WHERE seq > {seq};
         DELETE FROM audit_event_resources WHERE seq > {seq};
         DELETE FROM audit_event_accounts WHERE seq > {seq};
         UPDATE audit_head SET last_seq = {seq}, last_hash = (SELECT hash FROM audit_events WHERE seq = {seq});"
    )
}

/// Every record, index row and digest deleted, the head back at the start.
fn emptied() -> String {
    format!(
        "DELETE FROM audit_events; DELETE FROM audit_event_resources; DELETE FROM audit_event_accounts;
         DELETE FROM audit_digests; UPDATE audit_head SET last_seq = 0, last_hash = '{AUDIT_GENESIS_HASH}';"
    )
}

/// The trail's head, read straight from the catalog.
async fn head_of(home: &Home) -> i64 {
    let catalog = Catalog::open_file(&home.path().join("catalog.db")).await.unwrap();
    let head = catalog.read().await.unwrap().audit_head().await.unwrap().0;
    catalog.close().await;
    head
}

/// `bunker audit verify` must fail naming `expected`.
fn verify_fails(home: &Home, expected: &str, what: &str) {
    let stderr = home.service_error(&["audit", "verify"], "AuditTrailTamperedException", "Verify");
    assert!(stderr.contains(expected), "{what}: expected {expected:?} in {stderr:?}");
}

#[tokio::test]
async fn verify_names_the_first_bad_record_of_every_kind_of_tampering() {
    let seeded = Home::new();
    seed(seeded.path()).await;

    // Untouched, it verifies (on a copy: the binary records its own calls in the trail).
    let report = copy_of(&seeded).ok(&["audit", "verify"]);
    assert_eq!(report["Valid"], true);
    assert_eq!(report["RecordsChecked"], EVENTS as u64);
    assert_eq!(report["DigestsChecked"], 3);
    assert_eq!(report["LastRecord"], EVENTS as u64);
    assert_eq!(report["LastHash"].as_str().unwrap().len(), 64);

    // Every column, each in another record. Text columns get a character more (NULLs
    // become text), numbers one more.
    let text = |c: &str| format!("{c} = COALESCE({c}, '') || 'x'");
    let number = |c: &str| format!("{c} = {c} + 1");
    let edits = [
        (1, text("event_id")),
        (2, number("event_time")),
        (3, text("event_source")),
        (5, text("event_name")),
        (8, text("account_id")),
        (13, text("principal_arn")),
        (17, text("username")),
        (20, text("access_key_id")),
        (21, text("access_key_id")),
        (30, text("region")),
        (31, text("source")),
        (44, number("read_only")),
        (45, text("resources")),
        (59, text("decision")),
        (64, text("error_code")),
        (70, text("error_code")),
        (75, "record = REPLACE(record, 'HIDDEN_DUE', 'hidden_due')".to_owned()),
        (78, "record = REPLACE(record, '\"readOnly\":true', '\"readOnly\":false')".to_owned()),
        (99, text("prev_hash")),
        (100, text("hash")),
        (101, "hash = (SELECT hash FROM audit_events WHERE seq = 102)".to_owned()),
        (120, text("record")),
    ];
    // (An edit that changed nothing would verify clean and fail the test.)
    for (seq, set) in &edits {
        let home = copy_of(&seeded);
        tamper(&home, &format!("UPDATE audit_events SET {set} WHERE seq = {seq}")).await;
        verify_fails(&home, &format!("record {seq} was edited"), set);
    }

    // Deleted records: in the middle, the first, the last.
    for seq in [50, 1, EVENTS] {
        let home = copy_of(&seeded);
        tamper(&home, &format!("DELETE FROM audit_events WHERE seq = {seq}")).await;
        verify_fails(&home, &format!("record {seq} is missing (deleted)"), "delete");
    }

    // Two records swapped (their seq values): neighbours and far apart.
    for (a, b) in [(20, 21), (10, 70), (1, 2)] {
        let home = copy_of(&seeded);
        tamper(
            &home,
            &format!(
                "UPDATE audit_events SET seq = -1 WHERE seq = {a};
                 UPDATE audit_events SET seq = {a} WHERE seq = {b};
                 UPDATE audit_events SET seq = {b} WHERE seq = -1;"
            ),
        )
        .await;
        let expected = if a == 1 { "record 1 does not start the chain (reordered)".to_owned() } else { format!("record {a} does not follow record {} (reordered)", a - 1) };
        verify_fails(&home, &expected, "swap");
    }

    // Digests: each column edited, one deleted. Digest 1 covers record 30, digest 2 the
    // 100th, digest 3 the 120th.
    for (seq, set) in [
        (1, "last_hash = (SELECT hash FROM audit_events WHERE seq = 29)"),
        (2, "last_event_seq = last_event_seq - 1"),
        (2, "created_at = created_at + 1"),
        (3, "signature = CASE WHEN SUBSTR(signature, 1, 1) = '0' THEN '1' ELSE '0' END || SUBSTR(signature, 2)"),
        (3, "signature = 'x'"),
    ] {
        let home = copy_of(&seeded);
        tamper(&home, &format!("UPDATE audit_digests SET {set} WHERE seq = {seq}")).await;
        verify_fails(&home, &format!("digest {seq} (covering records up to"), set);
    }
    let home = copy_of(&seeded);
    tamper(&home, "DELETE FROM audit_digests WHERE seq = 2").await;
    verify_fails(&home, "digest 2 is missing (deleted)", "digest deleted");

    // The lookup index, edited so that a lookup by resource misses an event, or finds one
    // that did not touch it.
    for (seq, sql) in [
        (11, "DELETE FROM audit_event_resources WHERE seq = 11"),
        (12, "UPDATE audit_event_resources SET resource_name = 'arn:aws:backup:eu-west-1:111111111111:backup-vault:other' WHERE seq = 12"),
        (13, "INSERT INTO audit_event_resources (seq, resource_type, resource_name) VALUES (13, 'AWS::KMS::Key', 'arn:aws:kms:eu-west-1:111111111111:key/k-0')"),
    ] {
        let home = copy_of(&seeded);
        tamper(&home, sql).await;
        verify_fails(&home, &format!("the lookup index of record {seq} was edited"), sql);
    }

    // The first bad record is named even with later damage.
    let home = copy_of(&seeded);
    tamper(&home, "DELETE FROM audit_events WHERE seq = 90; UPDATE audit_events SET region = 'us-east-1' WHERE seq = 40").await;
    verify_fails(&home, "record 40 was edited", "two edits");

    // The seeded trail itself was never touched.
    assert_eq!(copy_of(&seeded).ok(&["audit", "verify"])["Valid"], true);
}

#[tokio::test]
async fn verify_names_a_trail_rewritten_cut_short_or_emptied() {
    // Digests after records 30, 100 and 120.
    let seeded = Home::new();
    seed(seeded.path()).await;
    // Digests after records 30 and 100: the last 20 records are after the last digest.
    let open_tail = Home::new();
    seed_with(open_tail.path(), EVENTS, &[30]).await;
    // 60 records, digests after 30 and 60: no digest was due yet.
    let short = Home::new();
    seed_with(short.path(), 60, &[30, 60]).await;
    for home in [&seeded, &open_tail, &short] {
        assert_eq!(copy_of(home).ok(&["audit", "verify"])["Valid"], true);
    }

    // 1. A record edited, the chain recomputed after it and every digest deleted.
    let home = copy_of(&seeded);
    tamper(&home, &format!("{} DELETE FROM audit_digests;", rewrite_from(&home, 40).await)).await;
    verify_fails(&home, "the digest due at record 100 is missing (deleted)", "rewritten, digests deleted");
    let home = copy_of(&short);
    tamper(&home, &format!("{} DELETE FROM audit_digests;", rewrite_from(&home, 40).await)).await;
    verify_fails(&home, "the chain no longer matches its anchor: records 1 to 60 were rewritten", "short trail rewritten, digests deleted");
    // The digests kept: the first one after the edit no longer matches.
    let home = copy_of(&short);
    tamper(&home, &rewrite_from(&home, 40).await).await;
    verify_fails(&home, "the chain no longer matches digest 2: records 31 to 60 were rewritten", "short trail rewritten");

    // 2. The trail emptied: records, lookup index and digests.
    let home = copy_of(&seeded);
    tamper(&home, &emptied()).await;
    verify_fails(&home, "the trail was emptied: its anchor shows 120 records written, none is left", "emptied");

    // 3. The records after the last digest cut off. The binary's own call is still
    // recorded, but the anchor is not moved to fit: the cut stays named.
    let home = copy_of(&open_tail);
    tamper(&home, &cut_after(100)).await;
    verify_fails(&home, "records 101 to 120 are missing (cut off): the trail's anchor shows 120 records written", "cut off");
    assert_eq!(head_of(&home).await, 101);
    verify_fails(&home, "records 102 to 120 are missing (cut off): the trail's anchor shows 120 records written", "cut off, then a call");

    // 4. The anchor deleted too: its copy beside the catalog still shows what was written.
    let home = copy_of(&seeded);
    tamper(&home, &format!("{} DELETE FROM audit_anchor;", emptied())).await;
    verify_fails(
        &home,
        "the trail was emptied and its anchor deleted: the anchor file catalog.db.audit-anchor shows 120 records written",
        "emptied, anchor deleted",
    );
    let home = copy_of(&open_tail);
    tamper(&home, &format!("{} DELETE FROM audit_anchor;", cut_after(100))).await;
    verify_fails(&home, "the trail's anchor is missing (deleted): the anchor file catalog.db.audit-anchor shows 120 records written", "cut off, anchor deleted");

    // The anchor, or its copy, edited to fit.
    let home = copy_of(&open_tail);
    tamper(&home, &format!("{} UPDATE audit_anchor SET last_seq = 100, last_hash = (SELECT hash FROM audit_events WHERE seq = 100);", cut_after(100))).await;
    verify_fails(&home, "the trail's anchor was edited: its signature does not match", "anchor edited");
    let home = copy_of(&seeded);
    let file = home.path().join("catalog.db.audit-anchor");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"LastRecord\":120"), "{text}");
    std::fs::write(&file, text.replace("\"LastRecord\":120", "\"LastRecord\":119")).unwrap();
    verify_fails(&home, "the trail's anchor file catalog.db.audit-anchor was edited: its signature does not match", "anchor file edited");

    // None of the seeded homes was touched.
    for home in [&seeded, &open_tail, &short] {
        assert_eq!(copy_of(home).ok(&["audit", "verify"])["Valid"], true);
    }
}

/// The `EventId`s of every page of a lookup, following `NextToken`.
fn all_pages(home: &Home, args: &[&str], page_size: usize) -> Vec<String> {
    let size = page_size.to_string();
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let mut full = vec!["audit", "lookup-events", "--max-results", &size];
        full.extend_from_slice(args);
        if let Some(t) = &token {
            full.extend(["--next-token", t]);
        }
        let out = home.ok(&full);
        let events = out["Events"].as_array().unwrap();
        assert!(events.len() <= page_size);
        ids.extend(events.iter().map(|e| e["EventId"].as_str().unwrap().to_owned()));
        match out["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return ids,
        }
    }
    panic!("more than 100 pages");
}

fn ids_where(records: &[AuditRecord], keep: impl Fn(usize) -> bool) -> Vec<String> {
    // Newest first, as lookups return them.
    records.iter().enumerate().rev().filter(|(i, _)| keep(*i)).map(|(_, r)| r.event_id.clone()).collect()
}

/// The seeded events a lookup returns (the binary records its own calls too).
fn lookup(home: &Home, records: &[AuditRecord], key: &str, value: &str) -> Vec<String> {
    let seeded: BTreeSet<&str> = records.iter().map(|r| r.event_id.as_str()).collect();
    let ids = all_pages(home, &["--lookup-attributes", &format!("AttributeKey={key},AttributeValue={value}")], 50);
    ids.into_iter().filter(|id| seeded.contains(id.as_str())).collect()
}

#[tokio::test]
async fn lookup_events_filters_and_pages() {
    // The seeded events are one account's: its root looks them up.
    let home = Home::new().with_env("BUNKER_PRINCIPAL", ACCOUNT);
    let records = seed(home.path()).await;

    // The shape of one event.
    let end = time_of(114).to_string();
    let out = home.ok(&[
        "audit",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=iam.amazonaws.com",
        "--end-time",
        &end,
        "--max-results",
        "1",
    ]);
    let first = &out["Events"][0];
    assert_eq!(support::keys(first), ["EventId", "EventName", "ReadOnly", "AccessKeyId", "EventTime", "EventSource", "Username", "Resources", "CloudTrailEvent"]);
    let i = 114; // the newest iam call (i % 5 == 4) by the role session (i % 4 == 2) up to then
    assert_eq!(first["EventId"], records[i].event_id.as_str());
    assert_eq!(first["EventName"], "CreateLoginProfile");
    assert_eq!(first["ReadOnly"], "false");
    assert_eq!(first["Username"], "bob-session");
    assert_eq!(first["AccessKeyId"], "ASIABOBBOBBOBBOBBOB1");
    assert!(support::is_aws_cli_timestamp(&first["EventTime"]), "{}", first["EventTime"]);
    assert_eq!(first["EventTime"], "2026-01-01T01:55:00+00:00");
    assert_eq!(first["Resources"], json!([{"ResourceType": "AWS::IAM::User", "ResourceName": format!("arn:aws:iam::{ACCOUNT}:user/u{i}")}]));
    let record: Value = serde_json::from_str(first["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(record["eventID"], first["EventId"]);
    assert_eq!(record["userIdentity"]["type"], "AssumedRole");
    assert_eq!(record["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "true");
    assert_eq!(record["requestParameters"]["Password"], "HIDDEN_DUE_TO_SECURITY_REASONS");
    assert_eq!(record["eventTime"], "2026-01-01T01:55:00Z");
    assert!(record.get("errorCode").is_none());
    assert_eq!(record["sourceIPAddress"], "bunker-cli");
    assert_eq!(record["recipientAccountId"], ACCOUNT);
    assert!(out["NextToken"].is_string());

    // Every lookup attribute.
    assert_eq!(lookup(&home, &records, "EventName", "DeleteRecoveryPoint"), ids_where(&records, |i| i % 5 == 0));
    assert_eq!(lookup(&home, &records, "EventSource", "kms.amazonaws.com"), ids_where(&records, |i| i % 5 == 3));
    assert_eq!(lookup(&home, &records, "Username", "alice"), ids_where(&records, |i| i % 4 == 1));
    assert_eq!(lookup(&home, &records, "Username", "root"), ids_where(&records, |i| i % 4 == 0));
    assert_eq!(lookup(&home, &records, "Username", &format!("arn:aws:sts::{ACCOUNT}:assumed-role/Ops/bob-session")), ids_where(&records, |i| i % 4 == 2));
    assert_eq!(lookup(&home, &records, "AccessKeyId", "AKIAALICEALICEALICE1"), ids_where(&records, |i| i % 4 == 1));
    let rp = format!("arn:aws:backup:eu-west-1:{ACCOUNT}:recovery-point:rp-005");
    assert_eq!(lookup(&home, &records, "ResourceName", &rp), ids_where(&records, |i| i % 5 == 0 && i % 10 == 5));
    assert_eq!(lookup(&home, &records, "ResourceType", "AWS::KMS::Key"), ids_where(&records, |i| i % 5 == 3));
    assert_eq!(lookup(&home, &records, "EventId", &records[42].event_id), vec![records[42].event_id.clone()]);
    assert!(lookup(&home, &records, "EventId", "no-such-event").is_empty());
    assert_eq!(lookup(&home, &records, "ReadOnly", "true"), ids_where(&records, |i| i % 5 == 2));
    assert_eq!(lookup(&home, &records, "ReadOnly", "false"), ids_where(&records, |i| i % 5 != 2));
    let seeded: BTreeSet<String> = records.iter().map(|r| r.event_id.clone()).collect();

    // JSON form of the attribute.
    let json_form = all_pages(&home, &["--lookup-attributes", r#"[{"AttributeKey":"EventName","AttributeValue":"Decrypt"}]"#], 50);
    assert_eq!(json_form, ids_where(&records, |i| i % 5 == 3));

    // Pages of 7 through the seeded window (a time range keeps the binary's own calls out).
    let (from, to) = ("2026-01-01T00:01:00Z", "2026-01-01T02:00:00Z");
    let paged = all_pages(&home, &["--start-time", from, "--end-time", to], 7);
    assert_eq!(paged, ids_where(&records, |_| true));
    // Both ends included; epoch seconds work too.
    let window = all_pages(&home, &["--start-time", &time_of(10).to_string(), "--end-time", &time_of(19).as_second().to_string()], 4);
    assert_eq!(window, ids_where(&records, |i| (10..=19).contains(&i)));
    // A time range and an attribute together.
    let both = all_pages(&home, &["--start-time", &time_of(50).to_string(), "--lookup-attributes", "AttributeKey=EventName,AttributeValue=StartBackupJob"], 3);
    let both: Vec<String> = both.into_iter().filter(|id| seeded.contains(id)).collect();
    assert_eq!(both, ids_where(&records, |i| i >= 50 && i % 5 == 1));

    // Refusals, as CloudTrail refuses them.
    let two = ["audit", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Decrypt", "AttributeKey=ReadOnly,AttributeValue=true"];
    home.service_error(&two, "InvalidParameterValueException", "LookupEvents");
    let too_many = ["audit", "lookup-events", "--max-results", "51"];
    home.service_error(&too_many, "InvalidParameterValueException", "LookupEvents");
    let token = home.ok(&["audit", "lookup-events", "--max-results", "1"])["NextToken"].as_str().unwrap().to_owned();
    let other = ["audit", "lookup-events", "--max-results", "1", "--next-token", &token, "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Decrypt"];
    home.service_error(&other, "InvalidParameterValueException", "LookupEvents");
    let bad_key = home.run(&["audit", "lookup-events", "--lookup-attributes", "AttributeKey=Colour,AttributeValue=red"]);
    assert_eq!(bad_key.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("Invalid AttributeKey"));
}
