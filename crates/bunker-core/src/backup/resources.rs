//! Resources: what an account protects, with tags that selections match.

use bunker_catalog::{AccountId, Resource, Tags};
use bunker_connectors::Source;

use super::connection_secrets::shown;
use super::{BackupError, BackupService, Result, resource_arn};

/// `bunker resource register`.
#[derive(Debug, Clone)]
pub struct RegisterResource {
    /// Owner.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Name, unique per account, region and type (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Where its data is; the type follows from it.
    pub source: Source,
    /// Tags.
    pub tags: Tags,
}

pub(crate) fn valid_resource_name(name: &str) -> bool {
    (1..=100).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn check_tags(tags: &Tags) -> Result<()> {
    for (k, v) in tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:") {
            return Err(BackupError::InvalidParameterValue(format!(
                "invalid tag `{k}`=`{v}`: keys are 1 to 128 characters and may not start with aws:, values at most 256"
            )));
        }
    }
    Ok(())
}

impl BackupService {
    /// Registers a resource; returns it with its ARN. Connection secrets in its location
    /// are stored sealed and returned masked.
    pub async fn register_resource(&self, req: RegisterResource) -> Result<Resource> {
        if !valid_resource_name(&req.name) {
            return Err(BackupError::InvalidParameterValue(format!(
                "invalid resource name `{}`: 1 to 100 letters, digits, '-', '_' or '.'",
                req.name
            )));
        }
        bunker_policy::Region::parse(&req.region)?;
        req.source.validate().map_err(|e| BackupError::InvalidParameterValue(e.to_string()))?;
        check_tags(&req.tags)?;
        let ty = req.source.resource_type();
        let arn = resource_arn(&req.region, &req.account_id, ty.arn_word(), &req.name);
        let row = Resource {
            location: self.sealed_location(&arn, &req.source)?,
            arn,
            account_id: req.account_id.clone(),
            region: req.region,
            resource_type: ty.as_str().to_owned(),
            name: req.name,
            tags: req.tags,
            created_at: self.now(),
        };
        let mut tx = self.catalog.write().await?;
        let account = AccountId::parse(&req.account_id).map_err(|e| BackupError::InvalidParameterValue(e.to_string()))?;
        if tx.account(&account).await?.is_none() {
            return Err(BackupError::ResourceNotFound(format!("account {} is not in the organization", req.account_id)));
        }
        self.check_location(&mut tx, &req.account_id, &req.source, "The resource location").await?;
        if tx.resource(&row.arn).await?.is_some() {
            return Err(BackupError::AlreadyExists(format!("resource {} is already registered", row.arn)));
        }
        tx.insert_resource(&row).await?;
        tx.commit().await?;
        Ok(shown(row))
    }

    /// One resource, its connection secrets masked.
    pub async fn describe_resource(&self, arn: &str) -> Result<Resource> {
        self.catalog
            .read()
            .await?
            .resource(arn)
            .await?
            .map(shown)
            .ok_or_else(|| BackupError::ResourceNotFound(format!("no resource has ARN {arn}")))
    }

    /// Resources of an account (and region), their connection secrets masked.
    pub async fn list_resources(&self, account: Option<&str>, region: Option<&str>) -> Result<Vec<Resource>> {
        Ok(self.catalog.read().await?.resources(account, region).await?.into_iter().map(shown).collect())
    }

    /// `TagResource` for a resource: adds or replaces tags.
    pub async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<Resource> {
        check_tags(tags)?;
        let mut tx = self.catalog.write().await?;
        let mut r = tx.resource(arn).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("no resource has ARN {arn}")))?;
        r.tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        tx.set_resource_tags(arn, &r.tags).await?;
        tx.commit().await?;
        Ok(shown(r))
    }

    /// `UntagResource` for a resource.
    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<Resource> {
        let mut tx = self.catalog.write().await?;
        let mut r = tx.resource(arn).await?.ok_or_else(|| BackupError::ResourceNotFound(format!("no resource has ARN {arn}")))?;
        for k in keys {
            r.tags.remove(k);
        }
        tx.set_resource_tags(arn, &r.tags).await?;
        tx.commit().await?;
        Ok(shown(r))
    }
}
