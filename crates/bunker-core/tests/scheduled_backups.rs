//! The reference architecture's schedule, lived through 40 simulated days: an organization
//! policy attached to an OU (daily rule `cron(0 5 ? * * *)` kept 35 days, monthly rule
//! `cron(0 5 1 * ? *)` kept 366 days) selects resources tagged `backup=daily` in two
//! accounts — one resource of each type per account, plus an untagged one. The data changes
//! every day; afterwards every selected resource has exactly the expected recovery points
//! (dates, the 1st of the month de-duplicated to the monthly rule, the oldest dailies deleted
//! by lifecycle), untagged resources have none, and every recovery point restores to the
//! data of its day, with the resource's tags on the restored resource.

mod fixtures;

use std::collections::BTreeMap;
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_core::backup::{BackupService, RegisterResource, Scheduler, StartRestoreJob};
use bunker_core::{CreateAccount, CreateOrganization, CreatePolicy, ManualClock, Organizations};
use fixtures::Fixture;
use jiff::{SignedDuration, Timestamp};

const REGION: &str = "eu-west-1";

const POLICY: &str = r#"{"plans":{"org-daily-monthly":{
  "regions":{"@@assign":["eu-west-1"]},
  "rules":{
    "daily":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},
             "start_backup_window_minutes":{"@@assign":"60"},"complete_backup_window_minutes":{"@@assign":"1200"},
             "lifecycle":{"delete_after_days":{"@@assign":"35"}},
             "target_backup_vault_name":{"@@assign":"Default"}},
    "monthly":{"schedule_expression":{"@@assign":"cron(0 5 1 * ? *)"},
             "start_backup_window_minutes":{"@@assign":"60"},"complete_backup_window_minutes":{"@@assign":"1200"},
             "lifecycle":{"delete_after_days":{"@@assign":"366"}},
             "target_backup_vault_name":{"@@assign":"Default"}}},
  "selections":{"tags":{"daily":{"iam_role_arn":{"@@assign":"arn:aws:iam::$account:role/Backup"},
             "tag_key":{"@@assign":"backup"},"tag_value":{"@@assign":["daily"]}}}}}}}"#;

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_days_of_org_policy_backups_for_every_resource_type() {
    let servers = fixtures::Servers::start();
    let dir = tempfile::tempdir().unwrap();
    let start: Timestamp = "2026-01-10T00:00:00Z".parse().unwrap();
    let clock = ManualClock::new(start);
    let catalog = Catalog::open_file(&dir.path().join("catalog.db")).await.unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    let svc = BackupService::new(catalog.clone(), Arc::new(clock.clone()), dir.path().join("data"));

    // Organization: root → OU "Workloads" → accounts A and B; the policy on the OU.
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let root = orgs.list_roots().await.unwrap().remove(0).id;
    let ou = orgs.create_organizational_unit(&root, "Workloads").await.unwrap().id;
    let mut accounts = Vec::new();
    for name in ["team-a", "team-b"] {
        let status = orgs
            .create_account(CreateAccount {
                account_name: name.into(),
                email: format!("{name}@example.com"),
                account_id: None,
                parent_id: Some(ou.clone()),
            })
            .await
            .unwrap();
        accounts.push(status.account_id);
    }
    orgs.enable_policy_type(&root, "BACKUP_POLICY").await.unwrap();
    let policy = orgs
        .create_policy(CreatePolicy {
            name: "daily-monthly".into(),
            description: String::new(),
            policy_type: "BACKUP_POLICY".into(),
            content: POLICY.into(),
        })
        .await
        .unwrap();
    orgs.attach_policy(&policy.summary.id, &ou).await.unwrap();

    // Vaults and resources: one of each type per account, tagged, plus one untagged.
    let mut fixtures: Vec<(String, Fixture)> = Vec::new();
    for account in &accounts {
        svc.create_backup_vault(account, REGION, "Default", BTreeMap::new(), None).await.unwrap();
        for fixture in Fixture::all(&servers, &dir.path().join(account)).await {
            let r = svc
                .register_resource(RegisterResource {
                    account_id: account.clone(),
                    region: REGION.into(),
                    name: fixture.name().into(),
                    source: fixture.source(),
                    tags: tags(&[("backup", "daily"), ("owner", account)]),
                })
                .await
                .unwrap();
            fixtures.push((r.arn, fixture));
        }
        let untagged = Fixture::untagged_directory(&dir.path().join(account)).await;
        let r = svc
            .register_resource(RegisterResource {
                account_id: account.clone(),
                region: REGION.into(),
                name: "scratch".into(),
                source: untagged.source(),
                tags: tags(&[("backup", "never")]),
            })
            .await
            .unwrap();
        fixtures.push((r.arn, untagged));
    }

    // 40 days: each day the data changes at midnight, then the day is lived through.
    let mut scheduler = Scheduler::new(svc.clone(), start);
    let mut expected: BTreeMap<String, BTreeMap<Timestamp, fixtures::Fingerprint>> = BTreeMap::new();
    for day in 0..40 {
        let midnight = start + SignedDuration::from_hours(24 * day);
        clock.set(midnight);
        for (arn, f) in &mut fixtures {
            f.change(day).await;
            if f.tagged() {
                expected.entry(arn.clone()).or_default().insert(midnight + SignedDuration::from_hours(5), f.fingerprint().await);
            }
        }
        scheduler.run_until(&clock, midnight + SignedDuration::from_hours(24)).await.unwrap();
    }
    let end = start + SignedDuration::from_hours(24 * 40);

    // Exactly the expected recovery points: the last 35 days (Jan 15 – Feb 18), the
    // monthly one of Feb 1 kept 366 days; older dailies deleted by lifecycle.
    let mut restores = 0;
    for (arn, f) in &fixtures {
        let rps = svc.list_recovery_points_by_resource(arn, None, None).await.unwrap().items;
        if !f.tagged() {
            assert!(rps.is_empty(), "untagged {arn} has {} recovery points", rps.len());
            continue;
        }
        let want: Vec<Timestamp> = expected[arn]
            .keys()
            .copied()
            .filter(|t| *t + SignedDuration::from_hours(24 * 35) > end || t.strftime("%d").to_string() == "01")
            .collect();
        let mut got: Vec<Timestamp> = rps.iter().map(|r| r.creation_date).collect();
        got.sort();
        assert_eq!(got, want, "{arn}: recovery point dates");
        assert_eq!(want.len(), 35, "{arn}");
        for rp in &rps {
            assert_eq!(rp.status, "COMPLETED", "{arn}: {rp:?}");
            let monthly = rp.creation_date.strftime("%d").to_string() == "01";
            let keep = rp.calculated_lifecycle.delete_at.unwrap() - rp.creation_date;
            assert_eq!(keep, SignedDuration::from_hours(24 * if monthly { 366 } else { 35 }), "{arn} {}", rp.creation_date);
            let rp_tags = svc.recovery_point_tags(&rp.recovery_point_arn).await.unwrap();
            assert_eq!(rp_tags.get("backup").map(String::as_str), Some("daily"));
        }
        // Every recovery point restores to its day's data.
        for rp in &rps {
            let target = f.restore_target(restores);
            let job = svc
                .start_restore_job(StartRestoreJob {
                    recovery_point_arn: rp.recovery_point_arn.clone(),
                    metadata: target.metadata.clone(),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(job.status, "COMPLETED", "{arn} {}: {job:?}", rp.creation_date);
            let restored = f.fingerprint_of(&target).await;
            assert!(restored == expected[arn][&rp.creation_date], "{arn}: restore of {} differs from that day's data", rp.creation_date);
            // The restored resource carries the original's tags.
            let new = svc.describe_resource(job.created_resource_arn.as_ref().unwrap()).await.unwrap();
            assert_eq!(new.tags.get("owner"), Some(&arn.split(':').nth(4).unwrap().to_owned()));
            assert_eq!(new.tags.get("backup").map(String::as_str), Some("daily"));
            f.drop_restore(&target).await;
            restores += 1;
        }
    }
    assert!(restores >= 35 * 2 * 5, "{restores} restores");
    let protected = svc.list_protected_resources(None).await.unwrap();
    assert_eq!(protected.len(), 2 * 5);
}
