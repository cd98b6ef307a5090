//! Backup plans (every version kept) and their selections, local or derived from the
//! organization's backup policies.
//!
//! Policy-managed plans are what each account's effective backup policy yields
//! ([`BackupService::sync_policy_plans`]): one plan per policy plan and Region, read-only
//! to the account, refreshed (a new version when the document changed, removed when the
//! policy no longer yields it) whenever the scheduler ticks or a caller asks.

use std::collections::{BTreeMap, HashMap};

use bunker_catalog::{BackupPlanRow, PlanVersion, SelectionRow, Tx};
use bunker_policy::plan::{BackupPlan, BackupSelection};
use bunker_policy::plan_input::{parse_backup_plan, parse_backup_selection};
use jiff::Timestamp;
use serde::Serialize;

use super::{BackupError, BackupService, Result, plan_arn};
use crate::Organizations;
use crate::quotas::backup as quotas;

/// `CreateBackupPlan` / `UpdateBackupPlan` output and a `list-backup-plans` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlanSummary {
    /// `BackupPlanId`.
    pub backup_plan_id: String,
    /// `BackupPlanArn`.
    pub backup_plan_arn: String,
    /// `BackupPlanName`.
    pub backup_plan_name: String,
    /// `VersionId`.
    pub version_id: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `DeletionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<Timestamp>,
    /// `LastExecutionDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_execution_date: Option<Timestamp>,
    /// `CreatorRequestId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    /// Bunker: the organization policy's plan name for policy-managed plans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by_policy_plan: Option<String>,
}

/// `GetBackupPlan` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlanWithDocument {
    /// `BackupPlan`.
    pub backup_plan: BackupPlan,
    /// The rest.
    #[serde(flatten)]
    pub summary: PlanSummary,
}

/// `CreateBackupSelection` output / `list-backup-selections` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SelectionSummary {
    /// `SelectionId`.
    pub selection_id: String,
    /// `SelectionName`.
    pub selection_name: String,
    /// `BackupPlanId`.
    pub backup_plan_id: String,
    /// `CreationDate`.
    pub creation_date: Timestamp,
    /// `IamRoleArn`.
    pub iam_role_arn: String,
}

fn summary(p: &BackupPlanRow) -> PlanSummary {
    PlanSummary {
        backup_plan_id: p.id.clone(),
        backup_plan_arn: p.arn.clone(),
        backup_plan_name: p.name.clone(),
        version_id: p.version_id.clone(),
        creation_date: p.created_at,
        deletion_date: p.deleted_at,
        last_execution_date: p.last_execution_at,
        creator_request_id: p.creator_request_id.clone(),
        managed_by_policy_plan: p.policy_plan_name.clone(),
    }
}

fn version_id() -> String {
    crate::ids::uuid().replace('-', "")
}

/// Gives every rule a `RuleId`, keeping the id of a same-named rule of `previous`.
fn assign_rule_ids(plan: &mut BackupPlan, previous: Option<&BackupPlan>) {
    let known: HashMap<&str, &str> = previous
        .map(|p| p.rules.iter().filter_map(|r| Some((r.rule_name.as_str(), r.rule_id.as_deref()?))).collect())
        .unwrap_or_default();
    for rule in &mut plan.rules {
        rule.rule_id = Some(known.get(rule.rule_name.as_str()).map_or_else(crate::ids::uuid, |id| (*id).to_owned()));
    }
}

pub(crate) fn parse_stored_plan(doc: &str) -> Result<BackupPlan> {
    serde_json::from_str(doc).map_err(|e| BackupError::Service(bunker_catalog::CatalogError::Corrupt(format!("stored plan: {e}"))))
}

pub(crate) fn parse_stored_selection(doc: &str) -> Result<BackupSelection> {
    serde_json::from_str(doc).map_err(|e| BackupError::Service(bunker_catalog::CatalogError::Corrupt(format!("stored selection: {e}"))))
}

/// AWS Backup's quota on the rules of a plan.
fn check_plan_quotas(plan: &BackupPlan) -> Result<()> {
    let max = quotas::RULES_PER_PLAN;
    if plan.rules.len() > max {
        return Err(BackupError::LimitExceeded(format!(
            "Backup plan `{}` has {} rules; a backup plan holds at most {max}",
            plan.backup_plan_name,
            plan.rules.len()
        )));
    }
    Ok(())
}

