//! Test support shared by nightwatch's test suites.
//!
//! Databases: every store test runs on SQLite and on a real Postgres. The Postgres server is the
//! throwaway cluster the test script starts; its admin URL arrives in `NIGHTWATCH_TEST_POSTGRES`.
//! Each test gets a fresh database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A lab tool: it runs in real time beside real processes, so it reads the system's clocks.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub const POSTGRES_ENV: &str = "NIGHTWATCH_TEST_POSTGRES";

/// The admin URL of the test Postgres server. Panics with instructions when it is not set:
/// a silently skipped Postgres test would be a test that cannot fail.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set. Run the suite with ./scripts/test (it starts a throwaway \
             Postgres), or set {POSTGRES_ENV}=postgres://USER@HOST:PORT/postgres"
        )
    })
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_postgres_url(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin = postgres_admin_url();
    let name = format!(
        "nw_{}_{}_{}",
        tag.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test Postgres at {admin}: {e}"));
    conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').expect("admin URL ends with /DBNAME");
    format!("{base}/{name}")
}

/// A fresh SQLite database file in its own temporary directory (kept alive by the guard).
pub fn fresh_sqlite_url() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("nightwatch.db");
    (format!("sqlite://{}", path.display()), dir)
}

/// Both backends, each freshly created: `(name, url, guard)`.
pub async fn both_backends(tag: &str) -> Vec<(&'static str, String, Option<tempfile::TempDir>)> {
    let (sqlite, dir) = fresh_sqlite_url();
    vec![
        ("sqlite", sqlite, Some(dir)),
        ("postgres", fresh_postgres_url(tag).await, None),
    ]
}

/// The third-party fixtures folder (`shared/` beside the repository) and a file in it, from the
/// one crate that knows where they are; both panic with the path when it is missing.
pub use nightwatch_fixtures::{third_party as third_party_fixtures, third_party_file};

pub mod alertmanager;
pub mod fake_logs;
pub mod lab;
pub mod process;
pub mod small_disk;
pub mod storm;
pub mod webhook_sink;
pub use alertmanager::{RealAlertmanager, webhook_body};
pub use lab::{
    Lab, LabDeployment, LabOptions, StoppedComponent, process_alive, repo_root, still_running,
    workspace_binary,
};
pub use process::{Nightwatch, free_port, run_command, wait_for};
pub use small_disk::SmallDisk;

/// [`fresh_postgres_url`] for tests that are not async.
pub fn fresh_postgres_url_blocking(tag: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fresh_postgres_url(tag))
}

/// [`both_backends`] for tests that are not async.
pub fn both_backends_blocking(tag: &str) -> Vec<(&'static str, String, Option<tempfile::TempDir>)> {
    let (sqlite, dir) = fresh_sqlite_url();
    vec![
        ("sqlite", sqlite, Some(dir)),
        ("postgres", fresh_postgres_url_blocking(tag), None),
    ]
}
