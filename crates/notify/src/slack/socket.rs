//! Slack Socket Mode: `apps.connections.open` with the app-level token gives a WebSocket URL;
//! Slack sends `hello`, then envelopes. Every envelope with an `envelope_id` is acknowledged at
//! once (Slack retries what is not acknowledged within three seconds), repeats are dropped via
//! [`RecentIds`], and the commands are delivered over an mpsc channel. A `disconnect` message
//! opens a fresh connection before the old one is closed, so nothing falls into the gap; a
//! dropped connection reconnects after a back-off slept on tokio's clock.

use super::SlackError;
use super::command::{Envelope, SlackCommand};
use super::recent::RecentIds;
use super::web::{DEFAULT_BASE_URL, SlackApi};
use futures_util::{SinkExt, StreamExt};
use nightwatch_core::retry::{self, RetrySettings, error_chain};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Clone, PartialEq, Deserialize)]
pub struct SocketModeConfig {
    /// App-level token, `xapp-…`, with the `connections:write` scope.
    pub app_token: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// For the `apps.connections.open` call itself.
    #[serde(default)]
    pub retry: RetrySettings,
    /// First wait after a failed connection; doubled per failure in a row.
    #[serde(default = "default_reconnect_initial_ms")]
    pub reconnect_initial_ms: u64,
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u64,
    /// How many recent envelope, event and trigger ids are remembered to drop repeats.
    #[serde(default = "default_recent_ids")]
    pub recent_ids: usize,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_string()
}
fn default_reconnect_initial_ms() -> u64 {
    1_000
}
fn default_reconnect_max_ms() -> u64 {
    60_000
}
fn default_recent_ids() -> usize {
    1_000
}

impl SocketModeConfig {
    pub fn new(app_token: impl Into<String>) -> Self {
        Self {
            app_token: app_token.into(),
            base_url: default_base_url(),
            retry: RetrySettings::default(),
            reconnect_initial_ms: default_reconnect_initial_ms(),
            reconnect_max_ms: default_reconnect_max_ms(),
            recent_ids: default_recent_ids(),
        }
    }

    fn reconnect_wait(&self, failures: u32) -> Duration {
        retry::backoff(
            self.reconnect_initial_ms,
            self.reconnect_max_ms,
            failures,
            None,
        )
    }
}

impl std::fmt::Debug for SocketModeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketModeConfig")
            .field("app_token", &"[redacted]")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .field("reconnect_initial_ms", &self.reconnect_initial_ms)
            .field("reconnect_max_ms", &self.reconnect_max_ms)
            .field("recent_ids", &self.recent_ids)
            .finish()
    }
}

pub struct SocketMode {
    config: SocketModeConfig,
    api: SlackApi,
}

/// How a connection ended.
enum Ended {
    Stopped,
    /// Slack asked us to move (`disconnect`); the socket is still open.
    Refresh {
        socket: Box<Socket>,
        reason: String,
    },
    Dropped(String),
}

impl SocketMode {
    pub fn new(config: SocketModeConfig) -> Result<Self, SlackError> {
        if config.app_token.trim().is_empty() {
            return Err(SlackError::Config("empty app_token".into()));
        }
        let api = SlackApi::new(&config.base_url, config.retry.clone())?;
        Ok(Self { config, api })
    }

