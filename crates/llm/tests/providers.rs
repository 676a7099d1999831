//! The production provider clients against the fake servers: retries, back-off and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nightwatch_llm::fake::{Flavor, Reply, anthropic, openai};
use nightwatch_llm::{
    AnthropicProvider, ChatRequest, LlmError, Message, OpenAiProvider, Provider, RetrySettings,
    StopReason, ToolChoice,
};
use std::time::Duration;
use support::{quick_http, start};
use tokio::time::Instant;

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        system: "sys".into(),
        messages: vec![Message::user_text("hello")],
        tools: vec![],
        tool_choice: ToolChoice::Auto,
        max_tokens: 50,
    }
}

#[tokio::test(start_paused = true)]
async fn anthropic_429_then_success_honours_retry_after() {
    let server = start(
        Flavor::Anthropic,
        vec![anthropic::rate_limited(2), anthropic::text("hi")],
    )
    .await;
    let p = AnthropicProvider::new("k", Some(&server.base_url()), quick_http()).unwrap();
    let started = Instant::now();
    let r = p.complete(&request()).await.unwrap();
    assert_eq!(r.message.text(), "hi");
    assert_eq!(r.stop_reason, StopReason::EndTurn);
    // The 429's retry-after of 2 s was waited, and nothing more.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].status, 429);
    assert_eq!(reqs[0].headers["x-api-key"], "k");
    assert_eq!(reqs[0].headers["anthropic-version"], "2023-06-01");
    assert_eq!(reqs[1].body["system"], "sys");
}

#[tokio::test(start_paused = true)]
async fn openai_429_then_success_honours_retry_after_ms() {
    let server = start(
        Flavor::OpenAi,
        vec![openai::rate_limited(1500), openai::text("hi")],
    )
    .await;
    let p = OpenAiProvider::new(Some("k"), Some(&server.base_url()), false, quick_http()).unwrap();
    let started = Instant::now();
    let r = p.complete(&request()).await.unwrap();
    assert_eq!(r.message.text(), "hi");
    assert_eq!(r.usage.input_tokens, 100);
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
    let reqs = server.requests();
    assert_eq!(reqs[1].headers["authorization"], "Bearer k");
    assert_eq!(reqs[1].body["max_tokens"], 50);
    assert_eq!(reqs[1].body["messages"][0]["role"], "system");
}

#[tokio::test(start_paused = true)]
async fn server_errors_exhaust_retries_with_exponential_backoff() {
    let e = || anthropic::error(500, "api_error", "Internal server error");
    let server = start(
        Flavor::Anthropic,
        vec![e(), e(), e(), anthropic::text("too late")],
    )
    .await;
    let p = AnthropicProvider::new("k", Some(&server.base_url()), quick_http()).unwrap();
    let started = Instant::now();
    let err = p.complete(&request()).await.unwrap_err();
    match &err {
        LlmError::Api {
            provider,
            status,
            kind,
            message,
            attempts,
        } => {
            assert_eq!(*provider, "anthropic");
            assert_eq!(*status, 500);
            assert_eq!(kind.as_deref(), Some("api_error"));
            assert_eq!(message, "Internal server error");
            assert_eq!(*attempts, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "anthropic: HTTP 500 api_error: Internal server error (after 3 attempts)"
    );
    // 500 ms, then 1 s.
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.remaining(), 1);
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried() {
    let server = start(
        Flavor::OpenAi,
        vec![openai::error(
            400,
            "invalid_request_error",
            "Unsupported parameter: 'max_tokens'",
        )],
    )
    .await;
    let p = OpenAiProvider::new(Some("k"), Some(&server.base_url()), false, quick_http()).unwrap();
    let started = Instant::now();
    let err = p.complete(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .contains("openai: HTTP 400 invalid_request_error: Unsupported parameter"),
        "{err}"
    );
    assert_eq!(started.elapsed(), Duration::ZERO, "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn the_fake_rejects_what_the_real_api_rejects() {
    // No key: the fake answers 401 the way the API does, and 401 is not retried.
    let server = start(Flavor::OpenAi, vec![openai::text("never")]).await;
    let p = OpenAiProvider::new(None, Some(&server.base_url()), false, quick_http()).unwrap();
    let err = p.complete(&request()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.remaining(), 1);
}

#[tokio::test(start_paused = true)]
async fn connection_failures_are_transport_errors_after_retries() {
    // Bind then drop a listener so the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let settings = RetrySettings {
        max_attempts: 2,
        ..quick_http()
    };
    let p =
        AnthropicProvider::new("k", Some(&format!("http://127.0.0.1:{port}")), settings).unwrap();
    let started = Instant::now();
    let err = p.complete(&request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Transport { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("anthropic: request failed"),
        "{err}"
    );
    // One back-off (the first, 500 ms) between the two attempts.
    assert_eq!(started.elapsed(), Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn non_json_error_bodies_are_reported_verbatim() {
    let server = start(
        Flavor::Anthropic,
        vec![Reply::status(502, "<html>Bad Gateway</html>")],
    )
    .await;
    let settings = RetrySettings {
        max_attempts: 1,
        ..quick_http()
    };
    let p = AnthropicProvider::new("k", Some(&server.base_url()), settings).unwrap();
    let err = p.complete(&request()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "anthropic: HTTP 502: <html>Bad Gateway</html> (after 1 attempt)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_times_out_per_attempt_and_is_retried() {
    // Paused tokio time: the 1 s client timeout fires before the fake's 30 s delay, at once.
    let server = start(
        Flavor::OpenAi,
        vec![
            openai::text("slow").delayed(Duration::from_secs(30)),
            openai::text("fast"),
        ],
    )
    .await;
    let settings = RetrySettings {
        timeout_secs: Some(1),
        ..quick_http()
    };
    let p = OpenAiProvider::new(Some("k"), Some(&server.base_url()), false, settings).unwrap();
    let started = Instant::now();
    let r = p.complete(&request()).await.unwrap();
    assert_eq!(r.message.text(), "fast");
    assert_eq!(server.requests().len(), 2);
    // The 1 s timeout, then the first back-off.
    assert_eq!(started.elapsed(), Duration::from_millis(1500));
}
