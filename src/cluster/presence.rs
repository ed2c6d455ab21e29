//! Presence across nodes: who is connected, away, looking at what.
//!
//! Each node puts what it knows first hand (its agents' websockets, who looks at which
//! conversation from here, the "away" settings) under its own key in the `sb_presence` KV
//! bucket, again whenever it changes and every [`RENEW`]; every node watches the bucket and
//! merges all nodes' entries into one view ([`Merged`]), so each answers `GET /api/agents`
//! and picks agents for automatic assignment from the whole cluster.
//!
//! One node tells the clients what changed: the holder of [`Shard::FIRST`](super::Shard) (as
//! for broadcasts). It compares the merged view with what it announced last
//! ([`changed_availability`], [`changed_viewers`]) and publishes the difference to the event
//! log, which every node delivers. So an agent connected to two nodes who closes one socket
//! is not announced offline, and a change is announced once, not once per node. A node that
//! becomes the announcer starts from the availability last stored in the database.
//!
//! A node that dies stops renewing its entry; the others forget it after [`EXPIRE`] (long
//! enough for its agents to reconnect elsewhere first, so they do not flicker offline).
//! nats-server 2.9 sends no event when a key expires, hence the renewal and the local expiry.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{lease, NodeId};
use crate::{
    actors::hub::Audience,
    domain::{types::Availability, AgentId, ConversationId},
};

const BUCKET: &str = "sb_presence";
/// Each node puts its entry at least this often.
pub const RENEW: Duration = Duration::from_secs(2);
/// An entry not renewed for this long is a dead node's.
pub const EXPIRE: Duration = Duration::from_secs(10);
/// Changes within this window share one put.
const COALESCE: Duration = Duration::from_millis(20);
/// Someone set an agent's availability by hand: every node keeps "away" settings.
const SETTINGS: &str = "sb.presence.settings";

/// One node's first-hand presence, as it puts it in the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePresence {
    /// The agents with an open websocket on this node.
    pub agents: BTreeMap<AgentId, Connected>,
    /// The agents who set "away" by hand (every node keeps the whole cluster's).
    pub away: BTreeSet<AgentId>,
    /// Who looks at which conversation from this node.
    pub viewing: Vec<Looking>,
}

/// An agent's websockets on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    pub sockets: u32,
    /// Whether automatic assignment may pick them (role `agent`).
    pub assignable: bool,
}

/// An agent looking at a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Looking {
    pub conversation: ConversationId,
    pub agent: AgentId,
    /// Who may see the conversation: viewers are announced to them only.
    pub audience: Audience,
}

/// Viewers of a conversation, and to whom they are announced.
pub type Viewers = BTreeMap<ConversationId, (Audience, Vec<AgentId>)>;

/// Every node's presence merged into one view.
#[derive(Debug, Default, PartialEq)]
pub struct Merged {
    /// Every agent connected somewhere (absent: offline).
    pub availability: BTreeMap<AgentId, Availability>,
    pub viewers: Viewers,
    /// Online (not away) agents that automatic assignment may pick, in a stable order.
    pub assignable: Vec<AgentId>,
}

impl Merged {
    pub fn of<'a>(nodes: impl IntoIterator<Item = &'a NodePresence>) -> Merged {
        let mut sockets: BTreeMap<AgentId, bool> = BTreeMap::new();
        let mut away = BTreeSet::new();
        let mut viewers: Viewers = BTreeMap::new();
        for node in nodes {
            for (agent, c) in &node.agents {
                if c.sockets > 0 {
                    *sockets.entry(*agent).or_default() |= c.assignable;
                }
            }
            away.extend(node.away.iter().copied());
            for l in &node.viewing {
                viewers
                    .entry(l.conversation)
                    .or_insert_with(|| (l.audience, Vec::new()))
                    .1
                    .push(l.agent);
            }
        }
        for (_, agents) in viewers.values_mut() {
            agents.sort();
            agents.dedup();
        }
        let availability: BTreeMap<AgentId, Availability> = sockets
            .keys()
            .map(|a| match away.contains(a) {
                true => (*a, Availability::Away),
                false => (*a, Availability::Online),
            })
            .collect();
        let assignable = sockets
            .iter()
            .filter(|(a, assignable)| **assignable && !away.contains(*a))
            .map(|(a, _)| *a)
            .collect();
        Merged {
            availability,
            viewers,
            assignable,
        }
    }
}

/// The agents whose availability differs between what was announced and the merged view
/// (an agent absent from either is offline there).
pub fn changed_availability(
    announced: &BTreeMap<AgentId, Availability>,
    now: &BTreeMap<AgentId, Availability>,
) -> Vec<(AgentId, Availability)> {
    let agents: BTreeSet<&AgentId> = announced.keys().chain(now.keys()).collect();
    agents
        .into_iter()
        .filter_map(|a| {
            let before = announced.get(a).copied().unwrap_or(Availability::Offline);
            let after = now.get(a).copied().unwrap_or(Availability::Offline);
            (before != after).then_some((*a, after))
        })
        .collect()
}

