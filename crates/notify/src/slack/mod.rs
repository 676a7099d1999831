//! Slack: the Web API client, Block Kit for incidents, and the Socket Mode client that brings
//! button clicks and `/nightwatch` commands back.

pub mod action;
pub mod blocks;
pub mod command;
mod error;
mod recent;
pub mod socket;
pub mod web;

pub use action::{ButtonAction, ButtonValue};
pub use blocks::{incident_blocks, incident_text};
pub use command::{
    ButtonClick, SlackCommand, SlackEvent, SlackUser, SlashCommand, SlashRequest, commands_in,
};
pub use error::SlackError;
pub use socket::{SocketMode, SocketModeConfig};
pub use web::{
    EphemeralMessage, MessageMetadata, PostMessage, PostedMessage, ResponseType, ResponseUrlReply,
    SlackClient, SlackConfig, UpdateMessage,
};
