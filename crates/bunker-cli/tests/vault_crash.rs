//! Crash safety of the real `bunker` binary: `vault backup`, `prune` and `copy` are killed
//! with SIGKILL at random points, and after every kill the vault must pass
//! `check --read-data` and restore every recovery point it holds, byte for byte.
//!
//! Each kill point is uniform in `[0, d)`, `d` being the measured time of an uninterrupted
//! run of the same command on the same kind of work, so kills land in start-up, locking,
//! reading, sealing, pack/index/manifest writes and prune's deletions alike. Every kill is
//! classified from what it left in storage (nothing, new or deleted objects, a half-written
//! `.tmp-` file, a lock) and the tally is printed with the seed; `BUNKER_CRASH_SEED=<n>`
//! replays the same data and delays (timing still differs from run to run).
//!
//! Locks: a killed process leaves its lock, which the library honours until it expires
//! (5 minutes). `check` and `restore` take no lock, so they run right after the kill; the
//! next writer needs `bunker vault unlock` (restic's habit) to clear the dead holder's lock.
//!
//! Sizing: pack size and chunker are fixed by the vault format, so only the data is sized.
//! A debug build seals and opens blobs at ~5 MB/s, which makes MiB-sized operations last
//! long enough to be cut anywhere but makes every check and restore cost seconds: a debug
//! build runs a ~2 MiB tree (~1–1.5 minutes), a release build also a ~36 MiB one.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bunker_testkit::Rng;
use serde_json::Value;

/// How much data and how many kills.
struct Scale {
    /// Bytes of one source file; each mutation rewrites one.
    unit: usize,
    /// Source files.
    slots: usize,
    /// Recovery points kept per vault; older ones are forgotten (which also makes garbage).
    keep: usize,
    backup_kills: usize,
    prune_kills: usize,
    copy_kills: usize,
}

#[test]
fn sigkill_backup_prune_copy_50_times() {
    run(&Scale { unit: 512 * 1024, slots: 3, keep: 2, backup_kills: 20, prune_kills: 15, copy_kills: 15 });
}

/// Multi-pack operations (packs close at 16 MiB): ~35 s in release, where I/O is a large
/// share of each run and a third of the kills land between durable writes.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "32 MiB per operation takes tens of minutes in a debug build (AES-GCM runs unoptimized \
              there); runs with: cargo test --release -p bunker-cli --test vault_crash"
)]
fn sigkill_backup_prune_copy_50_times_large() {
    run(&Scale { unit: 8 << 20, slots: 4, keep: 2, backup_kills: 20, prune_kills: 15, copy_kills: 15 });
}

/// File path (relative) → (length, hash of the bytes).
type Manifest = BTreeMap<String, (u64, u64)>;

fn manifest(root: &Path) -> Manifest {
    let mut out = Manifest::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
                continue;
            }
            let bytes = std::fs::read(e.path()).unwrap();
            let mut h = std::hash::DefaultHasher::new();
            h.write(&bytes);
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, (bytes.len() as u64, h.finish()));
        }
    }
    out
}

/// A vault under test with the recovery points it must still restore.
struct Repo {
    path: PathBuf,
    key: PathBuf,
    /// Snapshot id → expected content of its `src`.
    points: Vec<(String, Manifest)>,
}

fn bunker(repo: &Path, key: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bunker"));
    for var in ["BUNKER_VAULT_PASSWORD", "BUNKER_VAULT_PASSWORD2", "BUNKER_VAULT_REPOSITORY", "BUNKER_VAULT_KEY_FILE", "RUST_LOG"] {
        c.env_remove(var);
    }
    c.arg("vault").arg("-r").arg(repo).arg("--key-file").arg(key);
    c
}

impl Repo {
    fn new(path: PathBuf, key: PathBuf) -> Self {
        let r = Self { path, key, points: Vec::new() };
        r.ok(&["init"]);
        r
    }

    fn command(&self) -> Command {
        bunker(&self.path, &self.key)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} on {} failed ({:?}):\nstdout: {}\nstderr: {}",
            self.path.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn snapshot_ids(&self) -> BTreeSet<String> {
        self.json(&["snapshots"]).as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    }

    /// The one snapshot that appeared since `before`, if any.
    fn new_snapshot(&self, before: &BTreeSet<String>) -> Option<String> {
        let new: Vec<String> = self.snapshot_ids().difference(before).cloned().collect();
        assert!(new.len() <= 1, "one command made several snapshots: {new:?}");
        new.into_iter().next()
    }

