//! Access control's vocabulary and its pure decisions: roles, how a person was identified,
//! what each route requires, and the sliding-window limits on logins and costly calls.
//!
//! The HTTP edge finds out *who* (a session cookie, an API token, a trusted proxy's header);
//! everything it then decides — may this identity use this route, is this login locked out,
//! is this caller over its rate — is decided here, from data and an injected `now`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

/// What a person may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read incidents, analyses, actions, the briefing, tuning and metrics.
    Viewer,
    /// Acknowledge, resolve, set verdicts, regenerate an analysis (within a rate limit).
    Responder,
    /// Approve or reject actions; create silences.
    Approver,
    /// Users, tokens, the audit trail.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Responder, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected viewer, responder, approver or admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

/// How the person behind a request was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A login session (the cookie).
    Session,
    /// `Authorization: Bearer` with an API token.
    Token,
    /// A trusted reverse proxy's user header (OIDC / SSO in front).
    Proxy,
    /// A Slack user mapped to a nightwatch user.
    Slack,
    /// The command line, on the machine with the database.
    Cli,
    /// Nobody: authentication is switched off (`--insecure-no-auth`).
    Off,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Session => "session",
            AuthMethod::Token => "token",
            AuthMethod::Proxy => "proxy",
            AuthMethod::Slack => "slack",
            AuthMethod::Cli => "cli",
            AuthMethod::Off => "auth_off",
        }
    }
}

/// Who did something, as events record it: the name, and how and from where they were
/// identified (`via`, e.g. `session from 10.0.0.7`). A plain name converts into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub name: &'a str,
    pub via: Option<&'a str>,
}

impl<'a> From<&'a str> for Actor<'a> {
    fn from(name: &'a str) -> Self {
        Actor { name, via: None }
    }
}

impl<'a> From<&'a String> for Actor<'a> {
    fn from(name: &'a String) -> Self {
        Actor { name, via: None }
    }
}

/// What a route asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, readiness, the login page, static scripts and styles.
    Public,
    /// A webhook: checked by its source's own credentials, not by a person's identity.
    Webhook,
    /// A signed-in identity with at least this role.
    Role(Role),
}

/// The answer for one request to a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Nobody is signed in: 401 (or the login page, for a browser).
    Unauthenticated,
    /// Signed in, without the role: 403.
    Forbidden {
        needs: Role,
        has: Role,
    },
}

/// May a caller with `role` (None: anonymous) use a route that asks for `access`?
pub fn admit(access: Access, role: Option<Role>) -> Admission {
    match (access, role) {
        (Access::Public | Access::Webhook, _) => Admission::Allowed,
        (Access::Role(_), None) => Admission::Unauthenticated,
        (Access::Role(needs), Some(has)) if has >= needs => Admission::Allowed,
        (Access::Role(needs), Some(has)) => Admission::Forbidden { needs, has },
    }
}

/// A sliding-window limit per key: at most `max` events in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// Counts events per key (an identity, a login name) and answers whether one more is allowed.
/// Keys whose events have all left the window are forgotten, so the map stays as small as the
/// set of recent callers.
#[derive(Debug, Default)]
pub struct SlidingWindow {
    seen: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl SlidingWindow {
    /// Records an attempt by `key` at `now` if it is within `limit`; otherwise refuses it
    /// with how long until the oldest counted attempt leaves the window.
    pub fn try_take(
        &mut self,
        key: &str,
        limit: Limit,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        self.forget_before(now - limit.window);
        let times = self.seen.entry(key.to_owned()).or_default();
        if times.len() >= limit.max as usize {
            let oldest = times.front().copied().unwrap_or(now);
            return Err((oldest + limit.window - now).max(Duration::seconds(1)));
        }
        times.push_back(now);
        Ok(())
    }

    /// How many attempts `key` has in the window ending at `now`.
    pub fn count(&mut self, key: &str, limit: Limit, now: DateTime<Utc>) -> usize {
        self.forget_before(now - limit.window);
        self.seen.get(key).map_or(0, VecDeque::len)
    }

    /// Records an attempt without checking (a failed login counts even when already locked).
    pub fn record(&mut self, key: &str, now: DateTime<Utc>) {
        self.seen.entry(key.to_owned()).or_default().push_back(now);
    }

    /// Forgets `key` (a successful login clears its failures).
    pub fn clear(&mut self, key: &str) {
        self.seen.remove(key);
    }

    fn forget_before(&mut self, horizon: DateTime<Utc>) {
        self.seen.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= horizon) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }
}

