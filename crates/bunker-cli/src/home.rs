//! Bunker's home directory: where the embedded catalog lives.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bunker_catalog::Catalog;
use bunker_core::{Organizations, SystemClock};

/// The catalog's file name inside the home directory.
pub const CATALOG_FILE: &str = "catalog.db";

/// `--home`, else `$BUNKER_HOME`, else the per-user data directory.
pub fn resolve(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let from_env = std::env::var_os("BUNKER_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    flag.or(from_env)
        .or_else(default_home)
        .context("cannot tell where Bunker's home is: pass --home DIR or set BUNKER_HOME")
}

/// `$XDG_DATA_HOME/bunker`, else `~/.local/share/bunker`.
fn default_home() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    let data = xdg.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("bunker"))
}

/// Opens the organization service on the catalog in `home`, creating both if needed.
pub async fn open(home: &Path) -> anyhow::Result<Organizations> {
    std::fs::create_dir_all(home).with_context(|| format!("cannot create Bunker home {}", home.display()))?;
    let path = home.join(CATALOG_FILE);
    tracing::debug!(catalog = %path.display(), "opening catalog");
    let catalog = Catalog::open_file(&path).await?;
    Ok(Organizations::new(catalog, Arc::new(SystemClock)))
}

/// Opens the service in the home [`resolve`] picks.
pub async fn open_default(flag: Option<PathBuf>) -> anyhow::Result<Organizations> {
    open(&resolve(flag)?).await
}
