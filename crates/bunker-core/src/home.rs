//! Bunker's home directory is private to the user the service runs as: the directory and
//! every directory below it 0700, every file 0600 (the catalog and its `-wal`/`-shm`, the
//! instance master key, `regions.json`, account keys, vault repositories, restore-test
//! scratch copies).
//!
//! Two parts: [`restrict_umask`] at process start, so whatever Bunker or a library under it
//! (SQLite, the vault engine) creates is private from its first byte; and [`secure_home`]
//! when the home is opened, which makes a new home 0700 and tightens what an older release,
//! or a process started with a looser umask, left behind at its top level. A home that is
//! 0700 already keeps everything below it from other users, so deeper entries (a vault can
//! hold many thousands of files) are not walked on every start.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// The mode of the home and every directory in it.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in the home.
pub const FILE_MODE: u32 = 0o600;
/// The process umask [`restrict_umask`] sets: no access for group and others.
pub const UMASK: u32 = 0o077;

/// Sets the process's file-creation mask to [`UMASK`] and returns the previous one.
///
/// Call it first thing in `main`, before any thread starts: the mask is per process, and a
/// thread creating a file while it changes would get either mask.
pub fn restrict_umask() -> u32 {
    let previous = rustix::process::umask(rustix::fs::Mode::from_raw_mode(UMASK));
    previous.as_raw_mode()
}

/// Creates the home `path` (and missing parents) 0700, or tightens an existing one: the
/// directory itself to 0700 and each of its top-level entries to 0700 (directories) or
/// 0600 (files). Symbolic links are left alone (their modes mean nothing; what they point
/// to is not Bunker's to change).
///
/// # Errors
/// The directory cannot be made, or a mode cannot be changed (an entry owned by another
/// user); the error names the path.
pub fn secure_home(path: &Path) -> io::Result<()> {
    let named = |what: &str, p: &Path, e: io::Error| io::Error::new(e.kind(), format!("cannot {what} {}: {e}", p.display()));
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path).map_err(|e| named("create", path, e))?;
    tighten(path, DIR_MODE).map_err(|e| named("restrict", path, e))?;
    for entry in std::fs::read_dir(path).map_err(|e| named("list", path, e))? {
        let entry = entry.map_err(|e| named("list", path, e))?;
        let file_type = entry.file_type().map_err(|e| named("inspect", &entry.path(), e))?;
        let mode = if file_type.is_dir() {
            DIR_MODE
        } else if file_type.is_symlink() {
            continue;
        } else {
            FILE_MODE
        };
        match tighten(&entry.path(), mode) {
            Ok(()) => {}
            // Gone meanwhile (a finished job's scratch directory, a renamed temporary file).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(named("restrict", &entry.path(), e)),
        }
    }
    Ok(())
}

/// Sets `path`'s permission bits to `mode` unless they already are.
fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    let current = std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_home_is_private_and_an_old_one_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a/home");
        secure_home(&home).unwrap();
        assert_eq!(mode(&home), DIR_MODE);

        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(home.join("catalog.db"), b"").unwrap();
        std::fs::set_permissions(home.join("catalog.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::create_dir(home.join("regions")).unwrap();
        std::fs::set_permissions(home.join("regions"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, home.join("link")).unwrap();

        secure_home(&home).unwrap();
        assert_eq!(mode(&home), DIR_MODE);
        assert_eq!(mode(&home.join("catalog.db")), FILE_MODE);
        assert_eq!(mode(&home.join("regions")), DIR_MODE);
        assert_eq!(mode(&outside), 0o644, "a link's target is not the home's");
    }
}
