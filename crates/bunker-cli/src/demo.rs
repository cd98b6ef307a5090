//! `bunker demo`: builds a small organization with three backup policies in a fresh home,
//! shows what each account ends up with, and prints the `bunker org …` commands that do
//! the same by hand. It calls the service directly; the organization, the policies and
//! the printed commands all come from the same tables below, so they cannot drift apart.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bunker_core::{CreateAccount, CreateOrganization, CreatePolicy, Organizations};
use serde_json::Value;

use bunker_service::CATALOG_FILE;

mod protect;

/// The management account.
const MANAGEMENT: (&str, &str) = ("111111111111", "management@example.com");

/// An OU; `var` names its id in the printed shell commands, `parent` is another `var`.
struct DemoOu {
    var: &'static str,
    name: &'static str,
    parent: &'static str,
}

const OUS: [DemoOu; 3] = [
    DemoOu { var: "PROD", name: "Production", parent: "ROOT" },
    DemoOu { var: "PRODEU", name: "ProdEU", parent: "PROD" },
    DemoOu { var: "DEV", name: "Development", parent: "ROOT" },
];

struct DemoAccount {
    id: &'static str,
    name: &'static str,
    parent: &'static str,
}

const ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount { id: "222222222222", name: "shared-services", parent: "ROOT" },
    DemoAccount { id: "333333333333", name: "prod-web", parent: "PROD" },
    DemoAccount { id: "444444444444", name: "prod-eu-payments", parent: "PRODEU" },
    DemoAccount { id: "555555555555", name: "dev-sandbox", parent: "DEV" },
];

/// The account whose effective policy is explained.
const EXPLAINED_ACCOUNT: &str = "444444444444";

/// A policy and where it is attached (a `var` or an account id).
struct DemoPolicy {
    var: &'static str,
    name: &'static str,
    description: &'static str,
    target: &'static str,
    content: &'static str,
}

const POLICIES: [DemoPolicy; 3] = [
    DemoPolicy {
        var: "ORG_DAILY",
        name: "org-daily-backup",
        description: "Every account: daily backups into the central vault, whose name children cannot change",
        target: "ROOT",
        content: r#"{
  "plans": {
    "OrgDaily": {
      "regions": { "@@assign": ["us-east-1"] },
      "rules": {
        "Daily": {
          "schedule_expression": { "@@assign": "cron(0 5 ? * * *)" },
          "start_backup_window_minutes": { "@@assign": "60" },
          "complete_backup_window_minutes": { "@@assign": "480" },
          "target_backup_vault_name": {
            "@@operators_allowed_for_child_policies": ["@@none"],
            "@@assign": "OrgCentralVault"
          },
          "lifecycle": { "delete_after_days": { "@@assign": "35" } }
        }
      },
      "selections": {
        "tags": {
          "BackupDaily": {
            "iam_role_arn": { "@@assign": "arn:aws:iam::$account:role/BunkerBackupRole" },
            "tag_key": { "@@assign": "backup" },
            "tag_value": { "@@assign": ["daily"] }
          }
        }
      }
    }
  }
}
"#,
    },
    DemoPolicy {
        var: "PROD_HOURLY",
        name: "production-hourly",
        description: "Production: daily backups in eu-west-1 too, and hourly backups of critical resources",
        target: "PROD",
        content: r#"{
  "plans": {
    "OrgDaily": { "regions": { "@@append": ["eu-west-1"] } },
    "ProdHourly": {
      "regions": { "@@assign": ["us-east-1", "eu-west-1"] },
      "rules": {
        "Hourly": {
          "schedule_expression": { "@@assign": "cron(0 * ? * * *)" },
          "target_backup_vault_name": { "@@assign": "ProdHourlyVault" },
          "lifecycle": {
            "move_to_cold_storage_after_days": { "@@assign": "30" },
            "delete_after_days": { "@@assign": "120" }
          }
        }
      },
      "selections": {
        "tags": {
          "Critical": {
            "iam_role_arn": { "@@assign": "arn:aws:iam::$account:role/BunkerBackupRole" },
            "tag_key": { "@@assign": "tier" },
            "tag_value": { "@@assign": ["critical"] }
          }
        }
      }
    }
  }
}
"#,
    },
    DemoPolicy {
        var: "PAYMENTS",
        name: "payments-overrides",
        description: "Payments: keep daily backups 90 days, and (in vain) use its own vault",
        target: EXPLAINED_ACCOUNT,
        content: r#"{
  "plans": {
    "OrgDaily": {
      "rules": {
        "Daily": {
          "target_backup_vault_name": { "@@assign": "PaymentsVault" },
          "lifecycle": { "delete_after_days": { "@@assign": "90" } }
        }
      }
    }
  }
}
"#,
    },
];

