//! `bunker vault …` end to end: the real binary against vaults in temporary directories.
//! Data is small so the whole file runs in seconds; the library's own tests cover the
//! engine in depth, these cover what the CLI adds (parsing, output, exit codes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A vault opened with a key file (cheap, unlike the password's Argon2id), in a temp dir.
struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    key: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let key = dir.path().join("key");
        let f = Self { dir, repo, key };
        f.ok(&["init"]);
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self) -> Command {
        let mut c = bare();
        c.arg("vault").arg("-r").arg(&self.repo).arg("--key-file").arg(&self.key);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, args);
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

/// The binary with no vault settings inherited from the caller's environment.
fn bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bunker"));
    for var in ["BUNKER_VAULT_PASSWORD", "BUNKER_VAULT_PASSWORD2", "BUNKER_VAULT_REPOSITORY", "BUNKER_VAULT_KEY_FILE", "RUST_LOG"] {
        c.env_remove(var);
    }
    c
}

fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "{args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Deterministic incompressible bytes (xorshift), so no test depends on a random crate.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A small tree: nested dirs, an empty file, a unicode name, a symlink, a multi-chunk file.
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("docs/deep/er")).unwrap();
    std::fs::write(root.join("a.txt"), b"alpha\n").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::write(root.join("docs/notes-été.md"), "ünïcödé\n".repeat(50)).unwrap();
    std::fs::write(root.join("docs/deep/er/big.bin"), noise(700_000, 7)).unwrap();
    std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
}

/// Asserts two trees hold the same names, bytes and symlink targets.
fn assert_same_tree(a: &Path, b: &Path) {
    let mut names_a: Vec<_> = std::fs::read_dir(a).unwrap().map(|e| e.unwrap().file_name()).collect();
    let mut names_b: Vec<_> = std::fs::read_dir(b).unwrap().map(|e| e.unwrap().file_name()).collect();
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b, "entries of {}", a.display());
    for name in names_a {
        let (pa, pb) = (a.join(&name), b.join(&name));
        let ma = std::fs::symlink_metadata(&pa).unwrap();
        assert_eq!(ma.file_type(), std::fs::symlink_metadata(&pb).unwrap().file_type(), "{}", pa.display());
        if ma.is_symlink() {
            assert_eq!(std::fs::read_link(&pa).unwrap(), std::fs::read_link(&pb).unwrap());
        } else if ma.is_dir() {
            assert_same_tree(&pa, &pb);
        } else {
            assert!(std::fs::read(&pa).unwrap() == std::fs::read(&pb).unwrap(), "content of {}", pa.display());
        }
    }
}

#[test]
fn backup_snapshots_ls_restore_diff() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let src_arg = src.to_str().unwrap();

    let first = f.ok(&["backup", src_arg, "--tag", "nightly"]).trim().to_owned();
    assert!(is_id(&first), "backup prints the snapshot id: {first:?}");

    let snapshots = f.json(&["snapshots"]);
    let list = snapshots.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], first.as_str());
    assert_eq!(list[0]["tags"][0], "nightly");
    assert_eq!(list[0]["paths"][0], src_arg);

    let ls = f.json(&["ls", &first[..8]]);
    let paths: Vec<&str> = ls["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    for want in ["src", "src/a.txt", "src/empty", "src/link", "src/docs/notes-été.md", "src/docs/deep/er/big.bin"] {
        assert!(paths.contains(&want), "{want} missing from ls: {paths:?}");
    }
    let sub = f.json(&["ls", "latest", "src/docs/deep"]);
    assert_eq!(sub["entries"].as_array().unwrap().len(), 3, "{sub}");
    assert!(f.ok(&["ls", "latest", "--output", "table"]).contains("src/link -> a.txt"));

    let target = f.path("restored");
    f.ok(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert_same_tree(&src, &target.join("src"));

    let partial = f.path("partial");
    f.ok(&["restore", &first, "--target", partial.to_str().unwrap(), "--include", "src/docs/deep"]);
    assert_same_tree(&src.join("docs/deep"), &partial.join("src/docs/deep"));
    assert!(!partial.join("src/a.txt").exists());

    std::fs::write(src.join("a.txt"), b"alpha, changed\n").unwrap();
    std::fs::write(src.join("docs/new.txt"), b"new\n").unwrap();
    let second = f.ok(&["backup", src_arg]).trim().to_owned();
    assert_ne!(first, second);
    let snapshots = f.json(&["snapshots"]);
    assert_eq!(snapshots[1]["parent"], first.as_str(), "the latest backup of the same paths is the parent");
    assert_eq!(snapshots[1]["summary"]["files_unchanged"], 3, "unchanged files are not read again");

    let diff = f.json(&["diff", &first, &second]);
    let changes: Vec<(String, String)> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap().to_owned(), c["change"].as_str().unwrap().to_owned()))
        .collect();
    assert!(changes.contains(&("src/a.txt".into(), "modified".into())), "{changes:?}");
    assert!(changes.contains(&("src/docs/new.txt".into(), "added".into())), "{changes:?}");
    assert!(f.ok(&["diff", &first, "latest", "--output", "table"]).contains("| +      | src/docs/new.txt"));
}

