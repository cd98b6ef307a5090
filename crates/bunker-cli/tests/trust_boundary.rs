//! The ways around the service's boundary that were open, each tried from outside with the
//! real binary and now refused clearly, with nothing changed: another account's vault
//! through `bunker vault`, deleting in a locked vault with the engine directly, a faked
//! clock deciding a lock, `--region` with path characters, `--by-account-id` from a
//! member, oversized requests, passwords in the audit trail.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::Home;

const MANAGEMENT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const OTHER: &str = "333333333333";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn with_key(home: &Home, key: &(String, String), args: &[&str]) -> Output {
    home.command().env("BUNKER_ACCESS_KEY_ID", &key.0).env("BUNKER_SECRET_ACCESS_KEY", &key.1).args(args).output().expect("bunker runs")
}

/// An organization with a member holding a locked vault with one recovery point of a real
/// directory; another member's user with no policies. Returns that user's key, the
/// recovery point ARN and the vault's directory.
fn world(home: &Home) -> ((String, String), String, std::path::PathBuf) {
    home.ok(&["org", "create-organization", "--management-account-id", MANAGEMENT]);
    for (name, id) in [("member", MEMBER), ("other", OTHER)] {
        home.ok(&["org", "create-account", "--account-name", name, "--email", &format!("{name}@example.com"), "--account-id", id]);
    }
    let data = home.path().parent().unwrap().join(format!("{}-data", home.path().file_name().unwrap().to_string_lossy()));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("ledger.txt"), "the only copy").unwrap();
    let m = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--account-id", MEMBER]);
        home.ok(&all)
    };
    m(&["backup", "create-backup-vault", "--backup-vault-name", "Main"]);
    let arn = s(&m(&["resource", "register", "--resource-name", "ledger", "--directory", data.to_str().unwrap()])["Resource"]["ResourceArn"]);
    let job = m(&["backup", "start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &arn]);
    assert_eq!(job["State"], "COMPLETED", "{job}");
    m(&["backup", "put-backup-vault-lock-configuration", "--backup-vault-name", "Main", "--min-retention-days", "30", "--changeable-for-days", "3"]);
    home.ok(&["iam", "create-user", "--user-name", "nobody", "--account-id", OTHER]);
    let key = home.ok(&["iam", "create-access-key", "--user-name", "nobody", "--account-id", OTHER]);
    let key = (s(&key["AccessKey"]["AccessKeyId"]), s(&key["AccessKey"]["SecretAccessKey"]));
    let described = m(&["backup", "describe-backup-vault", "--backup-vault-name", "Main"]);
    (key, s(&job["RecoveryPointArn"]), described["Location"].as_str().unwrap().into())
}

fn events(home: &Home, name: &str) -> Vec<Value> {
    let out = home.ok(&["audit", "lookup-events", "--lookup-attributes", &format!("AttributeKey=EventName,AttributeValue={name}")]);
    out["Events"].as_array().unwrap().iter().map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap()).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn snapshot_count(home: &Home, vault: &Path) -> usize {
    let out = home.ok(&["vault", "-r", vault.to_str().unwrap(), "snapshots"]);
    out.as_array().map_or(0, Vec::len)
}

#[test]
fn the_engine_reads_a_service_vault_only_after_authorization_and_never_changes_it() {
    let home = Home::new();
    let (nobody, rp, vault) = world(&home);
    let repo = vault.to_str().unwrap();

    // Another account's user with no policies: refused and audited, with or without the key ARN.
    for extra in [vec![], vec!["--kms-key-arn", "arn:aws:kms:us-east-1:222222222222:alias/aws/backup"]] {
        let mut args = vec!["vault", "-r", repo, "snapshots"];
        args.extend(extra);
        let out = with_key(&home, &nobody, &args);
        assert!(!out.status.success(), "listed another account's vault");
        assert!(stderr(&out).contains("AccessDenied"), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let denied = events(&home, "InspectBackupVault");
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(denied.iter().all(|e| e["userIdentity"]["userName"] == "nobody" && e["errorCode"].as_str().is_some_and(|c| c.contains("AccessDenied"))));

    // The vault's own account reads it (recorded), and every way of changing it is refused.
    assert_eq!(snapshot_count(&home, &vault), 1);
    let id = home.ok(&["vault", "-r", repo, "snapshots"])[0]["id"].as_str().unwrap().to_owned();
    for args in [
        vec!["forget", id.as_str(), "--prune"],
        vec!["prune"],
        vec!["unlock", "--remove-all"],
        vec!["backup", "/etc/hostname"],
        vec!["restore", "latest", "--target", "/tmp/x"],
    ] {
        let mut all = vec!["vault", "-r", repo];
        all.extend(args.iter().copied());
        let out = home.run(&all);
        assert!(!out.status.success(), "{args:?} changed a service vault");
        assert!(stderr(&out).contains("InvalidRequestException") && stderr(&out).contains("only through the service"), "{}", stderr(&out));
    }
    // Nothing changed: the point is still there, in the engine and in the catalog.
    assert_eq!(snapshot_count(&home, &vault), 1);
    let described = home.ok(&["backup", "describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--account-id", MEMBER]);
    assert_eq!(described["Status"], "COMPLETED");
    let refused = events(&home, "InspectBackupVault");
    assert_eq!(refused.iter().filter(|e| e["errorCode"] == "InvalidRequestException").count(), 5);
    // Elsewhere in the home (not a vault) nothing is opened either.
    let out = home.run(&["vault", "-r", home.path().join("regions").to_str().unwrap(), "snapshots"]);
    assert!(stderr(&out).contains("inside the service's storage"), "{}", stderr(&out));
    // A standalone repository is the engine's own business.
    let standalone = home.path().parent().unwrap().join(format!("{}-standalone", home.path().file_name().unwrap().to_string_lossy()));
    let out = home.command().env("BUNKER_VAULT_PASSWORD", "pw").args(["vault", "-r", standalone.to_str().unwrap(), "init"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn simulated_time_never_decides_a_lock_in_a_real_home() {
    let home = Home::new();
    let (_, rp, _) = world(&home);
    let delete = ["backup", "delete-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--account-id", MEMBER];
    // Ten years later, by the caller's say-so: refused before anything is looked at.
    let out = home.command().env("BUNKER_FAKE_NOW", "2036-01-01T00:00:00Z").args(delete).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("simulated time is refused: this home keeps real time"), "{}", stderr(&out));
    let out = home.run(&["run", "--fake-clock", "--start", "2036-01-01T00:00:00Z", "--until", "2036-01-02T00:00:00Z"]);
    assert!(stderr(&out).contains("keeps real time"), "{}", stderr(&out));
    // The lock still holds on the real clock, and the point is there.
    home.service_error(&delete, "InvalidRequestException", "DeleteRecoveryPoint");
    let described = home.ok(&["backup", "describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--account-id", MEMBER]);
    assert_eq!(described["Status"], "COMPLETED");

    // A home made before the mode was recorded keeps real time too.
    std::fs::remove_file(home.path().join("clock.json")).unwrap();
    let out = home.command().env("BUNKER_FAKE_NOW", "2036-01-01T00:00:00Z").args(delete).output().unwrap();
    assert!(stderr(&out).contains("keeps real time"), "{}", stderr(&out));
}

#[test]
fn regions_with_path_characters_are_refused() {
    let home = Home::new();
    home.ok(&["org", "create-organization", "--management-account-id", MANAGEMENT]);
    for region in ["../../x", "eu-west-1/../../y", "/abs", "EU-WEST-1", ""] {
        let out = home.run(&["backup", "create-backup-vault", "--backup-vault-name", "V", "--region", region]);
        assert!(!out.status.success(), "{region}");
        assert!(stderr(&out).contains("is not a Region name"), "{region}: {}", stderr(&out));
    }
    // Nothing was made outside the Regions' directories.
    let made: Vec<String> = std::fs::read_dir(home.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!made.iter().any(|n| n == "x" || n == "y"), "{made:?}");
    assert!(!home.path().parent().unwrap().join("x").exists());
    assert_eq!(home.ok(&["backup", "list-backup-vaults"])["BackupVaultList"], serde_json::json!([]));
}

#[test]
fn only_the_management_account_or_a_delegated_administrator_lists_other_accounts_jobs() {
    let home = Home::new();
    world(&home);
    for by in ["ANY", "*", MANAGEMENT] {
        for op in ["list-backup-jobs", "list-copy-jobs", "list-restore-jobs"] {
            let operation = op.split('-').map(|w| { let mut c = w.chars(); c.next().unwrap().to_uppercase().chain(c).collect::<String>() }).collect::<String>();
            home.service_error(&["backup", op, "--by-account-id", by, "--account-id", OTHER], "AccessDeniedException", &operation);
        }
    }
    // The member's own jobs, and the management account's view of everyone's.
    home.ok(&["backup", "list-backup-jobs", "--by-account-id", OTHER, "--account-id", OTHER]);
    let all = home.ok(&["backup", "list-backup-jobs", "--by-account-id", "ANY"]);
    assert_eq!(all["BackupJobs"].as_array().unwrap().len(), 1);
    // A delegated administrator for backup may, too.
    home.ok(&["org", "register-delegated-administrator", "--account-id", OTHER, "--service-principal", "backup.amazonaws.com"]);
    let delegated = home.ok(&["backup", "list-backup-jobs", "--by-account-id", "ANY", "--account-id", OTHER]);
    assert_eq!(delegated["BackupJobs"].as_array().unwrap().len(), 1);
}

#[test]
fn oversized_requests_and_passwords_in_uris_never_reach_the_service_or_the_trail() {
    let home = Home::new();
    home.ok(&["org", "create-organization", "--management-account-id", MANAGEMENT]);
    let big = home.path().parent().unwrap().join(format!("{}-big.json", home.path().file_name().unwrap().to_string_lossy()));
    let statement = r#"{"Effect":"Allow","Action":"backup:ListBackupVaults","Resource":"*"},"#;
    let body = format!(r#"{{"Version":"2012-10-17","Statement":[{}{}]}}"#, statement.repeat(10 * 1024 * 1024 / statement.len()), statement.trim_end_matches(','));
    std::fs::write(&big, body).unwrap();
    home.ok(&["iam", "create-user", "--user-name", "u"]);
    let out = home.run(&["iam", "put-user-policy", "--user-name", "u", "--policy-name", "big", "--policy-document", &format!("file://{}", big.display())]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bytes; at most"), "{}", stderr(&out));
    assert_eq!(home.ok(&["iam", "list-user-policies", "--user-name", "u"])["PolicyNames"], serde_json::json!([]));
    // Under the request limit but over IAM's 2,048 characters for a user's inline policies.
    let medium = format!(r#"{{"Version":"2012-10-17","Statement":[{}{}]}}"#, statement.repeat(30), statement.trim_end_matches(','));
    let err = home.service_error(&["iam", "put-user-policy", "--user-name", "u", "--policy-name", "medium", "--policy-document", &medium], "LimitExceededException", "PutUserPolicy");
    assert!(err.contains("2048") || err.contains("2,048"), "{err}");
    assert_eq!(home.ok(&["iam", "list-user-policies", "--user-name", "u"])["PolicyNames"], serde_json::json!([]));
    // A plan with 60,000 rules (AWS allows 10 per plan).
    let rule = r#"{"RuleName":"r0","TargetBackupVaultName":"Main","ScheduleExpression":"cron(0 5 ? * * *)"},"#;
    let rules: String = (0..60_000).map(|i| rule.replace("r0", &format!("r{i}"))).collect();
    let plan = home.path().parent().unwrap().join(format!("{}-plan.json", home.path().file_name().unwrap().to_string_lossy()));
    std::fs::write(&plan, format!(r#"{{"BackupPlanName":"huge","Rules":[{}]}}"#, rules.trim_end_matches(','))).unwrap();
    let out = home.run(&["backup", "create-backup-plan", "--backup-plan", &format!("file://{}", plan.display())]);
    assert!(!out.status.success(), "a plan with 60,000 rules was accepted");
    let small = format!(r#"{{"BackupPlanName":"eleven","Rules":[{}]}}"#, (0..11).map(|i| rule.replace("r0", &format!("r{i}"))).collect::<String>().trim_end_matches(','));
    home.service_error(&["backup", "create-backup-plan", "--backup-plan", &small], "LimitExceededException", "CreateBackupPlan");
    assert_eq!(home.ok(&["backup", "list-backup-plans"])["BackupPlansList"], serde_json::json!([]));

    // A connection string's password is hidden in the audit trail.
    let url = "postgresql://backup:Sup3rSecret@127.0.0.1:1/crm";
    let registered = home.ok(&["resource", "register", "--resource-name", "crm", "--postgresql", url]);
    let arn = s(&registered["Resource"]["ResourceArn"]);
    let described = home.ok(&["resource", "describe", "--resource-arn", &arn]);
    for shown in [&registered, &described, &home.ok(&["resource", "list"])] {
        let text = shown.to_string();
        assert!(!text.contains("Sup3rSecret") && text.contains("backup:****@127.0.0.1:1/crm"), "{text}");
    }
    // Not in clear anywhere in the home's files either.
    for entry in walk(home.path()) {
        if entry.is_file() {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(!bytes.windows(11).any(|w| w == b"Sup3rSecret"), "{} holds the password", entry.display());
        }
    }
    let registered = events(&home, "Register");
    assert!(!registered.is_empty());
    let text = serde_json::to_string(&registered).unwrap();
    assert!(!text.contains("Sup3rSecret"), "{text}");
    assert!(text.contains("postgresql://backup:****@127.0.0.1:1/crm"), "{text}");
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() {
            let children: Vec<_> = std::fs::read_dir(&out[i]).unwrap().map(|e| e.unwrap().path()).collect();
            out.extend(children);
        }
        i += 1;
    }
    out
}

#[test]
fn the_home_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    world(&home);
    let entries = walk(home.path());
    assert!(entries.len() > 15, "{entries:?}");
    for entry in entries {
        let mode = std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777;
        let wanted = if entry.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, wanted, "{} is {mode:o}", entry.display());
    }
}

/// Runs `sql` on the home's catalog, as someone with the home's files would.
fn tamper(home: &Home, sql: &str) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(home.path().join("catalog.db")).connect().await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
}

#[test]
fn an_operation_whose_audit_record_cannot_be_written_is_refused_and_changes_nothing() {
    let home = Home::new();
    let (_, rp, _) = world(&home);
    let vaults_before = home.ok(&["backup", "list-backup-vaults", "--account-id", MEMBER]);
    tamper(&home, "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk quota'); END;");
    // A change is refused before it is made.
    let err = home.service_error(&["backup", "create-backup-vault", "--backup-vault-name", "Second", "--account-id", MEMBER], "ServiceUnavailableException", "CreateBackupVault");
    assert!(err.contains("the audit trail cannot be written, so nothing was done"), "{err}");
    home.service_error(
        &["backup", "delete-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--account-id", MEMBER],
        "ServiceUnavailableException",
        "DeleteRecoveryPoint",
    );
    // Nor does a read answer without its record.
    home.service_error(&["backup", "list-backup-vaults", "--account-id", MEMBER], "ServiceUnavailableException", "ListBackupVaults");
    tamper(&home, "DROP TRIGGER no_audit;");
    assert_eq!(home.ok(&["backup", "list-backup-vaults", "--account-id", MEMBER]), vaults_before, "nothing changed");
    let described = home.ok(&["backup", "describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &rp, "--account-id", MEMBER]);
    assert_eq!(described["Status"], "COMPLETED");
    let verify = home.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

#[test]
fn a_member_looks_up_only_its_own_accounts_events() {
    let home = Home::new();
    world(&home);
    // The management account's own call, and the member's.
    home.ok(&["org", "list-accounts"]);
    let as_member = home.command().env("BUNKER_PRINCIPAL", OTHER).args(["audit", "lookup-events"]).output().unwrap();
    assert!(as_member.status.success(), "{}", stderr(&as_member));
    let events: Value = serde_json::from_slice(&as_member.stdout).unwrap();
    let records: Vec<Value> = events["Events"].as_array().unwrap().iter().map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap()).collect();
    assert!(!records.is_empty(), "the member's own calls are there");
    for r in &records {
        assert!(r["recipientAccountId"] == OTHER || r["userIdentity"]["accountId"] == OTHER, "{r}");
    }
    assert!(!records.iter().any(|r| r["eventName"] == "ListAccounts" || r["eventName"] == "CreateBackupVault"), "another account's calls leaked");
    // The management account sees the organization's.
    let all = home.ok(&["audit", "lookup-events", "--max-results", "50"]);
    let names: Vec<String> = all["Events"].as_array().unwrap().iter().map(|e| s(&e["EventName"])).collect();
    assert!(names.contains(&"CreateBackupVault".to_owned()) && names.contains(&"ListAccounts".to_owned()), "{names:?}");
}

#[test]
fn the_local_operator_is_recorded_as_chosen() {
    let home = Home::new();
    home.ok(&["org", "create-organization", "--management-account-id", MANAGEMENT]);
    home.ok(&["org", "create-account", "--account-name", "member", "--email", "m@example.com", "--account-id", MEMBER]);
    home.ok(&["backup", "list-backup-vaults"]);
    home.ok(&["backup", "list-backup-vaults", "--account-id", MEMBER]);
    home.command().env("BUNKER_PRINCIPAL", MEMBER).args(["backup", "list-backup-vaults"]).output().unwrap();
    let agents: Vec<String> = events(&home, "ListBackupVaults").iter().map(|e| s(&e["userAgent"])).collect();
    assert_eq!(
        agents,
        ["bunker-cli/local:BUNKER_PRINCIPAL", "bunker-cli/local:named-account", "bunker-cli/local:management-account-default"],
        "newest first"
    );
}

#[test]
fn nothing_is_registered_or_restored_in_the_home_or_outside_an_accounts_allowed_roots() {
    let home = Home::new();
    let (_, rp, _) = world(&home);
    let data = home.path().parent().unwrap().join(format!("{}-data", home.path().file_name().unwrap().to_string_lossy()));
    let outside = home.path().parent().unwrap().join(format!("{}-elsewhere", home.path().file_name().unwrap().to_string_lossy()));
    std::fs::create_dir_all(&outside).unwrap();
    let home_dir = home.path().to_str().unwrap().to_owned();
    let member = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--account-id", MEMBER]);
        home.run(&all)
    };
    let resources_before = home.ok(&["resource", "list", "--account-id", MEMBER]);

    // The home itself, its files, a way into it through `..`: refused for everyone.
    let sneaky = format!("{}/../{}", data.display(), home.path().file_name().unwrap().to_string_lossy());
    for (flag, path) in [
        ("--directory", home_dir.clone()),
        ("--sqlite", format!("{home_dir}/catalog.db")),
        ("--disk-image", format!("{home_dir}/master.key")),
        ("--directory", sneaky),
    ] {
        let out = member(&["resource", "register", "--resource-name", "grab", flag, &path]);
        assert_eq!(out.status.code(), Some(254), "{flag} {path}: {}", stderr(&out));
    }
    let restore_into = |target: &Path| {
        member(&["backup", "start-restore-job", "--recovery-point-arn", &rp, "--metadata", &format!("Path={}", target.display())])
    };
    let out = restore_into(&home.path().join("restored"));
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(!home.path().join("restored").exists());

    // A member cannot set its own roots; the management account can.
    let out = member(&["resource", "put-allowed-roots", "--target-account-id", MEMBER, "--allowed-roots", data.to_str().unwrap()]);
    assert!(stderr(&out).contains("AccessDenied"), "{}", stderr(&out));
    let roots = home.ok(&["resource", "put-allowed-roots", "--target-account-id", MEMBER, "--allowed-roots", data.to_str().unwrap()]);
    assert_eq!(roots["AllowedRoots"][0], data.to_str().unwrap(), "{roots}");
    assert_eq!(home.ok(&["resource", "get-allowed-roots", "--target-account-id", MEMBER])["AccountId"], MEMBER);

    // Now only under them.
    let out = member(&["resource", "register", "--resource-name", "elsewhere", "--directory", outside.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(stderr(&out).contains(data.to_str().unwrap()), "the refusal names the roots: {}", stderr(&out));
    let out = restore_into(&outside.join("restored"));
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(!outside.join("restored").exists());
    assert_eq!(home.ok(&["resource", "list", "--account-id", MEMBER]), resources_before, "nothing was registered");
    // Inside them, as before.
    let out = restore_into(&data.join("restored"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(data.join("restored/ledger.txt")).unwrap(), "the only copy");
}

#[test]
fn a_home_that_lost_its_catalog_is_refused_not_started_anew() {
    let home = Home::new();
    let (_, _, vault) = world(&home);
    let aside = home.path().join("catalog.db.aside");
    std::fs::rename(home.path().join("catalog.db"), &aside).unwrap();
    let repo = vault.to_str().unwrap();
    for args in [
        vec!["backup", "list-backup-vaults"],
        vec!["org", "describe-organization"],
        vec!["run", "--until", "2020-01-01T00:00:00Z"],
        vec!["vault", "-r", repo, "forget", "latest"],
        vec!["vault", "-r", repo, "snapshots"],
    ] {
        let out = home.run(&args);
        assert!(!out.status.success(), "{args:?} started an empty catalog");
        assert!(stderr(&out).contains("but no catalog.db: its catalog was lost or moved"), "{args:?}: {}", stderr(&out));
        assert!(!home.path().join("catalog.db").exists(), "{args:?} made a new catalog");
    }
    // Put back, everything is there again.
    std::fs::rename(&aside, home.path().join("catalog.db")).unwrap();
    assert_eq!(snapshot_count(&home, &vault), 1);
    assert_eq!(home.ok(&["backup", "list-backup-vaults", "--account-id", MEMBER])["BackupVaultList"].as_array().unwrap().len(), 1);
}
