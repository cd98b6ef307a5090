//! Restore testing: plans that regularly restore recent recovery points into scratch
//! locations, validate the data, record the result and clean up (AWS Backup's restore
//! testing: `CreateRestoreTestingPlan`, `CreateRestoreTestingSelection`,
//! `PutRestoreValidationResult`, …).
//!
//! Each firing of a plan, for every protected resource a selection matches: a recovery
//! point is picked (`LATEST_WITHIN_WINDOW` or `RANDOM_WITHIN_WINDOW`), restored into a
//! scratch location (`<data>/restore-tests/<job id>/` for files, a database
//! `bunker_rt_<id>` on the same PostgreSQL server, a `bunker-restore-tests/<job id>/`
//! prefix of the same bucket), validated against the recovery point itself, and deleted.
//! The scratch copy is never registered as a resource, so nothing is left to unregister.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bunker_catalog::{
    CatalogError, RecoveryPointRow, Resource, RestoreJobRow, RestoreTestingJobRow, RestoreTestingPlanRow,
    RestoreTestingSelectionRow, Tags,
};
use bunker_connectors::validate::{Expected, delete_prefix, drop_database, validate_bucket, validate_postgres, validate_sqlite, validate_tree, with_database};
use bunker_connectors::{ResourceType, Source};
use bunker_policy::schedule::Schedule;
use bunker_vault::{NoProgress, SnapshotId};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::connection_secrets::redacted_json;
use super::{BackupError, BackupService, RestoreJob, Result, default_role_arn, job_id, resource_arn};

/// `RecoveryPointSelection` of a restore testing plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RecoveryPointSelection {
    /// `LATEST_WITHIN_WINDOW` or `RANDOM_WITHIN_WINDOW`.
    pub algorithm: String,
    /// Vault ARNs, or `["*"]`.
    pub include_vaults: Vec<String>,
    /// Vault ARNs never to pick from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_vaults: Vec<String>,
    /// `SNAPSHOT` and/or `CONTINUOUS` (Bunker makes snapshots only).
    pub recovery_point_types: Vec<String>,
    /// How far back to look, 1 to 365 days (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_window_days: Option<i64>,
}

/// `RestoreTestingPlanForCreate` / `RestoreTestingPlanForUpdate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RestoreTestingPlanInput {
    /// `RestoreTestingPlanName` (create only).
    pub restore_testing_plan_name: Option<String>,
    /// `ScheduleExpression`: `cron(...)` or `rate(...)`.
    pub schedule_expression: Option<String>,
    /// `ScheduleExpressionTimezone` (IANA name, default UTC).
    pub schedule_expression_timezone: Option<String>,
    /// `StartWindowHours`, 1 to 168 (default 24).
    pub start_window_hours: Option<i64>,
    /// `RecoveryPointSelection`.
    pub recovery_point_selection: Option<RecoveryPointSelection>,
}

/// `GetRestoreTestingPlan` output / list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTestingPlan {
    /// `CreationTime`.
    pub creation_time: Timestamp,
    /// `CreatorRequestId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    /// `LastExecutionTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_execution_time: Option<Timestamp>,
    /// `LastUpdateTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Timestamp>,
    /// `RecoveryPointSelection`.
    pub recovery_point_selection: RecoveryPointSelection,
    /// `RestoreTestingPlanArn`.
    pub restore_testing_plan_arn: String,
    /// `RestoreTestingPlanName`.
    pub restore_testing_plan_name: String,
    /// `ScheduleExpression`.
    pub schedule_expression: String,
    /// `ScheduleExpressionTimezone`.
    pub schedule_expression_timezone: String,
    /// `StartWindowHours`.
    pub start_window_hours: i64,
}

/// One `KeyValue` of `ProtectedResourceConditions`: `Key` is `aws:ResourceTag/NAME` (a
/// bare tag name is accepted too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyValue {
    /// `Key`.
    pub key: String,
    /// `Value`.
    pub value: String,
}

/// `ProtectedResourceConditions`: every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProtectedResourceConditions {
    /// `StringEquals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_equals: Vec<KeyValue>,
    /// `StringNotEquals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_not_equals: Vec<KeyValue>,
}

/// Bunker extension (no AWS counterpart): a query run against a restored SQLite or
/// PostgreSQL database; the first column of its first row, as text, must equal
/// `ExpectedResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ValidationQuery {
    /// `Query`: SQL, run on the scratch copy only.
    pub query: String,
    /// `ExpectedResult`.
    pub expected_result: String,
}

/// `RestoreTestingSelectionForCreate` / `RestoreTestingSelectionForUpdate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RestoreTestingSelectionInput {
    /// `RestoreTestingSelectionName` (create only).
    pub restore_testing_selection_name: Option<String>,
    /// `ProtectedResourceType` (create only): `Directory`, `SQLite`, `PostgreSQL`,
    /// `DiskImage` or `S3`.
    pub protected_resource_type: Option<String>,
    /// `IamRoleArn` (recorded on the restore jobs).
    pub iam_role_arn: Option<String>,
    /// `ProtectedResourceArns`: resource ARNs, or `["*"]` (the default without conditions).
    pub protected_resource_arns: Option<Vec<String>>,
    /// `ProtectedResourceConditions`.
    pub protected_resource_conditions: Option<ProtectedResourceConditions>,
    /// `RestoreMetadataOverrides`: restore metadata keys; the scratch location is Bunker's
    /// (`Path`, `Url`, `Prefix` and `Location` are refused).
    pub restore_metadata_overrides: Option<BTreeMap<String, String>>,
    /// `ValidationWindowHours`, 0 to 168: a validation taking longer is `TIMED_OUT`.
    pub validation_window_hours: Option<i64>,
    /// Bunker extension: see [`ValidationQuery`].
    pub validation_query: Option<ValidationQuery>,
}

/// What a selection row's `document` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SelectionDocument {
    #[serde(default)]
    protected_resource_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protected_resource_conditions: Option<ProtectedResourceConditions>,
    #[serde(default)]
    restore_metadata_overrides: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    validation_query: Option<ValidationQuery>,
}

