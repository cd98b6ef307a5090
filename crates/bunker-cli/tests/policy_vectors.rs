//! Every AWS-documented policy vector in `testdata/policy-vectors`, through the real
//! `bunker` binary on a fresh home: build the tree, create and attach the policies in
//! order, and compare `describe-effective-policy` with the expected document; vectors
//! with `expected_error` must be refused by `create-policy`, naming the rule and path.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Self {
        Home(tempfile::tempdir().unwrap())
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_bunker")).arg("--home").arg(self.0.path()).args(args).output().unwrap()
    }
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "bunker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        if out.stdout.is_empty() { Value::Null } else { serde_json::from_slice(&out.stdout).unwrap() }
    }
}

/// Creates the OUs and accounts of a vector's tree under `parent`; returns (ou name → id).
fn build(home: &Home, node: &Value, parent: &str, ous: &mut Vec<(String, String)>) {
    for account in node["accounts"].as_array().into_iter().flatten() {
        let id = account.as_str().unwrap();
        home.json(&["org", "create-account", "--account-name", &format!("acct-{id}"), "--email", &format!("{id}@example.com"), "--account-id", id, "--parent-id", parent]);
    }
    for (name, ou) in node["ous"].as_object().into_iter().flatten() {
        let created = home.json(&["org", "create-organizational-unit", "--parent-id", parent, "--name", name]);
        let id = created["OrganizationalUnit"]["Id"].as_str().unwrap().to_owned();
        ous.push((name.clone(), id.clone()));
        build(home, ou, &id, ous);
    }
}

fn run_vector(path: &Path) {
    let file = path.file_name().unwrap().to_string_lossy();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let home = Home::new();
    home.json(&["org", "create-organization"]);
    let root = home.json(&["org", "list-roots"])["Roots"][0]["Id"].as_str().unwrap().to_owned();
    home.json(&["org", "enable-policy-type", "--root-id", &root, "--policy-type", "BACKUP_POLICY"]);
    let mut ous = Vec::new();
    build(&home, &v["tree"]["root"], &root, &mut ous);

    for (i, a) in v["attachments"].as_array().unwrap().iter().enumerate() {
        let content = a["policy"].to_string();
        let name = format!("policy-{i}");
        let out = home.run(&["org", "create-policy", "--type", "BACKUP_POLICY", "--name", &name, "--content", &content]);
        if let Some(expected) = v.get("expected_error").and_then(Value::as_str) {
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("MalformedPolicyDocumentException"), "{file}: {stderr}");
                let rule = if expected.contains("+ 90") {
                    "cold-storage-minimum"
                } else if expected.contains("enable_continuous_backup") {
                    "continuous-backup-limit"
                } else {
                    "invalid-schedule"
                };
                assert!(stderr.contains(rule), "{file}: stderr does not name rule {rule}: {stderr}");
                if let Some(p) = v.get("error_path").and_then(Value::as_str) {
                    assert!(stderr.contains(p), "{file}: stderr does not name path {p}: {stderr}");
                }
                // Nothing was stored.
                let listed = home.json(&["org", "list-policies", "--filter", "BACKUP_POLICY"]);
                assert!(listed["Policies"].as_array().unwrap().iter().all(|p| p["Name"] != name.as_str()), "{file}");
                return;
            }
        } else {
            assert!(out.status.success(), "{file}: create-policy failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
        let policy_id = policy["Policy"]["PolicySummary"]["Id"].as_str().unwrap().to_owned();
        let target = a["target"].as_str().unwrap();
        let target_id = match target.split_once(':') {
            None => root.clone(),
            Some(("ou", name)) => ous.iter().find(|(n, _)| n == name).unwrap().1.clone(),
            Some(("account", id)) => id.to_owned(),
            Some(_) => panic!("{file}: unknown target {target}"),
        };
        home.json(&["org", "attach-policy", "--policy-id", &policy_id, "--target-id", &target_id]);
    }
    assert!(v.get("expected_error").is_none(), "{file}: every policy was accepted, but the vector expects an error");

    let account = v["account"].as_str().unwrap();
    let out = home.json(&["org", "describe-effective-policy", "--policy-type", "BACKUP_POLICY", "--target-id", account]);
    let eff = &out["EffectivePolicy"];
    assert_eq!(eff["TargetId"], account, "{file}");
    assert_eq!(eff["PolicyType"], "BACKUP_POLICY", "{file}");
    let content: Value = serde_json::from_str(eff["PolicyContent"].as_str().unwrap()).unwrap();
    assert_eq!(content, v["expected_effective"], "{file}:\n got {content}\nwant {}", v["expected_effective"]);
}

#[test]
fn every_policy_vector_through_the_cli() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policy-vectors");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    assert!(files.len() >= 16);
    for f in &files {
        run_vector(f);
    }
}
