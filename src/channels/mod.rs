//! Channels: how customer messages come in and replies go out.
//!
//! - `api` is the generic signed-JSON channel.
//! - `whatsapp`, `twilio`, `meta` (Messenger, Instagram), with `hub_signature`, `normalized`,
//!   `phone` and `sms`, are pure protocol modules: they parse webhooks, check signatures, build
//!   the provider's requests and classify its answers, with no I/O.
//! - `inbound` routes parsed webhook events to conversations (`contact_cache` remembers each
//!   contact's conversation); `outbox` delivers every queued
//!   outbound message with retries, whatever its channel, through `http_client`; `media`
//!   downloads and stores files.

pub mod api;
pub mod contact_cache;
pub mod http_client;
pub mod hub_signature;
pub mod inbound;
pub mod media;
pub mod meta;
pub mod normalized;
pub mod outbox;
pub mod phone;
pub mod sms;
pub mod twilio;
pub mod whatsapp;
pub mod widget;
