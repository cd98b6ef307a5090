//! `bunker`: centralized, policy-driven backup for an organization of accounts.
//!
//! This file only parses arguments, runs the chosen command and prints its result; each
//! command group has a module of its own.

mod audit;
mod aws_json;
mod backup;
mod demo;
mod failure;
mod gate;
mod home;
mod iam;
mod kms;
mod org;
mod output;
mod resource;
mod run;
mod scope;
mod sts;
mod vault;

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use bunker_core::SystemClock;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::Value;

use crate::failure::Failure;
use crate::output::{Format, Query};
use crate::scope::Scope;

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
    /// Backup vaults, plans, selections, jobs, recovery points and restores (as `aws backup`).
    Backup(BackupArgs),
    /// The resources an account protects: directories, SQLite and PostgreSQL databases,
    /// disk images, S3 buckets.
    Resource(ResourceArgs),
    /// Run the service in the foreground: scheduler, jobs, lifecycle (or simulate months
    /// with --fake-clock).
    Run(run::RunArgs),
    /// The vault engine directly, in restic's habits: init, backup, restore, snapshots, ls,
    /// diff, check, forget, prune, copy, unlock, key rotation (for power users and benchmarks).
    Vault(vault::VaultArgs),
    /// Users, roles, access keys, their policies, MFA devices; `simulate` decides a request
    /// and names the statement that decided (as `aws iam`).
    Iam(iam::IamArgs),
    /// Temporary credentials: assume a role, a session with MFA (as `aws sts`).
    #[command(subcommand)]
    Sts(sts::Command),
    /// Keys per account and Region: aliases, key policies, grants, rotation, deletion (as
    /// `aws kms`).
    #[command(subcommand)]
    Kms(kms::Command),
    /// The audit trail: look up events, verify the hash chain and signed digests.
    #[command(subcommand)]
    Audit(audit::Command),
}

#[derive(Debug, Args)]
struct BackupArgs {
    #[command(flatten)]
    scope: Scope,
    #[command(subcommand)]
    command: backup::BackupCommand,
}

#[derive(Debug, Args)]
struct ResourceArgs {
    #[command(flatten)]
    scope: Scope,
    #[command(subcommand)]
    command: resource::ResourceCommand,
}

fn init_logging(verbose: u8, daemon: bool) {
    let default = match verbose {
        0 if daemon => "info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The AWS operation name for error messages: `bunker org list-roots` → ListRoots.
    let operation = ["org", "backup", "resource", "iam", "sts", "kms", "audit"]
        .iter()
        .find_map(|group| matches.subcommand_matches(group))
        .and_then(|m| m.subcommand_name())
        .map(org::operation_name)
        .unwrap_or_default();
    init_logging(cli.verbose, matches!(cli.command, Command::Run(_)));
    // The vault engine is synchronous and runs its own threads: no async runtime.
    let cli = match cli {
        Cli { command: Command::Vault(mut args), output, query, home, .. } => {
            args.home = home;
            return vault::run(args, output, query.as_deref());
        }
        cli => cli,
    };
    // Several threads: scheduled jobs run side by side (up to the per-account limit).
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run(cli, &matches, &operation))
}

async fn run(cli: Cli, matches: &clap::ArgMatches, operation: &str) -> ExitCode {
    let query = match cli.query.as_deref().map(Query::parse).transpose() {
        Ok(query) => query,
        Err(e) => return fail(&anyhow::anyhow!("Bad value for --query: {e}")),
    };
    match cli.command {
        Command::Demo => match demo::run(cli.home).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::Run(args) => run_service(args, cli.home, cli.output, query).await,
        command => run_aws(command, matches, cli.home, cli.output, query, operation).await,
    }
}

