//! Bunker's home directory: the embedded catalog, and (below `regions/` and `keys/`) the
//! vaults and account keys of the backup service.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bunker_catalog::Catalog;
use bunker_core::{BackupService, Clock, Organizations, SystemClock};

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

async fn open_catalog(home: &Path) -> anyhow::Result<Catalog> {
    std::fs::create_dir_all(home).with_context(|| format!("cannot create Bunker home {}", home.display()))?;
    let path = home.join(CATALOG_FILE);
    tracing::debug!(catalog = %path.display(), "opening catalog");
    Ok(Catalog::open_file(&path).await?)
}

/// Opens the organization service on the catalog in `home`, creating both if needed.
pub async fn open(home: &Path) -> anyhow::Result<Organizations> {
    Ok(Organizations::new(open_catalog(home).await?, Arc::new(SystemClock)))
}

/// Both services over one catalog and one clock.
pub struct Services {
    /// Organizations, accounts, policies.
    pub orgs: Organizations,
    /// Vaults, resources, plans, jobs, recovery points.
    pub backup: BackupService,
    /// Principals, credentials, authorization, MFA.
    pub security: bunker_core::security::Security,
}

/// Opens both services in the home [`resolve`] picks, on `clock`.
pub async fn open_services(flag: Option<PathBuf>, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
    let home = resolve(flag)?;
    let catalog = open_catalog(&home).await?;
    let security = bunker_core::security::Security::open(catalog.clone(), clock.clone(), &home)?;
    Ok(Services {
        orgs: Organizations::new(catalog.clone(), clock.clone()),
        backup: BackupService::new(catalog, clock, home),
        security,
    })
}
