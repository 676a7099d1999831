//! The HTTP plumbing every client shares: base URL, auth, timeouts, a cap on the body size, and
//! turning a failed answer into a [`SourceError`] that carries the server's own message.

use crate::config::SourceConfig;
use crate::error::{Service, SourceError};
use nightwatch_core::retry::error_chain;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Bodies beyond this are refused rather than buffered: a runaway log query must not take the
/// process's memory with it.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How much of an error body ends up in an error message.
const MAX_ERROR_CHARS: usize = 600;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
enum Auth {
    None,
    Bearer(String),
    Basic { username: String, password: String },
}

/// One configured source: where it is and how to talk to it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) service: Service,
    base: String,
    auth: Auth,
    http: reqwest::Client,
}

/// A raw successful answer.
pub(crate) struct Answer {
    pub(crate) body: String,
}

impl Endpoint {
    pub(crate) fn new(service: Service, config: &SourceConfig) -> Result<Self, SourceError> {
        let invalid = |message: String| SourceError::Config { service, message };
        let url = url::Url::parse(&config.url)
            .map_err(|e| invalid(format!("url {:?}: {e}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "url {:?}: only http and https",
                config.url
            )));
        }
        let auth = match (&config.bearer_token, &config.basic_auth) {
            (Some(_), Some(_)) => {
                return Err(invalid("bearer_token and basic_auth are exclusive".into()));
            }
            (Some(token), None) => Auth::Bearer(token.expose().to_owned()),
            (None, Some(basic)) => Auth::Basic {
                username: basic.username.clone(),
                password: basic.password.expose().to_owned(),
            },
            (None, None) => Auth::None,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| invalid(format!("header name {name:?}: {e}")))?;
            let value =
                HeaderValue::from_str(value).map_err(|e| invalid(format!("header {name}: {e}")))?;
            headers.insert(header, value);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout(service)?)
            .connect_timeout(CONNECT_TIMEOUT)
            .default_headers(headers)
            .user_agent(concat!("nightwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Endpoint {
            service,
            base: url.as_str().trim_end_matches('/').to_owned(),
            auth,
            http,
        })
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Answer, SourceError> {
        let request = self.http.get(format!("{}{path}", self.base)).query(query);
        self.send(path, request).await
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SourceError> {
        let answer = self.get(path, query).await?;
        self.decode(path, &answer.body)
    }

    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, SourceError> {
        let request = self.http.post(format!("{}{path}", self.base)).json(body);
        let answer = self.send(path, request).await?;
        self.decode(path, &answer.body)
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Answer, SourceError> {
        let request = self.http.delete(format!("{}{path}", self.base));
        self.send(path, request).await
    }

    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &str,
    ) -> Result<T, SourceError> {
        serde_json::from_str(body).map_err(|e| self.decode_error(path, e.to_string()))
    }

    pub(crate) fn decode_error(&self, path: &str, message: String) -> SourceError {
        SourceError::Decode {
            service: self.service,
            path: path.to_owned(),
            message,
        }
    }

    async fn send(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, SourceError> {
        let request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
        };
        let transport = |e: reqwest::Error| SourceError::Transport {
            service: self.service,
            path: path.to_owned(),
            // reqwest's Display hides the cause ("error sending request"); the chain says why.
            message: error_chain(&e),
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(self.decode_error(
                    path,
                    format!(
                        "body larger than {} MiB; narrow the query",
                        MAX_BODY_BYTES >> 20
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            let (error_type, message) = server_message(&body);
            return Err(SourceError::Server {
                service: self.service,
                path: path.to_owned(),
                status: status.as_u16(),
                error_type,
                message: if message.is_empty() {
                    status.canonical_reason().unwrap_or("no body").to_owned()
                } else {
                    message
                },
            });
        }
        Ok(Answer { body })
    }
}

/// The message in an error body, in the shapes the sources use: Prometheus and Loki's
/// `{"status":"error","errorType":…,"error":…}`, Grafana and Alertmanager's `{"message":…}`,
/// or plain text (Loki's and VictoriaLogs' `http.Error`).
pub(crate) fn server_message(body: &str) -> (Option<String>, String) {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(object)) => {
            let text = |key: &str| object.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let error_type = text("errorType");
            if let Some(message) = text("error").or_else(|| text("message")) {
                return (error_type, truncate(&message, MAX_ERROR_CHARS));
            }
        }
        // Alertmanager's generated server answers errors as a bare JSON string.
        Ok(serde_json::Value::String(message)) => {
            return (None, truncate(&message, MAX_ERROR_CHARS));
        }
        _ => {}
    }
    (None, truncate(body.trim(), MAX_ERROR_CHARS))
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_in_each_shape() {
        let cases = [
            (
                r#"{"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected"}"#,
                (Some("bad_data"), "1:4: parse error: unexpected"),
            ),
            (r#"{"message":"Unauthorized"}"#, (None, "Unauthorized")),
            (
                r#"{"code":400,"message":"bad matcher"}"#,
                (None, "bad matcher"),
            ),
            (r#""silence not found""#, (None, "silence not found")),
            (
                "parse error at line 1, col 1: syntax error\n",
                (None, "parse error at line 1, col 1: syntax error"),
            ),
            ("", (None, "")),
        ];
        for (body, (error_type, message)) in cases {
            let (t, m) = server_message(body);
            assert_eq!(t.as_deref(), error_type, "{body}");
            assert_eq!(m, message, "{body}");
        }
    }

    #[test]
    fn bad_configurations_are_refused_up_front() {
        let both = SourceConfig::new("http://x")
            .with_bearer_token("t")
            .with_basic_auth("u", "p");
        let mut bad_header = SourceConfig::new("http://x");
        bad_header.headers.insert("X-Tenant".into(), "a\nb".into());
        let cases = [
            (SourceConfig::new("prometheus:9090"), "url"),
            (SourceConfig::new("ftp://x"), "only http and https"),
            (both, "exclusive"),
            (bad_header, "header X-Tenant"),
        ];
        for (config, expected) in cases {
            let err = Endpoint::new(Service::Grafana, &config)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("Grafana: invalid configuration: "), "{err}");
            assert!(err.contains(expected), "{err}");
        }
        let prefixed =
            Endpoint::new(Service::Prometheus, &SourceConfig::new("http://h/prom/")).unwrap();
        assert_eq!(prefixed.base, "http://h/prom");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé…");
    }
}
