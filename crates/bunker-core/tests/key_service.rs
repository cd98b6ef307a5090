//! Vaults encrypted under KMS keys: member account A backs up a directory into its vault
//! (under A's default backup key) and copies it to central account C's vault in another
//! Region (under C's own key). A's key pending deletion raises an alarm for A's vault and
//! closes it; cancelling (and enabling the key again) opens it again; once the deletion date
//! passes the key's material is destroyed: A's recovery point can never be restored, while
//! the central copy restores byte for byte.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bunker_catalog::Catalog;
use bunker_connectors::Source;
use bunker_core::backup::{BackupService, RegisterResource, RestoreJob, StartBackupJob, StartCopyJob, StartRestoreJob};
use bunker_core::security::kms::{CreateKey, DEFAULT_BACKUP_ALIAS, KeyService};
use bunker_core::{Clock, CreateAccount, CreateOrganization, ManualClock, Organizations};
use jiff::{SignedDuration, Timestamp};

const MEMBER_REGION: &str = "eu-west-1";
const CENTRAL_REGION: &str = "eu-central-1";

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Incompressible bytes, different for every seed (xorshift).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A hash of a directory tree (names and contents, in name order).
fn fingerprint(root: &Path) -> u64 {
    fn walk(root: &Path, rel: &Path, h: &mut std::hash::DefaultHasher) {
        let mut names: Vec<_> = std::fs::read_dir(root.join(rel)).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        for name in names {
            let r = rel.join(&name);
            r.hash(h);
            let p = root.join(&r);
            if p.is_dir() {
                walk(root, &r, h);
            } else {
                std::fs::read(&p).unwrap().hash(h);
            }
        }
    }
    let mut h = std::hash::DefaultHasher::new();
    walk(root, Path::new(""), &mut h);
    h.finish()
}

struct World {
    dir: tempfile::TempDir,
    clock: ManualClock,
    orgs: Organizations,
    svc: BackupService,
    keys: KeyService,
    restores: std::cell::Cell<u32>,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let start: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        let catalog = Catalog::open_file(&dir.path().join("catalog.db")).await.unwrap();
        let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
        let svc = BackupService::new(catalog, Arc::new(clock.clone()), dir.path().join("data"));
        orgs.create_organization(CreateOrganization::default()).await.unwrap();
        let keys = svc.key_service().unwrap();
        Self { dir, clock, orgs, svc, keys, restores: std::cell::Cell::new(0) }
    }

    async fn account(&self, name: &str) -> String {
        let req = CreateAccount { account_name: name.into(), email: format!("{name}@example.com"), account_id: None, parent_id: None };
        self.orgs.create_account(req).await.unwrap().account_id
    }

    /// Restores a recovery point into a fresh directory: the job and where it went.
    async fn restore(&self, rp: &str) -> (RestoreJob, PathBuf) {
        let n = self.restores.get();
        self.restores.set(n + 1);
        let target = self.dir.path().join("restores").join(format!("r{n}"));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let job = self
            .svc
            .start_restore_job(StartRestoreJob {
                recovery_point_arn: rp.to_owned(),
                metadata: tags(&[("Path", target.to_str().unwrap()), ("NewResourceName", &format!("restore-{n}"))]),
                ..Default::default()
            })
            .await
            .unwrap();
        (job, target)
    }
}

