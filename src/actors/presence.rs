//! Presence: which agents are online (their availability follows their websocket connections,
//! and can be set by hand), who is viewing which conversation, and round-robin choice of an
//! agent for automatic assignment. In cluster mode these are merged with the other nodes'
//! (see [`crate::cluster::presence`]).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;

use super::hub::{Audience, Hub, Publish};
use crate::{
    cluster::{
        node::Epochs,
        presence::{
            changed_availability, changed_viewers, Connected, Heard, Looking, Merged, NodePresence,
            PresenceLink, Viewers,
        },
        Shard,
    },
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

/// Cluster mode: every node's presence, and what this node announced when it was the
/// announcer (see [`crate::cluster::presence`]).
struct Shared {
    link: PresenceLink,
    epochs: Arc<Epochs>,
    /// The other nodes' entries, and when each was last heard.
    others: HashMap<String, (NodePresence, Instant)>,
    /// What the clients were told last (by this node, or the database's when it took over).
    announced: BTreeMap<AgentId, Availability>,
    announced_viewers: Viewers,
    /// Whether this node announces, with `announced` read from the database.
    announcing: bool,
    /// This node became the announcer and reads the stored availability.
    reading_baseline: bool,
}

pub struct Presence {
    store: Store,
    hub: Addr<Hub>,
    sessions: HashMap<u64, Session>,
    /// Each connected agent's websockets here.
    connected: BTreeMap<AgentId, Connected>,
    /// Who looks at which conversation from here, with how many sockets and to whom they are
    /// announced.
    viewing: BTreeMap<(ConversationId, AgentId), (Audience, u32)>,
    /// Agents who set "away" by hand while connected.
    away: BTreeSet<AgentId>,
    /// Round-robin position: the last agent picked.
    last_picked: Option<AgentId>,
    shared: Option<Shared>,
}

impl Presence {
    pub fn new(store: Store, hub: Addr<Hub>) -> Self {
        Presence {
            store,
            hub,
            sessions: HashMap::new(),
            connected: BTreeMap::new(),
            viewing: BTreeMap::new(),
            away: BTreeSet::new(),
            last_picked: None,
            shared: None,
        }
    }

    fn connections(&self, agent: AgentId) -> u32 {
        self.connected.get(&agent).map_or(0, |c| c.sockets)
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

    /// Stores and announces an agent's availability (single node; in cluster mode the
    /// announcer's [`Presence::reconcile`] calls it).
    fn announce(&self, agent: AgentId, availability: Availability) {
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

    fn viewers_here(&self, conversation: ConversationId) -> Vec<AgentId> {
        let from = (conversation, AgentId(uuid::Uuid::nil()));
        self.viewing
            .range(from..)
            .take_while(|((c, _), _)| *c == conversation)
            .map(|((_, a), _)| *a)
            .collect()
    }

    /// A session of `agent` looks at `now` instead of `before`.
    fn look(
        &mut self,
        agent: AgentId,
        before: Option<(ConversationId, Audience)>,
        now: Option<(ConversationId, Audience)>,
    ) {
        if let Some((c, _)) = before {
            if let Some((_, n)) = self.viewing.get_mut(&(c, agent)) {
                *n -= 1;
                if *n == 0 {
                    self.viewing.remove(&(c, agent));
                }
            }
        }
        if let Some((c, audience)) = now {
            let entry = self.viewing.entry((c, agent)).or_insert((audience, 0));
            *entry = (audience, entry.1 + 1);
        }
    }

    fn publish(&self, audience: Audience, presence: PresenceChange) {
        self.hub
            .do_send(Publish::new(ServerEvent::Presence(presence), audience));
    }

    /// Something changed here: announced at once by a single node, merged with the other
    /// nodes' presence in cluster mode.
    fn changed(&mut self, single: impl FnOnce(&Self)) {
        match &self.shared {
            None => single(self),
            Some(_) => self.reconcile(),
        }
    }

    /// This node's first-hand presence, as the other nodes see it.
    fn mine(&self) -> NodePresence {
        NodePresence {
            agents: self.connected.clone(),
            away: self.away.clone(),
            viewing: self
                .viewing
                .iter()
                .map(|((conversation, agent), (audience, _))| Looking {
                    conversation: *conversation,
                    agent: *agent,
                    audience: *audience,
                })
                .collect(),
        }
    }

    fn merged(&self) -> Merged {
        let mine = self.mine();
        let others = self
            .shared
            .iter()
            .flat_map(|s| s.others.values().map(|(n, _)| n));
        Merged::of(std::iter::once(&mine).chain(others))
    }

    /// Cluster mode: compares the merged view with what was announced; the announcer tells
    /// the difference. An "away" setting ends when its agent is connected nowhere.
    /// This node's entry is put again if it changed (only the changed entry goes out).
    fn reconcile(&mut self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut mine = self.mine();
        let others = shared.others.values().map(|(n, _)| n);
        let merged = Merged::of(std::iter::once(&mine).chain(others));
        let before = self.away.len();
        self.away.retain(|a| merged.availability.contains_key(a));
        if self.away.len() != before {
            mine.away = self.away.clone();
        }
        let Some(shared) = self.shared.as_mut() else {
            return;
        };
        shared.link.set_mine(mine);
        let availability = changed_availability(&shared.announced, &merged.availability);
        let viewers = changed_viewers(&shared.announced_viewers, &merged.viewers);
        shared.announced_viewers = merged.viewers;
        if shared.reading_baseline {
            return;
        }
        shared.announced = merged.availability;
        if !shared.announcing {
            return;
        }
        for (agent, availability) in availability {
            self.announce(agent, availability);
        }
        for (conversation_id, audience, viewers) in viewers {
            self.publish(
                audience,
                PresenceChange::Viewers {
                    conversation_id,
                    viewers,
                },
            );
        }
    }

    /// Cluster mode, every second: forgets the entries of nodes not heard for
    /// [`EXPIRE`](crate::cluster::presence::EXPIRE), and starts or stops announcing as this
    /// node takes or loses [`Shard::FIRST`].
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.as_mut() else {
            return;
        };
        let before = shared.others.len();
        shared
            .others
            .retain(|_, (_, heard)| heard.elapsed() < crate::cluster::presence::EXPIRE);
        let expired = shared.others.len() != before;
        let holds = shared.epochs.of(Shard::FIRST).is_some();
        if holds && !shared.announcing && !shared.reading_baseline {
            // Start from what the last announcer stored: whatever changed since is told.
            shared.reading_baseline = true;
            let store = self.store.clone();
            let read = async move { store.read(queries::list_agents).await };
            ctx.spawn(read.into_actor(self).map(|rows, act, _| {
                let Some(shared) = act.shared.as_mut() else {
                    return;
                };
                shared.reading_baseline = false;
                match rows {
                    Ok(rows) => {
                        // Unless shard 0 went meanwhile: the next tick starts again if needed.
                        shared.announcing = shared.epochs.of(Shard::FIRST).is_some();
                        shared.announced = rows
                            .into_iter()
                            .filter(|r| r.availability != Availability::Offline)
                            .map(|r| (r.id, r.availability))
                            .collect();
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read the agents' availability"),
                }
                act.reconcile();
            }));
        } else if !holds {
            shared.announcing = false;
        }
        if expired {
            self.reconcile();
        }
    }
}

impl Actor for Presence {
    type Context = Context<Self>;
}

/// Server start, cluster mode: share presence with the other nodes through `link`; this
/// node announces while it holds [`Shard::FIRST`] in `epochs`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Clustered {
    pub link: PresenceLink,
    pub epochs: Arc<Epochs>,
}

impl Handler<Clustered> for Presence {
    type Result = ();

    fn handle(&mut self, msg: Clustered, ctx: &mut Self::Context) {
        msg.link.set_mine(self.mine());
        self.shared = Some(Shared {
            link: msg.link,
            epochs: msg.epochs,
            others: HashMap::new(),
            announced: BTreeMap::new(),
            announced_viewers: BTreeMap::new(),
            announcing: false,
            reading_baseline: false,
        });
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.tick(ctx));
    }
}

/// The presence link → Presence: what another node put or set.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FromOthers(pub Heard);

impl Handler<FromOthers> for Presence {
    type Result = ();

    fn handle(&mut self, FromOthers(heard): FromOthers, _: &mut Self::Context) {
        if self.shared.is_none() {
            return;
        }
        match heard {
            Heard::Node(node, doc) => {
                if let Some(shared) = self.shared.as_mut() {
                    shared.others.insert(node, (doc, Instant::now()));
                }
                self.reconcile();
            }
            Heard::Setting(agent, availability) => {
                match availability {
                    Availability::Away => self.away.insert(agent),
                    Availability::Online | Availability::Offline => self.away.remove(&agent),
                };
                self.reconcile();
            }
        }
    }
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
        let c = self.connected.entry(msg.agent).or_insert(Connected {
            sockets: 0,
            assignable: msg.role == Role::Agent,
        });
        c.sockets += 1;
        self.changed(|p| {
            if first {
                p.announce(msg.agent, p.availability(msg.agent));
            }
        });
    }
}

