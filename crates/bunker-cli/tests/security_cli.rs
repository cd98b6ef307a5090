//! The security commands end to end: `bunker iam simulate` names the statement that decided
//! (the reference central vault policy admits the organization and nobody else; the
//! reference SCP stops a member account's admin, not its break-glass role), and bad input —
//! a malformed policy, an unknown condition operator, an invalid ARN, a wrong MFA code, a
//! wrong secret, expired credentials — gets a clear error, changes nothing, and is in the
//! audit trail.

mod support;

use std::process::Output;

use serde_json::Value;
use support::Home;

const MGMT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const CENTRAL: &str = "333333333333";
const OUTSIDE: &str = "555555555555";
const T0: &str = "2026-05-01T08:00:00Z";

const PROTECT_BACKUPS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBackupDestruction","Effect":"Deny",
  "Action":["backup:DeleteRecoveryPoint","backup:UpdateRecoveryPointLifecycle","backup:DeleteBackupVault"],"Resource":"*",
  "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/BackupAdmin"}}}]}"#;

fn run(home: &Home, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = home.command();
    c.env("BUNKER_FAKE_NOW", T0);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().expect("bunker runs")
}

fn ok(home: &Home, env: &[(&str, &str)], args: &[&str]) -> Value {
    let out = run(home, env, args);
    assert!(out.status.success(), "bunker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// Fails with `code` (exit 254); returns stderr.
fn refused(home: &Home, env: &[(&str, &str)], args: &[&str], code: &str) -> String {
    let out = run(home, env, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(254), "bunker {args:?}: {stderr}");
    assert!(stderr.starts_with(&format!("An error occurred ({code})")), "bunker {args:?}: expected {code}, got {stderr}");
    stderr
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// The organization, SCPs on, the member's OU under the reference SCP, a central vault open
/// to the organization.
fn organization(home: &Home) -> (String, String) {
    ok(home, &[], &["org", "create-organization", "--management-account-id", MGMT]);
    let org_id = s(&ok(home, &[], &["org", "describe-organization"])["Organization"]["Id"]);
    let root = s(&ok(home, &[], &["org", "list-roots"])["Roots"][0]["Id"]);
    let ou = s(&ok(home, &[], &["org", "create-organizational-unit", "--parent-id", &root, "--name", "workloads"])["OrganizationalUnit"]["Id"]);
    ok(home, &[], &["org", "create-account", "--account-name", "member", "--email", "m@example.com", "--account-id", MEMBER, "--parent-id", &ou]);
    ok(home, &[], &["org", "create-account", "--account-name", "central", "--email", "c@example.com", "--account-id", CENTRAL]);
    ok(home, &[], &["org", "enable-policy-type", "--root-id", &root, "--policy-type", "SERVICE_CONTROL_POLICY"]);
    let scp = ok(home, &[], &["org", "create-policy", "--name", "protect-backups", "--type", "SERVICE_CONTROL_POLICY", "--description", "", "--content", PROTECT_BACKUPS]);
    ok(home, &[], &["org", "attach-policy", "--policy-id", &s(&scp["Policy"]["PolicySummary"]["Id"]), "--target-id", &ou]);
    ok(home, &[], &["backup", "create-backup-vault", "--backup-vault-name", "central", "--account-id", CENTRAL]);
    let policy = bunker_core::backup::organization_copy_policy(&org_id);
    ok(home, &[], &["backup", "put-backup-vault-access-policy", "--backup-vault-name", "central", "--account-id", CENTRAL, "--policy", &policy]);
    for account in [MEMBER, OUTSIDE] {
        ok(home, &[], &["iam", "create-user", "--user-name", "admin", "--account-id", account]);
        ok(home, &[], &["iam", "attach-user-policy", "--user-name", "admin", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess", "--account-id", account]);
    }
    let trust = format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{MEMBER}"}},"Action":"sts:AssumeRole"}}]}}"#);
    ok(home, &[], &["iam", "create-role", "--role-name", "BackupAdmin", "--assume-role-policy-document", &trust, "--account-id", MEMBER]);
    ok(home, &[], &["iam", "attach-role-policy", "--role-name", "BackupAdmin", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess", "--account-id", MEMBER]);
    (org_id, root)
}

fn simulate(home: &Home, principal: &str, action: &str, resource: &str) -> Value {
    let out = ok(home, &[], &["iam", "simulate", "--principal", principal, "--action", action, "--resource", resource]);
    out["EvaluationResults"][0].clone()
}

#[test]
fn simulate_names_what_decided_under_the_reference_policies() {
    let home = Home::new();
    organization(&home);
    let central = format!("arn:aws:backup:us-east-1:{CENTRAL}:backup-vault:central");
    let member_admin = format!("arn:aws:iam::{MEMBER}:user/admin");

    // The central vault policy admits the organization's principals …
    let copy = simulate(&home, &member_admin, "backup:CopyIntoBackupVault", &central);
    assert_eq!(copy["EvalDecision"], "allowed", "{copy}");
    let sources: Vec<String> = copy["MatchedStatements"].as_array().unwrap().iter().map(|m| s(&m["SourcePolicyId"])).collect();
    assert!(sources.iter().any(|p| p == "vault-access-policy:central"), "{copy}");
    // … and nobody outside it, however much their own account allows them.
    let outside = simulate(&home, &format!("arn:aws:iam::{OUTSIDE}:user/admin"), "backup:CopyIntoBackupVault", &central);
    assert_eq!(outside["EvalDecision"], "implicitDeny", "{outside}");

    // The reference SCP stops the member's admin, naming itself and its statement …
    let member_vault = format!("arn:aws:backup:us-east-1:{MEMBER}:backup-vault:Default");
    let delete = simulate(&home, &member_admin, "backup:DeleteBackupVault", &member_vault);
    assert_eq!(delete["EvalDecision"], "explicitDeny", "{delete}");
    assert!(s(&delete["MatchedStatements"][0]["SourcePolicyId"]).starts_with("scp:protect-backups"), "{delete}");
    assert_eq!(delete["MatchedStatements"][0]["Sid"], "DenyBackupDestruction", "{delete}");
    // … but not the break-glass role it names, nor the management account.
    let glass = simulate(&home, &format!("arn:aws:iam::{MEMBER}:role/BackupAdmin"), "backup:DeleteBackupVault", &member_vault);
    assert_eq!(glass["EvalDecision"], "allowed", "{glass}");
    let mgmt = simulate(&home, &format!("arn:aws:iam::{MGMT}:root"), "organizations:DetachPolicy", "*");
    assert_eq!(mgmt["EvalDecision"], "allowed", "{mgmt}");

    // The same decisions hold for real calls: the member's admin cannot delete its vault.
    ok(&home, &[], &["backup", "create-backup-vault", "--backup-vault-name", "Default", "--account-id", MEMBER]);
    let key = ok(&home, &[], &["iam", "create-access-key", "--user-name", "admin", "--account-id", MEMBER]);
    let (id, secret) = (s(&key["AccessKey"]["AccessKeyId"]), s(&key["AccessKey"]["SecretAccessKey"]));
    let creds = [("BUNKER_ACCESS_KEY_ID", id.as_str()), ("BUNKER_SECRET_ACCESS_KEY", secret.as_str())];
    let who = ok(&home, &creds, &["sts", "get-caller-identity"]);
    assert_eq!(who["Arn"], member_admin.as_str());
    let stderr = refused(&home, &creds, &["backup", "delete-backup-vault", "--backup-vault-name", "Default"], "AccessDeniedException");
    assert!(stderr.contains("explicit deny in a service control policy"), "{stderr}");
    ok(&home, &[], &["backup", "describe-backup-vault", "--backup-vault-name", "Default", "--account-id", MEMBER]);
}

/// The audit trail's newest event of `operation`.
fn last_event(home: &Home, operation: &str) -> Value {
    let filter = format!("AttributeKey=EventName,AttributeValue={operation}");
    let events = ok(home, &[], &["audit", "lookup-events", "--lookup-attributes", &filter]);
    let first = &events["Events"][0];
    serde_json::from_str(first["CloudTrailEvent"].as_str().unwrap_or_else(|| panic!("no {operation} event: {events}"))).unwrap()
}

#[test]
fn bad_input_is_refused_clearly_changes_nothing_and_is_audited() {
    let home = Home::new();
    organization(&home);
    let user = ["--user-name", "admin", "--account-id", MEMBER];
    let policies = |home: &Home| ok(home, &[], &[&["iam", "list-user-policies"][..], &user].concat());
    let before = policies(&home);

    // A malformed document: the JSON error, nothing stored.
    let stderr = refused(&home, &[], &[&["iam", "put-user-policy", "--policy-name", "p", "--policy-document", r#"{"Version":"2012-10-17","Statement":["#][..], &user].concat(), "MalformedPolicyDocumentException");
    assert!(stderr.contains('$'), "{stderr}");
    // An unknown condition operator, named with its path.
    let unknown = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*","Condition":{"StringEqualz":{"aws:PrincipalAccount":"1"}}}]}"#;
    let stderr = refused(&home, &[], &[&["iam", "put-user-policy", "--policy-name", "p", "--policy-document", unknown][..], &user].concat(), "MalformedPolicyDocumentException");
    assert!(stderr.contains("Statement[0].Condition.StringEqualz"), "{stderr}");
    // An invalid ARN in a resource, and as a role to assume.
    let bad_arn = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"arn:aws:backup"}]}"#;
    let stderr = refused(&home, &[], &[&["iam", "put-user-policy", "--policy-name", "p", "--policy-document", bad_arn][..], &user].concat(), "MalformedPolicyDocumentException");
    assert!(stderr.contains("Statement[0].Resource"), "{stderr}");
    assert_eq!(policies(&home), before, "refused documents change nothing");
    let stderr = refused(&home, &[], &["backup", "put-backup-vault-access-policy", "--backup-vault-name", "central", "--account-id", CENTRAL, "--policy", unknown], "InvalidParameterValueException");
    assert!(stderr.contains("StringEqualz"), "{stderr}");
    let policy = ok(&home, &[], &["backup", "get-backup-vault-access-policy", "--backup-vault-name", "central", "--account-id", CENTRAL]);
    assert!(s(&policy["Policy"]).contains("aws:PrincipalOrgID"), "the central policy stayed");
    assert_eq!(last_event(&home, "PutUserPolicy")["errorCode"], "MalformedPolicyDocumentException");

    // Credentials: a user with MFA.
    let key = ok(&home, &[], &[&["iam", "create-access-key"][..], &user].concat());
    let (id, secret) = (s(&key["AccessKey"]["AccessKeyId"]), s(&key["AccessKey"]["SecretAccessKey"]));
    let creds = [("BUNKER_ACCESS_KEY_ID", id.as_str()), ("BUNKER_SECRET_ACCESS_KEY", secret.as_str())];
    let device = ok(&home, &[], &["iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "admin", "--account-id", MEMBER]);
    let serial = s(&device["VirtualMFADevice"]["SerialNumber"]);
    let seed = s(&device["VirtualMFADevice"]["Base32StringSeed"]);
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let code = |at: jiff::Timestamp| bunker_core::security::mfa::code_at(&seed, at).unwrap();
    let (c1, c2) = (code(t0 - jiff::SignedDuration::from_secs(30)), code(t0));
    ok(&home, &[], &[&["iam", "enable-mfa-device", "--serial-number", &serial, "--authentication-code1", &c1, "--authentication-code2", &c2][..], &user].concat());

    // An invalid role ARN.
    refused(&home, &creds, &["sts", "assume-role", "--role-arn", "not-an-arn", "--role-session-name", "s"], "InvalidParameterValueException");
    // A wrong MFA code: refused, audited, no session.
    let wrong = if code(t0) == "000000" { "111111" } else { "000000" };
    refused(&home, &creds, &["sts", "get-session-token", "--serial-number", &serial, "--token-code", wrong], "InvalidAuthenticationCodeException");
    let event = last_event(&home, "GetSessionToken");
    assert_eq!(event["errorCode"], "InvalidAuthenticationCodeException", "{event}");
    assert_eq!(event["userIdentity"]["arn"], format!("arn:aws:iam::{MEMBER}:user/admin"), "{event}");
    // The right code: a 15-minute session with MFA …
    let next = code(t0 + jiff::SignedDuration::from_secs(30));
    let session = ok(&home, &creds, &["sts", "get-session-token", "--serial-number", &serial, "--token-code", &next, "--duration-seconds", "900"]);
    let session = &session["Credentials"];
    let temporary = [
        ("BUNKER_ACCESS_KEY_ID", session["AccessKeyId"].as_str().unwrap()),
        ("BUNKER_SECRET_ACCESS_KEY", session["SecretAccessKey"].as_str().unwrap()),
        ("BUNKER_SESSION_TOKEN", session["SessionToken"].as_str().unwrap()),
    ];
    ok(&home, &temporary, &["sts", "get-caller-identity"]);
    // … whose code cannot be used twice.
    refused(&home, &creds, &["sts", "get-session-token", "--serial-number", &serial, "--token-code", &next], "InvalidAuthenticationCodeException");
    // An hour later the session has expired: refused and audited with its key.
    let later = (t0 + jiff::SignedDuration::from_hours(1)).to_string();
    let mut expired = home.command();
    expired.env("BUNKER_FAKE_NOW", &later).envs(temporary).args(["backup", "list-backup-vaults"]);
    let out = expired.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(254), "{stderr}");
    assert!(stderr.starts_with("An error occurred (ExpiredTokenException)"), "{stderr}");
    let event = last_event(&home, "ListBackupVaults");
    assert_eq!(event["errorCode"], "ExpiredTokenException", "{event}");
    assert_eq!(event["userIdentity"]["accessKeyId"], temporary[0].1, "{event}");
    // A wrong secret.
    let wrong_secret = [("BUNKER_ACCESS_KEY_ID", id.as_str()), ("BUNKER_SECRET_ACCESS_KEY", "not-the-secret")];
    refused(&home, &wrong_secret, &["backup", "list-backup-vaults"], "InvalidClientTokenId");

    // Nothing above changed the member's policies, and the trail is whole.
    assert_eq!(policies(&home), before);
    let report = ok(&home, &[], &["audit", "verify"]);
    assert_eq!(report["Valid"], true, "{report}");
}
