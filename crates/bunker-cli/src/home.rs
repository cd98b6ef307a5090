//! Where Bunker's home is: `--home`, `BUNKER_HOME`, or the per-user data directory. What
//! is in it (the catalog, the clock, vaults and keys) is the service's business.

use std::path::PathBuf;

use anyhow::Context;

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
