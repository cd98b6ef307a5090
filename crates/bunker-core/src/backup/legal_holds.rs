//! AWS Backup legal holds: `CreateLegalHold`, `CancelLegalHold`, `GetLegalHold`,
//! `ListLegalHolds`, `ListRecoveryPointsByLegalHold`.
//!
//! A hold takes the recovery points of its account and Region that its
//! `RecoveryPointSelection` matches when it is created (vaults, resources, a creation date
//! range; an empty list matches all). While it is `ACTIVE` none of them is deleted, neither
//! by `DeleteRecoveryPoint` (whatever the Vault Lock says, no bypass) nor by lifecycle: a
//! point past its `DeleteAt` stays until the hold is cancelled, and the next lifecycle pass
//! after that deletes it.

use bunker_catalog::{HoldSelection, LegalHoldRow, Tags};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};

use super::JobList;
use super::{BackupError, BackupService, Result, vault_arn};

/// `RecoveryPointSelection.DateRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DateRange {
    /// `FromDate`: created at or after.
    #[serde(deserialize_with = "aws_time")]
    pub from_date: Timestamp,
    /// `ToDate`: created at or before.
    #[serde(deserialize_with = "aws_time")]
    pub to_date: Timestamp,
}

/// `RecoveryPointSelection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LegalHoldSelection {
    /// `VaultNames`: the vaults (of the hold's account and Region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vault_names: Vec<String>,
    /// `ResourceIdentifiers`: resource ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_identifiers: Vec<String>,
    /// `DateRange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
}

/// A time as AWS requests carry it: seconds since the epoch (a number) or an ISO 8601
/// string.
fn aws_time<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => {
            let secs = n.as_f64().ok_or_else(|| D::Error::custom(format!("bad time {n}")))?;
            #[allow(clippy::cast_possible_truncation)]
            Timestamp::from_microsecond((secs * 1e6).round() as i64).map_err(D::Error::custom)
        }
        serde_json::Value::String(s) => s.parse::<Timestamp>().map_err(|e| D::Error::custom(format!("bad time `{s}`: {e}"))),
        other => Err(D::Error::custom(format!("a time is a number of seconds or an ISO 8601 string, not {other}"))),
    }
}

/// `CreateLegalHold` input.
#[derive(Debug, Clone, Default)]
pub struct CreateLegalHold {
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `IdempotencyToken`: a retry with the same token returns the hold made first.
    pub idempotency_token: Option<String>,
    /// `RecoveryPointSelection`: every point of the account and Region when absent.
    pub recovery_point_selection: Option<LegalHoldSelection>,
    /// `Tags`.
    pub tags: Tags,
}

