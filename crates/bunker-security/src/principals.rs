//! IAM users and roles, their policies and access keys; authentication of access keys;
//! STS: `GetCallerIdentity`, `AssumeRole`, `GetSessionToken`.
//!
//! Secrets (access key secrets, session secrets) are sealed by the instance master key:
//! a future request-signing front end needs the secret itself to check a signature, so a
//! one-way hash would not do. Session tokens are only compared, so only their SHA-256 is kept.

use bunker_catalog::{AccessKeyRow, PrincipalPolicyRow, PrincipalRow};
use bunker_iam::quotas::PolicySizeQuota;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::master_key::random;
use super::{Caller, IdentityType, Security, SecurityError, SecurityResult};

const SECRET_PURPOSE: &str = "iam access key secret";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The AWS managed policies Bunker knows by ARN.
pub const MANAGED_POLICIES: &[(&str, &str)] = &[
    (
        "arn:aws:iam::aws:policy/AdministratorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["backup:Describe*","backup:Get*","backup:List*","organizations:Describe*","organizations:List*","kms:Describe*","kms:Get*","kms:List*","iam:Get*","iam:List*","cloudtrail:LookupEvents"],"Resource":"*"}]}"#,
    ),
    (
        "arn:aws:iam::aws:policy/AWSBackupFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["backup:*","bunker:*","kms:DescribeKey","kms:ListKeys","kms:ListAliases","kms:CreateGrant","kms:GenerateDataKey","kms:Decrypt","kms:Encrypt","organizations:Describe*","organizations:List*"],"Resource":"*"}]}"#,
    ),
    (
        // As AWS's operator policy: run and watch jobs, never delete or change guardrails.
        "arn:aws:iam::aws:policy/AWSBackupOperatorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["backup:Describe*","backup:Get*","backup:List*","backup:StartBackupJob","backup:StartRestoreJob","backup:StartCopyJob","backup:StopBackupJob","backup:CopyIntoBackupVault","backup:TagResource","bunker:Describe*","bunker:List*","kms:DescribeKey","kms:ListKeys","kms:ListAliases","kms:Decrypt","kms:GenerateDataKey"],"Resource":"*"}]}"#,
    ),
];

/// `User` of `CreateUser`, `GetUser`, `ListUsers`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    /// `Path`.
    pub path: String,
    /// `UserName`.
    pub user_name: String,
    /// `UserId`.
    pub user_id: String,
    /// `Arn`.
    pub arn: String,
    /// `CreateDate`.
    pub create_date: Timestamp,
}

/// `Role` of `CreateRole`, `GetRole`, `ListRoles`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    /// `Path`.
    pub path: String,
    /// `RoleName`.
    pub role_name: String,
    /// `RoleId`.
    pub role_id: String,
    /// `Arn`.
    pub arn: String,
    /// `CreateDate`.
    pub create_date: Timestamp,
    /// `AssumeRolePolicyDocument`.
    pub assume_role_policy_document: serde_json::Value,
    /// `MaxSessionDuration` (seconds).
    pub max_session_duration: i64,
}

/// `AccessKey` of `CreateAccessKey` (the secret is shown this once) and `ListAccessKeys`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    /// `UserName`.
    pub user_name: String,
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// `Status`.
    pub status: String,
    /// `SecretAccessKey` (only when made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// `CreateDate`.
    pub create_date: Timestamp,
}

/// `Credentials` of `AssumeRole` and `GetSessionToken`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    /// `AccessKeyId` (`ASIA…`).
    pub access_key_id: String,
    /// `SecretAccessKey`.
    pub secret_access_key: String,
    /// `SessionToken`.
    pub session_token: String,
    /// `Expiration`.
    pub expiration: Timestamp,
}

/// `GetCallerIdentity`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    /// `UserId`.
    pub user_id: String,
    /// `Account`.
    pub account: String,
    /// `Arn`.
    pub arn: String,
}

fn random_text(n: usize) -> String {
    let bytes: [u8; 64] = random();
    bytes[..n].iter().map(|b| UPPER_ALNUM[usize::from(*b) % UPPER_ALNUM.len()] as char).collect()
}