/// A's vault `Default` (default key) holds one backup of a directory; C's vault `central`
/// in another Region holds its copy.
async fn backed_up_and_copied() -> (World, String, String, String, String, PathBuf) {
    let w = World::new().await;
    let a = w.account("team-a").await;
    let c = w.account("central").await;
    w.svc.create_backup_vault(&a, MEMBER_REGION, "Default", BTreeMap::new(), None).await.unwrap();
    w.svc.create_backup_vault(&c, CENTRAL_REGION, "central", BTreeMap::new(), None).await.unwrap();
    let org_id = w.orgs.describe_organization().await.unwrap().id;
    w.svc.put_backup_vault_access_policy(&c, CENTRAL_REGION, "central", &bunker_core::backup::organization_copy_policy(&org_id)).await.unwrap();
    let path = w.dir.path().join("files");
    std::fs::create_dir_all(path.join("sub")).unwrap();
    for i in 0..3u64 {
        std::fs::write(path.join("sub").join(format!("f{i}.bin")), noise(i + 1, 300 << 10)).unwrap();
    }
    std::fs::write(path.join("readme.txt"), b"what the central copy must give back").unwrap();
    let r = w
        .svc
        .register_resource(RegisterResource {
            account_id: a.clone(),
            region: MEMBER_REGION.into(),
            name: "files".into(),
            source: Source::Directory { path: path.clone() },
            tags: tags(&[("team", "a")]),
        })
        .await
        .unwrap();
    let job = w
        .svc
        .start_backup_job(StartBackupJob {
            account_id: a.clone(),
            region: MEMBER_REGION.into(),
            backup_vault_name: "Default".into(),
            resource_arn: r.arn.clone(),
            iam_role_arn: None,
            start_window_minutes: None,
            complete_window_minutes: None,
            lifecycle: None,
            recovery_point_tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    let job = w.svc.run_backup_job_now(&job.backup_job_id).await.unwrap();
    assert_eq!(job.state, "COMPLETED", "{job:?}");
    let rp = job.recovery_point_arn.unwrap();
    let copy = w
        .svc
        .start_copy_job(StartCopyJob {
            recovery_point_arn: rp.clone(),
            source_backup_vault_name: "Default".into(),
            destination_backup_vault_arn: format!("arn:aws:backup:{CENTRAL_REGION}:{c}:backup-vault:central"),
            ..Default::default()
        })
        .await
        .unwrap();
    let copy = w.svc.run_copy_job_now(&copy.copy_job_id).await.unwrap();
    assert_eq!(copy.state, "COMPLETED", "{copy:?}");
    let copied = copy.destination_recovery_point_arn.unwrap();
    (w, a, c, rp, copied, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_members_key_leaves_only_the_central_copies() {
    let (w, a, c, rp, copied, path) = backed_up_and_copied().await;
    let want = fingerprint(&path);

    // Each vault is under its account's own default backup key.
    let a_vault = w.svc.describe_backup_vault(&a, MEMBER_REGION, "Default").await.unwrap();
    let c_vault = w.svc.describe_backup_vault(&c, CENTRAL_REGION, "central").await.unwrap();
    let a_key = w.keys.describe_key(&a, MEMBER_REGION, DEFAULT_BACKUP_ALIAS).await.unwrap();
    let c_key = w.keys.describe_key(&c, CENTRAL_REGION, DEFAULT_BACKUP_ALIAS).await.unwrap();
    assert_eq!(a_vault.encryption_key_arn, a_key.arn);
    assert_eq!(c_vault.encryption_key_arn, c_key.arn);
    assert_ne!(a_key.arn, c_key.arn);
    assert_eq!((a_key.key_manager.as_str(), a_key.key_state.as_str()), ("AWS", "Enabled"));
    assert!(w.keys.get_key_rotation_status(&a, MEMBER_REGION, &a_key.key_id).await.unwrap().key_rotation_enabled);
    // No key files: the material is in the catalog, sealed.
    assert!(!w.dir.path().join("data").join("keys").join(format!("{a}.key")).exists());
    assert!(w.keys.pending_deletion_alarms().await.unwrap().is_empty());

    // Pending deletion: an alarm for A's vault, and A's vault is closed.
    let scheduled = w.keys.schedule_key_deletion(&a, MEMBER_REGION, &a_key.arn, Some(7)).await.unwrap();
    assert_eq!(scheduled.deletion_date, w.clock.now() + SignedDuration::from_hours(24 * 7));
    let alarms = w.keys.pending_deletion_alarms().await.unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0]["source"], "aws.kms");
    assert_eq!(alarms[0]["detail"]["BackupVaultArn"], a_vault.backup_vault_arn.as_str());
    assert_eq!(alarms[0]["detail"]["KeyArn"], a_key.arn.as_str());
    assert_eq!(alarms[0]["detail"]["DeletionDate"], scheduled.deletion_date.to_string().as_str());
    let (job, _) = w.restore(&rp).await;
    assert_eq!(job.status, "FAILED", "{job:?}");
    let message = job.status_message.unwrap();
    assert!(message.contains(&a_key.arn) && message.contains("pending deletion"), "{message}");

    // Cancelled: the key is back, disabled (the vault stays closed) until enabled.
    w.keys.cancel_key_deletion(&a, MEMBER_REGION, &a_key.key_id).await.unwrap();
    assert!(w.keys.pending_deletion_alarms().await.unwrap().is_empty());
    let (job, _) = w.restore(&rp).await;
    assert_eq!(job.status, "FAILED", "{job:?}");
    assert!(job.status_message.unwrap().contains("disabled"));
    w.keys.enable_key(&a, MEMBER_REGION, &a_key.key_id).await.unwrap();
    let (job, target) = w.restore(&rp).await;
    assert_eq!(job.status, "COMPLETED", "{job:?}");
    assert_eq!(fingerprint(&target), want);

    // Scheduled again; eight days later the key is deleted and its material destroyed.
    w.keys.schedule_key_deletion(&a, MEMBER_REGION, &a_key.key_id, Some(7)).await.unwrap();
    w.clock.advance(SignedDuration::from_hours(24 * 8));
    let events = w.keys.apply_due().await.unwrap();
    assert_eq!(events.deleted, vec![a_key.arn.clone()]);
    assert_eq!(w.keys.describe_key(&a, MEMBER_REGION, &a_key.arn).await.unwrap_err().code(), "NotFoundException");
    assert!(w.keys.pending_deletion_alarms().await.unwrap().is_empty());

    // A's recovery point: gone for good, and the error names the key.
    let (job, _) = w.restore(&rp).await;
    assert_eq!(job.status, "FAILED", "{job:?}");
    let message = job.status_message.unwrap();
    assert!(message.contains(&a_key.arn) && message.contains("deleted"), "{message}");

    // Every central copy restores byte for byte.
    let (job, target) = w.restore(&copied).await;
    assert_eq!(job.status, "COMPLETED", "{job:?}");
    assert_eq!(fingerprint(&target), want);
    assert_eq!(w.keys.describe_key(&c, CENTRAL_REGION, &c_key.arn).await.unwrap().key_state, "Enabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaults_under_a_named_key_and_an_old_key_file() {
    let w = World::new().await;
    let a = w.account("team-a").await;

    // A vault under a customer key named by alias; a key of another Region is refused.
    let key = w.keys.create_key(&a, MEMBER_REGION, CreateKey { description: Some("vaults".into()), ..Default::default() }).await.unwrap();
    w.keys.create_alias(&a, MEMBER_REGION, "alias/vaults", &key.key_id).await.unwrap();
    let v = w
        .svc
        .create_backup_vault_with_key(&a, MEMBER_REGION, "Named", BTreeMap::new(), None, Some("alias/vaults".into()))
        .await
        .unwrap();
    assert_eq!(v.encryption_key_arn, key.arn);
    let e = w
        .svc
        .create_backup_vault_with_key(&a, CENTRAL_REGION, "Elsewhere", BTreeMap::new(), None, Some(key.arn.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidParameterValueException", "{e}");
    let e = w.svc.create_backup_vault_with_key(&a, MEMBER_REGION, "Nokey", BTreeMap::new(), None, Some("alias/none".into())).await.unwrap_err();
    assert_eq!(e.code(), "InvalidParameterValueException", "{e}");
    // Rotation: the vault still opens (the engine's key was wrapped by version 1).
    w.keys.rotate_key_on_demand(&a, MEMBER_REGION, &key.key_id).await.unwrap();
    w.svc.vault_key_encryption_key(&a, MEMBER_REGION, "Named").await.unwrap();

    // A home from before the key service: one key file per account, vaults in two Regions
    // naming no real key. The file becomes the first version of the account's default key
    // in both Regions, and goes; the old vaults open, and a new vault uses that key.
    let b = w.account("team-b").await;
    let file = w.dir.path().join("data").join("keys").join(format!("{b}.key"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let old = bunker_vault::FileKek::generate(&file).unwrap();
    let mut tx = w.svc.catalog().write().await.unwrap();
    for region in [MEMBER_REGION, CENTRAL_REGION] {
        let location = w.dir.path().join("old").join(region);
        bunker_vault::Vault::init(Arc::new(bunker_vault::LocalStorage::new(&location)), &old, bunker_vault::InitOptions::default()).unwrap();
        tx.insert_vault(&bunker_catalog::BackupVault {
            arn: format!("arn:aws:backup:{region}:{b}:backup-vault:Old"),
            account_id: b.clone(),
            region: region.into(),
            name: "Old".into(),
            location: location.display().to_string(),
            encryption_key_arn: format!("arn:aws:kms:{region}:{b}:key/{b}-vault-key"),
            creator_request_id: None,
            tags: BTreeMap::new(),
            created_at: w.clock.now(),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    for region in [CENTRAL_REGION, MEMBER_REGION] {
        let kek = w.svc.vault_key_encryption_key(&b, region, "Old").await.unwrap();
        bunker_vault::Vault::open(Arc::new(bunker_vault::LocalStorage::new(w.dir.path().join("old").join(region))), &kek).unwrap();
        assert!(!file.exists());
    }
    let new = w.svc.create_backup_vault(&b, MEMBER_REGION, "Default", BTreeMap::new(), None).await.unwrap();
    assert_eq!(new.encryption_key_arn, w.keys.describe_key(&b, MEMBER_REGION, DEFAULT_BACKUP_ALIAS).await.unwrap().arn);
    // The old vaults are under the default keys: their deletion alarms name them.
    let default = w.keys.describe_key(&b, CENTRAL_REGION, DEFAULT_BACKUP_ALIAS).await.unwrap();
    w.keys.schedule_key_deletion(&b, CENTRAL_REGION, &default.key_id, None).await.unwrap();
    let alarms = w.keys.pending_deletion_alarms().await.unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0]["detail"]["BackupVaultArn"], format!("arn:aws:backup:{CENTRAL_REGION}:{b}:backup-vault:Old").as_str());
}
