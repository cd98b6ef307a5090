//! The authorization matrix: every principal kind × every destructive action, on a
//! compliance-locked central vault and on an unlocked member vault, through the real
//! `bunker` binary. The expected decisions live beside this file, in
//! `authorization/expectations.md`; each cell runs on its own copy of one organization, so
//! an allowed deletion does not change what the next cell sees. Denied cells must also
//! leave the catalog as it was, and every denial must be in the audit trail.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const M: &str = "111111111111";
const A: &str = "222222222222";
const C: &str = "333333333333";
const D: &str = "444444444444";
const X: &str = "555555555555";
const REGION: &str = "us-east-1";
/// When the organization is built; the cells run 10 days later (the lock's 3-day grace is over).
const T0: &str = "2026-03-01T00:00:00Z";
const T1: &str = "2026-03-11T00:00:00Z";

/// The reference SCP: no deleting of backups, retention, access policies, locks or keys,
/// and no changing the backup role — except by a `BackupAdmin` role.
const PROTECT_BACKUPS: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"DenyBackupDestruction","Effect":"Deny",
  "Action":["backup:DeleteRecoveryPoint","backup:UpdateRecoveryPointLifecycle","backup:DeleteBackupVault",
            "backup:PutBackupVaultAccessPolicy","backup:DeleteBackupVaultAccessPolicy",
            "backup:PutBackupVaultLockConfiguration","backup:DeleteBackupVaultLockConfiguration",
            "kms:ScheduleKeyDeletion","kms:DisableKey","kms:PutKeyPolicy"],
  "Resource":"*",
  "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/BackupAdmin"}}},
 {"Sid":"ProtectBackupRole","Effect":"Deny",
  "Action":["iam:DeleteRole","iam:PutRolePolicy","iam:AttachRolePolicy","iam:DetachRolePolicy","iam:DeleteRolePolicy","iam:UpdateAssumeRolePolicy"],
  "Resource":"arn:aws:iam::*:role/service-role/AWSBackupDefaultServiceRole",
  "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/BackupAdmin"}}}]}"#;

/// The reference central vault policy: the organization may copy in.
fn central_vault_policy(org_id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowOrganizationToCopyIn","Effect":"Allow","Principal":"*",
           "Action":"backup:CopyIntoBackupVault","Resource":"*",
           "Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{org_id}"}}}}}}]}}"#
    )
}

/// Break-glass may only be assumed with MFA.
fn break_glass_trust(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},
           "Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
    )
}

