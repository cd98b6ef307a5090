//! Organizational units and accounts: the tree under the root.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    Account, AccountId, CreateAccountRequestId, OrganizationalUnit, OuId, ParentId, Result, TargetKind, Tx,
    from_db_time, to_db_time,
};

fn ou_from_row(row: &AnyRow) -> Result<OrganizationalUnit> {
    Ok(OrganizationalUnit {
        id: OuId::parse(row.try_get("id")?)?,
        name: row.try_get("name")?,
        parent_id: ParentId::parse(row.try_get("parent_id")?)?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

fn account_from_row(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: AccountId::parse(row.try_get("id")?)?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        status: row.try_get("status")?,
        joined_method: row.try_get("joined_method")?,
        joined_at: from_db_time(row.try_get("joined_at")?)?,
        parent_id: ParentId::parse(row.try_get("parent_id")?)?,
        create_request_id: CreateAccountRequestId::parse(row.try_get("create_request_id")?)?,
        requested_at: from_db_time(row.try_get("requested_at")?)?,
    })
}

/// `SELECT` of every OU column, followed by the rest of the query.
macro_rules! select_ous {
    ($rest:literal) => {
        concat!("SELECT id, name, parent_id, created_at FROM organizational_units ", $rest)
    };
}

/// `SELECT` of every account column, followed by the rest of the query.
macro_rules! select_accounts {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, email, status, joined_method, joined_at, parent_id, create_request_id, requested_at ",
            "FROM accounts ",
            $rest
        )
    };
}

impl Tx {
    /// Records an OU (and registers it as a target).
    pub async fn insert_ou(&mut self, ou: &OrganizationalUnit) -> Result<()> {
        self.insert_target(ou.id.as_str(), TargetKind::OrganizationalUnit).await?;
        sqlx::query("INSERT INTO organizational_units (id, name, parent_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(ou.id.as_str())
            .bind(&ou.name)
            .bind(ou.parent_id.as_str())
            .bind(to_db_time(ou.created_at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// One OU.
    pub async fn ou(&mut self, id: &OuId) -> Result<Option<OrganizationalUnit>> {
        let row = sqlx::query(select_ous!("WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(ou_from_row).transpose()
    }

    /// The OUs directly under a parent, oldest first.
    pub async fn ous_in(&mut self, parent: &ParentId) -> Result<Vec<OrganizationalUnit>> {
        let sql = select_ous!("WHERE parent_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(sql).bind(parent.as_str()).fetch_all(&mut *self.tx).await?;
        rows.iter().map(ou_from_row).collect()
    }

    /// Every OU, oldest first.
    pub async fn all_ous(&mut self) -> Result<Vec<OrganizationalUnit>> {
        let sql = select_ous!("ORDER BY created_at, id");
        let rows = sqlx::query(sql).fetch_all(&mut *self.tx).await?;
        rows.iter().map(ou_from_row).collect()
    }

    /// Deletes an OU, its target entry and (by cascade) its policy attachments. The caller
    /// checks that it is empty; the foreign keys refuse otherwise. Returns whether it existed.
    pub async fn delete_ou(&mut self, id: &OuId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM organizational_units WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM targets WHERE id = $1").bind(id.as_str()).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records an account (and registers it as a target).
    pub async fn insert_account(&mut self, account: &Account) -> Result<()> {
        self.insert_target(account.id.as_str(), TargetKind::Account).await?;
        sqlx::query(
            "INSERT INTO accounts (id, name, email, status, joined_method, joined_at, parent_id,
                                   create_request_id, requested_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(account.id.as_str())
        .bind(&account.name)
        .bind(&account.email)
        .bind(&account.status)
        .bind(&account.joined_method)
        .bind(to_db_time(account.joined_at))
        .bind(account.parent_id.as_str())
        .bind(account.create_request_id.as_str())
        .bind(to_db_time(account.requested_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// One account.
    pub async fn account(&mut self, id: &AccountId) -> Result<Option<Account>> {
        let sql = select_accounts!("WHERE id = $1");
        let row = sqlx::query(sql).bind(id.as_str()).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// The account using this email address, compared without regard to case.
    pub async fn account_by_email(&mut self, email: &str) -> Result<Option<Account>> {
        let sql = select_accounts!("WHERE LOWER(email) = LOWER($1)");
        let row = sqlx::query(sql).bind(email).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Every account, in the order they joined.
    pub async fn accounts(&mut self) -> Result<Vec<Account>> {
        let sql = select_accounts!("ORDER BY joined_at, id");
        let rows = sqlx::query(sql).fetch_all(&mut *self.tx).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// The accounts directly under a parent, in the order they joined.
    pub async fn accounts_in(&mut self, parent: &ParentId) -> Result<Vec<Account>> {
        let sql = select_accounts!("WHERE parent_id = $1 ORDER BY joined_at, id");
        let rows = sqlx::query(sql).bind(parent.as_str()).fetch_all(&mut *self.tx).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Moves an account under another parent. Returns whether the account existed.
    pub async fn set_account_parent(&mut self, id: &AccountId, parent: &ParentId) -> Result<bool> {
        let done = sqlx::query("UPDATE accounts SET parent_id = $1 WHERE id = $2")
            .bind(parent.as_str())
            .bind(id.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
