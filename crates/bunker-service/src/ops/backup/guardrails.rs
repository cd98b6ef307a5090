//! `bunker backup` Vault Lock and legal holds, as `aws backup …` names and prints them:
//! `put-backup-vault-lock-configuration`, `delete-backup-vault-lock-configuration`,
//! `create-legal-hold`, `cancel-legal-hold`, `get-legal-hold`, `list-legal-holds`,
//! `list-recovery-points-by-legal-hold`.

use bunker_core::BackupService;
use bunker_core::backup::{CreateLegalHold, LegalHoldSelection, PutVaultLock};
use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

use super::{page, pick};
use crate::aws_json::shape;
use crate::failure::Failure;
use crate::scope::Place;

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum GuardrailCommand {
    /// Lock a backup vault (or change its lock while that is allowed): its recovery points
    /// cannot be deleted, nor their retention shortened, before MinRetentionDays; new
    /// points and copies must be kept between MinRetentionDays and MaxRetentionDays. With
    /// --changeable-for-days (3 or more) the lock becomes immutable after that many days
    /// (compliance mode); without, it can be changed or removed at any time (governance
    /// mode).
    PutBackupVaultLockConfiguration {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
        /// Days every recovery point is kept at least.
        #[arg(long)]
        min_retention_days: Option<i64>,
        /// Days a recovery point may be kept at most.
        #[arg(long)]
        max_retention_days: Option<i64>,
        /// Days until the lock becomes immutable (compliance mode).
        #[arg(long)]
        changeable_for_days: Option<i64>,
    },
    /// Remove a vault's lock (refused once it is in compliance mode).
    DeleteBackupVaultLockConfiguration {
        /// The vault.
        #[arg(long)]
        backup_vault_name: String,
    },
    /// Put a legal hold on the recovery points that exist now and match the selection:
    /// none of them can be deleted until the hold is cancelled.
    CreateLegalHold {
        /// The title.
        #[arg(long)]
        title: String,
        /// The description.
        #[arg(long)]
        description: String,
        /// A retry with the same token returns the hold made first.
        #[arg(long)]
        idempotency_token: Option<String>,
        /// `{"VaultNames":[…],"ResourceIdentifiers":[…],"DateRange":{"FromDate":…,"ToDate":…}}`
        /// as JSON or `file://PATH`; left out: every recovery point of the account and
        /// Region.
        #[arg(long)]
        recovery_point_selection: Option<String>,
        /// `k=v,…` or JSON.
        #[arg(long)]
        tags: Option<String>,
    },
    /// Cancel a legal hold: its recovery points may be deleted again (lifecycle deletes
    /// those overdue on its next pass).
    CancelLegalHold {
        /// The hold.
        #[arg(long)]
        legal_hold_id: String,
        /// Why.
        #[arg(long)]
        cancel_description: String,
        /// Days the hold's record is kept after cancelling (forever when left out).
        #[arg(long)]
        retain_record_in_days: Option<i64>,
    },
    /// Describe a legal hold.
    GetLegalHold {
        /// The hold.
        #[arg(long)]
        legal_hold_id: String,
    },
    /// List the legal holds of the account and Region, oldest first.
    ListLegalHolds {
        /// At most this many.
        #[arg(long)]
        max_results: Option<i64>,
        /// Where the previous page ended.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// List the recovery points a legal hold keeps.
    ListRecoveryPointsByLegalHold {
        /// The hold.
        #[arg(long)]
        legal_hold_id: String,
        /// At most this many.
        #[arg(long)]
        max_results: Option<i64>,
        /// Where the previous page ended.
        #[arg(long)]
        next_token: Option<String>,
    },
}

fn selection(value: Option<String>) -> Result<Option<LegalHoldSelection>, Failure> {
    let Some(value) = value else { return Ok(None) };
    let text = value;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Failure::Parameter { name: "--recovery-point-selection", message: format!("invalid RecoveryPointSelection: {e}") })
}

