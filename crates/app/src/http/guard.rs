//! The one gate every routed request passes, in this order:
//!
//! 1. **Host**: the `Host` header must name an allowed host (DNS rebinding cannot reach even a
//!    loopback-only instance).
//! 2. **The route's access** from the route table; a route without an entry is refused.
//! 3. **Cross-site**: a state change another site's page sent (`Origin` / `Sec-Fetch-Site`) is
//!    refused whatever it carries.
//! 4. **Who**: session cookie, API token or trusted proxy header (`identity.rs`), then the
//!    role check (401 / 403; a browser asking for a page is sent to the login page).
//! 5. **Content type and CSRF**: a JSON route's change takes only `Content-Type:
//!    application/json`; a session's change must carry its token (form field `csrf` or header
//!    `X-CSRF-Token`).
//! 6. **Audit**: every state change by a person is appended to the audit trail with its
//!    outcome.
//!
//! Every answer, routed or not, gets the browser-safety headers (`secure_headers`).

// A refusal is the answer itself (a JSON error or a redirect), built once per refused request;
// boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::identity::{Identity, identify};
use super::{ApiError, AppState};
use crate::access::audit;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use nightwatch_core::access::{Access, Admission, admit, cross_site, host_allowed};
use nightwatch_store::AuditEntry;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What the guard needs: the app and the route table.
#[derive(Clone)]
pub struct GuardState {
    pub app: AppState,
    pub table: Arc<HashMap<(Method, &'static str), Access>>,
}

/// The most of a form body read to find its CSRF token.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub async fn guard(State(guard): State<GuardState>, request: Request, next: Next) -> Response {
    match check(&guard, request).await {
        Ok((request, identity, audited)) => {
            let method = request.method().clone();
            let path = request.uri().path().to_owned();
            let response = next.run(request).await;
            if let (Some(identity), Some(pattern)) = (identity, audited) {
                record(
                    &guard.app,
                    &identity,
                    &method,
                    pattern,
                    &path,
                    response.status(),
                )
                .await;
            }
            response
        }
        Err(refusal) => refusal,
    }
}

type Checked = (Request, Option<Identity>, Option<&'static str>);

async fn check(guard: &GuardState, request: Request) -> Result<Checked, Response> {
    let state = &guard.app;
    let config = &state.access.config;
    let host = request_host(&request);
    if !host_allowed(&host, &config.allowed_hosts) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!("host {host:?} is not served here (see [access] allowed_hosts)"),
        )
        .into_response());
    }
    let (pattern, access) = lookup(&request, &guard.table)?;
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && access != Access::Webhook {
        let headers = request.headers();
        if cross_site(
            text(headers, header::ORIGIN),
            text(headers, "sec-fetch-site"),
            &host,
        ) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross-site request refused: nightwatch only takes changes from its own pages or \
                 from API clients",
            )
            .into_response());
        }
    }
    if access == Access::Webhook {
        // A webhook's credentials are its source's (checked by ingest), not a person's.
        return Ok((request, None, None));
    }
    // Cloned: a request (its body) cannot be held across an await by reference. After the
    // webhook branch, so ingest's hot path copies nothing.
    let headers = request.headers().clone();
    if access == Access::Public {
        // Public pages still learn who is signed in (the login page's header), best effort.
        let source = peer(&request);
        let identity = identify(state, &headers, source).await.ok().flatten();
        let mut request = request;
        if let Some(identity) = identity {
            request.extensions_mut().insert(identity);
        }
        return Ok((request, None, None));
    }
    let source = peer(&request);
    let identity = identify(state, &headers, source)
        .await
        .map_err(|error| unauthorized(ApiError::from(error)))?;
    let page = !pattern.starts_with("/api/") && pattern != "/metrics";
    match admit(access, identity.as_ref().map(|i| i.role)) {
        Admission::Allowed => {}
        Admission::Unauthenticated if page && !changes_state => {
            return Err(to_login(&request));
        }
        Admission::Unauthenticated => {
            return Err(unauthorized(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "sign in: a session, an API token (Authorization: Bearer) or the proxy's user header",
            )));
        }
        Admission::Forbidden { needs, has } => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("this needs the {needs} role; you have {has}"),
            )
            .into_response());
        }
    }
    let Some(identity) = identity else {
        return Err(ApiError::internal("admitted without an identity").into_response());
    };
    if identity.must_change_password && pattern != "/password" && pattern != "/logout" {
        return Err(if page && !changes_state {
            Redirect::to("/password").into_response()
        } else {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "change your password first (/password)",
            )
            .into_response()
        });
    }
    if changes_state && pattern.starts_with("/api/") {
        let headers = request.headers();
        let declared = headers.contains_key(header::CONTENT_TYPE);
        let body = has_body(headers) || request.body().size_hint().exact() != Some(0);
        if (declared || body) && !is_json(headers) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this route takes Content-Type: application/json",
            )
            .into_response());
        }
    }
    let mut request = request;
    if changes_state && identity.csrf.is_some() {
        request = check_csrf(request, identity.csrf.as_deref().unwrap_or_default()).await?;
    }
    request.extensions_mut().insert(identity.clone());
    Ok((request, Some(identity), changes_state.then_some(pattern)))
}

