//! Users, login sessions, API tokens and the audit trail. The store keeps hashes only (an
//! argon2 PHC string per password, the SHA-256 of each session cookie and token); hashing and
//! checking are the caller's.

use crate::sql::{from_millis, millis};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use nightwatch_core::access::Role;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub owner: Option<String>,
    /// The token's own role; a token that acts for a user never has more than the user has
    /// now (see [`Store::token_by_hash`]).
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub auth_method: String,
    pub source: Option<String>,
    /// What was done: `login`, `login_failed`, `logout`, `POST /api/actions/{id}/approve`, …
    pub action: String,
    pub target: Option<String>,
    /// `ok`, `refused`, or the HTTP status of a write.
    pub outcome: String,
    pub detail: Option<String>,
}

/// Which audit lines to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Lines whose action contains this text.
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Lines older than this id (paging).
    pub before_id: Option<i64>,
    pub limit: i64,
}

const USER_COLUMNS: &str =
    "u.name, u.password_hash, u.role, u.must_change_password, u.created_at, u.password_changed_at";

fn user_row(row: &AnyRow) -> Result<UserRow, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(UserRow {
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: role.parse().map_err(StoreError::corrupt)?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        created_at: from_millis(row.try_get("created_at")?),
        password_changed_at: from_millis(row.try_get("password_changed_at")?),
    })
}

const TOKEN_COLUMNS: &str =
    "t.id, t.name, t.owner, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

fn token_row(row: &AnyRow) -> Result<TokenRow, StoreError> {
    let role: String = row.try_get("role")?;
    let optional = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(from_millis))
    };
    Ok(TokenRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner: row.try_get("owner")?,
        role: role.parse().map_err(StoreError::corrupt)?,
        created_at: from_millis(row.try_get("created_at")?),
        expires_at: optional("expires_at")?,
        last_used_at: optional("last_used_at")?,
        revoked_at: optional("revoked_at")?,
    })
}

impl Store {
    /// Adds a user; `false` (and nothing changed) when the name is taken — so two replicas
    /// starting at once create the first admin once.
    pub async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        must_change_password: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO users (name, password_hash, role, must_change_password, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(i64::from(must_change_password))
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let statement = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1");
        sqlx::query(&statement)
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let statement = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name");
        sqlx::query(&statement)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(user_row)
            .collect()
    }

    /// Sets a user's password and ends all their sessions (a changed password logs every
    /// other browser out). `false` when there is no such user.
    pub async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        must_change_password: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3 \
             WHERE name = $4",
        )
        .bind(password_hash)
        .bind(i64::from(must_change_password))
        .bind(millis(now))
        .bind(name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_role(&self, name: &str, role: Role) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE name = $2")
            .bind(role.as_str())
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a user with their sessions and the tokens that act for them.
    pub async fn remove_user(&self, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE owner = $2 AND revoked_at IS NULL",
        )
        .bind(millis(now))
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        source: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, expires_at, source) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user)
        .bind(csrf_token)
        .bind(millis(now))
        .bind(millis(expires_at))
        .bind(source)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The unexpired session whose cookie hashes to `token_hash`, with its user as they are now.
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let statement = format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.created_at AS session_created, s.expires_at \
             FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        let Some(row) = sqlx::query(&statement)
            .bind(token_hash)
            .bind(millis(now))
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SessionRow {
            user: user_row(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            created_at: from_millis(row.try_get("session_created")?),
            expires_at: from_millis(row.try_get("expires_at")?),
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Removes sessions that expired before `now`; returns how many.
    pub async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(millis(now))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn create_token(
        &self,
        name: &str,
        owner: Option<&str>,
        role: Role,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, owner, role, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(owner)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(millis(now))
        .bind(expires_at.map(millis))
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// The live token (not revoked, not expired at `now`) whose secret hashes to `token_hash`.
    /// A token acting for a user who is gone is not live; one acting for a user whose role was
    /// lowered has the lower role.
    pub async fn token_by_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRow>, StoreError> {
        let statement = format!(
            "SELECT {TOKEN_COLUMNS}, u.role AS owner_role, u.name AS owner_name \
             FROM api_tokens t LEFT JOIN users u ON u.name = t.owner \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > $2)"
        );
        let Some(row) = sqlx::query(&statement)
            .bind(token_hash)
            .bind(millis(now))
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let mut token = token_row(&row)?;
        if token.owner.is_some() {
            let owner_role: Option<String> = row.try_get("owner_role")?;
            let Some(owner_role) = owner_role else {
                return Ok(None);
            };
            let owner_role: Role = owner_role.parse().map_err(StoreError::corrupt)?;
            token.role = token.role.min(owner_role);
        }
        Ok(Some(token))
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let statement = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens t ORDER BY t.id");
        sqlx::query(&statement)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(token_row)
            .collect()
    }

    /// Marks token `id` used at `now`, at most once a minute (a write per request would cost
    /// an fsync per API call).
    pub async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(millis(now))
        .bind(id)
        .bind(millis(now) - 60_000)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(millis(now))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends one line to the audit trail.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, auth_method, source, action, target, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(millis(entry.at))
        .bind(&entry.actor)
        .bind(&entry.auth_method)
        .bind(entry.source.as_deref())
        .bind(&entry.action)
        .bind(entry.target.as_deref())
        .bind(&entry.outcome)
        .bind(entry.detail.as_deref())
        .fetch_one(&self.write)
        .await?;
        Ok(id)
    }

    /// Audit lines matching `filter`, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut statement = String::from(
            "SELECT id, at, actor, auth_method, source, action, target, outcome, detail \
             FROM audit_log WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.actor.is_some() {
            statement.push_str(&format!(" AND actor = {}", next()));
        }
        if filter.action.is_some() {
            // Concatenation spelled the same on both backends.
            statement.push_str(&format!(" AND action LIKE '%' || {} || '%'", next()));
        }
        if filter.since.is_some() {
            statement.push_str(&format!(" AND at >= {}", next()));
        }
        if filter.before_id.is_some() {
            statement.push_str(&format!(" AND id < {}", next()));
        }
        statement.push_str(&format!(" ORDER BY id DESC LIMIT {}", next()));
        let mut query = sqlx::query(&statement);
        if let Some(actor) = &filter.actor {
            query = query.bind(actor.as_str());
        }
        if let Some(action) = &filter.action {
            query = query.bind(action.as_str());
        }
        if let Some(since) = filter.since {
            query = query.bind(millis(since));
        }
        if let Some(before) = filter.before_id {
            query = query.bind(before);
        }
        query = query.bind(filter.limit.clamp(1, 1000));
        query
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: Some(row.try_get("id")?),
                    at: from_millis(row.try_get("at")?),
                    actor: row.try_get("actor")?,
                    auth_method: row.try_get("auth_method")?,
                    source: row.try_get("source")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
