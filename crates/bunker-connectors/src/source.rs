//! Resource types and the location of a resource's data (JSON in the catalog and on the
//! command line).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::redact::{MASK, redact_uri};
use crate::{ConnectorError, Result};

/// The kinds of resources Bunker protects, named as `ResourceType` in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceType {
    /// A directory tree.
    #[serde(rename = "Directory")]
    Directory,
    /// A SQLite database file.
    #[serde(rename = "SQLite")]
    Sqlite,
    /// A PostgreSQL database.
    #[serde(rename = "PostgreSQL")]
    Postgresql,
    /// A disk image or block-device file.
    #[serde(rename = "DiskImage")]
    DiskImage,
    /// A bucket (or a prefix of one) on an S3-compatible server.
    #[serde(rename = "S3")]
    Bucket,
}

impl ResourceType {
    /// Every type, in display order.
    pub const ALL: [ResourceType; 5] =
        [ResourceType::Directory, ResourceType::Sqlite, ResourceType::Postgresql, ResourceType::DiskImage, ResourceType::Bucket];

    /// The API name (`Directory`, `SQLite`, `PostgreSQL`, `DiskImage`, `S3`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Directory => "Directory",
            ResourceType::Sqlite => "SQLite",
            ResourceType::Postgresql => "PostgreSQL",
            ResourceType::DiskImage => "DiskImage",
            ResourceType::Bucket => "S3",
        }
    }

    /// The lower-case word used in resource ARNs (`arn:aws:bunker:REGION:ACCOUNT:WORD/NAME`).
    pub fn arn_word(self) -> &'static str {
        match self {
            ResourceType::Directory => "directory",
            ResourceType::Sqlite => "sqlite",
            ResourceType::Postgresql => "postgresql",
            ResourceType::DiskImage => "image",
            ResourceType::Bucket => "bucket",
        }
    }

    /// Parses an API name or ARN word, case-insensitively.
    pub fn parse(s: &str) -> Option<ResourceType> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s) || t.arn_word().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a resource's data is: the source of a backup, or the target of a restore.
///
/// Stored in the catalog as JSON (`{"Type": "SQLite", "Path": "/srv/app.db"}`): the shape
/// of [`Source::to_json`] / [`Source::from_json`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Type", deny_unknown_fields)]
pub enum Source {
    /// A directory tree.
    #[serde(rename = "Directory")]
    Directory {
        /// The directory.
        #[serde(rename = "Path")]
        path: PathBuf,
    },
    /// A SQLite database file.
    #[serde(rename = "SQLite")]
    Sqlite {
        /// The database file.
        #[serde(rename = "Path")]
        path: PathBuf,
    },
    /// A PostgreSQL database.
    #[serde(rename = "PostgreSQL")]
    Postgresql {
        /// A libpq connection URI naming the database
        /// (`postgresql://user@127.0.0.1:5432/app`). A password may be in it (user
        /// information or `password=`); the tools get it through `PGPASSWORD`, never on
        /// their command line. Without one, `PGPASSWORD` or `~/.pgpass` apply.
        #[serde(rename = "Url")]
        url: String,
    },
    /// A disk image or block-device file.
    #[serde(rename = "DiskImage")]
    DiskImage {
        /// The image file.
        #[serde(rename = "Path")]
        path: PathBuf,
    },
    /// A bucket (or a prefix of it) on an S3-compatible server.
    #[serde(rename = "S3")]
    Bucket {
        /// The server, e.g. `http://127.0.0.1:9000`; `None` for AWS S3 itself.
        #[serde(rename = "Endpoint", default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        /// Bucket name.
        #[serde(rename = "Bucket")]
        bucket: String,
        /// Only objects below this prefix ("" = the whole bucket).
        #[serde(rename = "Prefix", default)]
        prefix: String,
        /// Signing region.
        #[serde(rename = "Region", default = "default_region")]
        region: String,
        /// Credentials come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` unless given.
        #[serde(rename = "AccessKeyId", default, skip_serializing_if = "Option::is_none")]
        access_key_id: Option<String>,
        /// See `access_key_id`.
        #[serde(rename = "SecretAccessKey", default, skip_serializing_if = "Option::is_none")]
        secret_access_key: Option<String>,
    },
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

impl Source {
    /// The resource type of this location.
    pub fn resource_type(&self) -> ResourceType {
        match self {
            Source::Directory { .. } => ResourceType::Directory,
            Source::Sqlite { .. } => ResourceType::Sqlite,
            Source::Postgresql { .. } => ResourceType::Postgresql,
            Source::DiskImage { .. } => ResourceType::DiskImage,
            Source::Bucket { .. } => ResourceType::Bucket,
        }
    }

