//! `bunker backup create-restore-testing-plan | … | put-restore-validation-result`: restore
//! testing plans and selections, with the names, flags and JSON documents of
//! `aws backup …`. Documents are JSON text or `file://PATH`.
//!
//! Plans run from the scheduler (`bunker run`); each run's restore jobs, with their
//! validation results, are listed by `list-restore-jobs-by-restore-testing-plan`.

use bunker_core::BackupService;
use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws_json::shape;
use crate::failure::Failure;
use crate::scope::Place;

/// The restore testing operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum RestoreTestingCommand {
    /// Create a restore testing plan from a `RestoreTestingPlanForCreate` document.
    CreateRestoreTestingPlan {
        /// The document: `RestoreTestingPlanName`, `ScheduleExpression`,
        /// `ScheduleExpressionTimezone`, `StartWindowHours`, `RecoveryPointSelection`.
        #[arg(long)]
        restore_testing_plan: String,
        /// Tags: `Key=Value,…` or JSON.
        #[arg(long)]
        tags: Option<String>,
        /// An idempotency token.
        #[arg(long)]
        creator_request_id: Option<String>,
    },
    /// Describe a restore testing plan.
    GetRestoreTestingPlan {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
    },
    /// List the account's restore testing plans in the Region.
    ListRestoreTestingPlans,
    /// Change a plan's schedule, start window or recovery point selection.
    UpdateRestoreTestingPlan {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
        /// A `RestoreTestingPlanForUpdate` document.
        #[arg(long)]
        restore_testing_plan: String,
    },
    /// Delete a restore testing plan (its selections first).
    DeleteRestoreTestingPlan {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
    },
    /// Add a selection to a plan from a `RestoreTestingSelectionForCreate` document.
    CreateRestoreTestingSelection {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
        /// The document: `RestoreTestingSelectionName`, `ProtectedResourceType`,
        /// `IamRoleArn`, `ProtectedResourceArns` or `ProtectedResourceConditions`,
        /// `RestoreMetadataOverrides`, `ValidationWindowHours`, and (Bunker extension)
        /// `ValidationQuery` `{"Query": "...", "ExpectedResult": "..."}`.
        #[arg(long)]
        restore_testing_selection: String,
        /// An idempotency token.
        #[arg(long)]
        creator_request_id: Option<String>,
    },
    /// Describe a selection.
    GetRestoreTestingSelection {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
        /// The selection.
        #[arg(long)]
        restore_testing_selection_name: String,
    },
    /// List a plan's selections.
    ListRestoreTestingSelections {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
    },
    /// Change a selection (not its name or resource type).
    UpdateRestoreTestingSelection {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
        /// The selection.
        #[arg(long)]
        restore_testing_selection_name: String,
        /// A `RestoreTestingSelectionForUpdate` document.
        #[arg(long)]
        restore_testing_selection: String,
    },
    /// Delete a selection.
    DeleteRestoreTestingSelection {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
        /// The selection.
        #[arg(long)]
        restore_testing_selection_name: String,
    },
    /// Record an outside validator's verdict on a restore test.
    PutRestoreValidationResult {
        /// The restore job a testing plan started.
        #[arg(long)]
        restore_job_id: String,
        /// SUCCESSFUL, FAILED, TIMED_OUT or VALIDATING.
        #[arg(long)]
        validation_status: String,
        /// Why.
        #[arg(long)]
        validation_status_message: Option<String>,
    },
    /// The restore jobs a plan started, newest first, with their validation and clean-up
    /// status (AWS: `list-restore-jobs --by-restore-testing-plan-arn`).
    ListRestoreJobsByRestoreTestingPlan {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
        /// At most this many (1 to 1000).
        #[arg(long)]
        max_results: Option<i64>,
    },
    /// Bunker extension: restore times by resource type over a plan's tests.
    GetRestoreTestingDurations {
        /// The plan.
        #[arg(long)]
        restore_testing_plan_name: String,
    },
}

