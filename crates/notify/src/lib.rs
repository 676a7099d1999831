//! nightwatch's notification clients: Slack (Web API, Block Kit incident messages, Socket Mode
//! for buttons and the `/nightwatch` command), Discord webhook embeds, and a generic outgoing
//! webhook signed with HMAC-SHA256. Thin adapters: what to send and when is the caller's; what
//! goes on the wire, retries and rate limits are here.
//!
//! Back-off and reconnect waits sleep on tokio's clock, so tests run them in paused time and
//! never sleep. Feature `fake` adds wire-faithful fake Slack and Discord servers.

pub mod card;
pub mod discord;
#[cfg(feature = "fake")]
pub mod fake;
mod http;
pub mod slack;
pub mod webhook;

pub use card::{IncidentCard, PendingAction, incident_url};
pub use discord::{DiscordClient, DiscordConfig, DiscordError, Embed, EmbedField, WebhookMessage};
pub use nightwatch_core::retry::RetrySettings;
pub use slack::{SlackClient, SlackCommand, SlackConfig, SlackError, SocketMode, SocketModeConfig};
pub use webhook::{WebhookClient, WebhookConfig, WebhookError, sign, verify_signature};
