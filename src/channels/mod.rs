//! Channels: how customer messages come in and replies go out.
//!
//! `api` is the generic signed-JSON channel; `outbox` delivers every queued outbound message
//! with retries, whatever its channel.

pub mod api;
pub mod hub_signature;
pub mod meta;
pub mod normalized;
pub mod outbox;
pub mod phone;
pub mod sms;
pub mod twilio;
pub mod whatsapp;
pub mod widget;
