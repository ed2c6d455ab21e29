//! Channels: how customer messages come in and replies go out.
//!
//! `api` is the generic signed-JSON channel; `outbox` delivers every queued outbound message
//! with retries, whatever its channel.

pub mod api;
pub mod outbox;
