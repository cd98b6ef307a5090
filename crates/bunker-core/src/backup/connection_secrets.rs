//! Connection secrets of resources (see [`crate::secrets`]): sealed when a location is
//! stored, opened when a connector runs, masked when a resource is shown, kept out of job
//! rows; and the pass that brings a catalog written before this up to that.

use bunker_catalog::Resource;
use bunker_connectors::Source;

use super::{BackupError, BackupService, Result};
use crate::secrets;
use crate::security::MasterKey;

/// What [`BackupService::seal_stored_secrets`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealedSecrets {
    /// Resources whose clear secrets were sealed.
    pub resources: usize,
    /// Restore jobs whose recorded metadata lost its secrets.
    pub restore_jobs: usize,
    /// Restore tests whose recorded scratch location lost its secrets.
    pub restore_tests: usize,
}

impl BackupService {
    fn connection_master_key(&self) -> Result<MasterKey> {
        MasterKey::load(&self.data_dir).map_err(|e| BackupError::DependencyFailure(format!("instance master key: {e}")))
    }

    /// The location to store for `source` of the resource `arn`: its secrets sealed.
    pub(crate) fn sealed_location(&self, arn: &str, source: &Source) -> Result<String> {
        let clear = source.to_json();
        if !secrets::holds_clear_secret(&clear) {
            return Ok(clear);
        }
        Ok(secrets::seal_location(&self.connection_master_key()?, arn, source))
    }

    /// The source a connector reads or writes for `resource`, its secrets opened.
    pub(crate) fn resource_source(&self, resource: &Resource) -> Result<Source> {
        secrets::open_location(&self.connection_master_key()?, &resource.arn, &resource.location)
            .map_err(|e| BackupError::DependencyFailure(e.to_string()))
    }

    /// Seals the connection secrets that rows written before they were sealed hold in
    /// clear: resource locations are sealed, restore job metadata and restore-test scratch
    /// locations are masked (no one reads a secret back from them). Run it when the home
    /// is opened; it changes nothing the second time.
    ///
    /// # Errors
    /// The instance master key cannot be read; catalog failures.
    pub async fn seal_stored_secrets(&self) -> Result<SealedSecrets> {
        // Found under a read transaction, so that a catalog with nothing to seal (every
        // start after the first) takes no write lock.
        let mut tx = self.catalog.read().await?;
        let resources: Vec<Resource> = tx.resources(None, None).await?.into_iter().filter(|r| secrets::holds_clear_secret(&r.location)).collect();
        let restore_jobs: Vec<(String, String)> = tx
            .restore_job_metadata_with_secrets()
            .await?
            .into_iter()
            .filter_map(|(id, metadata)| {
                let redacted = redacted_json(&metadata);
                (redacted != metadata).then_some((id, redacted))
            })
            .collect();
        let restore_tests: Vec<(String, String)> = tx
            .restore_testing_scratch_with_secrets()
            .await?
            .into_iter()
            .filter_map(|(id, location)| {
                let shown = secrets::shown_location(&location);
                (shown != location).then_some((id, shown))
            })
            .collect();
        drop(tx);
        let done = SealedSecrets { resources: resources.len(), restore_jobs: restore_jobs.len(), restore_tests: restore_tests.len() };
        if done == SealedSecrets::default() {
            return Ok(done);
        }
        let master = self.connection_master_key()?;
        let mut tx = self.catalog.write().await?;
        for r in &resources {
            let source = secrets::open_location(&master, &r.arn, &r.location).map_err(|e| BackupError::DependencyFailure(e.to_string()))?;
            tx.set_resource_location(&r.arn, &secrets::seal_location(&master, &r.arn, &source)).await?;
        }
        for (id, metadata) in &restore_jobs {
            tx.set_restore_job_metadata(id, metadata).await?;
        }
        for (id, location) in &restore_tests {
            tx.set_restore_testing_scratch_location(id, location).await?;
        }
        tx.commit().await?;
        tracing::info!(resources = done.resources, restore_jobs = done.restore_jobs, restore_tests = done.restore_tests, "connection secrets sealed");
        Ok(done)
    }
}

/// `resource` as describe and list show it: its location without secrets.
pub(crate) fn shown(mut resource: Resource) -> Resource {
    resource.location = secrets::shown_location(&resource.location);
    resource
}

/// A JSON text (restore metadata) with every connection secret in it masked.
pub(crate) fn redacted_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut value) => {
            secrets::redact_parameters(&mut value);
            value.to_string()
        }
        Err(_) => secrets::redact_uri(text),
    }
}