/// A legal hold as `CreateLegalHold`, `GetLegalHold` and `ListLegalHolds` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LegalHold {
    /// `Title`.
    pub title: String,
    /// `Status`: `ACTIVE` or `CANCELED`.
    pub status: String,
    /// `Description`.
    pub description: String,
    /// `CancelDescription`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_description: Option<String>,
    /// `LegalHoldId`.
    pub legal_hold_id: String,
    /// `LegalHoldArn`.
    pub legal_hold_arn: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `CancellationDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_date: Option<Timestamp>,
    /// `RetainRecordUntil`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_record_until: Option<Timestamp>,
    /// `RecoveryPointSelection`.
    pub recovery_point_selection: LegalHoldSelection,
}

/// One entry of `ListRecoveryPointsByLegalHold`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LegalHoldRecoveryPoint {
    /// `RecoveryPointArn`.
    pub recovery_point_arn: String,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `BackupVaultName`.
    pub backup_vault_name: String,
}

/// `arn:aws:backup:REGION:ACCOUNT:legal-hold:ID`.
pub fn legal_hold_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:backup:{region}:{account}:legal-hold:{id}")
}

fn hold_shape(h: &LegalHoldRow) -> LegalHold {
    LegalHold {
        title: h.title.clone(),
        status: h.status.clone(),
        description: h.description.clone(),
        cancel_description: h.cancel_description.clone(),
        legal_hold_id: h.id.clone(),
        legal_hold_arn: h.arn.clone(),
        creation_date: h.created_at,
        cancellation_date: h.cancelled_at,
        retain_record_until: h.retain_record_until,
        recovery_point_selection: serde_json::from_str(&h.selection).unwrap_or_default(),
    }
}

/// A cancelled hold whose record time is over is gone, as in AWS.
fn visible(h: &LegalHoldRow, now: Timestamp) -> bool {
    h.retain_record_until.is_none_or(|t| now < t)
}

fn bad_token(token: &str) -> BackupError {
    BackupError::InvalidParameterValue(format!("invalid NextToken `{token}`"))
}

impl BackupService {
    /// `CreateLegalHold`: records the hold and puts the matching recovery points under it,
    /// in one write.
    pub async fn create_legal_hold(&self, account: &str, region: &str, req: CreateLegalHold) -> Result<LegalHold> {
        bunker_policy::Region::parse(region)?;
        if req.title.trim().is_empty() {
            return Err(BackupError::MissingParameterValue("Title is required".into()));
        }
        let selection = req.recovery_point_selection.clone().unwrap_or_default();
        if let Some(r) = selection.date_range
            && r.from_date > r.to_date
        {
            return Err(BackupError::InvalidParameterValue(format!(
                "RecoveryPointSelection.DateRange: FromDate {} is after ToDate {}",
                r.from_date, r.to_date
            )));
        }
        let now = self.now();
        let mut tx = self.catalog.write().await?;
        if let Some(token) = &req.idempotency_token
            && let Some(earlier) = tx.legal_hold_by_token(account, region, token).await?
        {
            return Ok(hold_shape(&earlier));
        }
        let mut vault_arns = Vec::new();
        for name in &selection.vault_names {
            let arn = vault_arn(region, account, name);
            if tx.vault(&arn).await?.is_none() {
                return Err(BackupError::ResourceNotFound(format!("Backup vault {name} does not exist")));
            }
            vault_arns.push(arn);
        }
        let id = crate::ids::uuid();
        let row = LegalHoldRow {
            arn: legal_hold_arn(region, account, &id),
            id,
            account_id: account.to_owned(),
            region: region.to_owned(),
            title: req.title,
            description: req.description,
            status: "ACTIVE".into(),
            cancel_description: None,
            selection: serde_json::to_string(&selection).map_err(|e| BackupError::InvalidParameterValue(e.to_string()))?,
            tags: req.tags,
            idempotency_token: req.idempotency_token,
            created_at: now,
            cancelled_at: None,
            retain_record_until: None,
        };
        tx.insert_legal_hold(&row).await?;
        let pick = HoldSelection {
            vault_arns,
            resource_arns: selection.resource_identifiers.clone(),
            from: selection.date_range.map(|r| r.from_date),
            to: selection.date_range.map(|r| r.to_date),
        };
        let held = tx.hold_recovery_points(&row.id, account, region, &pick).await?;
        tx.commit().await?;
        tracing::info!(hold = %row.id, title = %row.title, recovery_points = held, "legal hold created");
        Ok(hold_shape(&row))
    }

    /// The hold `id` of this account and Region, while its record is kept.
    async fn hold_row(&self, account: &str, region: &str, id: &str) -> Result<LegalHoldRow> {
        let row = self.catalog.read().await?.legal_hold(id).await?;
        row.filter(|h| h.account_id == account && h.region == region && visible(h, self.now()))
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Legal hold {id} does not exist")))
    }

    /// `CancelLegalHold`: releases the hold's recovery points (lifecycle deletes those
    /// overdue on its next pass). The record stays `RetainRecordInDays` days (forever when
    /// absent).
    pub async fn cancel_legal_hold(&self, account: &str, region: &str, id: &str, cancel_description: &str, retain_record_in_days: Option<i64>) -> Result<()> {
        if cancel_description.trim().is_empty() {
            return Err(BackupError::MissingParameterValue("CancelDescription is required".into()));
        }
        if let Some(d) = retain_record_in_days
            && d < 0
        {
            return Err(BackupError::InvalidParameterValue(format!("RetainRecordInDays {d}: must not be negative")));
        }
        let hold = self.hold_row(account, region, id).await?;
        let now = self.now();
        let until = retain_record_in_days.map(|d| now + SignedDuration::from_hours(d.saturating_mul(24)));
        let mut tx = self.catalog.write().await?;
        if !tx.cancel_legal_hold(id, cancel_description, now, until).await? {
            return Err(BackupError::InvalidRequest(format!("Legal hold {id} is {} and cannot be cancelled", hold.status)));
        }
        tx.commit().await?;
        tracing::info!(hold = %id, "legal hold cancelled");
        Ok(())
    }

    /// `GetLegalHold`.
    pub async fn get_legal_hold(&self, account: &str, region: &str, id: &str) -> Result<LegalHold> {
        Ok(hold_shape(&self.hold_row(account, region, id).await?))
    }

    /// `ListLegalHolds`, oldest first, a page at a time.
    pub async fn list_legal_holds(&self, account: &str, region: &str, max_results: Option<i64>, next_token: Option<&str>) -> Result<JobList<LegalHold>> {
        let limit = max_results.unwrap_or(1000).clamp(1, 1000);
        let after = match next_token {
            None => None,
            Some(token) => {
                let (t, id) = token.split_once('~').ok_or_else(|| bad_token(token))?;
                let t = t.parse().ok().and_then(|us| Timestamp::from_microsecond(us).ok()).ok_or_else(|| bad_token(token))?;
                Some((t, id.to_owned()))
            }
        };
        let rows = self.catalog.read().await?.legal_holds(account, region, after.as_ref().map(|(t, id)| (*t, id.as_str())), limit).await?;
        let next_token = (usize::try_from(limit).is_ok_and(|l| rows.len() == l))
            .then(|| rows.last().map(|h| format!("{}~{}", h.created_at.as_microsecond(), h.id)))
            .flatten();
        let now = self.now();
        Ok(JobList { items: rows.iter().filter(|h| visible(h, now)).map(hold_shape).collect(), next_token })
    }

    /// `ListRecoveryPointsByLegalHold`: the hold's recovery points that still exist, by ARN.
    pub async fn list_recovery_points_by_legal_hold(
        &self,
        account: &str,
        region: &str,
        id: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<JobList<LegalHoldRecoveryPoint>> {
        self.hold_row(account, region, id).await?;
        let limit = max_results.unwrap_or(1000).clamp(1, 1000);
        let rows = self.catalog.read().await?.legal_hold_recovery_points(id, next_token, limit).await?;
        let next_token = (usize::try_from(limit).is_ok_and(|l| rows.len() == l)).then(|| rows.last().map(|r| r.arn.clone())).flatten();
        let items = rows
            .into_iter()
            .map(|r| LegalHoldRecoveryPoint {
                backup_vault_name: r.vault_arn.rsplit_once(":backup-vault:").map_or(r.vault_arn.clone(), |(_, n)| n.to_owned()),
                recovery_point_arn: r.arn,
                resource_arn: r.resource_arn,
                resource_type: r.resource_type,
            })
            .collect();
        Ok(JobList { items, next_token })
    }
}
