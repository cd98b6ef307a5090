//! `bunker resource …`: what an account protects. AWS discovers resources in its own
//! services; Bunker is told where they are, once, and then selects them by ARN and tags
//! like AWS Backup does.

use std::path::PathBuf;

use bunker_connectors::Source;
use bunker_core::BackupService;
use bunker_core::backup::RegisterResource;
use clap::{ArgGroup, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws_json as aws;
use crate::failure::{Failure, string_map};
use crate::scope::{DEFAULT_REGION, Place, Scope};

/// `bunker resource [--account-id] [--region] <operation>`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct ResourceArgs {
    /// The account and Region.
    #[serde(flatten)]
    #[command(flatten)]
    pub scope: Scope,
    /// The operation.
    #[command(subcommand)]
    pub command: ResourceCommand,
}

/// The operations.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(rename_all_fields = "PascalCase")]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum ResourceCommand {
    /// Register a resource in the account and Region: exactly one of the location flags.
    #[command(group(ArgGroup::new("location").required(true).args(["directory", "sqlite", "postgresql", "disk_image", "bucket", "location_json"])))]
    Register {
        /// Its name, unique per account, Region and type (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        resource_name: String,
        /// A directory tree.
        #[arg(long, value_name = "PATH")]
        directory: Option<PathBuf>,
        /// A SQLite database file (copied online, consistently, while writers run).
        #[arg(long, value_name = "PATH")]
        sqlite: Option<PathBuf>,
        /// A PostgreSQL database: a libpq URI (`postgresql://user@host:5432/db`);
        /// passwords from PGPASSWORD or ~/.pgpass.
        #[arg(long, value_name = "URI")]
        postgresql: Option<String>,
        /// A disk image or block-device file (zero blocks skipped, restored sparse).
        #[arg(long, value_name = "PATH")]
        disk_image: Option<PathBuf>,
        /// An S3 bucket (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
        #[arg(long, value_name = "NAME")]
        bucket: Option<String>,
        /// With --bucket: only keys below this prefix.
        #[arg(long, requires = "bucket", default_value = "")]
        prefix: String,
        /// With --bucket: the S3-compatible server (default: AWS S3).
        #[arg(long, requires = "bucket", value_name = "URL")]
        endpoint: Option<String>,
        /// With --bucket: the bucket's signing Region.
        #[arg(long, requires = "bucket", value_name = "REGION")]
        bucket_region: Option<String>,
        /// The whole location as JSON (or file://PATH), e.g. `{"Type":"Directory","Path":"/srv"}`.
        #[arg(long = "location", value_name = "JSON")]
        location_json: Option<String>,
        /// Tags: `Key=Value,…` or JSON.
        #[arg(long)]
        tags: Option<String>,
    },
    /// Confine where an account's resources and restores may be (management account
    /// only): every location it registers and every restore target must lie under one of
    /// these directories (never in the service's home). Without roots, anywhere outside
    /// the home.
    PutAllowedRoots {
        /// The account the roots are for.
        #[arg(long, value_name = "ID")]
        target_account_id: String,
        /// Absolute directories (comma-separated or repeated).
        #[arg(long, num_args = 1.., value_delimiter = ',', required = true, value_name = "DIR")]
        allowed_roots: Vec<PathBuf>,
    },
    /// Show an account's allowed roots.
    GetAllowedRoots {
        /// The account.
        #[arg(long, value_name = "ID")]
        target_account_id: String,
    },
    /// Remove an account's allowed roots (it may then use anywhere outside the home).
    DeleteAllowedRoots {
        /// The account.
        #[arg(long, value_name = "ID")]
        target_account_id: String,
    },
    /// Describe a resource.
    Describe {
        /// The resource.
        #[arg(long)]
        resource_arn: String,
    },
    /// List the account's resources in the Region.
    List {
        /// Only this type: Directory, SQLite, PostgreSQL, DiskImage or S3.
        #[arg(long)]
        resource_type: Option<String>,
    },
    /// Add or replace tags.
    Tag {
        /// The resource.
        #[arg(long)]
        resource_arn: String,
        /// Tags: `Key=Value,…` or JSON.
        #[arg(long)]
        tags: String,
    },
    /// Remove tags.
    Untag {
        /// The resource.
        #[arg(long)]
        resource_arn: String,
        /// The keys to remove.
        #[arg(long, num_args = 1.., required = true)]
        tag_key_list: Vec<String>,
    },
}

/// Runs one operation in `place`.
pub async fn run(svc: &BackupService, place: &Place, command: ResourceCommand) -> Result<Option<Value>, Failure> {
    use ResourceCommand as C;
    let output = match command {
        C::Register {
            resource_name,
            directory,
            sqlite,
            postgresql,
            disk_image,
            bucket,
            prefix,
            endpoint,
            bucket_region,
            location_json,
            tags,
        } => {
            let source = if let Some(path) = directory {
                Source::Directory { path }
            } else if let Some(path) = sqlite {
                Source::Sqlite { path }
            } else if let Some(url) = postgresql {
                Source::Postgresql { url }
            } else if let Some(path) = disk_image {
                Source::DiskImage { path }
            } else if let Some(bucket) = bucket {
                Source::Bucket {
                    endpoint,
                    bucket,
                    prefix,
                    region: bucket_region.unwrap_or_else(|| DEFAULT_REGION.to_owned()),
                    access_key_id: None,
                    secret_access_key: None,
                }
            } else {
                let text = location_json.unwrap_or_default();
                Source::from_json(&text).map_err(|e| Failure::Parameter { name: "--location", message: e.to_string() })?
            };
            let tags = tags.map_or_else(|| Ok(Default::default()), |t| string_map("--tags", t))?;
            let req = RegisterResource { account_id: place.account.clone(), region: place.region.clone(), name: resource_name, source, tags };
            json!({"Resource": aws::resource(&svc.register_resource(req).await?)})
        }
        C::Describe { resource_arn } => json!({"Resource": aws::resource(&svc.describe_resource(&resource_arn).await?)}),
        C::List { resource_type } => {
            let all = svc.list_resources(Some(&place.account), Some(&place.region)).await?;
            let kept: Vec<Value> =
                all.iter().filter(|r| resource_type.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(&r.resource_type))).map(aws::resource).collect();
            json!({"Resources": kept})
        }
        C::Tag { resource_arn, tags } => {
            let tags = string_map("--tags", tags)?;
            json!({"Resource": aws::resource(&svc.tag_resource(&resource_arn, &tags).await?)})
        }
        C::Untag { resource_arn, tag_key_list } => {
            json!({"Resource": aws::resource(&svc.untag_resource(&resource_arn, &tag_key_list).await?)})
        }
        C::PutAllowedRoots { target_account_id, allowed_roots } => {
            crate::aws_json::shape(&svc.put_allowed_roots(&target_account_id, allowed_roots).await?)
        }
        C::GetAllowedRoots { target_account_id } => crate::aws_json::shape(&svc.get_allowed_roots(&target_account_id).await?),
        C::DeleteAllowedRoots { target_account_id } => {
            svc.delete_allowed_roots(&target_account_id).await?;
            return Ok(None);
        }
    };
    Ok(Some(output))
}
