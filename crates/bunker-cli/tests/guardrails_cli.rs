//! End to end: Vault Lock and legal holds through `bunker backup …`, read back through the
//! JSON output the AWS CLI would print. Refused requests exit 254 naming the AWS exception
//! and change nothing. Time is fixed per command (`BUNKER_FAKE_NOW`), so "after the grace
//! time" is a later instant rather than a wait.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use support::{Home, is_aws_cli_timestamp, keys};

const MGMT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const T0: &str = "2027-01-01T00:00:00Z";
/// Within the grace time of a lock put at [`T0`] with three changeable days.
const T_GRACE: &str = "2027-01-03T23:59:59Z";
/// On its lock date and after.
const T_LOCKED: &str = "2027-01-04T00:00:00Z";
const T_LATER: &str = "2030-01-01T00:00:00Z";

/// `bunker backup ARGS… --account-id MEMBER --region eu-west-1`.
fn member<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["backup"];
    all.extend_from_slice(args);
    all.extend(["--account-id", MEMBER, "--region", "eu-west-1"]);
    all
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// Runs `args` at `now`.
fn at(home: &Home, now: &str, args: &[&str]) -> Output {
    home.command().env("BUNKER_FAKE_NOW", now).args(args).output().expect("bunker runs")
}

/// Runs `args` at `now`; it must succeed. Its JSON (`null` when it prints nothing).
fn ok_at(home: &Home, now: &str, args: &[&str]) -> Value {
    let out = at(home, now, args);
    assert!(out.status.success(), "bunker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    if stdout.trim().is_empty() { Value::Null } else { serde_json::from_str(&stdout).unwrap() }
}

/// Runs `args` at `now`; it must fail with exit 254 and the AWS exception `code` of
/// `operation`, printing nothing on stdout. Returns stderr.
fn refused_at(home: &Home, now: &str, args: &[&str], code: &str, operation: &str) -> String {
    let out = at(home, now, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(254), "bunker {args:?}: {stderr}");
    let expected = format!("An error occurred ({code}) when calling the {operation} operation: ");
    assert!(stderr.starts_with(&expected), "expected {expected:?}, got {stderr:?}");
    assert!(out.stdout.is_empty());
    stderr
}

/// A session of user `ops` (AdministratorAccess) in the member account, with MFA, at `now`.
fn mfa_session(home: &Home, now: &str, seed: &str, serial: &str, creds: &[(String, String)]) -> Vec<(String, String)> {
    let code = bunker_core::security::mfa::code_at(seed, now.parse().unwrap()).unwrap();
    let out = home
        .command()
        .env("BUNKER_FAKE_NOW", now)
        .envs(creds.iter().map(|(k, v)| (k, v)))
        .args(["sts", "get-session-token", "--serial-number", serial, "--token-code", &code, "--duration-seconds", "900"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["Credentials"];
    vec![
        ("BUNKER_ACCESS_KEY_ID".into(), s(&c["AccessKeyId"])),
        ("BUNKER_SECRET_ACCESS_KEY".into(), s(&c["SecretAccessKey"])),
        ("BUNKER_SESSION_TOKEN".into(), s(&c["SessionToken"])),
    ]
}

/// Runs as the holder of `env` at `now`.
fn at_as(home: &Home, now: &str, env: &[(String, String)], args: &[&str]) -> Output {
    home.command().env("BUNKER_FAKE_NOW", now).envs(env.iter().map(|(k, v)| (k, v))).args(args).output().expect("bunker runs")
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn write_tree(root: &Path, day: u32) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("index.html"), format!("<h1>day {day}</h1>")).unwrap();
}

/// The vault's recovery points, with their lifecycles.
fn points(home: &Home) -> Vec<Value> {
    let list = ok_at(home, T0, &member(&["list-recovery-points-by-backup-vault", "--backup-vault-name", "Main"]));
    list["RecoveryPoints"].as_array().unwrap().clone()
}

#[test]
fn vault_lock_and_legal_holds_round_trip() {
    let home = Home::new().with_env("BUNKER_FAKE_NOW", T0);
    home.ok(&["org", "create-organization", "--management-account-id", MGMT]);
    home.ok(&["org", "create-account", "--account-name", "web", "--email", "web@example.com", "--account-id", MEMBER]);
    home.ok(&member(&["create-backup-vault", "--backup-vault-name", "Main"]));
    let src = home.beside("site");
    write_tree(&src, 1);
    let mut register = vec!["resource", "register", "--resource-name", "site", "--directory", src.to_str().unwrap()];
    register.extend(["--account-id", MEMBER, "--region", "eu-west-1"]);
    let site = s(&home.ok(&register)["Resource"]["ResourceArn"]);
    let backup = |days: &str| {
        let lifecycle = format!("DeleteAfterDays={days}");
        home.ok(&member(&["start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &site, "--lifecycle", &lifecycle]))
    };
    let first = s(&backup("120")["RecoveryPointArn"]);

    // The lock: bad parameters are refused and nothing is put.
    let put = |extra: &[&'static str]| {
        let mut a = vec!["put-backup-vault-lock-configuration", "--backup-vault-name", "Main"];
        a.extend_from_slice(extra);
        a
    };
    let err = refused_at(&home, T0, &member(&put(&["--min-retention-days", "100", "--changeable-for-days", "2"])), "InvalidParameterValueException", "PutBackupVaultLockConfiguration");
    assert!(err.contains("ChangeableForDays 2"), "{err}");
    refused_at(&home, T0, &member(&put(&["--min-retention-days", "500", "--max-retention-days", "400"])), "InvalidParameterValueException", "PutBackupVaultLockConfiguration");
    refused_at(&home, T0, &member(&["delete-backup-vault-lock-configuration", "--backup-vault-name", "Main"]), "ResourceNotFoundException", "DeleteBackupVaultLockConfiguration");
    let put_ok = member(&put(&["--min-retention-days", "100", "--max-retention-days", "400", "--changeable-for-days", "3"]));
    assert_eq!(ok_at(&home, T0, &put_ok), Value::Null, "prints nothing");
    let unknown = member(&["put-backup-vault-lock-configuration", "--backup-vault-name", "Nope", "--min-retention-days", "1"]);
    refused_at(&home, T0, &unknown, "ResourceNotFoundException", "PutBackupVaultLockConfiguration");

    // A job outside the lock's retention fails, naming it; inside, it completes.
    let job = backup("7");
    assert_eq!(job["State"], "FAILED", "{job}");
    let message = s(&job["StatusMessage"]);
    assert!(message.contains("Vault Lock of backup vault Main") && message.contains("MinRetentionDays"), "{message}");
    assert!(job.get("RecoveryPointArn").is_none(), "{job}");
    let second = s(&backup("150")["RecoveryPointArn"]);
    assert_eq!(points(&home).len(), 2);

    // Deleting or shortening a point younger than MinRetentionDays: refused, nothing changes.
    let del = |arn: &str| -> Vec<String> {
        ["backup", "delete-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", arn, "--account-id", MEMBER, "--region", "eu-west-1"]
            .iter()
            .map(|a| (*a).to_owned())
            .collect()
    };
    let plain = del(&first);
    let err = refused_at(&home, T0, &args(&plain), "InvalidRequestException", "DeleteRecoveryPoint");
    assert!(err.contains("Vault Lock of backup vault Main") && err.contains("MinRetentionDays 100"), "{err}");
    let shorten = member(&["update-recovery-point-lifecycle", "--backup-vault-name", "Main", "--lifecycle", "DeleteAfterDays=50", "--recovery-point-arn", &first]);
    refused_at(&home, T0, &shorten, "InvalidRequestException", "UpdateRecoveryPointLifecycle");
    let rps = points(&home);
    assert_eq!(rps.len(), 2);
    assert!(rps.iter().all(|r| r["Lifecycle"]["DeleteAfterDays"] == 120 || r["Lifecycle"]["DeleteAfterDays"] == 150), "{rps:?}");

    // The bypass is a permission of its own and needs MFA: an admin with MFA.
    let user = ["--user-name", "ops", "--account-id", MEMBER];
    home.ok(&[&["iam", "create-user"][..], &user].concat());
    home.ok(&[&["iam", "attach-user-policy", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"][..], &user].concat());
    let key = home.ok(&[&["iam", "create-access-key"][..], &user].concat());
    let creds = vec![
        ("BUNKER_ACCESS_KEY_ID".to_owned(), s(&key["AccessKey"]["AccessKeyId"])),
        ("BUNKER_SECRET_ACCESS_KEY".to_owned(), s(&key["AccessKey"]["SecretAccessKey"])),
    ];
    let device = home.ok(&["iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "ops", "--account-id", MEMBER]);
    let (serial, seed) = (s(&device["VirtualMFADevice"]["SerialNumber"]), s(&device["VirtualMFADevice"]["Base32StringSeed"]));
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let c1 = bunker_core::security::mfa::code_at(&seed, t0 - jiff::SignedDuration::from_secs(30)).unwrap();
    let c2 = bunker_core::security::mfa::code_at(&seed, t0).unwrap();
    home.ok(&[&["iam", "enable-mfa-device", "--serial-number", &serial, "--authentication-code1", &c1, "--authentication-code2", &c2][..], &user].concat());

    // Within the grace time the bypass works (and the lock could change) — for a caller
    // with MFA only; from the lock date on, nothing does.
    let mut bypass = del(&second);
    bypass.push("--bypass-governance-retention".into());
    let err = refused_at(&home, T_GRACE, &args(&bypass), "AccessDeniedException", "DeleteRecoveryPoint");
    assert!(err.contains("needs a session with MFA"), "{err}");
    let out = at_as(&home, T_GRACE, &creds, &args(&bypass));
    assert_eq!(out.status.code(), Some(254), "long-term keys carry no MFA: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(points(&home).len(), 2);
    let session = mfa_session(&home, T_GRACE, &seed, &serial, &creds);
    let out = at_as(&home, T_GRACE, &session, &args(&bypass));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(points(&home).len(), 1);
    let mut bypass_first = del(&first);
    bypass_first.push("--bypass-governance-retention".into());
    let session = mfa_session(&home, T_LOCKED, &seed, &serial, &creds);
    let out = at_as(&home, T_LOCKED, &session, &args(&bypass_first));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("An error occurred (InvalidRequestException) when calling the DeleteRecoveryPoint operation"), "{err}");
    assert!(err.contains("compliance mode since"), "{err}");
    let err = refused_at(&home, T_LOCKED, &member(&["delete-backup-vault-lock-configuration", "--backup-vault-name", "Main"]), "InvalidRequestException", "DeleteBackupVaultLockConfiguration");
    assert!(err.contains("immutable"), "{err}");
    refused_at(&home, T_LATER, &member(&put(&["--min-retention-days", "1"])), "InvalidRequestException", "PutBackupVaultLockConfiguration");
    refused_at(&home, T_LATER, &member(&["delete-backup-vault", "--backup-vault-name", "Main"]), "InvalidRequestException", "DeleteBackupVault");
    assert_eq!(points(&home).len(), 1);

    // Legal holds: a selection from a file, the AWS output shapes.
    let selection = home.path().join("selection.json");
    std::fs::write(&selection, json!({"VaultNames": ["Main"], "DateRange": {"FromDate": 1_798_761_600, "ToDate": "2027-01-02T00:00:00Z"}}).to_string()).unwrap();
    let file = format!("file://{}", selection.display());
    let hold = home.ok(&member(&["create-legal-hold", "--title", "case 42", "--description", "litigation", "--recovery-point-selection", &file, "--tags", "case=42"]));
    assert_eq!(keys(&hold), ["Title", "Status", "Description", "LegalHoldId", "LegalHoldArn", "CreationDate", "RecoveryPointSelection"]);
    assert_eq!(hold["Status"], "ACTIVE");
    assert!(is_aws_cli_timestamp(&hold["CreationDate"]), "{hold}");
    assert!(is_aws_cli_timestamp(&hold["RecoveryPointSelection"]["DateRange"]["FromDate"]), "{hold}");
    let id = s(&hold["LegalHoldId"]);
    assert_eq!(s(&hold["LegalHoldArn"]), format!("arn:aws:backup:eu-west-1:{MEMBER}:legal-hold:{id}"));
    let bad = refused_at(&home, T0, &member(&["create-legal-hold", "--title", "t", "--description", "d", "--recovery-point-selection", r#"{"VaultNames":["Nope"]}"#]), "ResourceNotFoundException", "CreateLegalHold");
    assert!(bad.contains("Nope"), "{bad}");
    let out = home.run(&member(&["create-legal-hold", "--title", "t", "--description", "d", "--recovery-point-selection", "{not json"]));
    assert_eq!(out.status.code(), Some(255), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Error parsing parameter '--recovery-point-selection'"));
    let holds = home.ok(&member(&["list-legal-holds"]));
    assert_eq!(holds["LegalHolds"].as_array().unwrap().len(), 1, "refused requests made nothing: {holds}");
    assert_eq!(keys(&holds["LegalHolds"][0]), ["Title", "Status", "Description", "LegalHoldId", "LegalHoldArn", "CreationDate"]);
    let held = home.ok(&member(&["list-recovery-points-by-legal-hold", "--legal-hold-id", &id]));
    assert_eq!(held["RecoveryPoints"], json!([{"RecoveryPointArn": first, "ResourceArn": site, "ResourceType": "Directory", "BackupVaultName": "Main"}]));

    // A held point: refused naming the hold, even long after the lock would allow it.
    let err = refused_at(&home, T_LATER, &args(&plain), "InvalidRequestException", "DeleteRecoveryPoint");
    assert!(err.contains(&id), "{err}");

    // Cancelled once; the second time refused; the record shows it.
    refused_at(&home, T0, &member(&["cancel-legal-hold", "--legal-hold-id", "nope", "--cancel-description", "x"]), "ResourceNotFoundException", "CancelLegalHold");
    assert_eq!(home.ok(&member(&["cancel-legal-hold", "--legal-hold-id", &id, "--cancel-description", "settled", "--retain-record-in-days", "30"])), Value::Null);
    refused_at(&home, T0, &member(&["cancel-legal-hold", "--legal-hold-id", &id, "--cancel-description", "again"]), "InvalidRequestException", "CancelLegalHold");
    let got = home.ok(&member(&["get-legal-hold", "--legal-hold-id", &id]));
    assert_eq!((got["Status"].as_str(), got["CancelDescription"].as_str()), (Some("CANCELED"), Some("settled")));
    assert!(is_aws_cli_timestamp(&got["CancellationDate"]) && is_aws_cli_timestamp(&got["RetainRecordUntil"]), "{got}");
    let listed = home.ok(&member(&["list-legal-holds"]));
    assert!(is_aws_cli_timestamp(&listed["LegalHolds"][0]["CancellationDate"]), "{listed}");
    // Released, past MinRetentionDays: deleted.
    assert_eq!(ok_at(&home, T_LATER, &args(&plain)), Value::Null);
    assert!(points(&home).is_empty());
    // The record goes after its 30 days.
    refused_at(&home, T_LATER, &member(&["get-legal-hold", "--legal-hold-id", &id]), "ResourceNotFoundException", "GetLegalHold");
}
