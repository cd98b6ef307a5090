//! Policies and their attachments to roots, OUs and accounts.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::CatalogError;
use crate::{Policy, PolicyAttachment, PolicyId, PolicyType, Result, TargetId, Tx, from_db_time, to_db_time};

/// `SELECT` of every policy column (as `p`), followed by the rest of the query.
macro_rules! select_policies {
    ($rest:literal) => {
        concat!(
            "SELECT p.id, p.name, p.policy_type, p.description, p.content, CAST(p.aws_managed AS INTEGER) AS aws_managed, p.created_at, ",
            "p.last_updated FROM policies p ",
            $rest
        )
    };
}

fn policy_type(name: &str) -> Result<PolicyType> {
    PolicyType::parse(name).ok_or_else(|| CatalogError::Corrupt(format!("policy type {name:?}")))
}

fn policy_from_row(row: &AnyRow) -> Result<Policy> {
    Ok(Policy {
        id: PolicyId::parse(row.try_get("id")?)?,
        name: row.try_get("name")?,
        policy_type: policy_type(row.try_get("policy_type")?)?,
        description: row.try_get("description")?,
        content: row.try_get("content")?,
        aws_managed: crate::get_bool(row, "aws_managed")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        last_updated: from_db_time(row.try_get("last_updated")?)?,
    })
}

fn attachment_from_row(row: &AnyRow) -> Result<PolicyAttachment> {
    Ok(PolicyAttachment {
        policy_id: PolicyId::parse(row.try_get("policy_id")?)?,
        target_id: TargetId::parse(row.try_get("target_id")?)?,
        seq: row.try_get("seq")?,
        attached_at: from_db_time(row.try_get("attached_at")?)?,
    })
}

impl Tx {
    /// Records a new policy.
    pub async fn insert_policy(&mut self, policy: &Policy) -> Result<()> {
        sqlx::query(
            "INSERT INTO policies (id, name, policy_type, description, content, aws_managed, created_at, last_updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(policy.id.as_str())
        .bind(&policy.name)
        .bind(policy.policy_type.as_str())
        .bind(&policy.description)
        .bind(&policy.content)
        .bind(policy.aws_managed)
        .bind(to_db_time(policy.created_at))
        .bind(to_db_time(policy.last_updated))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Replaces the name, description, content and last-updated time of a policy.
    /// Returns whether it existed.
    pub async fn update_policy(&mut self, policy: &Policy) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE policies SET name = $1, description = $2, content = $3, last_updated = $4 WHERE id = $5",
        )
        .bind(&policy.name)
        .bind(&policy.description)
        .bind(&policy.content)
        .bind(to_db_time(policy.last_updated))
        .bind(policy.id.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a policy. The caller checks it is not attached; the foreign keys refuse
    /// otherwise. Returns whether it existed.
    pub async fn delete_policy(&mut self, id: &PolicyId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM policies WHERE id = $1").bind(id.as_str()).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// One policy.
    pub async fn policy(&mut self, id: &PolicyId) -> Result<Option<Policy>> {
        let row = sqlx::query(select_policies!("WHERE p.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    /// The policy with this exact name.
    pub async fn policy_by_name(&mut self, name: &str) -> Result<Option<Policy>> {
        let row = sqlx::query(select_policies!("WHERE p.name = $1"))
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    /// The policies of one type, oldest first.
    pub async fn policies(&mut self, policy_type: PolicyType) -> Result<Vec<Policy>> {
        let rows = sqlx::query(select_policies!("WHERE p.policy_type = $1 ORDER BY p.created_at, p.id"))
            .bind(policy_type.as_str())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    /// Attaches a policy to a target after every attachment made so far.
    pub async fn attach_policy(
        &mut self,
        policy: &PolicyId,
        target: &TargetId,
        at: Timestamp,
    ) -> Result<PolicyAttachment> {
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM policy_attachments")
            .fetch_one(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO policy_attachments (policy_id, target_id, seq, attached_at) VALUES ($1, $2, $3, $4)")
            .bind(policy.as_str())
            .bind(target.as_str())
            .bind(seq)
            .bind(to_db_time(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(PolicyAttachment { policy_id: policy.clone(), target_id: target.clone(), seq, attached_at: at })
    }

    /// Detaches a policy from a target. Returns whether it was attached.
    pub async fn detach_policy(&mut self, policy: &PolicyId, target: &TargetId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM policy_attachments WHERE policy_id = $1 AND target_id = $2")
            .bind(policy.as_str())
            .bind(target.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Detaches every policy of a type from every target. Returns how many attachments went.
    pub async fn detach_all_of_type(&mut self, policy_type: PolicyType) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM policy_attachments WHERE policy_id IN (SELECT id FROM policies WHERE policy_type = $1)",
        )
        .bind(policy_type.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// The targets a policy is attached to, in attachment order.
    pub async fn attachments_for_policy(&mut self, policy: &PolicyId) -> Result<Vec<PolicyAttachment>> {
        let rows = sqlx::query(
            "SELECT policy_id, target_id, seq, attached_at FROM policy_attachments WHERE policy_id = $1 ORDER BY seq",
        )
        .bind(policy.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(attachment_from_row).collect()
    }

    /// The policies of one type attached to a target, with their attachments, in
    /// attachment order: the order in which they merge.
    pub async fn attached_policies(
        &mut self,
        target: &TargetId,
        policy_type: PolicyType,
    ) -> Result<Vec<(PolicyAttachment, Policy)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, p.policy_type, p.description, p.content, CAST(p.aws_managed AS INTEGER) AS aws_managed, p.created_at,
                    p.last_updated, a.policy_id, a.target_id, a.seq, a.attached_at
             FROM policy_attachments a JOIN policies p ON p.id = a.policy_id
             WHERE a.target_id = $1 AND p.policy_type = $2
             ORDER BY a.seq",
        )
        .bind(target.as_str())
        .bind(policy_type.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|row| Ok((attachment_from_row(row)?, policy_from_row(row)?))).collect()
    }
}
