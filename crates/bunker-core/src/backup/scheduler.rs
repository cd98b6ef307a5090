//! The scheduler: on each tick, every rule of every live plan that fired since the last
//! tick creates one backup job per selected resource; then ready jobs run, and recovery
//! points past their `DeleteAt` are deleted.
//!
//! **De-duplication.** A resource selected by several rules that fire at the same instant
//! (a daily and a monthly rule both at 05:00 on the 1st, or two plans selecting it) gets
//! one job, as AWS Backup does: the rule that keeps its recovery point longest wins
//! (no `DeleteAfterDays` = forever), ties going to the plan created first and then the rule
//! name. Jobs carry a `schedule_key` (resource + instant) that the catalog keeps unique, so a
//! tick repeated over the same interval, or two schedulers, create nothing twice.
//!
//! Time comes from the service's clock; [`Scheduler::run_until`] moves a manual clock from
//! event to event, so a test or `bunker run --fake-clock` lives through months in seconds.

use std::collections::{BTreeMap, HashMap};

use bunker_catalog::Resource;
use bunker_policy::plan::{BackupRule, BackupSelection};
use bunker_policy::schedule::Schedule;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::jobs::StartBackupJob;
use super::plans::{parse_stored_plan, parse_stored_selection};
use super::{BackupService, Result};
use crate::ManualClock;

/// One rule of one live plan, ready to evaluate.
#[derive(Debug, Clone)]
pub struct RuleView {
    /// Owner of the plan.
    pub account_id: String,
    /// Its Region.
    pub region: String,
    /// The plan.
    pub plan_id: String,
    /// Its current version.
    pub plan_version: String,
    /// When the plan was created (anchors `rate(...)`, and nothing fires before it).
    pub plan_created: Timestamp,
    /// The rule.
    pub rule: BackupRule,
    /// Its parsed schedule.
    pub schedule: Schedule,
    /// Its time zone.
    pub tz: TimeZone,
    /// The plan's selections.
    pub selections: Vec<BackupSelection>,
}

/// A job the scheduler wants.
#[derive(Debug, Clone)]
pub struct DueJob {
    /// The rule (index into the rules given).
    pub rule: usize,
    /// The resource's ARN.
    pub resource_arn: String,
    /// The resource's type.
    pub resource_type: String,
    /// When the rule fired.
    pub at: Timestamp,
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Policy-managed plans created, changed or removed.
    pub plans_changed: usize,
    /// Jobs created.
    pub jobs_created: usize,
    /// Jobs that ran (or expired).
    pub jobs_run: usize,
    /// Recovery points deleted by lifecycle.
    pub recovery_points_expired: usize,
}

impl TickReport {
    fn add(&mut self, o: &TickReport) {
        self.plans_changed += o.plans_changed;
        self.jobs_created += o.jobs_created;
        self.jobs_run += o.jobs_run;
        self.recovery_points_expired += o.recovery_points_expired;
    }
}

fn retention(rule: &BackupRule) -> i64 {
    rule.lifecycle.as_ref().and_then(|l| l.delete_after_days).unwrap_or(i64::MAX)
}

/// Every job due for firings in `(from, to]`, de-duplicated per resource and instant.
/// Pure: the benchmark and the tick share it.
pub fn due_jobs(rules: &[RuleView], resources: &[Resource], from: Timestamp, to: Timestamp) -> Vec<DueJob> {
    let mut by_place: HashMap<(&str, &str), Vec<&Resource>> = HashMap::new();
    for r in resources {
        by_place.entry((r.account_id.as_str(), r.region.as_str())).or_default().push(r);
    }
    let mut best: BTreeMap<(String, Timestamp), DueJob> = BTreeMap::new();
    for (i, rv) in rules.iter().enumerate() {
        let Some(candidates) = by_place.get(&(rv.account_id.as_str(), rv.region.as_str())) else { continue };
        let mut t = from.max(rv.plan_created);
        while let Some(at) = rv.schedule.next_after(t, &rv.tz, rv.plan_created) {
            if at > to {
                break;
            }
            t = at;
            for r in candidates {
                if !rv.selections.iter().any(|s| bunker_policy::selection::matches(s, &r.arn, &r.tags)) {
                    continue;
                }
                let key = (r.arn.clone(), at);
                let wins = match best.get(&key) {
                    None => true,
                    Some(cur) => {
                        let other = &rules[cur.rule];
                        (retention(&rv.rule), std::cmp::Reverse(rv.plan_created), std::cmp::Reverse(&rv.rule.rule_name))
                            > (retention(&other.rule), std::cmp::Reverse(other.plan_created), std::cmp::Reverse(&other.rule.rule_name))
                    }
                };
                if wins {
                    best.insert(key, DueJob { rule: i, resource_arn: r.arn.clone(), resource_type: r.resource_type.clone(), at });
                }
            }
        }
    }
    best.into_values().collect()
}

/// The scheduler over a service.
pub struct Scheduler {
    svc: BackupService,
    last: Timestamp,
}

impl Scheduler {
    /// A scheduler that considers firings after `since`.
    pub fn new(svc: BackupService, since: Timestamp) -> Self {
        Self { svc, last: since }
    }

