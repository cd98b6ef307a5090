//! Every operation of every command group goes through the one call path: a user with no
//! policies is refused each (except what AWS lets anyone do: who am I, session tokens),
//! and every call — refused, failed or done — is in the audit trail under its own name.
//!
//! The operations are enumerated from the request types themselves, so an operation added
//! later is tested here without anyone listing it.

use std::ffi::OsString;

use bunker_service::{Authenticated, LocalChoice, Operation, Service, TimeRequest, all_operations};
use clap::{FromArgMatches, Subcommand};
use serde_json::Value;

const MANAGEMENT: &str = "111111111111";
const MEMBER: &str = "222222222222";

/// A value the argument's parser accepts.
fn value_for(cmd: &clap::Command, arg: &clap::Arg) -> String {
    let _ = cmd;
    if let Some(first) = arg.get_possible_values().first() {
        return first.get_name().to_owned();
    }
    let id = arg.get_id().as_str();
    let named = match id {
        "recovery_point_arn" => Some(format!("arn:aws:backup:us-east-1:{MEMBER}:recovery-point:0000")),
        "resource_arn" | "by_resource_arn" => Some(format!("arn:aws:backup:us-east-1:{MEMBER}:recovery-point:0000")),
        "destination_backup_vault_arn" => Some(format!("arn:aws:backup:us-east-1:{MANAGEMENT}:backup-vault:central")),
        "role_arn" => Some(format!("arn:aws:iam::{MANAGEMENT}:role/Admin")),
        "policy_arn" => Some("arn:aws:iam::aws:policy/AdministratorAccess".to_owned()),
        "principal" => Some(format!("arn:aws:iam::{MEMBER}:user/nobody")),
        "account_id" => Some(MEMBER.to_owned()),
        "serial_number" => Some(format!("arn:aws:iam::{MEMBER}:mfa/nobody")),
        _ => None,
    };
    let candidates = named.into_iter().chain(["Main", "1", "2027-01-01T00:00:00Z", "{}", "a=b", "aGVsbG8="].map(str::to_owned));
    for candidate in candidates {
        // The argument alone in a command of its own: does its parser take the value?
        let alone = clap::Command::new("t").arg(arg.clone());
        let argv: Vec<OsString> = match arg.get_long() {
            Some(long) => vec!["t".into(), format!("--{long}").into(), candidate.clone().into()],
            None => vec!["t".into(), candidate.clone().into()],
        };
        if alone.try_get_matches_from(argv).is_ok() {
            return candidate;
        }
    }
    panic!("no sample value for --{id} of {}", cmd.get_name());
}

/// The operation at `path`, with every required member given a sample value.
fn sample(path: &[String]) -> Operation {
    let root = Operation::augment_subcommands(clap::Command::new("bunker"));
    let group = root.find_subcommand(&path[0]).expect("group");
    let cmd = group.find_subcommand(&path[1]).expect("operation").clone();
    let mut argv: Vec<String> = vec!["bunker".into(), path[0].clone(), path[1].clone()];
    let mut required: Vec<clap::Id> = cmd.get_arguments().filter(|a| a.is_required_set()).map(|a| a.get_id().clone()).collect();
    for group in cmd.get_groups().filter(|g| g.is_required_set()) {
        if let Some(first) = group.get_args().next() {
            required.push(first.clone());
        }
    }
    for id in required {
        let arg = cmd.get_arguments().find(|a| *a.get_id() == id).expect("argument");
        let value = value_for(&cmd, arg);
        match arg.get_long() {
            Some(long) => argv.extend([format!("--{long}"), value]),
            None => argv.push(value),
        }
    }
    let matches = root.clone().try_get_matches_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    Operation::from_arg_matches(&matches).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}

async fn latest_event(service: &Service, auditor: &Authenticated) -> Value {
    let lookup = sample(&["audit".into(), "lookup-events".into()]);
    let out = service.call(auditor, lookup).await.expect("lookup").expect("events");
    let event = out["Events"][0].clone();
    serde_json::from_str(event["CloudTrailEvent"].as_str().expect("record")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_authorized_and_audited_through_the_one_path() {
    let home = tempfile::tempdir().unwrap();
    let service = Service::open(home.path(), TimeRequest::System).await.unwrap();
    let admin = service.local_operator(MANAGEMENT, LocalChoice::PrincipalVariable);
    let member_root = service.local_operator(MEMBER, LocalChoice::PrincipalVariable);
    let run = |args: &[&str]| {
        let argv: Vec<String> = std::iter::once("bunker").chain(args.iter().copied()).map(str::to_owned).collect();
        let root = Operation::augment_subcommands(clap::Command::new("bunker"));
        Operation::from_arg_matches(&root.try_get_matches_from(argv).unwrap()).unwrap()
    };
    service.call(&admin, run(&["org", "create-organization", "--management-account-id", MANAGEMENT])).await.unwrap();
    service.call(&admin, run(&["org", "create-account", "--account-name", "member", "--email", "m@example.com", "--account-id", MEMBER])).await.unwrap();
    service.call(&member_root, run(&["iam", "create-user", "--user-name", "nobody"])).await.unwrap();
    let key = service.call(&member_root, run(&["iam", "create-access-key", "--user-name", "nobody"])).await.unwrap().unwrap();
    let (id, secret) = (key["AccessKey"]["AccessKeyId"].as_str().unwrap(), key["AccessKey"]["SecretAccessKey"].as_str().unwrap());
    let nobody = service.authenticate(id, secret, None, "test").await.unwrap();

    // What AWS lets any principal do without a policy.
    let needs_no_permission = ["GetCallerIdentity", "GetSessionToken"];
    let operations = all_operations();
    assert!(operations.len() >= 120, "{} operations", operations.len());
    let mut refused = 0;
    for (group, name, path) in &operations {
        // A principal with no policies.
        let result = service.call(&nobody, sample(path)).await;
        let event = latest_event(&service, &admin).await;
        assert_eq!(event["eventName"], name.as_str(), "{group} {name}: not the latest audit event: {event}");
        assert_eq!(event["userIdentity"]["userName"], "nobody", "{group} {name}: {event}");
        if needs_no_permission.contains(&name.as_str()) {
            continue;
        }
        let failure = result.expect_err(&format!("{group} {name} ran for a principal with no policies"));
        let code = failure.code().unwrap_or_default();
        assert!(code.contains("AccessDenied"), "{group} {name}: {code} {failure}");
        assert!(event["errorCode"].as_str().is_some_and(|c| c.contains("AccessDenied")), "{group} {name}: {event}");
        refused += 1;

        // The management account's root is let through (or refused by the operation
        // itself), and recorded either way.
        let result = service.call(&admin, sample(path)).await;
        let event = latest_event(&service, &admin).await;
        assert_eq!(event["eventName"], name.as_str(), "{group} {name} by the admin: {event}");
        if let Err(f) = result {
            assert_eq!(event["errorCode"], f.code().unwrap_or("ClientError"), "{group} {name}");
        }
    }
    assert_eq!(refused, operations.len() - needs_no_permission.len());
    service.close().await;
}
