//! Vault locks: shared for writers that only add, exclusive for prune, with expiry.
//!
//! # Why locks (and not two-phase mark/sweep with a grace period)
//!
//! A backup deduplicates against the index it loaded: it writes no copy of a blob the index
//! already has and references it from its manifest minutes or hours later. Prune removing
//! that blob in between would leave the new snapshot dangling, and nothing prune can see in
//! storage tells it which old blobs a running backup relies on. A grace period only narrows
//! the window (a backup longer than the grace period, or one opened just before the sweep,
//! still loses), and a sweep that hides condemned blobs from new backups makes their
//! snapshots unrestorable until the next prune recovers them. Locks make the rule exact:
//! while any writer holds a shared lock, prune cannot hold its exclusive one, and every
//! writer reloads the index after taking its lock, so it never dedups against a blob that a
//! finished prune removed. Prune also needs no second run to free space.
//!
//! # Protocol
//!
//! A lock is a plaintext JSON object `locks/<random id>` ([`LockInfo`]): kind, operation,
//! host, pid, creation and expiry time. To acquire, a process *writes its lock first, then
//! lists* all locks; if a live (unexpired) lock conflicts (either side exclusive), it deletes
//! its own and retries with backoff until [`LockOptions::wait`] runs out. Of two conflicting
//! acquirers the later lister always sees the earlier writer, so at most one wins (both may
//! back off; random jitter breaks the tie). A holder rewrites its lock with a new expiry every
//! quarter [`LockOptions::lifetime`] from a background thread and deletes it when the guard
//! drops. A lock past its expiry is stale: ignored and deleted by acquirers, so a crashed
//! process blocks others for at most one lifetime.
//!
//! A holder that missed its refresh (stalled process, storage down) may have been ignored by
//! someone else in the meantime; its guard then reports the lock lost and
//! [`LockGuard::ensure_valid`] fails, which prune checks before every deletion and backup and
//! copy before writing a manifest. Expiry compares the holder's clock with the reader's: hosts
//! must agree to well within a lifetime (default 5 minutes), as NTP ensures.
//!
//! # Which operations conflict
//!
//! | pair | conflict? | what protects it |
//! |---|---|---|
//! | backup ∥ backup, copy-in ∥ backup | no: both only add content-named immutable objects | nothing needed (both shared) |
//! | backup ∥ prune | yes: prune could delete blobs the backup dedups against, or its not yet indexed packs | backup shared vs prune exclusive; backup reloads a changed index after locking |
//! | copy into target ∥ prune on target | as backup ∥ prune | same: copy takes a shared lock on the target |
//! | copy from source ∥ prune on source | yes: packs vanish mid-read (copy fails, nothing lost) | copy takes a shared lock on the source |
//! | prune ∥ prune | yes: both delete | exclusive vs exclusive |
//! | forget ∥ anything | no: it only deletes manifests; a prune that already planned keeps a little garbage for next time | no lock |
//! | restore, check, ls ∥ prune | reads may fail mid-way (nothing lost) | a caller that must not fail holds [`Vault::lock`] shared; the CLI does not, so a stuck lock never blocks a restore |

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Result, VaultError};
use crate::storage::{ObjectKey, ObjectKind, Storage};
use crate::vault::Vault;

crate::id::define_id!(
    /// A lock object under `locks/`: random, one per acquisition.
    LockId, "lock"
);

/// Shared locks coexist; an exclusive lock excludes every other lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockKind {
    /// Writers that only add objects (backup, copy) and readers.
    Shared,
    /// Operations that delete data (prune).
    Exclusive,
}

impl LockKind {
    /// Whether a lock of this kind cannot coexist with one of `other`.
    pub fn conflicts_with(self, other: Self) -> bool {
        self == Self::Exclusive || other == Self::Exclusive
    }
}

impl std::fmt::Display for LockKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Shared => "shared",
            Self::Exclusive => "exclusive",
        })
    }
}

/// The content of a lock object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Format version of this object (1).
    pub version: u32,
    /// Shared or exclusive.
    pub kind: LockKind,
    /// What the holder is doing (`backup`, `prune`, …), for people.
    pub operation: String,
    /// Host of the holder.
    pub hostname: String,
    /// Process id of the holder on that host.
    pub pid: u32,
    /// When the lock was first taken.
    pub created: jiff::Timestamp,
    /// After this instant the lock is stale and ignored.
    pub expires: jiff::Timestamp,
}

