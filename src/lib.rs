//! Switchboard: a self-hosted, omni-channel conversations inbox server.
//!
//! Module map, from the ground up (each imports only the ones above it in this list, and no
//! two files import each other):
//! - [`domain`]: the pure core — ids, statuses, the conversation state machine, the service
//!   window, delivery order, handoff phrases. No I/O, no clock.
//! - [`db`]: diesel over SQLite or PostgreSQL; reads on a pool, writes group-committed.
//! - [`providers`]: the providers' protocols, pure — parse webhooks, check signatures, build
//!   requests, classify answers (WhatsApp, Twilio, Meta, our API channel, SMS, phone numbers).
//! - [`config`]: settings from TOML and the environment, parsed into typed values.
//! - [`assistant`]: the built-in knowledge-base assistant (BM25) behind a trait.
//! - [`protocol`]: every realtime event and frame, typed.
//! - [`actors`]: the live system — `ConversationRegistry`, one `ConversationActor` per active
//!   conversation (its single writer, holding only the handles it uses), the `Hub` that
//!   numbers and fans out events, presence and the badge.
//! - [`app`]: what handlers share once everything runs (`AppContext`, `AppState`).
//! - [`channels`]: the I/O of channels — inbound routing, the outbox, media downloads.
//! - [`http`]: routes, webhooks, the API, the websocket sessions; [`auth`]: passwords and tokens.
//! - [`server`]: wiring it all together and starting it (`main` and the tests call it).

pub mod actors;
pub mod agent_names;
pub mod app;
pub mod assistant;
pub mod auth;
pub mod broadcasts;
pub mod channels;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod inbox;
pub mod login_throttle;
pub mod metrics;
pub mod protocol;
pub mod providers;
pub mod rate_limit;
pub mod review;
pub mod server;
pub mod telemetry;
pub mod views;
