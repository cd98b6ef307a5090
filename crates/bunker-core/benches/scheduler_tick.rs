//! One scheduler tick over 100,000 registered resources.
//!
//! `cargo bench -p bunker-core --bench scheduler_tick`
//!
//! 10 accounts × 2 Regions × 5,000 resources of every type, each with 5 to 7 tags (some
//! selected by tag, some by ARN pattern and conditions, some by nothing). Every account has,
//! in each Region, 5 local plans (8 rules) built like the reference architecture's: the
//! daily + monthly rules (`backup=daily`), hourly databases (`Resources` + `Conditions` +
//! `NotResources`), weekly gold tier (tags AND `StringNotLike`), a compliance rule in
//! Europe/Paris time and a nightly catch-all that does not fire in the measured tick.
//!
//! The tick measured is the minute ending 2026-02-01 05:00 UTC — a Sunday and the 1st of the
//! month, so the daily, monthly, hourly, weekly and compliance rules all fire at once and
//! de-duplication has the most to do. Measured apart:
//!
//! * evaluation: [`Scheduler::due_jobs`], pure, over the loaded rules and resources;
//! * load: [`Scheduler::load`], reading the rules and every resource from the catalog
//!   (SQLite file);
//! * once, a whole `create_due_jobs` (load + evaluation + inserting every job).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bunker_catalog::{Catalog, Resource};
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, resource_arn};
use bunker_core::{ManualClock, Organizations, Scheduler};
use common::{Samples, test_mode};
use jiff::Timestamp;

const ACCOUNTS: usize = 10;
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

/// The plans every account has in each Region: (plan document, selection documents).
fn plans() -> Vec<(String, Vec<String>)> {
    let role = "arn:aws:iam::111111111111:role/Backup";
    let rule = |name: &str, cron: &str, delete: u32, extra: &str| {
        format!(
            r#"{{"RuleName":"{name}","TargetBackupVaultName":"Default","ScheduleExpression":"{cron}",
                "StartWindowMinutes":60,"CompletionWindowMinutes":1200,"Lifecycle":{{"DeleteAfterDays":{delete}}}{extra}}}"#
        )
    };
    let plan = |name: &str, rules: Vec<String>| format!(r#"{{"BackupPlanName":"{name}","Rules":[{}]}}"#, rules.join(","));
    let selection = |name: &str, body: &str| format!(r#"{{"SelectionName":"{name}","IamRoleArn":"{role}"{body}}}"#);
    vec![
        (
            plan(
                "daily-monthly",
                vec![rule("daily", "cron(0 5 ? * * *)", 35, ""), rule("monthly", "cron(0 5 1 * ? *)", 366, "")],
            ),
            vec![selection(
                "tagged-daily",
                r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}]"#,
            )],
        ),
        (
            plan("databases", vec![rule("hourly", "cron(0 * ? * * *)", 7, "")]),
            vec![selection(
                "production-databases",
                r#","Resources":["arn:aws:bunker:*:*:sqlite/*","arn:aws:bunker:*:*:postgresql/*"],
                   "NotResources":["arn:aws:bunker:*:*:sqlite/scratch-*"],
                   "Conditions":{"StringEquals":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"prod"}]}"#,
            )],
        ),
        (
            plan("gold", vec![rule("weekly", "cron(0 5 ? * SUN *)", 90, "")]),
            vec![
                selection(
                    "gold-tier",
                    r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"aws:ResourceTag/tier","ConditionValue":"gold"}],
                       "Conditions":{"StringNotLike":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"test*"}]}"#,
                ),
                selection("critical-buckets", r#","Resources":["arn:aws:bunker:*:*:bucket/critical-*"]"#),
            ],
        ),
        (
            plan(
                "compliance",
                vec![rule(
                    "seven-years",
                    "cron(0 6 ? * * *)",
                    2555,
                    r#","ScheduleExpressionTimezone":"Europe/Paris""#,
                )],
            ),
            vec![selection(
                "regulated",
                r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"compliance","ConditionValue":"sox"},
                                  {"ConditionType":"STRINGEQUALS","ConditionKey":"compliance","ConditionValue":"pci"}],
                   "Conditions":{"StringLike":[{"ConditionKey":"aws:ResourceTag/team","ConditionValue":"team-1*"}]}"#,
            )],
        ),
        (
            plan("nightly", vec![rule("all", "cron(30 22 ? * * *)", 14, ""), rule("weekend", "cron(0 12 ? * SAT *)", 30, "")]),
            vec![selection("everything-but-scratch", r#","NotResources":["*:directory/scratch-*"]"#)],
        ),
    ]
}

