//! Recovery point lifecycle rows: storage class, cold moves, deletions in progress.
//!
//! A move to the cold tier and a deletion each change data in a vault engine repository
//! between catalog writes, so every intermediate state is a row the next lifecycle pass can
//! finish: `status = 'DELETING'` (data being removed, the row goes last) and
//! `warm_snapshot_id` (a point already `COLD` whose warm snapshot is still to forget).

use jiff::Timestamp;

use crate::{RecoveryPointRow, Result, Tx, from_db_time, to_db_time};

/// A point moved to the cold tier whose warm snapshot has not been forgotten yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmLeftover {
    /// The recovery point.
    pub arn: String,
    /// Its vault.
    pub vault_arn: String,
    /// The snapshot to forget in the vault's warm repository.
    pub warm_snapshot_id: String,
}

impl Tx {
    /// Rows selected by `sql` (an `arn` column, `$1`/`$2` bound to `now` and `limit`).
    async fn rows_by_arn(&mut self, sql: &'static str, now: Option<Timestamp>, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        let arns: Vec<String> = match now {
            Some(now) => sqlx::query_scalar(sql).bind(to_db_time(now)).bind(limit).fetch_all(&mut *self.tx).await?,
            None => sqlx::query_scalar(sql).bind(limit).fetch_all(&mut *self.tx).await?,
        };
        let mut out = Vec::with_capacity(arns.len());
        for arn in arns {
            if let Some(r) = self.recovery_point(&arn).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Recovery points whose `DeleteAt` is at or before `now` and not yet being deleted,
    /// oldest first.
    pub async fn recovery_points_due_for_deletion(&mut self, now: Timestamp, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        self.rows_by_arn(
            "SELECT arn FROM recovery_points WHERE delete_at <= $1 AND status <> 'DELETING'
             ORDER BY delete_at, arn LIMIT $2",
            Some(now),
            limit,
        )
        .await
    }

    /// Recovery points marked `DELETING` (a deletion under way, or interrupted).
    pub async fn recovery_points_deleting(&mut self, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        self.rows_by_arn("SELECT arn FROM recovery_points WHERE status = 'DELETING' ORDER BY arn LIMIT $1", None, limit).await
    }

    /// `WARM` recovery points whose move to the cold tier is due at `now` (and whose
    /// deletion is not: those are deleted instead), oldest first.
    pub async fn recovery_points_due_for_cold(&mut self, now: Timestamp, limit: i64) -> Result<Vec<RecoveryPointRow>> {
        self.rows_by_arn(
            "SELECT arn FROM recovery_points
             WHERE storage_class = 'WARM' AND move_to_cold_at <= $1 AND status IN ('COMPLETED', 'PARTIAL')
               AND (delete_at IS NULL OR delete_at > $1)
             ORDER BY move_to_cold_at, arn LIMIT $2",
            Some(now),
            limit,
        )
        .await
    }

    /// Marks a recovery point `DELETING` (unless it is already); false if there is none.
    pub async fn mark_recovery_point_deleting(&mut self, arn: &str, message: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE recovery_points SET status = 'DELETING', status_message = $1 WHERE arn = $2")
            .bind(message)
            .bind(arn)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a move to the cold tier: `COLD`, the snapshot id in the cold repository, and
    /// the warm snapshot still to forget. Only a `WARM`, not-`DELETING` point whose snapshot
    /// is still `warm_snapshot` changes; false otherwise (deleted or moved meanwhile).
    pub async fn set_recovery_point_cold(&mut self, arn: &str, warm_snapshot: &str, cold_snapshot: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_points SET storage_class = 'COLD', snapshot_id = $1, warm_snapshot_id = $2
             WHERE arn = $3 AND storage_class = 'WARM' AND snapshot_id = $2 AND status <> 'DELETING'",
        )
        .bind(cold_snapshot)
        .bind(warm_snapshot)
        .bind(arn)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The warm snapshot of a `COLD` point not yet forgotten in the warm repository.
    pub async fn warm_snapshot_id(&mut self, arn: &str) -> Result<Option<String>> {
        let id: Option<Option<String>> = sqlx::query_scalar("SELECT warm_snapshot_id FROM recovery_points WHERE arn = $1")
            .bind(arn)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(id.flatten())
    }

    /// Points moved to the cold tier whose warm snapshot is still to forget.
    pub async fn warm_leftovers(&mut self, limit: i64) -> Result<Vec<WarmLeftover>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT arn, vault_arn, warm_snapshot_id FROM recovery_points WHERE warm_snapshot_id IS NOT NULL ORDER BY arn LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.into_iter().map(|(arn, vault_arn, warm_snapshot_id)| WarmLeftover { arn, vault_arn, warm_snapshot_id }).collect())
    }

    /// Forgets the warm snapshot of a moved point (it is gone from the warm repository).
    pub async fn clear_warm_snapshot_id(&mut self, arn: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE recovery_points SET warm_snapshot_id = NULL WHERE arn = $1").bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a recovery point's lifecycle and the instants computed from it.
    pub async fn set_recovery_point_lifecycle(
        &mut self,
        arn: &str,
        lifecycle: &str,
        move_to_cold_at: Option<Timestamp>,
        delete_at: Option<Timestamp>,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE recovery_points SET lifecycle = $1, move_to_cold_at = $2, delete_at = $3 WHERE arn = $4")
            .bind(lifecycle)
            .bind(move_to_cold_at.map(to_db_time))
            .bind(delete_at.map(to_db_time))
            .bind(arn)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The earliest move to the cold tier strictly after `after` (of a `WARM` point).
    pub async fn next_cold_move_after(&mut self, after: Timestamp) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(move_to_cold_at) FROM recovery_points
             WHERE storage_class = 'WARM' AND move_to_cold_at > $1 AND status IN ('COMPLETED', 'PARTIAL')",
        )
        .bind(to_db_time(after))
        .fetch_one(&mut *self.tx)
        .await?;
        next.map(from_db_time).transpose()
    }

    /// The earliest `DeleteAt` strictly after `after`.
    pub async fn next_deletion_after(&mut self, after: Timestamp) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(delete_at) FROM recovery_points WHERE delete_at > $1")
            .bind(to_db_time(after))
            .fetch_one(&mut *self.tx)
            .await?;
        next.map(from_db_time).transpose()
    }
}
