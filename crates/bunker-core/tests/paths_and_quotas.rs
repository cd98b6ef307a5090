//! What callers may not reach or send, on a real home:
//!
//! * Region codes: a code that is not one (`../../x`) is refused before it becomes a path.
//! * The home (catalog, master key, `regions.json`, vaults) and the Regions' storage roots:
//!   no resource location or restore target inside or above them, through symbolic links,
//!   `..`, paths that do not exist yet, or a registered path swapped for a link later.
//! * Allowed roots: once the management account sets them, an account's locations and
//!   restore targets must lie under them; lifting them restores the default.
//! * AWS's size quotas on plans, selections, vault access policies, key policies and IAM
//!   documents: refused with AWS's error, nothing stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RegisterResource, StartBackupJob, StartRestoreJob};
use bunker_core::security::Security;
use bunker_core::security::kms::CreateKey;
use bunker_core::{BackupError, Clock, CreateAccount, CreateOrganization, ManualClock, Organizations, Region};
use jiff::Timestamp;

const REGION: &str = "eu-west-1";

struct World {
    _dir: tempfile::TempDir,
    /// Resolved, so that expected paths compare equal on systems where temp is a link.
    root: PathBuf,
    home: PathBuf,
    svc: BackupService,
    catalog: Catalog,
    clock: ManualClock,
    account: String,
}

/// An organization with one member account, its vault `Main`, and the home holding the
/// catalog, `regions.json` (a Region with storage roots outside the home) and the
/// master key.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let catalog = Catalog::open_file(&home.join("catalog.db")).await.unwrap();
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    orgs.create_organization(CreateOrganization::default()).await.unwrap();
    let req = CreateAccount { account_name: "prod".into(), email: "prod@example.com".into(), account_id: None, parent_id: None };
    let account = orgs.create_account(req).await.unwrap().account_id;
    let sites = serde_json::json!({ "eu-central-1": { "Warm": root.join("fast/eu"), "Cold": root.join("slow/eu") } });
    std::fs::write(home.join("regions.json"), sites.to_string()).unwrap();
    let svc = BackupService::new(catalog.clone(), Arc::new(clock.clone()), &home);
    svc.create_backup_vault(&account, REGION, "Main", BTreeMap::new(), None).await.unwrap();
    World { _dir: dir, root, home, svc, catalog, clock, account }
}

impl World {
    fn register(&self, name: &str, source: Source) -> RegisterResource {
        RegisterResource { account_id: self.account.clone(), region: REGION.into(), name: name.into(), source, tags: BTreeMap::new() }
    }

    /// A directory with one file, registered; its ARN.
    async fn site(&self, name: &str, dir: &Path) -> String {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("index.html"), format!("<h1>{name}</h1>")).unwrap();
        self.svc.register_resource(self.register(name, Source::Directory { path: dir.to_owned() })).await.unwrap().arn
    }

    async fn backup(&self, resource: &str) -> bunker_core::backup::BackupJob {
        let req = StartBackupJob {
            account_id: self.account.clone(),
            region: REGION.into(),
            backup_vault_name: "Main".into(),
            resource_arn: resource.into(),
            iam_role_arn: None,
            start_window_minutes: None,
            complete_window_minutes: None,
            lifecycle: None,
            recovery_point_tags: BTreeMap::new(),
        };
        let id = self.svc.start_backup_job(req).await.unwrap().backup_job_id;
        self.svc.run_backup_job_now(&id).await.unwrap()
    }

    async fn restore(&self, rp: &str, metadata: &[(&str, String)]) -> Result<bunker_core::backup::RestoreJob, BackupError> {
        let metadata = metadata.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        self.svc.start_restore_job(StartRestoreJob { recovery_point_arn: rp.into(), metadata, ..StartRestoreJob::default() }).await
    }

    async fn resource_count(&self) -> usize {
        self.svc.list_resources(Some(&self.account), None).await.unwrap().len()
    }

    async fn restore_job_count(&self) -> usize {
        self.svc.list_restore_jobs(Some(&self.account), None, None).await.unwrap().len()
    }
}

fn refused(result: Result<impl std::fmt::Debug, BackupError>, code: &str, needles: &[&str]) -> String {
    let err = result.expect_err("refused");
    let text = err.to_string();
    assert_eq!(err.code(), code, "{text}");
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from: {text}");
    }
    text
}

