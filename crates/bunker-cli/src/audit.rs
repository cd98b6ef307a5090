//! `bunker audit` (being written).

use clap::Subcommand;
use serde_json::Value;

use crate::failure::Failure;
use crate::home::Services;

/// The operations.
#[derive(Debug, Subcommand)]
pub enum Command {}

/// Runs one operation.
pub async fn run(_services: &Services, command: Command) -> Result<Option<Value>, Failure> {
    match command {}
}
