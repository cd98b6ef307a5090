//! Guardrails on deletion: vault locks (AWS Backup Vault Lock) and legal holds.
//!
//! The rows say what is protected; the backup service decides what a request may do. The
//! queries the lifecycle pass needs answer "due and not protected" in SQL, so a protected
//! point never comes back in every batch.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::resources::{Tags, tags_from_db, tags_to_db};
use crate::{RecoveryPointRow, Result, Tx, from_db_time, to_db_time};

/// Microseconds in a day: the catalog's time unit times 86 400 s.
const DAY_US: i64 = 86_400_000_000;

/// A vault's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultLockRow {
    /// The vault.
    pub vault_arn: String,
    /// `MinRetentionDays`.
    pub min_retention_days: Option<i64>,
    /// `MaxRetentionDays`.
    pub max_retention_days: Option<i64>,
    /// `ChangeableForDays` as last put (compliance mode).
    pub changeable_for_days: Option<i64>,
    /// `LockDate`: from then on the lock cannot change (compliance mode); `None` in
    /// governance mode.
    pub lock_date: Option<Timestamp>,
    /// When first put.
    pub created_at: Timestamp,
    /// When last put.
    pub updated_at: Timestamp,
}

impl VaultLockRow {
    /// Compliance mode in force at `now`: the lock date has come.
    pub fn is_immutable(&self, now: Timestamp) -> bool {
        self.lock_date.is_some_and(|d| now >= d)
    }
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHoldRow {
    /// `LegalHoldId`.
    pub id: String,
    /// `LegalHoldArn`.
    pub arn: String,
    /// The account it was created in.
    pub account_id: String,
    /// Its Region.
    pub region: String,
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `CREATING`, `ACTIVE`, `CANCELING` or `CANCELED`.
    pub status: String,
    /// `CancelDescription`.
    pub cancel_description: Option<String>,
    /// `RecoveryPointSelection` JSON.
    pub selection: String,
    /// Its tags.
    pub tags: Tags,
    /// `IdempotencyToken`.
    pub idempotency_token: Option<String>,
    /// `CreationDate`.
    pub created_at: Timestamp,
    /// `CancellationDate`.
    pub cancelled_at: Option<Timestamp>,
    /// `RetainRecordUntil`.
    pub retain_record_until: Option<Timestamp>,
}

/// Which recovery points a new hold takes: those of the account and Region in any of
/// `vault_arns` (all when empty), of any of `resource_arns` (all when empty), created
/// within `[from, to]`.
#[derive(Debug, Clone, Default)]
pub struct HoldSelection {
    /// Vaults.
    pub vault_arns: Vec<String>,
    /// Resources.
    pub resource_arns: Vec<String>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created at or before.
    pub to: Option<Timestamp>,
}

/// One recovery point of a hold, as `ListRecoveryPointsByLegalHold` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRecoveryPoint {
    /// `RecoveryPointArn`.
    pub arn: String,
    /// Its vault.
    pub vault_arn: String,
    /// `ResourceArn`.
    pub resource_arn: String,
    /// `ResourceType`.
    pub resource_type: String,
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_db_time).transpose()
}

fn lock_from_row(row: &AnyRow) -> Result<VaultLockRow> {
    Ok(VaultLockRow {
        vault_arn: row.try_get("vault_arn")?,
        min_retention_days: row.try_get("min_retention_days")?,
        max_retention_days: row.try_get("max_retention_days")?,
        changeable_for_days: row.try_get("changeable_for_days")?,
        lock_date: opt_time(row, "lock_date")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        updated_at: from_db_time(row.try_get("updated_at")?)?,
    })
}

fn hold_from_row(row: &AnyRow) -> Result<LegalHoldRow> {
    Ok(LegalHoldRow {
        id: row.try_get("id")?,
        arn: row.try_get("arn")?,
        account_id: row.try_get("account_id")?,
        region: row.try_get("region")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        status: row.try_get("status")?,
        cancel_description: row.try_get("cancel_description")?,
        selection: row.try_get("selection")?,
        tags: tags_from_db(row.try_get("tags")?)?,
        idempotency_token: row.try_get("idempotency_token")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        cancelled_at: opt_time(row, "cancelled_at")?,
        retain_record_until: opt_time(row, "retain_record_until")?,
    })
}