/// The route's pattern and access from the table. A known path asked with another method is
/// answered 405 here (with `Allow` from the table), so no handler mounted around the table
/// can be reached that way; a path with no entry at all is refused.
fn lookup(
    request: &Request,
    table: &HashMap<(Method, &'static str), Access>,
) -> Result<(&'static str, Access), Response> {
    let Some(matched) = request.extensions().get::<MatchedPath>() else {
        // Nothing routed: the router's fallback, which serves nothing.
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such page").into_response());
    };
    if let Some(((_, pattern), access)) = table
        .iter()
        .find(|((method, pattern), _)| method == request.method() && *pattern == matched.as_str())
    {
        return Ok((pattern, *access));
    }
    let mut allowed: Vec<&str> = table
        .keys()
        .filter(|(_, pattern)| *pattern == matched.as_str())
        .map(|(method, _)| method.as_str())
        .collect();
    if allowed.is_empty() {
        return Err(
            ApiError::new(StatusCode::FORBIDDEN, "this route declares no access").into_response(),
        );
    }
    allowed.sort_unstable();
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not allowed here", request.method()),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Err(response)
}

/// A session's change must carry the session's CSRF token.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the page and try again",
        )
        .into_response()
    };
    let matches = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(given) = text(request.headers(), "x-csrf-token") {
        return if matches(given) {
            Ok(request)
        } else {
            Err(refused())
        };
    }
    let is_form = text(request.headers(), header::CONTENT_TYPE)
        .is_some_and(|kind| kind.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response()
        })?;
    let given = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    match given {
        Some(given) if matches(&given) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(refused()),
    }
}

async fn record(
    state: &AppState,
    identity: &Identity,
    method: &Method,
    pattern: &str,
    path: &str,
    status: StatusCode,
) {
    let entry = AuditEntry {
        id: None,
        at: state.clock.now(),
        actor: identity.name.clone(),
        auth_method: identity.method.as_str().to_owned(),
        source: identity.source_text(),
        action: format!("{method} {pattern}"),
        target: Some(path.to_owned()),
        outcome: if status.is_success() || status.is_redirection() {
            "ok".to_owned()
        } else {
            status.as_u16().to_string()
        },
        detail: None,
    };
    audit(&state.store, entry).await;
}

fn to_login(request: &Request) -> Response {
    let next = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

fn unauthorized(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"nightwatch\""),
    );
    response
}

fn peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

fn request_host(request: &Request) -> String {
    text(request.headers(), header::HOST)
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

fn text<K: header::AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = text(headers, header::CONTENT_LENGTH).map(str::trim);
    length.is_some_and(|l| l != "0") || headers.contains_key(header::TRANSFER_ENCODING)
}

fn is_json(headers: &HeaderMap) -> bool {
    text(headers, header::CONTENT_TYPE).is_some_and(|kind| {
        let essence = kind.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

/// The browser-safety headers on every answer: no framing (clickjacking), scripts and styles
/// from nightwatch only (no inline script), no referrer to other sites, no sniffing, and no
/// caching of anything that is not a static asset.
pub async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}
