//! Access control's services: the settings, passwords (argon2id), secrets for sessions and API
//! tokens (only their SHA-256 is stored), the rate limits kept in this process, the first
//! admin, and the audit trail's writer. The HTTP guard (`http::guard`) and the command line
//! use these; the decisions themselves are `nightwatch_core::access`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ipnet::IpNet;
use nightwatch_core::access::{Limit, Role, SlidingWindow};
use nightwatch_store::{AuditEntry, Store, StoreError};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "nightwatch_session";
/// API tokens start with this, so a leaked one is recognisable (and secret scanners can match it).
pub const TOKEN_PREFIX: &str = "nwt_";
/// The user the first start creates when there is none.
pub const INITIAL_ADMIN: &str = "admin";

/// `[access]` as the binary resolved it.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// `false` only with `--insecure-no-auth`: every request is an anonymous admin, and every
    /// page says so in red.
    pub enabled: bool,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// `Host` header values accepted (names or addresses, no port; `*` for any).
    pub allowed_hosts: Vec<String>,
    /// A trusted reverse proxy's header naming the signed-in user (oauth2-proxy:
    /// `X-Forwarded-User` / `X-Forwarded-Email`), accepted only from `proxy_addresses`.
    pub proxy_header: Option<String>,
    pub proxy_addresses: Vec<IpNet>,
    /// The role of a proxy user who is not a local user.
    pub proxy_default_role: Role,
    /// Cookies carry `Secure` (set when nightwatch is reached over TLS).
    pub secure_cookies: bool,
    /// Failed logins per user name and per address before the login is locked for the window.
    pub login_failures: Limit,
    /// Analyses regenerated per identity (each costs a model call).
    pub regenerate: Limit,
    /// Slack user id → nightwatch user, for the Approve / Reject buttons.
    pub slack_users: BTreeMap<String, String>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            enabled: true,
            session_ttl: Duration::hours(12),
            allowed_hosts: vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ],
            proxy_header: None,
            proxy_addresses: Vec::new(),
            proxy_default_role: Role::Viewer,
            secure_cookies: false,
            login_failures: Limit {
                max: 5,
                window: Duration::minutes(15),
            },
            regenerate: Limit {
                max: 10,
                window: Duration::hours(1),
            },
            slack_users: BTreeMap::new(),
        }
    }
}

impl AccessConfig {
    /// Whether `peer` is one of the configured reverse proxies.
    pub fn trusted_proxy(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.proxy_addresses.iter().any(|net| net.contains(&ip)))
    }
}

/// The settings plus the limits' memory (per process: with several replicas each keeps its
/// own, so a limit is at most N times looser; lockouts are also in the audit trail).
pub struct AccessControl {
    pub config: AccessConfig,
    login_failures: Mutex<SlidingWindow>,
    regenerations: Mutex<SlidingWindow>,
}

/// Why an attempt was refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: Duration,
}

impl AccessControl {
    pub fn new(config: AccessConfig) -> Self {
        AccessControl {
            config,
            login_failures: Mutex::new(SlidingWindow::default()),
            regenerations: Mutex::new(SlidingWindow::default()),
        }
    }

    /// Whether logins for `name` or from `source` are locked by earlier failures.
    pub fn login_locked(&self, name: &str, source: &str, now: DateTime<Utc>) -> bool {
        let limit = self.config.login_failures;
        let mut window = lock(&self.login_failures);
        window.count(&format!("user:{name}"), limit, now) >= limit.max as usize
            || window.count(&format!("addr:{source}"), limit, now) >= limit.max as usize
    }

    /// Counts a failed login; returns whether this failure locked the name or the address.
    pub fn login_failed(&self, name: &str, source: &str, now: DateTime<Utc>) -> bool {
        let limit = self.config.login_failures;
        let mut window = lock(&self.login_failures);
        let mut locked = false;
        for key in [format!("user:{name}"), format!("addr:{source}")] {
            window.record(&key, now);
            locked |= window.count(&key, limit, now) == limit.max as usize;
        }
        locked
    }

    pub fn login_succeeded(&self, name: &str) {
        lock(&self.login_failures).clear(&format!("user:{name}"));
    }

    /// Takes one regeneration for `identity`, or says how long to wait.
    pub fn take_regeneration(&self, identity: &str, now: DateTime<Utc>) -> Result<(), Limited> {
        lock(&self.regenerations)
            .try_take(identity, self.config.regenerate, now)
            .map_err(|retry_after| Limited { retry_after })
    }
}

