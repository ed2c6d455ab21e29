//! What the actors and handlers share once everything runs: [`AppContext`] (the store, the
//! actors' addresses, the inboxes, the assistants…) and the HTTP handlers' [`AppState`]. Built
//! by [`crate::server::build`]; immutable after start.

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::Notify;

use crate::{
    actors::{badge::BadgeCounter, hub::Hub, presence::Presence, registry::Conversations},
    assistant::roster::Assistants,
    config::Settings,
    db::{contact_cache::ContactCache, Store},
    inbox::Inboxes,
};

/// What every actor and handler shares. Immutable after start.
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub hub: Addr<Hub>,
    pub badge: Addr<BadgeCounter>,
    pub presence: Addr<Presence>,
    pub inboxes: Arc<Inboxes>,
    /// The configured assistants (`[[assistant]]`).
    pub assistants: Arc<Assistants>,
    /// Wakes the outbox worker when a message was queued, so delivery starts at once.
    pub outbox_kick: Arc<Notify>,
    /// Wakes the broadcasts' dispatcher when a broadcast starts or resumes.
    pub broadcast_kick: Arc<Notify>,
    /// Wrong-password counts per email (brute-force protection).
    pub logins: Arc<crate::login_throttle::LoginThrottle>,
    /// Each known contact's conversation, so inbound messages skip a write (see the module).
    pub contacts: ContactCache,
    /// Agents' names, for the texts of system events.
    pub agent_names: Arc<crate::agent_names::AgentNames>,
    pub http: reqwest::Client,
    /// Turns true when the server stops (SIGTERM, SIGINT): every agent and visitor websocket
    /// watches it and closes with 1012 (service restart), so clients reconnect at once.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Per-address limits on the webhooks and the widget's endpoints.
    pub rate_limits: Arc<crate::rate_limit::PublicLimits>,
    /// What `GET /metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Cluster mode (`[cluster]`): this node's NATS link, event log and shards.
    pub cluster: Option<Arc<crate::cluster::node::ClusterNode>>,
}

impl AppContext {
    /// Whether the reply policy lets this agent answer only conversations assigned to them
    /// (supervisors and admins always may answer).
    pub fn only_assignee(&self, me: &crate::auth::CurrentAgent) -> bool {
        self.settings.access.reply_policy == crate::config::ReplyPolicy::Assignee
            && !me.role.sees_everything()
    }

    /// What this agent may see under the configured visibility.
    pub fn viewer(&self, me: &crate::auth::CurrentAgent) -> crate::domain::access::Viewer {
        crate::domain::access::Viewer {
            agent: me.id,
            sees_all: me.role.sees_everything()
                || self.settings.access.visibility == crate::config::Visibility::All,
        }
    }
}

/// HTTP handlers' state.
pub struct AppState {
    pub app: Arc<AppContext>,
    pub registry: Conversations,
}