/// Runs one restore testing operation in `place`. `None` for operations that print nothing.
pub async fn run(svc: &BackupService, place: &Place, cmd: RestoreTestingCommand) -> Result<Option<Value>, Failure> {
    let (account, region) = (place.account.as_str(), place.region.as_str());
    let plan_keys = ["CreationTime", "RestoreTestingPlanArn", "RestoreTestingPlanName"];
    let output = match cmd {
        RestoreTestingCommand::CreateRestoreTestingPlan { restore_testing_plan, tags, creator_request_id } => {
            let document = restore_testing_plan;
            let tags = super::tags("--tags", tags)?;
            let plan = svc.create_restore_testing_plan(account, region, &document, tags, creator_request_id).await?;
            super::pick(shape(&plan), &plan_keys)
        }
        RestoreTestingCommand::GetRestoreTestingPlan { restore_testing_plan_name } => {
            json!({ "RestoreTestingPlan": shape(&svc.get_restore_testing_plan(account, region, &restore_testing_plan_name).await?) })
        }
        RestoreTestingCommand::ListRestoreTestingPlans => {
            let plans = svc.list_restore_testing_plans(account, region).await?;
            json!({ "RestoreTestingPlans": plans.iter().map(shape).collect::<Vec<_>>() })
        }
        RestoreTestingCommand::UpdateRestoreTestingPlan { restore_testing_plan_name, restore_testing_plan } => {
            let document = restore_testing_plan;
            let plan = svc.update_restore_testing_plan(account, region, &restore_testing_plan_name, &document).await?;
            let mut v = super::pick(shape(&plan), &plan_keys);
            v["UpdateTime"] = shape(&plan)["LastUpdateTime"].clone();
            v
        }
        RestoreTestingCommand::DeleteRestoreTestingPlan { restore_testing_plan_name } => {
            svc.delete_restore_testing_plan(account, region, &restore_testing_plan_name).await?;
            return Ok(None);
        }
        RestoreTestingCommand::CreateRestoreTestingSelection { restore_testing_plan_name, restore_testing_selection, creator_request_id } => {
            let document = restore_testing_selection;
            let sel = svc
                .create_restore_testing_selection(account, region, &restore_testing_plan_name, &document, creator_request_id)
                .await?;
            let plan = svc.get_restore_testing_plan(account, region, &restore_testing_plan_name).await?;
            let mut v = super::pick(shape(&sel), &["CreationTime", "RestoreTestingPlanName", "RestoreTestingSelectionName"]);
            v["RestoreTestingPlanArn"] = json!(plan.restore_testing_plan_arn);
            v
        }
        RestoreTestingCommand::GetRestoreTestingSelection { restore_testing_plan_name, restore_testing_selection_name } => {
            let sel = svc.get_restore_testing_selection(account, region, &restore_testing_plan_name, &restore_testing_selection_name).await?;
            json!({ "RestoreTestingSelection": shape(&sel) })
        }
        RestoreTestingCommand::ListRestoreTestingSelections { restore_testing_plan_name } => {
            let sels = svc.list_restore_testing_selections(account, region, &restore_testing_plan_name).await?;
            json!({ "RestoreTestingSelections": sels.iter().map(shape).collect::<Vec<_>>() })
        }
        RestoreTestingCommand::UpdateRestoreTestingSelection {
            restore_testing_plan_name,
            restore_testing_selection_name,
            restore_testing_selection,
        } => {
            let document = restore_testing_selection;
            let sel = svc
                .update_restore_testing_selection(account, region, &restore_testing_plan_name, &restore_testing_selection_name, &document)
                .await?;
            let plan = svc.get_restore_testing_plan(account, region, &restore_testing_plan_name).await?;
            let mut v = super::pick(shape(&sel), &["CreationTime", "RestoreTestingPlanName", "RestoreTestingSelectionName", "UpdateTime"]);
            v["RestoreTestingPlanArn"] = json!(plan.restore_testing_plan_arn);
            v
        }
        RestoreTestingCommand::DeleteRestoreTestingSelection { restore_testing_plan_name, restore_testing_selection_name } => {
            svc.delete_restore_testing_selection(account, region, &restore_testing_plan_name, &restore_testing_selection_name).await?;
            return Ok(None);
        }
        RestoreTestingCommand::PutRestoreValidationResult { restore_job_id, validation_status, validation_status_message } => {
            svc.put_restore_validation_result(&restore_job_id, &validation_status, validation_status_message).await?;
            return Ok(None);
        }
        RestoreTestingCommand::ListRestoreJobsByRestoreTestingPlan { restore_testing_plan_name, max_results } => {
            let jobs = svc.list_restore_jobs_by_restore_testing_plan(account, region, &restore_testing_plan_name, max_results).await?;
            json!({ "RestoreJobs": jobs.iter().map(shape).collect::<Vec<_>>() })
        }
        RestoreTestingCommand::GetRestoreTestingDurations { restore_testing_plan_name } => {
            let durations = svc.restore_testing_durations(account, region, &restore_testing_plan_name).await?;
            json!({ "RestoreDurations": shape(&durations) })
        }
    };
    Ok(Some(output))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bunker_catalog::Catalog;
    use bunker_core::ManualClock;

    use super::*;

    #[tokio::test]
    async fn plans_and_selections_round_trip_in_aws_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open_file(&dir.path().join("c.db")).await.unwrap();
        let clock = ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap());
        let svc = BackupService::new(catalog, Arc::new(clock), dir.path().join("data"));
        let place = Place { account: "111111111111".into(), region: "eu-west-1".into() };
        let plan_file = dir.path().join("plan.json");
        std::fs::write(&plan_file, r#"{"RestoreTestingPlanName":"weekly","ScheduleExpression":"cron(0 6 ? * SUN *)",
            "RecoveryPointSelection":{"Algorithm":"RANDOM_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"]}}"#).unwrap();
        let cmd = RestoreTestingCommand::CreateRestoreTestingPlan {
            restore_testing_plan: std::fs::read_to_string(&plan_file).unwrap(),
            tags: Some("team=ops".into()),
            creator_request_id: None,
        };
        let out = run(&svc, &place, cmd).await.unwrap().unwrap();
        assert_eq!(out["RestoreTestingPlanName"], "weekly");
        assert!(out["RestoreTestingPlanArn"].as_str().unwrap().starts_with("arn:aws:backup:eu-west-1:111111111111:restore-testing-plan:weekly-"));
        assert!(out.get("CreationTime").is_some() && out.get("ScheduleExpression").is_none(), "{out}");

        let get = RestoreTestingCommand::GetRestoreTestingPlan { restore_testing_plan_name: "weekly".into() };
        let got = run(&svc, &place, get).await.unwrap().unwrap();
        assert_eq!(got["RestoreTestingPlan"]["StartWindowHours"], 24);
        assert_eq!(got["RestoreTestingPlan"]["RecoveryPointSelection"]["Algorithm"], "RANDOM_WITHIN_WINDOW");

        let sel = RestoreTestingCommand::CreateRestoreTestingSelection {
            restore_testing_plan_name: "weekly".into(),
            restore_testing_selection: r#"{"RestoreTestingSelectionName":"dbs","ProtectedResourceType":"SQLite","IamRoleArn":"arn:aws:iam::111111111111:role/rt",
                "ValidationQuery":{"Query":"SELECT 1","ExpectedResult":"1"}}"#.into(),
            creator_request_id: None,
        };
        let out = run(&svc, &place, sel).await.unwrap().unwrap();
        assert_eq!(out["RestoreTestingSelectionName"], "dbs");
        let list = RestoreTestingCommand::ListRestoreTestingSelections { restore_testing_plan_name: "weekly".into() };
        let listed = run(&svc, &place, list).await.unwrap().unwrap();
        assert_eq!(listed["RestoreTestingSelections"][0]["ProtectedResourceArns"][0], "*");

        // A plan with selections cannot be deleted; without them it can.
        let delete = || RestoreTestingCommand::DeleteRestoreTestingPlan { restore_testing_plan_name: "weekly".into() };
        let err = run(&svc, &place, delete()).await.unwrap_err();
        assert_eq!(err.code(), Some("InvalidRequestException"));
        let drop_sel = RestoreTestingCommand::DeleteRestoreTestingSelection {
            restore_testing_plan_name: "weekly".into(),
            restore_testing_selection_name: "dbs".into(),
        };
        assert!(run(&svc, &place, drop_sel).await.unwrap().is_none());
        assert!(run(&svc, &place, delete()).await.unwrap().is_none());
        let plans = run(&svc, &place, RestoreTestingCommand::ListRestoreTestingPlans).await.unwrap().unwrap();
        assert_eq!(plans["RestoreTestingPlans"].as_array().unwrap().len(), 0);
    }
}
