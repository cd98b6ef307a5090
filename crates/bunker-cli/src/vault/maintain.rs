//! `forget`, `prune`, `copy` and `unlock`: the commands that remove or move recovery points.
//!
//! As everywhere in `bunker vault`, each command parses, calls the library and prints; the
//! safety rules (locks, order of writes and deletions) live in `bunker_vault`. The library
//! reports no progress for prune and copy, so these commands print only their result.

use std::path::PathBuf;

use anyhow::anyhow;
use bunker_vault::{
    CopySummary, LockId, LockInfo, ObjectKey, PackAction, PruneOptions, PruneReport, SnapshotId, Vault, VaultError,
};
use clap::Args;
use serde_json::{Value, json};

use super::{Failure, Outcome, Printer, kek_from, open_storage};

/// The copy target's password, as restic's second-repository variables.
const PASSWORD2_ENV: &str = "BUNKER_VAULT_PASSWORD2";

/// Prune settings shared by `prune` and `forget --prune`.
#[derive(Debug, Args)]
pub(super) struct PruneArgs {
    /// Repack a partly used pack once more than this share of it is unused: `N%`, or
    /// `unlimited` to never repack. Lower frees more space and rewrites more data.
    #[arg(long, value_name = "LIMIT", default_value = "20%", value_parser = parse_max_unused)]
    max_unused: f64,
}

/// `N%` (0–100) or `unlimited`, as restic spells it, into the library's 0.0–1.0 share.
fn parse_max_unused(s: &str) -> Result<f64, String> {
    if s == "unlimited" {
        return Ok(1.0);
    }
    let number = s.strip_suffix('%').ok_or_else(|| format!("`{s}` is not a percentage like 20% (or `unlimited`)"))?;
    match number.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("`{s}` is not a percentage between 0% and 100%")),
    }
}

/// `forget`: resolves every reference first, so one typo deletes nothing.
pub(super) fn forget(vault: &Vault, references: &[String], prune: Option<&PruneArgs>, printer: &Printer<'_>) -> Outcome {
    let ids = references.iter().map(|r| vault.find_snapshot(r).map(|(id, _)| id)).collect::<Result<Vec<_>, _>>()?;
    let removed = vault.forget(&ids)?;
    eprintln!("removed {} snapshot(s)", removed.len());
    let mut full = json!({ "forgotten": removed.iter().map(SnapshotId::to_hex).collect::<Vec<_>>() });
    let mut table = json!({ "Forgotten": removed.iter().map(|id| json!({"ID": id.short()})).collect::<Vec<_>>() });
    if let Some(args) = prune {
        let report = vault.prune(&PruneOptions { max_unused: args.max_unused, ..PruneOptions::default() })?;
        let (prune_full, prune_table) = prune_values(&report, false);
        full["prune"] = prune_full;
        merge(&mut table, prune_table);
    }
    printer.print(&full, &table);
    Ok(())
}

