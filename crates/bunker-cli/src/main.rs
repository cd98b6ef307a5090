//! `bunker`: centralized, policy-driven backup for an organization of accounts.
//!
//! This file only parses arguments, runs the chosen command and prints its result; each
//! command group has a module of its own.

mod demo;
mod home;
mod output;
mod params;
mod progress_bars;
mod run;
mod vault;

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use bunker_service::{Authenticated, Failure, LocalChoice, Operation, Service, TimeRequest};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::Value;

use crate::output::{Format, Query};

/// Exit code of a service error, as the AWS CLI uses it.
const EXIT_SERVICE_ERROR: u8 = 254;
/// Exit code of any other failure (a bad parameter file, an unreadable catalog).
const EXIT_OTHER_ERROR: u8 = 255;

/// The caller's credentials. Not `AWS_ACCESS_KEY_ID` & co.: in the embedded CLI those
/// belong to the S3-compatible storage under the vaults, as for every S3 client.
const ACCESS_KEY_ENV: &str = "BUNKER_ACCESS_KEY_ID";
/// The secret of [`ACCESS_KEY_ENV`].
const SECRET_ENV: &str = "BUNKER_SECRET_ACCESS_KEY";
/// The session token of temporary credentials.
const SESSION_TOKEN_ENV: &str = "BUNKER_SESSION_TOKEN";
/// The approval request a call under the two-person rule uses.
const APPROVAL_ENV: &str = "BUNKER_APPROVAL_ID";

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
    #[command(flatten)]
    Aws(Operation),
    /// Build a sample organization with backup policies in a fresh home and show what
    /// every account gets.
    Demo,
    /// Run the service in the foreground: scheduler, jobs, lifecycle (or simulate months
    /// with --fake-clock).
    Run(run::RunArgs),
    /// The vault engine directly, in restic's habits: init, backup, restore, snapshots, ls,
    /// diff, check, forget, prune, copy, unlock, key rotation (for standalone repositories;
    /// a service vault only read, after authorization).
    Vault(vault::VaultArgs),
}

/// The command groups that act in an account and Region.
const SCOPED_GROUPS: &[&str] = &["backup", "resource", "iam", "kms"];

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
    // Before any thread: everything the process creates (catalog, keys, vaults) is private.
    bunker_core::home::restrict_umask();
    let args = match params::load_paramfiles(with_default_region(std::env::args_os().collect())) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(EXIT_OTHER_ERROR);
        }
    };
    let matches = Cli::command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
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
    runtime.block_on(run(cli))
}

/// `--region` from `AWS_REGION`, then `AWS_DEFAULT_REGION`, for the groups that take one
/// and when none is given: the front end's default, as the AWS CLI's.
fn with_default_region(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let scoped = args.iter().skip(1).find(|a| !a.to_string_lossy().starts_with('-')).is_some_and(|g| SCOPED_GROUPS.contains(&g.to_string_lossy().as_ref()));
    let given = args.iter().any(|a| a == "--region" || a.to_string_lossy().starts_with("--region="));
    let help = args.iter().any(|a| a == "--help" || a == "-h");
    if scoped && !given && !help
        && let Some(region) = ["AWS_REGION", "AWS_DEFAULT_REGION"].iter().find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
    {
        args.push("--region".into());
        args.push(region.into());
    }
    args
}

async fn run(cli: Cli) -> ExitCode {
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
        Command::Aws(operation) => run_aws(operation, cli.home, cli.output, query).await,
        Command::Vault(_) => unreachable!("handled by main()"),
    }
}

/// The clock this process asks the home for: `BUNKER_FAKE_NOW` asks for one simulated
/// instant, which only a simulated home grants.
fn time_request() -> anyhow::Result<TimeRequest> {
    match std::env::var("BUNKER_FAKE_NOW").ok().filter(|v| !v.is_empty()) {
        Some(at) => Ok(TimeRequest::At(at.parse().map_err(|e| anyhow::anyhow!("BUNKER_FAKE_NOW={at}: {e}"))?)),
        None => Ok(TimeRequest::System),
    }
}

