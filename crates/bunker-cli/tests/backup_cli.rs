//! End to end: `bunker resource …`, `bunker backup …` and `bunker run` on real files,
//! read back through the JSON output the AWS CLI would print.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Home, is_aws_cli_timestamp, keys};

const MGMT: &str = "111111111111";
const MEMBER: &str = "222222222222";

const PLAN: &str = r#"{"BackupPlanName":"Daily","Rules":[{"RuleName":"Nightly","TargetBackupVaultName":"Main",
    "ScheduleExpression":"cron(0 5 ? * * *)","StartWindowMinutes":60,"Lifecycle":{"DeleteAfterDays":35},
    "RecoveryPointTags":{"plan":"daily"}}]}"#;

const SELECTION: &str = r#"{"SelectionName":"tagged","IamRoleArn":"arn:aws:iam::222222222222:role/Backup",
    "ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}]}"#;

/// An organization with the management account and [`MEMBER`].
fn organization(home: &Home) {
    home.ok(&["org", "create-organization", "--management-account-id", MGMT]);
    home.ok(&["org", "create-account", "--account-name", "web", "--email", "web@example.com", "--account-id", MEMBER]);
}

/// `bunker backup ARGS… --account-id MEMBER --region eu-west-1`.
fn member<'a>(group: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![group];
    all.extend_from_slice(args);
    all.extend(["--account-id", MEMBER, "--region", "eu-west-1"]);
    all
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

fn write_tree(root: &Path, day: u32) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("index.html"), format!("<h1>day {day}</h1>")).unwrap();
    std::fs::write(root.join("sub/data.bin"), vec![day as u8; 100_000]).unwrap();
}

fn read_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    ["index.html", "sub/data.bin"].iter().map(|p| ((*p).to_owned(), std::fs::read(root.join(p)).unwrap())).collect()
}

/// Follows `NextToken` through every page of a list; returns the items.
fn all_pages(home: &Home, args: &[&str], key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut a = args.to_vec();
        if let Some(t) = &token {
            a.extend(["--next-token", t.as_str()]);
        }
        let page = home.ok(&a);
        items.extend(page[key].as_array().unwrap().iter().cloned());
        match page.get("NextToken") {
            Some(t) => token = Some(s(t)),
            None => return items,
        }
    }
}