/// AWS Backup's quotas on one selection: ARNs per list (fewer when wildcards are used) and
/// tag conditions.
fn check_selection_quotas(s: &BackupSelection) -> Result<()> {
    for (field, arns) in [("Resources", &s.resources), ("NotResources", &s.not_resources)] {
        let wildcards = arns.iter().any(|a| a.contains(['*', '?']));
        let max = if wildcards { quotas::WILDCARD_ARNS_PER_SELECTION } else { quotas::ARNS_PER_SELECTION };
        if arns.len() > max {
            let how = if wildcards { " when any holds a wildcard" } else { "" };
            return Err(BackupError::LimitExceeded(format!("{field} holds {} ARNs; at most {max}{how}", arns.len())));
        }
    }
    let c = &s.conditions;
    let tags = s.list_of_tags.len() + c.string_equals.len() + c.string_not_equals.len() + c.string_like.len() + c.string_not_like.len();
    if tags > quotas::TAGS_PER_SELECTION {
        return Err(BackupError::LimitExceeded(format!(
            "Selection `{}` has {tags} tag conditions (ListOfTags and Conditions); at most {}",
            s.selection_name,
            quotas::TAGS_PER_SELECTION
        )));
    }
    Ok(())
}

/// Vault names a plan targets that do not exist in the account and Region.
async fn missing_vaults(tx: &mut Tx, account: &str, region: &str, plan: &BackupPlan) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for rule in &plan.rules {
        let arn = super::vault_arn(region, account, &rule.target_backup_vault_name);
        if tx.vault(&arn).await?.is_none() && !missing.contains(&rule.target_backup_vault_name) {
            missing.push(rule.target_backup_vault_name.clone());
        }
    }
    Ok(missing)
}

impl BackupService {
    /// `CreateBackupPlan` (a local plan).
    pub async fn create_backup_plan(&self, account: &str, region: &str, document: &str, creator_request_id: Option<String>) -> Result<PlanSummary> {
        bunker_policy::Region::parse(region)?;
        let mut plan = parse_backup_plan(document).map_err(BackupError::MalformedDocument)?;
        check_plan_quotas(&plan)?;
        assign_rule_ids(&mut plan, None);
        let mut tx = self.catalog.write().await?;
        let missing = missing_vaults(&mut tx, account, region, &plan).await?;
        if !missing.is_empty() {
            return Err(BackupError::InvalidParameterValue(format!(
                "Backup vault {} does not exist in account {account}, region {region}",
                missing.join(", ")
            )));
        }
        if tx.plans(Some(account), Some(region), false).await?.iter().any(|p| p.name == plan.backup_plan_name) {
            return Err(BackupError::AlreadyExists(format!("Backup plan `{}` already exists", plan.backup_plan_name)));
        }
        let row = self.insert_plan(&mut tx, account, region, &plan, None, creator_request_id).await?;
        tx.commit().await?;
        Ok(summary(&row))
    }

    async fn insert_plan(
        &self,
        tx: &mut Tx,
        account: &str,
        region: &str,
        plan: &BackupPlan,
        policy_plan_name: Option<String>,
        creator_request_id: Option<String>,
    ) -> Result<BackupPlanRow> {
        let id = crate::ids::uuid();
        let now = self.now();
        let row = BackupPlanRow {
            arn: plan_arn(region, account, &id),
            id,
            account_id: account.to_owned(),
            region: region.to_owned(),
            name: plan.backup_plan_name.clone(),
            version_id: version_id(),
            policy_plan_name,
            creator_request_id,
            created_at: now,
            deleted_at: None,
            last_execution_at: None,
        };
        let first = PlanVersion {
            plan_id: row.id.clone(),
            version_id: row.version_id.clone(),
            document: serde_json::to_string(plan).unwrap_or_default(),
            created_at: now,
            deleted_at: None,
        };
        tx.insert_plan(&row, &first).await?;
        Ok(row)
    }

    async fn live_plan(&self, tx: &mut Tx, plan_id: &str) -> Result<BackupPlanRow> {
        match tx.plan(plan_id).await? {
            Some(p) if p.deleted_at.is_none() => Ok(p),
            _ => Err(BackupError::ResourceNotFound(format!("Backup plan {plan_id} does not exist"))),
        }
    }

    fn refuse_policy_managed(p: &BackupPlanRow) -> Result<()> {
        match &p.policy_plan_name {
            Some(name) => Err(BackupError::InvalidRequest(format!(
                "Backup plan {} is managed by the organization's backup policy (plan `{name}`): change the policy instead",
                p.id
            ))),
            None => Ok(()),
        }
    }

    /// `UpdateBackupPlan`: a new version.
    pub async fn update_backup_plan(&self, plan_id: &str, document: &str) -> Result<PlanSummary> {
        let mut plan = parse_backup_plan(document).map_err(BackupError::MalformedDocument)?;
        check_plan_quotas(&plan)?;
        let mut tx = self.catalog.write().await?;
        let row = self.live_plan(&mut tx, plan_id).await?;
        Self::refuse_policy_managed(&row)?;
        let missing = missing_vaults(&mut tx, &row.account_id, &row.region, &plan).await?;
        if !missing.is_empty() {
            return Err(BackupError::InvalidParameterValue(format!("Backup vault {} does not exist", missing.join(", "))));
        }
        let current = tx.plan_version(&row.id, &row.version_id).await?.map(|v| parse_stored_plan(&v.document)).transpose()?;
        assign_rule_ids(&mut plan, current.as_ref());
        let v = PlanVersion {
            plan_id: row.id.clone(),
            version_id: version_id(),
            document: serde_json::to_string(&plan).unwrap_or_default(),
            created_at: self.now(),
            deleted_at: None,
        };
        tx.add_plan_version(&plan.backup_plan_name, &v).await?;
        tx.commit().await?;
        Ok(PlanSummary { version_id: v.version_id, backup_plan_name: plan.backup_plan_name, ..summary(&row) })
    }