    /// Records a point, forgetting the oldest beyond `keep`.
    fn add_point(&mut self, id: String, m: Manifest, keep: usize) {
        self.points.push((id, m));
        while self.points.len() > keep {
            let (old, _) = self.points.remove(0);
            self.ok(&["forget", &old]);
        }
    }

    /// `check --read-data` passes (unindexed leftovers allowed) and every point restores
    /// byte-identically. Returns the number of unindexed packs.
    fn verify(&self, scratch: &Path) -> usize {
        let report = self.json(&["check", "--read-data"]);
        assert_eq!(report["ok"], true, "check of {}: {report}", self.path.display());
        let listed = self.snapshot_ids();
        for (id, want) in &self.points {
            assert!(listed.contains(id), "recovery point {id} vanished from {}", self.path.display());
            let target = scratch.join("restore");
            let _ = std::fs::remove_dir_all(&target);
            self.ok(&["restore", id, "--target", target.to_str().unwrap()]);
            let got = manifest(&target.join("src"));
            assert!(got == *want, "snapshot {id} of {} restores differently", self.path.display());
            std::fs::remove_dir_all(&target).unwrap();
        }
        report["unindexed_packs"].as_array().unwrap().len()
    }

    /// Removes the locks of killed holders; nothing else may hold one now.
    fn unlock(&self) -> usize {
        let out = self.json(&["unlock"]);
        assert_eq!(out["kept"].as_array().unwrap().len(), 0, "a lock survived unlock: {out}");
        out["removed"].as_array().unwrap().len()
    }
}

/// What a vault holds, for telling what a killed command had done.
#[derive(Debug, Default, PartialEq)]
struct Objects {
    /// Config, keys, packs, index files, snapshots.
    durable: BTreeSet<String>,
    /// Temporary files of interrupted writes (`.tmp-…`).
    tmp: BTreeSet<String>,
    locks: usize,
}

fn objects(repo: &Path) -> Objects {
    let mut o = Objects::default();
    let mut dirs = vec![repo.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
                continue;
            }
            let rel = e.path().strip_prefix(repo).unwrap().to_string_lossy().into_owned();
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                o.tmp.insert(rel);
            } else if rel.starts_with("locks/") {
                o.locks += 1;
            } else {
                o.durable.insert(rel);
            }
        }
    }
    o
}

/// Where kills landed, per command.
#[derive(Debug, Default)]
struct Tally {
    kills: usize,
    /// Exited on its own before the kill point (the run was shorter than measured).
    finished: usize,
    /// Killed before it changed any durable object.
    before_writes: usize,
    /// Killed after adding or deleting durable objects, before finishing.
    mid_write: usize,
    /// Killed inside a write of a pack, index or manifest, leaving a `.tmp-` file.
    inside_write: usize,
    /// Killed inside the write of its lock object.
    inside_lock_write: usize,
    /// Left a lock behind.
    locks_left: usize,
}

/// Durations of the uninterrupted runs kill points were drawn from.
#[derive(Default)]
struct Durations(Vec<Duration>);

impl Durations {
    fn add(&mut self, d: Duration) {
        self.0.push(d);
    }
}

impl std::fmt::Display for Durations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let min = self.0.iter().min().copied().unwrap_or_default();
        let max = self.0.iter().max().copied().unwrap_or_default();
        let sum: Duration = self.0.iter().sum();
        write!(f, "{} runs, {min:.2?} to {max:.2?}, {sum:.1?} in all", self.0.len())
    }
}

/// The outcome of one kill.
struct Kill {
    finished: bool,
}

/// Runs `cmd`, kills it after `delay` unless it exited, and tallies what it left in `repo`.
/// Counts objects by directory, for the log: `data×3 index×1`.
fn kinds(paths: &[&String]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for p in paths {
        *by.entry(p.split('/').next().unwrap_or("")).or_default() += 1;
    }
    if by.is_empty() {
        return "-".into();
    }
    by.iter().map(|(k, n)| format!("{k}×{n}")).collect::<Vec<_>>().join(" ")
}

