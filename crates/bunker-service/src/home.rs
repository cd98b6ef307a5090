//! Opening a home: its catalog, and the clock the home lives on.
//!
//! A home keeps real time unless it was created for simulation. Simulated time exists so
//! that the demo and tests can live through months in seconds, and a caller must never be
//! able to pick "now" to get past a Vault Lock, a retention or an expiry. So the clock is a
//! property of the home, fixed when the home is created (its first command), never a
//! per-call choice: a real home refuses simulated time outright. A simulated home is a
//! sandbox (the demo, tests, rehearsals) and is never served.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use bunker_catalog::Catalog;
use bunker_core::{Clock, ManualClock, SystemClock};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The catalog's file name inside the home directory.
pub const CATALOG_FILE: &str = "catalog.db";

/// Where the home's time mode is kept.
const CLOCK_FILE: &str = "clock.json";

/// The clock a front end asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRequest {
    /// The system clock (a simulated home answers with its own simulated time).
    System,
    /// One instant for this process (`BUNKER_FAKE_NOW`): creates a simulated home, or
    /// moves a simulated home's time forward to it.
    At(Timestamp),
    /// A simulation run (`bunker run --fake-clock`) from `start` (default: the home's
    /// simulated now).
    Simulation {
        /// Where the run starts.
        start: Option<Timestamp>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClockState {
    mode: Mode,
    /// The simulated now (simulated homes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    now: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Mode {
    Real,
    Simulated,
}

fn read_state(home: &Path) -> anyhow::Result<Option<ClockState>> {
    let path = home.join(CLOCK_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the state durably (temporary file, fsync, rename).
fn write_state(home: &Path, state: &ClockState) -> anyhow::Result<()> {
    let path = home.join(CLOCK_FILE);
    let tmp = home.join(format!("{CLOCK_FILE}.tmp"));
    let text = serde_json::to_vec_pretty(state)?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The clock of `home` for `request`, recording a new home's mode and a simulated home's
/// progress. `new_home`: the catalog did not exist before this open.
fn clock_for(home: &Path, request: TimeRequest, new_home: bool) -> anyhow::Result<(Arc<dyn Clock>, Option<ManualClock>)> {
    let state = match read_state(home)? {
        Some(state) => state,
        None => {
            // Homes made before the mode was recorded keep real time.
            let mode = match request {
                TimeRequest::System => Mode::Real,
                _ if new_home => Mode::Simulated,
                _ => Mode::Real,
            };
            let state = ClockState { mode, now: None };
            write_state(home, &state)?;
            state
        }
    };
    match (state.mode, request) {
        (Mode::Real, TimeRequest::System) => Ok((Arc::new(SystemClock), None)),
        (Mode::Real, _) => bail!(
            "simulated time is refused: this home keeps real time. Only a home created for simulation (its first \
             command run with BUNKER_FAKE_NOW, or `bunker run --fake-clock` on a new home) lives on a simulated clock"
        ),
        (Mode::Simulated, request) => {
            // A simulated home is a sandbox (the demo, tests): a command may name any
            // instant; the home remembers the latest, which commands naming none run at.
            let stored = state.now;
            let now = match request {
                TimeRequest::At(at) | TimeRequest::Simulation { start: Some(at) } => at,
                TimeRequest::System | TimeRequest::Simulation { start: None } => stored.unwrap_or_else(Timestamp::now),
            };
            if stored.is_none_or(|s| now > s) {
                write_state(home, &ClockState { mode: Mode::Simulated, now: Some(now) })?;
            }
            let clock = ManualClock::new(now);
            Ok((Arc::new(clock.clone()), Some(clock)))
        }
    }
}

/// Records that a simulated home's time reached `now` (the end of a simulation run).
///
/// # Errors
/// The home is not simulated, or its state cannot be written.
pub fn advance_simulated_time(home: &Path, now: Timestamp) -> anyhow::Result<()> {
    match read_state(home)? {
        Some(ClockState { mode: Mode::Simulated, now: stored }) if stored.is_none_or(|s| s <= now) => {
            write_state(home, &ClockState { mode: Mode::Simulated, now: Some(now) })
        }
        Some(ClockState { mode: Mode::Simulated, .. }) => Ok(()),
        _ => bail!("this home keeps real time"),
    }
}

/// Opens (creating if needed) the catalog in `home`.
///
/// # Errors
/// The home or the catalog cannot be created or opened.
pub async fn open_catalog(home: &Path) -> anyhow::Result<Catalog> {
    bunker_core::home::secure_home(home).with_context(|| format!("cannot create or secure Bunker home {}", home.display()))?;
    let path = home.join(CATALOG_FILE);
    tracing::debug!(catalog = %path.display(), "opening catalog");
    Ok(Catalog::open_file(&path).await?)
}

/// What a home holds once its catalog was made: finding any of these without
/// `catalog.db` means the catalog was lost, not that the home is new.
const MADE_WITH_A_CATALOG: &[&str] = &["master.key", "regions", "cold", "keys", "catalog.db.audit-anchor"];

/// Refuses a home whose catalog is gone while what it described is still there: a new,
/// empty catalog beside vaults full of recovery points would hide them all.
///
/// # Errors
/// The catalog is missing and the home holds what one described.
pub fn refuse_lost_catalog(home: &Path) -> anyhow::Result<()> {
    if home.join(CATALOG_FILE).exists() {
        return Ok(());
    }
    let left: Vec<&str> = MADE_WITH_A_CATALOG.iter().copied().filter(|name| home.join(name).exists()).collect();
    if left.is_empty() {
        return Ok(());
    }
    bail!(
        "{} holds {} but no {CATALOG_FILE}: its catalog was lost or moved. Nothing was created; put the \
         catalog back (from a backup of the home), or move the home aside to start a new one",
        home.display(),
        left.join(", ")
    )
}

/// Opens the catalog of `home` and the clock `time` asks for.
pub(crate) async fn open(home: &Path, time: TimeRequest) -> anyhow::Result<(Catalog, Arc<dyn Clock>)> {
    refuse_lost_catalog(home)?;
    let new_home = !home.join(CATALOG_FILE).exists();
    bunker_core::home::secure_home(home).with_context(|| format!("cannot create or secure Bunker home {}", home.display()))?;
    let (clock, _) = clock_for(home, time, new_home)?;
    Ok((open_catalog(home).await?, clock))
}

/// Opens `home` for a simulation run: the catalog, and the manual clock the run moves.
///
/// # Errors
/// A real home, or a start before the simulated home's now.
pub async fn open_simulation(home: &Path, start: Option<Timestamp>) -> anyhow::Result<(crate::Service, ManualClock)> {
    refuse_lost_catalog(home)?;
    let new_home = !home.join(CATALOG_FILE).exists();
    bunker_core::home::secure_home(home).with_context(|| format!("cannot create or secure Bunker home {}", home.display()))?;
    let (clock, manual) = clock_for(home, TimeRequest::Simulation { start }, new_home)?;
    let manual = manual.expect("a simulation has a manual clock");
    let service = crate::Service::on(open_catalog(home).await?, clock, home)?;
    service.backup.seal_stored_secrets().await?;
    Ok((service, manual))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_real_home_refuses_simulated_time_and_a_simulated_one_keeps_its_latest_instant() {
        let real = tempfile::tempdir().unwrap();
        clock_for(real.path(), TimeRequest::System, true).unwrap();
        let e = clock_for(real.path(), TimeRequest::At(at("2040-01-01T00:00:00Z")), false).err().unwrap();
        assert!(e.to_string().contains("keeps real time"), "{e}");
        assert!(clock_for(real.path(), TimeRequest::Simulation { start: None }, false).is_err());

        let sim = tempfile::tempdir().unwrap();
        let (clock, _) = clock_for(sim.path(), TimeRequest::At(at("2027-01-01T00:00:00Z")), true).unwrap();
        assert_eq!(clock.now(), at("2027-01-01T00:00:00Z"));
        let (clock, _) = clock_for(sim.path(), TimeRequest::System, false).unwrap();
        assert_eq!(clock.now(), at("2027-01-01T00:00:00Z"), "a simulated home answers with its own time");
        clock_for(sim.path(), TimeRequest::At(at("2027-02-01T00:00:00Z")), false).unwrap();
        let (clock, _) = clock_for(sim.path(), TimeRequest::At(at("2027-01-15T00:00:00Z")), false).unwrap();
        assert_eq!(clock.now(), at("2027-01-15T00:00:00Z"), "a command may name an earlier instant");
        let (clock, _) = clock_for(sim.path(), TimeRequest::System, false).unwrap();
        assert_eq!(clock.now(), at("2027-02-01T00:00:00Z"), "the home keeps the latest");

        // A home made before the mode was recorded keeps real time.
        let old = tempfile::tempdir().unwrap();
        assert!(clock_for(old.path(), TimeRequest::At(at("2040-01-01T00:00:00Z")), false).is_err());
    }
}
