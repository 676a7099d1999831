//! Signing in and out, changing one's password, and what every page shows of who is signed in
//! ([`Chrome`]).

use super::identity::Identity;
use super::identity::Peer;
use super::ui::render;
use super::{ApiError, AppState};
use crate::access::{
    SESSION_COOKIE, audit, dummy_hash, hash_password_blocking, new_secret, secret_hash,
    verify_password_blocking,
};
use askama::Template;
use axum::Form;
use axum::extract::{OptionalFromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use nightwatch_core::access::check_password;
use nightwatch_store::AuditEntry;
use serde::Deserialize;
use std::net::IpAddr;

/// What the page header shows: who is signed in (with the log-out form and the CSRF token
/// every form carries), or the red banner when authentication is off.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub user: Option<String>,
    pub role: String,
    pub csrf: String,
    pub auth_off: bool,
}

impl Chrome {
    pub fn of(identity: &Identity) -> Self {
        Chrome {
            user: Some(identity.name.clone()),
            role: identity.role.as_str().to_owned(),
            csrf: identity.csrf.clone().unwrap_or_default(),
            auth_off: identity.method == nightwatch_core::access::AuthMethod::Off,
        }
    }

    fn anonymous() -> Self {
        Chrome::default()
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Identity>().cloned())
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    name: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only a path on this site is a place to go back to (never `//evil.example`).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub async fn page(
    identity: Option<Identity>,
    Query(query): Query<LoginQuery>,
) -> Result<Html<String>, ApiError> {
    render(&LoginPage {
        chrome: identity
            .as_ref()
            .map(Chrome::of)
            .unwrap_or_else(Chrome::anonymous),
        next: local_path(query.next.as_deref()),
        name: String::new(),
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let source = peer.map(|ip| ip.to_string()).unwrap_or_default();
    let name = form.name.trim().to_owned();
    let next = local_path(form.next.as_deref());
    let entry = |action: &str, outcome: &str, detail: Option<String>| AuditEntry {
        id: None,
        at: now,
        actor: name.clone(),
        auth_method: "password".to_owned(),
        source: Some(source.clone()).filter(|s| !s.is_empty()),
        action: action.to_owned(),
        target: None,
        outcome: outcome.to_owned(),
        detail,
    };
    let access = &state.access;
    if access.login_locked(&name, &source, now) {
        state.metrics.login_refused("locked");
        audit(
            &state.store,
            entry(
                "login",
                "refused",
                Some("locked: too many failed logins".into()),
            ),
        )
        .await;
        return refuse(
            &name,
            &next,
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins: try again later",
        );
    }
    let user = state.store.user(&name).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let ok = verify_password_blocking(form.password.clone(), hash).await && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        let locked = access.login_failed(&name, &source, now);
        state
            .metrics
            .login_refused(if locked { "lockout" } else { "wrong_password" });
        audit(
            &state.store,
            entry(
                "login_failed",
                "refused",
                locked.then(|| "locked now".to_owned()),
            ),
        )
        .await;
        return refuse(
            &name,
            &next,
            StatusCode::UNAUTHORIZED,
            "wrong name or password",
        );
    };
    access.login_succeeded(&name);
    let secret = new_secret();
    state
        .store
        .create_session(
            &secret_hash(&secret),
            &user.name,
            &new_secret(),
            now,
            now + access.config.session_ttl,
            Some(source.as_str()).filter(|s| !s.is_empty()),
        )
        .await?;
    audit(&state.store, entry("login", "ok", None)).await;
    let to = if user.must_change_password {
        "/password".to_owned()
    } else {
        next
    };
    let mut response = Redirect::to(&to).into_response();
    let secure = access.config.secure_cookies || forwarded_https(&state, &headers, peer);
    set_cookie(
        &mut response,
        &session_cookie(&secret, access.config.session_ttl, secure),
    );
    Ok(response)
}

fn forwarded_https(state: &AppState, headers: &HeaderMap, peer: Option<IpAddr>) -> bool {
    state.access.config.trusted_proxy(peer)
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn session_cookie(secret: &str, ttl: chrono::Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        ttl.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// What ends the session in the browser (logout, a changed password).
fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn refuse(name: &str, next: &str, status: StatusCode, error: &str) -> Result<Response, ApiError> {
    let page = render(&LoginPage {
        chrome: Chrome::anonymous(),
        next: next.to_owned(),
        name: name.to_owned(),
        error: Some(error.to_owned()),
    })?;
    Ok((status, page).into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(cookie) = super::identity::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&secret_hash(cookie)).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    set_cookie(&mut response, &cleared_session_cookie());
    Ok(response)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    must_change: bool,
    error: Option<String>,
}

pub async fn password_page(identity: Identity) -> Result<Html<String>, ApiError> {
    render(&PasswordPage {
        chrome: Chrome::of(&identity),
        must_change: identity.must_change_password,
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

/// Changes the signed-in user's own password (ending all their sessions), then asks them to
/// sign in again.
pub async fn change_password(
    State(state): State<AppState>,
    identity: Identity,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let again = |status: StatusCode, error: &str| -> Result<Response, ApiError> {
        let page = render(&PasswordPage {
            chrome: Chrome::of(&identity),
            must_change: identity.must_change_password,
            error: Some(error.to_owned()),
        })?;
        Ok((status, page).into_response())
    };
    if identity.method != nightwatch_core::access::AuthMethod::Session {
        return again(
            StatusCode::BAD_REQUEST,
            "only a user signed in with a password can change it here (tokens and proxy users \
             have none)",
        );
    }
    let Some(user) = state.store.user(&identity.name).await? else {
        return again(StatusCode::NOT_FOUND, "no such user");
    };
    if !verify_password_blocking(form.current.clone(), user.password_hash.clone()).await {
        return again(StatusCode::UNAUTHORIZED, "the current password is wrong");
    }
    if form.new != form.repeat {
        return again(StatusCode::BAD_REQUEST, "the two new passwords differ");
    }
    if form.new == form.current {
        return again(
            StatusCode::BAD_REQUEST,
            "the new password must differ from the current one",
        );
    }
    if let Err(why) = check_password(&identity.name, &form.new) {
        return again(StatusCode::BAD_REQUEST, why);
    }
    let hash = hash_password_blocking(form.new.clone())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    state
        .store
        .set_password(&identity.name, &hash, false, state.clock.now())
        .await?;
    let mut response = Redirect::to("/login?changed=1").into_response();
    set_cookie(&mut response, &cleared_session_cookie());
    Ok(response)
}

/// `GET /api/whoami`: the caller's identity as the server sees it.
pub async fn whoami(identity: Identity) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "name": identity.name,
        "role": identity.role,
        "method": identity.method,
        "source": identity.source_text(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        for (next, expected) in [
            (None, "/"),
            (Some("/incident/4?x=1"), "/incident/4?x=1"),
            (Some("//evil.example/"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("/\\evil.example"), "/"),
        ] {
            assert_eq!(local_path(next), expected, "{next:?}");
        }
    }
}