/// The conversations whose viewers differ between what was announced and the merged view,
/// with their viewers now (none: the last one left; announced to the audience they had).
pub fn changed_viewers(
    announced: &Viewers,
    now: &Viewers,
) -> Vec<(ConversationId, Audience, Vec<AgentId>)> {
    let conversations: BTreeSet<&ConversationId> = announced.keys().chain(now.keys()).collect();
    conversations
        .into_iter()
        .filter_map(|c| match (announced.get(c), now.get(c)) {
            (Some((_, before)), Some((audience, after))) if before != after => {
                Some((*c, *audience, after.clone()))
            }
            (None, Some((audience, after))) => Some((*c, *audience, after.clone())),
            (Some((audience, _)), None) => Some((*c, *audience, Vec::new())),
            _ => None,
        })
        .collect()
}

/// What the watch of the bucket and the settings subject tell the presence actor.
pub enum Heard {
    /// Another node's entry, as it put it.
    Node(String, NodePresence),
    /// Another node set an agent's availability by hand.
    Setting(AgentId, Availability),
}

/// An availability set by hand, as a node tells the others.
#[derive(Debug, Serialize, Deserialize)]
struct Setting {
    node: String,
    agent: AgentId,
    availability: Availability,
}

/// This node's link to the others' presence.
#[derive(Clone)]
pub struct PresenceLink {
    me: NodeId,
    client: async_nats::Client,
    mine: watch::Sender<NodePresence>,
}

impl PresenceLink {
    /// Opens the bucket, puts this node's entry as `mine` changes (and every [`RENEW`], until
    /// `stopping`: a stopping node's entry is left to expire, so its agents reconnect
    /// elsewhere before they are missed), and sends `heard` what the others put and set.
    pub async fn start(
        js: &jetstream::Context,
        client: async_nats::Client,
        me: NodeId,
        stopping: watch::Receiver<bool>,
        heard: impl Fn(Heard) + Send + Sync + Clone + 'static,
    ) -> Result<PresenceLink, String> {
        let bucket = lease::open_bucket(js, BUCKET, EXPIRE + RENEW)
            .await
            .map_err(|e| e.to_string())?;
        let (mine, rx) = watch::channel(NodePresence::default());
        tokio::spawn(put_mine(bucket.clone(), me.clone(), rx, stopping));
        tokio::spawn(watch_others(bucket, me.clone(), heard.clone()));
        let mut settings = client
            .subscribe(SETTINGS)
            .await
            .map_err(|e| e.to_string())?;
        let node = me.to_string();
        tokio::spawn(async move {
            while let Some(msg) = settings.next().await {
                match serde_json::from_slice::<Setting>(&msg.payload) {
                    Ok(s) if s.node != node => heard(Heard::Setting(s.agent, s.availability)),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "unreadable presence setting"),
                }
            }
        });
        Ok(PresenceLink { me, client, mine })
    }

    /// This node's entry changed.
    pub fn set_mine(&self, now: NodePresence) {
        self.mine.send_if_modified(|doc| {
            let changed = *doc != now;
            *doc = now;
            changed
        });
    }

    /// Tells the other nodes an agent set their availability by hand here.
    pub fn tell_setting(&self, agent: AgentId, availability: Availability) {
        let setting = Setting {
            node: self.me.to_string(),
            agent,
            availability,
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            let Ok(payload) = serde_json::to_vec(&setting) else {
                return;
            };
            if let Err(e) = client.publish(SETTINGS, payload.into()).await {
                tracing::warn!(error = %e, "cannot tell the other nodes of an availability setting");
            }
        });
    }
}

/// Puts this node's entry when it changes (a burst of changes shares one put) and every
/// [`RENEW`]; the latest entry is always the one put, in order.
async fn put_mine(
    bucket: kv::Store,
    me: NodeId,
    mut mine: watch::Receiver<NodePresence>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let changed = tokio::select! {
            changed = mine.changed() => changed.is_ok(),
            _ = tokio::time::sleep(RENEW) => true,
            r = stopping.changed() => r.is_ok(),
        };
        if !changed {
            return;
        }
        tokio::time::sleep(COALESCE).await;
        if *stopping.borrow() {
            return;
        }
        let payload = match serde_json::to_vec(&*mine.borrow_and_update()) {
            Ok(p) => p,
            Err(e) => return tracing::error!(error = %e, "cannot encode this node's presence"),
        };
        if let Err(e) = bucket.put(me.as_str(), payload.into()).await {
            tracing::warn!(error = %e, "cannot put this node's presence");
        }
    }
}