/// The alphabet of AWS secret access keys.
const SECRET_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A secret access key: 40 characters, each from its own byte of the operating system's
/// CSPRNG (240 bits). 256 is a multiple of 64, so `byte % 64` is uniform.
fn secret_text() -> String {
    let bytes: [u8; 40] = random();
    bytes.iter().map(|b| char::from(SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()])).collect()
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_name(what: &str, name: &str) -> SecurityResult<()> {
    let ok = (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SecurityError::InvalidParameterValue(format!(
            "{what} `{name}` must be 1 to 64 letters, digits or +=,.@_-"
        )))
    }
}

/// IAM's size quota for `documents` together, as IAM's `LimitExceeded`.
fn policy_size<'a>(quota: PolicySizeQuota, documents: impl IntoIterator<Item = &'a str>) -> SecurityResult<()> {
    bunker_iam::quotas::check_policy_size(quota, documents).map_err(|e| SecurityError::LimitExceeded(e.to_string()))
}

/// Parses a policy document, naming the JSON path and rule of every error.
pub fn parse_policy(what: &str, text: &str) -> SecurityResult<bunker_iam::PolicyDocument> {
    bunker_iam::PolicyDocument::parse(text)
        .map_err(|e| SecurityError::MalformedPolicyDocument(format!("The {what} is not a valid IAM policy document:\n{e}")))
}

