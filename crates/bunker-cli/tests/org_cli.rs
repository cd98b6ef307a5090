//! End to end: the real `bunker` binary against a temporary home, read back through its
//! JSON output. Every failing command is checked to leave the organization unchanged.

mod support;

use serde_json::{Value, json};
use support::{Home, is_aws_cli_timestamp, keys};

const MGMT: &str = "111111111111";

const DAILY: &str = r#"{"plans":{"Daily":{
    "regions":{"@@assign":["us-east-1"]},
    "rules":{"Nightly":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},
        "target_backup_vault_name":{"@@assign":"Central","@@operators_allowed_for_child_policies":["@@none"]},
        "lifecycle":{"delete_after_days":{"@@assign":"35"}}}},
    "selections":{"tags":{"all":{"iam_role_arn":{"@@assign":"arn:aws:iam::$account:role/Backup"},
        "tag_key":{"@@assign":"backup"},"tag_value":{"@@assign":["true"]}}}}}}}"#;

const EU: &str = r#"{"plans":{"Daily":{"regions":{"@@append":["eu-west-1"]}}}}"#;

const OWN_VAULT: &str = r#"{"plans":{"Daily":{"rules":{"Nightly":{"target_backup_vault_name":{"@@assign":"Mine"}}}}}}"#;

impl Home {
    /// Runs an org command that must fail with the AWS exception `code` (exit 254), and
    /// checks that nothing changed. Returns stderr.
    fn fails(&self, args: &[&str], code: &str, operation: &str) -> String {
        let before = self.snapshot();
        let stderr = self.service_error(args, code, operation);
        assert_eq!(self.snapshot(), before, "bunker {args:?} changed the catalog");
        stderr
    }