/// Resource `i` of an account and Region: type, name and tags, spread so that each plan
/// selects a different share.
fn resource(i: usize, account: &str, region: &str, created_at: Timestamp) -> Resource {
    let (source, kind) = match i % 5 {
        0 => (Source::Directory { path: format!("/srv/data/app-{i}").into() }, "app"),
        1 => (Source::Sqlite { path: format!("/srv/db/orders-{i}.sqlite").into() }, "orders"),
        2 => (Source::Postgresql { url: format!("postgresql://bunker@db-{}.internal:5432/app{i}", i % 40) }, "app"),
        3 => (Source::DiskImage { path: format!("/var/lib/images/vm-{i}.img").into() }, "vm"),
        _ => (
            Source::Bucket {
                endpoint: None,
                bucket: format!("media-{i}"),
                prefix: String::new(),
                region: region.into(),
                access_key_id: None,
                secret_access_key: None,
            },
            "media",
        ),
    };
    // Some scratch resources (excluded by NotResources) and critical buckets.
    let name = match i % 23 {
        0 => format!("scratch-{kind}-{i:05}"),
        1 => format!("critical-{kind}-{i:05}"),
        _ => format!("{kind}-{i:05}"),
    };
    let ty = source.resource_type();
    let mut tags = BTreeMap::new();
    let mut tag = |k: &str, v: String| tags.insert(k.to_owned(), v);
    match i % 10 {
        0..=5 => tag("backup", "daily".into()),
        6 => tag("backup", "weekly".into()),
        _ => None,
    };
    tag("env", ["prod", "staging", "prod", "test-a", "prod", "test-b"][i % 6].into());
    tag("tier", ["gold", "silver", "silver", "bronze", "bronze", "bronze", "silver"][i % 7].into());
    tag("team", format!("team-{}", i % 24));
    tag("app", format!("app-{}", i % 200));
    if i.is_multiple_of(13) {
        tag("compliance", if i.is_multiple_of(2) { "sox".into() } else { "pci".into() });
    }
    if i.is_multiple_of(3) {
        tag("cost-center", format!("cc-{}", 1000 + i % 50));
    }
    Resource {
        arn: resource_arn(region, account, ty.arn_word(), &name),
        account_id: account.into(),
        region: region.into(),
        resource_type: ty.as_str().into(),
        name,
        location: source.to_json(),
        tags,
        created_at,
    }
}

