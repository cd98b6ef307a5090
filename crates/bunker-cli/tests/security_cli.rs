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

/// A user of `account` with AdministratorAccess and an MFA device: its long-term keys, and
/// a way to open an MFA session at a given second after `T0`.
struct Person {
    keys: Vec<(String, String)>,
    serial: String,
    seed: String,
    arn: String,
}

fn person(home: &Home, account: &str, name: &str) -> Person {
    let user = ["--user-name", name, "--account-id", account];
    ok(home, &[], &[&["iam", "create-user"][..], &user].concat());
    ok(home, &[], &[&["iam", "attach-user-policy", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"][..], &user].concat());
    let key = ok(home, &[], &[&["iam", "create-access-key"][..], &user].concat());
    let keys = vec![
        ("BUNKER_ACCESS_KEY_ID".to_owned(), s(&key["AccessKey"]["AccessKeyId"])),
        ("BUNKER_SECRET_ACCESS_KEY".to_owned(), s(&key["AccessKey"]["SecretAccessKey"])),
    ];
    let device = ok(home, &[], &["iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name, "--account-id", account]);
    let (serial, seed) = (s(&device["VirtualMFADevice"]["SerialNumber"]), s(&device["VirtualMFADevice"]["Base32StringSeed"]));
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let c1 = bunker_core::security::mfa::code_at(&seed, t0 - jiff::SignedDuration::from_secs(30)).unwrap();
    let c2 = bunker_core::security::mfa::code_at(&seed, t0).unwrap();
    ok(home, &[], &[&["iam", "enable-mfa-device", "--serial-number", &serial, "--authentication-code1", &c1, "--authentication-code2", &c2][..], &user].concat());
    Person { keys, serial, seed, arn: format!("arn:aws:iam::{account}:user/{name}") }
}

impl Person {
    fn env(&self) -> Vec<(&str, &str)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// A 15-minute MFA session (the next unused code).
    fn session(&self, home: &Home, step: i64) -> Vec<(String, String)> {
        let t0: jiff::Timestamp = T0.parse().unwrap();
        let code = bunker_core::security::mfa::code_at(&self.seed, t0 + jiff::SignedDuration::from_secs(30 * step)).unwrap();
        let at = (t0 + jiff::SignedDuration::from_secs(30 * step)).to_string();
        let mut c = home.command();
        c.env("BUNKER_FAKE_NOW", &at).envs(self.env()).args(["sts", "get-session-token", "--serial-number", &self.serial, "--token-code", &code, "--duration-seconds", "900"]);
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let cr = &v["Credentials"];
        vec![
            ("BUNKER_ACCESS_KEY_ID".into(), s(&cr["AccessKeyId"])),
            ("BUNKER_SECRET_ACCESS_KEY".into(), s(&cr["SecretAccessKey"])),
            ("BUNKER_SESSION_TOKEN".into(), s(&cr["SessionToken"])),
        ]
    }
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

#[test]
fn the_two_person_rule_makes_key_deletion_need_a_second_principal() {
    let home = Home::new();
    organization(&home);
    ok(&home, &[], &["backup", "create-backup-vault", "--backup-vault-name", "Default", "--account-id", CENTRAL]);
    let (alice, bob) = (person(&home, CENTRAL, "alice"), person(&home, CENTRAL, "bob"));
    ok(&home, &[], &["iam", "enable-two-person-rule", "--account-id", CENTRAL]);
    let delete_key = ["kms", "schedule-key-deletion", "--key-id", "alias/aws/backup", "--pending-window-in-days", "7", "--account-id", CENTRAL];
    let key_state = |home: &Home| s(&ok(home, &[], &["kms", "describe-key", "--key-id", "alias/aws/backup", "--account-id", CENTRAL])["KeyMetadata"]["KeyState"]);

    // Alice alone: refused, and a request is waiting.
    let a = alice.session(&home, 1);
    let stderr = refused(&home, &pairs(&a), &delete_key, "AccessDeniedException");
    assert!(stderr.contains("two-person rule"), "{stderr}");
    let id = stderr.split("Approval request ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_owned();
    assert_eq!(key_state(&home), "Enabled");
    // She cannot approve her own request; Bob cannot without MFA.
    refused(&home, &pairs(&a), &["iam", "approve-request", "--request-id", &id, "--account-id", CENTRAL], "AccessDeniedException");
    let stderr = refused(&home, &bob.env(), &["iam", "approve-request", "--request-id", &id, "--account-id", CENTRAL], "AccessDeniedException");
    assert!(stderr.contains("MFA"), "{stderr}");
    // A made-up request id does nothing.
    let mut with_wrong = pairs(&a);
    with_wrong.push(("BUNKER_APPROVAL_ID", "apr-0000000000000000"));
    refused(&home, &with_wrong, &delete_key, "AccessDeniedException");
    // Bob with MFA approves; Alice repeats naming the request: the key is scheduled.
    let b = bob.session(&home, 2);
    let approved = ok(&home, &pairs(&b), &["iam", "approve-request", "--request-id", &id, "--account-id", CENTRAL]);
    assert_eq!(approved["ApprovalRequest"]["Status"], "APPROVED");
    assert_eq!(approved["ApprovalRequest"]["ApprovedBy"], bob.arn.as_str());
    let mut with_approval = pairs(&a);
    with_approval.push(("BUNKER_APPROVAL_ID", id.as_str()));
    ok(&home, &with_approval, &delete_key);
    assert_eq!(key_state(&home), "PendingDeletion");
    // The approval is good once.
    ok(&home, &[], &["kms", "cancel-key-deletion", "--key-id", "alias/aws/backup", "--account-id", CENTRAL]);
    refused(&home, &with_approval, &delete_key, "AccessDeniedException");
    let listed = ok(&home, &[], &["iam", "list-approval-requests", "--account-id", CENTRAL]);
    let statuses: Vec<String> = listed["ApprovalRequests"].as_array().unwrap().iter().map(|r| s(&r["Status"])).collect();
    assert!(statuses.contains(&"USED".to_owned()), "{listed}");
    assert_eq!(listed["ApprovalRequests"].as_array().unwrap().iter().find(|r| r["RequestId"] == id.as_str()).unwrap()["RequestedBy"], alice.arn.as_str());
    // Turning the rule off is guarded too; every step is in the trail.
    refused(&home, &pairs(&a), &["iam", "disable-two-person-rule", "--account-id", CENTRAL], "AccessDeniedException");
    assert_eq!(last_event(&home, "ApproveRequest")["userIdentity"]["arn"], bob.arn.as_str());
    assert_eq!(ok(&home, &[], &["audit", "verify"])["Valid"], true);
}
