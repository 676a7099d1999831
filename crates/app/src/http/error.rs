//! How failures become HTTP answers: a status and a JSON body that says what was wrong.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nightwatch_core::parse::ParseError;
use nightwatch_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: serde_json::Value,
    /// Seconds for a `Retry-After` header (a rate limit's answer).
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> Self {
        match &error {
            ParseError::Syntax { line, column, .. } => ApiError {
                status: StatusCode::BAD_REQUEST,
                body: json!({ "error": error.to_string(), "line": line, "column": column }),
                retry_after: None,
            },
            ParseError::Shape { path, .. } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: json!({ "error": error.to_string(), "field": path }),
                retry_after: None,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // Every variant named, so a new one has to be given its status here.
        match error {
            StoreError::IncidentNotFound(_) | StoreError::ActionNotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, error.to_string())
            }
            StoreError::Conflict(_) | StoreError::ActionNotPending { .. } => {
                Self::new(StatusCode::CONFLICT, error.to_string())
            }
            // Storage trouble is temporary from the sender's side: 503 makes Alertmanager
            // retry. The database's own words go to the log, not to whoever asked.
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Corrupt(_)
            | StoreError::ShuttingDown
            | StoreError::UnsupportedUrl(_) => {
                tracing::error!(error = %error, "storage failure");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable; retry later".to_owned(),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// Every error answer in one shape: axum's own rejections (a bad path id or query, a body over
/// the limit, the wrong content type, an unknown path or method) come as plain text or empty;
/// this rewrites such a 4xx/5xx body as `{"error": …}`, keeping the status and headers (`Allow`,
/// `Retry-After`). JSON and HTML answers pass untouched.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("application/json") || kind.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        text
    };
    let body = json!({ "error": message }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
