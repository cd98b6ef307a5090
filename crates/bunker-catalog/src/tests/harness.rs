//! Where a test case's catalog lives: a SQLite file, or a fresh database on a PostgreSQL
//! server started for the test run.

use std::sync::Arc;

use bunker_testkit::postgres::PgServer;

use crate::Catalog;

/// One case's database.
pub enum TestDb {
    /// A file in a temporary directory (kept until the case ends).
    Sqlite(tempfile::TempDir),
    /// A database of its own on a shared server.
    Postgres { server: Arc<PgServer>, database: String },
}

impl TestDb {
    /// Opens (or reopens) the case's catalog.
    pub async fn open(&self) -> Catalog {
        match self {
            TestDb::Sqlite(dir) => Catalog::open_file(&dir.path().join("catalog.db")).await.unwrap(),
            TestDb::Postgres { server, database } => Catalog::open(&server.url(database)).await.unwrap(),
        }
    }
}

/// Runs each case once on SQLite (a test each) and all of them on one PostgreSQL server
/// (one test, a fresh database per case, so a case's failure names it).
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::TestDb::Sqlite(tempfile::tempdir().unwrap())).await;
                }
            )*
        }

        #[tokio::test]
        async fn whole_suite_on_postgres() {
            let Some(server) = bunker_testkit::postgres::PgServer::start() else { return };
            let server = std::sync::Arc::new(server);
            $(
                let database = stringify!($case).to_owned();
                server.create_database(&database);
                eprintln!("postgres: {database}");
                $case(TestDb::Postgres { server: server.clone(), database }).await;
            )*
        }
    };
}
pub(crate) use suite;
