//! The actor topology.
//!
//! ```text
//!  webhook / REST handler ──ask(id, msg)──► Conversations (one registry per actor thread;
//!                                           the conversation's id picks the thread, always)
//!                                               │ ConversationRegistry ──GetConversation──► Addr
//!                                               │ starts on demand, forgets idle actors,
//!                                               │ restarts dead ones, wakes due follow-ups
//!                                               ▼
//!                                    ConversationActor (one per conversation, single writer)
//!                                      │  state machine → group commit → effects
//!                                      ├─► Store writer (one transaction for many callers)
//!                                      ├─► Assistant (asked without blocking the mailbox)
//!                                      ├─► outbox (kick) ─► callback URL ─► ReportDelivery ─┐
//!                                      └─► Hub (seq, JSON once, backlog) ─► sessions        │
//!                                      ▲                                                    │
//!                                      └────────────────────────────────────────────────────┘
//! ```
//!
//! Who owns what: the conversation actor owns its conversation's state, follow-up timer and
//! window timer; the registry owns the map of live actors; the hub owns the event sequence.
//! The websocket sessions that subscribe to the hub are actors too, but they are the HTTP
//! edge: they live in `crate::http` (`agent_session`, `widget_session`).

pub mod badge;
pub mod conversation;
pub mod hub;
pub mod messages;
pub mod presence;
pub mod registry;
