//! Cluster mode (`[cluster]`): several nodes on one PostgreSQL and one NATS server.
//!
//! What is here so far: the pure rules of which node owns which conversations
//! ([`shard`]), the leases in NATS KV that grant a shard to one node at a time ([`lease`]),
//! and the epoch in PostgreSQL that fences a node which lost its lease ([`fence`]). The server
//! does not start in cluster mode yet: routing requests to the owner, the event stream and
//! the shared state are not built (see the README's "Several nodes" section), and a cluster
//! that half works would lose or double what a single node does not.

pub mod events;
pub mod fence;
pub mod lease;
pub mod node;
pub mod relay;
pub mod shard;

pub use shard::{NodeId, Shard, SHARDS};
