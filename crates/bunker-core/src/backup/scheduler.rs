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

use std::collections::HashMap;

use bunker_catalog::{Resource, Tags, Tx};
use bunker_policy::plan::{BackupRule, BackupSelection, ConditionParameter};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueJob {
    /// The rule (index into the rules given).
    pub rule: usize,
    /// The resource (index into the resources given).
    pub resource: usize,
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
    /// Copy jobs that ran.
    pub copy_jobs_run: usize,
    /// Recovery points moved to cold storage or deleted by lifecycle.
    pub lifecycle_changes: usize,
    /// Restore tests that ran.
    pub restore_tests_run: usize,
    /// Keys given a new version (yearly rotation).
    pub keys_rotated: usize,
    /// Keys deleted at the end of their waiting period.
    pub keys_deleted: usize,
    /// Vaults whose key is pending deletion (an alarm each, every pass).
    pub key_alarms: usize,
    /// Signed digests added to the audit trail.
    pub audit_digests: usize,
}

impl TickReport {
    /// Adds another report's counts to this one.
    pub fn add(&mut self, o: &TickReport) {
        self.plans_changed += o.plans_changed;
        self.jobs_created += o.jobs_created;
        self.jobs_run += o.jobs_run;
        self.keys_rotated += o.keys_rotated;
        self.keys_deleted += o.keys_deleted;
        self.key_alarms += o.key_alarms;
        self.audit_digests += o.audit_digests;
        self.copy_jobs_run += o.copy_jobs_run;
        self.lifecycle_changes += o.lifecycle_changes;
        self.restore_tests_run += o.restore_tests_run;
    }
}

fn retention(rule: &BackupRule) -> i64 {
    rule.lifecycle.as_ref().and_then(|l| l.delete_after_days).unwrap_or(i64::MAX)
}

/// Whether `a` wins over `b` for the same resource and instant: longer retention, then the
/// plan created first, then the rule name.
fn beats(a: &RuleView, b: &RuleView) -> bool {
    (retention(&a.rule), std::cmp::Reverse(a.plan_created), std::cmp::Reverse(&a.rule.rule_name))
        > (retention(&b.rule), std::cmp::Reverse(b.plan_created), std::cmp::Reverse(&b.rule.rule_name))
}

/// A `*` / `?` pattern ready to match many texts: [`bunker_policy::selection::like`]
/// behind a check of its literal runs.
struct Pattern<'a> {
    pattern: &'a str,
    /// Its literal runs: a text lacking one cannot match, which most texts show at once.
    literals: Vec<&'a str>,
}

impl<'a> Pattern<'a> {
    fn new(pattern: &'a str) -> Self {
        Self { pattern, literals: pattern.split(['*', '?']).filter(|l| !l.is_empty()).collect() }
    }

    fn matches(&self, text: &str) -> bool {
        if !self.literals.iter().all(|l| text.contains(l)) {
            return false;
        }
        bunker_policy::selection::like(self.pattern, text)
    }
}

/// A condition on `aws:ResourceTag/<key>` (`None`: another key, which no tag satisfies).
struct TagTest<'a> {
    key: Option<&'a str>,
    value: &'a str,
    pattern: Pattern<'a>,
}

impl<'a> TagTest<'a> {
    fn new(p: &'a ConditionParameter) -> Self {
        Self {
            key: p.condition_key.strip_prefix("aws:ResourceTag/"),
            value: &p.condition_value,
            pattern: Pattern::new(&p.condition_value),
        }
    }

    fn tag<'t>(&self, tags: &'t Tags) -> Option<&'t String> {
        self.key.and_then(|k| tags.get(k))
    }
}

/// A selection compiled once per tick: the rules of [`bunker_policy::selection::matches`]
/// (candidates by `Resources` or `ListOfTags`, every condition, `NotResources` last), with
/// keys stripped and patterns prepared once instead of per resource. The tests below check
/// that both always agree.
struct CompiledSelection<'a> {
    resources: Vec<Pattern<'a>>,
    list_of_tags: Vec<(&'a str, &'a str)>,
    equals: Vec<TagTest<'a>>,
    not_equals: Vec<TagTest<'a>>,
    like: Vec<TagTest<'a>>,
    not_like: Vec<TagTest<'a>>,
    not_resources: Vec<Pattern<'a>>,
}

