//! The catalog database: what Bunker knows about the organization (and, later, about
//! everything else it records).
//!
//! [`Catalog::open`] opens (and creates, and migrates) the database. Every read and write
//! goes through a [`Tx`]: [`Catalog::read`] for a consistent snapshot, [`Catalog::write`]
//! for changes. A `Tx` dropped without [`Tx::commit`] rolls back, so a service can check
//! everything, write several rows, and leave nothing behind when any step fails.
//!
//! The same SQL and migrations serve SQLite (embedded default) and PostgreSQL, through
//! sqlx's `Any` driver: `$n` placeholders, BIGINT times, no backend-only syntax except how
//! a transaction opens ([`Catalog::write`]).

mod allowed_roots;
mod audit;
mod copies;
mod error;
mod guardrails;
mod ids;
mod jobs;
mod keys;
mod lifecycle;
mod model;
mod org;
mod plans;
mod policies;
mod resources;
mod restore_testing;
mod security;
mod units;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use jiff::Timestamp;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor};

pub use allowed_roots::AllowedRootsRow;
pub use error::{CatalogError, Result};
pub use ids::{
    AccountId, CreateAccountRequestId, InvalidId, OrganizationId, OuId, ParentId, PolicyId, PolicyType, RootId,
    TargetId, TargetKind,
};
pub use jobs::{BackupJobRow, JobFilter, ProtectedResourceRow, RecoveryPointRow, RestoreJobRow};
pub use model::{Account, Organization, OrganizationalUnit, Policy, PolicyAttachment, PolicyTypeStatus, Root};
pub use plans::{BackupPlanRow, PlanVersion, SelectionRow};
pub use resources::{BackupVault, Resource, Tags};
#[allow(unused_imports)] // filled by the lifecycle, copy and restore-testing work
pub use {audit::*, copies::*, guardrails::*, keys::*, lifecycle::*, restore_testing::*, security::*};

/// The schema, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a writer waits for another writer's lock before giving up (SQLite).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database is underneath. The SQL is the same; transactions open differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file, WAL mode.
    Sqlite,
    /// A PostgreSQL server, for many concurrent writers and large catalogs.
    Postgres,
}

/// An open catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, when opened by path: files that belong with the catalog (the audit
    /// trail's anchor copy) live beside it.
    file: Option<Arc<PathBuf>>,
}

static DRIVERS: Once = Once::new();

impl Catalog {
    /// Opens the catalog at `url`, creating (SQLite) and migrating it as needed:
    /// `sqlite://PATH?mode=rwc`, `sqlite::memory:`, or `postgresql://USER@HOST:PORT/DB`.
    pub async fn open(url: &str) -> Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(CatalogError::UnsupportedUrl(url.to_owned()));
        };
        Self::connect(url, backend, &redact(url), None).await
    }

    /// Opens (creating if missing) the SQLite catalog file at `path`. Unlike a URL, any
    /// path works, whatever characters it holds.
    pub async fn open_file(path: &Path) -> Result<Self> {
        let url = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true).to_url_lossy();
        Self::connect(url.as_str(), Backend::Sqlite, &path.display().to_string(), Some(path.to_path_buf())).await
    }

    async fn connect(url: &str, backend: Backend, location: &str, file: Option<PathBuf>) -> Result<Self> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let open_error = |source| CatalogError::Open { location: location.to_owned(), source };
        let options: AnyConnectOptions = url.parse().map_err(open_error)?;
        let in_memory = backend == Backend::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        // An in-memory database lives in one connection: never open a second one.
        let max = if in_memory { 1 } else if backend == Backend::Sqlite { 4 } else { 8 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(u32::from(in_memory))
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let journal = if in_memory { "MEMORY" } else { "WAL" };
                        // Values are ours, not user input: assembling the statement is safe.
                        let pragmas = format!(
                            "PRAGMA journal_mode = {journal}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
                            BUSY_TIMEOUT.as_millis()
                        );
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas)))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open_error)?;
        if backend == Backend::Postgres {
            // Two processes migrating one fresh database at once: the second waits.
            let mut conn = pool.acquire().await?;
            let mut tx = conn.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7262011)").execute(&mut *tx).await?;
            tx.commit().await?;
        }
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, backend, file: file.map(Arc::new) })
    }

    /// Which database is underneath.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file the catalog was opened from by [`Catalog::open_file`] (`None` for a
    /// URL, an in-memory database or PostgreSQL).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref().map(PathBuf::as_path)
    }

    /// A transaction for reading: every query in it sees the same state.
    pub async fn read(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ").await?,
        };
        Ok(Tx { tx })
    }

    /// A transaction for writing. Writers are serialised (SQLite `BEGIN IMMEDIATE`; on
    /// PostgreSQL a transaction-scoped advisory lock), so that checks made inside one stay
    /// true until it commits, on both backends alike.
    pub async fn write(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7262012)").execute(&mut *tx).await?;
                tx
            }
        };
        Ok(Tx { tx })
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            format!("{scheme}://{}@{host}", userinfo.split(':').next().unwrap_or(""))
        }
        _ => url.to_owned(),
    }
}

/// One transaction. Methods are grouped by table in the modules of this crate. After a
/// statement fails, drop the transaction: PostgreSQL accepts nothing more in it.
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
}

impl Tx {
    /// Makes the changes durable.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Undoes the changes now, rather than when the connection is next used (so that a
    /// write transaction's locks are released at once).
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }

    /// Registers a root, OU or account as a possible parent and policy target.
    async fn insert_target(&mut self, id: &str, kind: TargetKind) -> Result<()> {
        sqlx::query("INSERT INTO targets (id, kind) VALUES ($1, $2)")
            .bind(id)
            .bind(kind.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The kind of the root, OU or account with this id, if there is one.
    pub async fn target_kind(&mut self, id: &str) -> Result<Option<TargetKind>> {
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM targets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        kind.map(|k| TargetKind::parse(&k).ok_or_else(|| CatalogError::Corrupt(format!("target kind {k:?}"))))
            .transpose()
    }
}

/// A boolean column, selected as an integer (`CAST(x AS INTEGER)` for BOOLEAN columns):
/// the `Any` driver decodes no SQLite BOOLEAN.
fn get_bool(row: &sqlx::any::AnyRow, column: &str) -> Result<bool> {
    use sqlx::Row;
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// Timestamps are stored as microseconds since the Unix epoch.
fn to_db_time(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_db_time(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| CatalogError::Corrupt(format!("timestamp {us}: {e}")))
}

#[cfg(test)]
mod tests;