/// Every file below `dir`, relative.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn region_codes_are_checked_before_they_become_paths() {
    let w = world().await;
    let before = files_below(&w.root);
    for bad in ["../../x", "..", "eu-west-1/../../../x", "eu-west-1/..", "EU-WEST-1", "", "eu_west_1"] {
        let text = refused(
            w.svc.create_backup_vault(&w.account, bad, "Escape", BTreeMap::new(), None).await,
            "InvalidParameterValueException",
            &[&format!("{bad:?}")],
        );
        assert!(text.contains("is not a Region name"), "{text}");
        refused(w.svc.register_resource(RegisterResource { region: bad.into(), ..w.register("x", Source::Directory { path: w.root.join("x") }) }).await, "InvalidParameterValueException", &["Region"]);
        let plan = r#"{"BackupPlanName":"p","Rules":[{"RuleName":"r","TargetBackupVaultName":"Main","ScheduleExpression":"cron(0 5 ? * * *)"}]}"#;
        refused(w.svc.create_backup_plan(&w.account, bad, plan, None).await, "InvalidParameterValueException", &["Region"]);
    }
    assert_eq!(files_below(&w.root), before, "a refused Region left files behind");
    assert!(!w.root.parent().unwrap().join("x").exists());
    assert_eq!(w.svc.list_backup_vaults(&w.account, "../../x").await.unwrap().len(), 0);
    // The one parser, for the call path.
    assert_eq!(Region::parse("eu-west-1").unwrap().as_str(), "eu-west-1");
    assert!("../../x".parse::<Region>().unwrap_err().to_string().contains("\"../../x\""));
    // A bad Region in regions.json is refused naming the file, too.
    std::fs::write(w.home.join("regions.json"), r#"{"../../x":{"Warm":"/tmp/w"}}"#).unwrap();
    refused(w.svc.create_backup_vault(&w.account, REGION, "Other", BTreeMap::new(), None).await, "DependencyFailureException", &["regions.json", "\"../../x\""]);
}

#[tokio::test]
async fn nothing_of_the_home_can_be_registered() {
    let w = world().await;
    // The master key exists once a key was made (the vault's).
    assert!(w.home.join("master.key").exists());
    std::fs::create_dir_all(w.root.join("links")).unwrap();
    std::os::unix::fs::symlink(&w.home, w.root.join("links/home")).unwrap();
    std::os::unix::fs::symlink(w.home.join("master.key"), w.root.join("links/key")).unwrap();
    std::os::unix::fs::symlink(w.home.join("not-yet"), w.root.join("links/dangling")).unwrap();
    let cases: Vec<(&str, Source, &str)> = vec![
        ("master-key", Source::DiskImage { path: w.home.join("master.key") }, "inside Bunker's home"),
        ("catalog", Source::Sqlite { path: w.home.join("catalog.db") }, "inside Bunker's home"),
        ("sites", Source::DiskImage { path: w.home.join("regions.json") }, "inside Bunker's home"),
        ("home", Source::Directory { path: w.home.clone() }, "inside Bunker's home"),
        ("vaults", Source::Directory { path: w.home.join("regions") }, "inside Bunker's home"),
        ("not-yet", Source::Directory { path: w.home.join("new/deeper") }, "inside Bunker's home"),
        ("above", Source::Directory { path: w.root.clone() }, "holds one of them"),
        ("slash", Source::Directory { path: "/".into() }, "holds one of them"),
        ("warm-root", Source::Directory { path: w.root.join("fast/eu/111") }, "a Region's storage"),
        ("cold-root-parent", Source::Directory { path: w.root.join("slow") }, "holds one of them"),
        ("via-dir-link", Source::Directory { path: w.root.join("links/home/keys") }, "resolved: "),
        ("via-file-link", Source::DiskImage { path: w.root.join("links/key") }, "resolved: "),
        ("dangling", Source::Sqlite { path: w.root.join("links/dangling") }, "symbolic link to nothing"),
        ("dot-dot", Source::Directory { path: w.root.join("elsewhere/../home") }, "`..`"),
    ];
    for (name, source, why) in cases {
        let text = refused(w.svc.register_resource(w.register(name, source.clone())).await, "InvalidParameterValueException", &[why]);
        assert!(text.contains(&source.describe()), "the path is named: {text}");
    }
    assert_eq!(w.resource_count().await, 0);
    // Beside the home is fine, existing or not yet.
    w.site("site", &w.root.join("site")).await;
    w.svc.register_resource(w.register("later", Source::Sqlite { path: w.root.join("data/app.db") })).await.unwrap();
    w.svc.register_resource(w.register("bucket", Source::Bucket { endpoint: None, bucket: "b".into(), prefix: String::new(), region: REGION.into(), access_key_id: None, secret_access_key: None })).await.unwrap();
}