    /// The rules of every live plan, with their selections.
    pub async fn rules(&self) -> Result<Vec<RuleView>> {
        let mut tx = self.svc.catalog.read().await?;
        let mut selections: HashMap<String, Vec<BackupSelection>> = HashMap::new();
        for s in tx.all_live_selections().await? {
            selections.entry(s.plan_id.clone()).or_default().push(parse_stored_selection(&s.document)?);
        }
        let mut out = Vec::new();
        for p in tx.plans(None, None, false).await? {
            let Some(v) = tx.plan_version(&p.id, &p.version_id).await? else { continue };
            let plan = parse_stored_plan(&v.document)?;
            for rule in plan.rules {
                let Ok(schedule) = Schedule::parse(&rule.schedule_expression) else {
                    tracing::warn!(plan = %p.id, rule = %rule.rule_name, "unparsable schedule skipped");
                    continue;
                };
                let tz = rule.schedule_expression_timezone.as_deref().and_then(|z| TimeZone::get(z).ok()).unwrap_or(TimeZone::UTC);
                out.push(RuleView {
                    account_id: p.account_id.clone(),
                    region: p.region.clone(),
                    plan_id: p.id.clone(),
                    plan_version: p.version_id.clone(),
                    plan_created: p.created_at,
                    rule,
                    schedule,
                    tz,
                    selections: selections.get(&p.id).cloned().unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// Creates the jobs for firings in `(last tick, now]`.
    pub async fn create_due_jobs(&mut self) -> Result<usize> {
        let now = self.svc.now();
        let rules = self.rules().await?;
        let resources = self.svc.catalog.read().await?.resources(None, None).await?;
        let due = due_jobs(&rules, &resources, self.last, now);
        let mut tx = self.svc.catalog.write().await?;
        let mut created = 0;
        for d in &due {
            let rv = &rules[d.rule];
            let req = StartBackupJob {
                account_id: rv.account_id.clone(),
                region: rv.region.clone(),
                backup_vault_name: rv.rule.target_backup_vault_name.clone(),
                resource_arn: d.resource_arn.clone(),
                iam_role_arn: rv.selections.first().map(|s| s.iam_role_arn.clone()).filter(|a| !a.is_empty()),
                start_window_minutes: Some(rv.rule.start_window_minutes),
                complete_window_minutes: Some(rv.rule.completion_window_minutes),
                lifecycle: rv.rule.lifecycle.clone(),
                recovery_point_tags: rv.rule.recovery_point_tags.clone(),
            };
            let mut job = self.svc.new_job(&req, &d.resource_type, d.at);
            job.plan_id = Some(rv.plan_id.clone());
            job.plan_version = Some(rv.plan_version.clone());
            job.rule_id = rv.rule.rule_id.clone();
            job.rule_name = Some(rv.rule.rule_name.clone());
            job.schedule_key = Some(format!("{}@{}", d.resource_arn, d.at.as_microsecond()));
            if tx.insert_backup_job(&job).await? {
                created += 1;
            }
        }
        tx.commit().await?;
        self.last = now;
        Ok(created)
    }

    /// One tick at the clock's now: policy plans refreshed, jobs created and run,
    /// lifecycle applied.
    pub async fn tick(&mut self) -> Result<TickReport> {
        let plans_changed = self.svc.sync_policy_plans().await?;
        let jobs_created = self.create_due_jobs().await?;
        let jobs_run = self.svc.run_ready_jobs().await?;
        let recovery_points_expired = self.svc.expire_recovery_points().await?;
        Ok(TickReport { plans_changed, jobs_created, jobs_run, recovery_points_expired })
    }

    /// The next instant after `after` when something is due: a rule fires or a recovery
    /// point reaches its `DeleteAt`.
    pub async fn next_event_after(&self, after: Timestamp) -> Result<Option<Timestamp>> {
        let rules = self.rules().await?;
        let mut next = rules.iter().filter_map(|r| r.schedule.next_after(after.max(r.plan_created), &r.tz, r.plan_created)).min();
        let mut tx = self.svc.catalog.read().await?;
        for v in tx.vaults(None, None).await? {
            // Newest first: a page is enough to find the earliest deletion in practice,
            // and a later tick catches anything beyond it.
            for rp in tx.recovery_points_by_vault(&v.arn, None, 1000).await? {
                if let Some(d) = rp.delete_at.filter(|d| *d > after) {
                    next = Some(next.map_or(d, |n| n.min(d)));
                }
            }
        }
        Ok(next)
    }

    /// Moves `clock` from event to event until `until`, ticking at each: months of
    /// schedules in seconds. Jobs run for real; only the clock is simulated.
    pub async fn run_until(&mut self, clock: &ManualClock, until: Timestamp) -> Result<TickReport> {
        let mut total = TickReport::default();
        total.add(&self.tick().await?);
        while let Some(next) = self.next_event_after(self.svc.now()).await? {
            if next > until {
                break;
            }
            clock.set(next);
            total.add(&self.tick().await?);
        }
        if self.svc.now() < until {
            clock.set(until);
            total.add(&self.tick().await?);
        }
        Ok(total)
    }
}