    /// `GetBackupPlan`, of the current or a given version.
    pub async fn get_backup_plan(&self, plan_id: &str, version: Option<&str>) -> Result<PlanWithDocument> {
        let mut tx = self.catalog.read().await?;
        let row = tx.plan(plan_id).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Backup plan {plan_id} does not exist")))?;
        let vid = version.unwrap_or(&row.version_id);
        let v = tx
            .plan_version(plan_id, vid)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Backup plan {plan_id} has no version {vid}")))?;
        Ok(PlanWithDocument {
            backup_plan: parse_stored_plan(&v.document)?,
            summary: PlanSummary { version_id: v.version_id, creation_date: v.created_at, ..summary(&row) },
        })
    }

    /// `DeleteBackupPlan`: refused while it has selections, as in AWS.
    pub async fn delete_backup_plan(&self, plan_id: &str) -> Result<PlanSummary> {
        let mut tx = self.catalog.write().await?;
        let row = self.live_plan(&mut tx, plan_id).await?;
        Self::refuse_policy_managed(&row)?;
        if !tx.selections(plan_id).await?.is_empty() {
            return Err(BackupError::InvalidRequest(format!(
                "Backup plan {plan_id} cannot be deleted while it has resource selections: delete them first"
            )));
        }
        let now = self.now();
        tx.mark_plan_deleted(plan_id, now).await?;
        tx.commit().await?;
        Ok(PlanSummary { deletion_date: Some(now), ..summary(&row) })
    }

    /// `ListBackupPlans` of an account and region.
    pub async fn list_backup_plans(&self, account: &str, region: &str, include_deleted: bool) -> Result<Vec<PlanSummary>> {
        Ok(self.catalog.read().await?.plans(Some(account), Some(region), include_deleted).await?.iter().map(summary).collect())
    }

