//! `bunker`: centralized, policy-driven backup for an organization of accounts.
//!
//! This file only parses arguments, runs the chosen command and prints its result; each
//! command group has a module of its own.

mod aws_json;
mod demo;
mod home;
mod org;
mod output;
mod vault;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::output::{Format, Query};

/// Exit code of a service error, as the AWS CLI uses it.
const EXIT_SERVICE_ERROR: u8 = 254;
/// Exit code of any other failure (a bad parameter file, an unreadable catalog).
const EXIT_OTHER_ERROR: u8 = 255;

/// Centralized, policy-driven backup for an organization of accounts.
#[derive(Debug, Parser)]
#[command(name = "bunker", version, propagate_version = true)]
struct Cli {
    /// Bunker's home directory, holding catalog.db [env: BUNKER_HOME]
    /// [default: $XDG_DATA_HOME/bunker or ~/.local/share/bunker]
    #[arg(long, global = true, help_heading = "Global options", value_name = "DIR")]
    home: Option<PathBuf>,
    /// How to print responses.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = Format::Json)]
    output: Format,
    /// Print only part of the response: a JMESPath subset (`Roots[0].Id`, `Accounts[].Id`).
    #[arg(long, global = true, help_heading = "Global options", value_name = "EXPRESSION")]
    query: Option<String>,
    /// Log more to stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, help_heading = "Global options", action = ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The organization: its root, OUs, accounts and backup policies (as `aws organizations`).
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// Build a sample organization with backup policies in a fresh home and show what
    /// every account gets.
    Demo,
    /// The vault engine directly, in restic's habits: init, backup, restore, snapshots, ls,
    /// diff, check, forget, prune, copy, unlock, key rotation (for power users and benchmarks).
    Vault(vault::VaultArgs),
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let operation = matches
        .subcommand_matches("org")
        .and_then(|m| m.subcommand_name())
        .map(org::operation_name)
        .unwrap_or_default();
    init_logging(cli.verbose);
    // The vault engine is synchronous and runs its own threads: no async runtime.
    let cli = match cli {
        Cli { command: Command::Vault(args), output, query, .. } => return vault::run(args, output, query.as_deref()),
        cli => cli,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run(cli, &operation))
}

async fn run(cli: Cli, operation: &str) -> ExitCode {
    let query = match cli.query.as_deref().map(Query::parse).transpose() {
        Ok(query) => query,
        Err(e) => return fail(&anyhow::anyhow!("Bad value for --query: {e}")),
    };
    match cli.command {
        Command::Demo => match demo::run(cli.home).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Org(command) => run_org(command, cli.home, cli.output, query, operation).await,
        Command::Vault(_) => unreachable!("vault commands run before the async runtime starts"),
    }
}

async fn run_org(
    command: org::OrgCommand,
    home: Option<PathBuf>,
    format: Format,
    query: Option<Query>,
    operation: &str,
) -> ExitCode {
    let svc = match home::open_default(home).await {
        Ok(svc) => svc,
        Err(e) => return fail(&e),
    };
    tracing::debug!(operation, "calling");
    let result = org::run(&svc, command).await;
    svc.catalog().close().await;
    match result {
        Ok(Some(value)) => {
            let value = match query {
                Some(q) => q.apply(&value),
                None => value,
            };
            print!("{}", output::render(&value, format));
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, operation),
    }
}

/// Prints a failed operation in the AWS CLI's words.
fn report(failure: &org::Failure, operation: &str) -> ExitCode {
    match failure {
        org::Failure::Service(e) => {
            eprintln!("An error occurred ({}) when calling the {operation} operation: {e}", e.code());
            ExitCode::from(EXIT_SERVICE_ERROR)
        }
        org::Failure::Parameter { .. } => {
            eprintln!("{failure}");
            ExitCode::from(EXIT_OTHER_ERROR)
        }
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("bunker: {error:#}");
    ExitCode::from(EXIT_OTHER_ERROR)
}
