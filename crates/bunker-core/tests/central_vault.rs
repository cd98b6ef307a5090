//! The central vault pattern: member accounts A and B back up in `eu-west-1` under an
//! organization policy whose daily rule copies every recovery point into account C's vault
//! `central` in `eu-central-1`. After ten simulated days C holds ten copies of each selected
//! resource; each copy after the first moves about what the source's backup added that day;
//! and every copy restores byte for byte once A's vault, key and recovery points are gone.
//! Also: copy jobs on demand, copy jobs left `RUNNING` by a stopped process, and copies into a
//! vault that does not exist.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bunker_catalog::{Catalog, CopyJobFilter, CopyJobRow, JobFilter};
use bunker_connectors::Source;
use bunker_core::backup::{
    BackupService, COPY_LEASE, CopyJob, ListBackupJobs, ListCopyJobs, RecoveryPoint, RegisterResource, Scheduler, StartBackupJob,
    StartCopyJob, StartRestoreJob,
};
use bunker_core::{Clock, CreateAccount, CreateOrganization, CreatePolicy, ManualClock, Organizations};
use jiff::{SignedDuration, Timestamp};

const MEMBER_REGION: &str = "eu-west-1";
const CENTRAL_REGION: &str = "eu-central-1";

/// Daily at 05:00, kept 35 days in the member account; copied to the central vault and kept
/// there a year. `CENTRAL` is replaced by the central account's id.
const POLICY: &str = r#"{"plans":{"central-copy":{
  "regions":{"@@assign":["eu-west-1"]},
  "rules":{"daily":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},
     "start_backup_window_minutes":{"@@assign":"60"},"complete_backup_window_minutes":{"@@assign":"1200"},
     "lifecycle":{"delete_after_days":{"@@assign":"35"}},
     "target_backup_vault_name":{"@@assign":"Default"},
     "copy_actions":{"arn:aws:backup:eu-central-1:CENTRAL:backup-vault:central":{
        "target_backup_vault_arn":{"@@assign":"arn:aws:backup:eu-central-1:CENTRAL:backup-vault:central"},
        "lifecycle":{"delete_after_days":{"@@assign":"365"}}}}}},
  "selections":{"tags":{"daily":{"iam_role_arn":{"@@assign":"arn:aws:iam::$account:role/Backup"},
     "tag_key":{"@@assign":"backup"},"tag_value":{"@@assign":["daily"]}}}}}}}"#;

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

/// A resource whose data the test writes: a directory tree or a disk image.
struct Data {
    kind: Kind,
    seed: u64,
}

enum Kind {
    Dir(PathBuf),
    Image(PathBuf),
}

const FILES: u64 = 4;
const FILE_SIZE: usize = 512 << 10;
const IMAGE_SIZE: usize = 2 << 20;

impl Data {
    fn dir(path: PathBuf, seed: u64) -> Self {
        std::fs::create_dir_all(path.join("sub")).unwrap();
        for i in 0..FILES {
            std::fs::write(path.join("sub").join(format!("f{i}.bin")), noise(seed * 100 + i, FILE_SIZE)).unwrap();
        }
        Self { kind: Kind::Dir(path), seed }
    }

    fn image(path: PathBuf, seed: u64) -> Self {
        std::fs::write(&path, noise(seed, IMAGE_SIZE)).unwrap();
        Self { kind: Kind::Image(path), seed }
    }

    fn source(&self) -> Source {
        match &self.kind {
            Kind::Dir(p) => Source::Directory { path: p.clone() },
            Kind::Image(p) => Source::DiskImage { path: p.clone() },
        }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Dir(_) => "files",
            Kind::Image(_) => "disk",
        }
    }

    /// Day `day`'s change, a small part of the data: a new file and an edit of an old one
    /// (directories), one 16 KiB block rewritten (images).
    fn change(&self, day: u64) {
        use std::os::unix::fs::FileExt;
        let seed = self.seed * 1000 + day;
        match &self.kind {
            Kind::Dir(p) => {
                std::fs::write(p.join(format!("day-{day:02}.bin")), noise(seed, 64 << 10)).unwrap();
                let f = std::fs::OpenOptions::new().write(true).open(p.join("sub").join(format!("f{}.bin", day % FILES))).unwrap();
                f.write_all_at(&noise(seed + 7, 4096), 200_000).unwrap();
            }
            Kind::Image(p) => {
                let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                f.write_all_at(&noise(seed, 16 << 10), (day * 300_007) % (IMAGE_SIZE as u64 - (16 << 10))).unwrap();
            }
        }
    }

    fn fingerprint(&self) -> u64 {
        match &self.kind {
            Kind::Dir(p) => fingerprint(p),
            Kind::Image(p) => fingerprint(p),
        }
    }
}

