//! Principals and resource policies: IAM users and roles, their policies, access keys,
//! MFA devices, vault access policies and delegated administrators.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::{Result, Tx, from_db_time, get_bool, to_db_time};

/// An IAM user or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRow {
    /// `arn:aws:iam::ACCOUNT:user/PATH/NAME` or `…:role/PATH/NAME`.
    pub arn: String,
    /// The owning account.
    pub account_id: String,
    /// `USER` or `ROLE`.
    pub kind: String,
    /// The name, unique per account and kind.
    pub name: String,
    /// `/` or `/division/`.
    pub path: String,
    /// `AIDA…` / `AROA…`.
    pub principal_id: String,
    /// A role's trust policy.
    pub trust_policy: Option<String>,
    /// The longest session a role hands out.
    pub max_session_seconds: i64,
    /// When made.
    pub created_at: Timestamp,
}

/// A policy of a principal: inline (named) or managed (by ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalPolicyRow {
    /// Whose.
    pub principal_arn: String,
    /// The inline policy's name, or the managed policy's ARN.
    pub policy_name: String,
    /// Set for a managed policy.
    pub policy_arn: Option<String>,
    /// The document.
    pub document: String,
}

/// An access key: long-term (a user's) or temporary (a session's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRow {
    /// `AKIA…` (long-term) or `ASIA…` (temporary).
    pub access_key_id: String,
    /// The user, or the role a session assumed (the user for a session token).
    pub principal_arn: String,
    /// The secret sealed by the instance master key, hex.
    pub secret_sealed: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// When made.
    pub created_at: Timestamp,
    /// SHA-256 of the session token (temporary keys).
    pub session_token_hash: Option<String>,
    /// When temporary credentials stop working.
    pub expires_at: Option<Timestamp>,
    /// The session's ARN (`arn:aws:sts::A:assumed-role/R/S`).
    pub session_arn: Option<String>,
    /// Whether MFA was shown for the session.
    pub mfa_authenticated: bool,
}

/// A virtual MFA device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDeviceRow {
    /// `arn:aws:iam::ACCOUNT:mfa/NAME`.
    pub serial_number: String,
    /// The owning account.
    pub account_id: String,
    /// The user it is enabled for.
    pub principal_arn: Option<String>,
    /// The TOTP seed sealed by the instance master key, hex.
    pub seed_sealed: String,
    /// Enabled (two consecutive codes shown).
    pub enabled: bool,
    /// The last time step whose code was accepted.
    pub last_used_step: i64,
    /// When made.
    pub created_at: Timestamp,
}