/// `GetRestoreTestingSelection` output / list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTestingSelection {
    /// `CreationTime`.
    pub creation_time: Timestamp,
    /// `CreatorRequestId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
    /// `ProtectedResourceArns`.
    pub protected_resource_arns: Vec<String>,
    /// `ProtectedResourceConditions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected_resource_conditions: Option<ProtectedResourceConditions>,
    /// `ProtectedResourceType`.
    pub protected_resource_type: String,
    /// `RestoreMetadataOverrides`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub restore_metadata_overrides: BTreeMap<String, String>,
    /// `RestoreTestingPlanName`.
    pub restore_testing_plan_name: String,
    /// `RestoreTestingSelectionName`.
    pub restore_testing_selection_name: String,
    /// `UpdateTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time: Option<Timestamp>,
    /// `ValidationWindowHours`.
    pub validation_window_hours: i64,
    /// Bunker extension: see [`ValidationQuery`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_query: Option<ValidationQuery>,
}

/// `RestoreJobCreator`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreJobCreator {
    /// `RestoreTestingPlanArn`.
    pub restore_testing_plan_arn: String,
}

/// A restore job started by a restore testing plan, with its test's outcome
/// (`ListRestoreJobsByRestoreTestingPlan` entry, as `DescribeRestoreJob` shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTestingJob {
    /// The restore job's own fields.
    #[serde(flatten)]
    pub job: RestoreJob,
    /// `CreatedBy`.
    pub created_by: RestoreJobCreator,
    /// `SourceResourceArn`: the protected resource tested.
    pub source_resource_arn: String,
    /// `ValidationStatus`: `SUCCESSFUL`, `FAILED`, `TIMED_OUT` or `VALIDATING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_status: Option<String>,
    /// `ValidationStatusMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_status_message: Option<String>,
    /// `DeletionStatus`: `DELETING`, `SUCCESSFUL` or `FAILED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_status: Option<String>,
    /// `DeletionStatusMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_status_message: Option<String>,
    /// Bunker extension: how long the restore itself took (real time), milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_duration_millis: Option<i64>,
}

/// Restore times of one resource type (Bunker extension).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreDurations {
    /// Restores measured.
    pub count: i64,
    /// Mean, milliseconds.
    pub average_millis: i64,
    /// Longest, milliseconds.
    pub max_millis: i64,
}

const ALGORITHMS: [&str; 2] = ["LATEST_WITHIN_WINDOW", "RANDOM_WITHIN_WINDOW"];
const VALIDATION_STATUSES: [&str; 4] = ["SUCCESSFUL", "FAILED", "TIMED_OUT", "VALIDATING"];
/// Metadata keys that would move the scratch copy somewhere Bunker does not clean up.
const LOCATION_KEYS: [&str; 4] = ["Path", "Url", "Prefix", "Location"];

fn bad(m: impl Into<String>) -> BackupError {
    BackupError::InvalidParameterValue(m.into())
}

/// AWS: 1 to 50 letters, digits and underscores, starting with a letter.
fn check_name(field: &str, name: &str) -> Result<()> {
    let ok = (1..=50).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok { Ok(()) } else { Err(bad(format!("{field} {name:?} must be 1 to 50 letters, digits or underscores, starting with a letter"))) }
}

fn check_range(field: &str, v: i64, lo: i64, hi: i64) -> Result<i64> {
    if (lo..=hi).contains(&v) { Ok(v) } else { Err(bad(format!("{field} must be {lo} to {hi}, got {v}"))) }
}

fn parse_schedule(expr: &str, tz: &str) -> Result<(Schedule, TimeZone)> {
    let schedule = Schedule::parse(expr).map_err(|e| bad(format!("ScheduleExpression: {}", e.message())))?;
    let zone = TimeZone::get(tz).map_err(|e| bad(format!("ScheduleExpressionTimezone {tz:?}: {e}")))?;
    Ok((schedule, zone))
}

fn check_selection(s: &RecoveryPointSelection) -> Result<()> {
    if !ALGORITHMS.contains(&s.algorithm.as_str()) {
        return Err(bad(format!("RecoveryPointSelection.Algorithm must be one of {ALGORITHMS:?}, got {:?}", s.algorithm)));
    }
    if s.include_vaults.is_empty() {
        return Err(bad("RecoveryPointSelection.IncludeVaults needs at least one vault ARN (or \"*\")"));
    }
    for arn in s.include_vaults.iter().chain(&s.exclude_vaults) {
        if arn != "*" && !arn.starts_with("arn:aws:backup:") {
            return Err(bad(format!("RecoveryPointSelection: {arn:?} is not a backup vault ARN")));
        }
    }
    if s.recovery_point_types.is_empty() || s.recovery_point_types.iter().any(|t| t != "SNAPSHOT" && t != "CONTINUOUS") {
        return Err(bad("RecoveryPointSelection.RecoveryPointTypes must hold SNAPSHOT and/or CONTINUOUS"));
    }
    if let Some(d) = s.selection_window_days {
        check_range("RecoveryPointSelection.SelectionWindowDays", d, 1, 365)?;
    }
    Ok(())
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, document: &str) -> Result<T> {
    serde_json::from_str(document).map_err(|e| bad(format!("{what}: {e}")))
}

fn plan_arn(region: &str, account: &str, name: &str, suffix: &str) -> String {
    format!("arn:aws:backup:{region}:{account}:restore-testing-plan:{name}-{suffix}")
}

fn plan_shape(p: &RestoreTestingPlanRow) -> Result<RestoreTestingPlan> {
    Ok(RestoreTestingPlan {
        creation_time: p.created_at,
        creator_request_id: p.creator_request_id.clone(),
        last_execution_time: p.last_execution_at,
        last_update_time: p.updated_at,
        recovery_point_selection: serde_json::from_str(&p.recovery_point_selection)
            .map_err(|e| CatalogError::Corrupt(format!("restore testing plan {}: {e}", p.arn)))?,
        restore_testing_plan_arn: p.arn.clone(),
        restore_testing_plan_name: p.name.clone(),
        schedule_expression: p.schedule_expression.clone(),
        schedule_expression_timezone: p.schedule_timezone.clone(),
        start_window_hours: p.start_window_hours,
    })
}

fn document_of(s: &RestoreTestingSelectionRow) -> Result<SelectionDocument> {
    Ok(serde_json::from_str(&s.document).map_err(|e| CatalogError::Corrupt(format!("restore testing selection {}: {e}", s.name)))?)
}