impl LockInfo {
    /// Whether the lock has expired at `now`.
    pub fn is_stale(&self, now: jiff::Timestamp) -> bool {
        self.expires <= now
    }

    /// Whether its holder is known to be gone: it ran on this host and that process no
    /// longer runs (killed, crashed). Such a lock protects nothing, so nobody waits for it
    /// to expire. Hosts sharing a name across PID namespaces would defeat this; give them
    /// distinct host names.
    pub fn holder_is_gone(&self) -> bool {
        self.hostname == hostname() && !process_runs(self.pid)
    }

    /// Whether the lock no longer protects anything: expired, or its holder is gone.
    pub fn is_abandoned(&self, now: jiff::Timestamp) -> bool {
        self.is_stale(now) || self.holder_is_gone()
    }
}

/// Whether `pid` is a live process on this host (a zombie is not: it will never run
/// again). Without `/proc` nothing can be told, so every process counts as running.
pub fn process_runs(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the command name, which may hold spaces or `)`.
        Ok(stat) => stat.rsplit_once(')').is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// How locks are held and waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockOptions {
    /// How long a lock stays valid without refresh; refreshed every quarter of it.
    pub lifetime: Duration,
    /// How long to keep retrying while a conflicting lock is held, before
    /// [`VaultError::Locked`]. Longer than `lifetime`, so a crashed holder never fails a job.
    pub wait: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self { lifetime: Duration::from_secs(300), wait: Duration::from_secs(600) }
    }
}

/// The first live lock in `others` that conflicts with taking one of `kind` at `now`: pure,
/// so the decision can be tested without storage.
pub fn find_conflict(kind: LockKind, others: &[(LockId, LockInfo)], now: jiff::Timestamp) -> Option<&(LockId, LockInfo)> {
    others.iter().find(|(_, info)| !info.is_abandoned(now) && kind.conflicts_with(info.kind))
}

#[derive(Debug)]
struct GuardState {
    /// Expiry of the last durably written version of our lock.
    expires: jiff::Timestamp,
    /// Why the lock can no longer be trusted, once that happens.
    lost: Option<String>,
}

/// A held lock. Refreshed in the background; deleted when dropped.
#[derive(Debug)]
pub struct LockGuard {
    storage: Arc<dyn Storage>,
    id: LockId,
    kind: LockKind,
    lifetime: Duration,
    state: Arc<Mutex<GuardState>>,
    stop: Option<crossbeam_channel::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl LockGuard {
    /// The lock object's id.
    pub fn id(&self) -> LockId {
        self.id
    }

    /// Shared or exclusive.
    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// Fails unless the lock is still ours with a quarter lifetime of margin: checked before
    /// each step that others must not see half done (a deletion, a manifest).
    ///
    /// # Errors
    /// [`VaultError::LockLost`].
    pub fn ensure_valid(&self) -> Result<()> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(reason) = &state.lost {
            return Err(VaultError::LockLost { lock: self.id, reason: reason.clone() });
        }
        let margin = signed(self.lifetime / 4);
        if jiff::Timestamp::now().checked_add(margin).is_ok_and(|t| t >= state.expires) {
            return Err(VaultError::LockLost { lock: self.id, reason: "not refreshed in time".into() });
        }
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.refresher.take() {
            let _ = t.join();
        }
        if let Err(e) = self.storage.delete(&ObjectKey::Lock(self.id)) {
            tracing::warn!(lock = %self.id, error = %e, "could not remove lock; it expires on its own");
        }
    }
}

fn signed(d: Duration) -> jiff::SignedDuration {
    jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX)
}

fn expiry(now: jiff::Timestamp, lifetime: Duration) -> jiff::Timestamp {
    now.checked_add(signed(lifetime)).unwrap_or(jiff::Timestamp::MAX)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| rustix::system::uname().nodename().to_string_lossy().into_owned())
}

fn encode(info: &LockInfo) -> Vec<u8> {
    serde_json::to_vec_pretty(info).expect("lock objects serialize")
}

