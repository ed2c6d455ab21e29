//! Cluster mode (`[cluster]`): several nodes on one PostgreSQL and one NATS server.
//!
//! Which node owns which conversations ([`shard`]: pure rules), the leases in NATS KV that
//! grant a shard to one node at a time ([`lease`]), the epoch in PostgreSQL that fences a node
//! which lost its lease ([`fence`]), the requests run by the holder of their conversation's
//! shard ([`forward`]), and the one event stream every node delivers from ([`events`],
//! [`relay`]), and what the nodes share besides: presence and the badge ([`presence`],
//! [`badge`]) and the login throttle ([`logins`]).

pub mod badge;
pub mod event_outbox;
pub mod events;
pub mod fence;
pub mod forward;
pub mod lease;
pub mod logins;
pub mod node;
pub mod presence;
pub mod relay;
pub mod shard;

pub use shard::{NodeId, Shard, SHARDS};
