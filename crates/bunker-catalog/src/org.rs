//! The organization, its root, and the policy types enabled on the root.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    AccountId, Organization, OrganizationId, PolicyType, PolicyTypeStatus, Result, Root, RootId, TargetKind, Tx,
    from_db_time, to_db_time,
};
use crate::error::CatalogError;

fn organization_from_row(row: &AnyRow) -> Result<Organization> {
    Ok(Organization {
        id: OrganizationId::parse(row.try_get("id")?)?,
        feature_set: row.try_get("feature_set")?,
        management_account_id: AccountId::parse(row.try_get("management_account_id")?)?,
        management_account_email: row.try_get("management_account_email")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

fn root_from_row(row: &AnyRow) -> Result<Root> {
    Ok(Root { id: RootId::parse(row.try_get("id")?)?, name: row.try_get("name")? })
}

fn policy_type_from_row(row: &AnyRow) -> Result<PolicyTypeStatus> {
    let name: String = row.try_get("policy_type")?;
    let policy_type =
        PolicyType::parse(&name).ok_or_else(|| CatalogError::Corrupt(format!("policy type {name:?}")))?;
    Ok(PolicyTypeStatus { policy_type, status: row.try_get("status")? })
}

impl Tx {
    /// The organization, if one was created.
    pub async fn organization(&mut self) -> Result<Option<Organization>> {
        let row = sqlx::query("SELECT * FROM organization").fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(organization_from_row).transpose()
    }

    /// Records the organization and its root. The management account is inserted
    /// separately, with [`Tx::insert_account`], in the same transaction.
    pub async fn insert_organization(&mut self, org: &Organization, root: &Root) -> Result<()> {
        sqlx::query(
            "INSERT INTO organization (id, feature_set, management_account_id, management_account_email, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id.as_str())
        .bind(&org.feature_set)
        .bind(org.management_account_id.as_str())
        .bind(&org.management_account_email)
        .bind(to_db_time(org.created_at))
        .execute(&mut *self.tx)
        .await?;
        self.insert_target(root.id.as_str(), TargetKind::Root).await?;
        sqlx::query("INSERT INTO roots (id, organization_id, name) VALUES ($1, $2, $3)")
            .bind(root.id.as_str())
            .bind(org.id.as_str())
            .bind(&root.name)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Every root (AWS organizations have exactly one).
    pub async fn roots(&mut self) -> Result<Vec<Root>> {
        let rows = sqlx::query("SELECT id, name FROM roots ORDER BY id").fetch_all(&mut *self.tx).await?;
        rows.iter().map(root_from_row).collect()
    }

    /// One root.
    pub async fn root(&mut self, id: &RootId) -> Result<Option<Root>> {
        let row = sqlx::query("SELECT id, name FROM roots WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(root_from_row).transpose()
    }

    /// The policy types enabled on a root, by type name (AWS promises no order).
    pub async fn policy_types(&mut self, root: &RootId) -> Result<Vec<PolicyTypeStatus>> {
        let rows = sqlx::query(
            "SELECT policy_type, status FROM enabled_policy_types WHERE root_id = $1 ORDER BY policy_type",
        )
        .bind(root.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(policy_type_from_row).collect()
    }

    /// Records a policy type as enabled (or pending) on a root.
    pub async fn insert_policy_type(&mut self, root: &RootId, status: &PolicyTypeStatus) -> Result<()> {
        sqlx::query("INSERT INTO enabled_policy_types (root_id, policy_type, status) VALUES ($1, $2, $3)")
            .bind(root.as_str())
            .bind(status.policy_type.as_str())
            .bind(&status.status)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Forgets a policy type on a root. Returns whether it was there.
    pub async fn delete_policy_type(&mut self, root: &RootId, policy_type: PolicyType) -> Result<bool> {
        let done = sqlx::query("DELETE FROM enabled_policy_types WHERE root_id = $1 AND policy_type = $2")
            .bind(root.as_str())
            .bind(policy_type.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