/// The AWS-style command groups: one operation, its JSON printed as the AWS CLI would.
async fn run_aws(command: Command, matches: &clap::ArgMatches, home: Option<PathBuf>, format: Format, query: Option<Query>, operation: &str) -> ExitCode {
    let clock: Arc<dyn bunker_core::Clock> = match std::env::var("BUNKER_FAKE_NOW").ok().filter(|v| !v.is_empty()) {
        // One fixed instant for the whole command: lets scripts and tests act "later"
        // (past a lock's grace time, a key's waiting period) without waiting.
        Some(at) => match at.parse::<jiff::Timestamp>() {
            Ok(at) => Arc::new(bunker_core::ManualClock::new(at)),
            Err(e) => return fail(&anyhow::anyhow!("BUNKER_FAKE_NOW={at}: {e}")),
        },
        None => Arc::new(SystemClock),
    };
    let services = match home::open_services(home, clock).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    tracing::debug!(operation, "calling");
    let result = match gate::admit(&services, matches).await {
        Ok(admitted) => {
            let result = dispatch(command, &services, &admitted.caller).await;
            gate::record(&services, &admitted, &result).await;
            result
        }
        Err(failure) => Err(failure),
    };
    services.orgs.catalog().close().await;
    match result {
        Ok(Some(value)) => {
            print_value(&value, format, query.as_ref());
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, operation),
    }
}

/// Runs one admitted AWS-style command.
async fn dispatch(command: Command, services: &home::Services, caller: &bunker_core::security::Caller) -> Result<Option<Value>, Failure> {
    match command {
        Command::Org(command) => org::run(&services.orgs, command).await,
        Command::Backup(BackupArgs { scope, command }) => match scope.resolve(&services.orgs).await {
            Ok(place) => backup::run(&backup::with_progress(services.backup.clone()), &place, command).await,
            Err(e) => Err(e),
        },
        Command::Resource(ResourceArgs { scope, command }) => match scope.resolve(&services.orgs).await {
            Ok(place) => resource::run(&services.backup, &place, command).await,
            Err(e) => Err(e),
        },
        Command::Iam(args) => iam::run(services, caller, args).await,
        Command::Sts(command) => sts::run(services, caller, command).await,
        Command::Kms(command) => kms::run(services, command).await,
        Command::Audit(command) => audit::run(services, command).await,
        Command::Demo | Command::Run(_) | Command::Vault(_) => unreachable!("handled by run()"),
    }
}

/// `bunker run`: the service in the foreground, on the system clock or a simulated one.
async fn run_service(args: run::RunArgs, home: Option<PathBuf>, format: Format, query: Option<Query>) -> ExitCode {
    let home = match home::resolve(home) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let result = if args.fake_clock {
        let start = args.start.unwrap_or_else(jiff::Timestamp::now);
        let until = args.until.expect("clap requires --until with --fake-clock");
        let clock = Arc::new(bunker_core::ManualClock::new(start));
        match home::open_services(Some(home), clock.clone()).await {
            Ok(services) => run::simulate(services.backup, &clock, start, until).await,
            Err(e) => return fail(&e),
        }
    } else {
        match home::open_services(Some(home), Arc::new(SystemClock)).await {
            Ok(services) => run::daemon(services.backup, &args).await,
            Err(e) => return fail(&e),
        }
    };
    match result {
        Ok(value) => {
            print_value(&value, format, query.as_ref());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn print_value(value: &Value, format: Format, query: Option<&Query>) {
    let value = match query {
        Some(q) => q.apply(value),
        None => value.clone(),
    };
    print!("{}", output::render(&value, format));
}

/// Prints a failed operation in the AWS CLI's words.
fn report(failure: &Failure, operation: &str) -> ExitCode {
    match failure.code() {
        Some(code) => {
            eprintln!("An error occurred ({code}) when calling the {operation} operation: {failure}");
            ExitCode::from(EXIT_SERVICE_ERROR)
        }
        None => {
            eprintln!("{failure}");
            ExitCode::from(EXIT_OTHER_ERROR)
        }
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("bunker: {error:#}");
    ExitCode::from(EXIT_OTHER_ERROR)
}
