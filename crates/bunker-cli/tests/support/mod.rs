//! The real `bunker` binary against a temporary home, read back through its JSON output.

#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// A temporary Bunker home and the binary run against it.
pub struct Home {
    dir: tempfile::TempDir,
    /// Where resources and restores go: the service refuses any inside the home.
    beside: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Home {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), beside: tempfile::tempdir().unwrap(), env: Vec::new() }
    }

    /// A home created for simulated time, at `at`: its clock moves only forward, by
    /// `BUNKER_FAKE_NOW` on a command or `bunker run --fake-clock`.
    pub fn simulated(self, at: &str) -> Self {
        let out = self.command().env("BUNKER_FAKE_NOW", at).args(["sts", "get-caller-identity"]).output().expect("bunker runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        self
    }

    /// Every command of this home runs with `key=value` in its environment.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` in a directory beside the home, for resources and restore targets.
    pub fn beside(&self, name: &str) -> std::path::PathBuf {
        self.beside.path().join(name)
    }

    /// The binary with this home and a clean environment.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bunker"));
        c.arg("--home").arg(self.path());
        for var in [
            "BUNKER_HOME",
            "RUST_LOG",
            "BUNKER_ACCOUNT_ID",
            "BUNKER_PRINCIPAL",
            "BUNKER_FAKE_NOW",
            "BUNKER_MASTER_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "BUNKER_ACCESS_KEY_ID",
            "BUNKER_SECRET_ACCESS_KEY",
            "BUNKER_SESSION_TOKEN",
            "BUNKER_APPROVAL_ID",
        ] {
            c.env_remove(var);
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("bunker runs")
    }

    /// Runs a command that must succeed; its JSON output (`null` when it prints nothing).
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "bunker {args:?} failed: {stderr}");
        if stdout.trim().is_empty() { Value::Null } else { serde_json::from_str(&stdout).unwrap() }
    }

    /// `bunker ARGS… --query Q --output text`, trimmed.
    pub fn text(&self, args: &[&str], query: &str) -> String {
        let mut all = args.to_vec();
        all.extend(["--query", query, "--output", "text"]);
        let out = self.run(&all);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Runs a command that must fail with the AWS exception `code` (exit 254) and print
    /// nothing on stdout. Returns stderr.
    pub fn service_error(&self, args: &[&str], code: &str, operation: &str) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(254), "bunker {args:?}: {stderr}");
        let expected = format!("An error occurred ({code}) when calling the {operation} operation: ");
        assert!(stderr.starts_with(&expected), "expected {expected:?}, got {stderr:?}");
        assert!(out.stdout.is_empty());
        stderr
    }
}

/// `2026-11-25T18:05:28.123000+00:00` (the fraction only when there is one).
pub fn is_aws_cli_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let Some(main) = s.strip_suffix("+00:00") else { return false };
    let (seconds, fraction) = main.split_once('.').unwrap_or((main, "000000"));
    let shape = seconds.chars().enumerate().all(|(i, c)| match i {
        4 | 7 => c == '-',
        10 => c == 'T',
        13 | 16 => c == ':',
        _ => c.is_ascii_digit(),
    });
    shape && seconds.len() == 19 && fraction.len() == 6 && fraction.chars().all(|c| c.is_ascii_digit())
}

/// An object's keys in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}