/// Whether a request's `Origin` / `Sec-Fetch-Site` show it was sent by another site's page
/// (a cross-site form or script): such a request must not change anything, whatever
/// credentials the browser attached. `host` is the request's `Host` header.
pub fn cross_site(origin: Option<&str>, sec_fetch_site: Option<&str>, host: &str) -> bool {
    if let Some(site) = sec_fetch_site
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match origin {
        None => false,
        Some(origin) => {
            let without_scheme = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            without_scheme.is_none_or(|rest| !rest.eq_ignore_ascii_case(host))
        }
    }
}

/// Whether `host` (a `Host` header, with or without a port) names one of `allowed`
/// (host names or addresses, without ports; `*` allows any).
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = host_name(host);
    allowed
        .iter()
        .any(|a| a == "*" || a.trim_matches(['[', ']']).eq_ignore_ascii_case(name))
}

/// The host part of a `Host` header: `[::1]:8080` → `::1`, `example.org:80` → `example.org`.
pub fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Checks a new password: long enough, not the user's name.
pub fn check_password(name: &str, password: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err("a password must have at least 12 characters");
    }
    if password.eq_ignore_ascii_case(name) {
        return Err("a password must not be the user's name");
    }
    Ok(())
}

pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks a user or token name: what can safely be shown everywhere and typed on a command
/// line.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name {name:?}: 1 to 64 of letters, digits, '.', '_', '-', '@'"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap() + Duration::seconds(second)
    }

    #[test]
    fn roles_include_the_ones_before() {
        let cases = [
            (Access::Public, None, Admission::Allowed),
            (Access::Webhook, None, Admission::Allowed),
            (Access::Role(Role::Viewer), None, Admission::Unauthenticated),
            (
                Access::Role(Role::Viewer),
                Some(Role::Viewer),
                Admission::Allowed,
            ),
            (
                Access::Role(Role::Approver),
                Some(Role::Responder),
                Admission::Forbidden {
                    needs: Role::Approver,
                    has: Role::Responder,
                },
            ),
            (
                Access::Role(Role::Approver),
                Some(Role::Admin),
                Admission::Allowed,
            ),
            (
                Access::Role(Role::Admin),
                Some(Role::Approver),
                Admission::Forbidden {
                    needs: Role::Admin,
                    has: Role::Approver,
                },
            ),
        ];
        for (access, role, expected) in cases {
            assert_eq!(admit(access, role), expected, "{access:?} {role:?}");
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn sliding_window_counts_per_key_and_forgets() {
        let limit = Limit {
            max: 3,
            window: Duration::seconds(60),
        };
        let mut window = SlidingWindow::default();
        for s in 0..3 {
            assert!(window.try_take("alice", limit, t(s)).is_ok());
        }
        let wait = window.try_take("alice", limit, t(10)).unwrap_err();
        assert_eq!(wait, Duration::seconds(50));
        assert!(window.try_take("bob", limit, t(10)).is_ok(), "per key");
        // The first attempt leaves the window at t(60).
        assert!(window.try_take("alice", limit, t(60)).is_ok());
        assert_eq!(window.count("alice", limit, t(61)), 2, "t(2) and t(60)");
        assert_eq!(window.count("alice", limit, t(200)), 0);
        assert!(window.seen.is_empty(), "old keys are forgotten");
        window.record("carol", t(200));
        window.clear("carol");
        assert_eq!(window.count("carol", limit, t(200)), 0);
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let host = "127.0.0.1:8080";
        let cases = [
            (None, None, false),
            (Some("http://127.0.0.1:8080"), None, false),
            (Some("https://127.0.0.1:8080"), Some("same-origin"), false),
            (None, Some("none"), false),
            (Some("http://evil.example"), None, true),
            (Some("http://127.0.0.1:9999"), None, true),
            (Some("null"), None, true),
            (None, Some("cross-site"), true),
            (None, Some("same-site"), true),
            (Some("http://127.0.0.1:8080"), Some("cross-site"), true),
        ];
        for (origin, site, expected) in cases {
            assert_eq!(
                cross_site(origin, site, host),
                expected,
                "{origin:?} {site:?}"
            );
        }
    }

    #[test]
    fn hosts_are_matched_without_ports() {
        let allowed = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        for (host, ok) in [
            ("localhost:8080", true),
            ("LOCALHOST", true),
            ("127.0.0.1:1", true),
            ("[::1]:8080", true),
            ("evil.example:8080", false),
            ("127.0.0.2", false),
            ("", false),
        ] {
            assert_eq!(host_allowed(host, &allowed), ok, "{host}");
        }
        assert!(host_allowed("anything", &["*".to_owned()]));
    }

    #[test]
    fn passwords_and_names_are_checked() {
        assert!(check_password("alice", "short").is_err());
        assert!(check_password("alice-on-call", "ALICE-ON-CALL").is_err());
        assert!(check_password("alice", "correct horse battery").is_ok());
        assert!(check_name("alice@example.org").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("<script>").is_err());
    }
}