    /// Runs [`SocketMode::run`] on its own task.
    pub fn spawn(
        self,
        commands: mpsc::Sender<SlackCommand>,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<Result<(), SlackError>> {
        tokio::spawn(async move { self.run(commands, stop).await })
    }

    /// Connects, delivers commands and reconnects until `stop` turns true (or its sender is
    /// dropped, or the command receiver is). Returns an error only for what no reconnect can
    /// cure: Slack refusing the app token.
    pub async fn run(
        self,
        commands: mpsc::Sender<SlackCommand>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), SlackError> {
        let mut recent = RecentIds::new(self.config.recent_ids);
        let mut failures: u32 = 0;
        // The socket Slack asked us to leave, closed once its successor is up.
        let mut leaving: Option<Box<Socket>> = None;
        loop {
            if is_stopped(&stop) || commands.is_closed() {
                close(leaving.take()).await;
                return Ok(());
            }
            let connected = match self.open().await {
                Ok(url) => tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .map(|(socket, _)| socket)
                    .map_err(|e| SlackError::Socket(format!("connect: {}", error_chain(&e)))),
                Err(e) if e.is_auth() => {
                    close(leaving.take()).await;
                    return Err(e);
                }
                Err(e) => Err(e),
            };
            close(leaving.take()).await;
            let socket = match connected {
                Ok(socket) => socket,
                Err(error) => {
                    failures += 1;
                    let wait = self.config.reconnect_wait(failures);
                    tracing::warn!(%error, failures, wait_ms = wait.as_millis() as u64,
                        "slack socket mode: cannot connect; retrying");
                    if self.sleep_or_stop(wait, &mut stop).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            match self
                .session(socket, &commands, &mut stop, &mut recent)
                .await
            {
                (Ended::Stopped, _) => return Ok(()),
                (
                    Ended::Refresh {
                        socket: old,
                        reason,
                    },
                    _,
                ) => {
                    tracing::info!(%reason, "slack socket mode: disconnect requested; reconnecting");
                    failures = 0;
                    leaving = Some(old);
                }
                (Ended::Dropped(error), greeted) => {
                    // A connection that got as far as `hello` was healthy: start over.
                    failures = if greeted { 1 } else { failures + 1 };
                    let wait = self.config.reconnect_wait(failures);
                    tracing::warn!(%error, failures, wait_ms = wait.as_millis() as u64,
                        "slack socket mode: connection lost; reconnecting");
                    if self.sleep_or_stop(wait, &mut stop).await {
                        return Ok(());
                    }
                }
            }
        }
    }

    async fn open(&self) -> Result<String, SlackError> {
        let answer = self
            .api
            .call("apps.connections.open", &self.config.app_token, &json!({}))
            .await?;
        answer
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SlackError::Decode {
                method: "apps.connections.open".into(),
                message: "no url in the answer".into(),
            })
    }

    /// True when stopped while waiting.
    async fn sleep_or_stop(&self, wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => is_stopped(stop),
            () = stopped(stop) => true,
        }
    }

    /// Reads one connection until it ends; the flag says whether `hello` arrived. A stopped
    /// session closes its socket; a refreshed one hands it back to be closed later.
    async fn session(
        &self,
        mut socket: Socket,
        commands: &mpsc::Sender<SlackCommand>,
        stop: &mut watch::Receiver<bool>,
        recent: &mut RecentIds,
    ) -> (Ended, bool) {
        let mut greeted = false;
        loop {
            let frame = tokio::select! {
                () = stopped(stop) => {
                    close(Some(Box::new(socket))).await;
                    return (Ended::Stopped, greeted);
                }
                frame = socket.next() => frame,
            };
            let text = match frame {
                None => return (Ended::Dropped("connection closed".into()), greeted),
                Some(Err(e)) => return (Ended::Dropped(error_chain(&e)), greeted),
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    return (
                        Ended::Dropped(format!("closed by Slack: {reason}")),
                        greeted,
                    );
                }
                Some(Ok(Message::Ping(_))) => {
                    // tungstenite queues the pong; flushing sends it now.
                    if let Err(e) = socket.flush().await {
                        return (Ended::Dropped(error_chain(&e)), greeted);
                    }
                    continue;
                }
                Some(Ok(_)) => continue,
            };
            let envelope: Envelope = match serde_json::from_str(text.as_str()) {
                Ok(envelope) => envelope,
                Err(error) => {
                    tracing::warn!(%error, "slack socket mode: unreadable frame ignored");
                    continue;
                }
            };
            match envelope.kind.as_str() {
                "hello" => {
                    greeted = true;
                    tracing::info!("slack socket mode: connected");
                    continue;
                }
                "disconnect" => {
                    let reason = envelope.reason.unwrap_or_default();
                    let socket = Box::new(socket);
                    return (Ended::Refresh { socket, reason }, greeted);
                }
                _ => {}
            }
            // Acknowledge first: Slack's three seconds run while we deliver.
            let ack_failed = match &envelope.envelope_id {
                Some(id) => socket
                    .send(Message::text(json!({"envelope_id": id}).to_string()))
                    .await
                    .err()
                    .map(|e| error_chain(&e)),
                None => None,
            };
            if recent.seen_before(&envelope.identities()) {
                tracing::debug!(envelope_id = ?envelope.envelope_id,
                    retry_attempt = ?envelope.retry_attempt, retry_reason = ?envelope.retry_reason,
                    "slack socket mode: repeated envelope acknowledged, not delivered again");
            } else {
                for command in envelope.commands() {
                    let sent = tokio::select! {
                        () = stopped(stop) => false,
                        sent = commands.send(command) => sent.is_ok(),
                    };
                    if !sent {
                        // Stopped, or nobody listens any more: the same thing.
                        close(Some(Box::new(socket))).await;
                        return (Ended::Stopped, greeted);
                    }
                }
            }
            if let Some(error) = ack_failed {
                return (Ended::Dropped(format!("ack: {error}")), greeted);
            }
        }
    }
}

async fn close(socket: Option<Box<Socket>>) {
    if let Some(mut socket) = socket {
        // Best effort: the connection is being abandoned either way.
        let _ = socket.send(Message::Close(None)).await;
    }
}

fn is_stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}