#[tokio::test]
async fn restores_never_write_into_the_home() {
    let w = world().await;
    let site = w.site("site", &w.root.join("site")).await;
    let job = w.backup(&site).await;
    assert_eq!(job.state, "COMPLETED", "{job:?}");
    let rp = job.recovery_point_arn.unwrap();
    let home_files = files_below(&w.home);
    std::os::unix::fs::symlink(&w.home, w.root.join("home-link")).unwrap();
    for target in [w.home.clone(), w.home.join("restored"), w.root.join("home-link/keys"), w.root.join("fast/eu/x"), w.root.clone()] {
        let path = target.display().to_string();
        refused(w.restore(&rp, &[("Path", path.clone())]).await, "InvalidParameterValueException", &[&path, "The restore target"]);
    }
    let location = serde_json::json!({"Type": "Directory", "Path": w.home.join("keys")}).to_string();
    refused(w.restore(&rp, &[("Location", location)]).await, "InvalidParameterValueException", &["inside Bunker's home"]);
    assert_eq!(w.restore_job_count().await, 0, "a refused restore leaves no job");
    assert!(!w.home.join("restored").exists() && !w.home.join("index.html").exists() && !w.home.join("keys/index.html").exists());
    let kept: Vec<_> = files_below(&w.home).into_iter().filter(|f| !f.starts_with("regions") && !f.starts_with("catalog.db-wal")).collect();
    assert_eq!(kept, home_files.into_iter().filter(|f| !f.starts_with("regions") && !f.starts_with("catalog.db-wal")).collect::<Vec<_>>());
    // Elsewhere it completes.
    let ok = w.restore(&rp, &[("Path", w.root.join("restored").display().to_string())]).await.unwrap();
    assert_eq!(ok.status, "COMPLETED", "{ok:?}");
    assert!(w.root.join("restored/index.html").exists());
}

#[tokio::test]
async fn a_registered_path_swapped_for_a_link_into_the_home_is_not_backed_up() {
    let w = world().await;
    let site = w.site("site", &w.root.join("site")).await;
    std::fs::remove_dir_all(w.root.join("site")).unwrap();
    std::os::unix::fs::symlink(&w.home, w.root.join("site")).unwrap();
    let job = w.backup(&site).await;
    assert_eq!(job.state, "FAILED", "{job:?}");
    assert!(job.status_message.as_deref().unwrap_or("").contains("inside Bunker's home"), "{job:?}");
    assert!(job.recovery_point_arn.is_none());
}