/// The caller of this process: the owner of `BUNKER_ACCESS_KEY_ID`, else the local
/// operator as `BUNKER_PRINCIPAL`, else as the root of the account the command names,
/// else as the management account's root — each recorded as such.
async fn caller(service: &Service, operation: &Operation) -> Result<Authenticated, Failure> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret)) = (var(ACCESS_KEY_ENV), var(SECRET_ENV)) {
        let token = var(SESSION_TOKEN_ENV);
        return service.authenticate(&id, &secret, token.as_deref(), "cli").await;
    }
    if let Some(principal) = var("BUNKER_PRINCIPAL") {
        let account = principal.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")).unwrap_or(&principal);
        if bunker_catalog::AccountId::parse(account).is_err() {
            return Err(Failure::Parameter {
                name: "BUNKER_PRINCIPAL",
                message: format!("`{principal}` is not an account id or an account root ARN (arn:aws:iam::ACCOUNT:root)"),
            });
        }
        return Ok(service.local_operator(account, LocalChoice::PrincipalVariable));
    }
    // A command naming an account (`--account-id`, or the ARN it acts on) acts as that
    // account's root: the local operator holds every account's data in the home anyway,
    // and the account's SCPs still bound what its root may do.
    let info = operation.info();
    if SCOPED_GROUPS.contains(&info.group) {
        let member = |k: &str| info.parameters.get(k).and_then(Value::as_str).map(str::to_owned);
        let named = member("AccountId").or_else(|| {
            ["RecoveryPointArn", "ResourceArn", "Principal"].iter().find_map(|k| member(k)).and_then(|arn| arn.split(':').nth(4).filter(|a| !a.is_empty()).map(str::to_owned))
        });
        if let Some(account) = named
            && bunker_catalog::AccountId::parse(&account).is_ok()
        {
            return Ok(service.local_operator(&account, LocalChoice::NamedAccount));
        }
    }
    Ok(match service.management_account().await {
        Some(account) => service.local_operator(&account, LocalChoice::ManagementAccount),
        None => service.local_operator("000000000000", LocalChoice::NoOrganization),
    })
}

/// One AWS-style operation through the service's call path, printed as the AWS CLI would.
async fn run_aws(operation: Operation, home: Option<PathBuf>, format: Format, query: Option<Query>) -> ExitCode {
    let name = operation.info().name;
    let service = match open(home, time_request()).await {
        Ok(s) => s.with_connectors(Arc::new(progress_bars::ShowProgress)),
        Err(e) => return fail(&e),
    };
    tracing::debug!(operation = %name, "calling");
    let result = match caller(&service, &operation).await {
        Ok(who) => {
            let approval = std::env::var(APPROVAL_ENV).ok().filter(|v| !v.is_empty());
            service.call_with_approval(&who, operation, approval.as_deref()).await
        }
        Err(failure) => {
            let key = std::env::var(ACCESS_KEY_ENV).ok();
            match service.record_refused_credentials(key, "cli", &operation, &failure).await {
                Ok(()) => Err(failure),
                Err(audit) => Err(audit),
            }
        }
    };
    service.close().await;
    match result {
        Ok(Some(value)) => {
            print_value(&value, format, query.as_ref());
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, &name),
    }
}

async fn open(home: Option<PathBuf>, time: anyhow::Result<TimeRequest>) -> anyhow::Result<Service> {
    let home = home::resolve(home)?;
    Service::open(&home, time?).await
}

/// `bunker run`: the service in the foreground, on the system clock or a simulated one.
async fn run_service(args: run::RunArgs, home: Option<PathBuf>, format: Format, query: Option<Query>) -> ExitCode {
    let home = match home::resolve(home) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let result = if args.fake_clock {
        let until = args.until.expect("clap requires --until with --fake-clock");
        match bunker_service::open_simulation(&home, args.start).await {
            Ok((service, clock)) => {
                let start = bunker_core::Clock::now(&clock);
                let result = run::simulate(service.scheduler_service(), &clock, start, until).await;
                if result.is_ok()
                    && let Err(e) = bunker_service::advance_simulated_time(&home, until)
                {
                    return fail(&e);
                }
                result
            }
            Err(e) => return fail(&e),
        }
    } else {
        match Service::open(&home, TimeRequest::System).await {
            Ok(service) => run::daemon(service.scheduler_service(), &args).await,
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