/// Every lock except `own`, skipping objects that vanish or do not parse (not ours to judge).
fn others(storage: &dyn Storage, own: LockId) -> Result<Vec<(LockId, LockInfo)>> {
    let mut out = Vec::new();
    for obj in storage.list(ObjectKind::Lock)? {
        let ObjectKey::Lock(id) = obj.key else { continue };
        if id == own {
            continue;
        }
        match storage.read(&obj.key) {
            Ok(bytes) => match serde_json::from_slice::<LockInfo>(&bytes) {
                Ok(info) => out.push((id, info)),
                Err(e) => tracing::warn!(lock = %id, error = %e, "ignoring unreadable lock object"),
            },
            Err(VaultError::NotFound { .. }) => {} // released meanwhile
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Takes a lock of `kind` on the vault in `storage`, waiting up to `options.wait`.
///
/// # Errors
/// [`VaultError::Locked`] naming the holder once the wait runs out; storage errors.
pub fn acquire(storage: &Arc<dyn Storage>, kind: LockKind, operation: &str, options: &LockOptions) -> Result<LockGuard> {
    let start = Instant::now();
    let mut backoff = Duration::from_millis(20);
    let host = hostname();
    loop {
        let id = LockId::random();
        let now = jiff::Timestamp::now();
        let info = LockInfo {
            version: 1,
            kind,
            operation: operation.to_owned(),
            hostname: host.clone(),
            pid: std::process::id(),
            created: now,
            expires: expiry(now, options.lifetime),
        };
        let key = ObjectKey::Lock(id);
        storage.write(&key, &encode(&info))?;
        let found = match others(storage.as_ref(), id) {
            Ok(found) => found,
            Err(e) => {
                let _ = storage.delete(&key);
                return Err(e);
            }
        };
        let now = jiff::Timestamp::now();
        for (stale, info) in found.iter().filter(|(_, i)| i.is_abandoned(now)) {
            tracing::info!(lock = %stale, holder = %info.hostname, pid = info.pid, "removing an expired lock or one whose process is gone");
            let _ = storage.delete(&ObjectKey::Lock(*stale));
        }
        let Some((holder_id, holder)) = find_conflict(kind, &found, now) else {
            tracing::debug!(lock = %id, %kind, operation, "lock acquired");
            return Ok(start_refresher(storage, id, info, options.lifetime));
        };
        storage.delete(&key)?;
        let waited = start.elapsed();
        if waited >= options.wait {
            return Err(VaultError::Locked { lock: *holder_id, holder: Box::new(holder.clone()) });
        }
        tracing::debug!(holder = %holder_id, operation = %holder.operation, "vault locked; waiting");
        let jitter = Duration::from_millis(u64::from(crate::crypto::random_array::<1>()[0]) % 32);
        std::thread::sleep((backoff + jitter).min(options.wait - waited));
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

fn start_refresher(storage: &Arc<dyn Storage>, id: LockId, info: LockInfo, lifetime: Duration) -> LockGuard {
    let kind = info.kind;
    let state = Arc::new(Mutex::new(GuardState { expires: info.expires, lost: None }));
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    let interval = (lifetime / 4).max(Duration::from_millis(10));
    let refresher = {
        let (storage, state) = (Arc::clone(storage), Arc::clone(&state));
        let mut info = info;
        std::thread::spawn(move || {
            // Ends when the guard drops the sender.
            while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let now = jiff::Timestamp::now();
                let lock = |s: &Mutex<GuardState>| {
                    let g = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    (g.expires, g.lost.is_some())
                };
                let (expires, lost) = lock(&state);
                if lost {
                    continue;
                }
                if now >= expires {
                    // Others may have ignored (and deleted) our lock while it was stale.
                    let mut g = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    g.lost = Some(format!("expired at {expires} before it could be refreshed"));
                    continue;
                }
                info.expires = expiry(now, lifetime);
                match storage.write(&ObjectKey::Lock(id), &encode(&info)) {
                    Ok(()) => state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).expires = info.expires,
                    Err(e) => tracing::warn!(lock = %id, error = %e, "lock refresh failed; retrying"),
                }
            }
        })
    };
    LockGuard { storage: Arc::clone(storage), id, kind, lifetime, state, stop: Some(stop), refresher: Some(refresher) }
}

impl Vault {
    /// Locks the vault with the default [`LockOptions`], then reloads the index if a prune
    /// replaced it since it was loaded: a writer must dedup only against blobs that exist.
    ///
    /// # Errors
    /// As [`acquire`], or storage errors while reloading the index.
    pub fn lock(&self, kind: LockKind, operation: &str) -> Result<LockGuard> {
        self.lock_with(kind, operation, &LockOptions::default())
    }

    /// [`Vault::lock`] with explicit options.
    ///
    /// # Errors
    /// As [`Vault::lock`].
    pub fn lock_with(&self, kind: LockKind, operation: &str, options: &LockOptions) -> Result<LockGuard> {
        let guard = acquire(&self.storage, kind, operation, options)?;
        self.refresh_index()?;
        Ok(guard)
    }

    /// Every lock currently in the vault (stale ones included), for display.
    ///
    /// # Errors
    /// Storage errors.
    pub fn locks(&self) -> Result<Vec<(LockId, LockInfo)>> {
        others(self.storage.as_ref(), LockId::from_bytes([0; 32]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn info(kind: LockKind, expires: jiff::Timestamp) -> LockInfo {
        LockInfo { version: 1, kind, operation: "t".into(), hostname: "h".into(), pid: 1, created: expires, expires }
    }

    #[test]
    fn conflicts_follow_the_table() {
        let now = jiff::Timestamp::now();
        let later = expiry(now, Duration::from_secs(60));
        let earlier = now.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
        let shared = vec![(LockId::random(), info(LockKind::Shared, later))];
        let exclusive = vec![(LockId::random(), info(LockKind::Exclusive, later))];
        let stale = vec![(LockId::random(), info(LockKind::Exclusive, earlier))];
        assert!(find_conflict(LockKind::Shared, &shared, now).is_none());
        assert!(find_conflict(LockKind::Exclusive, &shared, now).is_some());
        assert!(find_conflict(LockKind::Shared, &exclusive, now).is_some());
        assert!(find_conflict(LockKind::Exclusive, &exclusive, now).is_some());
        assert!(find_conflict(LockKind::Exclusive, &stale, now).is_none());
    }

    #[test]
    fn acquire_wait_release_and_stale() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let quick = LockOptions { lifetime: Duration::from_secs(60), wait: Duration::from_millis(50) };
        let a = acquire(&storage, LockKind::Shared, "backup", &quick).unwrap();
        let b = acquire(&storage, LockKind::Shared, "backup", &quick).unwrap();
        let err = acquire(&storage, LockKind::Exclusive, "prune", &quick).unwrap_err();
        assert!(matches!(&err, VaultError::Locked { holder, .. } if holder.kind == LockKind::Shared), "{err}");
        // The failed attempt left nothing behind.
        assert_eq!(storage.list(ObjectKind::Lock).unwrap().len(), 2);
        drop((a, b));
        assert!(storage.list(ObjectKind::Lock).unwrap().is_empty());
        let p = acquire(&storage, LockKind::Exclusive, "prune", &quick).unwrap();
        p.ensure_valid().unwrap();
        assert!(acquire(&storage, LockKind::Shared, "backup", &quick).is_err());
        drop(p);
        // A crashed holder's lock is ignored once expired, and removed.
        let old = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(5)).unwrap();
        let dead = LockId::random();
        storage.write(&ObjectKey::Lock(dead), &encode(&info(LockKind::Exclusive, old))).unwrap();
        let c = acquire(&storage, LockKind::Exclusive, "prune", &quick).unwrap();
        assert!(!storage.exists(&ObjectKey::Lock(dead)).unwrap());
        drop(c);
    }

    #[test]
    fn refresh_keeps_a_short_lock_alive() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let short = LockOptions { lifetime: Duration::from_millis(400), wait: Duration::from_millis(10) };
        let g = acquire(&storage, LockKind::Exclusive, "prune", &short).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        g.ensure_valid().unwrap();
        assert!(acquire(&storage, LockKind::Shared, "backup", &short).is_err());
    }

    #[test]
    fn a_lock_whose_process_is_gone_does_not_block() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let quick = LockOptions { lifetime: Duration::from_secs(60), wait: Duration::from_millis(50) };
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let far = expiry(jiff::Timestamp::now(), Duration::from_secs(3600));
        let held = LockInfo { hostname: hostname(), pid: gone, ..info(LockKind::Exclusive, far) };
        let live = LockInfo { hostname: hostname(), pid: std::process::id(), ..info(LockKind::Exclusive, far) };
        assert!(held.holder_is_gone() && !live.holder_is_gone());
        let dead = LockId::random();
        storage.write(&ObjectKey::Lock(dead), &encode(&held)).unwrap();
        let g = acquire(&storage, LockKind::Shared, "backup", &quick).unwrap();
        assert!(!storage.exists(&ObjectKey::Lock(dead)).unwrap(), "the dead holder's lock was removed");
        drop(g);
        // A live process on this host still blocks.
        storage.write(&ObjectKey::Lock(LockId::random()), &encode(&live)).unwrap();
        assert!(acquire(&storage, LockKind::Shared, "backup", &quick).is_err());
    }
}