/// `prune`: the plan is always printed; `--dry-run` stops there.
pub(super) fn prune(vault: &Vault, args: &PruneArgs, dry_run: bool, printer: &Printer<'_>) -> Outcome {
    let report = vault.prune(&PruneOptions { max_unused: args.max_unused, dry_run, ..PruneOptions::default() })?;
    let (full, table) = prune_values(&report, dry_run);
    printer.print(&full, &table);
    Ok(())
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

fn prune_values(r: &PruneReport, dry_run: bool) -> (Value, Value) {
    let p = &r.plan;
    let count = |a| p.with_action(a).count();
    let blobs_to_repack: usize = p.copy.values().map(Vec::len).sum();
    let full = json!({
        "dry_run": dry_run,
        "applied": r.applied,
        "snapshots": r.snapshots,
        "used_blobs": p.used_blobs,
        "plan": {
            "packs_keep": count(PackAction::Keep),
            "packs_repack": count(PackAction::Repack),
            "packs_delete": count(PackAction::Delete),
            "packs_unindexed": p.unindexed.len(),
            "packs_missing": p.missing.len(),
            "blobs_to_repack": blobs_to_repack,
            "bytes_to_repack": p.bytes_to_copy(),
            "bytes_to_free": p.pack_bytes_freed(),
        },
        "packs_deleted": r.packs_deleted,
        "packs_repacked": r.packs_repacked,
        "packs_written": r.packs_written,
        "blobs_repacked": r.blobs_repacked,
        "bytes_freed": r.bytes_freed,
        "bytes_written": r.bytes_written,
        "index_files_removed": r.index_files_removed,
        "new_index": r.new_index.map(|id| id.to_hex()),
        "duration_seconds": r.duration.as_secs_f64(),
    });
    let outcome = match (dry_run, r.applied) {
        (true, _) => "dry run: nothing changed",
        (false, true) => "done",
        (false, false) => "nothing to do",
    };
    let table = json!({
        "Plan": {
            "Snapshots": r.snapshots,
            "UsedBlobs": p.used_blobs,
            "PacksKept": count(PackAction::Keep),
            "PacksToRepack": count(PackAction::Repack),
            "PacksToDelete": count(PackAction::Delete),
            "UnindexedPacks": p.unindexed.len(),
            "BytesToRepack": p.bytes_to_copy(),
            "BytesToFree": p.pack_bytes_freed(),
        },
        "Result": {
            "Outcome": outcome,
            "PacksDeleted": r.packs_deleted,
            "PacksRepacked": r.packs_repacked,
            "PacksWritten": r.packs_written,
            "BytesFreed": r.bytes_freed,
            "BytesWritten": r.bytes_written,
            "Seconds": format!("{:.2}", r.duration.as_secs_f64()),
        },
    });
    (full, table)
}

/// Where `copy` writes: the target vault and its own key.
#[derive(Debug, Args)]
pub(super) struct CopyTarget {
    /// The target vault (a directory or s3://bucket/prefix), already initialized.
    #[arg(long, value_name = "REPO2")]
    pub(super) to: String,
    /// Key file of the target vault, instead of the password in BUNKER_VAULT_PASSWORD2.
    #[arg(long, value_name = "FILE")]
    to_key_file: Option<PathBuf>,
}

/// `copy`: opens the target with its own key; the source key never reaches it.
pub(super) fn copy(source: &Vault, reference: &str, target: &CopyTarget, printer: &Printer<'_>) -> Outcome {
    let (id, _) = source.find_snapshot(reference)?;
    let storage = open_storage(&target.to)?;
    let kek = kek_from(target.to_key_file.as_deref(), PASSWORD2_ENV, "--to-key-file")?;
    let dest = Vault::open(storage, kek.as_ref()).map_err(|e| match e {
        VaultError::NotFound { key: ObjectKey::Config } => Failure::Error(anyhow!(
            "no vault at `{}` (create one with `bunker vault -r {} init`)",
            target.to,
            target.to
        )),
        e => e.into(),
    })?;
    let s = source.copy_to(id, &dest)?;
    if s.already_present {
        eprintln!("snapshot {} is already in `{}` as {}: nothing written", id.short(), target.to, s.snapshot_id.short());
    } else {
        eprintln!(
            "snapshot {} copied to `{}` as {}: {} of {} blobs new, {} bytes written in {:.2}s",
            id.short(),
            target.to,
            s.snapshot_id.short(),
            s.blobs_written,
            s.blobs,
            s.bytes_written,
            s.duration.as_secs_f64()
        );
    }
    let (full, table) = copy_values(&s);
    printer.print(&full, &table);
    Ok(())
}

fn copy_values(s: &CopySummary) -> (Value, Value) {
    let full = json!({
        "source_snapshot": s.source_snapshot.to_hex(),
        "snapshot_id": s.snapshot_id.to_hex(),
        "already_present": s.already_present,
        "blobs": s.blobs,
        "blobs_written": s.blobs_written,
        "bytes_read": s.bytes_read,
        "bytes_added_raw": s.bytes_added_raw,
        "packs_written": s.packs_written,
        "bytes_written": s.bytes_written,
        "duration_seconds": s.duration.as_secs_f64(),
    });
    let table = json!({
        "Copy": {
            "Source": s.source_snapshot.short(),
            "Target": s.snapshot_id.to_hex(),
            "AlreadyPresent": s.already_present,
            "Blobs": s.blobs,
            "BlobsWritten": s.blobs_written,
            "BytesWritten": s.bytes_written,
            "Seconds": format!("{:.2}", s.duration.as_secs_f64()),
        },
    });
    (full, table)
}

/// Why `unlock` may remove a lock, or `None` to keep it.
///
/// The library ignores a lock only once it expires (5 minutes after its last refresh by
/// default), so a killed backup would hold off a prune, and a killed prune every backup, for
/// that long. As `restic unlock` does, a lock is also stale when its holder ran on this host
/// and that process is gone: nothing can refresh or rely on it any more.
fn stale_reason(info: &LockInfo, now: jiff::Timestamp, this_host: Option<&str>) -> Option<&'static str> {
    if info.is_stale(now) {
        return Some("expired");
    }
    if this_host == Some(info.hostname.as_str()) && !bunker_vault::lock::process_runs(info.pid) {
        return Some("holder no longer runs");
    }
    None
}