fn arn_of(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

fn user_shape(p: &PrincipalRow) -> User {
    User { path: p.path.clone(), user_name: p.name.clone(), user_id: p.principal_id.clone(), arn: p.arn.clone(), create_date: p.created_at }
}

fn role_shape(p: &PrincipalRow) -> Role {
    Role {
        path: p.path.clone(),
        role_name: p.name.clone(),
        role_id: p.principal_id.clone(),
        arn: p.arn.clone(),
        create_date: p.created_at,
        assume_role_policy_document: p.trust_policy.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default(),
        max_session_duration: p.max_session_seconds,
    }
}

impl Security {
    /// Any 12-digit account may hold principals: accounts outside the organization are
    /// standalone accounts, as in AWS (their principals get no `aws:PrincipalOrgID`).
    async fn require_account(&self, account: &str) -> SecurityResult<()> {
        bunker_catalog::AccountId::parse(account).map_err(|e| SecurityError::InvalidParameterValue(e.to_string()))?;
        Ok(())
    }

    async fn create_principal(&self, account: &str, kind: &str, name: &str, path: Option<&str>, trust: Option<String>, max_session: i64) -> SecurityResult<PrincipalRow> {
        check_name(if kind == "USER" { "user name" } else { "role name" }, name)?;
        let path = path.unwrap_or("/").to_owned();
        if !path.starts_with('/') || !path.ends_with('/') {
            return Err(SecurityError::InvalidParameterValue(format!("path `{path}` must begin and end with /")));
        }
        self.require_account(account).await?;
        let word = if kind == "USER" { "user/" } else { "role/" };
        let row = PrincipalRow {
            arn: arn_of(account, word, &path[1..], name),
            account_id: account.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            path,
            principal_id: format!("{}{}", if kind == "USER" { "AIDA" } else { "AROA" }, random_text(17)),
            trust_policy: trust,
            max_session_seconds: max_session,
            created_at: self.now(),
        };
        let mut tx = self.catalog.write().await?;
        if tx.principals(account, kind).await?.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(SecurityError::EntityAlreadyExists(format!("{} with name {name} already exists.", if kind == "USER" { "User" } else { "Role" })));
        }
        tx.insert_principal(&row).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn principal_named(&self, account: &str, kind: &str, name: &str) -> SecurityResult<PrincipalRow> {
        let mut tx = self.catalog.read().await?;
        tx.principals(account, kind).await?.into_iter().find(|p| p.name == name).ok_or_else(|| {
            SecurityError::NoSuchEntity(format!(
                "The {} with name {name} cannot be found.",
                if kind == "USER" { "user" } else { "role" }
            ))
        })
    }

    /// `CreateUser`.
    pub async fn create_user(&self, account: &str, name: &str, path: Option<&str>) -> SecurityResult<User> {
        Ok(user_shape(&self.create_principal(account, "USER", name, path, None, 3600).await?))
    }

    /// `GetUser`.
    pub async fn get_user(&self, account: &str, name: &str) -> SecurityResult<User> {
        Ok(user_shape(&self.principal_named(account, "USER", name).await?))
    }

    /// `ListUsers`.
    pub async fn list_users(&self, account: &str) -> SecurityResult<Vec<User>> {
        Ok(self.catalog.read().await?.principals(account, "USER").await?.iter().map(user_shape).collect())
    }

    /// `DeleteUser` (with its policies and keys).
    pub async fn delete_user(&self, account: &str, name: &str) -> SecurityResult<()> {
        let p = self.principal_named(account, "USER", name).await?;
        let mut tx = self.catalog.write().await?;
        tx.delete_principal(&p.arn).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `CreateRole`: the trust policy says who may assume it.
    pub async fn create_role(&self, account: &str, name: &str, trust_policy: &str, path: Option<&str>, max_session_seconds: Option<i64>) -> SecurityResult<Role> {
        policy_size(PolicySizeQuota::RoleTrust, [trust_policy])?;
        parse_policy("AssumeRolePolicyDocument", trust_policy)?;
        let max = max_session_seconds.unwrap_or(3600);
        if !(900..=43_200).contains(&max) {
            return Err(SecurityError::InvalidParameterValue(format!("MaxSessionDuration must be 900 to 43200 seconds, not {max}")));
        }
        Ok(role_shape(&self.create_principal(account, "ROLE", name, path, Some(trust_policy.to_owned()), max).await?))
    }

    /// `GetRole`.
    pub async fn get_role(&self, account: &str, name: &str) -> SecurityResult<Role> {
        Ok(role_shape(&self.principal_named(account, "ROLE", name).await?))
    }

    /// `ListRoles`.
    pub async fn list_roles(&self, account: &str) -> SecurityResult<Vec<Role>> {
        Ok(self.catalog.read().await?.principals(account, "ROLE").await?.iter().map(role_shape).collect())
    }

    /// `DeleteRole`.
    pub async fn delete_role(&self, account: &str, name: &str) -> SecurityResult<()> {
        let p = self.principal_named(account, "ROLE", name).await?;
        let mut tx = self.catalog.write().await?;
        tx.delete_principal(&p.arn).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `UpdateAssumeRolePolicy`.
    pub async fn update_assume_role_policy(&self, account: &str, name: &str, document: &str) -> SecurityResult<()> {
        policy_size(PolicySizeQuota::RoleTrust, [document])?;
        parse_policy("AssumeRolePolicyDocument", document)?;
        let p = self.principal_named(account, "ROLE", name).await?;
        let mut tx = self.catalog.write().await?;
        tx.set_trust_policy(&p.arn, document).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `PutUserPolicy` / `PutRolePolicy` (`kind` `USER` or `ROLE`).
    pub async fn put_inline_policy(&self, account: &str, kind: &str, name: &str, policy_name: &str, document: &str) -> SecurityResult<()> {
        check_name("policy name", policy_name)?;
        parse_policy("policy document", document)?;
        let p = self.principal_named(account, kind, name).await?;
        let mut tx = self.catalog.write().await?;
        // IAM counts a principal's inline policies together (the one replaced excepted).
        let others = tx.principal_policies(&p.arn).await?;
        let inline = others.iter().filter(|o| o.policy_arn.is_none() && o.policy_name != policy_name).map(|o| o.document.as_str());
        let quota = if kind == "ROLE" { PolicySizeQuota::RoleInline } else { PolicySizeQuota::UserInline };
        policy_size(quota, inline.chain([document]))?;
        tx.put_principal_policy(&PrincipalPolicyRow {
            principal_arn: p.arn,
            policy_name: policy_name.to_owned(),
            policy_arn: None,
            document: document.to_owned(),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `AttachUserPolicy` / `AttachRolePolicy` for the AWS managed policies Bunker knows.
    pub async fn attach_managed_policy(&self, account: &str, kind: &str, name: &str, policy_arn: &str) -> SecurityResult<()> {
        let Some((_, document)) = MANAGED_POLICIES.iter().find(|(arn, _)| *arn == policy_arn) else {
            let known: Vec<_> = MANAGED_POLICIES.iter().map(|(a, _)| *a).collect();
            return Err(SecurityError::NoSuchEntity(format!("Policy {policy_arn} does not exist or is not attachable (known: {})", known.join(", "))));
        };
        let p = self.principal_named(account, kind, name).await?;
        let mut tx = self.catalog.write().await?;
        tx.put_principal_policy(&PrincipalPolicyRow {
            principal_arn: p.arn,
            policy_name: policy_arn.to_owned(),
            policy_arn: Some(policy_arn.to_owned()),
            document: (*document).to_owned(),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DeleteUserPolicy` / `DetachUserPolicy` (and the role ones): by name or managed ARN.
    pub async fn remove_policy(&self, account: &str, kind: &str, name: &str, policy: &str) -> SecurityResult<()> {
        let p = self.principal_named(account, kind, name).await?;
        let mut tx = self.catalog.write().await?;
        if !tx.delete_principal_policy(&p.arn, policy).await? {
            return Err(SecurityError::NoSuchEntity(format!("{name} has no policy {policy}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every policy of a user or role: `(name, managed ARN, document)`.
    pub async fn policies_of(&self, account: &str, kind: &str, name: &str) -> SecurityResult<Vec<PrincipalPolicyRow>> {
        let p = self.principal_named(account, kind, name).await?;
        Ok(self.catalog.read().await?.principal_policies(&p.arn).await?)
    }

    /// `CreateAccessKey`: the secret is returned this once.
    pub async fn create_access_key(&self, account: &str, user: &str) -> SecurityResult<AccessKey> {
        let p = self.principal_named(account, "USER", user).await?;
        let mut tx = self.catalog.write().await?;
        if tx.access_keys_of(&p.arn).await?.len() >= 2 {
            return Err(SecurityError::InvalidParameterValue(format!("LimitExceeded: user {user} already has 2 access keys")));
        }
        let id = format!("AKIA{}", random_text(16));
        let secret = secret_text();
        let row = AccessKeyRow {
            access_key_id: id.clone(),
            principal_arn: p.arn,
            secret_sealed: hex::encode(self.master.seal(SECRET_PURPOSE, id.as_bytes(), secret.as_bytes())),
            status: "Active".into(),
            created_at: self.now(),
            session_token_hash: None,
            expires_at: None,
            session_arn: None,
            mfa_authenticated: false,
        };
        tx.insert_access_key(&row).await?;
        tx.commit().await?;
        Ok(AccessKey { user_name: user.to_owned(), access_key_id: id, status: row.status, secret_access_key: Some(secret), create_date: row.created_at })
    }

    /// `ListAccessKeys` (no secrets).
    pub async fn list_access_keys(&self, account: &str, user: &str) -> SecurityResult<Vec<AccessKey>> {
        let p = self.principal_named(account, "USER", user).await?;
        let keys = self.catalog.read().await?.access_keys_of(&p.arn).await?;
        Ok(keys
            .into_iter()
            .map(|k| AccessKey { user_name: user.to_owned(), access_key_id: k.access_key_id, status: k.status, secret_access_key: None, create_date: k.created_at })
            .collect())
    }

    /// `UpdateAccessKey` (`Active` / `Inactive`).
    pub async fn update_access_key(&self, account: &str, user: &str, id: &str, status: &str) -> SecurityResult<()> {
        if status != "Active" && status != "Inactive" {
            return Err(SecurityError::InvalidParameterValue(format!("Status must be Active or Inactive, not {status}")));
        }
        let p = self.principal_named(account, "USER", user).await?;
        let mut tx = self.catalog.write().await?;
        match tx.access_key(id).await? {
            Some(k) if k.principal_arn == p.arn => tx.set_access_key_status(id, status).await?,
            _ => return Err(SecurityError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))),
        };
        tx.commit().await?;
        Ok(())
    }

    /// `DeleteAccessKey`.
    pub async fn delete_access_key(&self, account: &str, user: &str, id: &str) -> SecurityResult<()> {
        let p = self.principal_named(account, "USER", user).await?;
        let mut tx = self.catalog.write().await?;
        match tx.access_key(id).await? {
            Some(k) if k.principal_arn == p.arn => tx.delete_access_key(id).await?,
            _ => return Err(SecurityError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))),
        };
        tx.commit().await?;
        Ok(())
    }

    /// Who signs with these credentials. A wrong secret or token, an unknown or inactive
    /// key: `InvalidClientTokenId`; temporary credentials past their expiry: `ExpiredToken`.
    pub async fn authenticate(&self, access_key_id: &str, secret: &str, session_token: Option<&str>, source: &str) -> SecurityResult<Caller> {
        let bad = || SecurityError::InvalidClientTokenId("The security token included in the request is invalid.".into());
        let mut tx = self.catalog.read().await?;
        let key = tx.access_key(access_key_id).await?.ok_or_else(bad)?;
        let sealed = hex::decode(&key.secret_sealed).map_err(|_| bad())?;
        let stored = self.master.open(SECRET_PURPOSE, access_key_id.as_bytes(), &sealed)?;
        // Compare digests so the time taken says nothing about the secret.
        if Sha256::digest(&stored) != Sha256::digest(secret.as_bytes()) || key.status != "Active" {
            return Err(bad());
        }
        match (&key.session_token_hash, session_token) {
            (Some(hash), Some(token)) if *hash == token_hash(token) => {}
            (None, None) => {}
            _ => return Err(bad()),
        }
        if let Some(expires) = key.expires_at
            && self.now() >= expires {
                return Err(SecurityError::ExpiredToken("The security token included in the request is expired".into()));
            }
        let owner = tx.principal(&key.principal_arn).await?.ok_or_else(bad)?;
        let temporary = key.session_token_hash.is_some();
        let (identity_type, arn, principal_id) = match (&key.session_arn, owner.kind.as_str()) {
            (Some(session), "ROLE") => {
                let session_name = session.rsplit('/').next().unwrap_or_default();
                (IdentityType::AssumedRole, session.clone(), format!("{}:{session_name}", owner.principal_id))
            }
            _ => (IdentityType::IamUser, owner.arn.clone(), owner.principal_id.clone()),
        };
        Ok(Caller {
            identity_type,
            arn,
            account_id: owner.account_id.clone(),
            policy_owner: Some(owner.arn),
            principal_id,
            access_key_id: Some(access_key_id.to_owned()),
            mfa_authenticated: temporary.then_some(key.mfa_authenticated),
            source: source.to_owned(),
            source_ip: None,
        })
    }

    /// `GetCallerIdentity`.
    pub fn get_caller_identity(caller: &Caller) -> CallerIdentity {
        CallerIdentity { user_id: caller.principal_id.clone(), account: caller.account_id.clone(), arn: caller.arn.clone() }
    }

    async fn issue_session(&self, principal_arn: &str, session_arn: Option<String>, seconds: i64, mfa: bool) -> SecurityResult<Credentials> {
        let id = format!("ASIA{}", random_text(16));
        let secret = secret_text();
        let token = format!("{}{}", secret_text(), secret_text());
        let now = self.now();
        let expiration = now + SignedDuration::from_secs(seconds);
        let row = AccessKeyRow {
            access_key_id: id.clone(),
            principal_arn: principal_arn.to_owned(),
            secret_sealed: hex::encode(self.master.seal(SECRET_PURPOSE, id.as_bytes(), secret.as_bytes())),
            status: "Active".into(),
            created_at: now,
            session_token_hash: Some(token_hash(&token)),
            expires_at: Some(expiration),
            session_arn,
            mfa_authenticated: mfa,
        };
        let mut tx = self.catalog.write().await?;
        // Keep the table small: sessions that ended a day ago are of no use.
        tx.delete_expired_sessions(now - SignedDuration::from_hours(24)).await?;
        tx.insert_access_key(&row).await?;
        tx.commit().await?;
        Ok(Credentials { access_key_id: id, secret_access_key: secret, session_token: token, expiration })
    }

    /// `AssumeRole`: the role's trust policy and the caller's own policies (and SCPs) must
    /// allow `sts:AssumeRole`; with `--serial-number`/`--token-code` the session carries MFA.
    pub async fn assume_role(
        &self,
        caller: &Caller,
        role_arn: &str,
        session_name: &str,
        duration_seconds: Option<i64>,
        mfa: Option<(&str, &str)>,
    ) -> SecurityResult<(Credentials, String)> {
        check_name("RoleSessionName", session_name)?;
        bunker_iam::Arn::parse(role_arn).map_err(|e| SecurityError::InvalidParameterValue(e.to_string()))?;
        let role = self.catalog.read().await?.principal(role_arn).await?;
        let role = role
            .filter(|r| r.kind == "ROLE")
            .ok_or_else(|| SecurityError::AccessDenied(format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", caller.arn)))?;
        let mut mfa_shown = caller.mfa_authenticated == Some(true);
        if let Some((serial, code)) = mfa {
            self.check_mfa_code(caller, serial, code).await?;
            mfa_shown = true;
        }
        let mut effective = caller.clone();
        if mfa_shown {
            effective.mfa_authenticated = Some(true);
        }
        let request = super::AccessRequest::new("sts:AssumeRole", role_arn, &role.account_id)
            .with_resource_policy(format!("trust-policy:{}", role.name), role.trust_policy.clone().unwrap_or_default());
        self.require(&effective, &request).await?;
        let seconds = duration_seconds.unwrap_or(3600);
        if !(900..=role.max_session_seconds).contains(&seconds) {
            return Err(SecurityError::InvalidParameterValue(format!(
                "DurationSeconds must be 900 to {} (the role's MaxSessionDuration), not {seconds}",
                role.max_session_seconds
            )));
        }
        let session_arn = format!("arn:aws:sts::{}:assumed-role/{}/{session_name}", role.account_id, role.name);
        let credentials = self.issue_session(&role.arn, Some(session_arn.clone()), seconds, mfa_shown).await?;
        Ok((credentials, session_arn))
    }

    /// `GetSessionToken`: temporary credentials of an IAM user, with MFA when a code is shown.
    pub async fn get_session_token(&self, caller: &Caller, duration_seconds: Option<i64>, mfa: Option<(&str, &str)>) -> SecurityResult<Credentials> {
        if caller.identity_type != IdentityType::IamUser {
            return Err(SecurityError::AccessDenied("Cannot call GetSessionToken with session credentials".into()));
        }
        let owner = caller.policy_owner.clone().unwrap_or_else(|| caller.arn.clone());
        let mut shown = false;
        if let Some((serial, code)) = mfa {
            self.check_mfa_code(caller, serial, code).await?;
            shown = true;
        }
        let seconds = duration_seconds.unwrap_or(43_200);
        if !(900..=129_600).contains(&seconds) {
            return Err(SecurityError::InvalidParameterValue(format!("DurationSeconds must be 900 to 129600, not {seconds}")));
        }
        self.issue_session(&owner, None, seconds, shown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_look_like_aws_ids() {
        let id = format!("AKIA{}", random_text(16));
        assert_eq!(id.len(), 20);
        assert!(id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(secret_text().len(), 40);
    }

    #[test]
    fn secrets_use_their_whole_length_and_alphabet_evenly() {
        const N: usize = 5000;
        let secrets: Vec<Vec<u8>> = (0..N).map(|_| secret_text().into_bytes()).collect();
        let mut counts = [0usize; 256];
        for s in &secrets {
            assert_eq!(s.len(), 40);
            assert!(s.iter().all(|c| SECRET_ALPHABET.contains(c)), "{}", String::from_utf8_lossy(s));
            assert_ne!(s[30..], s[..10], "the tail repeats the head: {}", String::from_utf8_lossy(s));
            for &c in s {
                counts[usize::from(c)] += 1;
            }
        }
        let distinct: std::collections::BTreeSet<&Vec<u8>> = secrets.iter().collect();
        assert_eq!(distinct.len(), N);
        // Every symbol about equally often: chi-square with 63 degrees of freedom (mean 63,
        // standard deviation 11); 150 is far beyond what chance gives.
        let expected = (N * 40) as f64 / 64.0;
        let chi2: f64 = SECRET_ALPHABET.iter().map(|&c| (counts[usize::from(c)] as f64 - expected).powi(2) / expected).sum();
        assert!(chi2 < 150.0, "chi-square {chi2:.1}: symbols are not uniform");
        // No two positions move together: equal characters at positions i and j as often as
        // chance gives (1 in 64, about 78 of 5000; 7 standard deviations allowed).
        for i in 0..40 {
            for j in i + 1..40 {
                let same = secrets.iter().filter(|s| s[i] == s[j]).count();
                assert!(same < 140, "positions {i} and {j} agree in {same} of {N} secrets");
            }
        }
    }

    #[test]
    fn managed_policies_are_known_by_arn() {
        assert!(MANAGED_POLICIES.iter().any(|(a, _)| a.ends_with("/AdministratorAccess")));
        for (_, doc) in MANAGED_POLICIES {
            let v: serde_json::Value = serde_json::from_str(doc).unwrap();
            assert!(v["Statement"].is_array());
        }
    }
}
