//! Switchboard: a self-hosted, omni-channel conversations inbox server.
//!
//! Module map:
//! - [`domain`]: the pure core — ids, statuses, the conversation state machine, delivery order,
//!   handoff phrases. No I/O, no clock.
//! - [`actors`]: the live system — `ConversationRegistry`, one `ConversationActor` per active
//!   conversation (its single writer), and the `Hub` that numbers and fans out events.
//! - [`assistant`]: the built-in knowledge-base assistant (BM25) behind a trait.
//! - [`channels`]: how messages come in and go out (the signed API channel, the outbox).
//! - [`db`]: diesel over SQLite or PostgreSQL; reads on a pool, writes group-committed.
//! - [`http`]: routes, webhooks, the inbox API; [`auth`]: passwords and tokens.
//! - [`config`]: settings from TOML and the environment; [`app`]: wiring it all together.

pub mod actors;
pub mod agent_names;
pub mod app;
pub mod assistant;
pub mod auth;
pub mod channels;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod inbox;
pub mod login_throttle;
pub mod protocol;
pub mod telemetry;
pub mod views;