impl Handler<SessionClosed> for Presence {
    type Result = ();

    fn handle(&mut self, msg: SessionClosed, _: &mut Self::Context) {
        let Some(session) = self.sessions.remove(&msg.session) else {
            return;
        };
        if let Some(c) = self.connected.get_mut(&session.agent) {
            c.sockets -= 1;
            if c.sockets == 0 {
                self.connected.remove(&session.agent);
            }
        }
        self.look(session.agent, session.viewing, None);
        let last = self.connections(session.agent) == 0;
        if last && self.shared.is_none() {
            self.away.remove(&session.agent);
        }
        self.changed(|p| {
            if let Some((c, audience)) = session.viewing {
                p.publish_viewers(c, audience);
            }
            if last {
                p.announce(session.agent, p.availability(session.agent));
            }
        });
    }
}

impl Presence {
    fn publish_viewers(&self, conversation_id: ConversationId, audience: Audience) {
        self.publish(
            audience,
            PresenceChange::Viewers {
                conversation_id,
                viewers: self.viewers_here(conversation_id),
            },
        );
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
        let agent = session.agent;
        self.look(agent, before, now);
        self.changed(|p| {
            for (c, audience) in before.into_iter().chain(now) {
                p.publish_viewers(c, audience);
            }
        });
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
        if let Some(shared) = &self.shared {
            shared.link.tell_setting(msg.agent, msg.availability);
        }
        self.changed(|p| p.announce(msg.agent, p.availability(msg.agent)));
    }
}