/// Runs the binary on `home` at `now` with `env`.
fn bunker(home: &Path, now: &str, env: &[(String, String)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bunker"));
    c.arg("--home").arg(home);
    for var in [
        "BUNKER_HOME",
        "RUST_LOG",
        "BUNKER_ACCOUNT_ID",
        "BUNKER_PRINCIPAL",
        "BUNKER_MASTER_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "BUNKER_ACCESS_KEY_ID",
        "BUNKER_SECRET_ACCESS_KEY",
        "BUNKER_SESSION_TOKEN",
    ] {
        c.env_remove(var);
    }
    c.env("BUNKER_FAKE_NOW", now);
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c.args(args).output().expect("bunker runs")
}

fn ok(home: &Path, now: &str, env: &[(String, String)], args: &[&str]) -> Value {
    let out = bunker(home, now, env, args);
    assert!(out.status.success(), "bunker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    if stdout.trim().is_empty() { Value::Null } else { serde_json::from_str(&stdout).unwrap() }
}

fn root_of(account: &str) -> Vec<(String, String)> {
    vec![("BUNKER_PRINCIPAL".into(), account.into())]
}

fn keys_env(access_key: &Value) -> Vec<(String, String)> {
    let mut env = vec![
        ("BUNKER_ACCESS_KEY_ID".to_owned(), access_key["AccessKeyId"].as_str().unwrap().to_owned()),
        ("BUNKER_SECRET_ACCESS_KEY".to_owned(), access_key["SecretAccessKey"].as_str().unwrap().to_owned()),
    ];
    if let Some(token) = access_key["SessionToken"].as_str() {
        env.push(("BUNKER_SESSION_TOKEN".to_owned(), token.to_owned()));
    }
    env
}

/// An admin user with access keys (and, when `mfa`, an MFA device and a `BackupAdmin` role
/// it may assume with MFA). Returns its credentials and the device's seed.
/// Environment variables: the credentials a principal's commands run with.
type Env = Vec<(String, String)>;

fn admin(home: &Path, account: &str, policy: &str, name: &str, mfa: bool) -> (Env, Option<(String, String)>) {
    let root = root_of(account);
    let id = ["--account-id", account];
    ok(home, T0, &root, &[&["iam", "create-user", "--user-name", name][..], &id].concat());
    ok(home, T0, &root, &[&["iam", "attach-user-policy", "--user-name", name, "--policy-arn", policy][..], &id].concat());
    let key = ok(home, T0, &root, &[&["iam", "create-access-key", "--user-name", name][..], &id].concat());
    let creds = keys_env(&key["AccessKey"]);
    if !mfa {
        return (creds, None);
    }
    let device = ok(home, T0, &root, &[&["iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name][..], &id].concat());
    let serial = device["VirtualMFADevice"]["SerialNumber"].as_str().unwrap().to_owned();
    let seed = device["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap().to_owned();
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let code1 = bunker_core::security::mfa::code_at(&seed, t0).unwrap();
    let code2 = bunker_core::security::mfa::code_at(&seed, t0 + jiff::SignedDuration::from_secs(30)).unwrap();
    ok(
        home,
        T0,
        &root,
        &[&["iam", "enable-mfa-device", "--user-name", name, "--serial-number", &serial, "--authentication-code1", &code1, "--authentication-code2", &code2][..], &id].concat(),
    );
    let trust = break_glass_trust(account);
    ok(home, T0, &root, &[&["iam", "create-role", "--role-name", "BackupAdmin", "--assume-role-policy-document", &trust][..], &id].concat());
    ok(
        home,
        T0,
        &root,
        &[&["iam", "attach-role-policy", "--role-name", "BackupAdmin", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"][..], &id].concat(),
    );
    (creds, Some((serial, seed)))
}

/// The organization every cell starts from.
struct World {
    dir: tempfile::TempDir,
    org_id: String,
    scp_id: String,
    ou: BTreeMap<&'static str, String>,
    /// Principal name (and, for break-glass, the vault's account) → environment.
    principals: BTreeMap<String, Vec<(String, String)>>,
    member_point: String,
    central_point: String,
    staging_point: String,
    /// The central account's admin: credentials, MFA serial and seed (for new sessions).
    central_mfa: (Vec<(String, String)>, String, String),
}

fn build_world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mgmt: Vec<(String, String)> = Vec::new();
    let org = ok(&home, T0, &mgmt, &["org", "create-organization", "--management-account-id", M]);
    let org_id = org["Organization"]["Id"].as_str().unwrap().to_owned();
    let root = ok(&home, T0, &mgmt, &["org", "list-roots"])["Roots"][0]["Id"].as_str().unwrap().to_owned();
    let mut ou = BTreeMap::new();
    for (name, account, email) in [("workloads", A, "a@example.com"), ("bunker", C, "c@example.com"), ("security", D, "d@example.com")] {
        let id = ok(&home, T0, &mgmt, &["org", "create-organizational-unit", "--parent-id", &root, "--name", name])["OrganizationalUnit"]["Id"]
            .as_str()
            .unwrap()
            .to_owned();
        ok(&home, T0, &mgmt, &["org", "create-account", "--account-name", name, "--email", email, "--account-id", account, "--parent-id", &id]);
        ou.insert(name, id);
    }
    ok(&home, T0, &mgmt, &["org", "enable-policy-type", "--root-id", &root, "--policy-type", "SERVICE_CONTROL_POLICY"]);
    let scp = ok(
        &home,
        T0,
        &mgmt,
        &["org", "create-policy", "--name", "protect-backups", "--type", "SERVICE_CONTROL_POLICY", "--description", "reference guardrail", "--content", PROTECT_BACKUPS],
    );
    let scp_id = scp["Policy"]["PolicySummary"]["Id"].as_str().unwrap().to_owned();
    ok(&home, T0, &mgmt, &["org", "register-delegated-administrator", "--account-id", D, "--service-principal", "backup.amazonaws.com"]);

    // Principals.
    let admin_policy = "arn:aws:iam::aws:policy/AdministratorAccess";
    let mut principals = BTreeMap::new();
    let (member_admin, member_mfa) = admin(&home, A, admin_policy, "admin", true);
    let (operator, _) = admin(&home, A, "arn:aws:iam::aws:policy/AWSBackupOperatorAccess", "operator", false);
    let (central_admin, central_mfa) = admin(&home, C, admin_policy, "admin", true);
    let (delegated, _) = admin(&home, D, admin_policy, "admin", false);
    let (outside, _) = admin(&home, X, admin_policy, "admin", false);

    // Vaults, data, recovery points.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..20 {
        std::fs::write(data.join(format!("file-{i}.txt")), format!("payload {i}\n").repeat(200)).unwrap();
    }
    let in_a = ["--account-id", A, "--region", REGION];
    let in_c = ["--account-id", C, "--region", REGION];
    let root_a = root_of(A);
    let root_c = root_of(C);
    for vault in ["Default", "Staging"] {
        ok(&home, T0, &root_a, &[&["backup", "create-backup-vault", "--backup-vault-name", vault][..], &in_a].concat());
    }
    ok(&home, T0, &root_c, &[&["backup", "create-backup-vault", "--backup-vault-name", "central"][..], &in_c].concat());
    ok(&home, T0, &root_c, &[&["backup", "put-backup-vault-access-policy", "--backup-vault-name", "central", "--policy", &central_vault_policy(&org_id)][..], &in_c].concat());
    ok(
        &home,
        T0,
        &root_c,
        &[&["backup", "put-backup-vault-lock-configuration", "--backup-vault-name", "central", "--min-retention-days", "30", "--max-retention-days", "3650", "--changeable-for-days", "3"][..], &in_c].concat(),
    );
    let resource = ok(&home, T0, &root_a, &[&["resource", "register", "--resource-name", "data", "--directory", data.to_str().unwrap()][..], &in_a].concat());
    let resource_arn = resource["Resource"]["ResourceArn"].as_str().unwrap().to_owned();
    let mut points = BTreeMap::new();
    for vault in ["Default", "Staging"] {
        ok(
            &home,
            T0,
            &root_a,
            &[&["backup", "start-backup-job", "--backup-vault-name", vault, "--resource-arn", &resource_arn, "--lifecycle", "DeleteAfterDays=100"][..], &in_a].concat(),
        );
        let listed = ok(&home, T0, &root_a, &[&["backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", vault][..], &in_a].concat());
        points.insert(vault, listed["RecoveryPoints"][0]["RecoveryPointArn"].as_str().unwrap().to_owned());
    }
    // The member admin copies into the central vault: the access policy admits the organization.
    let central_arn = format!("arn:aws:backup:{REGION}:{C}:backup-vault:central");
    ok(
        &home,
        T0,
        &member_admin,
        &[&["backup", "start-copy-job", "--recovery-point-arn", &points["Default"], "--source-backup-vault-name", "Default", "--destination-backup-vault-arn", &central_arn, "--lifecycle", "DeleteAfterDays=60"][..], &in_a].concat(),
    );
    let central = ok(&home, T0, &root_c, &[&["backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", "central"][..], &in_c].concat());
    let central_point = central["RecoveryPoints"][0]["RecoveryPointArn"].as_str().expect("a copy in the central vault").to_owned();

    // The guardrail goes on once the accounts are set up.
    for id in ou.values() {
        ok(&home, T0, &mgmt, &["org", "attach-policy", "--policy-id", &scp_id, "--target-id", id]);
    }

    // Break-glass sessions, 10 days later, with MFA.
    for (account, admin_env, mfa, key) in [(A, &member_admin, &member_mfa, "break-glass@member"), (C, &central_admin, &central_mfa, "break-glass@central")] {
        let (serial, seed) = mfa.clone().unwrap();
        let code = bunker_core::security::mfa::code_at(&seed, T1.parse().unwrap()).unwrap();
        let role = format!("arn:aws:iam::{account}:role/BackupAdmin");
        let session = ok(&home, T1, admin_env, &["sts", "assume-role", "--role-arn", &role, "--role-session-name", "glass", "--serial-number", &serial, "--token-code", &code]);
        principals.insert(key.to_owned(), keys_env(&session["Credentials"]));
    }
    let (serial, seed) = central_mfa.clone().unwrap();
    let central_mfa = (central_admin.clone(), serial, seed);
    principals.insert("member-admin".into(), member_admin);
    principals.insert("member-operator".into(), operator);
    principals.insert("central-admin".into(), central_admin);
    // Named explicitly: without credentials a command naming an account acts as its root.
    principals.insert("management".into(), root_of(M));
    principals.insert("delegated-admin".into(), delegated);
    principals.insert("outside".into(), outside);
    World {
        dir,
        org_id,
        scp_id,
        ou,
        principals,
        member_point: points["Default"].clone(),
        central_point,
        staging_point: points["Staging"].clone(),
        central_mfa,
    }
}

/// One vault column of the table.
#[derive(Clone, Copy, Debug)]
enum Target {
    Member,
    Central,
}

impl World {
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The command of `action` against `target`.
    fn command(&self, action: &str, target: Target) -> Vec<String> {
        let (account, vault, point, ou) = match target {
            Target::Member => (A, "Default", &self.member_point, &self.ou["workloads"]),
            Target::Central => (C, "central", &self.central_point, &self.ou["bunker"]),
        };
        let scope = ["--account-id", account, "--region", REGION];
        let v: Vec<&str> = match action {
            "delete-recovery-point" => vec!["backup", "delete-recovery-point", "--backup-vault-name", vault, "--recovery-point-arn", point],
            "shorten-retention" => vec!["backup", "update-recovery-point-lifecycle", "--backup-vault-name", vault, "--recovery-point-arn", point, "--lifecycle", "DeleteAfterDays=1"],
            "delete-vault" => vec!["backup", "delete-backup-vault", "--backup-vault-name", vault],
            "replace-lock" => vec!["backup", "put-backup-vault-lock-configuration", "--backup-vault-name", vault, "--min-retention-days", "1", "--max-retention-days", "2"],
            "put-access-policy" => vec![
                "backup",
                "put-backup-vault-access-policy",
                "--backup-vault-name",
                vault,
                "--policy",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"backup:*","Resource":"*"}]}"#,
            ],
            "delete-key" => vec!["kms", "schedule-key-deletion", "--key-id", "alias/aws/backup", "--pending-window-in-days", "7"],
            "detach-scp" => return ["org", "detach-policy", "--policy-id", &self.scp_id, "--target-id", ou].map(String::from).to_vec(),
            "copy-into" => {
                let destination = format!("arn:aws:backup:{REGION}:{account}:backup-vault:{vault}");
                return [
                    "backup",
                    "start-copy-job",
                    "--recovery-point-arn",
                    &self.staging_point,
                    "--source-backup-vault-name",
                    "Staging",
                    "--destination-backup-vault-arn",
                    &destination,
                    "--lifecycle",
                    "DeleteAfterDays=60",
                    "--account-id",
                    A,
                    "--region",
                    REGION,
                ]
                .map(String::from)
                .to_vec();
            }
            other => panic!("unknown action {other} in the expectation table"),
        };
        v.into_iter().chain(scope).map(String::from).collect()
    }

    fn principal_env(&self, principal: &str, target: Target) -> Vec<(String, String)> {
        let key = match (principal, target) {
            ("break-glass", Target::Member) => "break-glass@member".to_owned(),
            ("break-glass", Target::Central) => "break-glass@central".to_owned(),
            (p, _) => p.to_owned(),
        };
        self.principals.get(&key).unwrap_or_else(|| panic!("unknown principal {principal} in the expectation table")).clone()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the world's home whose vaults are the copy's own.
async fn cell_home(world: &World, dir: &Path) -> PathBuf {
    let home = dir.join("home");
    copy_dir(&world.home(), &home);
    let url = format!("sqlite://{}", home.join("catalog.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (old, new) = (world.home().display().to_string(), home.display().to_string());
    sqlx::query("UPDATE backup_vaults SET location = replace(location, $1, $2)").bind(&old).bind(&new).execute(&pool).await.unwrap();
    pool.close().await;
    home
}

/// `delete-recovery-point` → `DeleteRecoveryPoint`.
fn bunker_core_operation(subcommand: &str) -> String {
    subcommand
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The rows of the expectation table: (principal, action, member, central).
fn expectations() -> Vec<(String, String, String, String)> {
    let text = include_str!("authorization/expectations.md");
    let table = text.split("## Expected decisions").nth(1).expect("the expected decisions section");
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| principal") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_owned(), cells[1].to_owned(), cells[2].to_owned(), cells[3].to_owned())
        })
        .collect()
}

fn outcome(out: &Output) -> String {
    if out.status.success() {
        return "Allow".into();
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .strip_prefix("An error occurred (")
        .and_then(|rest| rest.split_once(')'))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| format!("unexpected failure: {stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_principal_against_every_destructive_action_on_both_vaults() {
    let world = build_world();
    let rows = expectations();
    assert_eq!(rows.len(), 7 * 8, "the table covers 7 principals × 8 actions");
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for (principal, action, member, central) in &rows {
        for (target, expected) in [(Target::Member, member), (Target::Central, central)] {
            let dir = tempfile::tempdir().unwrap();
            let home = cell_home(&world, dir.path()).await;
            let args = world.command(action, target);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env = world.principal_env(principal, target);
            let out = bunker(&home, T1, &env, &args);
            let got = outcome(&out);
            cells += 1;
            if got != *expected {
                mismatches.push(format!(
                    "{principal} × {action} × {target:?}: expected {expected}, got {got} ({})",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            if got == "AccessDeniedException" {
                // The denial is in the audit trail, with the operation and the error.
                let operation = bunker_core_operation(args[1]);
                let filter = format!("AttributeKey=EventName,AttributeValue={operation}");
                let events = ok(&home, T1, &[], &["audit", "lookup-events", "--lookup-attributes", &filter]);
                let recorded = events["Events"].as_array().into_iter().flatten().any(|e| {
                    let record: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap_or("{}")).unwrap_or_default();
                    record["errorCode"].as_str().is_some_and(|c| c.contains("AccessDenied"))
                });
                if !recorded {
                    mismatches.push(format!("{principal} × {action} × {target:?}: the denial of {operation} is not in the audit trail"));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{} of {cells} cells differ from the table:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(world.org_id.starts_with("o-"));
}

/// A break-glass session of C's `BackupAdmin` at `at` (a fresh MFA code).
fn central_break_glass(world: &World, at: &str) -> Vec<(String, String)> {
    let (admin, serial, seed) = &world.central_mfa;
    let code = bunker_core::security::mfa::code_at(seed, at.parse().unwrap()).unwrap();
    let role = format!("arn:aws:iam::{C}:role/BackupAdmin");
    let session = ok(&world.home(), at, admin, &["sts", "assume-role", "--role-arn", &role, "--role-session-name", "glass", "--serial-number", serial, "--token-code", &code]);
    keys_env(&session["Credentials"])
}

fn central_points(world: &World, at: &str) -> usize {
    let listed = ok(&world.home(), at, &root_of(C), &["backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", "central", "--account-id", C, "--region", REGION]);
    listed["RecoveryPoints"].as_array().map_or(0, Vec::len)
}

/// The compliance lock over time: until `MinRetentionDays` (30) every principal's attempt to
/// delete the central copy or shorten its retention fails — IAM stops most, the lock stops
/// the break-glass role that IAM lets through; afterwards lifecycle deletes it when its own
/// retention (60 days) ends, and nothing is left at day 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_lock_holds_for_every_principal_until_min_retention() {
    let world = build_world();
    let home = world.home();
    let principals = ["member-admin", "member-operator", "central-admin", "management", "delegated-admin", "outside", "break-glass"];
    let attempts = ["delete-recovery-point", "shorten-retention"];
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let day = |d: i64| (t0 + jiff::SignedDuration::from_hours(24 * d)).to_string();
    let mut refusals = 0;
    for d in [11, 20, 29] {
        let at = day(d);
        let glass = central_break_glass(&world, &at);
        for principal in principals {
            let env = if principal == "break-glass" { glass.clone() } else { world.principal_env(principal, Target::Central) };
            for action in attempts {
                let args = world.command(action, Target::Central);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let got = outcome(&bunker(&home, &at, &env, &args));
                let expected = if principal == "break-glass" { "InvalidRequestException" } else { "AccessDeniedException" };
                assert_eq!(got, expected, "day {d}: {principal} {action}");
                refusals += 1;
            }
        }
        assert_eq!(central_points(&world, &at), 1, "day {d}: the copy is still there");
    }
    assert_eq!(refusals, 3 * 7 * 2);
    // Past MinRetentionDays the lock no longer keeps it: lifecycle deletes it at day 60, as
    // its retention says — not earlier.
    let out = bunker(&home, &day(30), &[], &["run", "--fake-clock", "--start", &day(30), "--until", &day(59)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(central_points(&world, &day(59)), 1);
    let out = bunker(&home, &day(59), &[], &["run", "--fake-clock", "--start", &day(59), "--until", &day(400)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(central_points(&world, &day(400)), 0, "lifecycle deleted the copy after its 60 days");
    // The service's deletion is in the audit trail, as the service's.
    let events = ok(&home, &day(400), &[], &["audit", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=DeleteRecoveryPoint"]);
    let by_service = events["Events"].as_array().into_iter().flatten().any(|e| {
        let record: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap_or("{}")).unwrap_or_default();
        record["userIdentity"]["type"] == "AWSService" && record["errorCode"].is_null() && e["CloudTrailEvent"].as_str().unwrap_or_default().contains(&world.central_point)
    });
    assert!(by_service, "no lifecycle deletion of {} in {events}", world.central_point);
    // The lock itself is still there and immutable.
    let described = ok(&home, &day(400), &root_of(C), &["backup", "describe-backup-vault", "--backup-vault-name", "central", "--account-id", C, "--region", REGION]);
    assert_eq!(described["Locked"], true, "{described}");
    assert_eq!(described["MinRetentionDays"], 30, "{described}");
}
