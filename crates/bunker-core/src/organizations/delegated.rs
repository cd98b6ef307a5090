//! Delegated administrators: a member account that may manage the organization's backup
//! policies (`RegisterDelegatedAdministrator` for `backup.amazonaws.com`), as AWS allows.
//! The authorizer lets such an account create, change, attach and detach backup policies —
//! never service control policies.

use bunker_catalog::AccountId;
use serde::Serialize;

use super::{Organizations, context};
use crate::error::{OrgError, Result};

/// The service principals a delegated administrator may be registered for.
const SERVICES: &[&str] = &["backup.amazonaws.com"];

/// `DelegatedAdministrators[]` of `ListDelegatedAdministrators`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DelegatedAdministrator {
    /// `Id`.
    pub id: String,
    /// `ServicePrincipal` (Bunker lists one entry per service).
    pub service_principal: String,
}

impl Organizations {
    /// `RegisterDelegatedAdministrator`.
    pub async fn register_delegated_administrator(&self, account_id: &str, service_principal: &str) -> Result<()> {
        if !SERVICES.contains(&service_principal) {
            return Err(OrgError::InvalidInput(format!(
                "service principal {service_principal} cannot have a delegated administrator: expected one of {}",
                SERVICES.join(", ")
            )));
        }
        let mut tx = self.catalog.write().await?;
        let ctx = context(&mut tx).await?;
        let id = AccountId::parse(account_id)?;
        if tx.account(&id).await?.is_none() {
            return Err(OrgError::AccountNotFound(format!("account {account_id} is not in the organization")));
        }
        if ctx.org.management_account_id.as_str() == account_id {
            return Err(OrgError::ConstraintViolation("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR".into()));
        }
        if tx.delegated_administrators(service_principal).await?.iter().any(|a| a == account_id) {
            return Err(OrgError::ConstraintViolation(format!(
                "ACCOUNT_ALREADY_REGISTERED: {account_id} is already a delegated administrator for {service_principal}"
            )));
        }
        tx.insert_delegated_administrator(account_id, service_principal, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DeregisterDelegatedAdministrator`.
    pub async fn deregister_delegated_administrator(&self, account_id: &str, service_principal: &str) -> Result<()> {
        let mut tx = self.catalog.write().await?;
        context(&mut tx).await?;
        if !tx.delete_delegated_administrator(account_id, service_principal).await? {
            return Err(OrgError::AccountNotFound(format!(
                "account {account_id} is not a delegated administrator for {service_principal}"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    /// `ListDelegatedAdministrators`.
    pub async fn list_delegated_administrators(&self) -> Result<Vec<DelegatedAdministrator>> {
        let mut tx = self.catalog.read().await?;
        context(&mut tx).await?;
        let mut out = Vec::new();
        for service in SERVICES {
            for id in tx.delegated_administrators(service).await? {
                out.push(DelegatedAdministrator { id, service_principal: (*service).to_owned() });
            }
        }
        Ok(out)
    }
}
