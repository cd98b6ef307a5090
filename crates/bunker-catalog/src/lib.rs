//! The catalog database: what Bunker knows about the organization (and, later, about
//! everything else it records).
//!
//! [`Catalog::open`] opens (and creates, and migrates) the database. Every read and write
//! goes through a [`Tx`]: [`Catalog::read`] for a consistent snapshot, [`Catalog::write`]
//! for changes. A `Tx` dropped without [`Tx::commit`] rolls back, so a service can check
//! everything, write several rows, and leave nothing behind when any step fails.
//!
//! SQL is kept portable between SQLite and PostgreSQL (`$n` placeholders, no SQLite-only
//! syntax); the embedded SQLite catalog is the only backend so far.

mod error;
mod ids;
mod model;
mod org;
mod policies;
mod units;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use error::{CatalogError, Result};
pub use ids::{
    AccountId, CreateAccountRequestId, InvalidId, OrganizationId, OuId, ParentId, PolicyId, PolicyType, RootId,
    TargetId, TargetKind,
};
pub use model::{Account, Organization, OrganizationalUnit, Policy, PolicyAttachment, PolicyTypeStatus, Root};

/// The schema, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a writer waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: SqlitePool,
}

impl Catalog {
    /// Opens the catalog at `url` (`sqlite://PATH?mode=rwc` or `sqlite::memory:`), creating
    /// and migrating it as needed.
    pub async fn open(url: &str) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(CatalogError::UnsupportedUrl(url.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| CatalogError::Open { location: url.to_owned(), source })?;
        Self::connect(options, url).await
    }

    /// Opens (creating if missing) the SQLite catalog file at `path`. Unlike a URL, any
    /// path works, whatever characters it holds.
    pub async fn open_file(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        Self::connect(options, &path.display().to_string()).await
    }

    async fn connect(options: SqliteConnectOptions, location: &str) -> Result<Self> {
        let in_memory = location.contains(":memory:") || location.contains("mode=memory");
        let options = options
            .journal_mode(if in_memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // An in-memory database lives in one connection: never open a second one.
        let max = if in_memory { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(u32::from(in_memory))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| CatalogError::Open { location: location.to_owned(), source })?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// A transaction for reading: every query in it sees the same state.
    pub async fn read(&self) -> Result<Tx> {
        Ok(Tx { tx: self.pool.begin().await? })
    }

    /// A transaction for writing. It takes the write lock at once (SQLite `IMMEDIATE`) so
    /// that checks made inside it stay true until it commits.
    pub async fn write(&self) -> Result<Tx> {
        Ok(Tx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await? })
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One transaction. Methods are grouped by table in the modules of this crate.
pub struct Tx {
    tx: sqlx::Transaction<'static, Sqlite>,
}

impl Tx {
    /// Makes the changes durable.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
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

/// Timestamps are stored as microseconds since the Unix epoch.
fn to_db_time(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_db_time(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| CatalogError::Corrupt(format!("timestamp {us}: {e}")))
}

#[cfg(test)]
mod tests;
