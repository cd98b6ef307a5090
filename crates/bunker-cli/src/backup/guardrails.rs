//! `bunker backup` Vault Lock and legal holds (being written).

use bunker_core::BackupService;
use clap::Subcommand;
use serde_json::Value;

use crate::failure::Failure;
use crate::scope::Place;

/// The operations.
#[derive(Debug, Subcommand)]
pub enum GuardrailCommand {}

/// Runs one operation in `place`.
pub async fn run(_svc: &BackupService, _place: &Place, command: GuardrailCommand) -> Result<Option<Value>, Failure> {
    match command {}
}