#[test]
fn backup_json_lines_end_with_a_summary() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let out = f.ok(&["backup", src.to_str().unwrap(), "--json"]);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    assert!(lines.len() >= 2, "status lines then a summary: {out}");
    assert!(lines[..lines.len() - 1].iter().all(|l| l["message_type"] == "status"), "{out}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["message_type"], "summary");
    let id = summary["snapshot_id"].as_str().unwrap();
    assert!(is_id(id));
    assert_eq!(summary["files"], 4);
    assert!(summary["bytes_read"].as_u64().unwrap() >= 700_000);
    assert!(summary["bytes_added"].as_u64().unwrap() > 0);
    assert!(summary["duration_seconds"].as_f64().is_some());
    assert_eq!(f.json(&["snapshots"])[0]["id"], id);
}

#[test]
fn stream_round_trip_through_stdin_and_stdout() {
    let f = Fixture::new();
    let data = noise(1_500_000, 3);
    let out = f.run_stdin(&["backup-stream", "--name", "db.dump"], &data);
    assert_success(&out, &["backup-stream"]);
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(is_id(&id));
    let back = f.run(&["restore-stream", &id]);
    assert_success(&back, &["restore-stream"]);
    assert!(back.stdout == data, "restored stream differs ({} bytes)", back.stdout.len());
    assert_eq!(f.json(&["ls", "latest"])["entries"][0]["path"], "db.dump");
}

#[test]
fn check_read_data_names_a_damaged_chunk() {
    let f = Fixture::new();
    let out = f.run_stdin(&["backup-stream", "--name", "data"], &noise(100_000, 11));
    assert_success(&out, &["backup-stream"]);
    let report = f.json(&["check", "--read-data"]);
    assert_eq!(report["ok"], true, "{report}");
    let chunk = f.json(&["ls", "latest"])["entries"][0]["chunks"][0].as_str().unwrap().to_owned();

    // The stream's first chunk is the first blob of the pack its worker wrote: flip a byte
    // inside it in every pack.
    let mut packs = Vec::new();
    let mut dirs = vec![f.repo.join("data")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { dirs.push(p) } else { packs.push(p) }
        }
    }
    assert!(!packs.is_empty());
    for pack in &packs {
        let mut bytes = std::fs::read(pack).unwrap();
        bytes[20] ^= 0x01;
        std::fs::write(pack, bytes).unwrap();
    }

    let out = f.run(&["check", "--read-data", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&chunk), "stderr names the chunk {chunk}: {}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["damaged_chunks"].as_array().unwrap().iter().any(|c| c == chunk.as_str()), "{report}");
    assert_eq!(report["affected_snapshots"].as_array().unwrap().len(), 1, "{report}");
}

#[test]
fn passwords_and_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let with_password = |password: &str, args: &[&str]| {
        bare().arg("vault").arg("-r").arg(&repo).args(args).env("BUNKER_VAULT_PASSWORD", password).output().unwrap()
    };
    assert_success(&with_password("correct horse", &["init"]), &["init"]);
    assert_success(&with_password("correct horse", &["snapshots"]), &["snapshots"]);

    let wrong = with_password("battery staple", &["snapshots"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("wrong password"), "{}", stderr(&wrong));

    // Rotating to a key file retires the password.
    let key = dir.path().join("new.key");
    let rotated = with_password("correct horse", &["key", "rotate", "--new-key-file", key.to_str().unwrap()]);
    assert_success(&rotated, &["key", "rotate"]);
    assert!(key.exists(), "the new key file is created");
    assert_eq!(with_password("correct horse", &["snapshots"]).status.code(), Some(1));
    let by_file =
        bare().arg("vault").arg("-r").arg(&repo).arg("--key-file").arg(&key).arg("snapshots").output().unwrap();
    assert_success(&by_file, &["snapshots", "--key-file"]);
}

