//! `bunker run`: the service in the foreground — scheduler, job workers, lifecycle — on
//! the system clock until stopped (Ctrl-C or SIGTERM, between ticks), or on a simulated
//! clock (`--fake-clock`) that jumps from event to event, so months pass in seconds while
//! every job still reads and writes real data.

use std::time::Duration;

use bunker_core::backup::TickReport;
use bunker_core::{BackupService, ManualClock, Scheduler};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use bunker_service::aws_json::timestamp;

/// `bunker run` options.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Stop at this time (RFC 3339, e.g. 2027-01-10T00:00:00Z); required with --fake-clock.
    #[arg(long, value_name = "TIME")]
    pub until: Option<Timestamp>,
    /// Simulate time: start at --start and jump from one due event to the next.
    #[arg(long, requires = "until")]
    pub fake_clock: bool,
    /// With --fake-clock: the simulated start [default: now].
    #[arg(long, requires = "fake_clock", value_name = "TIME")]
    pub start: Option<Timestamp>,
    /// With the system clock: the longest sleep between ticks, so new plans and on-demand
    /// jobs are seen soon.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub poll_seconds: u64,
}

fn summary(total: &TickReport, from: Timestamp, to: Timestamp) -> Value {
    json!({
        "From": timestamp(from),
        "Until": timestamp(to),
        "PlansChanged": total.plans_changed,
        "JobsCreated": total.jobs_created,
        "JobsRun": total.jobs_run,
        "CopyJobsRun": total.copy_jobs_run,
        "LifecycleChanges": total.lifecycle_changes,
        "RestoreTestsRun": total.restore_tests_run,
        "KeysRotated": total.keys_rotated,
        "KeysDeleted": total.keys_deleted,
        "KeyAlarms": total.key_alarms,
        "AuditDigests": total.audit_digests,
    })
}

/// Lives through `[start, until]` on a simulated clock, a day at a time for the progress bar.
/// `svc` must run on `clock`.
pub async fn simulate(svc: BackupService, clock: &ManualClock, start: Timestamp, until: Timestamp) -> anyhow::Result<Value> {
    anyhow::ensure!(until > start, "--until {until} is not after the start {start}");
    let mut scheduler = Scheduler::new(svc, start);
    let days = u64::try_from((until - start).as_secs() / 86_400).unwrap_or(0) + 1;
    let bar = ProgressBar::with_draw_target(Some(days), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{prefix:>12} [{bar:30}] day {pos}/{len} {wide_msg}").expect("valid template").progress_chars("=> "));
    bar.set_prefix("simulating");
    let mut total = TickReport::default();
    let mut at = start;
    while at < until {
        let step = (at + SignedDuration::from_hours(24)).min(until);
        total.add(&scheduler.run_until(clock, step).await?);
        at = step;
        bar.inc(1);
        bar.set_message(format!("{at} · {} jobs run", total.jobs_run));
    }
    bar.finish_and_clear();
    tracing::info!(jobs = total.jobs_run, lifecycle = total.lifecycle_changes, "simulation over");
    Ok(summary(&total, start, until))
}

async fn stop_requested() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs on the system clock until `until` or a stop signal; returns what was done.
pub async fn daemon(svc: BackupService, args: &RunArgs) -> anyhow::Result<Value> {
    let start = Timestamp::now();
    let mut scheduler = Scheduler::new(svc, start);
    let mut total = TickReport::default();
    let stop = stop_requested();
    tokio::pin!(stop);
    tracing::info!(until = ?args.until, "scheduler started");
    loop {
        total.add(&scheduler.tick().await?);
        let now = Timestamp::now();
        if args.until.is_some_and(|u| now >= u) {
            break;
        }
        let mut wait = Duration::from_secs(args.poll_seconds.max(1));
        if let Some(next) = scheduler.next_event_after(now).await? {
            wait = wait.min(Duration::try_from(next - now).unwrap_or_default());
        }
        if let Some(u) = args.until {
            wait = wait.min(Duration::try_from(u - now).unwrap_or_default());
        }
        tokio::select! {
            () = &mut stop => {
                tracing::info!("stop requested: no new jobs start");
                break;
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    Ok(summary(&total, start, Timestamp::now()))
}
