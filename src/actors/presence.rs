//! Presence: which agents are online (their availability follows their websocket connections,
//! and can be set by hand), who is viewing which conversation, and round-robin choice of an
//! agent for automatic assignment.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix::prelude::*;

use super::hub::{Audience, Hub, Publish};
use crate::{
    db::{queries, Store},
    domain::{types::Role, AgentId, ConversationId},
    protocol::{PresenceChange, ServerEvent},
};

pub use crate::domain::types::Availability;

/// Session → Presence: a websocket of this agent opened.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionOpened {
    pub session: u64,
    pub agent: AgentId,
    pub role: Role,
}

/// Session → Presence: it closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionClosed {
    pub session: u64,
}

/// Session → Presence: the agent now looks at this conversation (or none).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Viewing {
    pub session: u64,
    pub conversation: Option<ConversationId>,
    /// Who may see that conversation (viewers are announced to them only).
    pub audience: Audience,
}

/// REST → Presence: the agent set its availability by hand.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetAvailability {
    pub agent: AgentId,
    pub availability: Availability,
}

/// Conversation actor → Presence: pick an online agent with room for one more conversation.
#[derive(Message)]
#[rtype(result = "Option<AgentId>")]
pub struct PickAgent {
    pub capacity: u32,
}

/// REST → Presence: the availability of everyone with a live session or a manual setting.
#[derive(Message)]
#[rtype(result = "HashMap<AgentId, Availability>")]
pub struct Snapshot;

struct Session {
    agent: AgentId,
    viewing: Option<(ConversationId, Audience)>,
}

pub struct Presence {
    store: Store,
    hub: Addr<Hub>,
    sessions: HashMap<u64, Session>,
    /// Agents who set "away" by hand while connected.
    away: BTreeSet<AgentId>,
    /// Online agents who may be auto-assigned (role `agent`), in a stable order.
    assignable: BTreeMap<AgentId, usize>,
    /// Round-robin position: the last agent picked.
    last_picked: Option<AgentId>,
}

impl Presence {
    pub fn new(store: Store, hub: Addr<Hub>) -> Self {
        Presence {
            store,
            hub,
            sessions: HashMap::new(),
            away: BTreeSet::new(),
            assignable: BTreeMap::new(),
            last_picked: None,
        }
    }

    fn connections(&self, agent: AgentId) -> usize {
        self.sessions.values().filter(|s| s.agent == agent).count()
    }

    fn availability(&self, agent: AgentId) -> Availability {
        if self.connections(agent) == 0 {
            Availability::Offline
        } else if self.away.contains(&agent) {
            Availability::Away
        } else {
            Availability::Online
        }
    }

    /// Stores and announces an agent's availability.
    fn announce(&self, agent: AgentId) {
        let availability = self.availability(agent);
        let store = self.store.clone();
        actix_rt::spawn(async move {
            if let Err(e) = store
                .write(move |c| queries::set_availability(c, agent, availability))
                .await
            {
                tracing::warn!(error = %e, "cannot store availability");
            }
        });
        self.publish(
            Audience::Everyone,
            PresenceChange::Availability {
                agent_id: agent,
                availability,
            },
        );
    }

    fn announce_viewers(&self, (conversation, audience): (ConversationId, Audience)) {
        let mut viewers: Vec<AgentId> = self
            .sessions
            .values()
            .filter(|s| s.viewing.is_some_and(|(c, _)| c == conversation))
            .map(|s| s.agent)
            .collect();
        viewers.sort();
        viewers.dedup();
        self.publish(
            audience,
            PresenceChange::Viewers {
                conversation_id: conversation,
                viewers,
            },
        );
    }

    fn publish(&self, audience: Audience, presence: PresenceChange) {
        self.hub
            .do_send(Publish::new(ServerEvent::Presence(presence), audience));
    }
}

impl Actor for Presence {
    type Context = Context<Self>;
}

impl Handler<SessionOpened> for Presence {
    type Result = ();

    fn handle(&mut self, msg: SessionOpened, _: &mut Self::Context) {
        let first = self.connections(msg.agent) == 0;
        self.sessions.insert(
            msg.session,
            Session {
                agent: msg.agent,
                viewing: None,
            },
        );
        if msg.role == Role::Agent {
            *self.assignable.entry(msg.agent).or_default() += 1;
        }
        if first {
            self.announce(msg.agent);
        }
    }
}

impl Handler<SessionClosed> for Presence {
    type Result = ();

    fn handle(&mut self, msg: SessionClosed, _: &mut Self::Context) {
        let Some(session) = self.sessions.remove(&msg.session) else {
            return;
        };
        if let Some(n) = self.assignable.get_mut(&session.agent) {
            *n -= 1;
            if *n == 0 {
                self.assignable.remove(&session.agent);
            }
        }
        if let Some(c) = session.viewing {
            self.announce_viewers(c);
        }
        if self.connections(session.agent) == 0 {
            self.away.remove(&session.agent);
            self.announce(session.agent);
        }
    }
}

impl Handler<Viewing> for Presence {
    type Result = ();

    fn handle(&mut self, msg: Viewing, _: &mut Self::Context) {
        let Some(session) = self.sessions.get_mut(&msg.session) else {
            return;
        };
        let now = msg.conversation.map(|c| (c, msg.audience));
        let before = std::mem::replace(&mut session.viewing, now);
        if before.map(|(c, _)| c) == msg.conversation {
            return;
        }
        if let Some(v) = before {
            self.announce_viewers(v);
        }
        if let Some(v) = now {
            self.announce_viewers(v);
        }
    }
}

impl Handler<SetAvailability> for Presence {
    type Result = ();

    fn handle(&mut self, msg: SetAvailability, _: &mut Self::Context) {
        match msg.availability {
            Availability::Away => {
                self.away.insert(msg.agent);
            }
            Availability::Online | Availability::Offline => {
                self.away.remove(&msg.agent);
            }
        }
        self.announce(msg.agent);
    }
}

impl Handler<Snapshot> for Presence {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _: &mut Self::Context) -> Self::Result {
        let agents: BTreeSet<AgentId> = self.sessions.values().map(|s| s.agent).collect();
        MessageResult(
            agents
                .into_iter()
                .map(|a| (a, self.availability(a)))
                .collect(),
        )
    }
}

impl Handler<PickAgent> for Presence {
    type Result = ResponseActFuture<Self, Option<AgentId>>;

    fn handle(&mut self, msg: PickAgent, _: &mut Self::Context) -> Self::Result {
        // Online (not away) agents, starting after the last one picked.
        let online: Vec<AgentId> = self
            .assignable
            .keys()
            .copied()
            .filter(|a| !self.away.contains(a))
            .collect();
        let start = self
            .last_picked
            .and_then(|last| online.iter().position(|a| *a > last))
            .unwrap_or(0);
        let order: Vec<AgentId> = online[start..]
            .iter()
            .chain(online[..start].iter())
            .copied()
            .collect();
        let store = self.store.clone();
        let capacity = i64::from(msg.capacity);
        let fut = async move {
            let load = store
                .read(queries::open_conversations_per_agent)
                .await
                .ok()?;
            order
                .into_iter()
                .find(|a| load.get(a).copied().unwrap_or(0) < capacity)
        };
        Box::pin(fut.into_actor(self).map(|picked, act, _| {
            if picked.is_some() {
                act.last_picked = picked;
            }
            picked
        }))
    }
}