/// Where the ids the demo created are: shell variable name → id.
struct Ids(Vec<(&'static str, String)>);

impl Ids {
    /// The id a `var` stands for; anything else (an account id) is itself.
    fn get<'a>(&'a self, var: &'a str) -> &'a str {
        self.0.iter().find(|(v, _)| *v == var).map_or(var, |(_, id)| id.as_str())
    }
}

/// Runs the demo in `home`, or in a new temporary directory.
pub async fn run(home: Option<PathBuf>) -> anyhow::Result<()> {
    let home = fresh_home(home)?;
    let policy_dir = write_policy_files(&home)?;
    let svc = bunker_core::Organizations::new(bunker_service::open_catalog(&home).await?, std::sync::Arc::new(bunker_core::SystemClock));
    println!("Bunker demo in {}\n", home.display());
    let ids = build(&svc).await?;
    print!("{}", tree(&svc, ids.get("ROOT")).await?);
    print!("{}", effective_plans(&svc).await?);
    print!("{}", explanation(&svc).await?);
    print!("{}", protect::run(&home, svc.catalog().clone()).await?);
    print!("{}", commands(&policy_dir, &home));
    svc.catalog().close().await;
    Ok(())
}

/// A directory without a catalog: the one given (never overwriting a catalog in it), or
/// a new one under the system's temporary directory.
fn fresh_home(home: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(home) = home {
        if home.join(CATALOG_FILE).exists() {
            bail!("{} already holds a catalog: the demo needs a fresh home (omit --home for a temporary one)", home.display());
        }
        std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
        return Ok(home);
    }
    let base = std::env::temp_dir();
    for attempt in 0u32.. {
        let candidate = base.join(format!("bunker-demo-{}-{attempt}", std::process::id()));
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", candidate.display())),
        }
    }
    unreachable!("the attempts never run out")
}

/// Writes each policy to `<home>/demo-policies/<name>.json`, for the by-hand commands.
fn write_policy_files(home: &Path) -> anyhow::Result<PathBuf> {
    let dir = home.join("demo-policies");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for policy in &POLICIES {
        let path = dir.join(format!("{}.json", policy.name));
        std::fs::write(&path, policy.content).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir)
}

/// Creates the organization, OUs, accounts and policies.
async fn build(svc: &Organizations) -> anyhow::Result<Ids> {
    let org = CreateOrganization {
        feature_set: None,
        management_account_id: Some(MANAGEMENT.0.into()),
        management_account_email: Some(MANAGEMENT.1.into()),
    };
    svc.create_organization(org).await?;
    let root = svc.list_roots().await?.remove(0).id;
    let mut ids = Ids(vec![("ROOT", root.clone())]);
    for ou in &OUS {
        let id = svc.create_organizational_unit(ids.get(ou.parent), ou.name).await?.id;
        ids.0.push((ou.var, id));
    }
    for account in &ACCOUNTS {
        let req = CreateAccount {
            account_name: account.name.into(),
            email: email(account.name),
            account_id: Some(account.id.into()),
            parent_id: Some(ids.get(account.parent).to_owned()),
        };
        svc.create_account(req).await?;
    }
    svc.enable_policy_type(&root, "BACKUP_POLICY").await?;
    for policy in &POLICIES {
        let req = CreatePolicy {
            name: policy.name.into(),
            description: policy.description.into(),
            policy_type: "BACKUP_POLICY".into(),
            content: policy.content.into(),
        };
        let id = svc.create_policy(req).await.with_context(|| format!("creating policy {}", policy.name))?.summary.id;
        svc.attach_policy(&id, ids.get(policy.target)).await?;
        ids.0.push((policy.var, id));
    }
    Ok(ids)
}

fn email(account_name: &str) -> String {
    format!("{account_name}@example.com")
}

/// The organization as an indented tree, with the policies attached at each node.
async fn tree(svc: &Organizations, root: &str) -> anyhow::Result<String> {
    let org = svc.describe_organization().await?;
    let mut out = format!("Organization {} (management account {})\n", org.id, org.master_account_id);
    out.push_str(&format!("Root {root}{}\n", attached(svc, root).await?));
    subtree(svc, root, 1, &mut out).await?;
    out.push('\n');
    Ok(out)
}

/// The accounts, then the OUs (each with its own subtree) under `parent`.
async fn subtree(svc: &Organizations, parent: &str, depth: usize, out: &mut String) -> anyhow::Result<()> {
    let indent = "  ".repeat(depth);
    for account in svc.list_accounts_for_parent(parent).await? {
        let policies = attached(svc, &account.id).await?;
        let _ = writeln!(out, "{indent}account {} {}{policies}", account.id, account.name);
    }
    for ou in svc.list_organizational_units_for_parent(parent).await? {
        let policies = attached(svc, &ou.id).await?;
        let _ = writeln!(out, "{indent}OU {} {}{policies}", ou.name, ou.id);
        Box::pin(subtree(svc, &ou.id, depth + 1, out)).await?;
    }
    Ok(())
}

/// `   ← policy-a, policy-b` for a target with policies attached.
async fn attached(svc: &Organizations, target: &str) -> anyhow::Result<String> {
    let names: Vec<String> =
        svc.list_policies_for_target(target, "BACKUP_POLICY").await?.into_iter().map(|p| p.name).collect();
    Ok(if names.is_empty() { String::new() } else { format!("   ← {}", names.join(", ")) })
}

/// Left-aligned columns separated by two spaces.
fn columns(rows: &[Vec<String>], indent: &str) -> String {
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..rows[0].len()).map(width).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{indent}{}", cells.join("  ").trim_end());
    }
    out
}

