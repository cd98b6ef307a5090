//! Crash safety of the backup service's own jobs, with the real binary: `start-copy-job`
//! and `delete-recovery-point` are killed with SIGKILL at random points; afterwards the
//! next service pass (`bunker run`) retries or fails the copy — never leaves it `RUNNING` —
//! and finishes or leaves untouched the deletion — never leaves it `DELETING`; both vaults
//! pass `check --read-data`, and the copies restore byte for byte.
//!
//! Copies left `RUNNING` are taken over once their heartbeat lease (10 minutes of the
//! service clock) has passed, so the pass after each kill runs on a simulated clock
//! (`bunker run --fake-clock`) that starts past the lease.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use bunker_testkit::Rng;
use serde_json::Value;
use support::Home;

const MEMBER: &str = "222222222222";
const CENTRAL: &str = "333333333333";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// `ARGS… --account-id MEMBER --region eu-west-1`.
fn member<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--account-id", MEMBER, "--region", "eu-west-1"]);
    all
}

/// Runs `args` and kills it with SIGKILL after `delay` (if it is still running).
fn kill_after(home: &Home, args: &[&str], delay: Duration) {
    let mut child = home.command().args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One service pass on a clock past every lease: retries, takeovers, lifecycle.
/// `now` is the home's simulated time, moved past the pass.
fn service_pass(home: &Home, now: &mut Timestamp) {
    let start = *now + SignedDuration::from_mins(11);
    let until = start + SignedDuration::from_mins(1);
    home.ok(&["run", "--fake-clock", "--start", &start.to_string(), "--until", &until.to_string()]);
    *now = until;
}

/// `bunker vault check --read-data` on a service vault, with its key from the key service.
fn check_vault(home: &Home, location: &Path, account: &str, region: &str) {
    let vault = location.file_name().unwrap().to_str().unwrap();
    let described = home.ok(&["backup", "describe-backup-vault", "--backup-vault-name", vault, "--account-id", account, "--region", region]);
    let key = s(&described["EncryptionKeyArn"]);
    let out = home
        .command()
        .args(["vault", "check", "--read-data", "-r"])
        .arg(location)
        .args(["--kms-key-arn", &key])
        .output()
        .unwrap();
    assert!(out.status.success(), "check of {}: {}{}", location.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn read_tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    bunker_testkit::read_files(root)
}

#[test]
fn sigkill_copy_jobs_and_deletions() {
    let seed = std::env::var("BUNKER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| Timestamp::now().as_nanosecond() as u64 | 1);
    eprintln!("BUNKER_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let mut now = Timestamp::now();
    let home = Home::new().simulated(&now.to_string());
    home.ok(&["org", "create-organization", "--management-account-id", "111111111111"]);
    for (id, name) in [(MEMBER, "web"), (CENTRAL, "bunker")] {
        home.ok(&["org", "create-account", "--account-name", name, "--email", &format!("{name}@example.com"), "--account-id", id]);
    }
    home.ok(&member(&["backup", "create-backup-vault", "--backup-vault-name", "Main"]));
    let central = s(&home.ok(&["backup", "create-backup-vault", "--backup-vault-name", "central", "--account-id", CENTRAL, "--region", "eu-central-1"])["BackupVaultArn"]);
    let org_id = s(&home.ok(&["org", "describe-organization"])["Organization"]["Id"]);
    let open_to_org = bunker_core::backup::organization_copy_policy(&org_id);
    home.ok(&["backup", "put-backup-vault-access-policy", "--backup-vault-name", "central", "--account-id", CENTRAL, "--region", "eu-central-1", "--policy", &open_to_org]);
    let main_dir = home.path().join("regions/eu-west-1").join(MEMBER).join("Main");
    let central_dir = home.path().join("regions/eu-central-1").join(CENTRAL).join("central");
    let src = home.beside("site");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..3 {
        std::fs::write(src.join(format!("f{i}.bin")), bunker_testkit::noise(512 * 1024, rng.next())).unwrap();
    }
    let arn = s(&home.ok(&member(&["resource", "register", "--resource-name", "site", "--directory", src.to_str().unwrap()]))["Resource"]["ResourceArn"]);
    // Each backup with the tree it holds.
    let mut trees = std::collections::BTreeMap::new();
    let mut backup = |home: &Home| {
        let rp = s(&home.ok(&member(&["backup", "start-backup-job", "--backup-vault-name", "Main", "--resource-arn", &arn]))["RecoveryPointArn"]);
        trees.insert(rp.clone(), read_tree(&src));
        rp
    };
    let copy_args = |rp: &str| -> Vec<String> {
        member(&["backup", "start-copy-job", "--recovery-point-arn", rp, "--source-backup-vault-name", "Main", "--destination-backup-vault-arn", &central])
            .into_iter()
            .map(str::to_owned)
            .collect()
    };

    // An uninterrupted copy: how long one takes.
    let first = backup(&home);
    let started = Instant::now();
    let args = copy_args(&first);
    let done = home.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let copy_time = started.elapsed();
    assert_eq!(done["State"], "COMPLETED", "{done}");
    eprintln!("an uninterrupted copy takes {copy_time:?}");

    // Each round: the tree changes, a backup, a copy killed at a random point, a pass.
    let mut expected_copies = 1;
    let mut points = vec![first];
    for round in 0..5 {
        std::fs::write(src.join(format!("new{round}.bin")), bunker_testkit::noise(512 * 1024, rng.next())).unwrap();
        let rp = backup(&home);
        points.push(rp.clone());
        let args = copy_args(&rp);
        kill_after(&home, &args.iter().map(String::as_str).collect::<Vec<_>>(), rng.below(copy_time));
        service_pass(&home, &mut now);
        let jobs = home.ok(&member(&["backup", "list-copy-jobs"]));
        for job in jobs["CopyJobs"].as_array().unwrap() {
            let state = job["State"].as_str().unwrap();
            assert!(matches!(state, "COMPLETED" | "FAILED"), "round {round}: a copy job is {state}: {job}");
        }
        let states: Vec<String> = jobs["CopyJobs"].as_array().unwrap().iter().map(|j| format!("{}@{}", j["State"].as_str().unwrap_or("?"), j["Attempt"].as_i64().unwrap_or(0))).collect();
        eprintln!("round {round}: copy jobs {states:?}");
        let copied = jobs["CopyJobs"].as_array().unwrap().iter().any(|j| j["SourceRecoveryPointArn"] == rp.as_str() && j["State"] == "COMPLETED");
        expected_copies += usize::from(copied);
        check_vault(&home, &main_dir, MEMBER, "eu-west-1");
        check_vault(&home, &central_dir, CENTRAL, "eu-central-1");
    }
    let in_central = home.ok(&["backup", "list-recovery-points-by-backup-vault", "--backup-vault-name", "central", "--account-id", CENTRAL, "--region", "eu-central-1"]);
    assert_eq!(in_central["RecoveryPoints"].as_array().unwrap().len(), expected_copies, "one copy per completed copy job");
    assert!(expected_copies >= 2, "the retried copies complete");

    // Deletions killed at random points: finished by the next pass, or not begun.
    let started = Instant::now();
    let victim = points.remove(0);
    home.ok(&member(&["backup", "delete-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", &victim]));
    let delete_time = started.elapsed();
    for rp in points.iter().take(3) {
        kill_after(&home, &member(&["backup", "delete-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", rp]), rng.below(delete_time));
        service_pass(&home, &mut now);
        let out = home.run(&member(&["backup", "describe-recovery-point", "--backup-vault-name", "Main", "--recovery-point-arn", rp]));
        if out.status.success() {
            let status: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(status["Status"], "COMPLETED", "a deletion cut short is finished or was never begun: {status}");
        }
        check_vault(&home, &main_dir, MEMBER, "eu-west-1");
    }

    // Every copy restores, byte for byte, from the central vault alone (its source points
    // are partly deleted by now).
    let jobs = home.ok(&member(&["backup", "list-copy-jobs", "--by-state", "COMPLETED"]));
    let jobs = jobs["CopyJobs"].as_array().unwrap();
    assert_eq!(jobs.len(), expected_copies);
    for job in jobs {
        let copy = s(&job["DestinationRecoveryPointArn"]);
        let target = home.beside(&format!("r-{}", copy.rsplit(':').next().unwrap()));
        let restore = home.ok(&["backup", "start-restore-job", "--recovery-point-arn", &copy, "--metadata", &format!("Path={}", target.display())]);
        assert_eq!(restore["Status"], "COMPLETED", "{restore}");
        assert_eq!(&read_tree(&target), &trees[&s(&job["SourceRecoveryPointArn"])], "copy {copy}");
    }
}
