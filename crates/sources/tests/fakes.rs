//! Loki, VictoriaLogs and Grafana clients (and their tools) against testkit's wire-faithful fakes.
// Tests against a real server and lab: the wall clock and real elapsed time are the point.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use nightwatch_core::clock::SystemClock;
use nightwatch_sources::grafana::AnnotationQuery;
use nightwatch_sources::loki::{Direction, LokiData, LokiQuery};
use nightwatch_sources::victorialogs::LogsQlQuery;
use nightwatch_sources::{
    GrafanaClient, LokiClient, OutputLimits, SourceConfig, SourceError, Sources, VictoriaLogsClient,
};
use nightwatch_testkit::fake_logs::{FakeAnnotation, FakeGrafana, FakeLoki, FakeVictoriaLogs};
use serde_json::json;
use std::sync::Arc;

fn sources() -> Sources {
    Sources::new(Arc::new(SystemClock))
}

#[tokio::test]
async fn loki_streams_matrix_errors_and_tenant() {
    let loki = FakeLoki::start();
    let now = Utc::now();
    let web = [("namespace", "shop"), ("app", "web")];
    let db = [("namespace", "shop"), ("app", "db")];
    let other = [("namespace", "other"), ("app", "web")];
    for i in 0..10 {
        let t = now - Duration::minutes(10 - i);
        loki.push(&web, t, &format!("GET /cart {i} error=timeout"));
        loki.push(&db, t, &format!("checkpoint {i}"));
        loki.push(&other, t, &format!("error {i}"));
    }
    loki.push(&web, now - Duration::hours(3), "error long ago");
    let client = LokiClient::new(&SourceConfig::new(loki.url())).unwrap();
    let query = |q: &str, limit| LokiQuery {
        query: q.into(),
        start: now - Duration::hours(1),
        end: now + Duration::seconds(1),
        limit,
        direction: Direction::Backward,
        step: None,
    };

    let result = client
        .query_range(&query(r#"{namespace="shop"} |= "error""#, 100))
        .await
        .unwrap();
    let LokiData::Streams(streams) = result.data else {
        panic!("{:?}", result.data)
    };
    assert_eq!(
        streams.len(),
        1,
        "only web lines of shop contain error, and not the old one"
    );
    assert_eq!(streams[0].stream["app"], "web");
    assert_eq!(streams[0].values.len(), 10);
    assert!(
        streams[0].values[0].timestamp_ns > streams[0].values[9].timestamp_ns,
        "backward = newest first"
    );

    let result = client
        .query_range(&query(r#"{namespace="shop", app=~"web|db"}"#, 3))
        .await
        .unwrap();
    let LokiData::Streams(streams) = result.data else {
        panic!()
    };
    assert_eq!(streams.iter().map(|s| s.values.len()).sum::<usize>(), 3);
    let params = loki.requests().pop().unwrap();
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("limit"), "3");
    assert_eq!(get("direction"), "backward");
    assert_eq!(get("start").len(), 19, "start is sent in nanoseconds");

    let mut count = query(r#"count_over_time({app="web"} |= "error" [5m])"#, 100);
    count.step = Some(std::time::Duration::from_secs(60));
    let result = client.query_range(&count).await.unwrap();
    let LokiData::Matrix(series) = result.data else {
        panic!()
    };
    assert_eq!(series.len(), 2, "one series per stream (shop and other)");
    assert!(series[0].values.iter().any(|p| p.as_f64().unwrap() >= 4.0));

    let err = client
        .query_range(&query(r#"{app=~".*"}"#, 10))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Server { status: 400, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("Loki /loki/api/v1/query_range: HTTP 400: parse error : queries require"),
        "{text}"
    );
    let err = client
        .query_range(&query(r#"{app="web"} |= "x""#, 6000))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("max entries limit per query exceeded"),
        "{err}"
    );

    loki.require_tenant("team-a");
    let err = client
        .query_range(&query(r#"{app="web"}"#, 10))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Loki /loki/api/v1/query_range: HTTP 401: no org id"
    );
    let mut with_tenant = SourceConfig::new(loki.url());
    with_tenant
        .headers
        .insert("X-Scope-OrgID".into(), "team-a".into());
    let tenant_client = LokiClient::new(&with_tenant).unwrap();
    assert!(
        tenant_client
            .query_range(&query(r#"{app="web"}"#, 10))
            .await
            .is_ok()
    );

    // The tool: bounded, newest first, the cut counted.
    let mut tools = sources().with_limits(OutputLimits {
        max_lines: 4,
        ..OutputLimits::default()
    });
    tools.loki = Some(tenant_client);
    let out = tools
        .call(
            "loki_query",
            json!({"query": "{namespace=\"shop\"}", "since": "30m", "limit": 50}),
        )
        .await
        .unwrap();
    assert_eq!(out.data["total"], 20);
    assert_eq!(out.data["shown"], 4);
    assert_eq!(out.data["omitted"], 16);
    assert_eq!(out.data["limit_reached"], false);
    assert!(
        out.summary
            .contains("Loki returned 20 lines from 2 streams"),
        "{}",
        out.summary
    );
    assert!(
        out.summary.contains("16 more lines left out"),
        "{}",
        out.summary
    );
    let metric = tools
        .call(
            "loki_query",
            json!({"query": "count_over_time({app=\"web\"}[10m])", "since": "15m"}),
        )
        .await
        .unwrap();
    assert_eq!(metric.data["resultType"], "matrix");
}

#[tokio::test]
async fn victorialogs_filters_limits_and_errors() {
    let vl = FakeVictoriaLogs::start();
    let now = Utc::now();
    for i in 0..20 {
        let t = now - Duration::minutes(20 - i);
        let level = if i % 2 == 0 { "error" } else { "info" };
        vl.push(
            &[("namespace", "shop"), ("app", "billing")],
            t,
            &format!("payment {i} failed: card declined"),
            &[("level", level)],
        );
        vl.push(
            &[("namespace", "infra")],
            t,
            &format!("sync {i} ok"),
            &[("level", "info")],
        );
    }
    let client = VictoriaLogsClient::new(&SourceConfig::new(vl.url())).unwrap();
    let q = |query: &str, limit| LogsQlQuery {
        query: query.into(),
        limit,
        start: Some(now - Duration::hours(1)),
        end: Some(now + Duration::seconds(1)),
    };

    let records = client
        .query(&q(r#"_stream:{namespace="shop"} level:error"#, None))
        .await
        .unwrap();
    assert_eq!(records.len(), 10);
    assert!(
        records
            .iter()
            .all(|r| r.fields["level"] == "error" && r.msg.starts_with("payment"))
    );
    assert_eq!(
        records[0].stream.as_deref(),
        Some(r#"{app="billing",namespace="shop"}"#)
    );

    let newest = client.query(&q("failed", Some(3))).await.unwrap();
    let mut msgs: Vec<&str> = newest.iter().map(|r| r.msg.as_str()).collect();
    msgs.sort();
    assert_eq!(
        msgs,
        [
            "payment 17 failed: card declined",
            "payment 18 failed: card declined",
            "payment 19 failed: card declined"
        ]
    );

    let windowed = LogsQlQuery {
        start: Some(now - Duration::minutes(5)),
        ..q("*", None)
    };
    assert_eq!(
        client.query(&windowed).await.unwrap().len(),
        10,
        "5 minutes of both streams"
    );
    assert_eq!(
        client
            .query(&q(r#"-level:error "card declined""#, None))
            .await
            .unwrap()
            .len(),
        10
    );

    let err = client
        .query(&q("error | stats count()", None))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("VictoriaLogs /select/logsql/query: HTTP 400: cannot parse query [error | stats count()]"), "{text}");
    assert!(matches!(
        client.query(&q(" ", None)).await,
        Err(SourceError::InvalidRequest { .. })
    ));

    let mut tools = sources().with_limits(OutputLimits {
        max_lines: 5,
        ..OutputLimits::default()
    });
    tools.victorialogs = Some(client);
    let out = tools
        .call(
            "victorialogs_query",
            json!({"query": "_stream:{namespace=\"shop\"}", "since": "1h", "limit": 8}),
        )
        .await
        .unwrap();
    assert_eq!(out.data["total"], 8);
    assert_eq!(out.data["shown"], 5);
    assert_eq!(out.data["limit_reached"], true);
    assert_eq!(
        out.data["entries"][0]["_msg"], "payment 19 failed: card declined",
        "newest first"
    );
    assert!(
        out.summary.contains("3 more entries left out"),
        "{}",
        out.summary
    );
    assert!(
        out.summary.contains("older entries may exist"),
        "{}",
        out.summary
    );
}

#[tokio::test]
async fn grafana_dashboards_annotations_and_auth() {
    let grafana = FakeGrafana::start("glsa_secret");
    grafana.add_dashboard("prod-ov", "Production Overview", &["prod"], Some("Shop"));
    grafana.add_dashboard("k8s-pods", "Kubernetes / Pods", &["k8s", "prod"], None);
    grafana.add_dashboard("stg", "Staging Overview", &["staging"], Some("Shop"));
    let now = Utc::now();
    for (minutes, text, tags) in [
        (30, "deploy web 1.4.2", vec!["deploy", "web"]),
        (90, "deploy db 7", vec!["deploy"]),
        (600, "old", vec!["deploy"]),
    ] {
        grafana.add_annotation(FakeAnnotation {
            time: now - Duration::minutes(minutes),
            time_end: None,
            text: text.into(),
            tags: tags.into_iter().map(String::from).collect(),
            dashboard_uid: Some("prod-ov".into()),
        });
    }
    let config = SourceConfig::new(grafana.url()).with_bearer_token("glsa_secret");
    let client = GrafanaClient::new(&config).unwrap();

    let hits = client
        .search_dashboards("overview", &[], None)
        .await
        .unwrap();
    let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Production Overview", "Staging Overview"],
        "folders left out"
    );
    assert_eq!(hits[0].folder_title.as_deref(), Some("Shop"));
    let tagged = client
        .search_dashboards("", &["prod".into()], Some(1))
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);

    let query = AnnotationQuery {
        from: Some(now - Duration::hours(2)),
        to: Some(now),
        tags: vec!["deploy".into()],
        ..Default::default()
    };
    let found = client.annotations(&query).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.text.as_str()).collect::<Vec<_>>(),
        ["deploy web 1.4.2", "deploy db 7"]
    );
    let params = grafana.requests().pop().unwrap();
    assert!(params.contains(&(
        "from".into(),
        (now - Duration::hours(2)).timestamp_millis().to_string()
    )));

    let wrong =
        GrafanaClient::new(&SourceConfig::new(grafana.url()).with_bearer_token("nope")).unwrap();
    assert_eq!(
        wrong
            .search_dashboards("", &[], None)
            .await
            .unwrap_err()
            .to_string(),
        "Grafana /api/search: HTTP 401: invalid API key"
    );
    let anonymous = GrafanaClient::new(&SourceConfig::new(grafana.url())).unwrap();
    assert_eq!(
        anonymous.annotations(&query).await.unwrap_err().to_string(),
        "Grafana /api/annotations: HTTP 401: Unauthorized"
    );

    let mut tools = sources();
    tools.grafana = Some(client);
    let out = tools
        .call(
            "grafana_annotations",
            json!({"since": "2h", "tags": ["web"]}),
        )
        .await
        .unwrap();
    assert_eq!(out.data["total"], 1);
    assert!(
        out.summary.contains("\"deploy web 1.4.2\""),
        "{}",
        out.summary
    );
    let out = tools
        .call("grafana_dashboards", json!({"query": "pods"}))
        .await
        .unwrap();
    assert_eq!(
        out.data["dashboards"][0]["url"],
        "/d/k8s-pods/kubernetes-pods"
    );
}

#[tokio::test]
async fn a_slow_server_times_out_with_the_path_named() {
    // A listener that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let client = GrafanaClient::new(&SourceConfig::new(url).with_timeout("300ms")).unwrap();
    let started = std::time::Instant::now();
    let err = client.search_dashboards("", &[], None).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(matches!(err, SourceError::Transport { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("Grafana /api/search: request failed: "),
        "{err}"
    );
    drop(listener);
}

#[tokio::test]
async fn basic_auth_reaches_victorialogs() {
    let vl = FakeVictoriaLogs::start();
    vl.require_basic_auth("reader", "s3cret");
    vl.push(&[("app", "web")], Utc::now(), "hello", &[]);
    let q = LogsQlQuery {
        query: "*".into(),
        limit: None,
        start: None,
        end: None,
    };
    let anonymous = VictoriaLogsClient::new(&SourceConfig::new(vl.url())).unwrap();
    assert_eq!(
        anonymous.query(&q).await.unwrap_err().to_string(),
        "VictoriaLogs /select/logsql/query: HTTP 401: Unauthorized"
    );
    let reader =
        VictoriaLogsClient::new(&SourceConfig::new(vl.url()).with_basic_auth("reader", "s3cret"))
            .unwrap();
    assert_eq!(reader.query(&q).await.unwrap()[0].msg, "hello");
}

/// The fakes refuse what the real servers refuse, in their shapes (so the clients' error paths
/// are tested against something honest). Raw requests: the clients refuse these before sending.
#[tokio::test]
async fn the_fakes_refuse_bad_requests_like_the_real_servers() {
    let http = reqwest::Client::new();
    let loki = FakeLoki::start();
    let vl = FakeVictoriaLogs::start();
    let grafana = FakeGrafana::start("t");
    let cases = [
        (
            format!("{}/loki/api/v1/query_range", loki.url()),
            None,
            400,
            "text/plain",
            "parse error : syntax error: unexpected $end",
        ),
        (
            format!(
                "{}/loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D&start=20&end=10",
                loki.url()
            ),
            None,
            400,
            "text/plain",
            "end timestamp must not be before or equal to start time",
        ),
        (
            format!(
                "{}/loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D&start=yesterday",
                loki.url()
            ),
            None,
            400,
            "text/plain",
            "cannot parse \"yesterday\" to a valid timestamp",
        ),
        (
            format!("{}/select/logsql/query", vl.url()),
            None,
            400,
            "text/plain",
            "cannot parse query []: missing query",
        ),
        (
            format!("{}/select/logsql/query?query=*&limit=many", vl.url()),
            None,
            400,
            "text/plain",
            "cannot parse limit \"many\"",
        ),
        (
            format!("{}/api/annotations?from=noon", grafana.url()),
            Some("t"),
            400,
            "application/json",
            r#""message":"bad request data""#,
        ),
        (
            format!("{}/api/search", grafana.url()),
            None,
            401,
            "application/json",
            r#""message":"Unauthorized""#,
        ),
    ];
    for (url, token, status, content_type, body_part) in cases {
        let mut request = http.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{url}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with(content_type), "{url}: {kind}");
        let body = response.text().await.unwrap();
        assert!(body.contains(body_part), "{url}: {body}");
    }
}
