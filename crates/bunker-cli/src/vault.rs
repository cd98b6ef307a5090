//! `bunker vault …`: the vault engine without the service, for power users and benchmarks.
//!
//! Habits are restic's (`-r`, a password from the environment, `latest`, `--json` progress
//! lines, ids printed for scripts); every command only parses, calls `bunker_vault` and
//! prints. Exit codes: 0 ok, 1 failure (including a check that finds damage), 2 usage.

mod maintain;
pub(crate) mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use bunker_vault::{
    BackupOptions, BackupSummary, Change, CheckOptions, FileKek, KeyEncryptionKey, LsEntry, NodeKind,
    ObjectKey, PasswordKek, Problem, RestoreOptions, Snapshot, SnapshotId, Storage, StreamOptions, Vault, VaultError,
};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use self::progress::Reporter;
use crate::output::{self, Format, Query};

impl VaultCommand {
    /// The command's name, for the audit trail.
    fn name(&self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::Backup { .. } => "backup",
            Self::BackupStream { .. } => "backup-stream",
            Self::Restore { .. } => "restore",
            Self::RestoreStream { .. } => "restore-stream",
            Self::Snapshots => "snapshots",
            Self::Ls { .. } => "ls",
            Self::Diff { .. } => "diff",
            Self::Check { .. } => "check",
            Self::Forget { .. } => "forget",
            Self::Prune { .. } => "prune",
            Self::Copy { .. } => "copy",
            Self::Unlock { .. } => "unlock",
            Self::Key(KeyCommand::Rotate { .. }) => "key rotate",
            Self::Key(KeyCommand::List) => "key list",
        }
    }

    /// Whether the command writes into the repository or elsewhere from it. A restore
    /// writes files wherever it is told: from a service vault that is the service's
    /// `start-restore-job`, which confines targets.
    fn changes_vault(&self) -> bool {
        match self {
            Self::Init | Self::Backup { .. } | Self::BackupStream { .. } | Self::Restore { .. } | Self::Forget { .. } | Self::Prune { .. } => true,
            Self::Copy { .. } | Self::Unlock { .. } | Self::Key(KeyCommand::Rotate { .. }) => true,
            Self::RestoreStream { .. } | Self::Snapshots | Self::Ls { .. } | Self::Diff { .. } | Self::Check { .. } | Self::Key(KeyCommand::List) => false,
        }
    }
}

/// Where the password comes from, as restic's `RESTIC_PASSWORD`.
const PASSWORD_ENV: &str = "BUNKER_VAULT_PASSWORD";

/// Options shared by every vault command (accepted before or after the command name).
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// The vault: a directory, or s3://bucket/prefix (endpoint and credentials from
    /// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
    #[arg(short = 'r', long = "repo", global = true, env = "BUNKER_VAULT_REPOSITORY", value_name = "PATH")]
    repo: Option<String>,
    /// Key file (32 bytes, or 64 hex digits) wrapping the vault key, instead of the password
    /// in BUNKER_VAULT_PASSWORD. `init` creates it if it does not exist.
    #[arg(long, global = true, env = "BUNKER_VAULT_KEY_FILE", value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// A key of the service's key service in Bunker's home (a vault's `EncryptionKeyArn`,
    /// `arn:aws:kms:…`), to open a service vault directly (check it, list it).
    #[arg(long, global = true, value_name = "ARN", conflicts_with = "key_file")]
    kms_key_arn: Option<String>,
    /// Bunker's home, for `--kms-key-arn` (taken from the global `--home`).
    #[arg(skip)]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    command: VaultCommand,
}