#[test]
fn repository_and_key_come_from_the_environment_or_fail_clearly() {
    let f = Fixture::new();
    let from_env = bare()
        .args(["vault", "snapshots"])
        .env("BUNKER_VAULT_REPOSITORY", &f.repo)
        .env("BUNKER_VAULT_KEY_FILE", &f.key)
        .output()
        .unwrap();
    assert_success(&from_env, &["snapshots (env)"]);

    let no_repo = bare().args(["vault", "snapshots"]).output().unwrap();
    assert_eq!(no_repo.status.code(), Some(2));
    assert!(stderr(&no_repo).contains("BUNKER_VAULT_REPOSITORY"), "{}", stderr(&no_repo));

    let no_key = bare().args(["vault", "snapshots", "-r"]).arg(&f.repo).output().unwrap();
    assert_eq!(no_key.status.code(), Some(2));
    assert!(stderr(&no_key).contains("BUNKER_VAULT_PASSWORD"), "{}", stderr(&no_key));

    let missing = bare()
        .args(["vault", "-r"])
        .arg(f.path("nowhere"))
        .arg("--key-file")
        .arg(&f.key)
        .arg("snapshots")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no vault at"), "{}", stderr(&missing));

    let twice = f.run(&["init"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(stderr(&twice).contains("already exists"), "{}", stderr(&twice));

    let unknown = f.run(&["restore", "ffffffff", "--target", f.path("t").to_str().unwrap()]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("not found"), "{}", stderr(&unknown));
}

#[test]
fn s3_urls_are_checked_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let out = bare().args(["vault", "-r", "s3://", "--key-file"]).arg(&key).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("names no bucket"), "{}", stderr(&out));
    let out = bare().args(["vault", "-r", "ftp://host/x", "--key-file"]).arg(&key).arg("init").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `moto_server` as the vault crate's S3 tests find it (`$MOTO_SERVER` or the workspace's
/// `.venv`, installed by `scripts/test`); `None` skips, unless `BUNKER_REQUIRE_S3` is set.
fn moto_server() -> Option<PathBuf> {
    let bin = std::env::var_os("MOTO_SERVER")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")))
        .filter(|p| p.exists());
    if bin.is_none() {
        assert!(
            std::env::var_os("BUNKER_REQUIRE_S3").is_none(),
            "BUNKER_REQUIRE_S3 is set but no moto_server was found"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"\n!!!! SKIPPED: no moto_server for the S3 CLI test !!!!\n",
        );
    }
    bin
}

/// Kills the server however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One unsigned HTTP request (moto accepts them); the status code once something answers.
fn http_status(port: u16, method: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn s3_round_trip() {
    let Some(bin) = moto_server() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while http_status(port, "GET", "/").is_none() {
        assert!(std::time::Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(http_status(port, "PUT", "/vaults"), Some(200));

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let src = dir.path().join("src");
    make_tree(&src);
    let run = |args: &[&str]| {
        let out = bare()
            .args(["vault", "-r", "s3://vaults/team/a", "--key-file"])
            .arg(&key)
            .args(args)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap();
        assert_success(&out, args);
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["init"]);
    let id = run(&["backup", src.to_str().unwrap()]).trim().to_owned();
    assert!(is_id(&id));
    let target = dir.path().join("restored");
    run(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert_same_tree(&src, &target.join("src"));
    assert!(run(&["check", "--read-data", "--output", "json"]).contains("\"ok\": true"));
}

#[test]
fn help_and_usage_errors() {
    let commands: [&[&str]; 16] = [
        &[],
        &["init"],
        &["backup"],
        &["backup-stream"],
        &["restore"],
        &["restore-stream"],
        &["snapshots"],
        &["ls"],
        &["diff"],
        &["check"],
        &["key"],
        &["key", "rotate"],
        &["forget"],
        &["prune"],
        &["copy"],
        &["unlock"],
    ];
    for command in commands {
        let out = bare().arg("vault").args(command).arg("--help").output().unwrap();
        assert_success(&out, command);
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: bunker vault"), "{command:?}");
    }
    for bad in [&["vault"][..], &["vault", "backup"], &["vault", "frobnicate"], &["vault", "check", "--bogus"]] {
        assert_eq!(bare().args(bad).output().unwrap().status.code(), Some(2), "{bad:?}");
    }
}

/// Bytes of all packs in a local vault.
fn pack_bytes(repo: &Path) -> u64 {
    let mut total = 0;
    let mut dirs = vec![repo.join("data")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                total += e.metadata().unwrap().len();
            }
        }
    }
    total
}

#[test]
fn forget_and_prune_free_space_and_the_rest_restores() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let src_arg = src.to_str().unwrap();
    let big = src.join("docs/deep/er/big.bin");
    let first = f.ok(&["backup", src_arg]).trim().to_owned();
    std::fs::write(&big, noise(3_000_000, 21)).unwrap();
    let second = f.ok(&["backup", src_arg]).trim().to_owned();
    std::fs::write(&big, noise(3_000_000, 22)).unwrap();
    let third = f.ok(&["backup", src_arg]).trim().to_owned();
    let before = pack_bytes(&f.repo);

    let forgotten = f.json(&["forget", &first[..10]]);
    assert_eq!(forgotten["forgotten"], serde_json::json!([first]), "{forgotten}");
    assert!(forgotten.get("prune").is_none(), "forget alone does not prune: {forgotten}");
    assert_eq!(pack_bytes(&f.repo), before, "forget deletes manifests only");

    // Forgetting the first point freed only its old big.bin (700 kB): a dry run plans it.
    let plan = f.json(&["prune", "--dry-run"]);
    assert_eq!(plan["dry_run"], true, "{plan}");
    assert_eq!(plan["applied"], false, "{plan}");
    assert_eq!(plan["snapshots"], 2, "{plan}");
    assert!(plan["plan"]["bytes_to_free"].as_u64().unwrap() > 0, "{plan}");
    assert_eq!(pack_bytes(&f.repo), before, "a dry run changes nothing");
    let table = f.ok(&["prune", "--dry-run", "--output", "table"]);
    assert!(table.contains("BytesToFree") && table.contains("dry run: nothing changed"), "{table}");

    // forget --prune: the second point's 3 MB big.bin goes too.
    let out = f.json(&["forget", &second, "--prune", "--max-unused", "0%"]);
    assert_eq!(out["forgotten"], serde_json::json!([second]), "{out}");
    let report = &out["prune"];
    assert_eq!(report["applied"], true, "{out}");
    assert_eq!(report["snapshots"], 1, "{out}");
    let freed = report["bytes_freed"].as_u64().unwrap();
    let written = report["bytes_written"].as_u64().unwrap();
    let after = pack_bytes(&f.repo);
    assert!(after + 3_000_000 < before, "prune frees the forgotten data: {before} -> {after} ({out})");
    assert!(freed > written + 3_000_000, "{out}");

    let check = f.json(&["check", "--read-data"]);
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["snapshots"], 1, "{check}");
    let target = f.path("restored");
    f.ok(&["restore", &third, "--target", target.to_str().unwrap()]);
    assert_same_tree(&src, &target.join("src"));

    // Nothing left to do: a second prune changes nothing.
    let again = f.json(&["prune"]);
    assert_eq!(again["applied"], false, "{again}");
    assert_eq!(pack_bytes(&f.repo), after);

    let bad = f.run(&["prune", "--max-unused", "150%"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let unknown = f.run(&["forget", &third, "ffffffff"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert_eq!(f.json(&["snapshots"]).as_array().unwrap().len(), 1, "a bad id forgets nothing");
}

#[test]
fn copy_to_a_vault_with_another_password() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    std::fs::write(src.join("data.bin"), noise(2_000_000, 31)).unwrap();
    let src_arg = src.to_str().unwrap();
    let first = f.ok(&["backup", src_arg]).trim().to_owned();

    let repo2 = f.path("repo2");
    let with_password2 = |args: &[&str]| {
        bare().arg("vault").arg("-r").arg(&repo2).args(args).env("BUNKER_VAULT_PASSWORD", "other secret").output().unwrap()
    };
    assert_success(&with_password2(&["init"]), &["init repo2"]);
    let copy = |id: &str| {
        let out = f.command().args(["copy", id, "--to"]).arg(&repo2).env("BUNKER_VAULT_PASSWORD2", "other secret").output().unwrap();
        assert_success(&out, &["copy", id]);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };

    let c1 = copy("latest");
    assert_eq!(c1["source_snapshot"], first.as_str(), "{c1}");
    let copied = c1["snapshot_id"].as_str().unwrap().to_owned();
    assert!(is_id(&copied) && copied != first, "ids are keyed per vault: {c1}");
    assert_eq!(c1["already_present"], false);
    let written1 = c1["bytes_written"].as_u64().unwrap();
    assert!(written1 > 2_000_000, "{c1}");

    // The target opens with its own password only, and restores the same tree.
    let target = f.path("restored");
    let out = with_password2(&["restore", &copied, "--target", target.to_str().unwrap()]);
    assert_success(&out, &["restore from repo2"]);
    assert_same_tree(&src, &target.join("src"));
    let check = with_password2(&["check", "--read-data"]);
    assert_success(&check, &["check repo2"]);

    // Copying again writes nothing.
    let again = copy(&first);
    assert_eq!(again["already_present"], true, "{again}");
    assert_eq!(again["snapshot_id"], copied.as_str());
    assert_eq!(again["bytes_written"], 0, "{again}");

    // An incremental copy writes about what the source's own backup added (the chunks
    // around a 100 kB edit), not the whole 2 MB again.
    let mut data = std::fs::read(src.join("data.bin")).unwrap();
    data[1_000_000..1_100_000].copy_from_slice(&noise(100_000, 32));
    std::fs::write(src.join("data.bin"), data).unwrap();
    let backup = f.ok(&["backup", src_arg, "--json"]);
    let added = serde_json::from_str::<Value>(backup.lines().last().unwrap()).unwrap()["bytes_added"].as_u64().unwrap();
    let c2 = copy("latest");
    let written2 = c2["bytes_written"].as_u64().unwrap();
    assert!(written2 > 0 && written2 < written1, "{c2}");
    assert!(written2 * 10 <= added * 11 + 10_000, "copy wrote {written2} for {added} added by the backup: {c2}");

    // A key file works for the target too, and a missing target key is a usage error.
    let repo3 = f.path("repo3");
    let key3 = f.path("key3");
    let init3 = bare().arg("vault").arg("-r").arg(&repo3).arg("--key-file").arg(&key3).arg("init").output().unwrap();
    assert_success(&init3, &["init repo3"]);
    let table = f.ok(&["copy", "latest", "--to", repo3.to_str().unwrap(), "--to-key-file", key3.to_str().unwrap(), "--output", "table"]);
    assert!(table.contains("BytesWritten"), "{table}");
    let no_key = f.run(&["copy", "latest", "--to", repo2.to_str().unwrap()]);
    assert_eq!(no_key.status.code(), Some(2), "{}", stderr(&no_key));
    assert!(stderr(&no_key).contains("BUNKER_VAULT_PASSWORD2"), "{}", stderr(&no_key));
    let nowhere = f.run(&["copy", "latest", "--to", f.path("nowhere").to_str().unwrap(), "--to-key-file", key3.to_str().unwrap()]);
    assert_eq!(nowhere.status.code(), Some(1));
    assert!(stderr(&nowhere).contains("no vault at"), "{}", stderr(&nowhere));
}

#[test]
fn unlock_removes_locks_of_gone_processes_only() {
    let f = Fixture::new();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned();
    let write_lock = |name: char, host: &str, pid: u32| {
        let lock = serde_json::json!({
            "version": 1, "kind": "exclusive", "operation": "prune", "hostname": host, "pid": pid,
            "created": "2025-01-01T00:00:00Z", "expires": "2999-01-01T00:00:00Z",
        });
        std::fs::create_dir_all(f.repo.join("locks")).unwrap();
        std::fs::write(f.repo.join("locks").join(name.to_string().repeat(64)), lock.to_string()).unwrap();
    };
    // A killed holder on this host (pid above any pid_max), a live one, one on another host.
    write_lock('a', &host, 5_000_000);
    write_lock('b', &host, std::process::id());
    write_lock('c', "elsewhere", 5_000_000);
    let out = f.json(&["unlock"]);
    let removed = out["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{out}");
    assert_eq!(removed[0]["id"], "a".repeat(64));
    assert_eq!(removed[0]["reason"], "holder no longer runs");
    assert_eq!(out["kept"].as_array().unwrap().len(), 2, "{out}");
    let out = f.json(&["unlock", "--remove-all"]);
    assert_eq!(out["removed"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(std::fs::read_dir(f.repo.join("locks")).unwrap().count(), 0);
}