fn main() {
    let quick = test_mode();
    let per_place = if quick { 100 } else { 5_000 };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let setup = Instant::now();
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let clock = ManualClock::new(start);
    let (svc, count) = rt.block_on(async {
        let catalog = Catalog::open_file(&dir.path().join("catalog.db")).await.expect("catalog");
        let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
        let svc = BackupService::new(catalog.clone(), Arc::new(clock.clone()), dir.path().join("data"));
        let accounts = common::workload_accounts(&orgs, ACCOUNTS).await;
        let mut tx = catalog.write().await.expect("write");
        let mut count = 0;
        for account in &accounts {
            for region in REGIONS {
                for i in 0..per_place {
                    tx.insert_resource(&resource(i, account, region, start)).await.expect("resource");
                    count += 1;
                }
            }
        }
        tx.commit().await.expect("commit");
        for account in &accounts {
            for region in REGIONS {
                svc.create_backup_vault(account, region, "Default", BTreeMap::new(), None).await.expect("vault");
                for (plan, selections) in plans() {
                    let id = svc.create_backup_plan(account, region, &plan, None).await.expect("plan").backup_plan_id;
                    for s in selections {
                        svc.create_backup_selection(&id, &s, None).await.expect("selection");
                    }
                }
            }
        }
        (svc, count)
    });
    println!("setup: {count} resources, {} plans, in {:.1} s", ACCOUNTS * REGIONS.len() * plans().len(), setup.elapsed().as_secs_f64());

    let at = |s: &str| s.parse::<Timestamp>().expect("time");
    let (from, to) = (at("2026-02-01T04:59:00Z"), at("2026-02-01T05:00:00Z"));
    clock.set(to);
    let mut scheduler = Scheduler::new(svc.clone(), from);
    let (rules, resources) = rt.block_on(scheduler.load(from, to)).expect("load");
    let (warmup, runs) = if quick { (0, 1) } else { (3, 50) };
    let mut due_at_peak = 0;
    // The peak tick, then an ordinary Tuesday 05:00 (daily and hourly rules only).
    for (name, from, to) in
        [("the 1st, a Sunday", from, to), ("an ordinary day", at("2026-02-03T04:59:00Z"), at("2026-02-03T05:00:00Z"))]
    {
        let due = Scheduler::due_jobs(&rules, &resources, from, to);
        println!("tick ({from}, {to}], {name}: {} rules, {} resources, {} jobs due", rules.len(), resources.len(), due.len());
        let mut keys: Vec<_> = due.iter().map(|d| (&resources[d.resource].arn, d.at)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), due.len(), "one job per resource and instant");
        let by_rule = |name: &str| due.iter().filter(|d| rules[d.rule].rule.rule_name == name).count();
        println!(
            "  jobs by winning rule: monthly {}, daily {}, hourly {}, weekly {}, seven-years {}",
            by_rule("monthly"),
            by_rule("daily"),
            by_rule("hourly"),
            by_rule("weekly"),
            by_rule("seven-years")
        );
        assert!(quick || by_rule("hourly") > 0);
        let mut eval = Samples::default();
        for i in 0..warmup + runs {
            let start = Instant::now();
            let n = Scheduler::due_jobs(&rules, &resources, from, to).len();
            assert_eq!(n, due.len());
            if i >= warmup {
                eval.push(start.elapsed());
            }
        }
        println!("{}", eval.report("evaluation (due_jobs)"));
        if due_at_peak == 0 {
            due_at_peak = due.len();
        }
    }

    let mut load = Samples::default();
    for i in 0..warmup + runs.min(20) {
        let start = Instant::now();
        let (r, res) = rt.block_on(scheduler.load(from, to)).expect("load");
        assert_eq!((r.len(), res.len()), (rules.len(), resources.len()));
        if i >= warmup {
            load.push(start.elapsed());
        }
    }
    println!("{}", load.report("load (rules + resources from the catalog)"));

    let mut whole = Samples::default();
    let created = whole.time(|| rt.block_on(scheduler.create_due_jobs())).expect("create_due_jobs");
    assert_eq!(created, due_at_peak);
    println!("{}", whole.report(&format!("create_due_jobs, once (load + evaluation + inserting {created} jobs)")));

    // The usual minute: no rule fires, so no resource is read.
    let (from, to) = (at("2026-02-02T05:01:00Z"), at("2026-02-02T05:02:00Z"));
    clock.set(to);
    let mut idle = Samples::default();
    for i in 0..warmup + runs {
        let mut scheduler = Scheduler::new(svc.clone(), from);
        let start = Instant::now();
        let created = rt.block_on(scheduler.create_due_jobs()).expect("create_due_jobs");
        if i >= warmup {
            idle.push(start.elapsed());
        }
        assert_eq!(created, 0);
    }
    println!("{}", idle.report("create_due_jobs, a minute where nothing fires"));
}