#[tokio::test]
async fn allowed_roots_confine_an_account_once_set() {
    let w = world().await;
    let allowed = w.root.join("tenants/prod");
    let other = w.root.join("tenants/other");
    // None set: anywhere outside the home, and Get says so.
    refused(w.svc.get_allowed_roots(&w.account).await, "ResourceNotFoundException", &["no allowed roots"]);
    let outside = w.site("outside", &other.join("before")).await;

    // Refusals, nothing stored.
    for (roots, needle) in [
        (vec![], "at least one"),
        (vec![PathBuf::from("relative/dir")], "absolute"),
        (vec![w.root.join("tenants/../home")], "`..`"),
        (vec![w.home.join("sub")], "inside Bunker's home"),
        (vec![allowed.clone(), w.home.clone()], "inside Bunker's home"),
        ((0..101).map(|i| w.root.join(format!("r{i}"))).collect(), "at most 100"),
    ] {
        refused(w.svc.put_allowed_roots(&w.account, roots).await, "InvalidParameterValueException", &[needle]);
    }
    refused(w.svc.put_allowed_roots("999999999999", vec![allowed.clone()]).await, "ResourceNotFoundException", &["999999999999"]);
    refused(w.svc.put_allowed_roots("../x", vec![allowed.clone()]).await, "InvalidParameterValueException", &["../x"]);
    refused(w.svc.get_allowed_roots(&w.account).await, "ResourceNotFoundException", &[]);

    // Set: written as given (normalised), read back.
    let w2 = w.root.join("tenants/prod-archive");
    let put = w.svc.put_allowed_roots(&w.account, vec![PathBuf::from(format!("{}/", allowed.display())), w2.clone(), allowed.clone()]).await.unwrap();
    assert_eq!(put.allowed_roots, [allowed.clone(), w2.clone()]);
    assert_eq!(put.last_update_time, w.clock.now());
    assert_eq!(w.svc.get_allowed_roots(&w.account).await.unwrap(), put);

    // Registration: under a root (existing or not yet, or through a link into one) only.
    w.site("inside", &allowed.join("site")).await;
    w.svc.register_resource(w.register("db", Source::Sqlite { path: w2.join("new/app.db") })).await.unwrap();
    std::os::unix::fs::symlink(&allowed, w.root.join("prod-link")).unwrap();
    w.site("via-link", &w.root.join("prod-link/linked")).await;
    let before = w.resource_count().await;
    for path in [other.join("site"), w.root.join("tenants/prod-other"), w.root.join("tenants")] {
        let p = path.display().to_string();
        refused(
            w.svc.register_resource(w.register("escape", Source::Directory { path })).await,
            "InvalidParameterValueException",
            &[&p, "outside the allowed roots of account", &allowed.display().to_string(), &w2.display().to_string()],
        );
    }
    // A link out of a root is judged by where it leads.
    std::os::unix::fs::symlink(&other, allowed.join("out")).unwrap();
    refused(w.svc.register_resource(w.register("escape", Source::Directory { path: allowed.join("out/x") })).await, "InvalidParameterValueException", &["resolved: "]);
    assert_eq!(w.resource_count().await, before);
    // Buckets and databases have no path to judge.
    w.svc.register_resource(w.register("bucket", Source::Bucket { endpoint: None, bucket: "b".into(), prefix: String::new(), region: REGION.into(), access_key_id: None, secret_access_key: None })).await.unwrap();

    // Restores: under a root only, in place included for a resource registered before.
    let job = w.backup(&outside).await;
    assert_eq!(job.state, "COMPLETED", "{job:?}");
    let rp = job.recovery_point_arn.unwrap();
    let target = other.join("restored").display().to_string();
    refused(w.restore(&rp, &[("Path", target.clone())]).await, "InvalidParameterValueException", &[&target, "outside the allowed roots"]);
    refused(w.restore(&rp, &[("Path", other.join("before").display().to_string())]).await, "InvalidParameterValueException", &["outside the allowed roots"]);
    assert_eq!(w.restore_job_count().await, 0);
    let ok = w.restore(&rp, &[("Path", allowed.join("restored").display().to_string())]).await.unwrap();
    assert_eq!(ok.status, "COMPLETED", "{ok:?}");

    // Lifted: the default again.
    w.svc.delete_allowed_roots(&w.account).await.unwrap();
    w.svc.delete_allowed_roots(&w.account).await.unwrap();
    refused(w.svc.get_allowed_roots(&w.account).await, "ResourceNotFoundException", &[]);
    w.svc.register_resource(w.register("escape", Source::Directory { path: other.join("site") })).await.unwrap();
}

fn plan(rules: usize) -> String {
    let rules: Vec<_> = (0..rules)
        .map(|i| serde_json::json!({"RuleName": format!("r{i}"), "TargetBackupVaultName": "Main", "ScheduleExpression": "cron(0 5 ? * * *)"}))
        .collect();
    serde_json::json!({"BackupPlanName": "p", "Rules": rules}).to_string()
}

fn selection(name: &str, resources: Vec<String>, tags: usize) -> String {
    let tags: Vec<_> = (0..tags).map(|i| serde_json::json!({"ConditionType": "STRINGEQUALS", "ConditionKey": format!("k{i}"), "ConditionValue": "v"})).collect();
    serde_json::json!({"SelectionName": name, "IamRoleArn": "arn:aws:iam::1:role/r", "Resources": resources, "ListOfTags": tags}).to_string()
}

