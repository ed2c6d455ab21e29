//! Channels at work: what moves messages between the providers and the conversations. The
//! providers' protocols themselves are pure and live in [`crate::providers`]; here is the I/O.
//!
//! - `inbound` routes parsed webhook events to conversations (a contact's conversation is
//!   remembered in [`crate::db::contact_cache`]);
//! - `outbox` delivers every queued outbound message with retries, whatever its channel,
//!   through `http_client`;
//! - `media` downloads customers' files and stores them;
//! - `opt_outs` marks a contact unsubscribed when a provider says the person opted out.

pub mod http_client;
pub mod inbound;
pub mod media;
pub mod opt_outs;
pub mod outbox;
