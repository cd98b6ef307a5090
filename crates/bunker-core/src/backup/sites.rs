//! Regions as sites: each Region keeps its vaults on a warm storage root and their cold
//! tier on a separate cold storage root.
//!
//! Defaults: warm `<data>/regions/<region>`, cold `<data>/cold/<region>`. An instance can
//! place Regions elsewhere with `<data>/regions.json`:
//!
//! ```json
//! {"eu-west-1": {"Warm": "/mnt/fast/eu", "Cold": "/mnt/slow/eu"}}
//! ```
//!
//! Either key may be left out (its default applies); relative paths are relative to the
//! data directory. A root may also be an S3 location, `s3://bucket/prefix`, on AWS or any
//! S3-compatible server (endpoint and credentials from `AWS_ENDPOINT_URL`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`). A vault's warm repository
//! is `<warm root>/<account>/<vault>` (recorded in the catalog when the vault is created),
//! its cold repository `<cold root>/<account>/<vault>` (looked up here each time: moving a
//! Region's cold root means moving its data along).
//!
//! Region codes, account ids and vault names become path components here, so each is
//! checked again on the way in (typed [`Region`] and [`AccountId`], the vault-name rule),
//! whatever the caller checked before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bunker_catalog::AccountId;
use bunker_policy::Region;
use bunker_policy::plan_input::valid_vault_name;
use serde::Deserialize;

use super::{BackupError, Result};

/// The file naming the Regions' roots, in the data directory.
pub(crate) const SITES_FILE: &str = "regions.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Roots {
    warm: Option<String>,
    cold: Option<String>,
}

/// Where a repository lives: a local directory or an S3 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A directory.
    Dir(PathBuf),
    /// `s3://bucket/prefix`, without a trailing slash.
    S3(String),
}

impl Location {
    /// A location as the catalog stores it.
    pub(crate) fn from_stored(s: &str) -> Self {
        if s.starts_with("s3://") { Self::S3(s.trim_end_matches('/').to_owned()) } else { Self::Dir(PathBuf::from(s)) }
    }

    fn join(&self, part: &str) -> Self {
        match self {
            Self::Dir(p) => Self::Dir(p.join(part)),
            Self::S3(url) => Self::S3(format!("{url}/{part}")),
        }
    }

    /// The storage there (blocking for S3: call from a blocking thread).
    /// The same place written one way: directories absolute, resolved through symbolic
    /// links as far as they exist, without `.` and `..`; S3 prefixes without a trailing `/`.
    pub(crate) fn normalized(&self) -> Self {
        match self {
            Self::S3(s) => Self::S3(s.trim_end_matches('/').to_owned()),
            Self::Dir(p) => Self::Dir(normalize_dir(p)),
        }
    }

    /// Whether `self` is `other` or inside it (both normalized).
    pub(crate) fn is_within(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Dir(a), Self::Dir(b)) => a.starts_with(b),
            (Self::S3(a), Self::S3(b)) => a == b || a.starts_with(&format!("{b}/")),
            _ => false,
        }
    }

    pub(crate) fn storage(&self) -> bunker_vault::Result<std::sync::Arc<dyn bunker_vault::Storage>> {
        bunker_vault::storage::open(&self.to_string())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(p) => write!(f, "{}", p.display()),
            Self::S3(url) => f.write_str(url),
        }
    }
}

/// The storage roots of every Region.
#[derive(Debug, Clone)]
pub(crate) struct Sites {
    data_dir: PathBuf,
    regions: BTreeMap<String, Roots>,
}

impl Sites {
    /// The sites of the instance whose data directory is `data_dir`.
    ///
    /// # Errors
    /// An unreadable or invalid `regions.json`, or a Region whose warm and cold roots are
    /// the same directory (moving a point to cold would then forget its only copy).
    pub(crate) fn load(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(SITES_FILE);
        let bad = |m: String| BackupError::DependencyFailure(format!("{}: {m}", path.display()));
        let regions = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(bad(e.to_string())),
        };
        let sites = Self { data_dir: data_dir.to_owned(), regions };
        for name in sites.regions.keys() {
            let region = Region::parse(name).map_err(|e| bad(e.to_string()))?;
            if sites.warm_root(&region) == sites.cold_root(&region) {
                return Err(bad(format!("{region}: the warm and cold roots must be different places")));
            }
        }
        Ok(sites)
    }

    fn resolve(&self, root: &str) -> Location {
        match Location::from_stored(root) {
            Location::Dir(p) if p.is_relative() => Location::Dir(self.data_dir.join(p)),
            l => l,
        }
    }

    /// Every storage root configured or in use: the default Region roots under the home,
    /// and every root `regions.json` names.
    pub(crate) fn all_roots(&self) -> Vec<Location> {
        let mut roots = vec![Location::Dir(self.data_dir.join("regions")), Location::Dir(self.data_dir.join("cold"))];
        // The names were checked by `load`.
        for region in self.regions.keys().filter_map(|r| Region::parse(r).ok()) {
            roots.push(self.warm_root(&region));
            roots.push(self.cold_root(&region));
        }
        roots
    }

    /// Where `region`'s warm repositories live.
    pub(crate) fn warm_root(&self, region: &Region) -> Location {
        match self.regions.get(region.as_str()).and_then(|r| r.warm.as_deref()) {
            Some(p) => self.resolve(p),
            None => Location::Dir(self.data_dir.join("regions").join(region.as_str())),
        }
    }

    /// Where `region`'s cold repositories live.
    pub(crate) fn cold_root(&self, region: &Region) -> Location {
        match self.regions.get(region.as_str()).and_then(|r| r.cold.as_deref()) {
            Some(p) => self.resolve(p),
            None => Location::Dir(self.data_dir.join("cold").join(region.as_str())),
        }
    }

    /// A vault's warm repository.
    ///
    /// # Errors
    /// A vault name that is not one (it would be a path component).
    pub(crate) fn warm_vault(&self, region: &Region, account: &AccountId, vault: &str) -> Result<Location> {
        Ok(self.warm_root(region).join(account.as_str()).join(checked_vault_name(vault)?))
    }

    /// A vault's cold repository.
    ///
    /// # Errors
    /// As [`Self::warm_vault`].
    pub(crate) fn cold_vault(&self, region: &Region, account: &AccountId, vault: &str) -> Result<Location> {
        Ok(self.cold_root(region).join(account.as_str()).join(checked_vault_name(vault)?))
    }
}