fn lock(window: &Mutex<SlidingWindow>) -> std::sync::MutexGuard<'_, SlidingWindow> {
    // A panic while holding the lock leaves counts, not broken invariants: keep using them.
    window
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("hashing a password: {0}")]
    Hash(String),
    #[error("{0}")]
    Invalid(String),
}

/// A token just made: its id, expiry and secret (the only time the secret exists).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub secret: String,
}

/// Makes an API token `name` with `role`, acting for `owner` when given, and living for
/// `expires` when given: (the key errors name, a duration such as `90d`). The API and the command line both
/// come here, so they check and store alike.
pub async fn issue_token(
    store: &Store,
    name: &str,
    owner: Option<&str>,
    role: Role,
    expires: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, AccessError> {
    nightwatch_core::access::check_name(name).map_err(AccessError::Invalid)?;
    if let Some(owner) = owner
        && store.user(owner).await?.is_none()
    {
        return Err(AccessError::Invalid(format!("owner: no user {owner:?}")));
    }
    let expires_at = match expires {
        None => None,
        Some((key, text)) => {
            let too_long = || AccessError::Invalid(format!("{key}: too long"));
            let duration = nightwatch_core::duration::parse_duration(key, text)
                .map_err(|e| AccessError::Invalid(e.to_string()))?;
            let duration = Duration::from_std(duration).map_err(|_| too_long())?;
            Some(now.checked_add_signed(duration).ok_or_else(too_long)?)
        }
    };
    let secret = format!("{TOKEN_PREFIX}{}", new_secret());
    let id = store
        .create_token(name, owner, role, &secret_hash(&secret), now, expires_at)
        .await?;
    Ok(IssuedToken {
        id,
        expires_at,
        secret,
    })
}

/// A random secret of 32 bytes, URL-safe base64 (for cookies, tokens, CSRF tokens and the
/// first admin's password).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a session cookie or an API token: its SHA-256, hex.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An argon2id hash of `password` (PHC string). Slow on purpose: call off the async threads.
pub fn hash_password(password: &str) -> Result<String, AccessError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AccessError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash. A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password matches, checked against when the user does not exist, so a login for
/// an unknown name takes as long as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_secret()).unwrap_or_default())
}

/// Hashes on a blocking thread (argon2 takes tens of milliseconds by design).
pub async fn hash_password_blocking(password: String) -> Result<String, AccessError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccessError::Hash(e.to_string()))?
}

pub async fn verify_password_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// With no user at all, creates [`INITIAL_ADMIN`] with a random password that must be changed
/// at first login, and returns the password (to be printed once). Two replicas starting at
/// once create it once: the loser gets `None`.
pub async fn ensure_initial_admin(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<String>, AccessError> {
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    let password = new_secret();
    let hash = hash_password_blocking(password.clone()).await?;
    if !store
        .create_user(INITIAL_ADMIN, &hash, Role::Admin, true, now)
        .await?
    {
        return Ok(None);
    }
    audit(
        store,
        AuditEntry {
            id: None,
            at: now,
            actor: "nightwatch".to_owned(),
            auth_method: "startup".to_owned(),
            source: None,
            action: "user_add".to_owned(),
            target: Some(INITIAL_ADMIN.to_owned()),
            outcome: "ok".to_owned(),
            detail: Some(
                "first start: initial admin, password to be changed at first login".into(),
            ),
        },
    )
    .await;
    Ok(Some(password))
}

/// Appends to the audit trail; a failure is logged loudly (the change it records has already
/// happened and cannot be undone for it).
pub async fn audit(store: &Store, entry: AuditEntry) {
    if let Err(error) = store.append_audit(&entry).await {
        tracing::error!(%error, action = %entry.action, actor = %entry.actor, "could not write the audit trail");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(!verify_password("anything", dummy_hash()));
    }

    #[test]
    fn secrets_are_random_and_stored_hashed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), a);
    }

    #[test]
    fn logins_lock_per_name_and_per_address() {
        let control = AccessControl::new(AccessConfig::default());
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 3, 10, 0, 0).unwrap();
        for i in 0..4 {
            assert!(!control.login_failed("alice", &format!("10.0.0.{i}"), now));
        }
        assert!(!control.login_locked("alice", "10.0.0.9", now));
        assert!(
            control.login_failed("alice", "10.0.0.9", now),
            "fifth failure locks"
        );
        assert!(
            control.login_locked("alice", "10.0.0.10", now),
            "the name, from anywhere"
        );
        assert!(!control.login_locked("bob", "10.0.0.10", now));
        assert!(!control.login_locked("alice", "10.0.0.9", now + Duration::minutes(16)));
    }
}
