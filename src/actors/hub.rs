//! The Hub: numbers every change with a strictly increasing `seq`, encodes it to JSON once, keeps
//! a bounded backlog for clients that reconnect or poll, and fans events out to subscribers.
//!
//! Each event carries who may see it (its conversation and assignee), so subscribers filter by
//! visibility without decoding or re-encoding the payload.

use std::{collections::VecDeque, sync::Arc};

use actix::prelude::*;
use serde_json::{Map, Value};

use crate::domain::{AgentId, ConversationId};

/// Events kept for `resume` and polling; older ones mean "reload".
pub const BACKLOG: usize = 50_000;

/// An event as pushed to clients: `{"type", "seq", …}`, already encoded.
#[derive(Debug)]
pub struct HubEvent {
    pub seq: u64,
    pub kind: &'static str,
    /// The conversation it is about, if any (drives visibility).
    pub conversation_id: Option<ConversationId>,
    /// Its assignee when the event was made (drives visibility for agents).
    pub assignee: Option<AgentId>,
    pub json: Arc<str>,
}

/// Conversation actor (or any producer) → Hub: something changed.
#[derive(Message, Debug)]
#[rtype(result = "u64")]
pub struct Publish {
    pub kind: &'static str,
    pub conversation_id: Option<ConversationId>,
    pub assignee: Option<AgentId>,
    /// The event's fields besides `type` and `seq`.
    pub payload: Map<String, Value>,
}

/// Delivered to every subscriber, shared, never copied per subscriber.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Broadcast(pub Arc<HubEvent>);

/// A session → Hub: start receiving events.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<Broadcast>);

/// A client → Hub: the events after `seq` still in the backlog.
#[derive(Message)]
#[rtype(result = "Result<Vec<Arc<HubEvent>>, TooOld>")]
pub struct EventsSince(pub u64);

/// The backlog no longer reaches back to the requested `seq`: the client must reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    pub oldest: u64,
    pub latest: u64,
}

#[derive(Default)]
pub struct Hub {
    seq: u64,
    backlog: VecDeque<Arc<HubEvent>>,
    subscribers: Vec<Recipient<Broadcast>>,
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Publishers never wait on a slow hub for long.
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<Publish> for Hub {
    type Result = u64;

    fn handle(&mut self, msg: Publish, _: &mut Self::Context) -> u64 {
        self.seq += 1;
        let mut map = Map::with_capacity(msg.payload.len() + 2);
        map.insert("type".to_owned(), Value::from(msg.kind));
        map.insert("seq".to_owned(), Value::from(self.seq));
        map.extend(msg.payload);
        let json: Arc<str> = Value::Object(map).to_string().into();
        let event = Arc::new(HubEvent {
            seq: self.seq,
            kind: msg.kind,
            conversation_id: msg.conversation_id,
            assignee: msg.assignee,
            json,
        });
        if self.backlog.len() == BACKLOG {
            self.backlog.pop_front();
        }
        self.backlog.push_back(event.clone());
        // A subscriber whose mailbox is gone is dropped; a full one is its own problem
        // (sessions disconnect themselves when they cannot keep up).
        self.subscribers.retain(|s| {
            !matches!(
                s.try_send(Broadcast(event.clone())),
                Err(SendError::Closed(_))
            )
        });
        self.seq
    }
}

impl Handler<Subscribe> for Hub {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        self.subscribers.push(msg.0);
    }
}

impl Handler<EventsSince> for Hub {
    type Result = Result<Vec<Arc<HubEvent>>, TooOld>;

    fn handle(&mut self, msg: EventsSince, _: &mut Self::Context) -> Self::Result {
        let oldest = self.backlog.front().map_or(self.seq + 1, |e| e.seq);
        // Asking for events after `since` needs `since + 1` to still be in the backlog.
        if msg.0 + 1 < oldest && msg.0 < self.seq {
            return Err(TooOld {
                oldest,
                latest: self.seq,
            });
        }
        let skip = (msg.0 + 1).saturating_sub(oldest) as usize;
        Ok(self.backlog.iter().skip(skip).cloned().collect())
    }
}