/// Runs `cmd`, kills it at a random point of `measured` unless it exited, and tallies what it
/// left in `repo`.
fn kill_after(mut cmd: Command, measured: Duration, rng: &mut Rng, ctx: (&Path, &Path), tally: &mut Tally, label: &str) -> Kill {
    let (repo, log) = ctx;
    let delay = rng.below(measured);
    let before = objects(repo);
    let err = std::fs::File::create(log).unwrap();
    let mut child = cmd.stdout(Stdio::null()).stderr(err).spawn().unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let status = child.wait().unwrap();
    let after = objects(repo);
    tally.kills += 1;
    let finished = status.signal() != Some(9);
    let added: Vec<&String> = after.durable.difference(&before.durable).collect();
    let removed: Vec<&String> = before.durable.difference(&after.durable).collect();
    let new_tmp: Vec<&String> = after.tmp.difference(&before.tmp).collect();
    let what = if finished {
        assert!(status.success(), "{label} failed on its own: {}", std::fs::read_to_string(log).unwrap());
        tally.finished += 1;
        "finished before the kill"
    } else if !added.is_empty() || !removed.is_empty() {
        tally.mid_write += 1;
        "killed mid-write"
    } else {
        tally.before_writes += 1;
        "killed before writing"
    };
    if new_tmp.iter().any(|t| !t.starts_with("locks/")) {
        tally.inside_write += 1;
    }
    if new_tmp.iter().any(|t| t.starts_with("locks/")) {
        tally.inside_lock_write += 1;
    }
    if after.locks > 0 {
        tally.locks_left += 1;
    }
    println!(
        "{label}: {what} at {:.3}s of {:.3}s (added {}, deleted {}, .tmp in {}; {} lock(s))",
        delay.as_secs_f64(),
        measured.as_secs_f64(),
        kinds(&added),
        kinds(&removed),
        kinds(&new_tmp),
        after.locks
    );
    Kill { finished }
}