#[tokio::test]
async fn backup_plans_and_selections_within_aws_quotas() {
    let w = world().await;
    for n in [11, 60_000] {
        refused(w.svc.create_backup_plan(&w.account, REGION, &plan(n), None).await, "LimitExceededException", &[&format!("{n} rules"), "at most 10"]);
    }
    assert!(w.svc.list_backup_plans(&w.account, REGION, true).await.unwrap().is_empty(), "nothing stored");
    let p = w.svc.create_backup_plan(&w.account, REGION, &plan(10), None).await.unwrap();
    refused(w.svc.update_backup_plan(&p.backup_plan_id, &plan(11)).await, "LimitExceededException", &["at most 10"]);
    assert_eq!(w.svc.list_backup_plan_versions(&p.backup_plan_id).await.unwrap().len(), 1);

    let arn = |i: usize| format!("arn:aws:bunker:{REGION}:{}:directory/d{i}", w.account);
    let id = &p.backup_plan_id;
    refused(w.svc.create_backup_selection(id, &selection("s", (0..501).map(arn).collect(), 0), None).await, "LimitExceededException", &["501 ARNs", "at most 500"]);
    let wild: Vec<_> = (0..31).map(|i| format!("{}*", arn(i))).collect();
    refused(w.svc.create_backup_selection(id, &selection("s", wild, 0), None).await, "LimitExceededException", &["at most 30 when any holds a wildcard"]);
    refused(w.svc.create_backup_selection(id, &selection("s", vec![], 31), None).await, "LimitExceededException", &["31 tag conditions"]);
    assert!(w.svc.list_backup_selections(id).await.unwrap().is_empty());
    w.svc.create_backup_selection(id, &selection("s500", (0..500).map(arn).collect(), 30), None).await.unwrap();
    for i in 1..100 {
        w.svc.create_backup_selection(id, &selection(&format!("s{i}"), vec![arn(i)], 1), None).await.unwrap();
    }
    refused(w.svc.create_backup_selection(id, &selection("s101", vec![arn(0)], 1), None).await, "LimitExceededException", &["100 resource selections"]);
    assert_eq!(w.svc.list_backup_selections(id).await.unwrap().len(), 100);
}

fn policy_of_size(bytes: usize) -> String {
    let head = r#"{"Version":"2012-10-17","Statement":[{"Sid":""#;
    let tail = r#"","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}"#;
    format!("{head}{}{tail}", "x".repeat(bytes - head.len() - tail.len()))
}

#[tokio::test]
async fn vault_access_and_key_policies_within_aws_quotas() {
    let w = world().await;
    for size in [20_481, 10 << 20] {
        refused(w.svc.put_backup_vault_access_policy(&w.account, REGION, "Main", &policy_of_size(size)).await, "InvalidParameterValueException", &["at most 20480"]);
    }
    refused(w.svc.get_backup_vault_access_policy(&w.account, REGION, "Main").await, "ResourceNotFoundException", &[]);
    w.svc.put_backup_vault_access_policy(&w.account, REGION, "Main", &policy_of_size(20_480)).await.unwrap();

    let keys = w.svc.key_service().unwrap();
    let big = policy_of_size(32_769);
    let held = keys.list_keys(&w.account, REGION).await.unwrap().len();
    let err = keys.create_key(&w.account, REGION, CreateKey { policy: Some(big.clone()), ..CreateKey::default() }).await.unwrap_err();
    assert_eq!(err.code(), "LimitExceededException", "{err}");
    assert_eq!(keys.list_keys(&w.account, REGION).await.unwrap().len(), held);
    let key = keys.create_key(&w.account, REGION, CreateKey { policy: Some(policy_of_size(32_768)), ..CreateKey::default() }).await.unwrap();
    let err = keys.put_key_policy(&w.account, REGION, &key.key_id, None, &big).await.unwrap_err();
    assert_eq!(err.code(), "LimitExceededException", "{err}");
    assert!(err.to_string().contains("at most 32768"), "{err}");
    assert_eq!(keys.get_key_policy(&w.account, REGION, &key.key_id, None).await.unwrap().len(), 32_768);
    let err = keys.create_key("../../x", "../../x", CreateKey::default()).await.unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValueException", "{err}");
}

#[tokio::test]
async fn iam_documents_past_the_api_length_are_refused() {
    let w = world().await;
    let security = Security::open(w.catalog.clone(), Arc::new(w.clock.clone()), &w.home).unwrap();
    security.create_user(&w.account, "alice", None).await.unwrap();
    let huge = format!("{}{}", policy_of_size(1_000), " ".repeat(10 << 20));
    let err = security.put_inline_policy(&w.account, "USER", "alice", "big", &huge).await.unwrap_err();
    assert_eq!(err.code(), "MalformedPolicyDocumentException", "{err}");
    assert!(err.to_string().contains("at most 131072"), "{err}");
    assert!(security.policies_of(&w.account, "USER", "alice").await.unwrap().is_empty());
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let err = security.create_role(&w.account, "r", &format!("{trust}{}", " ".repeat(10 << 20)), None, None).await.unwrap_err();
    assert_eq!(err.code(), "MalformedPolicyDocumentException", "{err}");
    assert!(security.get_role(&w.account, "r").await.is_err());
}