#[test]
fn vaults_plans_jobs_recovery_points_and_restores() {
    let home = Home::new().simulated(&jiff::Timestamp::now().to_string());
    organization(&home);
    let src = home.beside("site");
    write_tree(&src, 1);
    let image = home.beside("disk.img");
    std::fs::write(&image, vec![7u8; 64 * 1024]).unwrap();

    // Vaults.
    let vault = home.ok(&member("backup", &["create-backup-vault", "--backup-vault-name", "Main", "--backup-vault-tags", "env=prod"]));
    assert_eq!(keys(&vault), ["BackupVaultName", "BackupVaultArn", "CreationDate"]);
    assert_eq!(vault["BackupVaultArn"], "arn:aws:backup:eu-west-1:222222222222:backup-vault:Main");
    assert!(is_aws_cli_timestamp(&vault["CreationDate"]), "{vault}");
    let described = home.ok(&member("backup", &["describe-backup-vault", "--backup-vault-name", "Main"]));
    assert_eq!(described["NumberOfRecoveryPoints"], 0);
    let mut table_args = member("backup", &["list-backup-vaults"]);
    table_args.extend(["--output", "table"]);
    let table = String::from_utf8(home.run(&table_args).stdout).unwrap();
    assert!(table.starts_with("BackupVaultList\n+") && table.contains("| Main "), "{table}");
    assert_eq!(home.ok(&["backup", "list-backup-vaults"])["BackupVaultList"], json!([]), "the management account has none");

    // Resources.
    let site = home.ok(&member("resource", &["register", "--resource-name", "site", "--directory", src.to_str().unwrap(), "--tags", "backup=daily,team=web,tmp=1"]));
    let site_arn = s(&site["Resource"]["ResourceArn"]);
    assert_eq!(site_arn, "arn:aws:bunker:eu-west-1:222222222222:directory/site");
    assert_eq!(site["Resource"]["Location"], json!({"Type": "Directory", "Path": src.to_str().unwrap()}));
    let disk = home.ok(&member("resource", &["register", "--resource-name", "disk", "--disk-image", image.to_str().unwrap()]));
    let disk_arn = s(&disk["Resource"]["ResourceArn"]);
    let untagged = home.ok(&["resource", "untag", "--resource-arn", &site_arn, "--tag-key-list", "tmp"]);
    assert_eq!(untagged["Resource"]["Tags"], json!({"backup": "daily", "team": "web"}));
    let listed = home.ok(&member("resource", &["list", "--resource-type", "directory"]));
    assert_eq!(listed["Resources"].as_array().unwrap().len(), 1);
    home.service_error(&member("resource", &["register", "--resource-name", "site", "--directory", "/srv"]), "AlreadyExistsException", "Register");

    // Plans: a bad one names the JSON path and rule, and nothing is stored.
    let bad = PLAN.replace("cron(0 5 ? * * *)", "cron(0 5 * * * *)");
    let err = home.service_error(&member("backup", &["create-backup-plan", "--backup-plan", &bad]), "InvalidParameterValueException", "CreateBackupPlan");
    assert!(err.contains("Rules[0].ScheduleExpression") && err.contains("[invalid-schedule]"), "{err}");
    assert_eq!(home.ok(&member("backup", &["list-backup-plans"]))["BackupPlansList"], json!([]));
    let plan_file = home.path().join("plan.json");
    std::fs::write(&plan_file, PLAN).unwrap();
    let plan = home.ok(&member("backup", &["create-backup-plan", "--backup-plan", &format!("file://{}", plan_file.display())]));
    assert_eq!(keys(&plan), ["BackupPlanId", "BackupPlanArn", "VersionId", "CreationDate"]);
    let plan_id = s(&plan["BackupPlanId"]);
    let got = home.ok(&["backup", "get-backup-plan", "--backup-plan-id", &plan_id]);
    let rule_id = s(&got["BackupPlan"]["Rules"][0]["RuleId"]);
    let updated = home.ok(&["backup", "update-backup-plan", "--backup-plan-id", &plan_id, "--backup-plan", &PLAN.replace("35", "40")]);
    assert_ne!(updated["VersionId"], plan["VersionId"]);
    let got = home.ok(&["backup", "get-backup-plan", "--backup-plan-id", &plan_id]);
    assert_eq!(got["BackupPlan"]["Rules"][0]["RuleId"], rule_id.as_str(), "rules keep their ids by name");
    assert_eq!(got["BackupPlan"]["Rules"][0]["Lifecycle"]["DeleteAfterDays"], 40);
    let old = home.ok(&["backup", "get-backup-plan", "--backup-plan-id", &plan_id, "--version-id", &s(&plan["VersionId"])]);
    assert_eq!(old["BackupPlan"]["Rules"][0]["Lifecycle"]["DeleteAfterDays"], 35);
    let versions = home.ok(&["backup", "list-backup-plan-versions", "--backup-plan-id", &plan_id]);
    assert_eq!(versions["BackupPlanVersionsList"].as_array().unwrap().len(), 2);

    // Selections.
    let sel = home.ok(&["backup", "create-backup-selection", "--backup-plan-id", &plan_id, "--backup-selection", SELECTION]);
    let sel_id = s(&sel["SelectionId"]);
    let got_sel = home.ok(&["backup", "get-backup-selection", "--backup-plan-id", &plan_id, "--selection-id", &sel_id]);
    assert_eq!(got_sel["BackupSelection"]["ListOfTags"][0]["ConditionValue"], "daily");
    assert_eq!(home.ok(&["backup", "list-backup-selections", "--backup-plan-id", &plan_id])["BackupSelectionsList"].as_array().unwrap().len(), 1);

    // An on-demand job runs at once.
    let job = home.ok(&member(
        "backup",
        &["start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &site_arn, "--recovery-point-tags", "ticket=OPS-1", "--lifecycle", "DeleteAfterDays=7"],
    ));
    assert_eq!(job["State"], "COMPLETED", "{job}");
    let rp_arn = s(&job["RecoveryPointArn"]);
    let described = home.ok(&["backup", "describe-backup-job", "--backup-job-id", &s(&job["BackupJobId"])]);
    assert_eq!(described["PercentDone"], "100.0");
    assert!(described["BackupSizeInBytes"].as_i64().unwrap() >= 100_000);
    assert!(is_aws_cli_timestamp(&described["CompletionDate"]) && is_aws_cli_timestamp(&described["StartBy"]), "{described}");
    let rp = home.ok(&member("backup", &["describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp_arn]));
    assert_eq!((rp["Status"].as_str(), rp["StorageClass"].as_str()), (Some("COMPLETED"), Some("WARM")));
    assert!(is_aws_cli_timestamp(&rp["CalculatedLifecycle"]["DeleteAt"]), "{rp}");
    let tags = home.ok(&["backup", "list-tags", "--resource-arn", &rp_arn]);
    assert_eq!(tags["Tags"], json!({"backup": "daily", "team": "web", "ticket": "OPS-1"}));
    home.service_error(&member("backup", &["describe-recovery-point", "--backup-vault-name", "Other", "--recovery-point-arn", &rp_arn]), "ResourceNotFoundException", "DescribeRecoveryPoint");
    home.service_error(&member("backup", &["start-backup-job", "--backup-vault-name", "Nope", "--resource-arn", &site_arn]), "ResourceNotFoundException", "StartBackupJob");

    // Restores: the new resource gets the original's tags, unless told not to.
    write_tree(&src, 2);
    let restored_dir = home.beside("restored");
    let restore = home.ok(&[
        "backup", "start-restore-job", "--recovery-point-arn", &rp_arn,
        "--metadata", &format!("Path={},NewResourceName=site-restored", restored_dir.display()),
    ]);
    assert_eq!(restore["Status"], "COMPLETED", "{restore}");
    write_tree(&home.beside("expected"), 1);
    assert_eq!(read_tree(&restored_dir), read_tree(&home.beside("expected")));
    let created = home.ok(&["resource", "describe", "--resource-arn", &s(&restore["CreatedResourceArn"])]);
    assert_eq!(created["Resource"]["ResourceName"], "site-restored");
    assert_eq!(created["Resource"]["Tags"], json!({"backup": "daily", "team": "web"}));
    let bare = home.ok(&[
        "backup", "start-restore-job", "--recovery-point-arn", &rp_arn, "--no-copy-source-tags-to-restored-resource",
        "--metadata", &format!(r#"{{"Path":"{}","NewResourceName":"bare"}}"#, home.beside("bare").display()),
    ]);
    let bare = home.ok(&["resource", "describe", "--resource-arn", &s(&bare["CreatedResourceArn"])]);
    assert_eq!(bare["Resource"]["Tags"], json!({}));
    let restores = home.ok(&member("backup", &["list-restore-jobs"]));
    assert_eq!(restores["RestoreJobs"].as_array().unwrap().len(), 2);
    let one = home.ok(&["backup", "describe-restore-job", "--restore-job-id", &s(&restore["RestoreJobId"])]);
    assert_eq!(one["Status"], "COMPLETED");

    // Three simulated days: the plan backs up the tagged directories at 05:00 each day (the
    // restored copy carries `backup=daily` too), not the untagged disk.
    let summary = home.ok(&["run", "--fake-clock", "--start", "2027-01-01T00:00:00Z", "--until", "2027-01-04T00:00:00Z"]);
    assert_eq!((summary["JobsCreated"].as_u64(), summary["JobsRun"].as_u64()), (Some(6), Some(6)), "{summary}");
    let by_resource = home.ok(&["backup", "list-recovery-points-by-resource", "--resource-arn", &site_arn]);
    let dates: Vec<String> = by_resource["RecoveryPoints"].as_array().unwrap().iter().map(|r| s(&r["CreationDate"])).collect();
    assert_eq!(dates, ["2027-01-03T05:00:00+00:00", "2027-01-02T05:00:00+00:00", "2027-01-01T05:00:00+00:00"]);
    // The on-demand point (DeleteAfterDays=7) was deleted by lifecycle on the way.
    assert_eq!(summary["LifecycleChanges"], 1);
    home.service_error(&member("backup", &["describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp_arn]), "ResourceNotFoundException", "DescribeRecoveryPoint");
    let scheduled = &by_resource["RecoveryPoints"][0];
    assert_eq!(scheduled["CreatedBy"]["BackupPlanId"], plan_id.as_str());
    assert_eq!(scheduled["CreatedBy"]["BackupRuleId"], rule_id.as_str());
    assert_eq!(home.ok(&["backup", "list-recovery-points-by-resource", "--resource-arn", &disk_arn])["RecoveryPoints"], json!([]));
    let protected = home.ok(&member("backup", &["list-protected-resources"]));
    let protected = protected["Results"].as_array().unwrap();
    assert_eq!(protected.len(), 2, "the directory and its tagged restored copy: {protected:?}");
    let entry = protected.iter().find(|p| p["ResourceArn"] == site_arn.as_str()).unwrap();
    assert_eq!(entry["LastBackupTime"], "2027-01-03T05:00:00+00:00");

    // Listing jobs: pages, filters, scope.
    let pages = all_pages(&home, &member("backup", &["list-backup-jobs", "--max-results", "1"]), "BackupJobs");
    let ids: std::collections::BTreeSet<String> = pages.iter().map(|j| s(&j["BackupJobId"])).collect();
    assert_eq!((pages.len(), ids.len()), (7, 7), "every job once");
    let created: Vec<String> = pages.iter().map(|j| s(&j["CreationDate"])).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");
    let after = home.ok(&member("backup", &["list-backup-jobs", "--by-created-after", "2027-01-01T00:00:00Z", "--by-state", "COMPLETED", "--by-resource-arn", &site_arn]));
    assert_eq!(after["BackupJobs"].as_array().unwrap().len(), 3);
    let none = home.ok(&member("backup", &["list-backup-jobs", "--by-resource-arn", &disk_arn]));
    assert_eq!(none["BackupJobs"], json!([]));
    assert_eq!(home.ok(&["backup", "list-backup-jobs"])["BackupJobs"], json!([]), "the management account's own jobs");
    assert_eq!(home.ok(&["backup", "list-backup-jobs", "--by-account-id", "ANY"])["BackupJobs"].as_array().unwrap().len(), 7);
    let vault_page = all_pages(&home, &member("backup", &["list-recovery-points-by-backup-vault", "--backup-vault-name", "Main", "--max-results", "3"]), "RecoveryPoints");
    assert_eq!(vault_page.len(), 6);

    // A vault with recovery points cannot be deleted.
    home.service_error(&member("backup", &["delete-backup-vault", "--backup-vault-name", "Main"]), "InvalidRequestException", "DeleteBackupVault");
}

#[test]
fn stop_a_queued_job_and_run_the_service_until_stopped() {
    let home = Home::new();
    organization(&home);
    let src = home.beside("site");
    write_tree(&src, 1);
    home.ok(&member("backup", &["create-backup-vault", "--backup-vault-name", "Main"]));
    let arn = s(&home.ok(&member("resource", &["register", "--resource-name", "site", "--directory", src.to_str().unwrap()]))["Resource"]["ResourceArn"]);

    let queued = home.ok(&member("backup", &["start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &arn, "--no-wait"]));
    assert_eq!(queued["State"], "CREATED");
    assert_eq!(home.ok(&["backup", "stop-backup-job", "--backup-job-id", &s(&queued["BackupJobId"])]), Value::Null);
    let stopped = home.ok(&["backup", "describe-backup-job", "--backup-job-id", &s(&queued["BackupJobId"])]);
    assert_eq!(stopped["State"], "ABORTED");
    home.service_error(&["backup", "stop-backup-job", "--backup-job-id", &s(&queued["BackupJobId"])], "InvalidRequestException", "StopBackupJob");
    home.service_error(&["backup", "stop-backup-job", "--backup-job-id", "NOPE"], "ResourceNotFoundException", "StopBackupJob");

    // `bunker run` picks up a queued job, and stops cleanly on SIGTERM.
    let waiting = home.ok(&member("backup", &["start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &arn, "--no-wait"]));
    let id = s(&waiting["BackupJobId"]);
    let mut daemon = home.command().args(["run", "--poll-seconds", "1"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while home.ok(&["backup", "describe-backup-job", "--backup-job-id", &id])["State"] != "COMPLETED" {
        assert!(Instant::now() < deadline, "the service did not run the queued job");
        std::thread::sleep(Duration::from_millis(100));
    }
    let term = std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "bunker run did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = daemon.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["JobsRun"], 1, "{summary}");
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("backup job ended") && logs.contains(&id), "job outcomes are logged: {logs}");
}

#[test]
fn scope_and_parameter_errors() {
    let home = Home::new();
    // No organization: the account must be given.
    let out = home.run(&["backup", "list-backup-vaults"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--account-id"));
    organization(&home);
    home.service_error(&["backup", "list-backup-vaults", "--account-id", "999999999999"], "AccountNotFoundException", "ListBackupVaults");
    let out = home.run(&member("backup", &["create-backup-vault", "--backup-vault-name", "Main", "--backup-vault-tags", "novalue"]));
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Error parsing parameter '--backup-vault-tags'"));
    let out = home.run(&member("backup", &["create-backup-plan", "--backup-plan", "file:///nonexistent/plan.json"]));
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unable to load paramfile"));
    assert_eq!(home.ok(&member("backup", &["list-backup-vaults"]))["BackupVaultList"], json!([]), "nothing was created");
    // --help everywhere.
    for args in [&["backup", "--help"][..], &["backup", "start-restore-job", "--help"], &["resource", "register", "--help"], &["run", "--help"]] {
        assert!(home.run(args).status.success(), "{args:?}");
    }
}

#[test]
fn copies_into_a_central_vault_and_lifecycle_changes() {
    const CENTRAL: &str = "333333333333";
    let home = Home::new();
    organization(&home);
    home.ok(&["org", "create-account", "--account-name", "bunker", "--email", "bunker@example.com", "--account-id", CENTRAL]);
    let src = home.beside("site");
    write_tree(&src, 1);
    home.ok(&member("backup", &["create-backup-vault", "--backup-vault-name", "Main"]));
    let central = home.ok(&["backup", "create-backup-vault", "--backup-vault-name", "central", "--account-id", CENTRAL, "--region", "eu-central-1"]);
    let central_arn = s(&central["BackupVaultArn"]);
    let org_id = s(&home.ok(&["org", "describe-organization"])["Organization"]["Id"]);
    let open_to_org = bunker_core::backup::organization_copy_policy(&org_id);
    home.ok(&["backup", "put-backup-vault-access-policy", "--backup-vault-name", "central", "--account-id", CENTRAL, "--region", "eu-central-1", "--policy", &open_to_org]);
    let arn = s(&home.ok(&member("resource", &["register", "--resource-name", "site", "--directory", src.to_str().unwrap(), "--tags", "backup=daily"]))["Resource"]["ResourceArn"]);
    let rp = s(&home.ok(&member("backup", &["start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &arn]))["RecoveryPointArn"]);

    // An on-demand copy into the central account's vault in another Region.
    let copy = home.ok(&member(
        "backup",
        &["start-copy-job", "--recovery-point-arn", &rp, "--source-backup-vault-name", "Main", "--destination-backup-vault-arn", &central_arn, "--lifecycle", "DeleteAfterDays=366"],
    ));
    assert_eq!(copy["State"], "COMPLETED", "{copy}");
    let described = home.ok(&["backup", "describe-copy-job", "--copy-job-id", &s(&copy["CopyJobId"])]);
    assert_eq!(described["CopyJob"]["SourceRecoveryPointArn"], rp.as_str());
    assert_eq!(home.ok(&member("backup", &["list-copy-jobs"]))["CopyJobs"].as_array().unwrap().len(), 1);
    let in_central = home.ok(&["backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", "central", "--account-id", CENTRAL, "--region", "eu-central-1"]);
    let copied = &in_central["RecoveryPoints"][0];
    assert_eq!(copied["SourceBackupVaultArn"], "arn:aws:backup:eu-west-1:222222222222:backup-vault:Main", "{copied}");
    assert!(is_aws_cli_timestamp(&copied["CalculatedLifecycle"]["DeleteAt"]), "{copied}");

    // The copy restores; the source's lifecycle can change, and the source can be deleted.
    let restored = home.beside("from-central");
    let job = home.ok(&["backup", "start-restore-job", "--recovery-point-arn", &s(&copied["RecoveryPointArn"]), "--metadata", &format!("Path={}", restored.display())]);
    assert_eq!(job["Status"], "COMPLETED", "{job}");
    assert_eq!(read_tree(&restored), read_tree(&src));
    let updated = home.ok(&member("backup", &["update-recovery-point-lifecycle", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--lifecycle", "DeleteAfterDays=30"]));
    assert_eq!(updated["Lifecycle"]["DeleteAfterDays"], 30, "{updated}");
    let err = home.service_error(
        &member("backup", &["update-recovery-point-lifecycle", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--lifecycle", "MoveToColdStorageAfterDays=30,DeleteAfterDays=60"]),
        "InvalidParameterValueException",
        "UpdateRecoveryPointLifecycle",
    );
    assert!(err.contains("90"), "{err}");
    home.ok(&member("backup", &["delete-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp]));
    home.service_error(&member("backup", &["describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp]), "ResourceNotFoundException", "DescribeRecoveryPoint");
    let again = home.beside("again");
    let job = home.ok(&["backup", "start-restore-job", "--recovery-point-arn", &s(&copied["RecoveryPointArn"]), "--metadata", &format!("Path={}", again.display())]);
    assert_eq!(job["Status"], "COMPLETED", "the copy outlives its source: {job}");
}

#[test]
fn a_region_on_s3_roots_warm_and_cold() {
    let Some(moto) = bunker_testkit::moto::Moto::start() else {
        bunker_testkit::skip_or_fail("BUNKER_REQUIRE_S3", "S3 Region roots");
        return;
    };
    moto.create_bucket("bunker-sites");
    let home = Home::new().simulated(&jiff::Timestamp::now().to_string())
        .with_env("AWS_ENDPOINT_URL", &moto.endpoint())
        .with_env("AWS_ACCESS_KEY_ID", bunker_testkit::moto::ACCESS_KEY_ID)
        .with_env("AWS_SECRET_ACCESS_KEY", bunker_testkit::moto::SECRET_ACCESS_KEY);
    std::fs::write(home.path().join("regions.json"), r#"{"eu-west-1": {"Warm": "s3://bunker-sites/warm", "Cold": "s3://bunker-sites/cold"}}"#).unwrap();
    organization(&home);
    let src = home.beside("site");
    write_tree(&src, 1);
    home.ok(&member("backup", &["create-backup-vault", "--backup-vault-name", "Main"]));
    let described = home.ok(&member("backup", &["describe-backup-vault", "--backup-vault-name", "Main"]));
    assert_eq!(described["Location"], "s3://bunker-sites/warm/222222222222/Main");
    let arn = s(&home.ok(&member("resource", &["register", "--resource-name", "site", "--directory", src.to_str().unwrap()]))["Resource"]["ResourceArn"]);
    let job = home.ok(&member("backup", &["start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &arn, "--lifecycle", "MoveToColdStorageAfterDays=1,DeleteAfterDays=91"]));
    assert_eq!(job["State"], "COMPLETED", "{job}");
    let rp = s(&job["RecoveryPointArn"]);
    let (status, listing) = moto.request("GET", "/bunker-sites?list-type=2&prefix=warm/222222222222/Main/data/").unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&listing).contains("<Key>warm/222222222222/Main/data/"), "packs are in the bucket");

    // Two simulated days later the point is in the cold tier, on its own S3 root, and restores.
    let start = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(47)).to_string();
    let until = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(49)).to_string();
    let summary = home.ok(&["run", "--fake-clock", "--start", &start, "--until", &until]);
    assert_eq!(summary["LifecycleChanges"], 1, "{summary}");
    let cold = home.ok(&member("backup", &["describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp]));
    assert_eq!(cold["StorageClass"], "COLD", "{cold}");
    let (_, listing) = moto.request("GET", "/bunker-sites?list-type=2&prefix=cold/222222222222/Main/snapshots/").unwrap();
    assert!(String::from_utf8_lossy(&listing).contains("<Key>cold/222222222222/Main/snapshots/"), "the cold repository holds the snapshot");
    let target = home.beside("from-cold");
    let restore = home.ok(&["backup", "start-restore-job", "--recovery-point-arn", &rp, "--metadata", &format!("Path={}", target.display())]);
    assert_eq!(restore["Status"], "COMPLETED", "{restore}");
    assert_eq!(read_tree(&target), read_tree(&src));
}