const HOLD_COLUMNS: &str = "id, arn, account_id, region, title, description, status, cancel_description, selection, tags,
    idempotency_token, created_at, cancelled_at, retain_record_until";

/// `n` placeholders from `$first`: `$3, $4, $5`.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Tx {
    /// Puts (creates or replaces) a vault's lock.
    pub async fn put_vault_lock(&mut self, l: &VaultLockRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO backup_vault_locks (vault_arn, min_retention_days, max_retention_days, changeable_for_days,
                 lock_date, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (vault_arn) DO UPDATE SET min_retention_days = excluded.min_retention_days,
                 max_retention_days = excluded.max_retention_days, changeable_for_days = excluded.changeable_for_days,
                 lock_date = excluded.lock_date, updated_at = excluded.updated_at",
        )
        .bind(&l.vault_arn)
        .bind(l.min_retention_days)
        .bind(l.max_retention_days)
        .bind(l.changeable_for_days)
        .bind(opt_db_time(l.lock_date))
        .bind(to_db_time(l.created_at))
        .bind(to_db_time(l.updated_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A vault's lock, if it has one.
    pub async fn vault_lock(&mut self, vault_arn: &str) -> Result<Option<VaultLockRow>> {
        let row = sqlx::query("SELECT * FROM backup_vault_locks WHERE vault_arn = $1").bind(vault_arn).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(lock_from_row).transpose()
    }

    /// Removes a vault's lock; false when it had none.
    pub async fn delete_vault_lock(&mut self, vault_arn: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM backup_vault_locks WHERE vault_arn = $1").bind(vault_arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a new legal hold (without its recovery points: see
    /// [`Tx::hold_recovery_points`]).
    pub async fn insert_legal_hold(&mut self, h: &LegalHoldRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO legal_holds (id, arn, account_id, region, title, description, status, cancel_description,
                 selection, tags, idempotency_token, created_at, cancelled_at, retain_record_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&h.id)
        .bind(&h.arn)
        .bind(&h.account_id)
        .bind(&h.region)
        .bind(&h.title)
        .bind(&h.description)
        .bind(&h.status)
        .bind(&h.cancel_description)
        .bind(&h.selection)
        .bind(tags_to_db(&h.tags))
        .bind(&h.idempotency_token)
        .bind(to_db_time(h.created_at))
        .bind(opt_db_time(h.cancelled_at))
        .bind(opt_db_time(h.retain_record_until))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A legal hold by id.
    pub async fn legal_hold(&mut self, id: &str) -> Result<Option<LegalHoldRow>> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(hold_from_row).transpose()
    }

    /// The hold an earlier request with the same idempotency token made in this account and
    /// Region.
    pub async fn legal_hold_by_token(&mut self, account_id: &str, region: &str, token: &str) -> Result<Option<LegalHoldRow>> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE account_id = $1 AND region = $2 AND idempotency_token = $3");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(region).bind(token).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(hold_from_row).transpose()
    }

    /// The holds of an account and Region, oldest first, after the keyset `after`
    /// (creation date, id) of the previous page.
    pub async fn legal_holds(&mut self, account_id: &str, region: &str, after: Option<(Timestamp, &str)>, limit: i64) -> Result<Vec<LegalHoldRow>> {
        let (t, id) = after.map_or((i64::MIN, ""), |(t, id)| (to_db_time(t), id));
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE account_id = $1 AND region = $2
               AND (created_at > $3 OR (created_at = $3 AND id > $4))
             ORDER BY created_at, id LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(region)
            .bind(t)
            .bind(id)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(hold_from_row).collect()
    }

    /// Cancels an `ACTIVE` hold; false when it is not active (or does not exist).
    pub async fn cancel_legal_hold(&mut self, id: &str, description: &str, at: Timestamp, retain_record_until: Option<Timestamp>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE legal_holds SET status = 'CANCELED', cancel_description = $1, cancelled_at = $2, retain_record_until = $3
             WHERE id = $4 AND status = 'ACTIVE'",
        )
        .bind(description)
        .bind(to_db_time(at))
        .bind(opt_db_time(retain_record_until))
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Puts the existing recovery points of `account_id` and `region` that `s` selects under
    /// hold `id` (points being deleted excepted); returns how many.
    pub async fn hold_recovery_points(&mut self, id: &str, account_id: &str, region: &str, s: &HoldSelection) -> Result<u64> {
        let mut sql = String::from(
            "INSERT INTO legal_hold_points (legal_hold_id, recovery_point_arn)
             SELECT $1, arn FROM recovery_points WHERE account_id = $2 AND region = $3 AND status <> 'DELETING'
               AND created_at >= $4 AND created_at <= $5",
        );
        let mut next = 6;
        if !s.vault_arns.is_empty() {
            sql.push_str(&format!(" AND vault_arn IN ({})", placeholders(next, s.vault_arns.len())));
            next += s.vault_arns.len();
        }
        if !s.resource_arns.is_empty() {
            sql.push_str(&format!(" AND resource_arn IN ({})", placeholders(next, s.resource_arns.len())));
        }
        // Values are bound; only placeholders are assembled.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(region)
            .bind(s.from.map_or(i64::MIN, to_db_time))
            .bind(s.to.map_or(i64::MAX, to_db_time));
        for v in s.vault_arns.iter().chain(&s.resource_arns) {
            q = q.bind(v.clone());
        }
        Ok(q.execute(&mut *self.tx).await?.rows_affected())
    }

    /// The recovery points of a hold that still exist, by ARN, after `after`.
    pub async fn legal_hold_recovery_points(&mut self, id: &str, after: Option<&str>, limit: i64) -> Result<Vec<HeldRecoveryPoint>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT rp.arn, rp.vault_arn, rp.resource_arn, rp.resource_type
             FROM legal_hold_points h JOIN recovery_points rp ON rp.arn = h.recovery_point_arn
             WHERE h.legal_hold_id = $1 AND rp.arn > $2
             ORDER BY rp.arn LIMIT $3",
        )
        .bind(id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(arn, vault_arn, resource_arn, resource_type)| HeldRecoveryPoint { arn, vault_arn, resource_arn, resource_type })
            .collect())
    }

    /// The ids of the `ACTIVE` holds on a recovery point.
    pub async fn active_legal_holds_on(&mut self, recovery_point_arn: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT l.id FROM legal_hold_points h JOIN legal_holds l ON l.id = h.legal_hold_id
             WHERE h.recovery_point_arn = $1 AND l.status = 'ACTIVE' ORDER BY l.id",
        )
        .bind(recovery_point_arn)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// The earliest instant strictly after `after` when a vault lock stops keeping a point
    /// whose `DeleteAt` has come by then (its creation + `MinRetentionDays`): lifecycle may
    /// delete it from that instant.
    pub async fn next_lock_release_after(&mut self, after: Timestamp) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(rp.created_at + k.min_retention_days * $2)
             FROM recovery_points rp JOIN backup_vault_locks k ON k.vault_arn = rp.vault_arn
             WHERE k.min_retention_days IS NOT NULL AND rp.status <> 'DELETING'
               AND rp.created_at + k.min_retention_days * $2 > $1
               AND rp.delete_at < rp.created_at + k.min_retention_days * $2",
        )
        .bind(to_db_time(after))
        .bind(DAY_US)
        .fetch_one(&mut *self.tx)
        .await?;
        next.map(from_db_time).transpose()
    }

    /// Recovery points whose `DeleteAt` is at or before `now`, not being deleted, held by
    /// no active legal hold and not kept by their vault's lock (created less than its
    /// `MinRetentionDays` before `now`), oldest first.
    pub async fn recovery_points_deletable_by_lifecycle(&mut self, now: Timestamp, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        let arns: Vec<String> = sqlx::query_scalar(
            "SELECT rp.arn FROM recovery_points rp
             WHERE rp.delete_at <= $1 AND rp.status <> 'DELETING'
               AND NOT EXISTS (SELECT 1 FROM legal_hold_points h JOIN legal_holds l ON l.id = h.legal_hold_id
                               WHERE h.recovery_point_arn = rp.arn AND l.status = 'ACTIVE')
               AND NOT EXISTS (SELECT 1 FROM backup_vault_locks k
                               WHERE k.vault_arn = rp.vault_arn AND k.min_retention_days IS NOT NULL
                                 AND rp.created_at + k.min_retention_days * $3 > $1)
             ORDER BY rp.delete_at, rp.arn LIMIT $2",
        )
        .bind(to_db_time(now))
        .bind(limit)
        .bind(DAY_US)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = Vec::with_capacity(arns.len());
        for arn in arns {
            if let Some(r) = self.recovery_point(&arn).await? {
                out.push(r);
            }
        }
        Ok(out)
    }
}
