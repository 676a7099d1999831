//! What can go wrong in the store. Database failures keep sqlx's error; the rest name what was
//! not found or not allowed, so the HTTP layer can answer 404 or 409 instead of 503.

use nightwatch_core::incident::TransitionError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported DATABASE_URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    ShuttingDown,
    #[error("incident {0} not found")]
    IncidentNotFound(i64),
    #[error("action {0} not found")]
    ActionNotFound(i64),
    #[error("action {id} is {state}, not pending")]
    ActionNotPending { id: i64, state: &'static str },
    #[error("{0}")]
    Conflict(#[from] TransitionError),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}
