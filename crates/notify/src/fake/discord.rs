//! A fake Discord webhook: `POST /api/webhooks/{id}/{token}` with Discord's answers: 204 (or the
//! message with `?wait=true`), 404 `Unknown Webhook`, 400 `Invalid Form Body` (code 50035) with
//! the nested per-field errors when an embed breaks a limit, 400 code 50006 for an empty
//! message, and 429 with `retry_after` in the body when told to rate-limit.

use super::{bind, lock};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

const WEBHOOK_ID: &str = "1200000000000000001";
const WEBHOOK_TOKEN: &str = "fake-webhook-token";

/// One request as received.
#[derive(Debug, Clone)]
pub struct DiscordRequest {
    pub body: Value,
    pub wait: bool,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    requests: Vec<DiscordRequest>,
    accepted: Vec<Value>,
    /// `retry_after` seconds of the 429s still to give.
    rate_limits: VecDeque<f64>,
    counter: u64,
}

pub struct FakeDiscord {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDiscord {
    pub async fn start() -> std::io::Result<Self> {
        let (listener, addr) = bind().await?;
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/api/webhooks/{id}/{token}", post(execute))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Discord stopped");
            }
        });
        Ok(Self { addr, inner, task })
    }

    pub fn webhook_url(&self) -> String {
        format!(
            "http://{}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
            self.addr
        )
    }

    /// The next `times` posts answer 429 with `retry_after` seconds in the body.
    pub fn rate_limit(&self, times: usize, retry_after: f64) {
        lock(&self.inner)
            .rate_limits
            .extend(std::iter::repeat_n(retry_after, times));
    }

    pub fn requests(&self) -> Vec<DiscordRequest> {
        lock(&self.inner).requests.clone()
    }

    /// Bodies Discord would have posted.
    pub fn messages(&self) -> Vec<Value> {
        lock(&self.inner).accepted.clone()
    }
}

async fn execute(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let wait = query.get("wait").is_some_and(|w| w == "true");
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = lock(&inner);
    let (status, answer, retry_after) = if id != WEBHOOK_ID || token != WEBHOOK_TOKEN {
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Unknown Webhook", "code": 10015}),
            None,
        )
    } else if let Some(secs) = s.rate_limits.pop_front() {
        (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "You are being rate limited.", "retry_after": secs, "global": false}),
            Some(secs),
        )
    } else {
        match validate(&body) {
            Err(answer) => (StatusCode::BAD_REQUEST, answer, None),
            Ok(()) => {
                s.counter += 1;
                s.accepted.push(body.clone());
                let message = json!({
                    "id": format!("13000000000000{:05}", s.counter),
                    "type": 0,
                    "content": body.get("content").cloned().unwrap_or(json!("")),
                    "channel_id": "1100000000000000001",
                    "webhook_id": WEBHOOK_ID,
                    "embeds": body.get("embeds").cloned().unwrap_or(json!([]))
                });
                let status = if wait {
                    StatusCode::OK
                } else {
                    StatusCode::NO_CONTENT
                };
                (status, message, None)
            }
        }
    };
    s.requests.push(DiscordRequest {
        body,
        wait,
        status: status.as_u16(),
    });
    drop(s);
    if status == StatusCode::NO_CONTENT {
        return status.into_response();
    }
    let mut response = (status, axum::Json(answer)).into_response();
    if let Some(secs) = retry_after
        && let Ok(value) = (secs.ceil() as u64).to_string().parse()
    {
        // Discord's header is whole seconds, rounded up; the body has the exact value.
        response.headers_mut().insert("retry-after", value);
    }
    response
}

fn max_length(max: usize) -> Value {
    json!({"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                        "message": format!("Must be {max} or fewer in length.")}]})
}

fn required() -> Value {
    json!({"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]})
}

fn chars(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// Discord's limits, answered the way Discord does.
fn validate(body: &Value) -> Result<(), Value> {
    let embeds = body
        .get("embeds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if chars(body.get("content")) == 0 && embeds.is_empty() {
        return Err(json!({"message": "Cannot send an empty message", "code": 50006}));
    }
    let mut errors = Map::new();
    if embeds.len() > 10 {
        errors.insert("embeds".into(), max_length(10));
    }
    for (i, embed) in embeds.iter().enumerate() {
        let mut e = Map::new();
        for (field, max) in [("title", 256), ("description", 4096)] {
            if chars(embed.get(field)) > max {
                e.insert(field.into(), max_length(max));
            }
        }
        if chars(embed.pointer("/footer/text")) > 2048 {
            e.insert("footer".into(), json!({"text": max_length(2048)}));
        }
        let fields = embed
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if fields.len() > 25 {
            e.insert("fields".into(), max_length(25));
        }
        let mut per_field = Map::new();
        for (j, field) in fields.iter().enumerate() {
            let mut f = Map::new();
            for (key, max) in [("name", 256), ("value", 1024)] {
                let n = chars(field.get(key));
                if n == 0 {
                    f.insert(key.into(), required());
                } else if n > max {
                    f.insert(key.into(), max_length(max));
                }
            }
            if !f.is_empty() {
                per_field.insert(j.to_string(), Value::Object(f));
            }
        }
        if !per_field.is_empty() && fields.len() <= 25 {
            e.insert("fields".into(), Value::Object(per_field));
        }
        let total: usize = chars(embed.get("title"))
            + chars(embed.get("description"))
            + chars(embed.pointer("/footer/text"))
            + fields
                .iter()
                .map(|f| chars(f.get("name")) + chars(f.get("value")))
                .sum::<usize>();
        if total > 6000 && e.is_empty() {
            e.insert(
                "_errors".into(),
                json!([{"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}]),
            );
        }
        if !e.is_empty() {
            errors
                .entry("embeds")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|m| m.insert(i.to_string(), Value::Object(e)));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(json!({"code": 50035, "errors": errors, "message": "Invalid Form Body"}))
    }
}