    /// `ListBackupPlanVersions`, newest first.
    pub async fn list_backup_plan_versions(&self, plan_id: &str) -> Result<Vec<PlanSummary>> {
        let mut tx = self.catalog.read().await?;
        let row = tx.plan(plan_id).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("Backup plan {plan_id} does not exist")))?;
        Ok(tx
            .plan_versions(plan_id)
            .await?
            .into_iter()
            .map(|v| PlanSummary { version_id: v.version_id, creation_date: v.created_at, deletion_date: v.deleted_at, ..summary(&row) })
            .collect())
    }

    /// `CreateBackupSelection`.
    pub async fn create_backup_selection(&self, plan_id: &str, document: &str, creator_request_id: Option<String>) -> Result<SelectionSummary> {
        let selection = parse_backup_selection(document).map_err(BackupError::MalformedDocument)?;
        check_selection_quotas(&selection)?;
        let mut tx = self.catalog.write().await?;
        let plan = self.live_plan(&mut tx, plan_id).await?;
        Self::refuse_policy_managed(&plan)?;
        let held = tx.selections(plan_id).await?.len();
        if held >= quotas::SELECTIONS_PER_PLAN {
            return Err(BackupError::LimitExceeded(format!(
                "Backup plan {plan_id} already has {held} resource selections; a backup plan holds at most {}",
                quotas::SELECTIONS_PER_PLAN
            )));
        }
        let row = SelectionRow {
            id: crate::ids::uuid(),
            plan_id: plan_id.to_owned(),
            name: selection.selection_name.clone(),
            document: serde_json::to_string(&selection).unwrap_or_default(),
            creator_request_id,
            created_at: self.now(),
        };
        tx.insert_selection(&row).await?;
        tx.commit().await?;
        Ok(selection_summary(&row, &selection))
    }

    /// `GetBackupSelection`.
    pub async fn get_backup_selection(&self, plan_id: &str, selection_id: &str) -> Result<(BackupSelection, SelectionSummary)> {
        let row = self
            .catalog
            .read()
            .await?
            .selection(plan_id, selection_id)
            .await?
            .ok_or_else(|| BackupError::ResourceNotFound(format!("Selection {selection_id} of plan {plan_id} does not exist")))?;
        let s = parse_stored_selection(&row.document)?;
        let sum = selection_summary(&row, &s);
        Ok((s, sum))
    }

    /// `ListBackupSelections`.
    pub async fn list_backup_selections(&self, plan_id: &str) -> Result<Vec<SelectionSummary>> {
        let mut tx = self.catalog.read().await?;
        self.live_plan(&mut tx, plan_id).await?;
        let mut out = Vec::new();
        for row in tx.selections(plan_id).await? {
            let s = parse_stored_selection(&row.document)?;
            out.push(selection_summary(&row, &s));
        }
        Ok(out)
    }

    /// `DeleteBackupSelection`.
    pub async fn delete_backup_selection(&self, plan_id: &str, selection_id: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        let plan = self.live_plan(&mut tx, plan_id).await?;
        Self::refuse_policy_managed(&plan)?;
        if !tx.delete_selection(plan_id, selection_id).await? {
            return Err(BackupError::ResourceNotFound(format!("Selection {selection_id} of plan {plan_id} does not exist")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Brings the policy-managed plans of every account in line with the effective backup
    /// policies. Returns how many plans were created, changed or removed.
    pub async fn sync_policy_plans(&self) -> Result<usize> {
        let orgs = Organizations::new(self.catalog.clone(), self.clock.clone());
        let accounts = match self.catalog.read().await?.organization().await? {
            Some(_) => self.catalog.read().await?.accounts().await?,
            None => return Ok(0),
        };
        // Computed before the write transaction: the organization is read, not changed.
        let mut wanted: BTreeMap<(String, String, String), (BackupPlan, Vec<BackupSelection>)> = BTreeMap::new();
        for account in &accounts {
            let id = account.id.as_str();
            let plans = orgs.list_effective_plans(id, None).await.map_err(|e| BackupError::InvalidRequest(e.to_string()))?;
            for p in plans {
                wanted.insert((id.to_owned(), p.region.clone(), p.backup_plan.backup_plan_name.clone()), (p.backup_plan, p.selections));
            }
        }
        let mut tx = self.catalog.write().await?;
        let mut changed = 0;
        let existing: Vec<BackupPlanRow> = tx.plans(None, None, false).await?.into_iter().filter(|p| p.policy_plan_name.is_some()).collect();
        let mut seen = std::collections::BTreeSet::new();
        for row in &existing {
            let key = (row.account_id.clone(), row.region.clone(), row.policy_plan_name.clone().unwrap_or_default());
            let Some((plan, selections)) = wanted.get(&key) else {
                tx.delete_selections_of(&row.id).await?;
                tx.mark_plan_deleted(&row.id, self.now()).await?;
                changed += 1;
                continue;
            };
            seen.insert(key);
            let current = tx.plan_version(&row.id, &row.version_id).await?.map(|v| parse_stored_plan(&v.document)).transpose()?;
            let mut plan = plan.clone();
            assign_rule_ids(&mut plan, current.as_ref());
            let stored_selections: Vec<BackupSelection> =
                tx.selections(&row.id).await?.iter().map(|s| parse_stored_selection(&s.document)).collect::<Result<_>>()?;
            if current.as_ref() != Some(&plan) {
                let v = PlanVersion {
                    plan_id: row.id.clone(),
                    version_id: version_id(),
                    document: serde_json::to_string(&plan).unwrap_or_default(),
                    created_at: self.now(),
                    deleted_at: None,
                };
                tx.add_plan_version(&plan.backup_plan_name, &v).await?;
                changed += 1;
            }
            if &stored_selections != selections {
                tx.delete_selections_of(&row.id).await?;
                self.insert_policy_selections(&mut tx, &row.id, selections).await?;
                changed += 1;
            }
        }
        for (key, (plan, selections)) in &wanted {
            if seen.contains(key) {
                continue;
            }
            let mut plan = plan.clone();
            assign_rule_ids(&mut plan, None);
            let row = self.insert_plan(&mut tx, &key.0, &key.1, &plan, Some(key.2.clone()), None).await?;
            self.insert_policy_selections(&mut tx, &row.id, selections).await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn insert_policy_selections(&self, tx: &mut Tx, plan_id: &str, selections: &[BackupSelection]) -> Result<()> {
        for s in selections {
            tx.insert_selection(&SelectionRow {
                id: crate::ids::uuid(),
                plan_id: plan_id.to_owned(),
                name: s.selection_name.clone(),
                document: serde_json::to_string(s).unwrap_or_default(),
                creator_request_id: None,
                created_at: self.now(),
            })
            .await?;
        }
        Ok(())
    }
}

fn selection_summary(row: &SelectionRow, s: &BackupSelection) -> SelectionSummary {
    SelectionSummary {
        selection_id: row.id.clone(),
        selection_name: row.name.clone(),
        backup_plan_id: row.plan_id.clone(),
        creation_date: row.created_at,
        iam_role_arn: s.iam_role_arn.clone(),
    }
}
