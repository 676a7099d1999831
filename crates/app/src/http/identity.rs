//! Who is behind a request: found once by the guard (`guard.rs`) from a session cookie, an API
//! token or a trusted proxy's header, put in the request's extensions, and taken by handlers
//! as an extractor. Handlers never read a name from a body.

use super::{ApiError, AppState};
use crate::access::{SESSION_COOKIE, secret_hash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use nightwatch_core::access::{Actor, AuthMethod, Role};
use std::net::IpAddr;

/// A person (or service) identified for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    pub method: AuthMethod,
    /// The address the request came from (the TCP peer; for a trusted proxy, the proxy).
    pub source: Option<IpAddr>,
    /// The session's CSRF token (forms carry it back).
    pub csrf: Option<String>,
    /// A session whose password must be changed before anything else.
    pub must_change_password: bool,
}

impl Identity {
    /// Everyone is an anonymous admin: authentication is switched off.
    pub fn auth_off(source: Option<IpAddr>) -> Self {
        Identity {
            name: "anonymous".to_owned(),
            role: Role::Admin,
            method: AuthMethod::Off,
            source,
            csrf: None,
            must_change_password: false,
        }
    }

    /// How and from where, as events record it: `session from 10.0.0.7`.
    pub fn via(&self) -> String {
        match self.source {
            Some(source) => format!("{} from {source}", self.method.as_str()),
            None => self.method.as_str().to_owned(),
        }
    }

    pub fn source_text(&self) -> Option<String> {
        self.source.map(|s| s.to_string())
    }
}

/// An identity with its `via` text, to hand to the store as the actor.
pub struct ActorText {
    name: String,
    via: String,
}

impl ActorText {
    pub fn of(identity: &Identity) -> Self {
        ActorText {
            name: identity.name.clone(),
            via: identity.via(),
        }
    }

    pub fn actor(&self) -> Actor<'_> {
        Actor {
            name: &self.name,
            via: Some(&self.via),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The guard runs before every routed handler; a handler without an identity means a
        // route was mounted around the guard, which must not answer.
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| ApiError::internal("no identity: the route is outside the guard"))
    }
}

/// The TCP peer's address, when the server recorded it (not in in-process tests).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// Why a request's credentials were refused (401).
#[derive(Debug)]
pub struct BadCredentials(pub &'static str);

/// Finds who sent the request. `Ok(None)`: nobody (anonymous). Credentials that are present
/// but wrong are an error, never a fall-back to anonymous.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    source: Option<IpAddr>,
) -> Result<Option<Identity>, IdentifyError> {
    let config = &state.access.config;
    if !config.enabled {
        return Ok(Some(Identity::auth_off(source)));
    }
    let now = state.clock.now();
    if let Some(token) = bearer(headers) {
        let Some(row) = state.store.token_by_hash(&secret_hash(token), now).await? else {
            return Err(BadCredentials("invalid, expired or revoked API token").into());
        };
        touch_later(state, row.id);
        return Ok(Some(Identity {
            name: row
                .owner
                .clone()
                .unwrap_or_else(|| format!("token:{}", row.name)),
            role: row.role,
            method: AuthMethod::Token,
            source,
            csrf: None,
            must_change_password: false,
        }));
    }
    // An expired or unknown cookie is no one: the login page will replace it.
    if let Some(cookie) = cookie(headers, SESSION_COOKIE)
        && let Some(session) = state.store.session(&secret_hash(cookie), now).await?
    {
        return Ok(Some(Identity {
            name: session.user.name,
            role: session.user.role,
            method: AuthMethod::Session,
            source,
            csrf: Some(session.csrf_token),
            must_change_password: session.user.must_change_password,
        }));
    }
    if let Some(header_name) = &config.proxy_header
        && let Some(value) = headers.get(header_name.as_str())
    {
        if !config.trusted_proxy(source) {
            return Err(BadCredentials(
                "the proxy user header is only accepted from the configured proxy addresses",
            )
            .into());
        }
        let name = value
            .to_str()
            .map_err(|_| BadCredentials("the proxy user header is not text"))?
            .trim()
            .to_owned();
        if name.is_empty() {
            return Ok(None);
        }
        let role = match state.store.user(&name).await? {
            Some(user) => user.role,
            None => config.proxy_default_role,
        };
        return Ok(Some(Identity {
            name,
            role,
            method: AuthMethod::Proxy,
            source,
            csrf: None,
            must_change_password: false,
        }));
    }
    Ok(None)
}

/// Records a token's use without holding up the request.
fn touch_later(state: &AppState, id: i64) {
    let store = state.store.clone();
    let now = state.clock.now();
    tokio::spawn(async move {
        if let Err(error) = store.touch_token(id, now).await {
            tracing::warn!(%error, token = id, "could not record the token's last use");
        }
    });
}

#[derive(Debug)]
pub enum IdentifyError {
    Credentials(BadCredentials),
    Store(nightwatch_store::StoreError),
}

impl From<BadCredentials> for IdentifyError {
    fn from(error: BadCredentials) -> Self {
        IdentifyError::Credentials(error)
    }
}

impl From<nightwatch_store::StoreError> for IdentifyError {
    fn from(error: nightwatch_store::StoreError) -> Self {
        IdentifyError::Store(error)
    }
}

impl From<IdentifyError> for ApiError {
    fn from(error: IdentifyError) -> Self {
        match error {
            IdentifyError::Credentials(BadCredentials(why)) => {
                ApiError::new(StatusCode::UNAUTHORIZED, why)
            }
            IdentifyError::Store(error) => error.into(),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_bearer_tokens_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; nightwatch_session=abc; b=2".parse().unwrap(),
        );
        headers.insert(header::AUTHORIZATION, "Bearer nwt_x".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        assert_eq!(bearer(&headers), Some("nwt_x"));
        headers.insert(header::AUTHORIZATION, "Basic eDp5".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