/// The host name as the library records it in locks.
fn this_host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|s| s.trim().to_owned())
}

/// `unlock`: removes stale locks, or every lock with `--remove-all`.
pub(super) fn unlock(vault: &Vault, remove_all: bool, printer: &Printer<'_>) -> Outcome {
    let now = jiff::Timestamp::now();
    let host = this_host();
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for (id, info) in vault.locks()? {
        let reason = if remove_all { Some("--remove-all") } else { stale_reason(&info, now, host.as_deref()) };
        match reason {
            Some(reason) => {
                vault.storage().delete(&ObjectKey::Lock(id))?;
                removed.push((id, info, reason));
            }
            None => kept.push((id, info, "held")),
        }
    }
    eprintln!("removed {} lock(s), {} still held", removed.len(), kept.len());
    let rows = |list: &[(LockId, LockInfo, &str)]| -> Vec<Value> {
        list.iter()
            .map(|(id, i, why)| {
                json!({"id": id.to_hex(), "kind": i.kind.to_string(), "operation": i.operation,
                       "hostname": i.hostname, "pid": i.pid, "expires": i.expires.to_string(), "reason": why})
            })
            .collect()
    };
    let full = json!({ "removed": rows(&removed), "kept": rows(&kept) });
    let table_rows = |list: &[(LockId, LockInfo, &str)]| -> Vec<Value> {
        list.iter()
            .map(|(id, i, why)| {
                json!({"ID": id.short(), "Kind": i.kind.to_string(), "Operation": i.operation,
                       "Holder": format!("{} pid {}", i.hostname, i.pid), "Why": why})
            })
            .collect()
    };
    // Empty sections are left out: the table renderer draws them as empty boxes.
    let mut table = serde_json::Map::new();
    for (title, list) in [("Removed", &removed), ("Kept", &kept)] {
        if !list.is_empty() {
            table.insert(title.into(), table_rows(list).into());
        }
    }
    if table.is_empty() {
        table.insert("Locks".into(), json!("none"));
    }
    printer.print(&full, &Value::Object(table));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_unused_is_a_percentage() {
        assert_eq!(parse_max_unused("20%"), Ok(0.2));
        assert_eq!(parse_max_unused("0%"), Ok(0.0));
        assert_eq!(parse_max_unused("unlimited"), Ok(1.0));
        assert!(parse_max_unused("20").is_err());
        assert!(parse_max_unused("150%").is_err());
        assert!(parse_max_unused("x%").is_err());
    }

    #[test]
    fn locks_of_gone_processes_on_this_host_are_stale() {
        let now = jiff::Timestamp::now();
        let later = now.checked_add(jiff::SignedDuration::from_secs(300)).unwrap();
        let lock = |host: &str, pid: u32, expires| LockInfo {
            version: 1,
            kind: bunker_vault::LockKind::Exclusive,
            operation: "prune".into(),
            hostname: host.into(),
            pid,
            created: now,
            expires,
        };
        let me = std::process::id();
        // Above the kernel's pid_max (at most 2^22), so no process has it.
        let gone = 5_000_000;
        assert_eq!(stale_reason(&lock("h", me, later), now, Some("h")), None);
        assert_eq!(stale_reason(&lock("h", gone, later), now, Some("h")), Some("holder no longer runs"));
        assert_eq!(stale_reason(&lock("other", gone, later), now, Some("h")), None, "other hosts' pids mean nothing here");
        assert_eq!(stale_reason(&lock("h", me, now), now, Some("h")), Some("expired"));
        assert_eq!(stale_reason(&lock("h", gone, later), now, None), None);
    }
}
