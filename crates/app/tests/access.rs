//! Access control through the real router, in-process, on both backends: every route × every
//! role from the route table, browser safety (cross-site, content type, Host, CSRF, headers),
//! sessions that expire, tokens with a past expiry, the proxy header only from listed proxies,
//! login lockout and the regeneration limit under concurrency, the audit trail, and the actor
//! of a change being the identity.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use nightwatch_app::access::{
    AccessConfig, TOKEN_PREFIX, ensure_initial_admin, hash_password, new_secret, secret_hash,
};
use nightwatch_core::access::{Access, Role};
use nightwatch_core::{Clock, ManualClock};
use nightwatch_store::{AuditFilter, Store};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8080";
const PASSWORD: &str = "correct horse battery staple";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

struct Setup {
    app: axum::Router,
    store: Arc<Store>,
    clock: Arc<ManualClock>,
    /// A service token per role.
    tokens: Vec<(Role, String)>,
    _guard: Option<tempfile::TempDir>,
}

async fn setup(url: String, guard: Option<tempfile::TempDir>, access: AccessConfig) -> Setup {
    let (store, analyst) = common::store_and_analyst(&url).await;
    let clock = Arc::new(ManualClock::new(at("2026-12-03T10:00:00Z")));
    let now = at("2026-12-03T10:00:00Z");
    let hash = hash_password(PASSWORD).unwrap();
    let mut tokens = Vec::new();
    for role in Role::ALL {
        store
            .create_user(role.as_str(), &hash, role, false, now)
            .await
            .unwrap();
        let secret = format!("{TOKEN_PREFIX}{}", new_secret());
        store
            .create_token(
                &format!("svc-{role}"),
                None,
                role,
                &secret_hash(&secret),
                now,
                None,
            )
            .await
            .unwrap();
        tokens.push((role, secret));
    }
    let app = common::app(store.clone(), clock.clone(), analyst, 1 << 20, access);
    Setup {
        app,
        store,
        clock,
        tokens,
        _guard: guard,
    }
}

/// A request from 127.0.0.1 to `HOST`.
fn request(method: &Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
}

async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    // Server-sent events never end: read the status and headers only.
    let streaming = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let body = if streaming {
        Value::Null
    } else {
        let bytes = to_bytes(response.into_body(), 1 << 24).await.unwrap();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, headers, body)
}

/// The pattern with its parameters filled in (ids of nothing: the walk must not revoke its
/// own tokens).
fn concrete(path: &str) -> String {
    path.replace("{id}", "999")
        .replace("{change}", "ack")
        .replace("{answer}", "approve")
        .replace("{alertname}", "KubePodCrashLooping")
}