fn checked_vault_name(name: &str) -> Result<&str> {
    if valid_vault_name(name) {
        Ok(name)
    } else {
        Err(BackupError::InvalidParameterValue(format!("Invalid backup vault name {name:?}: 2 to 50 letters, digits, '-' or '_'")))
    }
}

/// `path` absolute, with symbolic links resolved for the part that exists and `.`/`..`
/// removed from the rest.
fn normalize_dir(path: &std::path::Path) -> PathBuf {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for part in rest.into_iter().rev() {
        match part.to_str() {
            Some("..") => {
                out.pop();
            }
            Some(".") => {}
            _ => out.push(part),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(s: &str) -> Region {
        Region::parse(s).unwrap()
    }

    fn account() -> AccountId {
        AccountId::parse("111111111111").unwrap()
    }

    #[test]
    fn defaults_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let s = Sites::load(data).unwrap();
        assert_eq!(s.warm_vault(&region("eu-west-1"), &account(), "V1").unwrap(), Location::Dir(data.join("regions/eu-west-1/111111111111/V1")));
        assert_eq!(s.cold_vault(&region("eu-west-1"), &account(), "V1").unwrap(), Location::Dir(data.join("cold/eu-west-1/111111111111/V1")));
        assert_eq!(s.all_roots(), [Location::Dir(data.join("regions")), Location::Dir(data.join("cold"))]);

        std::fs::write(
            data.join(SITES_FILE),
            r#"{"eu-west-1":{"Warm":"/mnt/fast/eu","Cold":"slow/eu"},"us-east-1":{"Cold":"s3://archive/us/"}}"#,
        )
        .unwrap();
        let s = Sites::load(data).unwrap();
        assert_eq!(s.warm_root(&region("eu-west-1")), Location::Dir("/mnt/fast/eu".into()));
        assert_eq!(s.cold_root(&region("eu-west-1")), Location::Dir(data.join("slow/eu")));
        assert_eq!(s.warm_root(&region("us-east-1")), Location::Dir(data.join("regions/us-east-1")));
        assert_eq!(s.cold_vault(&region("us-east-1"), &account(), "V1").unwrap().to_string(), "s3://archive/us/111111111111/V1");
        assert_eq!(s.cold_root(&region("ap-south-1")), Location::Dir(data.join("cold/ap-south-1")));
        let roots = s.all_roots();
        assert!(roots.contains(&Location::Dir("/mnt/fast/eu".into())) && roots.contains(&Location::Dir(data.join("slow/eu"))), "{roots:?}");
    }

    #[test]
    fn no_vault_path_leaves_its_region_account_and_vault() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sites::load(dir.path()).unwrap();
        for name in ["..", "../x", "a/b", "V", ""] {
            let err = s.warm_vault(&region("eu-west-1"), &account(), name).unwrap_err();
            assert_eq!(err.code(), "InvalidParameterValueException", "{name}");
        }
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needle) in [
            (r#"{"eu-west-1":{"Warm":"/a","Cold":"/a"}}"#, "must be different"),
            (r#"{"eu-west-1":{"Warm":"s3://b/x","Cold":"s3://b/x/"}}"#, "must be different"),
            (r#"{"eu-west-1":{"Cold":"regions/eu-west-1"}}"#, "must be different"),
            (r#"{"eu-west-1":{"Hot":"/a"}}"#, "unknown field"),
            (r#"{"../x":{"Warm":"/a"}}"#, "\"../x\" is not a Region name"),
            (r#"{"eu-west-1/..":{"Warm":"/a"}}"#, "is not a Region name"),
            ("{", "EOF"),
        ] {
            std::fs::write(dir.path().join(SITES_FILE), text).unwrap();
            let err = Sites::load(dir.path()).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains(SITES_FILE), "{text}: {err}");
        }
    }
}
