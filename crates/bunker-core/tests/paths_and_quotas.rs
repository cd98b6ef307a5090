//! What callers may not reach or send, on a real home:
//!
//! * Region codes: a code that is not one (`../../x`) is refused before it becomes a path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RegisterResource};
use bunker_core::{BackupError, CreateAccount, CreateOrganization, ManualClock, Organizations, Region};
use jiff::Timestamp;

const REGION: &str = "eu-west-1";

struct World {
    _dir: tempfile::TempDir,
    /// Resolved, so that expected paths compare equal on systems where temp is a link.
    root: PathBuf,
    home: PathBuf,
    svc: BackupService,
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
    World { _dir: dir, root, home, svc, account }
}

impl World {
    fn register(&self, name: &str, source: Source) -> RegisterResource {
        RegisterResource { account_id: self.account.clone(), region: REGION.into(), name: name.into(), source, tags: BTreeMap::new() }
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
