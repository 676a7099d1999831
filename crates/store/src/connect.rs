//! Opening pools for either backend.

use crate::{StoreError, write};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// SQLite durability and concurrency settings: WAL so readers don't block the writer, and
/// `synchronous=FULL` so a commit is on disk before we acknowledge (the durability invariant).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
    PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

pub(crate) async fn pools(url: &str) -> Result<(Backend, AnyPool, AnyPool), StoreError> {
    install_default_drivers();
    let timeout = Duration::from_secs(5);
    if url.starts_with("sqlite:") {
        let url = sqlite_url(url);
        let options = || {
            AnyPoolOptions::new()
                .acquire_timeout(timeout)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
        };
        // The writer connects first so the file and WAL mode exist before readers open it.
        let write = options()
            .max_connections(1)
            .after_release(write::released_clean)
            .connect(&url)
            .await?;
        let read = options().max_connections(4).connect(&url).await?;
        Ok((Backend::Sqlite, read, write))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let pool = AnyPoolOptions::new()
            .acquire_timeout(timeout)
            .max_connections(16)
            .after_release(write::released_clean)
            .connect(url)
            .await?;
        Ok((Backend::Postgres, pool.clone(), pool))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// `sqlite://PATH` creates the file when missing.
fn sqlite_url(url: &str) -> String {
    if url.contains('?') || url.contains(":memory:") {
        url.to_owned()
    } else {
        format!("{url}?mode=rwc")
    }
}
