//! The copy jobs table on both databases: round trip, claiming once, guarded finishing,
//! jobs left running by a stopped process, and the filtered, paged list.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

const DEST: &str = "arn:aws:backup:eu-central-1:333333333333:backup-vault:central";

/// Job `i`: created at `i / 2` (two per second, so paging breaks ties by id).
fn job(i: i64) -> CopyJobRow {
    CopyJobRow {
        id: format!("JOB-{i:04}"),
        account_id: if i % 2 == 0 { "111111111111" } else { "222222222222" }.into(),
        region: "eu-west-1".into(),
        source_vault_arn: "arn:aws:backup:eu-west-1:111111111111:backup-vault:Default".into(),
        source_recovery_point_arn: format!("arn:aws:backup:eu-west-1:111111111111:recovery-point:{i:04}"),
        destination_vault_arn: if i % 3 == 0 { DEST.into() } else { "arn:aws:backup:eu-west-1:111111111111:backup-vault:Other".into() },
        destination_recovery_point_arn: None,
        resource_arn: format!("arn:aws:bunker:eu-west-1:111111111111:directory/r{}", i % 4),
        resource_type: "Directory".into(),
        state: "CREATED".into(),
        status_message: None,
        created_at: at(i / 2),
        started_at: None,
        heartbeat_at: None,
        completed_at: None,
        attempt: 1,
        backup_size: 1000 + i,
        bytes_transferred: 0,
        iam_role_arn: "arn:aws:iam::111111111111:role/r".into(),
        plan_id: Some("plan-1".into()),
        plan_version: Some("v1".into()),
        rule_id: Some("rule-1".into()),
        lifecycle: r#"{"DeleteAfterDays":35}"#.into(),
    }
}

async fn copy_jobs_round_trip_and_claim_once(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    tx.insert_copy_job(&job(1)).await.unwrap();
    assert_eq!(tx.copy_job("JOB-0001").await.unwrap(), Some(job(1)));
    assert_eq!(tx.copy_job("JOB-9999").await.unwrap(), None);
    assert!(tx.claim_copy_job("JOB-0001", at(10)).await.unwrap());
    // A second claim (another process) finds it taken.
    assert!(!tx.claim_copy_job("JOB-0001", at(11)).await.unwrap());
    let running = tx.copy_job("JOB-0001").await.unwrap().unwrap();
    assert_eq!((running.state.as_str(), running.started_at, running.heartbeat_at), ("RUNNING", Some(at(10)), Some(at(10))));
    assert!(tx.copy_job_heartbeat("JOB-0001", 1, at(20)).await.unwrap());
    assert!(!tx.copy_job_heartbeat("JOB-0001", 2, at(21)).await.unwrap());

    let done = CopyJobRow {
        state: "COMPLETED".into(),
        completed_at: Some(at(30)),
        bytes_transferred: 4242,
        destination_recovery_point_arn: Some("arn:aws:backup:eu-central-1:333333333333:recovery-point:x".into()),
        ..running.clone()
    };
    // Finishing is guarded by state and attempt.
    assert!(!tx.update_copy_job(&done, "RUNNING", 2).await.unwrap());
    assert!(tx.update_copy_job(&done, "RUNNING", 1).await.unwrap());
    assert!(!tx.update_copy_job(&done, "RUNNING", 1).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = catalog.read().await.unwrap();
    let got = tx.copy_job("JOB-0001").await.unwrap().unwrap();
    assert_eq!(got, done);
    assert_eq!(tx.copy_jobs_of_source(&job(1).source_recovery_point_arn).await.unwrap(), vec![done]);
}

async fn copy_job_states_are_checked(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    let bad = CopyJobRow { state: "EXPIRED".into(), ..job(1) };
    assert!(tx.insert_copy_job(&bad).await.is_err());
}

async fn queue_and_jobs_left_running(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    for i in 0..6 {
        tx.insert_copy_job(&job(i)).await.unwrap();
    }
    // Queue: oldest first, not past `until`.
    let queued: Vec<_> = tx.copy_jobs_in_state("CREATED", at(1), 10).await.unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(queued, ["JOB-0000", "JOB-0001", "JOB-0002", "JOB-0003"]);
    assert_eq!(tx.copy_jobs_in_state("CREATED", at(9), 2).await.unwrap().len(), 2);

    tx.claim_copy_job("JOB-0000", at(100)).await.unwrap();
    tx.claim_copy_job("JOB-0001", at(200)).await.unwrap();
    tx.claim_copy_job("JOB-0002", at(100)).await.unwrap();
    tx.copy_job_heartbeat("JOB-0002", 1, at(300)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = catalog.read().await.unwrap();
    // Stale: no heartbeat since before 250.
    let stale: Vec<_> = tx.stale_copy_jobs(at(250), 10).await.unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(stale, ["JOB-0000", "JOB-0001"]);
    assert!(tx.stale_copy_jobs(at(100), 10).await.unwrap().is_empty());
}

async fn copy_jobs_filtered_and_paged(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    for i in 0..30 {
        let mut j = job(i);
        if i >= 20 {
            j.state = "COMPLETED".into();
            j.completed_at = Some(at(100 + i));
        }
        tx.insert_copy_job(&j).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = catalog.read().await.unwrap();

    // Newest first, 7 at a time, every job once.
    let all = CopyJobFilter::default();
    let mut seen = Vec::new();
    let mut after: Option<(Timestamp, String)> = None;
    loop {
        let page = tx.copy_jobs(&all, after.as_ref().map(|(t, id)| (*t, id.as_str())), 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.id.clone()));
        seen.extend(page.into_iter().map(|j| j.id));
    }
    let want: Vec<_> = (0..30).rev().map(|i| format!("JOB-{i:04}")).collect();
    assert_eq!(seen, want);

    let ids = |rows: Vec<CopyJobRow>| rows.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let f = CopyJobFilter { state: Some("COMPLETED".into()), destination_vault_arn: Some(DEST.into()), ..Default::default() };
    assert_eq!(ids(tx.copy_jobs(&f, None, 100).await.unwrap()), ["JOB-0027", "JOB-0024", "JOB-0021"]);
    let f = CopyJobFilter { account_id: Some("222222222222".into()), resource_arn: Some(job(1).resource_arn), ..Default::default() };
    assert_eq!(ids(tx.copy_jobs(&f, None, 100).await.unwrap()), ["JOB-0029", "JOB-0025", "JOB-0021", "JOB-0017", "JOB-0013", "JOB-0009", "JOB-0005", "JOB-0001"]);
    let f = CopyJobFilter { created_after: Some(at(3)), created_before: Some(at(5)), ..Default::default() };
    assert_eq!(ids(tx.copy_jobs(&f, None, 100).await.unwrap()), ["JOB-0009", "JOB-0008"]);
    let f = CopyJobFilter { completed_after: Some(at(125)), completed_before: Some(at(128)), resource_type: Some("Directory".into()), ..Default::default() };
    assert_eq!(ids(tx.copy_jobs(&f, None, 100).await.unwrap()), ["JOB-0027", "JOB-0026"]);
}

suite! {
    copy_jobs_round_trip_and_claim_once,
    copy_job_states_are_checked,
    queue_and_jobs_left_running,
    copy_jobs_filtered_and_paged,
}