    /// Parses the catalog / command-line JSON shape.
    ///
    /// # Errors
    /// [`ConnectorError::InvalidSource`] naming what is wrong.
    pub fn from_json(json: &str) -> Result<Source> {
        let source: Source =
            serde_json::from_str(json).map_err(|e| ConnectorError::InvalidSource { reason: e.to_string() })?;
        source.validate()?;
        Ok(source)
    }

    /// The JSON shape stored in the catalog.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks what can be checked without touching the resource.
    ///
    /// # Errors
    /// [`ConnectorError::InvalidSource`].
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Err(ConnectorError::InvalidSource { reason: reason.to_owned() });
        match self {
            Source::Directory { path } | Source::Sqlite { path } | Source::DiskImage { path } => {
                if !path.is_absolute() {
                    return bad("Path must be absolute");
                }
            }
            Source::Postgresql { url } => {
                if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
                    return bad("Url must be a postgresql:// connection URI");
                }
            }
            Source::Bucket { bucket, .. } => {
                if bucket.is_empty() {
                    return bad("Bucket must not be empty");
                }
            }
        }
        Ok(())
    }

    /// A short human description: the path, the URL with its password masked
    /// ([`redact_uri`]), `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        match self {
            Source::Directory { path } | Source::Sqlite { path } | Source::DiskImage { path } => path.display().to_string(),
            Source::Postgresql { url } => redact_uri(url),
            Source::Bucket { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

impl fmt::Debug for Source {
    // Hand-written so that logs and test failures never print a password or secret key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Directory { path } => f.debug_struct("Directory").field("path", path).finish(),
            Source::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Source::Postgresql { url } => f.debug_struct("Postgresql").field("url", &redact_uri(url)).finish(),
            Source::DiskImage { path } => f.debug_struct("DiskImage").field("path", path).finish(),
            Source::Bucket { endpoint, bucket, prefix, region, access_key_id, secret_access_key } => f
                .debug_struct("Bucket")
                .field("endpoint", &endpoint.as_deref().map(redact_uri))
                .field("bucket", bucket)
                .field("prefix", prefix)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &secret_access_key.as_ref().map(|_| MASK))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_round_trip_and_errors_name_the_problem() {
        let s = Source::from_json(r#"{"Type":"SQLite","Path":"/srv/app.db"}"#).unwrap();
        assert_eq!(s, Source::Sqlite { path: "/srv/app.db".into() });
        assert_eq!(Source::from_json(&s.to_json()).unwrap(), s);
        let b = Source::from_json(r#"{"Type":"S3","Bucket":"b","Endpoint":"http://127.0.0.1:9000"}"#).unwrap();
        assert_eq!(b.resource_type(), ResourceType::Bucket);
        assert_eq!(b.describe(), "s3://b/");
        let e = Source::from_json(r#"{"Type":"Directory","Path":"rel"}"#).unwrap_err().to_string();
        assert!(e.contains("absolute"), "{e}");
        let e = Source::from_json(r#"{"Type":"Tape","Path":"/x"}"#).unwrap_err().to_string();
        assert!(e.contains("Tape"), "{e}");
        let e = Source::from_json(r#"{"Type":"Directory","Path":"/x","Extra":1}"#).unwrap_err().to_string();
        assert!(e.contains("Extra"), "{e}");
        let pg = Source::Postgresql { url: "postgresql://app:s3cret@127.0.0.1:5432/db".into() };
        assert_eq!(pg.describe(), "postgresql://app:****@127.0.0.1:5432/db");
        let s3 = Source::Bucket {
            endpoint: None,
            bucket: "b".into(),
            prefix: String::new(),
            region: "r".into(),
            access_key_id: Some("AKIA".into()),
            secret_access_key: Some("s3cret".into()),
        };
        for s in [pg, s3] {
            assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
        }
        assert_eq!(ResourceType::parse("sqlite"), Some(ResourceType::Sqlite));
        assert_eq!(ResourceType::parse("s3"), Some(ResourceType::Bucket));
    }
}
