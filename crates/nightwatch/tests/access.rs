//! Access control end to end, on the real binary: the README's first start (the initial admin's
//! one-time password in the log, changed at first sign-in), the commands of docs/access.md, and
//! the requests the access-control issue reproduced — each now refused.
// Runs against a real process: alerts are stamped with the wall clock it also reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use nightwatch_testkit::{Nightwatch, fresh_sqlite_url, run_command, wait_for};
use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nightwatch");

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Signs in with the form; the session cookie and where the answer sends the browser.
fn sign_in(nw: &Nightwatch, name: &str, password: &str) -> (u16, Option<String>, String) {
    let response = client()
        .post(nw.url("/login"))
        .form(&[("name", name), ("password", password), ("next", "/")])
        .send()
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), cookie, location)
}

#[test]
fn the_first_start_prints_an_admin_password_that_must_be_changed() {
    let (url, _dir) = fresh_sqlite_url();
    let nw = Nightwatch::start_secure(BIN, &url, None);
    let log = nw.log();
    let line = log
        .lines()
        .find(|l| l.contains("created the initial admin"))
        .unwrap_or_else(|| panic!("no initial admin in the log:\n{log}"));
    let password = line
        .split("password=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let (status, cookie, location) = sign_in(&nw, "admin", &password);
    assert_eq!((status, location.as_str()), (303, "/password"));
    let cookie = cookie.unwrap();
    let page = client()
        .get(nw.url("/password"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let changed = client()
        .post(nw.url("/password"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", password.as_str()),
            ("new", "the admin's own passphrase"),
            ("repeat", "the admin's own passphrase"),
        ])
        .send()
        .unwrap();
    assert_eq!(changed.status(), 303);
    let (status, cookie, location) = sign_in(&nw, "admin", "the admin's own passphrase");
    assert_eq!((status, location.as_str()), (303, "/"));
    let home = client()
        .get(nw.url("/"))
        .header("cookie", cookie.unwrap())
        .send()
        .unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(
        sign_in(&nw, "admin", &password).0,
        401,
        "the one-time password is gone"
    );
}

#[test]
fn what_the_issue_reproduced_is_refused() {
    let (url, _dir) = fresh_sqlite_url();
    let nw = Nightwatch::start_secure(BIN, &url, None);
    // An incident, from a webhook (which keeps its own per-source credentials: open here).
    let body = nightwatch_testkit::webhook_body(
        json!({"alertname": "KubePodCrashLooping", "namespace": "prod", "pod": "web-1"}),
        json!({}),
        chrono::Utc::now() - chrono::Duration::minutes(5),
        None,
    );
    let delivered = client()
        .post(nw.url("/webhook/alertmanager"))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(delivered.status(), 200);
    let id = wait_for("the incident", Duration::from_secs(20), || {
        nw.incidents("").first().and_then(|i| i["id"].as_i64())
    });
    let anonymous = client();
    // curl -XPOST :8080/api/actions/1/approve -d '{"by":"alice (on-call lead)"}'
    let approve = anonymous
        .post(nw.url("/api/actions/1/approve"))
        .body(r#"{"by":"alice (on-call lead)"}"#)
        .send()
        .unwrap();
    assert_eq!(approve.status(), 401);
    // A cross-site form post to the pages.
    let cross = anonymous
        .post(nw.url(&format!("/incident/{id}/ack")))
        .header("origin", "http://evil.example")
        .form(&[("by", "alice")])
        .send()
        .unwrap();
    assert_eq!(cross.status(), 403);
    // A text/plain POST of JSON, even with a valid approver token.
    let approver = nw.user_token(BIN, &url, "alice", "approver");
    let plain = anonymous
        .post(nw.url(&format!("/api/incidents/{id}/ack")))
        .bearer_auth(&approver)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(plain.status(), 415);
    // Any Host (DNS rebinding).
    let rebound = anonymous
        .get(nw.url("/api/incidents"))
        .bearer_auth(&approver)
        .header("host", "rebound.example")
        .send()
        .unwrap();
    assert_eq!(rebound.status(), 421);
    // Silences from tuning, the API, transcripts and /metrics: not for anyone.
    for (method, path) in [
        ("POST", "/api/tuning/KubePodCrashLooping/silence"),
        (
            "POST",
            &format!("/api/incidents/{id}/regenerate-analysis") as &str,
        ),
        ("GET", "/api/incidents"),
        ("GET", &format!("/api/incidents/{id}")),
        ("GET", "/metrics"),
    ] {
        let request = match method {
            "GET" => anonymous.get(nw.url(path)),
            _ => anonymous.post(nw.url(path)),
        };
        assert_eq!(request.send().unwrap().status(), 401, "{method} {path}");
    }
    // Framing and inline script are off; nothing with incident data is cached.
    let page = anonymous.get(nw.url("/login")).send().unwrap();
    let headers = page.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        nw.incident(id)["incident"]["state"],
        "triggered",
        "nothing changed"
    );
}

#[test]
fn the_documented_commands_manage_users_and_tokens_and_are_audited() {
    let (url, _dir) = fresh_sqlite_url();
    let cmd = |args: &[&str], stdin: &str| run_command(BIN, &url, args, stdin);
    let printed = cmd(&["users", "add", "alice", "--role", "approver"], "");
    let one_time = printed.lines().last().unwrap().to_owned();
    assert!(
        printed.contains("shown once") && one_time.len() >= 32,
        "{printed}"
    );
    cmd(
        &[
            "users",
            "add",
            "bob",
            "--role",
            "responder",
            "--password-stdin",
        ],
        "a long passphrase\n",
    );
    cmd(&["users", "role", "bob", "approver"], "");
    let listed = cmd(&["users", "list", "--json"], "");
    let users: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["must_change_password"], true);
    assert_eq!(users[1]["role"], "approver");
    assert!(!listed.contains("argon2"), "no hash is ever printed");
    let token = cmd(
        &[
            "tokens",
            "create",
            "prometheus",
            "--role",
            "viewer",
            "--expires-in",
            "365d",
        ],
        "",
    );
    let token = token.trim().to_owned();
    assert!(token.starts_with("nwt_"));

    let nw = Nightwatch::start_secure(BIN, &url, None);
    assert!(
        !nw.log().contains("created the initial admin"),
        "users exist: no initial admin"
    );
    let metrics = client()
        .get(nw.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let whoami: Value = client()
        .get(nw.url("/api/whoami"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(whoami["name"], "token:prometheus");
    assert_eq!(whoami["role"], "viewer");
    assert_eq!(sign_in(&nw, "bob", "a long passphrase").2, "/");
    assert_eq!(sign_in(&nw, "alice", &one_time).2, "/password");

    let tokens: Value = serde_json::from_str(&cmd(&["tokens", "list", "--json"], "")).unwrap();
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "prometheus")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    cmd(&["tokens", "revoke", &id.to_string()], "");
    let refused = client()
        .get(nw.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 401, "a revoked token");
    cmd(&["users", "remove", "bob"], "");
    assert_eq!(sign_in(&nw, "bob", "a long passphrase").0, 401);

    let audit = nw.get("/api/audit?limit=100");
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "user_add",
        "user_role",
        "token_create",
        "token_revoke",
        "user_remove",
        "login",
        "login_failed",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
}