impl<'a> CompiledSelection<'a> {
    fn new(s: &'a BackupSelection) -> Self {
        let c = &s.conditions;
        Self {
            resources: s.resources.iter().map(|p| Pattern::new(p)).collect(),
            list_of_tags: s
                .list_of_tags
                .iter()
                .map(|t| (t.condition_key.strip_prefix("aws:ResourceTag/").unwrap_or(&t.condition_key), t.condition_value.as_str()))
                .collect(),
            equals: c.string_equals.iter().map(TagTest::new).collect(),
            not_equals: c.string_not_equals.iter().map(TagTest::new).collect(),
            like: c.string_like.iter().map(TagTest::new).collect(),
            not_like: c.string_not_like.iter().map(TagTest::new).collect(),
            not_resources: s.not_resources.iter().map(|p| Pattern::new(p)).collect(),
        }
    }

    fn matches(&self, arn: &str, tags: &Tags) -> bool {
        let unrestricted = self.resources.is_empty() && self.list_of_tags.is_empty();
        let candidate = unrestricted
            || self.list_of_tags.iter().any(|(k, v)| tags.get(*k).is_some_and(|t| t == v))
            || self.resources.iter().any(|p| p.matches(arn));
        candidate
            && self.equals.iter().all(|c| c.tag(tags).is_some_and(|v| v == c.value))
            && self.not_equals.iter().all(|c| c.tag(tags).is_none_or(|v| v != c.value))
            && self.like.iter().all(|c| c.tag(tags).is_some_and(|v| c.pattern.matches(v)))
            && self.not_like.iter().all(|c| c.tag(tags).is_none_or(|v| !c.pattern.matches(v)))
            && !self.not_resources.iter().any(|p| p.matches(arn))
    }
}

/// Every job due for firings in `(from, to]`, de-duplicated per resource and instant,
/// ordered by resource (in the order given; the catalog gives them by ARN) then instant.
/// `resources` are distinct, as the catalog's are. Pure: the benchmark and the tick share it.
///
/// The work follows what fires: a plan's selections are matched against the resources of
/// its account and Region once per call, compiled, and only when one of its rules fires
/// (its rules share them); the winner of each resource is then kept in an array per
/// instant, so nothing is hashed or cloned per candidate.
pub fn due_jobs(rules: &[RuleView], resources: &[Resource], from: Timestamp, to: Timestamp) -> Vec<DueJob> {
    // Every firing in the interval, by instant, rules in their given order within one
    // (the order ties are decided in).
    let mut firings: Vec<(Timestamp, usize)> = Vec::new();
    for (i, rv) in rules.iter().enumerate() {
        let mut t = from.max(rv.plan_created);
        while let Some(at) = rv.schedule.next_after(t, &rv.tz, rv.plan_created) {
            if at > to {
                break;
            }
            firings.push((at, i));
            t = at;
        }
    }
    if firings.is_empty() {
        return Vec::new();
    }
    firings.sort_unstable();

    // The resources of each account and Region. They come grouped (their ARNs start with
    // Region and account, and the catalog sorts by ARN): hash once per group.
    let mut places: HashMap<(&str, &str), usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut last: Option<((&str, &str), usize)> = None;
    for (r, res) in resources.iter().enumerate() {
        let place = (res.account_id.as_str(), res.region.as_str());
        let g = match last {
            Some((p, g)) if p == place => g,
            _ => *places.entry(place).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            }),
        };
        groups[g].push(r);
        last = Some((place, g));
    }

    // What each firing rule selects: one set per plan (its rules share selections), filled
    // below.
    let mut set_of = vec![NONE; rules.len()];
    let mut selections: Vec<(usize, Vec<CompiledSelection<'_>>)> = Vec::new();
    let mut by_plan: HashMap<&str, Vec<usize>> = HashMap::new();
    for &(_, i) in &firings {
        if set_of[i] != NONE {
            continue;
        }
        let rv = &rules[i];
        let same_plan = by_plan.entry(rv.plan_id.as_str()).or_default();
        let known = same_plan.iter().copied().find(|&j| {
            let o = &rules[j];
            o.account_id == rv.account_id && o.region == rv.region && o.selections == rv.selections
        });
        set_of[i] = match known {
            Some(j) => set_of[j],
            None => {
                // NONE: no resource in its account and Region, so it selects nothing.
                let g = places.get(&(rv.account_id.as_str(), rv.region.as_str())).copied().unwrap_or(NONE);
                selections.push((g, rv.selections.iter().map(CompiledSelection::new).collect()));
                same_plan.push(i);
                selections.len() - 1
            }
        };
    }
    // Resource by resource, every set of its account and Region: its ARN and tags are read
    // from memory once, not once per plan.
    let mut sets: Vec<Vec<usize>> = vec![Vec::new(); selections.len()];
    let mut in_group: HashMap<usize, Vec<usize>> = HashMap::new();
    for (k, (g, _)) in selections.iter().enumerate() {
        if *g != NONE {
            in_group.entry(*g).or_default().push(k);
        }
    }
    for (g, ks) in &in_group {
        for &r in &groups[*g] {
            let res = &resources[r];
            for &k in ks {
                if selections[k].1.iter().any(|c| c.matches(&res.arn, &res.tags)) {
                    sets[k].push(r);
                }
            }
        }
    }

    // Instant by instant, the winning rule of each selected resource.
    let mut win = vec![NONE; resources.len()];
    let mut touched = Vec::new();
    let mut due = Vec::new();
    for same_instant in firings.chunk_by(|a, b| a.0 == b.0) {
        for &(_, i) in same_instant {
            for &r in &sets[set_of[i]] {
                let cur = &mut win[r];
                if *cur == NONE {
                    *cur = i;
                    touched.push(r);
                } else if beats(&rules[i], &rules[*cur]) {
                    *cur = i;
                }
            }
        }
        let at = same_instant[0].0;
        for r in touched.drain(..) {
            due.push(DueJob { rule: win[r], resource: r, at });
            win[r] = NONE;
        }
    }
    due.sort_unstable_by_key(|d| (d.resource, d.at));
    due
}