/// Follows the other nodes' entries (the current ones first), watching again after a lost
/// connection.
async fn watch_others(bucket: kv::Store, me: NodeId, heard: impl Fn(Heard) + Send + 'static) {
    loop {
        match bucket.watch_all().await {
            Ok(mut entries) => {
                while let Some(entry) = entries.next().await {
                    let entry = match entry {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::warn!(error = %e, "the presence watch failed");
                            break;
                        }
                    };
                    if entry.key == me.as_str() || entry.operation != kv::Operation::Put {
                        continue;
                    }
                    match serde_json::from_slice::<NodePresence>(&entry.value) {
                        Ok(doc) => heard(Heard::Node(entry.key, doc)),
                        Err(e) => {
                            tracing::warn!(error = %e, node = entry.key, "unreadable presence")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot watch the other nodes' presence"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(n: u128) -> AgentId {
        AgentId(uuid::Uuid::from_u128(n))
    }

    fn conversation(n: u128) -> ConversationId {
        ConversationId(uuid::Uuid::from_u128(n))
    }

    fn node(agents: &[(u128, u32, bool)], away: &[u128], viewing: &[(u128, u128)]) -> NodePresence {
        NodePresence {
            agents: agents
                .iter()
                .map(|(a, sockets, assignable)| {
                    (
                        agent(*a),
                        Connected {
                            sockets: *sockets,
                            assignable: *assignable,
                        },
                    )
                })
                .collect(),
            away: away.iter().map(|a| agent(*a)).collect(),
            viewing: viewing
                .iter()
                .map(|(c, a)| Looking {
                    conversation: conversation(*c),
                    agent: agent(*a),
                    audience: Audience::Conversation {
                        id: conversation(*c),
                        assignee: None,
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn an_agent_is_online_while_connected_to_any_node_and_away_if_any_node_says_so() {
        use Availability::*;
        // (nodes, expected availability of agents 1 and 2)
        let cases: Vec<(Vec<NodePresence>, [Availability; 2])> = vec![
            (vec![], [Offline, Offline]),
            (vec![node(&[(1, 1, true)], &[], &[])], [Online, Offline]),
            // Closed on one node, still open on another.
            (
                vec![
                    node(&[(1, 0, true)], &[], &[]),
                    node(&[(1, 2, true)], &[], &[]),
                ],
                [Online, Offline],
            ),
            // Away set on a node the agent is not connected to.
            (
                vec![node(&[(1, 1, true)], &[], &[]), node(&[], &[1], &[])],
                [Away, Offline],
            ),
            // Away but connected nowhere: offline.
            (vec![node(&[(2, 1, false)], &[1], &[])], [Offline, Online]),
        ];
        for (nodes, expected) in cases {
            let merged = Merged::of(&nodes);
            let got = [1, 2].map(|a| {
                merged
                    .availability
                    .get(&agent(a))
                    .copied()
                    .unwrap_or(Offline)
            });
            assert_eq!(got, expected, "{nodes:?}");
        }
    }

    #[test]
    fn assignment_picks_from_every_nodes_online_agents_with_role_agent() {
        let nodes = [
            node(&[(1, 1, true), (2, 1, false)], &[3], &[]),
            node(&[(3, 1, true), (4, 2, true)], &[], &[]),
            node(&[(5, 0, true)], &[], &[]),
        ];
        assert_eq!(Merged::of(&nodes).assignable, vec![agent(1), agent(4)]);
    }

    #[test]
    fn viewers_are_merged_and_every_change_is_found_once() {
        let nodes = [
            node(&[], &[], &[(7, 1), (8, 2)]),
            node(&[], &[], &[(7, 2), (7, 1)]),
        ];
        let merged = Merged::of(&nodes);
        assert_eq!(merged.viewers[&conversation(7)].1, vec![agent(1), agent(2)]);
        assert_eq!(merged.viewers[&conversation(8)].1, vec![agent(2)]);

        // Agent 2 left conversation 8 and joined 9; 7 is unchanged.
        let later = Merged::of(&[node(&[], &[], &[(7, 1), (7, 2), (9, 2)])]);
        let changes: Vec<_> = changed_viewers(&merged.viewers, &later.viewers)
            .into_iter()
            .map(|(c, _, v)| (c, v))
            .collect();
        assert_eq!(
            changes,
            vec![(conversation(8), vec![]), (conversation(9), vec![agent(2)])]
        );
        assert!(changed_viewers(&later.viewers, &later.viewers).is_empty());
    }

    #[test]
    fn availability_changes_include_agents_gone_offline() {
        use Availability::*;
        let before = BTreeMap::from([(agent(1), Online), (agent(2), Away)]);
        let now = BTreeMap::from([(agent(2), Online), (agent(3), Online)]);
        assert_eq!(
            changed_availability(&before, &now),
            vec![(agent(1), Offline), (agent(2), Online), (agent(3), Online)]
        );
        assert!(changed_availability(&now, &now).is_empty());
    }
}