fn selection_shape(plan: &RestoreTestingPlanRow, s: &RestoreTestingSelectionRow) -> Result<RestoreTestingSelection> {
    let d = document_of(s)?;
    Ok(RestoreTestingSelection {
        creation_time: s.created_at,
        creator_request_id: s.creator_request_id.clone(),
        iam_role_arn: s.iam_role_arn.clone(),
        protected_resource_arns: d.protected_resource_arns,
        protected_resource_conditions: d.protected_resource_conditions,
        protected_resource_type: s.protected_resource_type.clone(),
        restore_metadata_overrides: d.restore_metadata_overrides,
        restore_testing_plan_name: plan.name.clone(),
        restore_testing_selection_name: s.name.clone(),
        update_time: s.updated_at,
        validation_window_hours: s.validation_window_hours,
        validation_query: d.validation_query,
    })
}

/// Applies an input's selection fields to `doc` (and the row's role and window).
fn apply_selection_input(row: &mut RestoreTestingSelectionRow, doc: &mut SelectionDocument, input: &RestoreTestingSelectionInput) -> Result<()> {
    if let Some(role) = &input.iam_role_arn {
        if !role.starts_with("arn:aws:iam::") {
            return Err(bad(format!("IamRoleArn {role:?} is not an IAM role ARN")));
        }
        row.iam_role_arn = role.clone();
    }
    if let Some(arns) = &input.protected_resource_arns {
        if arns.iter().any(|a| a != "*" && !a.starts_with("arn:")) {
            return Err(bad("ProtectedResourceArns holds resource ARNs or \"*\""));
        }
        doc.protected_resource_arns = arns.clone();
    }
    if let Some(c) = &input.protected_resource_conditions {
        doc.protected_resource_conditions = Some(c.clone());
    }
    if let Some(o) = &input.restore_metadata_overrides {
        if let Some(k) = o.keys().find(|k| LOCATION_KEYS.contains(&k.as_str())) {
            return Err(bad(format!("RestoreMetadataOverrides.{k}: restore tests always restore into a scratch location")));
        }
        doc.restore_metadata_overrides = o.clone();
    }
    if let Some(h) = input.validation_window_hours {
        row.validation_window_hours = check_range("ValidationWindowHours", h, 0, 168)?;
    }
    if let Some(q) = &input.validation_query {
        let ty = ResourceType::parse(&row.protected_resource_type);
        if !matches!(ty, Some(ResourceType::Sqlite | ResourceType::Postgresql)) {
            return Err(bad("ValidationQuery applies to SQLite and PostgreSQL selections only"));
        }
        if q.query.trim().is_empty() {
            return Err(bad("ValidationQuery.Query is empty"));
        }
        doc.validation_query = Some(q.clone());
    }
    if doc.protected_resource_arns.is_empty() && doc.protected_resource_conditions.is_none() {
        doc.protected_resource_arns = vec!["*".into()];
    }
    Ok(())
}

/// Does the selection pick this resource?
fn selects(sel: &RestoreTestingSelectionRow, doc: &SelectionDocument, r: &Resource) -> bool {
    if !r.resource_type.eq_ignore_ascii_case(&sel.protected_resource_type) {
        return false;
    }
    let by_arn = doc.protected_resource_arns.is_empty() || doc.protected_resource_arns.iter().any(|a| a == "*" || *a == r.arn);
    let tag = |kv: &KeyValue| r.tags.get(kv.key.strip_prefix("aws:ResourceTag/").unwrap_or(&kv.key)).cloned();
    let by_tags = doc.protected_resource_conditions.as_ref().is_none_or(|c| {
        c.string_equals.iter().all(|kv| tag(kv).as_deref() == Some(kv.value.as_str()))
            && c.string_not_equals.iter().all(|kv| tag(kv).as_deref() != Some(kv.value.as_str()))
    });
    by_arn && by_tags
}

/// FNV-1a: a stable hash, so `RANDOM_WITHIN_WINDOW` picks the same point for the same
/// plan, resource and firing in every process (and in tests).
fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The recovery point a plan tests for one resource at `firing`, if any qualifies.
pub fn pick_recovery_point<'a>(
    selection: &RecoveryPointSelection,
    plan_arn: &str,
    firing: Timestamp,
    points: &'a [RecoveryPointRow],
) -> Option<&'a RecoveryPointRow> {
    let days = selection.selection_window_days.unwrap_or(30);
    let since = firing - jiff::SignedDuration::from_hours(24 * days);
    let wanted = |arn: &str, list: &[String]| list.iter().any(|v| v == "*" || v == arn);
    let mut eligible: Vec<&RecoveryPointRow> = points
        .iter()
        .filter(|p| p.status == "COMPLETED" && p.created_at >= since && p.created_at <= firing)
        .filter(|p| wanted(&p.vault_arn, &selection.include_vaults) && !wanted(&p.vault_arn, &selection.exclude_vaults))
        .filter(|_| selection.recovery_point_types.iter().any(|t| t == "SNAPSHOT"))
        .collect();
    eligible.sort_by(|a, b| (a.created_at, &a.arn).cmp(&(b.created_at, &b.arn)));
    if selection.algorithm == "RANDOM_WITHIN_WINDOW" {
        let seed = stable_hash(&[plan_arn.as_bytes(), eligible.first()?.resource_arn.as_bytes(), &firing.as_microsecond().to_le_bytes()]);
        let n = u64::try_from(eligible.len()).ok()?;
        eligible.get(usize::try_from(seed % n).ok()?).copied()
    } else {
        eligible.last().copied()
    }
}


/// The result of a restore test before it is recorded.
struct Outcome {
    restored: std::result::Result<u64, String>,
    duration: Duration,
    validation: std::result::Result<String, String>,
    validated_in: Duration,
}

impl BackupService {
    fn scratch_dir(&self, job: &str) -> PathBuf {
        self.data_dir.join("restore-tests").join(job)
    }