fn field(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

fn lifecycle_text(lifecycle: Option<&Value>) -> String {
    let days = |key| lifecycle.and_then(|l| l.get(key)).and_then(Value::as_i64);
    match (days("MoveToColdStorageAfterDays"), days("DeleteAfterDays")) {
        (Some(cold), Some(delete)) => format!("cold after {cold} days, delete after {delete}"),
        (Some(cold), None) => format!("cold after {cold} days, kept"),
        (None, Some(delete)) => format!("delete after {delete} days"),
        (None, None) => "kept forever".into(),
    }
}

/// One row per rule of each plan an account gets.
fn plan_rows(plans: &Value) -> Vec<Vec<String>> {
    let mut rows = vec![["PLAN", "REGION", "RULE", "SCHEDULE", "VAULT", "LIFECYCLE"].map(String::from).to_vec()];
    for plan in plans.as_array().into_iter().flatten() {
        let backup_plan = &plan["BackupPlan"];
        for rule in backup_plan["Rules"].as_array().into_iter().flatten() {
            rows.push(vec![
                field(backup_plan, "BackupPlanName"),
                field(plan, "Region"),
                field(rule, "RuleName"),
                field(rule, "ScheduleExpression"),
                field(rule, "TargetBackupVaultName"),
                lifecycle_text(rule.get("Lifecycle")),
            ]);
        }
    }
    rows
}

/// Each account's effective backup plans, summarized.
async fn effective_plans(svc: &Organizations) -> anyhow::Result<String> {
    let mut out = String::from("Effective backup plans, per account:\n");
    for account in svc.list_accounts().await? {
        let plans = serde_json::to_value(svc.list_effective_plans(&account.id, None).await?)?;
        let _ = writeln!(out, "\n  {} {}", account.id, account.name);
        let rows = plan_rows(&plans);
        if rows.len() == 1 {
            out.push_str("    (no plans)\n");
        } else {
            out.push_str(&columns(&rows, "    "));
        }
    }
    out.push('\n');
    Ok(out)
}

/// Why an operation was dropped, from an explanation's history entry.
fn ignored_reason(event: &Value) -> String {
    match event["Outcome"].as_str() {
        Some("Forbidden") => format!(
            "a policy above ({}) allows only {} here",
            field(&event["LimitedBy"], "PolicyName"),
            event.get("Allowed").map_or_else(|| "nothing".into(), Value::to_string)
        ),
        Some(other) => other.to_owned(),
        None => "ignored".into(),
    }
}

/// `policy-name on target`.
fn source(set_by: &Value) -> String {
    format!("{} on {}", field(set_by, "PolicyName"), field(set_by, "TargetId"))
}

/// The explanation, condensed: each value with the policy that set it, and every
/// operation the inheritance dropped, with the reason.
async fn explanation(svc: &Organizations) -> anyhow::Result<String> {
    let explanation = svc.explain_effective_policy(EXPLAINED_ACCOUNT).await?;
    let mut out = format!("Where account {EXPLAINED_ACCOUNT}'s effective policy comes from (explain-effective-policy):\n");
    for entry in explanation.as_array().into_iter().flatten() {
        if let Some(value) = entry.get("Value") {
            let by = entry.get("SetBy").map(|s| format!("   ← {}", source(s))).unwrap_or_default();
            let _ = writeln!(out, "  {} = {value}{by}", field(entry, "Path"));
        }
        for element in entry["Elements"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "      {} ← {}", element["Value"], source(&element["SetBy"]));
        }
        for event in entry["History"].as_array().into_iter().flatten() {
            if event["Outcome"].as_str() != Some("Applied") {
                let _ = writeln!(
                    out,
                    "      IGNORED: {} tried {} {}: {}",
                    source(event),
                    field(event, "Operator"),
                    event.get("Value").map_or_else(String::new, Value::to_string),
                    ignored_reason(event)
                );
            }
        }
    }
    out.push('\n');
    Ok(out)
}

