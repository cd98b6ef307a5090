//! Where an account's resources may be, and where its restores may write.
//!
//! Two rules, kept in the service so that every caller obeys them:
//!
//! 1. Never inside the instance's home (catalog, master key, `regions.json`, vaults, account
//!    keys) or a Region's local storage root named in `regions.json`, and never a directory
//!    holding one of them: backing it up would hand the instance's secrets to an account,
//!    restoring into it would overwrite them.
//! 2. When the management account has set allowed roots for the account, under one of
//!    them. With none set, anywhere the first rule allows: an instance whose accounts share
//!    one operator works without setup, and one whose accounts must not reach each other's
//!    files sets roots for each.
//!
//! Paths are judged as the file system will resolve them: absolute, no `..`, symbolic links
//! followed; a path not there yet by its nearest existing ancestor (a dangling link is
//! refused, as writing through it would land anywhere). Only file-system locations
//! (directories, SQLite files, disk images) are judged: PostgreSQL databases and S3 buckets
//! are reached with their own credentials.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use bunker_catalog::{AccountId, AllowedRootsRow, Tx};
use bunker_connectors::Source;
use jiff::Timestamp;
use serde::Serialize;

use super::sites::{Location, Sites};
use super::{BackupError, BackupService, Result};

/// Roots per account: Bunker's own bound (AWS has no such setting).
pub const MAX_ALLOWED_ROOTS: usize = 100;
/// The longest root accepted, in bytes (Linux's `PATH_MAX`).
const MAX_ROOT_LEN: usize = 4096;

/// `GetAllowedRoots` / `PutAllowedRoots` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllowedRoots {
    /// `AccountId`.
    pub account_id: String,
    /// `AllowedRoots`, in the order given.
    pub allowed_roots: Vec<PathBuf>,
    /// `LastUpdateTime`.
    pub last_update_time: Timestamp,
}

fn shape(row: AllowedRootsRow) -> AllowedRoots {
    AllowedRoots { account_id: row.account_id, allowed_roots: row.roots.into_iter().map(PathBuf::from).collect(), last_update_time: row.updated_at }
}

/// `path` as the file system will resolve it: the canonical form of its nearest existing
/// ancestor with the rest appended.
///
/// # Errors
/// A relative path, a `..`, a dangling symbolic link, an ancestor that cannot be read.
pub(crate) fn resolve(path: &Path) -> std::result::Result<PathBuf, String> {
    if !path.is_absolute() {
        return Err("it is not an absolute path".into());
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err("it must not contain `..`".into());
    }
    let mut existing = path;
    let mut missing: Vec<&OsStr> = Vec::new();
    loop {
        match std::fs::symlink_metadata(existing) {
            Ok(meta) => {
                return match std::fs::canonicalize(existing) {
                    Ok(mut real) => {
                        real.extend(missing.iter().rev());
                        Ok(real)
                    }
                    Err(_) if meta.file_type().is_symlink() => Err(format!("{} is a symbolic link to nothing", existing.display())),
                    Err(e) => Err(format!("cannot resolve {}: {e}", existing.display())),
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name);
                    existing = parent;
                }
                _ => return Err(format!("cannot resolve {}", existing.display())),
            },
            Err(e) => return Err(format!("cannot inspect {}: {e}", existing.display())),
        }
    }
}

/// The file-system path of a location, if it has one.
fn path_of(source: &Source) -> Option<&Path> {
    match source {
        Source::Directory { path } | Source::Sqlite { path } | Source::DiskImage { path } => Some(path),
        Source::Postgresql { .. } | Source::Bucket { .. } => None,
    }
}

fn bad(m: String) -> BackupError {
    BackupError::InvalidParameterValue(m)
}

/// `what` `path`, and what it resolves to when that differs.
fn named(what: &str, path: &Path, resolved: &Path) -> String {
    if path == resolved { format!("{what} {}", path.display()) } else { format!("{what} {} (resolved: {})", path.display(), resolved.display()) }
}

impl BackupService {
    /// The directories no location may be in or hold: the home and the Regions' local
    /// storage roots, resolved.
    fn protected_dirs(&self) -> Result<Vec<PathBuf>> {
        let mut places = vec![Location::Dir(self.data_dir.clone())];
        places.extend(Sites::load(&self.data_dir)?.all_roots());
        Ok(places
            .iter()
            .filter_map(|l| match l.normalized() {
                Location::Dir(p) => Some(p),
                Location::S3(_) => None,
            })
            .collect())
    }

    /// Rule 1 of the module: refuses a location in (or holding) the home or a Region's
    /// storage root. Returns the resolved path of a file-system location.
    ///
    /// # Errors
    /// `InvalidParameterValueException` naming the path.
    pub(crate) fn check_outside_home(&self, source: &Source, what: &str) -> Result<Option<PathBuf>> {
        let Some(path) = path_of(source) else { return Ok(None) };
        let resolved = resolve(path).map_err(|e| bad(format!("{what} {} is refused: {e}", path.display())))?;
        if self.protected_dirs()?.iter().any(|p| resolved.starts_with(p) || p.starts_with(&resolved)) {
            return Err(bad(format!(
                "{} is refused: it is inside Bunker's home or a Region's storage, or holds one of them",
                named(what, path, &resolved)
            )));
        }
        Ok(Some(resolved))
    }

