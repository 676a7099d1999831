//! Users, sessions, tokens and the audit trail, on both SQLite and a real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use nightwatch_core::access::Role;
use nightwatch_core::fingerprint::FingerprintConfig;
use nightwatch_store::{AuditEntry, AuditFilter, Store};
use nightwatch_testkit::both_backends;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

type Backends = Vec<(&'static str, Store, String, Option<tempfile::TempDir>)>;

async fn stores(tag: &str) -> Backends {
    let mut out = Vec::new();
    for (name, url, guard) in both_backends(tag).await {
        let store = Store::open(&url, FingerprintConfig::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        out.push((name, store, url, guard));
    }
    out
}

#[tokio::test]
async fn users_sessions_and_tokens() {
    for (backend, store, _url, _guard) in stores("access_users").await {
        let now = t0();
        assert!(
            store
                .create_user("alice", "h1", Role::Approver, true, now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .create_user("alice", "other", Role::Admin, false, now)
                .await
                .unwrap(),
            "{backend}: a taken name is refused, nothing changes"
        );
        let alice = store.user("alice").await.unwrap().unwrap();
        assert_eq!(
            (alice.role, alice.password_hash.as_str()),
            (Role::Approver, "h1")
        );
        assert!(alice.must_change_password);

        // A session lives until it expires, and a new password ends it.
        store
            .create_session(
                "s1",
                "alice",
                "csrf1",
                now,
                now + Duration::hours(8),
                Some("127.0.0.1"),
            )
            .await
            .unwrap();
        let session = store
            .session("s1", now + Duration::hours(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (session.user.name.as_str(), session.csrf_token.as_str()),
            ("alice", "csrf1")
        );
        assert!(
            store
                .session("s1", now + Duration::hours(8))
                .await
                .unwrap()
                .is_none(),
            "{backend}: expired"
        );
        assert!(store.session("nope", now).await.unwrap().is_none());
        assert!(store.set_password("alice", "h2", false, now).await.unwrap());
        assert!(
            store.session("s1", now).await.unwrap().is_none(),
            "{backend}: password change logs out"
        );
        assert!(
            !store
                .user("alice")
                .await
                .unwrap()
                .unwrap()
                .must_change_password
        );

        // Tokens: expiry, revocation, and the owner's role caps the token's.
        let service = store
            .create_token(
                "ci",
                None,
                Role::Admin,
                "t1",
                now,
                Some(now + Duration::days(1)),
            )
            .await
            .unwrap();
        let owned = store
            .create_token("alice-cli", Some("alice"), Role::Admin, "t2", now, None)
            .await
            .unwrap();
        assert_eq!(
            store.token_by_hash("t1", now).await.unwrap().unwrap().id,
            service
        );
        assert!(
            store
                .token_by_hash("t1", now + Duration::days(2))
                .await
                .unwrap()
                .is_none()
        );
        let capped = store.token_by_hash("t2", now).await.unwrap().unwrap();
        assert_eq!(
            (capped.id, capped.role),
            (owned, Role::Approver),
            "{backend}"
        );
        store.touch_token(owned, now).await.unwrap();
        assert_eq!(store.tokens().await.unwrap()[1].last_used_at, Some(now));
        assert!(store.revoke_token(service, now).await.unwrap());
        assert!(!store.revoke_token(service, now).await.unwrap());
        assert!(store.token_by_hash("t1", now).await.unwrap().is_none());

        // Removing a user ends their sessions and tokens.
        store
            .create_session("s2", "alice", "csrf2", now, now + Duration::hours(8), None)
            .await
            .unwrap();
        assert!(store.remove_user("alice", now).await.unwrap());
        assert!(store.session("s2", now).await.unwrap().is_none());
        assert!(
            store.token_by_hash("t2", now).await.unwrap().is_none(),
            "{backend}"
        );
        assert!(store.users().await.unwrap().is_empty());
        assert_eq!(
            store.prune_sessions(now + Duration::days(1)).await.unwrap(),
            0
        );
    }
}

#[tokio::test]
async fn the_audit_trail_is_append_only_and_filtered() {
    for (backend, store, url, _guard) in stores("access_audit").await {
        for (i, (actor, action)) in [
            ("alice", "login"),
            ("bob", "login_failed"),
            ("alice", "POST /api/actions/{id}/approve"),
        ]
        .into_iter()
        .enumerate()
        {
            store
                .append_audit(&AuditEntry {
                    id: None,
                    at: t0() + Duration::minutes(i as i64),
                    actor: actor.into(),
                    auth_method: "session".into(),
                    source: Some("10.0.0.7".into()),
                    action: action.into(),
                    target: Some("/api/actions/3/approve".into()),
                    outcome: "ok".into(),
                    detail: None,
                })
                .await
                .unwrap();
        }
        let all = store
            .audit(&AuditFilter {
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0].action, "POST /api/actions/{id}/approve",
            "newest first"
        );
        let alice = store
            .audit(&AuditFilter {
                actor: Some("alice".into()),
                action: Some("approve".into()),
                since: Some(t0() + Duration::minutes(1)),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(alice.len(), 1, "{backend}");
        let older = store
            .audit(&AuditFilter {
                before_id: all[0].id,
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(older.len(), 2);
        // Neither nightwatch nor a SQL prompt can rewrite or remove a line.
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        for statement in [
            "UPDATE audit_log SET actor = 'mallory'",
            "DELETE FROM audit_log",
        ] {
            let error = sqlx::query(statement).execute(&pool).await.unwrap_err();
            assert!(
                error.to_string().contains("append-only"),
                "{backend}: {error}"
            );
        }
        assert_eq!(
            store
                .audit(&AuditFilter {
                    limit: 10,
                    ..AuditFilter::default()
                })
                .await
                .unwrap(),
            all
        );
    }
}