impl Handler<Snapshot> for Presence {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _: &mut Self::Context) -> Self::Result {
        if self.shared.is_some() {
            return MessageResult(self.merged().availability.into_iter().collect());
        }
        MessageResult(
            self.connected
                .keys()
                .map(|a| (*a, self.availability(*a)))
                .collect(),
        )
    }
}

impl Handler<PickAgent> for Presence {
    type Result = ResponseActFuture<Self, Option<AgentId>>;

    fn handle(&mut self, msg: PickAgent, _: &mut Self::Context) -> Self::Result {
        // Online (not away) agents of every node, starting after the last one picked here.
        let online: Vec<AgentId> = match self.shared {
            Some(_) => self.merged().assignable,
            None => self
                .connected
                .iter()
                .filter(|(a, c)| c.assignable && !self.away.contains(a))
                .map(|(a, _)| *a)
                .collect(),
        };
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
        // Cluster mode: every node rotates on its own, so each would start with the same
        // agent; the fewest open conversations come first (the rotation breaks ties), which
        // the shared database makes the same on every node.
        let balance = self.shared.is_some();
        let fut = async move {
            let load = store
                .read(queries::open_conversations_per_agent)
                .await
                .ok()?;
            let open = |a: &AgentId| load.get(a).copied().unwrap_or(0);
            let mut order = order;
            if balance {
                order.sort_by_key(open);
            }
            order.into_iter().find(|a| open(a) < capacity)
        };
        Box::pin(fut.into_actor(self).map(|picked, act, _| {
            if picked.is_some() {
                act.last_picked = picked;
            }
            picked
        }))
    }
}