/// The service's word on opening `repo` directly: `None` for a standalone repository,
/// the key for a service vault the caller may read. A home without a catalog has no
/// service vaults.
fn service_access(home: Option<PathBuf>, repo: &str, command: &str, mutating: bool, kms_key_arn: Option<&str>) -> Result<Option<Box<dyn KeyEncryptionKey>>, Failure> {
    let home = crate::home::resolve(home).map_err(Failure::Error)?;
    // A home that lost its catalog still holds the service's vaults.
    bunker_service::refuse_lost_catalog(&home).map_err(Failure::Error)?;
    if !home.join(bunker_service::CATALOG_FILE).exists() {
        return match kms_key_arn {
            Some(_) => Err(Failure::Usage(format!("--kms-key-arn opens the service's vaults, and {} holds no service", home.display()))),
            None => Ok(None),
        };
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Failure::Error(anyhow!("{e}")))?;
    runtime.block_on(async {
        let service = bunker_service::Service::open(&home, bunker_service::TimeRequest::System).await.map_err(Failure::Error)?;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let who = match (var("BUNKER_ACCESS_KEY_ID"), var("BUNKER_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some(service.authenticate(&id, &secret, var("BUNKER_SESSION_TOKEN").as_deref(), "cli").await.map_err(service_failure)?),
            _ => None,
        };
        let access = service.direct_vault_access(who.as_ref(), repo, command, mutating).await;
        service.close().await;
        match access.map_err(service_failure)? {
            bunker_service::vaults::DirectAccess::Standalone if kms_key_arn.is_some() => {
                Err(Failure::Usage(format!("--kms-key-arn opens the service's vaults, and `{repo}` is none")))
            }
            bunker_service::vaults::DirectAccess::Standalone => Ok(None),
            bunker_service::vaults::DirectAccess::ServiceVault { kek, .. } => Ok(Some(Box::new(kek) as Box<dyn KeyEncryptionKey>)),
        }
    })
}

/// A refusal of the service, in the AWS CLI's words.
fn service_failure(f: bunker_service::Failure) -> Failure {
    match f.code() {
        Some(code) => Failure::Error(anyhow!("An error occurred ({code}): {f}")),
        None => Failure::Error(anyhow!("{f}")),
    }
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Create a new, empty vault.
    Init,
    /// Back up directories or files into a new snapshot; prints its id.
    Backup {
        /// What to back up; each becomes a top-level entry named by its last component.
        #[arg(required = true, value_name = "SRC")]
        paths: Vec<PathBuf>,
        /// Snapshot (`latest`, id or unique prefix) whose unchanged files are reused without
        /// reading them [default: the latest snapshot of the same paths].
        #[arg(long, value_name = "ID")]
        parent: Option<String>,
        /// Read every file, ignoring any parent snapshot.
        #[arg(long, conflicts_with = "parent")]
        force: bool,
        /// Tag recorded in the snapshot (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Host name to record instead of this machine's.
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Back up standard input as a snapshot holding one file; prints its id.
    BackupStream {
        /// The file name of the stream inside the snapshot (e.g. db.dump).
        #[arg(long)]
        name: String,
        /// Tag recorded in the snapshot (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Host name to record instead of this machine's.
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Restore a snapshot (or one path inside it) into a directory.
    Restore {
        /// `latest`, a snapshot id or a unique prefix.
        #[arg(value_name = "ID")]
        snapshot: String,
        /// Directory to restore into (created if missing).
        #[arg(long, value_name = "DIR")]
        target: PathBuf,
        /// Restore only this path inside the snapshot (e.g. src/lib).
        #[arg(long, value_name = "SUBPATH")]
        include: Option<String>,
        /// Worker threads [default: available cores].
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Write the file of a stream snapshot to standard output.
    RestoreStream {
        /// `latest`, a snapshot id or a unique prefix.
        #[arg(value_name = "ID")]
        snapshot: String,
    },
    /// List snapshots, oldest first.
    Snapshots,
    /// List the entries of a snapshot, or of one path inside it.
    Ls {
        /// `latest`, a snapshot id or a unique prefix.
        #[arg(value_name = "ID")]
        snapshot: String,
        /// Path inside the snapshot (e.g. src/lib).
        path: Option<String>,
    },
    /// Show what changed between two snapshots.
    Diff {
        /// The older snapshot.
        #[arg(value_name = "ID1")]
        first: String,
        /// The newer snapshot.
        #[arg(value_name = "ID2")]
        second: String,
    },
    /// Verify the vault's structure, and with --read-data every stored byte; exits 1 and
    /// names the damaged chunks and snapshots if anything is wrong.
    Check {
        /// Read, decrypt and verify every chunk.
        #[arg(long)]
        read_data: bool,
        /// Worker threads for --read-data [default: available cores].
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Delete snapshots (their manifests); their data stays until a prune, or `--prune`.
    Forget {
        /// Snapshots to delete: ids, unique prefixes or `latest`.
        #[arg(required = true, value_name = "ID")]
        snapshots: Vec<String>,
        /// Prune right after forgetting.
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        prune_args: maintain::PruneArgs,
    },
    /// Delete the data no snapshot uses, and what interrupted backups left; prints the plan
    /// and what was done. Waits for running backups.
    Prune {
        /// Print the plan, change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        args: maintain::PruneArgs,
    },
    /// Copy a snapshot into another vault, which has its own key; only data the target lacks
    /// is written. Prints the snapshot's id in the target and the bytes written.
    Copy {
        /// `latest`, a snapshot id or a unique prefix.
        #[arg(value_name = "ID")]
        snapshot: String,
        #[command(flatten)]
        target: maintain::CopyTarget,
    },
    /// Remove locks left by crashed or killed processes: expired ones, and those whose holder
    /// ran on this host and no longer runs.
    Unlock {
        /// Remove every lock, even those of running processes.
        #[arg(long)]
        remove_all: bool,
    },
    /// Manage the keys that open the vault.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Make a key file the only way in: wraps the vault key with it (creating the file if it
    /// does not exist), then removes every other key. Data is not rewritten.
    Rotate {
        /// The new key file.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
    /// List the key objects.
    List,
}

/// Options of the commands that store data.
#[derive(Debug, Args)]
struct RunArgs {
    /// Print progress and the summary as JSON lines on stdout (restic's `--json`).
    #[arg(long)]
    json: bool,
    /// Worker threads [default: available cores].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// Why a command failed.
enum Failure {
    /// Bad invocation that clap could not see (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Error(anyhow::Error),
    /// The command printed its own findings (a failed check).
    Reported,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Error(e)
    }
}

impl From<VaultError> for Failure {
    fn from(e: VaultError) -> Self {
        Self::Error(e.into())
    }
}

type Outcome = Result<(), Failure>;

/// How results are printed: the global `--output` and `--query`.
struct Printer<'a> {
    format: Format,
    query: Option<&'a str>,
}

/// Runs one vault command.
pub fn run(args: VaultArgs, format: Format, query: Option<&str>) -> ExitCode {
    match execute(args, &Printer { format, query }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("bunker vault: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Error(e)) => {
            eprintln!("bunker vault: {e:#}");
            ExitCode::FAILURE
        }
        Err(Failure::Reported) => ExitCode::FAILURE,
    }
}

fn execute(args: VaultArgs, printer: &Printer<'_>) -> Outcome {
    if let Some(q) = printer.query {
        Query::parse(q).map_err(|e| Failure::Usage(format!("bad value for --query: {e}")))?;
    }
    let repo = args
        .repo
        .as_deref()
        .ok_or_else(|| Failure::Usage("no vault given: pass -r PATH or set BUNKER_VAULT_REPOSITORY".into()))?;
    // The service's vaults are the service's: read here only after its authorization,
    // changed only through it.
    let service_kek = service_access(args.home.clone(), repo, args.command.name(), args.command.changes_vault(), args.kms_key_arn.as_deref())?;
    if let VaultCommand::Copy { target, .. } = &args.command {
        // Writing into a service vault is refused there; a standalone target is fine.
        service_access(args.home.clone(), &target.to, "copy", true, None)?;
    }
    let storage = open_storage(repo)?;
    if matches!(args.command, VaultCommand::Init) {
        return init(storage, repo, args.key_file.as_deref());
    }
    let kek = match service_kek {
        Some(kek) => kek,
        None => kek(args.key_file.as_deref(), false)?,
    };
    let mut vault = Vault::open(storage, kek.as_ref()).map_err(|e| match e {
        VaultError::NotFound { key: ObjectKey::Config } => {
            Failure::Error(anyhow!("no vault at `{repo}` (create one with `bunker vault init`)"))
        }
        e => e.into(),
    })?;
    match args.command {
        VaultCommand::Init => unreachable!("handled above"),
        VaultCommand::Backup { paths, parent, force, tags, host, run } => {
            let parent = match (parent, force) {
                (_, true) => None,
                (Some(reference), false) => Some(vault.find_snapshot(&reference)?.0),
                (None, false) => latest_of_paths(&vault, &paths)?,
            };
            let options = BackupOptions { parent, tags, hostname: host, threads: run.threads, ..Default::default() };
            let reporter = if run.json { Reporter::json() } else { Reporter::for_terminal() };
            let summary = vault.backup(&paths, &options, &reporter)?;
            print_backup(&summary, run.json);
            Ok(())
        }
        VaultCommand::BackupStream { name, tags, host, run } => {
            let options = StreamOptions { name, tags, hostname: host, threads: run.threads, ..Default::default() };
            let reporter = if run.json { Reporter::json() } else { Reporter::for_terminal() };
            let summary = vault.backup_stream(std::io::stdin().lock(), &options, &reporter)?;
            print_backup(&summary, run.json);
            Ok(())
        }
        VaultCommand::Restore { snapshot, target, include, threads } => {
            let (id, _) = vault.find_snapshot(&snapshot)?;
            let mut options = RestoreOptions::new(&target);
            options.include = include;
            options.threads = threads;
            let s = vault.restore(id, &options, &Reporter::for_terminal())?;
            println!(
                "restored snapshot {} to {}: {} files, {} dirs, {} others, {} bytes in {:.2}s",
                id.short(),
                target.display(),
                s.files,
                s.dirs,
                s.others,
                s.bytes,
                s.duration.as_secs_f64()
            );
            Ok(())
        }
        VaultCommand::RestoreStream { snapshot } => {
            let (id, _) = vault.find_snapshot(&snapshot)?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            vault.restore_stream(id, &mut out)?;
            out.flush().context("write to stdout")?;
            Ok(())
        }
        VaultCommand::Snapshots => {
            let snapshots = vault.snapshots()?;
            printer.print(&snapshots_value(&snapshots), &snapshots_table(&snapshots));
            Ok(())
        }
        VaultCommand::Ls { snapshot, path } => {
            let (id, _) = vault.find_snapshot(&snapshot)?;
            let entries = vault.ls(id, path.as_deref())?;
            let full = json!({
                "snapshot_id": id.to_hex(),
                "entries": entries.iter().map(ls_json).collect::<Vec<_>>(),
            });
            printer.print(&full, &json!({ "Entries": entries.iter().map(ls_row).collect::<Vec<_>>() }));
            Ok(())
        }
        VaultCommand::Diff { first, second } => {
            let (a, _) = vault.find_snapshot(&first)?;
            let (b, _) = vault.find_snapshot(&second)?;
            let changes = vault.diff(a, b)?;
            let full = json!({
                "first": a.to_hex(),
                "second": b.to_hex(),
                "changes": changes.iter().map(|c| json!({"path": c.path, "change": change_name(c.change)})).collect::<Vec<_>>(),
            });
            let rows: Vec<Value> =
                changes.iter().map(|c| json!({"Change": change_mark(c.change), "Path": c.path})).collect();
            printer.print(&full, &json!({ "Changes": rows }));
            Ok(())
        }
        VaultCommand::Check { read_data, threads } => {
            let report = vault.check(&CheckOptions { read_data, threads }, &Reporter::for_terminal())?;
            let problems: Vec<Value> = report.problems.iter().map(problem_json).collect();
            let full = json!({
                "ok": report.is_ok(),
                "read_data": read_data,
                "snapshots": report.snapshots,
                "packs": report.packs,
                "blobs_read": report.blobs_read,
                "problems": problems,
                "damaged_chunks": report.bad_blobs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "affected_snapshots": report.affected_snapshots.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "unindexed_packs": report.unindexed_packs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            let mut table = json!({
                "Check": {
                    "Result": if report.is_ok() { "no problems found" } else { "PROBLEMS FOUND" },
                    "Snapshots": report.snapshots,
                    "Packs": report.packs,
                    "ChunksRead": report.blobs_read,
                    "UnindexedPacks": report.unindexed_packs.len(),
                },
            });
            if !report.is_ok() {
                table["Problems"] = report.problems.iter().map(|p| json!({"Problem": problem_text(p)})).collect();
            }
            printer.print(&full, &table);
            if report.is_ok() {
                return Ok(());
            }
            // Also on stderr, so the damage is named whatever stdout is piped into.
            eprintln!("bunker vault: check found {} problem(s):", report.problems.len());
            for p in &report.problems {
                eprintln!("  {}", problem_text(p));
            }
            for s in &report.affected_snapshots {
                eprintln!("  snapshot {s} cannot be fully restored");
            }
            Err(Failure::Reported)
        }
        VaultCommand::Forget { snapshots, prune, prune_args } => {
            maintain::forget(&vault, &snapshots, prune.then_some(&prune_args), printer)
        }
        VaultCommand::Prune { dry_run, args } => maintain::prune(&vault, &args, dry_run, printer),
        VaultCommand::Copy { snapshot, target } => maintain::copy(&vault, &snapshot, &target, printer),
        VaultCommand::Unlock { remove_all } => maintain::unlock(&vault, remove_all, printer),
        VaultCommand::Key(KeyCommand::Rotate { new_key_file }) => {
            let new = load_or_create_key_file(&new_key_file)?;
            let id = vault.rotate_key(&new)?;
            println!("{id}");
            eprintln!("the vault now opens only with `{}`", new_key_file.display());
            Ok(())
        }
        VaultCommand::Key(KeyCommand::List) => {
            let keys: Vec<Value> = vault
                .keys()?
                .iter()
                .map(|k| json!({"id": k.id.to_hex(), "created": k.created.to_string(), "scheme": k.scheme, "current": k.id == vault.key_id()}))
                .collect();
            let value = json!({ "keys": keys });
            printer.print(&value, &value);
            Ok(())
        }
    }
}

/// A directory, or `s3://bucket/prefix` with the endpoint and credentials taken from the
/// standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, …) as the AWS tools do.
fn open_storage(repo: &str) -> Result<Arc<dyn Storage>, Failure> {
    if let Some((scheme, _)) = repo.split_once("://")
        && scheme != "s3"
    {
        return Err(Failure::Usage(format!("unknown repository scheme `{scheme}://`: use a directory or s3://")));
    }
    Ok(bunker_vault::storage::open(repo)?)
}

/// The KEK from `--key-file`, else the password. `init` creates a missing key file so a
/// benchmark can start from nothing.
fn kek(key_file: Option<&Path>, create: bool) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    match key_file {
        Some(path) if create => Ok(Box::new(load_or_create_key_file(path)?)),
        key_file => kek_from(key_file, PASSWORD_ENV, "--key-file"),
    }
}

/// A key file if given, else the password in `password_env`; `flag` names the key file
/// option in the error (the copy target has its own pair).
fn kek_from(key_file: Option<&Path>, password_env: &str, flag: &str) -> Result<Box<dyn KeyEncryptionKey>, Failure> {
    if let Some(path) = key_file {
        return Ok(Box::new(FileKek::load(path)?));
    }
    match std::env::var(password_env) {
        Ok(password) if !password.is_empty() => Ok(Box::new(PasswordKek::new(password))),
        _ => Err(Failure::Usage(format!("no key given: set {password_env} or pass {flag} FILE"))),
    }
}

fn load_or_create_key_file(path: &Path) -> Result<FileKek, Failure> {
    if path.exists() {
        return Ok(FileKek::load(path)?);
    }
    let kek = FileKek::generate(path)?;
    eprintln!("created key file `{}`: keep it safe, the vault cannot be opened without it", path.display());
    Ok(kek)
}

fn init(storage: Arc<dyn Storage>, repo: &str, key_file: Option<&Path>) -> Outcome {
    let kek = kek(key_file, true)?;
    let vault = Vault::init(storage, kek.as_ref(), bunker_vault::InitOptions::default())
        .with_context(|| format!("cannot create a vault at `{repo}`"))?;
    println!("created vault {} at {repo}", vault.config().vault_id);
    Ok(())
}

/// restic's default parent: the newest snapshot of exactly the same paths.
fn latest_of_paths(vault: &Vault, paths: &[PathBuf]) -> Result<Option<SnapshotId>, Failure> {
    let wanted = paths
        .iter()
        .map(|p| std::path::absolute(p).map(|a| a.to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>, _>>()
        .context("resolve the backup paths")?;
    let snapshots = vault.snapshots()?;
    Ok(snapshots.iter().rev().find(|(_, s)| s.paths == wanted).map(|(id, _)| *id))
}

/// The id alone on stdout for scripts (a summary on stderr), or the restic-style summary line.
fn print_backup(s: &BackupSummary, json: bool) {
    let d = &s.details;
    if json {
        progress::print_line(&json!({
            "message_type": "summary",
            "snapshot_id": s.snapshot_id.to_hex(),
            "files": s.files,
            "files_changed": d.files_changed,
            "files_unchanged": d.files_unchanged,
            "dirs": d.dirs,
            "bytes_read": s.bytes_read,
            "bytes_total": d.bytes_total,
            "bytes_added": s.bytes_added,
            "blobs_added": d.blobs_added,
            "packs_written": d.packs_written,
            "errors": d.errors,
            "duration_seconds": s.duration.as_secs_f64(),
        }));
        return;
    }
    println!("{}", s.snapshot_id);
    eprintln!(
        "snapshot {} saved: {} files ({} changed, {} unchanged), {} bytes read, {} bytes added, {:.2}s{}",
        s.snapshot_id.short(),
        s.files,
        d.files_changed,
        d.files_unchanged,
        s.bytes_read,
        s.bytes_added,
        s.duration.as_secs_f64(),
        if d.errors > 0 { format!(", {} unreadable entries skipped (see the log)", d.errors) } else { String::new() }
    );
}

impl Printer<'_> {
    /// JSON (and anything a `--query` selects) gets `full`; tables and text get `table`,
    /// the columns people read.
    fn print(&self, full: &Value, table: &Value) {
        let query = self.query.and_then(|q| Query::parse(q).ok());
        let text = match (self.format, query) {
            (format, Some(q)) => output::render(&q.apply(full), format),
            (Format::Json, None) => output::json(full),
            (format, None) => output::render(table, format),
        };
        print!("{text}");
    }
}

fn snapshots_value(snapshots: &[(SnapshotId, Snapshot)]) -> Value {
    let list: Vec<Value> = snapshots
        .iter()
        .map(|(id, s)| {
            let mut v = serde_json::to_value(s).expect("snapshots serialize");
            v["id"] = json!(id.to_hex());
            v["short_id"] = json!(id.short());
            v
        })
        .collect();
    Value::Array(list)
}

fn snapshots_table(snapshots: &[(SnapshotId, Snapshot)]) -> Value {
    let rows: Vec<Value> = snapshots
        .iter()
        .map(|(id, s)| {
            json!({
                "ID": id.short(),
                "Time": local_time(s.time),
                "Host": s.hostname,
                "Tags": s.tags.join(","),
                "Paths": s.paths.join(" "),
                "Files": s.summary.files,
                "Size": s.summary.bytes_total,
            })
        })
        .collect();
    json!({ "Snapshots": rows })
}

fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::File => "file",
        NodeKind::Dir => "dir",
        NodeKind::Symlink => "symlink",
        NodeKind::Fifo => "fifo",
        NodeKind::CharDevice => "char-device",
        NodeKind::BlockDevice => "block-device",
        NodeKind::Socket => "socket",
    }
}

/// `ls -l`'s mode column.
fn mode_string(kind: NodeKind, mode: u32) -> String {
    let first = match kind {
        NodeKind::File => '-',
        NodeKind::Dir => 'd',
        NodeKind::Symlink => 'l',
        NodeKind::Fifo => 'p',
        NodeKind::CharDevice => 'c',
        NodeKind::BlockDevice => 'b',
        NodeKind::Socket => 's',
    };
    let mut out = String::from(first);
    for (shift, special, lower, upper) in [(6, 0o4000, 's', 'S'), (3, 0o2000, 's', 'S'), (0, 0o1000, 't', 'T')] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => lower,
            (false, true) => upper,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// Tables show times as people read clocks: local, to the second.
fn local_time(t: jiff::Timestamp) -> String {
    t.to_zoned_datetime(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn mtime(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns)).map_or_else(|_| ns.to_string(), |t| t.to_string())
}

fn ls_json(e: &LsEntry) -> Value {
    let n = &e.node;
    let mut v = json!({
        "path": e.path,
        "type": kind_name(n.kind),
        "mode": format!("{:04o}", n.mode),
        "uid": n.uid,
        "gid": n.gid,
        "size": n.size,
        "mtime": mtime(n.mtime_ns),
    });
    if let Some(target) = &n.target {
        v["target"] = json!(target.to_string_lossy());
    }
    if let Some(content) = &n.content {
        v["chunks"] = json!(content.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    v
}

fn ls_row(e: &LsEntry) -> Value {
    let n = &e.node;
    let path = match &n.target {
        Some(target) => format!("{} -> {}", e.path, target.to_string_lossy()),
        None => e.path.clone(),
    };
    json!({
        "Mode": mode_string(n.kind, n.mode),
        "Owner": format!("{}:{}", n.uid, n.gid),
        "Size": n.size,
        "Modified": jiff::Timestamp::from_nanosecond(i128::from(n.mtime_ns)).map_or_else(|_| String::new(), local_time),
        "Path": path,
    })
}

fn change_name(c: Change) -> &'static str {
    match c {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Modified => "modified",
        Change::Metadata => "metadata",
    }
}

/// restic's diff marks: `+` added, `-` removed, `M` content, `U` metadata only.
fn change_mark(c: Change) -> &'static str {
    match c {
        Change::Added => "+",
        Change::Removed => "-",
        Change::Modified => "M",
        Change::Metadata => "U",
    }
}

fn problem_json(p: &Problem) -> Value {
    let mut v = match p {
        Problem::DamagedIndex { reason } => json!({"kind": "damaged-index", "reason": reason}),
        Problem::MissingPack { pack } => json!({"kind": "missing-pack", "pack": pack.to_hex()}),
        Problem::EntryOutsidePack { blob, pack } => {
            json!({"kind": "entry-outside-pack", "chunk": blob.to_hex(), "pack": pack.to_hex()})
        }
        Problem::PackHashMismatch { pack } => json!({"kind": "pack-hash-mismatch", "pack": pack.to_hex()}),
        Problem::BadPackHeader { pack, reason } => {
            json!({"kind": "bad-pack-header", "pack": pack.to_hex(), "reason": reason})
        }
        Problem::DamagedBlob { blob, pack, reason } => {
            json!({"kind": "damaged-chunk", "chunk": blob.to_hex(), "pack": pack.to_hex(), "reason": reason})
        }
        Problem::MissingBlob { blob, snapshot } => {
            json!({"kind": "missing-chunk", "chunk": blob.to_hex(), "snapshot": snapshot.to_hex()})
        }
        Problem::DamagedSnapshot { snapshot, reason } => {
            json!({"kind": "damaged-snapshot", "snapshot": snapshot.to_hex(), "reason": reason})
        }
    };
    v["message"] = json!(problem_text(p));
    v
}

/// One line per problem, with full ids so they can be searched for.
fn problem_text(p: &Problem) -> String {
    match p {
        Problem::DamagedIndex { reason } => format!("damaged index: {reason}"),
        Problem::MissingPack { pack } => format!("pack {pack} is named by the index but missing"),
        Problem::EntryOutsidePack { blob, pack } => format!("chunk {blob} points past the end of pack {pack}"),
        Problem::PackHashMismatch { pack } => format!("pack {pack} does not match its id (modified on disk)"),
        Problem::BadPackHeader { pack, reason } => format!("pack {pack} has a bad header: {reason}"),
        Problem::DamagedBlob { blob, pack, reason } => format!("chunk {blob} in pack {pack} is damaged: {reason}"),
        Problem::MissingBlob { blob, snapshot } => format!("chunk {blob} used by snapshot {snapshot} is missing"),
        Problem::DamagedSnapshot { snapshot, reason } => format!("snapshot {snapshot} is damaged: {reason}"),
    }
}