/// `credential`: an `Authorization` header value, or none (anonymous).
fn route_request(method: &Method, path: &str, credential: Option<&str>) -> Request<Body> {
    let mut builder = request(method, &concrete(path));
    if let Some(credential) = credential {
        builder = builder.header(header::AUTHORIZATION, credential);
    }
    if *method == Method::POST {
        if path.starts_with("/api/") || path.starts_with("/webhook") || path == "/alertmanager" {
            return builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
        }
        return builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("verdict=noise"))
            .unwrap();
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn every_route_answers_every_role_as_its_table_says() {
    let table = nightwatch_app::http::routes();
    let table = table.table();
    assert!(table.len() > 30, "the table holds the whole API and UI");
    let mut seen = std::collections::HashSet::new();
    for spec in table {
        assert!(
            seen.insert((spec.method.clone(), spec.path)),
            "{} {} is mounted twice",
            spec.method,
            spec.path
        );
    }
    for (backend, url, guard) in nightwatch_testkit::both_backends("access_routes").await {
        let s = setup(url, guard, AccessConfig::default()).await;
        let mut checked = 0;
        for spec in table {
            let context = format!("{backend}: {} {}", spec.method, spec.path);
            // Anonymous.
            let (status, headers, _) =
                send(&s.app, route_request(&spec.method, spec.path, None)).await;
            match spec.access {
                // The login form answers 401 to a wrong password; that is its job.
                Access::Public if spec.path == "/login" && spec.method == Method::POST => {}
                Access::Public | Access::Webhook => assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{context}: anonymous got {status}"
                ),
                Access::Role(_) => {
                    let page = spec.method == Method::GET
                        && !spec.path.starts_with("/api/")
                        && spec.path != "/metrics";
                    if page {
                        assert_eq!(
                            status,
                            StatusCode::SEE_OTHER,
                            "{context}: to the login page"
                        );
                        let location = headers[header::LOCATION].to_str().unwrap();
                        assert!(
                            location.starts_with("/login?next="),
                            "{context}: {location}"
                        );
                    } else {
                        assert_eq!(status, StatusCode::UNAUTHORIZED, "{context}: anonymous");
                        assert!(headers.contains_key(header::WWW_AUTHENTICATE), "{context}");
                    }
                }
            }
            // Each role.
            for (role, token) in &s.tokens {
                let credential = format!("Bearer {token}");
                let (status, _, body) = send(
                    &s.app,
                    route_request(&spec.method, spec.path, Some(&credential)),
                )
                .await;
                let context = format!("{context} as {role}: {status} {body}");
                match spec.access {
                    Access::Public if spec.path == "/login" && spec.method == Method::POST => {}
                    Access::Role(needs) if *role < needs => {
                        assert_eq!(status, StatusCode::FORBIDDEN, "{context}");
                        assert!(
                            body["error"].as_str().unwrap().contains(needs.as_str()),
                            "{context}"
                        );
                    }
                    _ => {
                        assert!(
                            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                            "{context}"
                        );
                        // Mounted: a routed answer, never the fallback's.
                        assert_ne!(body["error"], json!("no such page"), "{context}");
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, table.len() * Role::ALL.len());
    }
}

/// An incident to act on: one alert through ingest and the queue.
async fn incident(s: &Setup) -> i64 {
    let body = nightwatch_testkit::webhook_body(
        json!({"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-1"}),
        json!({}),
        at("2026-12-03T09:55:00Z"),
        None,
    );
    let request = request(&Method::POST, "/webhook/alertmanager")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, _) = send(&s.app, request).await;
    assert_eq!(status, StatusCode::OK);
    while s.store.process_queue(s.clock.now()).await.unwrap() > 0 {}
    let page = s
        .store
        .list_incidents(&nightwatch_store::IncidentFilter::default())
        .await
        .unwrap();
    page.incidents[0].id
}

/// Signs in with the login form; returns the session cookie (`name=value`).
async fn sign_in(s: &Setup, name: &str, password: &str) -> (StatusCode, Option<String>) {
    let form = serde_urlencoded::to_string([("name", name), ("password", password), ("next", "/")])
        .unwrap();
    let request = request(&Method::POST, "/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, format!("http://{HOST}"))
        .body(Body::from(form))
        .unwrap();
    let (status, headers, _) = send(&s.app, request).await;
    let cookie = headers.get(header::SET_COOKIE).map(|v| {
        let text = v.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Strict"),
            "{text}"
        );
        text.split(';').next().unwrap().to_owned()
    });
    (status, cookie)
}

/// A page's status and HTML.
async fn html(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The CSRF token on a page the session can see.
async fn csrf_of(s: &Setup, cookie: &str) -> String {
    let page = request(&Method::GET, "/password")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (status, html) = html(&s.app, page).await;
    assert_eq!(status, StatusCode::OK);
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn browsers_cannot_be_made_to_act_and_the_actor_is_the_identity() {
    for (backend, url, guard) in nightwatch_testkit::both_backends("access_browser").await {
        let s = setup(url, guard, AccessConfig::default()).await;
        let id = incident(&s).await;
        let (status, cookie) = sign_in(&s, "responder", PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{backend}");
        let cookie = cookie.unwrap();
        let csrf = csrf_of(&s, &cookie).await;
        let ack = format!("/incident/{id}/ack");
        let form = |extra: &[(&str, &str)]| {
            let mut builder = request(&Method::POST, &ack)
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            for (name, value) in extra {
                builder = builder.header(*name, *value);
            }
            builder
        };
        // A cross-site form post carrying the session (and even its token) is refused.
        for (name, value) in [
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let request = form(&[(name, value)])
                .body(Body::from(format!("csrf={csrf}")))
                .unwrap();
            let (status, _, body) = send(&s.app, request).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{backend} {name}: {body}");
        }
        // No CSRF token, or a wrong one: refused.
        for body in ["", "csrf=guess"] {
            let (status, _, _) = send(&s.app, form(&[]).body(Body::from(body)).unwrap()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{backend}: {body:?}");
        }
        // JSON routes take JSON only: a text/plain POST (what a cross-site fetch may send
        // without asking) is refused, even with a good token.
        let (_, approver) = s
            .tokens
            .iter()
            .find(|(r, _)| *r == Role::Approver)
            .unwrap()
            .clone();
        let plain = request(&Method::POST, &format!("/api/incidents/{id}/ack"))
            .header(header::AUTHORIZATION, format!("Bearer {approver}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(
            send(&s.app, plain).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        // A Host that is not ours (DNS rebinding) is refused before anything else.
        let rebound = Request::builder()
            .uri("/api/incidents")
            .header(header::HOST, "evil.example:8080")
            .header(header::AUTHORIZATION, format!("Bearer {approver}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&s.app, rebound).await.0,
            StatusCode::MISDIRECTED_REQUEST
        );
        assert_eq!(
            s.store.incident(id).await.unwrap().unwrap().state.as_str(),
            "triggered"
        );

        // The page's own form, with the token: acknowledged, by the signed-in user, whatever
        // name the form says.
        let good = form(&[
            ("origin", &format!("http://{HOST}")),
            ("sec-fetch-site", "same-origin"),
        ])
        .body(Body::from(format!("csrf={csrf}&by=mallory")))
        .unwrap();
        let (status, headers, _) = send(&s.app, good).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{backend}");
        for name in [
            header::CONTENT_SECURITY_POLICY,
            header::X_FRAME_OPTIONS,
            header::REFERRER_POLICY,
        ] {
            assert!(headers.contains_key(&name), "{backend}: {name}");
        }
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        let incident = s.store.incident(id).await.unwrap().unwrap();
        assert_eq!(
            incident.acknowledged_by.as_deref(),
            Some("responder"),
            "{backend}"
        );
        let detail = s.store.incident_detail(id).await.unwrap().unwrap();
        let ack_event = detail
            .events
            .iter()
            .find(|e| e.kind.as_str() == "acknowledged")
            .unwrap();
        assert_eq!(ack_event.payload["by"], "responder");
        assert_eq!(
            ack_event.payload["via"], "session from 127.0.0.1",
            "{backend}"
        );

        // A responder's token cannot approve; an approver's body cannot name someone else.
        let (_, responder) = s
            .tokens
            .iter()
            .find(|(r, _)| *r == Role::Responder)
            .unwrap()
            .clone();
        let verdict = |token: &str, body: Value| {
            request(&Method::POST, &format!("/api/incidents/{id}/verdict"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let (status, _, _) = send(
            &s.app,
            verdict(
                &responder,
                json!({"verdict": "real", "by": "alice (on-call lead)"}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let detail = s.store.incident_detail(id).await.unwrap().unwrap();
        let event = detail
            .events
            .iter()
            .rev()
            .find(|e| e.kind.as_str() == "verdict")
            .unwrap();
        assert_eq!(
            event.payload["by"], "token:svc-responder",
            "{backend}: not the body's name"
        );

        // Everything above is in the audit trail, with who, how and from where.
        let audit = s
            .store
            .audit(&AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        let line = |action: &str| {
            audit
                .iter()
                .find(|e| e.action == action)
                .unwrap_or_else(|| panic!("{backend}: no {action} in {audit:#?}"))
        };
        let login = line("login");
        assert_eq!(
            (login.actor.as_str(), login.source.as_deref()),
            ("responder", Some("127.0.0.1"))
        );
        let ack = line("POST /incident/{id}/{change}");
        assert_eq!(
            (
                ack.actor.as_str(),
                ack.auth_method.as_str(),
                ack.outcome.as_str()
            ),
            ("responder", "session", "ok")
        );
        let verdict = line("POST /api/incidents/{id}/verdict");
        assert_eq!(
            (verdict.actor.as_str(), verdict.auth_method.as_str()),
            ("token:svc-responder", "token")
        );
        // Refused requests changed nothing and were not taken as changes.
        assert!(audit.iter().all(|e| e.actor != "mallory"));
    }
}

#[tokio::test]
async fn sessions_expire_tokens_expire_and_passwords_lock() {
    let (url, guard) = nightwatch_testkit::fresh_sqlite_url();
    let s = setup(url, Some(guard), AccessConfig::default()).await;
    let (status, cookie) = sign_in(&s, "viewer", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap();
    let page = |cookie: &str| {
        request(&Method::GET, "/")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&s.app, page(&cookie)).await.0, StatusCode::OK);
    s.clock.advance(Duration::hours(12) + Duration::seconds(1));
    let (status, headers, _) = send(&s.app, page(&cookie)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "an expired session signs in again"
    );
    assert!(
        headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    // A token whose expiry has passed is refused; it never falls back to anonymous.
    let now = s.clock.now();
    let secret = format!("{TOKEN_PREFIX}{}", new_secret());
    s.store
        .create_token(
            "old",
            None,
            Role::Admin,
            &secret_hash(&secret),
            now - Duration::days(2),
            Some(now - Duration::days(1)),
        )
        .await
        .unwrap();
    let request_with = |token: &str| {
        request(&Method::GET, "/api/incidents")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&s.app, request_with(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        send(&s.app, request_with("nwt_made-up")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Five wrong passwords lock the name: the right one is then refused too, until the window
    // has passed.
    for _ in 0..5 {
        assert_eq!(
            sign_in(&s, "admin", "wrong password!").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, cookie) = sign_in(&s, "admin", PASSWORD).await;
    assert_eq!((status, cookie), (StatusCode::TOO_MANY_REQUESTS, None));
    s.clock.advance(Duration::minutes(16));
    assert_eq!(
        sign_in(&s, "admin", PASSWORD).await.0,
        StatusCode::SEE_OTHER
    );
    // An unknown name is refused like a wrong password.
    assert_eq!(
        sign_in(&s, "nobody", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let audit = s
        .store
        .audit(&AuditFilter {
            action: Some("login".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "login_failed").count(),
        6
    );
    assert!(
        audit.iter().any(|e| e.outcome == "refused"
            && e.detail.as_deref() == Some("locked: too many failed logins"))
    );
}

#[tokio::test]
async fn a_new_user_changes_the_password_before_anything_else() {
    let (url, guard) = nightwatch_testkit::fresh_sqlite_url();
    let s = setup(url, Some(guard), AccessConfig::default()).await;
    // The store already has users: no initial admin is made.
    assert_eq!(
        ensure_initial_admin(&s.store, s.clock.now()).await.unwrap(),
        None
    );
    let (url, _guard2) = nightwatch_testkit::fresh_sqlite_url();
    let (empty, _) = common::store_and_analyst(&url).await;
    let first = ensure_initial_admin(&empty, s.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert!(first.len() >= 32);
    assert_eq!(
        ensure_initial_admin(&empty, s.clock.now()).await.unwrap(),
        None,
        "once"
    );
    let admin = empty.user("admin").await.unwrap().unwrap();
    assert!(admin.must_change_password && admin.role == Role::Admin);

    let hash = hash_password("given by the admin").unwrap();
    s.store
        .create_user("newbie", &hash, Role::Responder, true, s.clock.now())
        .await
        .unwrap();
    let (status, cookie) = sign_in(&s, "newbie", "given by the admin").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap();
    let get = |path: &str| {
        request(&Method::GET, path)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = send(&s.app, get("/")).await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/password")
    );
    assert_eq!(
        send(&s.app, get("/api/incidents")).await.0,
        StatusCode::FORBIDDEN
    );
    let csrf = csrf_of(&s, &cookie).await;
    let change = |new: &str| {
        let form = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("current", "given by the admin"),
            ("new", new),
            ("repeat", new),
        ])
        .unwrap();
        request(&Method::POST, "/password")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    assert_eq!(
        send(&s.app, change("short")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&s.app, change("my own long passphrase")).await.0,
        StatusCode::SEE_OTHER
    );
    // The old session ended with the change; the new password works, with no detour.
    assert_eq!(send(&s.app, get("/")).await.0, StatusCode::SEE_OTHER);
    let (status, cookie) = sign_in(&s, "newbie", "my own long passphrase").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let home = request(&Method::GET, "/")
        .header(header::COOKIE, cookie.unwrap())
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&s.app, home).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_proxy_header_counts_only_from_listed_proxies() {
    let (url, guard) = nightwatch_testkit::fresh_sqlite_url();
    let access = AccessConfig {
        proxy_header: Some("x-forwarded-user".to_owned()),
        proxy_addresses: vec!["10.0.0.1/32".parse().unwrap()],
        ..AccessConfig::default()
    };
    let s = setup(url, Some(guard), access).await;
    let whoami = |peer: [u8; 4], user: &str| {
        Request::builder()
            .uri("/api/whoami")
            .header(header::HOST, HOST)
            .header("x-forwarded-user", user)
            .extension(ConnectInfo(SocketAddr::from((peer, 40000))))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&s.app, whoami([10, 0, 0, 1], "approver")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            body["name"].as_str(),
            body["role"].as_str(),
            body["method"].as_str()
        ),
        (Some("approver"), Some("approver"), Some("proxy")),
        "a local user keeps their role"
    );
    let (_, _, body) = send(&s.app, whoami([10, 0, 0, 1], "sso-person@example.org")).await;
    assert_eq!(body["role"], "viewer", "others get the default role");
    let (status, _, body) = send(&s.app, whoami([10, 0, 0, 2], "admin")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn regenerations_are_limited_per_identity_under_concurrency() {
    let (url, guard) = nightwatch_testkit::fresh_sqlite_url();
    let s = setup(url, Some(guard), AccessConfig::default()).await;
    let id = incident(&s).await;
    let (_, token) = s
        .tokens
        .iter()
        .find(|(r, _)| *r == Role::Responder)
        .unwrap()
        .clone();
    let calls = (0..50).map(|_| {
        let app = s.app.clone();
        let request = request(
            &Method::POST,
            &format!("/api/incidents/{id}/regenerate-analysis"),
        )
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
        tokio::spawn(async move { app.oneshot(request).await.unwrap() })
    });
    let mut statuses = Vec::new();
    for call in calls {
        let response = call.await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key(header::RETRY_AFTER));
        }
        statuses.push(response.status());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(limited, 40, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // Another identity has its own allowance.
    let (_, other) = s
        .tokens
        .iter()
        .find(|(r, _)| *r == Role::Admin)
        .unwrap()
        .clone();
    let another = request(
        &Method::POST,
        &format!("/api/incidents/{id}/regenerate-analysis"),
    )
    .header(header::AUTHORIZATION, format!("Bearer {other}"))
    .body(Body::empty())
    .unwrap();
    assert_eq!(send(&s.app, another).await.0, StatusCode::OK);
}

#[tokio::test]
async fn with_authentication_off_every_page_says_so_in_red() {
    let (url, guard) = nightwatch_testkit::fresh_sqlite_url();
    let s = setup(url, Some(guard), common::auth_off()).await;
    let (status, html) = html(
        &s.app,
        request(&Method::GET, "/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"id="auth-off""#) && html.contains("--insecure-no-auth"),
        "{html}"
    );
    // The browser-safety checks stay on: a cross-site change is still refused.
    let id = incident(&s).await;
    let request = request(&Method::POST, &format!("/incident/{id}/ack"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&s.app, request).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn past_the_spend_ceiling_analyses_come_from_the_template_and_say_why() {
    use nightwatch_llm::{Investigator, InvestigatorConfig, ScriptedProvider, SpendCeiling};
    for (backend, url, _guard) in nightwatch_testkit::both_backends("access_spend").await {
        let (store, _) = common::store_and_analyst(&url).await;
        let mut llm = nightwatch_app::investigate::Llm::from_investigator(
            Investigator::new(
                Arc::new(ScriptedProvider),
                InvestigatorConfig {
                    model: nightwatch_llm::DEFAULT_ANTHROPIC_MODEL.to_owned(),
                    ..InvestigatorConfig::default()
                },
            ),
            false,
            "scripted".to_owned(),
        );
        llm.ceiling = SpendCeiling {
            per_hour_usd: None,
            per_day_usd: Some(0.000_001),
        };
        let analyst = nightwatch_app::analysis::Analyst {
            store: store.clone(),
            library: Arc::new(nightwatch_core::runbook::Library::load(&[]).unwrap()),
            llm: Some(Arc::new(llm)),
        };
        let app = common::app(
            store.clone(),
            Arc::new(ManualClock::new(at("2026-12-03T10:00:00Z"))),
            Arc::new(nightwatch_app::analysis::Analyst {
                store: store.clone(),
                library: analyst.library.clone(),
                llm: None,
            }),
            1 << 20,
            common::auth_off(),
        );
        let s = Setup {
            app,
            store: store.clone(),
            clock: Arc::new(ManualClock::new(at("2026-12-03T10:00:00Z"))),
            tokens: Vec::new(),
            _guard: None,
        };
        let id = incident(&s).await;
        let now = at("2026-12-03T10:00:00Z");
        // Under the ceiling: the model writes (and what it cost is recorded)…
        let first = analyst.write(id, now).await.unwrap().unwrap();
        assert!(
            first.payload["fallback_reason"].is_null(),
            "{backend}: {}",
            first.payload
        );
        assert!(
            store
                .model_spend_since(now - Duration::days(1))
                .await
                .unwrap()
                > 0.0
        );
        let requests = |detail: &nightwatch_store::IncidentDetail| {
            detail
                .events
                .iter()
                .filter(|e| e.kind.as_str() == "llm_request")
                .count()
        };
        let asked = requests(&store.incident_detail(id).await.unwrap().unwrap());
        // …past it, the template writes, says why, and the model is not asked.
        let second = analyst
            .write(id, now + Duration::minutes(1))
            .await
            .unwrap()
            .unwrap();
        let reason = second.payload["fallback_reason"].as_str().unwrap();
        assert!(
            reason.contains("spend ceiling") && reason.contains("max_spend_per_day_usd"),
            "{reason}"
        );
        assert_eq!(
            requests(&store.incident_detail(id).await.unwrap().unwrap()),
            asked,
            "{backend}"
        );
        // A day later the window has moved on.
        let third = analyst
            .write(id, now + Duration::days(1) + Duration::minutes(2))
            .await
            .unwrap()
            .unwrap();
        assert!(
            third.payload["fallback_reason"].is_null(),
            "{backend}: {}",
            third.payload
        );
    }
}