/// No rule / no set, in the index arrays of [`due_jobs`].
const NONE: usize = usize::MAX;

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
        Self::rules_in(&mut self.svc.catalog.read().await?).await
    }

    async fn rules_in(tx: &mut Tx) -> Result<Vec<RuleView>> {
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

    /// What a tick evaluates for firings in `(from, to]`, read in one transaction: the rules
    /// of every live plan and, when one of them fires, every registered resource. Most ticks
    /// fire nothing, and then read no resource.
    pub async fn load(&self, from: Timestamp, to: Timestamp) -> Result<(Vec<RuleView>, Vec<Resource>)> {
        let mut tx = self.svc.catalog.read().await?;
        let rules = Self::rules_in(&mut tx).await?;
        let fires = rules.iter().any(|r| r.schedule.next_after(from.max(r.plan_created), &r.tz, r.plan_created).is_some_and(|at| at <= to));
        let resources = if fires { tx.resources(None, None).await? } else { Vec::new() };
        Ok((rules, resources))
    }

    /// The jobs due for firings in `(from, to]` ([`due_jobs`]; here so that callers outside
    /// the service, such as the benchmark, can reach it).
    pub fn due_jobs(rules: &[RuleView], resources: &[Resource], from: Timestamp, to: Timestamp) -> Vec<DueJob> {
        due_jobs(rules, resources, from, to)
    }

    /// Creates the jobs for firings in `(last tick, now]`.
    pub async fn create_due_jobs(&mut self) -> Result<usize> {
        let now = self.svc.now();
        let (rules, resources) = self.load(self.last, now).await?;
        let due = due_jobs(&rules, &resources, self.last, now);
        let mut tx = self.svc.catalog.write().await?;
        let mut created = 0;
        for d in &due {
            let rv = &rules[d.rule];
            let resource = &resources[d.resource];
            let req = StartBackupJob {
                account_id: rv.account_id.clone(),
                region: rv.region.clone(),
                backup_vault_name: rv.rule.target_backup_vault_name.clone(),
                resource_arn: resource.arn.clone(),
                iam_role_arn: rv.selections.first().map(|s| s.iam_role_arn.clone()).filter(|a| !a.is_empty()),
                start_window_minutes: Some(rv.rule.start_window_minutes),
                complete_window_minutes: Some(rv.rule.completion_window_minutes),
                lifecycle: rv.rule.lifecycle.clone(),
                recovery_point_tags: rv.rule.recovery_point_tags.clone(),
            };
            let mut job = self.svc.new_job(&req, &resource.resource_type, d.at);
            job.plan_id = Some(rv.plan_id.clone());
            job.plan_version = Some(rv.plan_version.clone());
            job.rule_id = rv.rule.rule_id.clone();
            job.rule_name = Some(rv.rule.rule_name.clone());
            job.schedule_key = Some(format!("{}@{}", resource.arn, d.at.as_microsecond()));
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
        // Copies follow the backups that made them, before lifecycle can touch the source.
        let copy_jobs_run = self.svc.run_copy_jobs().await?;
        let lifecycle_changes = self.svc.apply_lifecycle().await?;
        let restore_tests_run = self.svc.run_restore_tests().await?;
        // Keys and the audit trail must not stop backups: a failure here is logged and
        // retried next pass.
        let security = self.svc.security_pass().await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "key service / audit digest pass failed");
            Default::default()
        });
        Ok(TickReport {
            plans_changed,
            jobs_created,
            jobs_run,
            copy_jobs_run,
            lifecycle_changes,
            restore_tests_run,
            keys_rotated: security.keys_rotated,
            keys_deleted: security.keys_deleted,
            key_alarms: security.key_alarms,
            audit_digests: security.digests_written,
        })
    }

    /// The next instant after `after` when something is due: a rule fires, a recovery
    /// point reaches a lifecycle step, or a restore testing plan fires.
    pub async fn next_event_after(&self, after: Timestamp) -> Result<Option<Timestamp>> {
        let mut tx = self.svc.catalog.read().await?;
        let rules = Self::rules_in(&mut tx).await?;
        let next_rule = rules.iter().filter_map(|r| r.schedule.next_after(after.max(r.plan_created), &r.tz, r.plan_created)).min();
        // Every recovery point counts, however many there are (one indexed query).
        let next_deletion = tx.next_delete_at_after(after).await?;
        drop(tx);
        let next_lifecycle = self.svc.next_lifecycle_event(after).await?;
        let next_restore_test = self.svc.next_restore_test_event(after).await?;
        let next_key = self.svc.next_key_event(after).await?;
        Ok(next_rule.into_iter().chain(next_deletion).chain(next_lifecycle).chain(next_restore_test).chain(next_key).min())
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bunker_policy::plan_input::{parse_backup_plan, parse_backup_selection};

    use super::*;

    fn selection(body: &str) -> BackupSelection {
        parse_backup_selection(&format!(r#"{{"SelectionName":"s","IamRoleArn":"arn:aws:iam::1:role/r"{body}}}"#)).unwrap()
    }

    /// Selections of every kind, with the corner cases of the matching rules.
    fn selections() -> Vec<BackupSelection> {
        [
            "",
            r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}]"#,
            r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"aws:ResourceTag/tier","ConditionValue":"gold"},
                              {"ConditionType":"STRINGEQUALS","ConditionKey":"env","ConditionValue":"prüf"}]"#,
            r#","Resources":["arn:aws:bunker:*:*:sqlite/*","*:bucket/critical-*"],"NotResources":["*:sqlite/scratch-*"],
               "Conditions":{"StringEquals":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"prod"}]}"#,
            r#","Resources":["*"],"Conditions":{"StringNotLike":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"test*"}],
               "StringNotEquals":[{"ConditionKey":"aws:ResourceTag/tier","ConditionValue":"bronze"}]}"#,
            r#","Resources":["arn:aws:bunker:eu-west-1:11111111111?:directory/d??ta-*"]"#,
            r#","Resources":["*données*","*:image/vm-?"]"#,
            r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"}],
               "Conditions":{"StringLike":[{"ConditionKey":"aws:ResourceTag/team","ConditionValue":"t?am-*"}],
                             "StringEquals":[{"ConditionKey":"aws:ResourceTag/team","ConditionValue":"team-1"}]}"#,
            r#","NotResources":["*"]"#,
            r#","Conditions":{"StringLike":[{"ConditionKey":"aws:ResourceTag/owner","ConditionValue":"*é*"}]}"#,
        ]
        .iter()
        .map(|b| selection(b))
        .chain({
            // A condition key without the prefix (refused on input, possible in a stored
            // document): no tag satisfies it.
            let mut s = selection(r#","Conditions":{"StringNotEquals":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"prod"}]}"#);
            s.conditions.string_not_equals[0].condition_key = "env".into();
            let mut t = s.clone();
            t.conditions.string_equals = t.conditions.string_not_equals.split_off(0);
            [s, t]
        })
        .collect()
    }

    fn resource(account: &str, region: &str, i: usize) -> Resource {
        let (word, name) = match i % 7 {
            0 => ("sqlite", format!("orders-{i}")),
            1 => ("sqlite", format!("scratch-{i}")),
            2 => ("directory", format!("data-{i}")),
            3 => ("directory", format!("données-{i}")),
            4 => ("bucket", format!("critical-{i}")),
            5 => ("image", format!("vm-{}", i % 10)),
            _ => ("postgresql", format!("app-{i}")),
        };
        let mut tags = Tags::new();
        if !i.is_multiple_of(3) {
            tags.insert("backup".into(), if i % 3 == 1 { "daily" } else { "weekly" }.into());
        }
        tags.insert("env".into(), ["prod", "test-1", "prüf", "staging"][i % 4].into());
        if !i.is_multiple_of(5) {
            tags.insert("tier".into(), ["gold", "silver", "bronze", "gold"][i % 4].into());
        }
        tags.insert("team".into(), format!("team-{}", i % 3));
        if i.is_multiple_of(4) {
            tags.insert("owner".into(), ["rené", "ann"][i % 2].into());
        }
        Resource {
            arn: format!("arn:aws:bunker:{region}:{account}:{word}/{name}"),
            account_id: account.into(),
            region: region.into(),
            resource_type: word.into(),
            name,
            location: "{}".into(),
            tags,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn resources() -> Vec<Resource> {
        let mut out = Vec::new();
        for account in ["111111111111", "222222222222"] {
            for region in ["eu-west-1", "us-east-1"] {
                out.extend((0..40).map(|i| resource(account, region, i)));
            }
        }
        out.sort_by(|a, b| a.arn.cmp(&b.arn));
        out
    }

    #[test]
    fn compiled_selections_agree_with_the_policy_crate() {
        let resources = resources();
        for s in selections() {
            let compiled = CompiledSelection::new(&s);
            for r in &resources {
                assert_eq!(compiled.matches(&r.arn, &r.tags), bunker_policy::selection::matches(&s, &r.arn, &r.tags), "{s:?} on {}", r.arn);
            }
        }
        for (p, t) in [
            ("a*b?c", "aXXbYc"),
            ("a*b?c", "abc"),
            ("*", ""),
            ("?", "é"),
            ("?", "ab"),
            ("a**", "a"),
            ("*x*y", "yx"),
            ("ab*ba", "aba"),
            ("ab*ba", "abba"),
            ("a*a*a", "aaa"),
            ("a*a*a", "aa"),
            ("*ab*ab*", "xabyab"),
            ("*é*", "ré"),
            ("r?né", "rené"),
            ("exact", "exact"),
            ("exact", "exactly"),
            ("", ""),
            ("", "x"),
        ] {
            assert_eq!(Pattern::new(p).matches(t), bunker_policy::selection::like(p, t), "{p} on {t}");
        }
    }

    /// Plans of two accounts and Regions, two created at the same instant with the same
    /// rule names (ties decided by the order given).
    fn rules() -> Vec<RuleView> {
        let sels = selections();
        let plans = [
            (r#"[{"RuleName":"daily","TargetBackupVaultName":"Vault","ScheduleExpression":"cron(0 5 ? * * *)","Lifecycle":{"DeleteAfterDays":35}},
                 {"RuleName":"monthly","TargetBackupVaultName":"Vault","ScheduleExpression":"cron(0 5 1 * ? *)","Lifecycle":{"DeleteAfterDays":366}}]"#,
             vec![1]),
            (r#"[{"RuleName":"hourly","TargetBackupVaultName":"Vault","ScheduleExpression":"cron(0 * ? * * *)","Lifecycle":{"DeleteAfterDays":35}}]"#, vec![3, 5]),
            (r#"[{"RuleName":"daily","TargetBackupVaultName":"Vault","ScheduleExpression":"cron(0 5 ? * * *)","Lifecycle":{"DeleteAfterDays":35}}]"#, vec![2, 6]),
            (r#"[{"RuleName":"forever","TargetBackupVaultName":"Vault","ScheduleExpression":"cron(0 6 ? * SUN *)","ScheduleExpressionTimezone":"Europe/Paris"}]"#, vec![4, 9]),
            (r#"[{"RuleName":"rate","TargetBackupVaultName":"Vault","ScheduleExpression":"rate(12 hours)","Lifecycle":{"DeleteAfterDays":7}}]"#, vec![0, 7, 8]),
        ];
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut out = Vec::new();
        for account in ["111111111111", "222222222222", "333333333333"] {
            for region in ["eu-west-1", "us-east-1"] {
                for (n, (rules, picked)) in plans.iter().enumerate() {
                    let plan = parse_backup_plan(&format!(r#"{{"BackupPlanName":"p{n}","Rules":{rules}}}"#)).unwrap();
                    // Plans 0 and 2 share a creation instant; plan 4 starts mid-January.
                    let created = t0 + jiff::SignedDuration::from_hours([0, 1, 0, 2, 24 * 14 + 7][n]);
                    for rule in plan.rules {
                        out.push(RuleView {
                            account_id: account.into(),
                            region: region.into(),
                            plan_id: format!("{account}-{region}-{n}"),
                            plan_version: "v".into(),
                            plan_created: created,
                            schedule: Schedule::parse(&rule.schedule_expression).unwrap(),
                            tz: rule.schedule_expression_timezone.as_deref().map_or(TimeZone::UTC, |z| TimeZone::get(z).unwrap()),
                            rule,
                            selections: picked.iter().map(|&k| sels[k].clone()).collect(),
                        });
                    }
                }
            }
        }
        out
    }

    /// The plain evaluation: every rule, every firing, every candidate, keyed by ARN.
    fn reference(rules: &[RuleView], resources: &[Resource], from: Timestamp, to: Timestamp) -> Vec<(String, Timestamp, usize)> {
        let mut best: BTreeMap<(String, Timestamp), usize> = BTreeMap::new();
        for (i, rv) in rules.iter().enumerate() {
            let mut t = from.max(rv.plan_created);
            while let Some(at) = rv.schedule.next_after(t, &rv.tz, rv.plan_created) {
                if at > to {
                    break;
                }
                t = at;
                for r in resources.iter().filter(|r| r.account_id == rv.account_id && r.region == rv.region) {
                    if !rv.selections.iter().any(|s| bunker_policy::selection::matches(s, &r.arn, &r.tags)) {
                        continue;
                    }
                    let cur = best.entry((r.arn.clone(), at)).or_insert(i);
                    if beats(rv, &rules[*cur]) {
                        *cur = i;
                    }
                }
            }
        }
        best.into_iter().map(|((arn, at), i)| (arn, at, i)).collect()
    }

    #[test]
    fn due_jobs_agree_with_the_plain_evaluation() {
        let (rules, resources) = (rules(), resources());
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let mut counts = Vec::new();
        for (from, to) in [
            // The 1st, a Sunday: daily, monthly, hourly, weekly at once.
            ("2026-02-01T04:59:00Z", "2026-02-01T05:00:00Z"),
            ("2026-02-01T04:00:00Z", "2026-02-01T05:00:00Z"),
            // A whole week: every hour, rate rules starting mid-way.
            ("2026-01-10T00:00:00Z", "2026-01-17T00:00:00Z"),
            // Before any plan existed, and nothing firing.
            ("2025-12-01T00:00:00Z", "2026-01-01T00:30:00Z"),
            ("2026-02-02T05:00:00Z", "2026-02-02T05:30:00Z"),
        ] {
            let (from, to) = (at(from), at(to));
            let got: Vec<_> = due_jobs(&rules, &resources, from, to).into_iter().map(|d| (resources[d.resource].arn.clone(), d.at, d.rule)).collect();
            let want = reference(&rules, &resources, from, to);
            assert_eq!(got, want, "({from}, {to}]");
            counts.push(want.len());
        }
        assert!(counts[..3].iter().all(|&n| n > 0) && counts[3..] == [0, 0], "{counts:?}");
        // The first interval really exercises de-duplication and ties.
        let due = due_jobs(&rules, &resources, at("2026-02-01T04:59:00Z"), at("2026-02-01T05:00:00Z"));
        let names: std::collections::BTreeSet<_> = due.iter().map(|d| rules[d.rule].rule.rule_name.as_str()).collect();
        assert!(names.len() >= 3, "{names:?}");
    }
}