    async fn plan_row(&self, account: &str, region: &str, name: &str) -> Result<RestoreTestingPlanRow> {
        self.catalog
            .read()
            .await?
            .restore_testing_plan(account, region, name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing plan {name} does not exist")))
    }

    /// `CreateRestoreTestingPlan`: `document` is a `RestoreTestingPlanForCreate`.
    pub async fn create_restore_testing_plan(
        &self,
        account: &str,
        region: &str,
        document: &str,
        tags: Tags,
        creator_request_id: Option<String>,
    ) -> Result<RestoreTestingPlan> {
        bunker_policy::Region::parse(region)?;
        let input: RestoreTestingPlanInput = parse_json("RestoreTestingPlan", document)?;
        let name = input.restore_testing_plan_name.clone().ok_or_else(|| BackupError::MissingParameterValue("RestoreTestingPlanName is required".into()))?;
        check_name("RestoreTestingPlanName", &name)?;
        let expr = input.schedule_expression.clone().ok_or_else(|| BackupError::MissingParameterValue("ScheduleExpression is required".into()))?;
        let tz = input.schedule_expression_timezone.clone().unwrap_or_else(|| "UTC".into());
        parse_schedule(&expr, &tz)?;
        let selection = input
            .recovery_point_selection
            .clone()
            .ok_or_else(|| BackupError::MissingParameterValue("RecoveryPointSelection is required".into()))?;
        check_selection(&selection)?;
        let now = self.now();
        let row = RestoreTestingPlanRow {
            arn: plan_arn(region, account, &name, &crate::ids::uuid()[..8]),
            name: name.clone(),
            account_id: account.into(),
            region: region.into(),
            schedule_expression: expr,
            schedule_timezone: tz,
            start_window_hours: check_range("StartWindowHours", input.start_window_hours.unwrap_or(24), 1, 168)?,
            recovery_point_selection: serde_json::to_string(&selection).unwrap_or_default(),
            tags: serde_json::to_string(&tags).unwrap_or_default(),
            creator_request_id,
            created_at: now,
            updated_at: None,
            last_execution_at: None,
        };
        let mut tx = self.catalog.write().await?;
        if let Some(existing) = tx.restore_testing_plan(account, region, &name).await? {
            // The same request again (same token): the same answer.
            if existing.creator_request_id.is_some() && existing.creator_request_id == row.creator_request_id {
                return plan_shape(&existing);
            }
            return Err(BackupError::AlreadyExists(format!("Restore testing plan {name} already exists")));
        }
        tx.insert_restore_testing_plan(&row).await?;
        tx.commit().await?;
        plan_shape(&row)
    }

    /// `GetRestoreTestingPlan`.
    pub async fn get_restore_testing_plan(&self, account: &str, region: &str, name: &str) -> Result<RestoreTestingPlan> {
        plan_shape(&self.plan_row(account, region, name).await?)
    }

    /// `ListRestoreTestingPlans`.
    pub async fn list_restore_testing_plans(&self, account: &str, region: &str) -> Result<Vec<RestoreTestingPlan>> {
        let rows = self.catalog.read().await?.restore_testing_plans(Some(account), Some(region)).await?;
        rows.iter().map(plan_shape).collect()
    }

    /// `UpdateRestoreTestingPlan`: `document` is a `RestoreTestingPlanForUpdate` (the name
    /// cannot change).
    pub async fn update_restore_testing_plan(&self, account: &str, region: &str, name: &str, document: &str) -> Result<RestoreTestingPlan> {
        let input: RestoreTestingPlanInput = parse_json("RestoreTestingPlan", document)?;
        if input.restore_testing_plan_name.as_deref().is_some_and(|n| n != name) {
            return Err(bad("RestoreTestingPlanName cannot be updated"));
        }
        let mut tx = self.catalog.write().await?;
        let mut row = tx
            .restore_testing_plan(account, region, name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing plan {name} does not exist")))?;
        if let Some(e) = input.schedule_expression {
            row.schedule_expression = e;
        }
        if let Some(z) = input.schedule_expression_timezone {
            row.schedule_timezone = z;
        }
        parse_schedule(&row.schedule_expression, &row.schedule_timezone)?;
        if let Some(h) = input.start_window_hours {
            row.start_window_hours = check_range("StartWindowHours", h, 1, 168)?;
        }
        if let Some(s) = input.recovery_point_selection {
            check_selection(&s)?;
            row.recovery_point_selection = serde_json::to_string(&s).unwrap_or_default();
        }
        row.updated_at = Some(self.now());
        tx.update_restore_testing_plan(&row).await?;
        tx.commit().await?;
        plan_shape(&row)
    }

    /// `DeleteRestoreTestingPlan`: refused while it has selections (as AWS); returns its ARN.
    pub async fn delete_restore_testing_plan(&self, account: &str, region: &str, name: &str) -> Result<String> {
        let mut tx = self.catalog.write().await?;
        let row = tx
            .restore_testing_plan(account, region, name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing plan {name} does not exist")))?;
        let n = tx.restore_testing_selections(&row.arn).await?.len();
        if n > 0 {
            return Err(BackupError::InvalidRequest(format!("Restore testing plan {name} still has {n} selection(s): delete them first")));
        }
        tx.delete_restore_testing_plan(&row.arn).await?;
        tx.commit().await?;
        Ok(row.arn)
    }

    /// `CreateRestoreTestingSelection`: `document` is a `RestoreTestingSelectionForCreate`.
    pub async fn create_restore_testing_selection(
        &self,
        account: &str,
        region: &str,
        plan_name: &str,
        document: &str,
        creator_request_id: Option<String>,
    ) -> Result<RestoreTestingSelection> {
        let input: RestoreTestingSelectionInput = parse_json("RestoreTestingSelection", document)?;
        let name = input
            .restore_testing_selection_name
            .clone()
            .ok_or_else(|| BackupError::MissingParameterValue("RestoreTestingSelectionName is required".into()))?;
        check_name("RestoreTestingSelectionName", &name)?;
        let ty = input
            .protected_resource_type
            .as_deref()
            .ok_or_else(|| BackupError::MissingParameterValue("ProtectedResourceType is required".into()))?;
        let ty = ResourceType::parse(ty).ok_or_else(|| bad(format!("ProtectedResourceType {ty:?} is not a Bunker resource type")))?;
        if input.iam_role_arn.is_none() {
            return Err(BackupError::MissingParameterValue("IamRoleArn is required".into()));
        }
        let mut tx = self.catalog.write().await?;
        let plan = tx
            .restore_testing_plan(account, region, plan_name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing plan {plan_name} does not exist")))?;
        let mut row = RestoreTestingSelectionRow {
            plan_arn: plan.arn.clone(),
            name: name.clone(),
            protected_resource_type: ty.as_str().into(),
            document: String::new(),
            iam_role_arn: default_role_arn(account),
            validation_window_hours: 0,
            creator_request_id,
            created_at: self.now(),
            updated_at: None,
        };
        let mut doc = SelectionDocument::default();
        apply_selection_input(&mut row, &mut doc, &input)?;
        row.document = serde_json::to_string(&doc).unwrap_or_default();
        if let Some(existing) = tx.restore_testing_selection(&plan.arn, &name).await? {
            if existing.creator_request_id.is_some() && existing.creator_request_id == row.creator_request_id {
                return selection_shape(&plan, &existing);
            }
            return Err(BackupError::AlreadyExists(format!("Restore testing selection {name} already exists in {plan_name}")));
        }
        tx.insert_restore_testing_selection(&row).await?;
        tx.commit().await?;
        selection_shape(&plan, &row)
    }

    /// `GetRestoreTestingSelection`.
    pub async fn get_restore_testing_selection(&self, account: &str, region: &str, plan_name: &str, name: &str) -> Result<RestoreTestingSelection> {
        let plan = self.plan_row(account, region, plan_name).await?;
        let row = self.catalog.read().await?.restore_testing_selection(&plan.arn, name).await?;
        let row = row.ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing selection {name} does not exist in {plan_name}")))?;
        selection_shape(&plan, &row)
    }

    /// `ListRestoreTestingSelections`.
    pub async fn list_restore_testing_selections(&self, account: &str, region: &str, plan_name: &str) -> Result<Vec<RestoreTestingSelection>> {
        let plan = self.plan_row(account, region, plan_name).await?;
        let rows = self.catalog.read().await?.restore_testing_selections(&plan.arn).await?;
        rows.iter().map(|s| selection_shape(&plan, s)).collect()
    }

    /// `UpdateRestoreTestingSelection`: `document` is a `RestoreTestingSelectionForUpdate`
    /// (name and resource type cannot change).
    pub async fn update_restore_testing_selection(
        &self,
        account: &str,
        region: &str,
        plan_name: &str,
        name: &str,
        document: &str,
    ) -> Result<RestoreTestingSelection> {
        let input: RestoreTestingSelectionInput = parse_json("RestoreTestingSelection", document)?;
        if input.restore_testing_selection_name.as_deref().is_some_and(|n| n != name) {
            return Err(bad("RestoreTestingSelectionName cannot be updated"));
        }
        let mut tx = self.catalog.write().await?;
        let plan = tx
            .restore_testing_plan(account, region, plan_name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing plan {plan_name} does not exist")))?;
        let mut row = tx
            .restore_testing_selection(&plan.arn, name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing selection {name} does not exist in {plan_name}")))?;
        if input.protected_resource_type.as_deref().is_some_and(|t| ResourceType::parse(t).map(ResourceType::as_str) != Some(row.protected_resource_type.as_str())) {
            return Err(bad("ProtectedResourceType cannot be updated"));
        }
        let mut doc = document_of(&row)?;
        apply_selection_input(&mut row, &mut doc, &input)?;
        row.document = serde_json::to_string(&doc).unwrap_or_default();
        row.updated_at = Some(self.now());
        tx.update_restore_testing_selection(&row).await?;
        tx.commit().await?;
        selection_shape(&plan, &row)
    }

    /// `DeleteRestoreTestingSelection`.
    pub async fn delete_restore_testing_selection(&self, account: &str, region: &str, plan_name: &str, name: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        let plan = tx
            .restore_testing_plan(account, region, plan_name)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore testing plan {plan_name} does not exist")))?;
        if !tx.delete_restore_testing_selection(&plan.arn, name).await? {
            return Err(BackupError::ResourceNotFound(format!("Restore testing selection {name} does not exist in {plan_name}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The restore jobs a plan started, newest first, with their validation results
    /// (`ListRestoreJobs --by-restore-testing-plan-arn`).
    pub async fn list_restore_jobs_by_restore_testing_plan(
        &self,
        account: &str,
        region: &str,
        plan_name: &str,
        max_results: Option<i64>,
    ) -> Result<Vec<RestoreTestingJob>> {
        let plan = self.plan_row(account, region, plan_name).await?;
        let limit = max_results.unwrap_or(1000).clamp(1, 1000);
        let rows = self.catalog.read().await?.restore_testing_jobs(&plan.arn, limit).await?;
        let mut out = Vec::with_capacity(rows.len());
        for t in rows {
            out.push(self.testing_job_shape(t).await?);
        }
        Ok(out)
    }

    /// `DescribeRestoreJob` of a job a testing plan started, with its test's outcome.
    pub async fn describe_restore_testing_job(&self, restore_job_id: &str) -> Result<RestoreTestingJob> {
        let t = self.catalog.read().await?.restore_testing_job(restore_job_id).await?;
        let t = t.ok_or_else(|| BackupError::ResourceNotFound(format!("Restore job {restore_job_id} was not started by a restore testing plan")))?;
        self.testing_job_shape(t).await
    }

    async fn testing_job_shape(&self, t: RestoreTestingJobRow) -> Result<RestoreTestingJob> {
        Ok(RestoreTestingJob {
            job: self.describe_restore_job(&t.restore_job_id).await?,
            created_by: RestoreJobCreator { restore_testing_plan_arn: t.plan_arn },
            source_resource_arn: t.resource_arn,
            validation_status: t.validation_status,
            validation_status_message: t.validation_status_message,
            deletion_status: t.deletion_status,
            deletion_status_message: t.deletion_status_message,
            restore_duration_millis: t.restore_duration_us.map(|us| us / 1000),
        })
    }

    /// Restore times by resource type over a plan's jobs (Bunker extension).
    pub async fn restore_testing_durations(&self, account: &str, region: &str, plan_name: &str) -> Result<BTreeMap<String, RestoreDurations>> {
        let mut out: BTreeMap<String, RestoreDurations> = BTreeMap::new();
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        for j in self.list_restore_jobs_by_restore_testing_plan(account, region, plan_name, Some(1000)).await? {
            let Some(ms) = j.restore_duration_millis else { continue };
            let d = out.entry(j.job.resource_type.clone()).or_default();
            d.count += 1;
            d.max_millis = d.max_millis.max(ms);
            *sums.entry(j.job.resource_type).or_default() += ms;
        }
        for (ty, d) in &mut out {
            d.average_millis = sums[ty] / d.count.max(1);
        }
        Ok(out)
    }

    /// `PutRestoreValidationResult`: an outside validator's verdict on a restore test.
    pub async fn put_restore_validation_result(&self, restore_job_id: &str, status: &str, message: Option<String>) -> Result<()> {
        if !VALIDATION_STATUSES.contains(&status) {
            return Err(bad(format!("ValidationStatus must be one of {VALIDATION_STATUSES:?}, got {status:?}")));
        }
        let mut tx = self.catalog.write().await?;
        let mut t = tx
            .restore_testing_job(restore_job_id)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Restore job {restore_job_id} was not started by a restore testing plan")))?;
        t.validation_status = Some(status.into());
        t.validation_status_message = message;
        tx.update_restore_testing_job(&t).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts the restore tests due at the clock's now and runs them; returns how many ran.
    ///
    /// Each plan runs its latest firing not yet handled, if its start window is still
    /// open (firings missed while nothing ticked are skipped, as AWS expires them).
    pub async fn run_restore_tests(&self) -> Result<usize> {
        let now = self.now();
        let plans = self.catalog.read().await?.restore_testing_plans(None, None).await?;
        let mut ran = 0;
        for plan in plans {
            let Ok((schedule, tz)) = parse_schedule(&plan.schedule_expression, &plan.schedule_timezone) else { continue };
            let mut t = plan.last_execution_at.unwrap_or(plan.created_at);
            let mut due = None;
            // Bounded: a clock moved years ahead with an hourly rate must not spin for long.
            for _ in 0..100_000 {
                match schedule.next_after(t, &tz, plan.created_at) {
                    Some(n) if n <= now => {
                        due = Some(n);
                        t = n;
                    }
                    _ => break,
                }
            }
            let Some(firing) = due else { continue };
            let mut tx = self.catalog.write().await?;
            if !tx.claim_restore_testing_firing(&plan.arn, plan.last_execution_at, firing).await? {
                continue; // another process handled it
            }
            tx.commit().await?;
            if now > firing + jiff::SignedDuration::from_hours(plan.start_window_hours) {
                tracing::warn!(plan = %plan.name, %firing, "restore test not started within its start window");
                continue;
            }
            ran += self.run_plan(&plan, firing).await?;
        }
        Ok(ran)
    }

    /// The next instant after `after` when a restore testing plan fires.
    pub(crate) async fn next_restore_test_event(&self, after: Timestamp) -> Result<Option<Timestamp>> {
        let plans = self.catalog.read().await?.restore_testing_plans(None, None).await?;
        Ok(plans
            .iter()
            .filter_map(|p| {
                let (schedule, tz) = parse_schedule(&p.schedule_expression, &p.schedule_timezone).ok()?;
                schedule.next_after(after.max(p.created_at), &tz, p.created_at)
            })
            .min())
    }

    /// One firing of a plan: every selected resource with a qualifying recovery point.
    async fn run_plan(&self, plan: &RestoreTestingPlanRow, firing: Timestamp) -> Result<usize> {
        let selection: RecoveryPointSelection = serde_json::from_str(&plan.recovery_point_selection)
            .map_err(|e| CatalogError::Corrupt(format!("restore testing plan {}: {e}", plan.arn)))?;
        let mut tx = self.catalog.read().await?;
        let selections = tx.restore_testing_selections(&plan.arn).await?;
        let resources = tx.resources(Some(&plan.account_id), Some(&plan.region)).await?;
        let mut work = Vec::new();
        for sel in &selections {
            let doc = document_of(sel)?;
            for r in resources.iter().filter(|r| selects(sel, &doc, r)) {
                let points = tx.recovery_points_by_resource(&r.arn, None, 100_000).await?;
                if let Some(rp) = pick_recovery_point(&selection, &plan.arn, firing, &points) {
                    work.push((sel.clone(), doc.clone(), r.clone(), rp.clone()));
                }
            }
        }
        drop(tx);
        let mut ran = 0;
        for (sel, doc, r, rp) in work {
            if self.run_one(plan, &sel, &doc, &r, &rp, firing).await? {
                ran += 1;
            }
        }
        Ok(ran)
    }

    /// The scratch target of a restore test of `original`.
    fn scratch_target(&self, job: &str, original: &Source, overrides: &BTreeMap<String, String>) -> Source {
        let dir = self.scratch_dir(job);
        match original {
            Source::Directory { .. } => Source::Directory { path: dir.join("restored") },
            Source::Sqlite { .. } => Source::Sqlite { path: dir.join("restored.db") },
            Source::DiskImage { .. } => Source::DiskImage { path: dir.join("restored.img") },
            Source::Postgresql { url } => Source::Postgresql { url: with_database(url, &scratch_database(job)) },
            Source::Bucket { endpoint, bucket, region, access_key_id, secret_access_key, .. } => Source::Bucket {
                endpoint: overrides.get("Endpoint").cloned().or_else(|| endpoint.clone()),
                bucket: overrides.get("Bucket").cloned().unwrap_or_else(|| bucket.clone()),
                prefix: format!("bunker-restore-tests/{job}/"),
                region: region.clone(),
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
            },
        }
    }

    /// Restores, validates, records and cleans up one test. False when another process
    /// already tests this resource for this firing.
    async fn run_one(
        &self,
        plan: &RestoreTestingPlanRow,
        sel: &RestoreTestingSelectionRow,
        doc: &SelectionDocument,
        resource: &Resource,
        rp: &RecoveryPointRow,
        firing: Timestamp,
    ) -> Result<bool> {
        let original = self.resource_source(resource)?;
        let id = job_id();
        let scratch = self.scratch_target(&id, &original, &doc.restore_metadata_overrides);
        let mut metadata = doc.restore_metadata_overrides.clone();
        metadata.insert("Location".into(), scratch.to_json());
        let mut job = RestoreJobRow {
            id: id.clone(),
            account_id: rp.account_id.clone(),
            region: rp.region.clone(),
            recovery_point_arn: rp.arn.clone(),
            resource_type: rp.resource_type.clone(),
            state: "RUNNING".into(),
            status_message: None,
            created_at: self.now(),
            completed_at: None,
            // Rows keep no connection secret: the scratch target is used from memory.
            metadata: redacted_json(&serde_json::to_string(&metadata).unwrap_or_default()),
            copy_source_tags: false,
            backup_size: 0,
            created_resource_arn: None,
            iam_role_arn: sel.iam_role_arn.clone(),
        };
        let mut test = RestoreTestingJobRow {
            restore_job_id: id.clone(),
            plan_arn: plan.arn.clone(),
            selection_name: sel.name.clone(),
            resource_arn: resource.arn.clone(),
            scheduled_at: firing,
            validation_status: None,
            validation_status_message: None,
            deletion_status: None,
            deletion_status_message: None,
            restore_duration_us: None,
            scratch_location: crate::secrets::shown_location(&scratch.to_json()),
        };
        let mut tx = self.catalog.write().await?;
        tx.insert_restore_job(&job).await?;
        match tx.insert_restore_testing_job(&test).await {
            Ok(()) => {}
            Err(CatalogError::Duplicate(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let vault = tx.vault(&rp.vault_arn).await?;
        tx.commit().await?;

        let outcome = match vault {
            None => Outcome {
                restored: Err(format!("backup vault {} does not exist", rp.vault_arn)),
                duration: Duration::ZERO,
                validation: Err("nothing restored".into()),
                validated_in: Duration::ZERO,
            },
            Some(vault) => self.restore_and_validate(vault, rp.clone(), scratch.clone(), doc.validation_query.clone()).await,
        };
        let deletion = self.delete_scratch(&id, &scratch).await;

        let rp_arn = &rp.arn;
        let window = Duration::from_secs(u64::try_from(sel.validation_window_hours).unwrap_or(0) * 3600);
        match &outcome.restored {
            Ok(bytes) => {
                job.state = "COMPLETED".into();
                job.backup_size = i64::try_from(*bytes).unwrap_or(i64::MAX);
                job.created_resource_arn =
                    Some(resource_arn(&rp.region, &rp.account_id, ResourceType::parse(&rp.resource_type).map_or("resource", ResourceType::arn_word), &format!("restore-test-{}", id[..8].to_lowercase())));
                let (status, message) = match &outcome.validation {
                    Ok(_) if !window.is_zero() && outcome.validated_in > window => {
                        ("TIMED_OUT", format!("recovery point {rp_arn}: validation took longer than {} hours", sel.validation_window_hours))
                    }
                    Ok(m) => ("SUCCESSFUL", format!("recovery point {rp_arn}: {m}")),
                    Err(m) => ("FAILED", format!("recovery point {rp_arn}: {m}")),
                };
                test.validation_status = Some(status.into());
                test.validation_status_message = Some(message);
            }
            Err(e) => {
                job.state = "FAILED".into();
                job.status_message = Some(format!("restore of recovery point {rp_arn} failed: {e}"));
                test.validation_status = Some("FAILED".into());
                test.validation_status_message = Some(format!("recovery point {rp_arn} could not be restored: {e}"));
            }
        }
        test.restore_duration_us = Some(i64::try_from(outcome.duration.as_micros()).unwrap_or(i64::MAX));
        match deletion {
            Ok(()) => test.deletion_status = Some("SUCCESSFUL".into()),
            Err(e) => {
                test.deletion_status = Some("FAILED".into());
                test.deletion_status_message = Some(e);
            }
        }
        job.completed_at = Some(self.now());
        let mut tx = self.catalog.write().await?;
        tx.update_restore_job(&job).await?;
        tx.update_restore_testing_job(&test).await?;
        tx.commit().await?;
        tracing::info!(job = %id, plan = %plan.name, resource = %resource.arn, validation = ?test.validation_status, "restore test ended");
        Ok(true)
    }

    /// Restores `rp` into `scratch` and checks it against the recovery point.
    async fn restore_and_validate(&self, vault: bunker_catalog::BackupVault, rp: RecoveryPointRow, scratch: Source, query: Option<ValidationQuery>) -> Outcome {
        let svc = self.clone();
        let target = scratch.clone();
        let handle = tokio::runtime::Handle::current();
        let blocking = tokio::task::spawn_blocking(move || {
            let snapshot: SnapshotId = match rp.snapshot_id.parse() {
                Ok(s) => s,
                Err(e) => return (Err(format!("snapshot id {}: {e:?}", rp.snapshot_id)), Duration::ZERO, None),
            };
            let v = match svc.open_recovery_point_vault(&vault, &rp) {
                Ok(v) => v,
                Err(e) => return (Err(e.to_string()), Duration::ZERO, None),
            };
            let started = Instant::now();
            let restored = svc.connectors.restore(&v, snapshot, &target, &NoProgress).map(|o| o.bytes).map_err(|e| e.to_string());
            let duration = started.elapsed();
            // Files are checked here, against the manifest, with the vault still open.
            let files = restored.is_ok().then(|| {
                let began = Instant::now();
                let r = match &target {
                    Source::Directory { path } => validate_tree(&v, snapshot, path, true),
                    Source::DiskImage { path } | Source::Sqlite { path } => validate_tree(&v, snapshot, path, false),
                    Source::Postgresql { .. } => Ok("restored".into()),
                    Source::Bucket { .. } => validate_bucket(&v, snapshot, &target, &handle),
                };
                (r, began.elapsed())
            });
            (restored, duration, files)
        })
        .await;
        let (restored, duration, files) = match blocking {
            Ok(r) => r,
            Err(e) => (Err(format!("restore task: {e}")), Duration::ZERO, None),
        };
        let (mut validation, mut validated_in) = files.unwrap_or((Err("nothing restored".into()), Duration::ZERO));
        if restored.is_ok() && validation.is_ok() {
            let began = Instant::now();
            let db = match &scratch {
                Source::Sqlite { path } => Some(validate_sqlite(path, query.as_ref().map(expected).as_ref()).await),
                Source::Postgresql { url } => Some(validate_postgres(url, query.as_ref().map(expected).as_ref()).await),
                _ => None,
            };
            if let Some(r) = db {
                validation = r.map(|m| format!("{}; {m}", validation.unwrap_or_default()));
            }
            validated_in += began.elapsed();
        }
        Outcome { restored, duration, validation, validated_in }
    }

    /// Deletes a scratch copy: its directory, its PostgreSQL database, or the objects
    /// under its bucket prefix.
    async fn delete_scratch(&self, job: &str, scratch: &Source) -> std::result::Result<(), String> {
        let dir = self.scratch_dir(job);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot delete {}: {e}", dir.display()))?;
        }
        match scratch {
            Source::Postgresql { url } => drop_database(url, &scratch_database(job)).await,
            Source::Bucket { .. } => delete_prefix(scratch).await,
            _ => Ok(()),
        }
    }
}

fn scratch_database(job: &str) -> String {
    format!("bunker_rt_{}", job.replace('-', "").to_lowercase())
}

/// What the connectors check of a validation query.
fn expected(q: &ValidationQuery) -> Expected<'_> {
    Expected { query: &q.query, answer: &q.expected_result }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    use bunker_vault::Vault;

    /// A directory backed up into a fresh vault, and its restore.
    fn backed_up_and_restored(dir: &Path) -> (Vault, SnapshotId, PathBuf) {
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("a.txt"), "alpha\n".repeat(500)).unwrap();
        std::fs::write(src.join("sub/b.bin"), vec![7u8; 70_000]).unwrap();
        let storage = std::sync::Arc::new(bunker_vault::MemoryStorage::default());
        let kek = bunker_vault::PasswordKek::with_cost("pw", 8, 1, 1);
        let v = Vault::init(storage, &kek, bunker_vault::InitOptions::default()).unwrap();
        let source = Source::Directory { path: src };
        let req = bunker_connectors::BackupRequest { vault: &v, time: Timestamp::UNIX_EPOCH, tags: vec![], parent: None, stop: None, progress: &NoProgress };
        let snap = bunker_connectors::backup(&source, &req).unwrap().snapshot;
        let out = dir.join("out");
        bunker_connectors::restore(&v, snap, &Source::Directory { path: out.clone() }, &NoProgress).unwrap();
        (v, snap, out)
    }

    #[test]
    fn a_tree_is_checked_file_by_file_against_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let (v, snap, out) = backed_up_and_restored(dir.path());
        let ok = validate_tree(&v, snap, &out, true).unwrap();
        assert!(ok.starts_with("2 file(s), 73000 bytes"), "{ok}");

        // Same size, one byte different: the chunk comparison catches it.
        let mut bytes = std::fs::read(out.join("sub/b.bin")).unwrap();
        bytes[40_000] ^= 1;
        std::fs::write(out.join("sub/b.bin"), &bytes).unwrap();
        let err = validate_tree(&v, snap, &out, true).unwrap_err();
        assert!(err.contains("sub/b.bin") && err.contains("differs"), "{err}");
        bytes[40_000] ^= 1;
        std::fs::write(out.join("sub/b.bin"), &bytes).unwrap();

        std::fs::write(out.join("a.txt"), "short").unwrap();
        let err = validate_tree(&v, snap, &out, true).unwrap_err();
        assert!(err.contains("a.txt") && err.contains("5 bytes restored"), "{err}");
        std::fs::write(out.join("a.txt"), "alpha\n".repeat(500)).unwrap();

        std::fs::write(out.join("extra"), "x").unwrap();
        let err = validate_tree(&v, snap, &out, true).unwrap_err();
        assert!(err.contains("extra: in the restore but not in the recovery point"), "{err}");
        std::fs::remove_file(out.join("extra")).unwrap();
        std::fs::remove_file(out.join("a.txt")).unwrap();
        let err = validate_tree(&v, snap, &out, true).unwrap_err();
        assert!(err.contains("a.txt") && err.contains("missing"), "{err}");
    }

    #[test]
    fn random_picks_are_stable_and_latest_is_newest() {
        let rp = |i: i64| RecoveryPointRow {
            arn: format!("rp-{i}"),
            vault_arn: "arn:aws:backup:r:1:backup-vault:V".into(),
            account_id: "1".into(),
            region: "r".into(),
            resource_arn: "res".into(),
            resource_type: "Directory".into(),
            resource_name: "res".into(),
            backup_job_id: None,
            snapshot_id: String::new(),
            status: if i == 9 { "PARTIAL".into() } else { "COMPLETED".into() },
            status_message: None,
            storage_class: "WARM".into(),
            created_at: Timestamp::from_second(i * 86_400).unwrap(),
            completed_at: None,
            size_bytes: 0,
            lifecycle: "{}".into(),
            move_to_cold_at: None,
            delete_at: None,
            tags: Tags::new(),
            plan_id: None,
            plan_version: None,
            rule_id: None,
            iam_role_arn: String::new(),
            source_recovery_point_arn: None,
            source_backup_vault_arn: None,
        };
        let points: Vec<_> = (0..10).map(rp).collect();
        let firing = Timestamp::from_second(9 * 86_400 + 3600).unwrap();
        let mut sel: RecoveryPointSelection = serde_json::from_str(
            r#"{"Algorithm":"LATEST_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"],"SelectionWindowDays":5}"#,
        )
        .unwrap();
        // The PARTIAL point 9 does not count.
        assert_eq!(pick_recovery_point(&sel, "p", firing, &points).unwrap().arn, "rp-8");
        sel.algorithm = "RANDOM_WITHIN_WINDOW".into();
        let picks: BTreeSet<_> = (0..40)
            .map(|h| pick_recovery_point(&sel, "p", firing + jiff::SignedDuration::from_hours(h), &points).unwrap().arn.clone())
            .collect();
        assert!(picks.len() > 1 && picks.iter().all(|a| ["rp-5", "rp-6", "rp-7", "rp-8"].contains(&a.as_str())), "{picks:?}");
        assert_eq!(pick_recovery_point(&sel, "p", firing, &points), pick_recovery_point(&sel, "p", firing, &points));
        sel.exclude_vaults = vec!["arn:aws:backup:r:1:backup-vault:V".into()];
        assert_eq!(pick_recovery_point(&sel, "p", firing, &points), None);
    }

    #[test]
    fn database_names_replace_the_path() {
        assert_eq!(with_database("postgresql://u@h:5432/app?sslmode=disable", "x"), "postgresql://u@h:5432/x?sslmode=disable");
        assert_eq!(with_database("postgresql://u@h:5432", "x"), "postgresql://u@h:5432/x");
    }
}