fn principal_from_row(row: &AnyRow) -> Result<PrincipalRow> {
    Ok(PrincipalRow {
        arn: row.try_get("arn")?,
        account_id: row.try_get("account_id")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        principal_id: row.try_get("principal_id")?,
        trust_policy: row.try_get("trust_policy")?,
        max_session_seconds: row.try_get("max_session_seconds")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

fn key_from_row(row: &AnyRow) -> Result<AccessKeyRow> {
    Ok(AccessKeyRow {
        access_key_id: row.try_get("access_key_id")?,
        principal_arn: row.try_get("principal_arn")?,
        secret_sealed: row.try_get("secret_sealed")?,
        status: row.try_get("status")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        session_token_hash: row.try_get("session_token_hash")?,
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(from_db_time).transpose()?,
        session_arn: row.try_get("session_arn")?,
        mfa_authenticated: get_bool(row, "mfa_authenticated")?,
    })
}

fn mfa_from_row(row: &AnyRow) -> Result<MfaDeviceRow> {
    Ok(MfaDeviceRow {
        serial_number: row.try_get("serial_number")?,
        account_id: row.try_get("account_id")?,
        principal_arn: row.try_get("principal_arn")?,
        seed_sealed: row.try_get("seed_sealed")?,
        enabled: get_bool(row, "enabled")?,
        last_used_step: row.try_get("last_used_step")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
    })
}

const PRINCIPAL_COLUMNS: &str =
    "arn, account_id, kind, name, path, principal_id, trust_policy, max_session_seconds, created_at";
const KEY_COLUMNS: &str = "access_key_id, principal_arn, secret_sealed, status, created_at, session_token_hash, expires_at, \
     session_arn, CAST(mfa_authenticated AS INTEGER) AS mfa_authenticated";
const MFA_COLUMNS: &str = "serial_number, account_id, principal_arn, seed_sealed, CAST(enabled AS INTEGER) AS enabled, \
     last_used_step, created_at";

impl Tx {
    /// Records a user or role.
    pub async fn insert_principal(&mut self, p: &PrincipalRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO iam_principals (arn, account_id, kind, name, path, principal_id, trust_policy,
                 max_session_seconds, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&p.arn)
        .bind(&p.account_id)
        .bind(&p.kind)
        .bind(&p.name)
        .bind(&p.path)
        .bind(&p.principal_id)
        .bind(&p.trust_policy)
        .bind(p.max_session_seconds)
        .bind(to_db_time(p.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A user or role by ARN.
    pub async fn principal(&mut self, arn: &str) -> Result<Option<PrincipalRow>> {
        let sql = format!("SELECT {PRINCIPAL_COLUMNS} FROM iam_principals WHERE arn = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(arn).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(principal_from_row).transpose()
    }

    /// An account's users or roles, by name.
    pub async fn principals(&mut self, account_id: &str, kind: &str) -> Result<Vec<PrincipalRow>> {
        let sql = format!("SELECT {PRINCIPAL_COLUMNS} FROM iam_principals WHERE account_id = $1 AND kind = $2 ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(kind).fetch_all(&mut *self.tx).await?;
        rows.iter().map(principal_from_row).collect()
    }

    /// Replaces a role's trust policy; false if there is no such principal.
    pub async fn set_trust_policy(&mut self, arn: &str, document: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE iam_principals SET trust_policy = $1 WHERE arn = $2")
            .bind(document)
            .bind(arn)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a user or role with its policies and access keys; false if absent.
    pub async fn delete_principal(&mut self, arn: &str) -> Result<bool> {
        for table in ["iam_principal_policies", "iam_access_keys"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE principal_arn = $1"))).bind(arn).execute(&mut *self.tx).await?;
        }
        let done = sqlx::query("DELETE FROM iam_principals WHERE arn = $1").bind(arn).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Puts (or replaces) a principal's policy.
    pub async fn put_principal_policy(&mut self, p: &PrincipalPolicyRow) -> Result<()> {
        self.delete_principal_policy(&p.principal_arn, &p.policy_name).await?;
        sqlx::query("INSERT INTO iam_principal_policies (principal_arn, policy_name, policy_arn, document) VALUES ($1, $2, $3, $4)")
            .bind(&p.principal_arn)
            .bind(&p.policy_name)
            .bind(&p.policy_arn)
            .bind(&p.document)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Removes a principal's policy; false if it had none by that name.
    pub async fn delete_principal_policy(&mut self, principal_arn: &str, policy_name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM iam_principal_policies WHERE principal_arn = $1 AND policy_name = $2")
            .bind(principal_arn)
            .bind(policy_name)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A principal's policies, by name.
    pub async fn principal_policies(&mut self, principal_arn: &str) -> Result<Vec<PrincipalPolicyRow>> {
        let rows = sqlx::query(
            "SELECT principal_arn, policy_name, policy_arn, document FROM iam_principal_policies
             WHERE principal_arn = $1 ORDER BY policy_name",
        )
        .bind(principal_arn)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PrincipalPolicyRow {
                    principal_arn: row.try_get("principal_arn")?,
                    policy_name: row.try_get("policy_name")?,
                    policy_arn: row.try_get("policy_arn")?,
                    document: row.try_get("document")?,
                })
            })
            .collect()
    }

    /// Records an access key.
    pub async fn insert_access_key(&mut self, k: &AccessKeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO iam_access_keys (access_key_id, principal_arn, secret_sealed, status, created_at,
                 session_token_hash, expires_at, session_arn, mfa_authenticated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&k.access_key_id)
        .bind(&k.principal_arn)
        .bind(&k.secret_sealed)
        .bind(&k.status)
        .bind(to_db_time(k.created_at))
        .bind(&k.session_token_hash)
        .bind(opt_db_time(k.expires_at))
        .bind(&k.session_arn)
        .bind(k.mfa_authenticated)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// An access key by id.
    pub async fn access_key(&mut self, id: &str) -> Result<Option<AccessKeyRow>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM iam_access_keys WHERE access_key_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// A principal's long-term access keys.
    pub async fn access_keys_of(&mut self, principal_arn: &str) -> Result<Vec<AccessKeyRow>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM iam_access_keys WHERE principal_arn = $1 AND session_token_hash IS NULL ORDER BY created_at, access_key_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(principal_arn).fetch_all(&mut *self.tx).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Sets a key `Active` or `Inactive`; false if absent.
    pub async fn set_access_key_status(&mut self, id: &str, status: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE iam_access_keys SET status = $1 WHERE access_key_id = $2")
            .bind(status)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a key; false if absent.
    pub async fn delete_access_key(&mut self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM iam_access_keys WHERE access_key_id = $1").bind(id).execute(&mut *self.tx).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets temporary credentials that expired before `before`.
    pub async fn delete_expired_sessions(&mut self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM iam_access_keys WHERE expires_at IS NOT NULL AND expires_at < $1")
            .bind(to_db_time(before))
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records an MFA device.
    pub async fn insert_mfa_device(&mut self, d: &MfaDeviceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO iam_mfa_devices (serial_number, account_id, principal_arn, seed_sealed, enabled, last_used_step, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&d.serial_number)
        .bind(&d.account_id)
        .bind(&d.principal_arn)
        .bind(&d.seed_sealed)
        .bind(d.enabled)
        .bind(d.last_used_step)
        .bind(to_db_time(d.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// An MFA device by serial number.
    pub async fn mfa_device(&mut self, serial_number: &str) -> Result<Option<MfaDeviceRow>> {
        let sql = format!("SELECT {MFA_COLUMNS} FROM iam_mfa_devices WHERE serial_number = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(serial_number).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(mfa_from_row).transpose()
    }

    /// The MFA devices enabled for a user.
    pub async fn mfa_devices_of(&mut self, principal_arn: &str) -> Result<Vec<MfaDeviceRow>> {
        let sql = format!("SELECT {MFA_COLUMNS} FROM iam_mfa_devices WHERE principal_arn = $1 ORDER BY serial_number");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(principal_arn).fetch_all(&mut *self.tx).await?;
        rows.iter().map(mfa_from_row).collect()
    }

    /// Enables a device for a user at `step`.
    pub async fn enable_mfa_device(&mut self, serial_number: &str, principal_arn: &str, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE iam_mfa_devices SET principal_arn = $1, enabled = $2, last_used_step = $3 WHERE serial_number = $4",
        )
        .bind(principal_arn)
        .bind(true)
        .bind(step)
        .bind(serial_number)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Accepts a code of time step `step` once: false if that step (or a later one) was used.
    pub async fn use_mfa_step(&mut self, serial_number: &str, step: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE iam_mfa_devices SET last_used_step = $1 WHERE serial_number = $2 AND last_used_step < $1")
            .bind(step)
            .bind(serial_number)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A vault's access policy.
    pub async fn vault_access_policy(&mut self, vault_arn: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT document FROM backup_vault_access_policies WHERE vault_arn = $1")
            .bind(vault_arn)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("document")).transpose()?)
    }

    /// Puts (or replaces) a vault's access policy.
    pub async fn put_vault_access_policy(&mut self, vault_arn: &str, document: &str, now: Timestamp) -> Result<()> {
        self.delete_vault_access_policy(vault_arn).await?;
        sqlx::query("INSERT INTO backup_vault_access_policies (vault_arn, document, updated_at) VALUES ($1, $2, $3)")
            .bind(vault_arn)
            .bind(document)
            .bind(to_db_time(now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Removes a vault's access policy; false if it had none.
    pub async fn delete_vault_access_policy(&mut self, vault_arn: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM backup_vault_access_policies WHERE vault_arn = $1")
            .bind(vault_arn)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Accounts registered as delegated administrator for a service principal.
    pub async fn delegated_administrators(&mut self, service_principal: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT account_id FROM delegated_administrators WHERE service_principal = $1 ORDER BY account_id")
            .bind(service_principal)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("account_id")?)).collect()
    }

    /// Registers a delegated administrator.
    pub async fn insert_delegated_administrator(&mut self, account_id: &str, service_principal: &str, now: Timestamp) -> Result<()> {
        sqlx::query("INSERT INTO delegated_administrators (account_id, service_principal, registered_at) VALUES ($1, $2, $3)")
            .bind(account_id)
            .bind(service_principal)
            .bind(to_db_time(now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Deregisters one; false if it was not registered.
    pub async fn delete_delegated_administrator(&mut self, account_id: &str, service_principal: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM delegated_administrators WHERE account_id = $1 AND service_principal = $2")
            .bind(account_id)
            .bind(service_principal)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// A request for a second principal's approval (two-person rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    /// `apr-…`.
    pub id: String,
    /// The account whose rule asked for it.
    pub account_id: String,
    /// The guarded action (`kms:ScheduleKeyDeletion`).
    pub action: String,
    /// On what.
    pub resource: String,
    /// Who asked (the caller's ARN).
    pub requester_arn: String,
    /// Who approved.
    pub approver_arn: Option<String>,
    /// `PENDING`, `APPROVED` or `USED`.
    pub status: String,
    /// When asked.
    pub created_at: Timestamp,
    /// When it lapses unless used.
    pub expires_at: Timestamp,
    /// When approved or used.
    pub decided_at: Option<Timestamp>,
}

fn approval_from_row(row: &AnyRow) -> Result<ApprovalRow> {
    Ok(ApprovalRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        action: row.try_get("action")?,
        resource: row.try_get("resource")?,
        requester_arn: row.try_get("requester_arn")?,
        approver_arn: row.try_get("approver_arn")?,
        status: row.try_get("status")?,
        created_at: from_db_time(row.try_get("created_at")?)?,
        expires_at: from_db_time(row.try_get("expires_at")?)?,
        decided_at: row.try_get::<Option<i64>, _>("decided_at")?.map(from_db_time).transpose()?,
    })
}

impl Tx {
    /// When the account turned the two-person rule on, if it did.
    pub async fn two_person_rule(&mut self, account_id: &str) -> Result<Option<Timestamp>> {
        let row = sqlx::query("SELECT enabled_at FROM two_person_rules WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| from_db_time(r.try_get("enabled_at")?)).transpose()
    }

    /// Turns the rule on (`Some(now)`) or off (`None`).
    pub async fn set_two_person_rule(&mut self, account_id: &str, enabled_at: Option<Timestamp>) -> Result<()> {
        sqlx::query("DELETE FROM two_person_rules WHERE account_id = $1").bind(account_id).execute(&mut *self.tx).await?;
        if let Some(at) = enabled_at {
            sqlx::query("INSERT INTO two_person_rules (account_id, enabled_at) VALUES ($1, $2)")
                .bind(account_id)
                .bind(to_db_time(at))
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Records an approval request.
    pub async fn insert_approval(&mut self, a: &ApprovalRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO approval_requests (id, account_id, action, resource, requester_arn, approver_arn, status, created_at,
                 expires_at, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&a.id)
        .bind(&a.account_id)
        .bind(&a.action)
        .bind(&a.resource)
        .bind(&a.requester_arn)
        .bind(&a.approver_arn)
        .bind(&a.status)
        .bind(to_db_time(a.created_at))
        .bind(to_db_time(a.expires_at))
        .bind(opt_db_time(a.decided_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// An approval request by id.
    pub async fn approval(&mut self, id: &str) -> Result<Option<ApprovalRow>> {
        let row = sqlx::query("SELECT * FROM approval_requests WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(approval_from_row).transpose()
    }

    /// An account's approval requests, newest first.
    pub async fn approvals(&mut self, account_id: &str) -> Result<Vec<ApprovalRow>> {
        let rows = sqlx::query("SELECT * FROM approval_requests WHERE account_id = $1 ORDER BY created_at DESC, id")
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(approval_from_row).collect()
    }

    /// Moves a request from `status_was` to `status` (approving or using it); false when
    /// another process moved it first.
    pub async fn decide_approval(&mut self, id: &str, status_was: &str, status: &str, approver: Option<&str>, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE approval_requests SET status = $1, approver_arn = COALESCE($2, approver_arn), decided_at = $3
             WHERE id = $4 AND status = $5",
        )
        .bind(status)
        .bind(approver)
        .bind(to_db_time(at))
        .bind(id)
        .bind(status_was)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