/// Runs one operation in `place`. `None` for operations that print nothing.
pub async fn run(svc: &BackupService, place: &Place, command: GuardrailCommand) -> Result<Option<Value>, Failure> {
    use GuardrailCommand as C;
    let (account, region) = (place.account.as_str(), place.region.as_str());
    let out = match command {
        C::PutBackupVaultLockConfiguration { backup_vault_name, min_retention_days, max_retention_days, changeable_for_days } => {
            let lock = PutVaultLock { min_retention_days, max_retention_days, changeable_for_days };
            svc.put_backup_vault_lock_configuration(account, region, &backup_vault_name, lock).await?;
            return Ok(None);
        }
        C::DeleteBackupVaultLockConfiguration { backup_vault_name } => {
            svc.delete_backup_vault_lock_configuration(account, region, &backup_vault_name).await?;
            return Ok(None);
        }
        C::CreateLegalHold { title, description, idempotency_token, recovery_point_selection, tags } => {
            let req = CreateLegalHold {
                title,
                description,
                idempotency_token,
                recovery_point_selection: selection(recovery_point_selection)?,
                tags: super::tags("--tags", tags)?,
            };
            let hold = svc.create_legal_hold(account, region, req).await?;
            pick(shape(&hold), &["Title", "Status", "Description", "LegalHoldId", "LegalHoldArn", "CreationDate", "RecoveryPointSelection"])
        }
        C::CancelLegalHold { legal_hold_id, cancel_description, retain_record_in_days } => {
            svc.cancel_legal_hold(account, region, &legal_hold_id, &cancel_description, retain_record_in_days).await?;
            return Ok(None);
        }
        C::GetLegalHold { legal_hold_id } => {
            let mut v = shape(&svc.get_legal_hold(account, region, &legal_hold_id).await?);
            // A time whose name `shape` does not recognise as one.
            if let Some(t) = v.get("RetainRecordUntil").and_then(Value::as_str).and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
                v["RetainRecordUntil"] = crate::aws_json::timestamp(t);
            }
            v
        }
        C::ListLegalHolds { max_results, next_token } => {
            let list = svc.list_legal_holds(account, region, max_results, next_token.as_deref()).await?;
            let mut v = page("LegalHolds", &list.items, list.next_token);
            if let Some(items) = v["LegalHolds"].as_array_mut() {
                let keys = ["Title", "Status", "Description", "LegalHoldId", "LegalHoldArn", "CreationDate", "CancellationDate"];
                for item in items.iter_mut() {
                    *item = pick(item.take(), &keys);
                }
            }
            v
        }
        C::ListRecoveryPointsByLegalHold { legal_hold_id, max_results, next_token } => {
            let list = svc.list_recovery_points_by_legal_hold(account, region, &legal_hold_id, max_results, next_token.as_deref()).await?;
            page("RecoveryPoints", &list.items, list.next_token)
        }
    };
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: GuardrailCommand,
    }

    #[test]
    fn aws_cli_names_and_flags() {
        let cli = Cli::try_parse_from([
            "backup",
            "put-backup-vault-lock-configuration",
            "--backup-vault-name",
            "Main",
            "--min-retention-days",
            "100",
            "--max-retention-days",
            "400",
            "--changeable-for-days",
            "3",
        ])
        .unwrap();
        let GuardrailCommand::PutBackupVaultLockConfiguration { min_retention_days, changeable_for_days, .. } = cli.cmd else { panic!() };
        assert_eq!((min_retention_days, changeable_for_days), (Some(100), Some(3)));
        for args in [
            &["backup", "delete-backup-vault-lock-configuration", "--backup-vault-name", "Main"][..],
            &["backup", "create-legal-hold", "--title", "t", "--description", "d", "--recovery-point-selection", "{}"],
            &["backup", "cancel-legal-hold", "--legal-hold-id", "x", "--cancel-description", "done", "--retain-record-in-days", "3"],
            &["backup", "get-legal-hold", "--legal-hold-id", "x"],
            &["backup", "list-legal-holds", "--max-results", "2"],
            &["backup", "list-recovery-points-by-legal-hold", "--legal-hold-id", "x"],
        ] {
            Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
    }

    #[test]
    fn selections_as_the_aws_cli_gives_them() {
        let s = selection(Some(r#"{"VaultNames":["Main"],"DateRange":{"FromDate":1767225600,"ToDate":"2026-02-01T00:00:00Z"}}"#.into()))
            .unwrap()
            .unwrap();
        assert_eq!(s.vault_names, ["Main"]);
        let range = s.date_range.unwrap();
        assert_eq!(range.from_date.to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(range.to_date.to_string(), "2026-02-01T00:00:00Z");
        assert!(matches!(selection(Some(r#"{"Vaults":["Main"]}"#.into())), Err(Failure::Parameter { .. })));
    }
}