/// How long `make(vault)` runs uninterrupted on a copy of `repo` as it is now: the range
/// this round's kill point is drawn from.
fn measure(repo: &Path, scratch: &Path, make: impl Fn(&Path) -> Command) -> Duration {
    let clone = scratch.join("clone");
    copy_dir(repo, &clone);
    let start = Instant::now();
    let out = make(&clone).output().unwrap();
    let took = start.elapsed();
    assert!(out.status.success(), "uninterrupted run failed: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&clone).unwrap();
    took
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The source tree: `slots` files of about `unit` bytes and a small counter file.
struct Source {
    root: PathBuf,
    cycle: usize,
}

impl Source {
    /// Replaces one slot, and `churn.bin` (half a slot) which every point changes: packs then
    /// mix data that dies with the next forget and data that lives on, so prune repacks.
    fn mutate(&mut self, rng: &mut Rng, scale: &Scale) -> Manifest {
        let slot = self.cycle % scale.slots;
        self.cycle += 1;
        let dir = self.root.join("sub");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, size) in [(format!("sub/slot-{slot}.bin"), scale.unit), ("churn.bin".to_owned(), scale.unit / 2)] {
            // A new inode and size, so the parent's metadata can never match.
            #[allow(clippy::cast_possible_truncation)]
            let len = size - (rng.next() % 4096) as usize;
            let tmp = self.root.join("next.tmp");
            std::fs::write(&tmp, rng.bytes(len)).unwrap();
            std::fs::rename(&tmp, self.root.join(name)).unwrap();
        }
        std::fs::write(self.root.join("counter.txt"), format!("{}\n", self.cycle)).unwrap();
        manifest(&self.root)
    }
}

fn run(scale: &Scale) {
    let seed = std::env::var("BUNKER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % (1 << 63))
            .unwrap()
    });
    println!("crash test seed: {seed} (replay with BUNKER_CRASH_SEED={seed})");
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let log = dir.path().join("stderr.log");
    let mut a = Repo::new(dir.path().join("a"), dir.path().join("a.key"));
    let mut b = Repo::new(dir.path().join("b"), dir.path().join("b.key"));
    let mut src = Source { root: dir.path().join("src"), cycle: 0 };
    let src_arg = src.root.to_str().unwrap().to_owned();
    for _ in 0..scale.slots {
        src.mutate(&mut rng, scale);
    }
    let a_key = a.key.clone();
    let backup = |repo: &Path| {
        let mut c = bunker(repo, &a_key);
        c.args(["backup", &src_arg]);
        c
    };
    let mut measured = Durations::default();

    // --- backup ---
    let m = manifest(&src.root);
    a.ok(&["backup", &src_arg]);
    let first = a.new_snapshot(&BTreeSet::new()).unwrap();
    a.add_point(first, m, scale.keep);
    let mut backups = Tally::default();
    for i in 0..scale.backup_kills {
        let m = src.mutate(&mut rng, scale);
        let before = a.snapshot_ids();
        let d = measure(&a.path, &scratch, backup);
        measured.add(d);
        kill_after(backup(&a.path), d, &mut rng, (&a.path, &log), &mut backups, &format!("backup {i}"));
        a.verify(&scratch);
        a.unlock();
        // The manifest may have been written just before the kill: then it is a point too.
        if let Some(id) = a.new_snapshot(&before) {
            a.add_point(id, m, scale.keep);
            a.verify(&scratch);
        }
    }
    let t_backup = started.elapsed();

    // --- prune: each round forgets a point (and finds what killed runs left) ---
    let mut prunes = Tally::default();
    let prune = |repo: &Path| {
        let mut c = bunker(repo, &a_key);
        c.arg("prune");
        c
    };
    for i in 0..scale.prune_kills {
        let m = src.mutate(&mut rng, scale);
        let before = a.snapshot_ids();
        // One worker, one pack: the slot (kept by the next points) and churn.bin (dead at the
        // next forget) share it, so the prune must repack, not only delete.
        a.ok(&["backup", &src_arg, "--threads", "1"]);
        let id = a.new_snapshot(&before).unwrap();
        a.add_point(id, m, scale.keep);
        let d = measure(&a.path, &scratch, prune);
        measured.add(d);
        kill_after(prune(&a.path), d, &mut rng, (&a.path, &log), &mut prunes, &format!("prune {i}"));
        assert_eq!(a.snapshot_ids(), a.points.iter().map(|(id, _)| id.clone()).collect(), "prune changed the snapshots");
        a.verify(&scratch);
        a.unlock();
    }
    let t_prune = started.elapsed() - t_backup;

    // --- copy: each round copies a new latest point of `a` into `b` ---
    let mut copies = Tally::default();
    let (a_path, b_key) = (a.path.clone(), b.key.clone());
    let copy_cmd = |target: &Path| {
        let mut c = bunker(&a_path, &a_key);
        c.args(["copy", "latest", "--to"]).arg(target).arg("--to-key-file").arg(&b_key);
        c
    };
    for i in 0..scale.copy_kills {
        let m = src.mutate(&mut rng, scale);
        let before = a.snapshot_ids();
        a.ok(&["backup", &src_arg]);
        let id = a.new_snapshot(&before).unwrap();
        a.add_point(id, m.clone(), scale.keep);
        let d = measure(&b.path, &scratch, copy_cmd);
        measured.add(d);
        let before = b.snapshot_ids();
        let kill = kill_after(copy_cmd(&b.path), d, &mut rng, (&b.path, &log), &mut copies, &format!("copy {i}"));
        let copied = b.new_snapshot(&before);
        assert!(!kill.finished || copied.is_some(), "a finished copy made no snapshot");
        b.verify(&scratch);
        // The source was only read: its lock is all a killed copy can leave there.
        a.ok(&["check"]);
        a.unlock();
        b.unlock();
        if let Some(id) = copied {
            b.add_point(id, m, scale.keep);
            b.verify(&scratch);
        }
    }
    let t_copy = started.elapsed() - t_backup - t_prune;

    // --- an uninterrupted prune removes the garbage and leaves everything restorable ---
    let mut tmp_left = 0;
    for repo in [&a, &b] {
        let unindexed = repo.verify(&scratch);
        let report = repo.json(&["prune"]);
        let check = repo.json(&["check", "--read-data"]);
        assert_eq!(check["ok"], true, "{check}");
        assert_eq!(check["unindexed_packs"].as_array().unwrap().len(), 0, "prune left unindexed packs: {check}");
        let plan = repo.json(&["prune", "--dry-run"]);
        for field in ["packs_delete", "packs_repack", "packs_unindexed", "packs_missing"] {
            assert_eq!(plan["plan"][field], 0, "garbage left after prune ({field}): {plan}");
        }
        repo.verify(&scratch);
        let left = objects(&repo.path).tmp.len();
        // Lock-object temporaries stay until they are old (a live acquirer may be writing one).
        let data_left: Vec<String> = objects(&repo.path).tmp.into_iter().filter(|t| !t.starts_with("locks/")).collect();
        assert!(data_left.is_empty(), "prune removes what interrupted writes left behind: {data_left:?}");
        tmp_left += left;
        println!(
            "final prune of {}: {unindexed} unindexed packs before, {} bytes freed, {} written; {left} .tmp files left",
            repo.path.display(),
            report["bytes_freed"],
            report["bytes_written"]
        );
    }

    println!("uninterrupted runs: {measured}");
    for (name, t) in [("backup", &backups), ("prune", &prunes), ("copy", &copies)] {
        println!("{name}: {t:?}");
    }
    println!(
        "phases: backup {t_backup:.1?}, prune {t_prune:.1?}, copy {t_copy:.1?}; total {:.1?}; {tmp_left} .tmp files \
         of interrupted writes remain (prune does not remove them)",
        started.elapsed()
    );
    let total = backups.kills + prunes.kills + copies.kills;
    assert!(total >= 50, "only {total} kills");
}
