//! Allowed roots: where each account's resources and restore targets may be.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Tx, from_db_time, to_db_time};

/// The allowed roots of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRootsRow {
    /// The account.
    pub account_id: String,
    /// The directories, in the order given.
    pub roots: Vec<String>,
    /// When they were last put.
    pub updated_at: Timestamp,
}

impl Tx {
    /// The account's allowed roots, if it has any.
    pub async fn allowed_roots(&mut self, account_id: &str) -> Result<Option<AllowedRootsRow>> {
        let rows = sqlx::query("SELECT root, updated_at FROM allowed_roots WHERE account_id = $1 ORDER BY position")
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let updated_at = from_db_time(first.try_get("updated_at")?)?;
        let roots = rows.iter().map(|r| r.try_get::<String, _>("root")).collect::<std::result::Result<_, _>>()?;
        Ok(Some(AllowedRootsRow { account_id: account_id.to_owned(), roots, updated_at }))
    }

    /// Replaces the account's allowed roots.
    pub async fn put_allowed_roots(&mut self, row: &AllowedRootsRow) -> Result<()> {
        self.delete_allowed_roots(&row.account_id).await?;
        for (position, root) in (0_i64..).zip(&row.roots) {
            sqlx::query("INSERT INTO allowed_roots (account_id, position, root, updated_at) VALUES ($1, $2, $3, $4)")
                .bind(&row.account_id)
                .bind(position)
                .bind(root)
                .bind(to_db_time(row.updated_at))
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Removes the account's allowed roots; whether it had any.
    pub async fn delete_allowed_roots(&mut self, account_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM allowed_roots WHERE account_id = $1").bind(account_id).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }
}