    /// Everything the organization holds, as listed by the CLI.
    fn snapshot(&self) -> Value {
        let roots = self.ok(&["org", "list-roots"]);
        let mut tree = Vec::new();
        let mut parents = vec![roots["Roots"][0]["Id"].as_str().unwrap().to_owned()];
        while let Some(parent) = parents.pop() {
            let ous = self.ok(&["org", "list-organizational-units-for-parent", "--parent-id", &parent]);
            let accounts = self.ok(&["org", "list-accounts-for-parent", "--parent-id", &parent]);
            let policies = self.ok(&["org", "list-policies-for-target", "--target-id", &parent, "--filter", "BACKUP_POLICY"]);
            for ou in ous["OrganizationalUnits"].as_array().unwrap() {
                parents.push(ou["Id"].as_str().unwrap().to_owned());
            }
            tree.push(json!([parent, ous, accounts, policies]));
        }
        let mut policies = Vec::new();
        for summary in self.ok(&["org", "list-policies", "--filter", "BACKUP_POLICY"])["Policies"].as_array().unwrap() {
            let id = summary["Id"].as_str().unwrap();
            let policy = self.ok(&["org", "describe-policy", "--policy-id", id]);
            let targets = self.ok(&["org", "list-targets-for-policy", "--policy-id", id]);
            policies.push(json!([policy, targets]));
        }
        let accounts = self.ok(&["org", "list-accounts"]);
        let account_policies: Vec<Value> = accounts["Accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| self.ok(&["org", "list-policies-for-target", "--target-id", a["Id"].as_str().unwrap(), "--filter", "BACKUP_POLICY"]))
            .collect();
        json!({"Roots": roots, "Tree": tree, "Accounts": accounts, "AccountPolicies": account_policies, "Policies": policies})
    }

    /// An organization with management account [`MGMT`]; returns the root id.
    fn organization(&self) -> String {
        self.ok(&["org", "create-organization", "--management-account-id", MGMT]);
        self.text(&["org", "list-roots"], "Roots[0].Id")
    }

    fn policy(&self, name: &str, content: &str) -> String {
        let out = self.ok(&["org", "create-policy", "--type", "BACKUP_POLICY", "--name", name, "--content", content]);
        out["Policy"]["PolicySummary"]["Id"].as_str().unwrap().to_owned()
    }
}

#[test]
fn the_whole_lifecycle() {
    let home = Home::new();
    let org = home.ok(&["org", "create-organization", "--management-account-id", MGMT, "--management-account-email", "ops@example.com"]);
    let o = &org["Organization"];
    assert_eq!(keys(o), ["Id", "Arn", "FeatureSet", "MasterAccountArn", "MasterAccountId", "MasterAccountEmail", "AvailablePolicyTypes"]);
    let org_id = o["Id"].as_str().unwrap();
    assert_eq!(o["Arn"], format!("arn:bunker:organizations::{MGMT}:organization/{org_id}"));
    assert_eq!(o["MasterAccountEmail"], "ops@example.com");
    assert_eq!(home.ok(&["org", "describe-organization"]), org);
    assert!(home.path().join("catalog.db").exists());

    let roots = home.ok(&["org", "list-roots"]);
    let root = roots["Roots"][0]["Id"].as_str().unwrap().to_owned();
    assert_eq!(roots["Roots"][0]["Name"], "Root");
    assert_eq!(roots["Roots"][0]["PolicyTypes"], json!([]));
    let enabled = home.ok(&["org", "enable-policy-type", "--root-id", &root, "--policy-type", "BACKUP_POLICY"]);
    assert_eq!(enabled["Root"]["PolicyTypes"], json!([{"Type": "BACKUP_POLICY", "Status": "ENABLED"}]));
    assert_eq!(home.ok(&["org", "list-roots"])["Roots"][0], enabled["Root"]);

    // The tree.
    let prod = home.ok(&["org", "create-organizational-unit", "--parent-id", &root, "--name", "Production"]);
    assert_eq!(keys(&prod["OrganizationalUnit"]), ["Id", "Arn", "Name"]);
    let prod = prod["OrganizationalUnit"]["Id"].as_str().unwrap().to_owned();
    let eu = home.text(&["org", "create-organizational-unit", "--parent-id", &prod, "--name", "ProdEU"], "OrganizationalUnit.Id");
    let dev = home.text(&["org", "create-organizational-unit", "--parent-id", &root, "--name", "Development"], "OrganizationalUnit.Id");
    let under_root = home.ok(&["org", "list-organizational-units-for-parent", "--parent-id", &root]);
    let names: Vec<&str> = under_root["OrganizationalUnits"].as_array().unwrap().iter().map(|o| o["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Production", "Development"]);
    assert_eq!(home.ok(&["org", "describe-organizational-unit", "--organizational-unit-id", &eu])["OrganizationalUnit"]["Name"], "ProdEU");

    let created = home.ok(&["org", "create-account", "--account-name", "payments", "--email", "pay@example.com", "--account-id", "222222222222", "--parent-id", &eu]);
    let status = &created["CreateAccountStatus"];
    assert_eq!(keys(status), ["Id", "AccountName", "State", "RequestedTimestamp", "CompletedTimestamp", "AccountId"]);
    assert_eq!(status["State"], "SUCCEEDED");
    assert_eq!(status["AccountId"], "222222222222");
    assert!(status["Id"].as_str().unwrap().starts_with("car-"));
    assert!(is_aws_cli_timestamp(&status["RequestedTimestamp"]), "{status}");
    let generated = home.text(&["org", "create-account", "--account-name", "sandbox", "--email", "sb@example.com"], "CreateAccountStatus.AccountId");
    assert_eq!(generated.len(), 12);

    let accounts = home.ok(&["org", "list-accounts"]);
    let accounts = accounts["Accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 3);
    assert_eq!(keys(&accounts[0]), ["Id", "Arn", "Email", "Name", "Status", "JoinedMethod", "JoinedTimestamp"]);
    assert!(accounts.iter().all(|a| a["Status"] == "ACTIVE" && a["JoinedMethod"] == "CREATED" && is_aws_cli_timestamp(&a["JoinedTimestamp"])));
    let payments = home.ok(&["org", "describe-account", "--account-id", "222222222222"]);
    assert_eq!(payments["Account"]["Arn"], format!("arn:bunker:organizations::{MGMT}:account/{org_id}/222222222222"));
    assert_eq!(home.ok(&["org", "list-parents", "--child-id", "222222222222"]), json!({"Parents": [{"Id": eu, "Type": "ORGANIZATIONAL_UNIT"}]}));
    assert_eq!(home.ok(&["org", "list-children", "--parent-id", &prod, "--child-type", "ORGANIZATIONAL_UNIT"]), json!({"Children": [{"Id": eu, "Type": "ORGANIZATIONAL_UNIT"}]}));

    assert_eq!(home.ok(&["org", "move-account", "--account-id", &generated, "--source-parent-id", &root, "--destination-parent-id", &dev]), Value::Null);
    assert_eq!(home.ok(&["org", "list-accounts-for-parent", "--parent-id", &dev])["Accounts"][0]["Id"], generated.as_str());

    // Policies: from a file and inline.
    let file = home.path().join("daily.json");
    std::fs::write(&file, DAILY).unwrap();
    let daily = home.ok(&["org", "create-policy", "--type", "BACKUP_POLICY", "--name", "daily", "--description", "every day", "--content", &format!("file://{}", file.display())]);
    let summary = &daily["Policy"]["PolicySummary"];
    assert_eq!(keys(summary), ["Id", "Arn", "Name", "Description", "Type", "AwsManaged"]);
    assert_eq!(summary["AwsManaged"], false);
    assert_eq!(daily["Policy"]["Content"], DAILY);
    let daily_id = summary["Id"].as_str().unwrap().to_owned();
    assert_eq!(summary["Arn"], format!("arn:bunker:organizations::{MGMT}:policy/{org_id}/backup_policy/{daily_id}"));
    assert_eq!(home.ok(&["org", "describe-policy", "--policy-id", &daily_id]), daily);
    let eu_policy = home.policy("eu", EU);
    let own_vault = home.policy("own-vault", OWN_VAULT);
    let listed = home.ok(&["org", "list-policies", "--filter", "BACKUP_POLICY"]);
    assert_eq!(listed["Policies"].as_array().unwrap().len(), 3);
    let renamed = home.ok(&["org", "update-policy", "--policy-id", &own_vault, "--name", "payments-vault", "--description", "tries its own vault"]);
    assert_eq!(renamed["Policy"]["PolicySummary"]["Name"], "payments-vault");
    assert_eq!(renamed["Policy"]["Content"], OWN_VAULT);

    for (policy, target) in [(&daily_id, &root), (&eu_policy, &prod), (&own_vault, &"222222222222".to_owned())] {
        assert_eq!(home.ok(&["org", "attach-policy", "--policy-id", policy, "--target-id", target]), Value::Null);
    }
    let for_target = home.ok(&["org", "list-policies-for-target", "--target-id", &prod, "--filter", "BACKUP_POLICY"]);
    assert_eq!(for_target["Policies"][0]["Id"], eu_policy.as_str());
    let targets = home.ok(&["org", "list-targets-for-policy", "--policy-id", &daily_id]);
    assert_eq!(targets["Targets"][0]["TargetId"], root.as_str());
    assert_eq!(targets["Targets"][0]["Type"], "ROOT");
    assert_eq!(targets["Targets"][0]["Name"], "Root");
    assert_eq!(keys(&targets["Targets"][0]), ["TargetId", "Arn", "Name", "Type"]);

    // Effective policy: root + Production + the account's own (ignored) vault.
    let effective = home.ok(&["org", "describe-effective-policy", "--policy-type", "BACKUP_POLICY", "--target-id", "222222222222"]);
    let e = &effective["EffectivePolicy"];
    assert_eq!(keys(e), ["PolicyContent", "LastUpdatedTimestamp", "TargetId", "PolicyType"]);
    assert_eq!(e["TargetId"], "222222222222");
    assert_eq!(e["PolicyType"], "BACKUP_POLICY");
    assert!(is_aws_cli_timestamp(&e["LastUpdatedTimestamp"]), "{e}");
    let content: Value = serde_json::from_str(e["PolicyContent"].as_str().unwrap()).unwrap();
    assert_eq!(content["plans"]["daily"]["regions"], json!(["us-east-1", "eu-west-1"]));
    assert_eq!(content["plans"]["daily"]["rules"]["nightly"]["target_backup_vault_name"], "Central");
    // Without --target-id: the management account (the caller), which gets the root's only.
    let mgmt = home.ok(&["org", "describe-effective-policy", "--policy-type", "BACKUP_POLICY"]);
    assert_eq!(mgmt["EffectivePolicy"]["TargetId"], MGMT);

    let explained = home.ok(&["org", "explain-effective-policy", "--target-id", "222222222222"]);
    assert_eq!(explained["TargetId"], "222222222222");
    let text = explained["Explanation"].to_string();
    assert!(text.contains(&own_vault) && text.contains("Mine"), "{text}");

    let plans = home.ok(&["org", "list-effective-plans", "--account-id", "222222222222"]);
    let mut regions: Vec<&str> = plans["BackupPlans"].as_array().unwrap().iter().map(|p| p["Region"].as_str().unwrap()).collect();
    regions.sort();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    let eu_only = home.ok(&["org", "list-effective-plans", "--account-id", "222222222222", "--region", "eu-west-1"]);
    assert_eq!(eu_only["BackupPlans"].as_array().unwrap().len(), 1);

    // Tear down.
    assert_eq!(home.ok(&["org", "detach-policy", "--policy-id", &own_vault, "--target-id", "222222222222"]), Value::Null);
    assert_eq!(home.ok(&["org", "delete-policy", "--policy-id", &own_vault]), Value::Null);
    let disabled = home.ok(&["org", "disable-policy-type", "--root-id", &root, "--policy-type", "BACKUP_POLICY"]);
    assert_eq!(disabled["Root"]["PolicyTypes"], json!([]));
    assert_eq!(home.ok(&["org", "list-targets-for-policy", "--policy-id", &daily_id]), json!({"Targets": []}));
    home.ok(&["org", "move-account", "--account-id", &generated, "--source-parent-id", &dev, "--destination-parent-id", &root]);
    assert_eq!(home.ok(&["org", "delete-organizational-unit", "--organizational-unit-id", &dev]), Value::Null);
    assert_eq!(home.ok(&["org", "list-organizational-units-for-parent", "--parent-id", &root])["OrganizationalUnits"].as_array().unwrap().len(), 1);
}

#[test]
fn a_malformed_policy_names_each_path_and_rule() {
    let home = Home::new();
    home.organization();
    let content = r#"{"plans":{"Daily":{"regions":{"@@assign":["mars-1"]},"rules":{"R":{"schedule_expression":{"@@assign":"cron(0 5 * * * *)"}}}}}}"#;
    let stderr = home.fails(&["org", "create-policy", "--type", "BACKUP_POLICY", "--name", "bad", "--content", content], "MalformedPolicyDocumentException", "CreatePolicy");
    assert!(stderr.contains("plans.Daily.regions[0]") && stderr.contains("[invalid-region]"), "{stderr}");
    assert!(stderr.contains("plans.Daily.rules.R.schedule_expression") && stderr.contains("[invalid-schedule]"), "{stderr}");
    let stderr = home.fails(&["org", "create-policy", "--type", "BACKUP_POLICY", "--name", "bad", "--content", "{not json"], "MalformedPolicyDocumentException", "CreatePolicy");
    assert!(stderr.contains("[invalid-json]"), "{stderr}");
}

#[test]
fn an_unknown_target_id() {
    let home = Home::new();
    let root = home.organization();
    home.ok(&["org", "enable-policy-type", "--root-id", &root, "--policy-type", "BACKUP_POLICY"]);
    let policy = home.policy("daily", DAILY);
    let stderr = home.fails(&["org", "attach-policy", "--policy-id", &policy, "--target-id", "999999999999"], "TargetNotFoundException", "AttachPolicy");
    assert!(stderr.contains("999999999999"), "{stderr}");
    home.fails(&["org", "describe-effective-policy", "--policy-type", "BACKUP_POLICY", "--target-id", "999999999999"], "TargetNotFoundException", "DescribeEffectivePolicy");
    home.fails(&["org", "attach-policy", "--policy-id", &policy, "--target-id", "not-an-id"], "InvalidInputException", "AttachPolicy");
}

#[test]
fn attaching_before_backup_policies_are_enabled() {
    let home = Home::new();
    home.organization();
    let policy = home.policy("daily", DAILY);
    let stderr = home.fails(&["org", "attach-policy", "--policy-id", &policy, "--target-id", MGMT], "PolicyTypeNotEnabledException", "AttachPolicy");
    assert!(stderr.contains("BACKUP_POLICY"), "{stderr}");
}

#[test]
fn deleting_an_attached_policy() {
    let home = Home::new();
    let root = home.organization();
    home.ok(&["org", "enable-policy-type", "--root-id", &root, "--policy-type", "BACKUP_POLICY"]);
    let policy = home.policy("daily", DAILY);
    home.ok(&["org", "attach-policy", "--policy-id", &policy, "--target-id", &root]);
    let stderr = home.fails(&["org", "delete-policy", "--policy-id", &policy], "PolicyInUseException", "DeletePolicy");
    assert!(stderr.contains(&policy) && stderr.contains(&root), "{stderr}");
}

#[test]
fn more_refusals_leave_the_catalog_alone() {
    let home = Home::new();
    let root = home.organization();
    let ou = home.text(&["org", "create-organizational-unit", "--parent-id", &root, "--name", "Prod"], "OrganizationalUnit.Id");
    home.ok(&["org", "create-account", "--account-name", "a", "--email", "a@example.com", "--parent-id", &ou]);
    home.fails(&["org", "create-organizational-unit", "--parent-id", &root, "--name", "Prod"], "DuplicateOrganizationalUnitException", "CreateOrganizationalUnit");
    home.fails(&["org", "delete-organizational-unit", "--organizational-unit-id", &ou], "OrganizationalUnitNotEmptyException", "DeleteOrganizationalUnit");
    home.fails(&["org", "create-account", "--account-name", "b", "--email", "A@example.com"], "DuplicateAccountException", "CreateAccount");
    home.fails(&["org", "create-organization"], "AlreadyInOrganizationException", "CreateOrganization");
    home.fails(&["org", "create-policy", "--type", "TAG_POLICY", "--name", "tags", "--content", "{}"], "InvalidInputException", "CreatePolicy");
    home.fails(&["org", "create-policy", "--type", "SERVICE_CONTROL_POLICY", "--name", "scp", "--content", "{}"], "MalformedPolicyDocumentException", "CreatePolicy");
    home.fails(&["org", "describe-effective-policy", "--policy-type", "BACKUP_POLICY", "--target-id", MGMT], "EffectivePolicyNotFoundException", "DescribeEffectivePolicy");
}

#[test]
fn before_create_organization() {
    let home = Home::new();
    let out = home.run(&["org", "list-accounts"]);
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("(AWSOrganizationsNotInUseException) when calling the ListAccounts operation"));
}

#[test]
fn a_missing_content_file_is_a_parameter_error() {
    let home = Home::new();
    home.organization();
    let out = home.run(&["org", "create-policy", "--type", "BACKUP_POLICY", "--name", "x", "--content", "file:///nonexistent/p.json"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Error parsing parameter '--content'"));
}

#[test]
fn table_output() {
    let home = Home::new();
    let root = home.organization();
    home.ok(&["org", "create-account", "--account-name", "web", "--email", "web@example.com", "--account-id", "222222222222"]);
    let out = home.run(&["org", "list-accounts", "--output", "table"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "Accounts");
    assert!(lines[2].starts_with("| Id ") && lines[2].contains("| Email ") && lines[2].contains("| JoinedTimestamp "), "{table}");
    assert!(lines.iter().any(|l| l.starts_with(&format!("| {MGMT} "))), "{table}");
    assert!(lines.iter().any(|l| l.starts_with("| 222222222222 ") && l.contains(" web ")), "{table}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("+-")).count(), 3);

    let out = home.run(&["org", "describe-organizational-unit", "--organizational-unit-id", "ou-zzzz-zzzzzzzz", "--output", "table"]);
    assert_eq!(out.status.code(), Some(254));
    let out = home.run(&["org", "list-roots", "--output", "table"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains(&format!("| {root} ")));
}

/// The subcommand names listed in a `--help` output.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn help_everywhere() {
    let home = Home::new();
    let top = home.run(&["--help"]);
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    assert_eq!(subcommands(&top), ["org", "backup", "resource", "iam", "sts", "kms", "audit", "demo", "run", "vault"]);
    let org = String::from_utf8(home.run(&["org", "--help"]).stdout).unwrap();
    let names = subcommands(&org);
    assert_eq!(names.len(), 31, "{names:?}");
    for name in names.iter().map(|n| format!("org {n}")).chain(["demo".to_owned()]) {
        let args: Vec<&str> = name.split(' ').chain(["--help"]).collect();
        let out = home.run(&args);
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{name} --help");
        assert!(help.contains(&format!("Usage: bunker {name}")), "{name}: {help}");
    }
    assert!(!home.path().join("catalog.db").exists(), "--help must not create a catalog");
}

#[test]
fn usage_errors_exit_2() {
    let home = Home::new();
    let out = home.run(&["org", "create-organizational-unit", "--name", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--parent-id"));
    assert_eq!(home.run(&["org", "no-such-command"]).status.code(), Some(2));
    assert_eq!(home.run(&["--output", "yaml", "org", "list-roots"]).status.code(), Some(2));
}

#[test]
fn the_demo_runs_and_never_reuses_a_home() {
    let home = Home::new();
    let demo_home = home.path().join("demo");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bunker")).arg("demo").arg("--home").arg(&demo_home).output().unwrap()
    };
    let out = run();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for expected in ["prod-eu-payments", "OrgCentralVault", "IGNORED", "PaymentsVault", "bunker org attach-policy"] {
        assert!(stdout.contains(expected), "{expected} missing from:\n{stdout}");
    }
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a catalog"));
}
