//! Catalog errors.

use crate::ids::InvalidId;

/// Why a catalog operation failed. Constraint violations get their own variants so the
/// service can turn a lost race into the right AWS exception.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The URL names a database Bunker cannot open (yet).
    #[error("unsupported catalog URL {0:?}: expected sqlite://PATH or postgresql://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),
    /// The database could not be opened or created.
    #[error("cannot open catalog {location}: {source}")]
    Open {
        /// The URL or path.
        location: String,
        /// Why.
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error("catalog migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique or primary key constraint refused the write.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// A foreign key constraint refused the write (or a delete of something still referenced).
    #[error("referenced row missing or still in use: {0}")]
    Reference(String),
    /// A stored value that does not decode: the catalog was edited by hand or is damaged.
    #[error("corrupt catalog row: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("catalog database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => CatalogError::Duplicate(db.message().to_owned()),
                ErrorKind::ForeignKeyViolation => CatalogError::Reference(db.message().to_owned()),
                _ => CatalogError::Database(e),
            },
            _ => CatalogError::Database(e),
        }
    }
}

impl From<InvalidId> for CatalogError {
    fn from(e: InvalidId) -> Self {
        CatalogError::Corrupt(e.to_string())
    }
}

/// Shorthand.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