    /// Both rules of the module for a location `account` registers or restores to.
    ///
    /// # Errors
    /// `InvalidParameterValueException` naming the path (and the roots).
    pub(crate) async fn check_location(&self, tx: &mut Tx, account: &str, source: &Source, what: &str) -> Result<()> {
        let Some(resolved) = self.check_outside_home(source, what)? else { return Ok(()) };
        let Some(row) = tx.allowed_roots(account).await? else { return Ok(()) };
        // Roots are resolved now, not when put: a root that became a symbolic link leads
        // where the link does.
        if row.roots.iter().any(|r| resolve(Path::new(r)).is_ok_and(|root| resolved.starts_with(root))) {
            return Ok(());
        }
        let path = path_of(source).unwrap_or(&resolved);
        Err(bad(format!(
            "{} is outside the allowed roots of account {account}: {}",
            named(what, path, &resolved),
            row.roots.join(", ")
        )))
    }

    /// Sets `account`'s allowed roots (replacing any): absolute directories, without `..`,
    /// outside the home. From then on every location it registers and every restore target
    /// must lie under one of them. The management account's to call (IAM
    /// `bunker:PutAllowedRoots` decides in the call path).
    ///
    /// # Errors
    /// `InvalidParameterValueException` for an empty list, more than [`MAX_ALLOWED_ROOTS`],
    /// or a root that is relative, holds `..`, is not UTF-8, or lies in the home;
    /// `ResourceNotFoundException` for an account outside the organization.
    pub async fn put_allowed_roots(&self, account: &str, roots: Vec<PathBuf>) -> Result<AllowedRoots> {
        let account_id = AccountId::parse(account).map_err(|e| bad(e.to_string()))?;
        if roots.is_empty() {
            return Err(bad("AllowedRoots needs at least one directory (DeleteAllowedRoots lifts the restriction)".into()));
        }
        if roots.len() > MAX_ALLOWED_ROOTS {
            return Err(bad(format!("AllowedRoots holds {} directories; at most {MAX_ALLOWED_ROOTS}", roots.len())));
        }
        let protected = self.protected_dirs()?;
        let mut kept: Vec<String> = Vec::new();
        for root in &roots {
            let text = root.to_str().ok_or_else(|| bad(format!("allowed root {} is not UTF-8", root.display())))?;
            if text.len() > MAX_ROOT_LEN || text.contains('\0') {
                return Err(bad(format!("allowed root {text:?} is not a usable path")));
            }
            let resolved = resolve(root).map_err(|e| bad(format!("allowed root {text} is refused: {e}")))?;
            if protected.iter().any(|p| resolved.starts_with(p)) {
                return Err(bad(format!("{} is refused: it is inside Bunker's home or a Region's storage", named("allowed root", root, &resolved))));
            }
            // As written, without `.` parts or a trailing slash: what the caller reads back.
            let normal: PathBuf = root.components().collect();
            let normal = normal.to_string_lossy().into_owned();
            if !kept.contains(&normal) {
                kept.push(normal);
            }
        }
        let row = AllowedRootsRow { account_id: account.to_owned(), roots: kept, updated_at: self.now() };
        let mut tx = self.catalog.write().await?;
        if tx.account(&account_id).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("account {account} is not in the organization")));
        }
        tx.put_allowed_roots(&row).await?;
        tx.commit().await?;
        Ok(shape(row))
    }

    /// `account`'s allowed roots.
    ///
    /// # Errors
    /// `ResourceNotFoundException` when it has none (its locations may then be anywhere
    /// outside the home).
    pub async fn get_allowed_roots(&self, account: &str) -> Result<AllowedRoots> {
        AccountId::parse(account).map_err(|e| bad(e.to_string()))?;
        let row = self.catalog.read().await?.allowed_roots(account).await?;
        row.map(shape).ok_or_else(|| {
            BackupError::ResourceNotFound(format!(
                "account {account} has no allowed roots: its resources and restore targets may be anywhere outside Bunker's home"
            ))
        })
    }

    /// Lifts `account`'s allowed roots (nothing to do when it has none, as AWS deletes
    /// policies).
    ///
    /// # Errors
    /// An invalid account id; catalog failures.
    pub async fn delete_allowed_roots(&self, account: &str) -> Result<()> {
        AccountId::parse(account).map_err(|e| bad(e.to_string()))?;
        let mut tx = self.catalog.write().await?;
        tx.delete_allowed_roots(account).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_through_links_and_missing_parts() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(real.join("a")).unwrap();
        std::os::unix::fs::symlink(real.join("a"), real.join("link")).unwrap();
        assert_eq!(resolve(&real.join("link/new/deeper")).unwrap(), real.join("a/new/deeper"));
        assert_eq!(resolve(&real.join("a/./b")).unwrap(), real.join("a/b"));
        std::os::unix::fs::symlink(real.join("nowhere"), real.join("dangling")).unwrap();
        assert!(resolve(&real.join("dangling")).unwrap_err().contains("symbolic link to nothing"));
        assert!(resolve(&real.join("dangling/x")).unwrap_err().contains("symbolic link to nothing"));
        assert!(resolve(&real.join("a/../a")).unwrap_err().contains(".."));
        assert!(resolve(Path::new("relative/x")).unwrap_err().contains("absolute"));
    }
}
