//! `bunker backup` vault access policies (being written).

use bunker_core::BackupService;
use clap::Subcommand;
use serde_json::Value;

use crate::failure::Failure;
use crate::scope::Place;

/// The operations.
#[derive(Debug, Subcommand)]
pub enum AccessPolicyCommand {}

/// Runs one operation in `place`.
pub async fn run(_svc: &BackupService, _place: &Place, command: AccessPolicyCommand) -> Result<Option<Value>, Failure> {
    match command {}
}