/// A hash of a file, or of a directory tree (names and contents, in name order).
fn fingerprint(path: &Path) -> u64 {
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
    if path.is_dir() {
        walk(path, Path::new(""), &mut h);
    } else {
        std::fs::read(path).unwrap().hash(&mut h);
    }
    h.finish()
}

/// An organization with accounts and the service over it, on a manual clock.
struct World {
    dir: tempfile::TempDir,
    clock: ManualClock,
    orgs: Organizations,
    svc: BackupService,
    start: Timestamp,
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
        Self { dir, clock, orgs, svc, start }
    }

    async fn account(&self, name: &str, parent: Option<String>) -> String {
        let req = CreateAccount { account_name: name.into(), email: format!("{name}@example.com"), account_id: None, parent_id: parent };
        self.orgs.create_account(req).await.unwrap().account_id
    }

    async fn all_copy_jobs(&self, filter: CopyJobFilter) -> Vec<CopyJob> {
        let mut out = Vec::new();
        let mut next_token = None;
        loop {
            let page = self.svc.list_copy_jobs(&ListCopyJobs { filter: filter.clone(), max_results: Some(7), next_token }).await.unwrap();
            out.extend(page.items);
            match page.next_token {
                Some(t) => next_token = Some(t),
                None => return out,
            }
        }
    }

    /// Destroys `account`'s default backup key in the member Region for good: scheduled for
    /// deletion with the shortest window, then the clock passes the deletion date and the
    /// key service destroys the key material.
    async fn destroy_backup_key(&self, account: &str) {
        let keys = self.svc.key_service().unwrap();
        let scheduled = keys.schedule_key_deletion(account, MEMBER_REGION, "alias/aws/backup", Some(7)).await.unwrap();
        self.clock.advance(SignedDuration::from_hours(24 * 8));
        let events = keys.apply_due().await.unwrap();
        assert!(events.deleted.contains(&scheduled.key_id), "{events:?}");
    }

    async fn vault_points(&self, account: &str, region: &str, vault: &str) -> Vec<RecoveryPoint> {
        let mut out = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self.svc.list_recovery_points_by_backup_vault(account, region, vault, Some(9), next_token.as_deref()).await.unwrap();
            out.extend(page.items);
            match page.next_token {
                Some(t) => next_token = Some(t),
                None => return out,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_days_into_a_central_vault_in_another_region() {
    let w = World::new().await;
    let root = w.orgs.list_roots().await.unwrap().remove(0).id;
    let ou = w.orgs.create_organizational_unit(&root, "Workloads").await.unwrap().id;
    let a = w.account("team-a", Some(ou.clone())).await;
    let b = w.account("team-b", Some(ou.clone())).await;
    let c = w.account("central", None).await;
    w.orgs.enable_policy_type(&root, "BACKUP_POLICY").await.unwrap();
    let policy = w
        .orgs
        .create_policy(CreatePolicy {
            name: "central-copy".into(),
            description: String::new(),
            policy_type: "BACKUP_POLICY".into(),
            content: POLICY.replace("CENTRAL", &c),
        })
        .await
        .unwrap();
    w.orgs.attach_policy(&policy.summary.id, &ou).await.unwrap();
    w.svc.create_backup_vault(&c, CENTRAL_REGION, "central", BTreeMap::new(), None).await.unwrap();
    let org_id = w.orgs.describe_organization().await.unwrap().id;
    w.svc.put_backup_vault_access_policy(&c, CENTRAL_REGION, "central", &bunker_core::backup::organization_copy_policy(&org_id)).await.unwrap();

    // Each member: a directory tree and a disk image, tagged; one untagged directory.
    let mut data: Vec<(String, Data)> = Vec::new();
    let mut untagged = Vec::new();
    for (i, account) in [&a, &b].into_iter().enumerate() {
        w.svc.create_backup_vault(account, MEMBER_REGION, "Default", BTreeMap::new(), None).await.unwrap();
        let base = w.dir.path().join(account);
        std::fs::create_dir_all(&base).unwrap();
        let seed = i as u64 * 10;
        for d in [Data::dir(base.join("files"), seed + 1), Data::image(base.join("disk.img"), seed + 2)] {
            let r = w
                .svc
                .register_resource(RegisterResource {
                    account_id: account.clone(),
                    region: MEMBER_REGION.into(),
                    name: d.name().into(),
                    source: d.source(),
                    tags: tags(&[("backup", "daily"), ("owner", account)]),
                })
                .await
                .unwrap();
            data.push((r.arn, d));
        }
        let scratch = Data::dir(base.join("scratch"), seed + 3);
        let r = w
            .svc
            .register_resource(RegisterResource {
                account_id: account.clone(),
                region: MEMBER_REGION.into(),
                name: "scratch".into(),
                source: scratch.source(),
                tags: tags(&[("backup", "never")]),
            })
            .await
            .unwrap();
        untagged.push(r.arn);
    }

    // Ten days: the data changes at midnight, the rule fires at 05:00, the copies follow.
    let mut scheduler = Scheduler::new(w.svc.clone(), w.start);
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    let started = std::time::Instant::now();
    for day in 0..10u64 {
        let midnight = w.start + SignedDuration::from_hours(24 * day as i64);
        w.clock.set(midnight);
        for (arn, d) in &data {
            d.change(day);
            expected.insert((arn.clone(), midnight.strftime("%F").to_string()), d.fingerprint());
        }
        let report = scheduler.run_until(&w.clock, midnight + SignedDuration::from_hours(24)).await.unwrap();
        // The scheduler's tick runs the copy jobs; a pass here finds nothing left.
        assert_eq!(w.svc.run_copy_jobs().await.unwrap(), 0, "day {day}: {report:?}");
    }
    eprintln!("ten days simulated in {:?}", started.elapsed());

    // C holds ten copies of each selected resource, none of the untagged ones.
    let copies = w.vault_points(&c, CENTRAL_REGION, "central").await;
    let mut by_resource: BTreeMap<String, Vec<RecoveryPoint>> = BTreeMap::new();
    for rp in copies {
        by_resource.entry(rp.resource_arn.clone()).or_default().push(rp);
    }
    for (arn, _) in &data {
        let points = by_resource.get(arn).map_or(0, Vec::len);
        assert_eq!(points, 10, "{arn}: copies in the central vault");
    }
    assert_eq!(by_resource.len(), data.len());
    for arn in &untagged {
        assert!(!by_resource.contains_key(arn));
    }
    let central_arn = format!("arn:aws:backup:{CENTRAL_REGION}:{c}:backup-vault:central");
    for rp in by_resource.values().flatten() {
        assert_eq!(rp.status, "COMPLETED");
        assert_eq!(rp.backup_vault_arn, central_arn);
        assert!(rp.recovery_point_arn.starts_with(&format!("arn:aws:backup:{CENTRAL_REGION}:{c}:recovery-point:")), "{rp:?}");
        assert!(rp.source_backup_vault_arn.is_some());
        // The copy action's lifecycle, not the source's 35 days.
        assert_eq!(rp.calculated_lifecycle.delete_at.unwrap() - rp.creation_date, SignedDuration::from_hours(24 * 365));
        let t = w.svc.recovery_point_tags(&rp.recovery_point_arn).await.unwrap();
        assert_eq!(t.get("backup").map(String::as_str), Some("daily"));
        assert_eq!(t.get("owner"), Some(&rp.resource_arn.split(':').nth(4).unwrap().to_owned()));
    }

    // Bytes: after the first copy, each copy moves about what the source's backup added.
    let jobs = w.all_copy_jobs(CopyJobFilter { destination_vault_arn: Some(central_arn.clone()), ..Default::default() }).await;
    assert_eq!(jobs.len(), 10 * data.len());
    let state: Vec<_> = jobs.iter().filter(|j| j.state != "COMPLETED").collect();
    assert!(state.is_empty(), "{state:?}");
    for (arn, _) in &data {
        let backups = w
            .svc
            .list_backup_jobs(&ListBackupJobs {
                filter: JobFilter { resource_arn: Some(arn.clone()), account_id: None, ..Default::default() },
                max_results: None,
                next_token: None,
            })
            .await
            .unwrap()
            .items;
        let mut mine: Vec<&CopyJob> = jobs.iter().filter(|j| &j.resource_arn == arn).collect();
        mine.sort_by_key(|j| j.creation_date);
        let (mut copied, mut added) = (0, 0);
        for (day, copy) in mine.iter().enumerate() {
            let backup = backups.iter().find(|b| b.recovery_point_arn.as_ref() == Some(&copy.source_recovery_point_arn)).unwrap();
            assert!(copy.created_by.is_some() && copy.account_id == arn.split(':').nth(4).unwrap());
            let ratio = copy.bytes_transferred as f64 / backup.bytes_transferred as f64;
            eprintln!("{arn} day {day}: backup added {} B, copy wrote {} B ({ratio:.3})", backup.bytes_transferred, copy.bytes_transferred);
            if day > 0 {
                assert!(ratio <= 1.1, "{arn} day {day}: the copy wrote {} B for {} B of new data", copy.bytes_transferred, backup.bytes_transferred);
                copied += copy.bytes_transferred;
                added += backup.bytes_transferred;
            }
        }
        eprintln!("{arn}: copies 2-10 wrote {copied} B for {added} B added ({:.3})", copied as f64 / added as f64);
        // Incremental: on average well below the whole point per day (chunks average
        // 512 KiB, so a small edit still moves a whole chunk of a few-MiB resource).
        assert!(copied * 4 < 9 * 3 * mine[0].backup_size_in_bytes, "{arn}: copies 2-10 wrote {copied} B");
    }

    // A disappears: recovery points (data and rows), vault, vault directory, key.
    let started = std::time::Instant::now();
    let a_vault = w.svc.describe_backup_vault(&a, MEMBER_REGION, "Default").await.unwrap();
    for rp in w.vault_points(&a, MEMBER_REGION, "Default").await {
        w.svc.delete_recovery_point("Default", &rp.recovery_point_arn).await.unwrap();
    }
    w.svc.delete_backup_vault(&a, MEMBER_REGION, "Default").await.unwrap();
    std::fs::remove_dir_all(&a_vault.location).unwrap();
    // A's key material is destroyed (the copies' central retention of a year is not
    // reached by the eight days this moves the clock).
    w.destroy_backup_key(&a).await;

    eprintln!("A deleted in {:?}", started.elapsed());
    let started = std::time::Instant::now();

    // Every copy restores to its day's data.
    let mut restores = 0;
    for (arn, d) in &data {
        for rp in &by_resource[arn] {
            let target = w.dir.path().join("restores").join(format!("r{restores}"));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            let job = w
                .svc
                .start_restore_job(StartRestoreJob {
                    recovery_point_arn: rp.recovery_point_arn.clone(),
                    metadata: tags(&[("Path", target.to_str().unwrap()), ("NewResourceName", &format!("{}-r{restores}", d.name()))]),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(job.status, "COMPLETED", "{arn} {}: {job:?}", rp.creation_date);
            let want = expected[&(arn.clone(), rp.creation_date.strftime("%F").to_string())];
            assert_eq!(fingerprint(&target), want, "{arn}: the copy of {} differs from that day's data", rp.creation_date);
            if target.is_dir() {
                std::fs::remove_dir_all(&target).unwrap();
            } else {
                std::fs::remove_file(&target).unwrap();
            }
            restores += 1;
        }
    }
    assert_eq!(restores, 10 * data.len());
    eprintln!("{restores} restores in {:?}", started.elapsed());
}

/// Accounts A (vault `Default`, one directory backed up once) and C (vault `central` in
/// another Region).
async fn one_backup() -> (World, String, String, String, PathBuf) {
    let w = World::new().await;
    let a = w.account("team-a", None).await;
    let c = w.account("central", None).await;
    w.svc.create_backup_vault(&a, MEMBER_REGION, "Default", BTreeMap::new(), None).await.unwrap();
    w.svc.create_backup_vault(&c, CENTRAL_REGION, "central", BTreeMap::new(), None).await.unwrap();
    let org_id = w.orgs.describe_organization().await.unwrap().id;
    w.svc.put_backup_vault_access_policy(&c, CENTRAL_REGION, "central", &bunker_core::backup::organization_copy_policy(&org_id)).await.unwrap();
    let path = w.dir.path().join("files");
    let d = Data::dir(path.clone(), 5);
    let r = w
        .svc
        .register_resource(RegisterResource {
            account_id: a.clone(),
            region: MEMBER_REGION.into(),
            name: "files".into(),
            source: d.source(),
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
    assert_eq!(job.state, "COMPLETED");
    let rp = job.recovery_point_arn.unwrap();
    (w, a, c, rp, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_copies_and_missing_destinations() {
    let (w, a, c, rp, path) = one_backup().await;
    let central = format!("arn:aws:backup:{CENTRAL_REGION}:{c}:backup-vault:central");
    let start = |dest: &str, vault: &str| StartCopyJob {
        recovery_point_arn: rp.clone(),
        source_backup_vault_name: vault.into(),
        destination_backup_vault_arn: dest.into(),
        iam_role_arn: None,
        lifecycle: Some(bunker_policy::plan::Lifecycle { delete_after_days: Some(90), ..Default::default() }),
    };
    // Refused at once: a wrong source vault, a destination that is no vault ARN.
    assert_eq!(w.svc.start_copy_job(start(&central, "Other")).await.unwrap_err().code(), "ResourceNotFoundException");
    assert_eq!(w.svc.start_copy_job(start("central", "Default")).await.unwrap_err().code(), "InvalidParameterValueException");

    let job = w.svc.start_copy_job(start(&central, "Default")).await.unwrap();
    assert_eq!(job.state, "CREATED");
    let done = w.svc.run_copy_job_now(&job.copy_job_id).await.unwrap();
    assert_eq!(done.state, "COMPLETED", "{done:?}");
    assert!(done.bytes_transferred > (FILES as i64) * FILE_SIZE as i64 / 2, "{done:?}");
    assert_eq!(w.svc.describe_copy_job(&job.copy_job_id).await.unwrap(), done);
    let copy = w.svc.describe_recovery_point(done.destination_recovery_point_arn.as_ref().unwrap()).await.unwrap();
    assert_eq!(copy.backup_vault_arn, central);
    assert_eq!(copy.calculated_lifecycle.delete_at.unwrap() - copy.creation_date, SignedDuration::from_hours(24 * 90));
    assert_eq!(w.svc.recovery_point_tags(&copy.recovery_point_arn).await.unwrap(), tags(&[("team", "a")]));

    // The same point again: nothing new is written and the first copy's row is reused.
    let again = w.svc.start_copy_job(start(&central, "Default")).await.unwrap();
    let again = w.svc.run_copy_job_now(&again.copy_job_id).await.unwrap();
    assert_eq!(again.destination_recovery_point_arn, done.destination_recovery_point_arn);
    assert!(again.bytes_transferred < 4096, "{again:?}");
    assert_eq!(w.vault_points(&c, CENTRAL_REGION, "central").await.len(), 1);

    // A destination vault that does not exist: the job fails saying so.
    let nowhere = format!("arn:aws:backup:{CENTRAL_REGION}:{c}:backup-vault:nowhere");
    let job = w.svc.start_copy_job(start(&nowhere, "Default")).await.unwrap();
    assert_eq!(w.svc.run_copy_jobs().await.unwrap(), 1);
    let failed = w.svc.describe_copy_job(&job.copy_job_id).await.unwrap();
    assert_eq!(failed.state, "FAILED");
    assert!(failed.status_message.as_deref().unwrap().contains("nowhere"), "{failed:?}");

    // A copy action naming the source's own vault fails too (a plan can say so).
    let own = CopyJobRow {
        id: "OWN-VAULT".into(),
        destination_vault_arn: format!("arn:aws:backup:{MEMBER_REGION}:{a}:backup-vault:Default"),
        ..w.svc.catalog().read().await.unwrap().copy_job(&job.copy_job_id).await.unwrap().unwrap()
    };
    let own = CopyJobRow { state: "CREATED".into(), status_message: None, completed_at: None, started_at: None, heartbeat_at: None, ..own };
    let mut tx = w.svc.catalog().write().await.unwrap();
    tx.insert_copy_job(&own).await.unwrap();
    tx.commit().await.unwrap();
    let own = w.svc.run_copy_job_now("OWN-VAULT").await.unwrap();
    assert_eq!(own.state, "FAILED");
    assert!(own.status_message.as_deref().unwrap().contains("own vault"), "{own:?}");

    // The lists: by state, destination, account; a page at a time.
    let all = w.all_copy_jobs(CopyJobFilter::default()).await;
    assert_eq!(all.len(), 4);
    let f = CopyJobFilter { state: Some("FAILED".into()), ..Default::default() };
    assert_eq!(w.all_copy_jobs(f).await.len(), 2);
    let f = CopyJobFilter { destination_vault_arn: Some(central.clone()), account_id: Some(a.clone()), ..Default::default() };
    assert_eq!(w.all_copy_jobs(f).await.len(), 2);
    let page = w.svc.list_copy_jobs(&ListCopyJobs { max_results: Some(3), ..Default::default() }).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let rest = w.svc.list_copy_jobs(&ListCopyJobs { max_results: Some(3), next_token: page.next_token, ..Default::default() }).await.unwrap();
    assert_eq!((rest.items.len(), rest.next_token), (1, None));

    // The copy restores once A's data and key are gone.
    let a_vault = w.svc.describe_backup_vault(&a, MEMBER_REGION, "Default").await.unwrap();
    std::fs::remove_dir_all(&a_vault.location).unwrap();
    // The copy's 90 days are not reached by the eight days this moves the clock.
    w.destroy_backup_key(&a).await;
    assert!(w.svc.vault_key_encryption_key(&a, MEMBER_REGION, "Default").await.is_err(), "A's vault still opens");
    let target = w.dir.path().join("restored");
    let r = w
        .svc
        .start_restore_job(StartRestoreJob {
            recovery_point_arn: copy.recovery_point_arn.clone(),
            metadata: tags(&[("Path", target.to_str().unwrap())]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.status, "COMPLETED", "{r:?}");
    assert_eq!(fingerprint(&target), fingerprint(&path));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_jobs_left_running_by_a_stopped_process_are_retried_or_failed() {
    let (w, a, c, rp, path) = one_backup().await;
    let central = format!("arn:aws:backup:{CENTRAL_REGION}:{c}:backup-vault:central");
    let now = w.clock.now();
    // Rows as a killed process leaves them: RUNNING, no process, heartbeats of various ages.
    let left = |id: &str, attempt: i64, last_beat: Timestamp| CopyJobRow {
        id: id.into(),
        account_id: a.clone(),
        region: MEMBER_REGION.into(),
        source_vault_arn: format!("arn:aws:backup:{MEMBER_REGION}:{a}:backup-vault:Default"),
        source_recovery_point_arn: rp.clone(),
        destination_vault_arn: central.clone(),
        destination_recovery_point_arn: None,
        resource_arn: format!("arn:aws:bunker:{MEMBER_REGION}:{a}:directory/files"),
        resource_type: "Directory".into(),
        state: "RUNNING".into(),
        status_message: None,
        created_at: now - SignedDuration::from_hours(1),
        started_at: Some(now - SignedDuration::from_hours(1)),
        heartbeat_at: Some(last_beat),
        completed_at: None,
        attempt,
        backup_size: 0,
        bytes_transferred: 0,
        iam_role_arn: "arn:aws:iam::111111111111:role/r".into(),
        plan_id: None,
        plan_version: None,
        rule_id: None,
        lifecycle: "{}".into(),
    };
    let mut tx = w.svc.catalog().write().await.unwrap();
    tx.insert_copy_job(&left("KILLED-ONCE", 1, now - SignedDuration::from_mins(30))).await.unwrap();
    tx.insert_copy_job(&left("KILLED-LAST", 3, now - SignedDuration::from_mins(30))).await.unwrap();
    tx.insert_copy_job(&left("STILL-ALIVE", 1, now - SignedDuration::from_mins(1))).await.unwrap();
    tx.commit().await.unwrap();
    // The killed attempt got as far as the engine's copy (data and manifest in C's vault)
    // but not the catalog write.
    let source = w.svc.catalog().read().await.unwrap().recovery_point(&rp).await.unwrap().unwrap();
    let open = |kek: &bunker_vault::VersionedKek, location: &str| {
        bunker_vault::Vault::open(Arc::new(bunker_vault::LocalStorage::new(location)), kek).unwrap()
    };
    let a_kek = w.svc.vault_key_encryption_key(&a, MEMBER_REGION, "Default").await.unwrap();
    let c_kek = w.svc.vault_key_encryption_key(&c, CENTRAL_REGION, "central").await.unwrap();
    let from = open(&a_kek, &w.svc.describe_backup_vault(&a, MEMBER_REGION, "Default").await.unwrap().location);
    let to = open(&c_kek, &w.svc.describe_backup_vault(&c, CENTRAL_REGION, "central").await.unwrap().location);
    let first = bunker_vault::copy(&from, source.snapshot_id.parse().unwrap(), &to).unwrap();
    assert!(!first.already_present);
    drop((from, to));
    assert_eq!(w.svc.describe_copy_job("KILLED-ONCE").await.unwrap().state, "RUNNING");

    assert_eq!(w.svc.run_copy_jobs().await.unwrap(), 1);
    let retried = w.svc.describe_copy_job("KILLED-ONCE").await.unwrap();
    assert_eq!((retried.state.as_str(), retried.attempt), ("COMPLETED", 2), "{retried:?}");
    // The retry found the data in place and wrote next to nothing.
    assert!(retried.bytes_transferred < 4096, "{retried:?}");
    assert!(retried.status_message.as_deref().unwrap().contains("interrupted"), "{retried:?}");
    let last = w.svc.describe_copy_job("KILLED-LAST").await.unwrap();
    assert_eq!(last.state, "FAILED", "{last:?}");
    assert!(last.status_message.as_deref().unwrap().contains("attempt 3 was interrupted"), "{last:?}");
    // A job whose process still shows signs of life is left alone…
    assert_eq!(w.svc.describe_copy_job("STILL-ALIVE").await.unwrap().state, "RUNNING");
    // …until it has shown none for the lease.
    w.clock.advance(COPY_LEASE);
    assert_eq!(w.svc.run_copy_jobs().await.unwrap(), 1);
    let alive = w.svc.describe_copy_job("STILL-ALIVE").await.unwrap();
    assert_eq!((alive.state.as_str(), alive.attempt), ("COMPLETED", 2), "{alive:?}");
    // Both retries copied the same point: one recovery point, which restores.
    assert_eq!(alive.destination_recovery_point_arn, retried.destination_recovery_point_arn);
    let points = w.vault_points(&c, CENTRAL_REGION, "central").await;
    assert_eq!(points.len(), 1);
    let target = w.dir.path().join("restored");
    let r = w
        .svc
        .start_restore_job(StartRestoreJob {
            recovery_point_arn: points[0].recovery_point_arn.clone(),
            metadata: tags(&[("Path", target.to_str().unwrap())]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.status, "COMPLETED", "{r:?}");
    assert_eq!(fingerprint(&target), fingerprint(&path));
    // Nothing is RUNNING any more.
    let running = w.all_copy_jobs(CopyJobFilter { state: Some("RUNNING".into()), ..Default::default() }).await;
    assert!(running.is_empty(), "{running:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_run_each_copy_job_once() {
    let (w, _a, c, rp, _path) = one_backup().await;
    let central = format!("arn:aws:backup:{CENTRAL_REGION}:{c}:backup-vault:central");
    // A second process: its own catalog connection and service over the same data.
    let catalog = Catalog::open_file(&w.dir.path().join("catalog.db")).await.unwrap();
    let other = BackupService::new(catalog, Arc::new(w.clock.clone()), w.dir.path().join("data"));
    let mut ids = Vec::new();
    for _ in 0..4 {
        let req = StartCopyJob {
            recovery_point_arn: rp.clone(),
            source_backup_vault_name: "Default".into(),
            destination_backup_vault_arn: central.clone(),
            ..Default::default()
        };
        ids.push(w.svc.start_copy_job(req).await.unwrap().copy_job_id);
    }
    let (x, y) = tokio::join!(w.svc.run_copy_jobs(), other.run_copy_jobs());
    assert_eq!(x.unwrap() + y.unwrap(), 4);
    let mut destinations = std::collections::BTreeSet::new();
    for id in &ids {
        let j = w.svc.describe_copy_job(id).await.unwrap();
        assert_eq!((j.state.as_str(), j.attempt), ("COMPLETED", 1), "{j:?}");
        destinations.insert(j.destination_recovery_point_arn.unwrap());
    }
    // However the copies interleaved, no snapshot backs two recovery points.
    let points = w.vault_points(&c, CENTRAL_REGION, "central").await;
    assert_eq!(points.len(), destinations.len());
    let mut tx = w.svc.catalog().read().await.unwrap();
    let mut snapshots = std::collections::BTreeSet::new();
    for p in &points {
        assert!(destinations.contains(&p.recovery_point_arn));
        let row = tx.recovery_point(&p.recovery_point_arn).await.unwrap().unwrap();
        assert!(snapshots.insert(row.snapshot_id), "two recovery points share a snapshot");
    }
}