/// Quotes for a POSIX shell.
fn sh(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@=+,".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// The shell commands that build the same organization by hand.
fn commands(policy_dir: &Path, home: &Path) -> String {
    let exe = std::env::current_exe().map_or_else(|_| "bunker".into(), |p| p.display().to_string());
    let var = |v: &str| if v.chars().all(|c| c.is_ascii_digit()) { v.to_owned() } else { format!("\"${v}\"") };
    let mut out = String::from("Do it again by hand (bash):\n\n");
    let _ = writeln!(out, "bunker() {{ {} \"$@\"; }}", sh(&exe));
    out.push_str("export BUNKER_HOME=\"$(mktemp -d)\"\n");
    out.push_str("# A simulated home (its first command names the time), so `bunker run --fake-clock` may move it:\n");
    let _ = writeln!(
        out,
        "BUNKER_FAKE_NOW=\"$(date -u +%FT%TZ)\" bunker org create-organization --management-account-id {} --management-account-email {}",
        MANAGEMENT.0, MANAGEMENT.1
    );
    out.push_str("ROOT=$(bunker org list-roots --query 'Roots[0].Id' --output text)\n");
    for ou in &OUS {
        let _ = writeln!(
            out,
            "{}=$(bunker org create-organizational-unit --parent-id {} --name {} --query OrganizationalUnit.Id --output text)",
            ou.var,
            var(ou.parent),
            sh(ou.name)
        );
    }
    for a in &ACCOUNTS {
        let _ = writeln!(
            out,
            "bunker org create-account --account-name {} --email {} --account-id {} --parent-id {}",
            sh(a.name),
            email(a.name),
            a.id,
            var(a.parent)
        );
    }
    out.push_str("bunker org enable-policy-type --root-id \"$ROOT\" --policy-type BACKUP_POLICY\n");
    for p in &POLICIES {
        let file = format!("file://{}", policy_dir.join(format!("{}.json", p.name)).display());
        let _ = writeln!(
            out,
            "{}=$(bunker org create-policy --type BACKUP_POLICY --name {} --description {} --content {} --query Policy.PolicySummary.Id --output text)",
            p.var,
            sh(p.name),
            sh(p.description),
            sh(&file)
        );
        let _ = writeln!(out, "bunker org attach-policy --policy-id \"${}\" --target-id {}", p.var, var(p.target));
    }
    let _ = writeln!(out, "bunker org list-effective-plans --account-id {EXPLAINED_ACCOUNT} --output table");
    let _ = writeln!(out, "bunker org describe-effective-policy --policy-type BACKUP_POLICY --target-id {EXPLAINED_ACCOUNT}");
    let _ = writeln!(out, "bunker org explain-effective-policy --target-id {EXPLAINED_ACCOUNT}   # the full explanation");
    let a = protect::ACCOUNT;
    out.push_str("mkdir -p site && echo hello > site/index.html
");
    for vault in ["OrgCentralVault", "ProdHourlyVault"] {
        let _ = writeln!(out, "bunker backup create-backup-vault --backup-vault-name {vault} --account-id {a}");
    }
    let _ = writeln!(
        out,
        "SITE=$(bunker resource register --resource-name website --directory \"$PWD/site\" --tags backup=daily --account-id {a} --query Resource.ResourceArn --output text)"
    );
    out.push_str("bunker run --fake-clock --until \"$(date -u -d '+3 days' +%FT%TZ)\"    # three days in seconds\n");
    out.push_str("bunker backup list-recovery-points-by-resource --resource-arn \"$SITE\" --output table\n");
    out.push_str("RP=$(bunker backup list-recovery-points-by-resource --resource-arn \"$SITE\" --query 'RecoveryPoints[0].RecoveryPointArn' --output text)\n");
    let _ = writeln!(out, "bunker backup start-restore-job --recovery-point-arn \"$RP\" --metadata Path=\"$PWD/restored\" --account-id {a}");
    let _ = writeln!(
        out,
        "\nOr look around this demo's organization: bunker --home {} org list-accounts --output table",
        sh(&home.display().to_string())
    );
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh("prod-web"), "prod-web");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
    }

    #[test]
    fn lifecycles_read_well() {
        assert_eq!(lifecycle_text(Some(&json!({"DeleteAfterDays": 35}))), "delete after 35 days");
        assert_eq!(
            lifecycle_text(Some(&json!({"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120}))),
            "cold after 30 days, delete after 120"
        );
        assert_eq!(lifecycle_text(None), "kept forever");
    }

    #[test]
    fn every_policy_targets_a_known_node() {
        let vars: Vec<&str> = ["ROOT"].into_iter().chain(OUS.iter().map(|o| o.var)).collect();
        let accounts: Vec<&str> = ACCOUNTS.iter().map(|a| a.id).collect();
        for p in &POLICIES {
            assert!(vars.contains(&p.target) || accounts.contains(&p.target), "{}", p.name);
        }
        for a in &ACCOUNTS {
            assert!(vars.contains(&a.parent), "{}", a.name);
        }
    }
}
