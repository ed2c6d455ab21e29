//! The Hub: numbers every change with a strictly increasing `seq`, encodes it to JSON once, keeps
//! a bounded backlog for clients that reconnect or poll, and fans events out to the sessions
//! allowed to see them.
//!
//! Each event carries who may see it (its conversation's assignee before and after the change),
//! so the hub filters by visibility without decoding or re-encoding the payload. Subscribing
//! and replaying the backlog happen in one handler, so a reconnecting client gets every event
//! after its `since` exactly once and in order.
//!
//! `seq` starts at the start time in microseconds: it keeps increasing across restarts, and a
//! client resuming from before a restart finds its `since` older than the backlog and reloads.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Instant,
};

use actix::prelude::*;

use crate::{
    cluster::events::{Envelope, Logged},
    domain::{AgentId, ConversationId},
    protocol::ServerEvent,
};

static NEXT_SESSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A process-unique id for a subscriber (agent or widget session).
pub fn next_session_id() -> u64 {
    NEXT_SESSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// An event as pushed to clients: `{"seq", "type", …}` encoded once, shared by every session
/// (a visitor's reads what it needs from the same JSON), and who may see it.
#[derive(Debug)]
pub struct HubEvent {
    pub seq: u64,
    pub audience: Audience,
    pub json: Arc<str>,
    /// When the hub numbered it: sessions measure their mailbox wait from here.
    pub at: Instant,
}

/// The wire form: `{"seq":N,` and then the event's own fields, encoded by its producer.
pub fn numbered(seq: u64, body: &str) -> String {
    let fields = body.strip_prefix('{').unwrap_or(body);
    let mut json = String::with_capacity(body.len() + 24);
    json.push_str("{\"seq\":");
    json.push_str(&seq.to_string());
    if fields != "}" {
        json.push(',');
    }
    json.push_str(fields);
    json
}

/// Who may see an event. Serializable: in cluster mode it travels with the event through
/// the event stream, so every node filters as the one that produced it would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Audience {
    /// Everyone (badge counts, agent availability).
    Everyone,
    /// Whoever may see the conversation with this assignee.
    Conversation {
        id: ConversationId,
        assignee: Option<AgentId>,
    },
    /// Whoever could see the conversation with its assignee `before` and can no longer with
    /// `after` (an agent restricted by visibility, when someone else got it): they are told
    /// it is gone, and why.
    LostSight {
        id: ConversationId,
        before: Option<AgentId>,
        after: Option<AgentId>,
    },
}

pub use crate::domain::access::Viewer;

impl Viewer {
    pub fn may_see(&self, audience: &Audience) -> bool {
        match audience {
            Audience::Everyone => true,
            Audience::Conversation { assignee, .. } => self.may_see_assignee(*assignee),
            Audience::LostSight { before, after, .. } => {
                self.may_see_assignee(*before) && !self.may_see_assignee(*after)
            }
        }
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// An agent: whatever its visibility allows.
    Agent(Viewer),
    /// A customer's widget: the events of its own conversation only.
    Conversation(ConversationId),
}

impl Filter {
    pub fn matches(&self, audience: &Audience) -> bool {
        match (self, audience) {
            (Filter::Agent(v), a) => v.may_see(a),
            (Filter::Conversation(id), Audience::Conversation { id: of, .. }) => id == of,
            (Filter::Conversation(_), Audience::Everyone | Audience::LostSight { .. }) => false,
        }
    }
}

/// Conversation actor (or any producer) → Hub: something changed. Typing and viewing are
/// numbered and pushed, but not kept for replay (stale by then; see
/// [`ServerEvent::ephemeral`]).
///
/// The event is encoded to JSON by [`Publish::new`], on the producer's thread (the
/// conversation actors run on several): the hub, one actor for everyone, only adds the `seq`.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Publish {
    /// Unique per event: the cluster's event stream keeps one copy per id.
    id: uuid::Uuid,
    /// Cluster mode: written in the event outbox with its commit; deleted once the stream
    /// acknowledged it.
    durable: bool,
    /// The event's `type`.
    kind: &'static str,
    /// Typing and viewing: pushed, never kept for replay.
    ephemeral: bool,
    audience: Audience,
    /// The event's JSON object, without its `seq`; `None` if it could not be encoded.
    body: Option<String>,
    /// When its producer sent it: the hub's queue wait is measured from here.
    queued_at: Instant,
}

impl Publish {
    pub fn new(event: ServerEvent, audience: Audience) -> Publish {
        let body = match serde_json::to_string(&event) {
            Ok(body) if body.starts_with('{') => Some(body),
            Ok(_) => None,
            Err(e) => {
                // Our own types always serialize; a bug is logged, never a panic.
                tracing::error!(error = %e, kind = event.kind(), "cannot encode an event");
                None
            }
        };
        Publish {
            id: uuid::Uuid::now_v7(),
            durable: false,
            kind: event.kind(),
            ephemeral: event.ephemeral(),
            audience,
            body,
            queued_at: Instant::now(),
        }
    }
}

impl Publish {
    /// The event as the cluster's event stream carries it (`None` if it could not be
    /// encoded).
    pub fn envelope(&self) -> Option<Envelope> {
        Some(Envelope {
            id: self.id,
            audience: self.audience,
            kind: self.kind.to_owned(),
            ephemeral: self.ephemeral,
            body: self.body.clone()?,
            durable: self.durable,
        })
    }

    /// Marks the event as written in the event outbox with its commit.
    pub fn durable(mut self) -> Publish {
        self.durable = true;
        self
    }
}

/// Hub → session.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum ToSession {
    /// An event this session may see, shared, never copied per subscriber.
    Event(Arc<HubEvent>),
    /// The session's mailbox was full: it missed events and was unsubscribed. It should tell
    /// its client to resume.
    Lagged,
    /// The access it was opened with is gone (logout, deactivation, a new role): close now.
    Revoked(&'static str),
}

/// Whose session this is, so revoking access reaches its open sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub agent: AgentId,
    /// SHA-256 of the login token the socket was opened with.
    pub token_hash: Arc<str>,
}

/// Whose sessions to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// Everything opened with one login token (logout).
    Token(String),
    /// Everything of one agent (deactivation, a changed role, a password reset).
    Agent(AgentId),
    /// Everything of one agent but what was opened with this login token (the agent changed
    /// their own password from it).
    OtherTokens { agent: AgentId, keep: String },
}

/// Anyone → Hub: close the matching sessions at once, telling each why. Answers how many.
#[derive(Message, Debug)]
#[rtype(result = "usize")]
pub struct CloseSessions {
    pub who: Revoke,
    pub reason: &'static str,
}

/// A session → Hub: (re)subscribe, replaying what the viewer may see after `since`.
/// Replaces an earlier subscription of the same session.
#[derive(Message)]
#[rtype(result = "Subscribed")]
pub struct Subscribe {
    pub session: u64,
    pub filter: Filter,
    pub recipient: Recipient<ToSession>,
    pub since: Option<u64>,
    /// An agent's session; `None` for a website visitor.
    pub owner: Option<Owner>,
}

pub struct Subscribed {
    pub latest: u64,
    /// The backlog after `since`, or `Err` when it no longer reaches back that far.
    pub replay: Result<Vec<Arc<HubEvent>>, TooOld>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub session: u64,
}

/// A polling client → Hub: the events after `since` it may see.
#[derive(Message)]
#[rtype(result = "Result<(Vec<Arc<HubEvent>>, u64), TooOld>")]
pub struct EventsSince {
    pub since: u64,
    pub viewer: Viewer,
}

/// How many sessions are subscribed (tests and metrics).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountSubscribers;

/// What `/metrics` reads of the hub.
#[derive(Message)]
#[rtype(result = "HubStats")]
pub struct GetStats;

#[derive(Debug, Clone, Copy, Default, MessageResponse)]
pub struct HubStats {
    /// Subscribed agent sessions and visitor (widget) sessions.
    pub agents: usize,
    pub visitors: usize,
}

/// The backlog no longer reaches back to the requested `seq`, or the `seq` is ahead of the
/// latest: the client must reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    pub latest: u64,
}

struct Subscriber {
    filter: Filter,
    recipient: Recipient<ToSession>,
    owner: Option<Owner>,
}

pub struct Hub {
    seq: u64,
    /// `seq` of the first event this process numbered: nothing before it can be replayed.
    first: u64,
    capacity: usize,
    backlog: VecDeque<Arc<HubEvent>>,
    subscribers: HashMap<u64, Subscriber>,
    /// `switchboard_events_published_total`.
    published: prometheus_client::metrics::counter::Counter,
    /// `switchboard_stage_wait_seconds{stage="hub"}`.
    queue_wait: prometheus_client::metrics::histogram::Histogram,
    /// Cluster mode: where published events go to be numbered (the event log's publisher).
    log: Option<tokio::sync::mpsc::Sender<Envelope>>,
    /// How many sessions are subscribed, readable without asking the hub.
    open: Arc<std::sync::atomic::AtomicU64>,
}

impl Hub {
    pub fn new(capacity: usize) -> Hub {
        let start = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        Hub {
            seq: start,
            first: start + 1,
            capacity,
            backlog: VecDeque::with_capacity(capacity.min(4096)),
            subscribers: HashMap::new(),
            published: Default::default(),
            queue_wait: prometheus_client::metrics::histogram::Histogram::new([]),
            log: None,
            open: Arc::default(),
        }
    }

    /// How many sessions (agents' and visitors') are subscribed, kept up to date by the hub.
    pub fn open_sessions(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.open.clone()
    }

    fn count_open(&self) {
        self.open.store(
            self.subscribers.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Cluster mode: events published here go to `log` (the event log's publisher), and the
    /// hub numbers and delivers what the log's follower brings back ([`FromLog`]), starting
    /// after `latest`, the log's last `seq` when the follower started. Nothing before it can
    /// be replayed from the hub (a session asks the log itself).
    pub fn clustered(mut self, log: tokio::sync::mpsc::Sender<Envelope>, latest: u64) -> Hub {
        self.log = Some(log);
        self.seq = latest;
        self.first = latest + 1;
        self
    }

    /// Counts every published event on `counter` and how long each waited for the hub on
    /// `queue_wait` (the server's metrics).
    pub fn counting(
        mut self,
        counter: prometheus_client::metrics::counter::Counter,
        queue_wait: prometheus_client::metrics::histogram::Histogram,
    ) -> Hub {
        self.published = counter;
        self.queue_wait = queue_wait;
        self
    }

    /// Events after `since` that `filter` lets through, if the backlog still covers them. A
    /// `since` ahead of the latest event is no cursor this server gave out (another server,
    /// a corrupted client): the client must reload too.
    fn replay(&self, since: u64, filter: &Filter) -> Result<Vec<Arc<HubEvent>>, TooOld> {
        if since > self.seq {
            return Err(TooOld { latest: self.seq });
        }
        if since == self.seq {
            return Ok(Vec::new());
        }
        // Everything after `since` must still be here: since + 1 must not predate the backlog
        // (ephemeral events are never kept, so gaps in seq are normal).
        let oldest_kept = self.backlog.front().map_or(self.seq + 1, |e| e.seq);
        let oldest_available = if self.backlog.len() < self.capacity {
            self.first
        } else {
            oldest_kept
        };
        if since + 1 < oldest_available {
            return Err(TooOld { latest: self.seq });
        }
        let start = self.backlog.partition_point(|e| e.seq <= since);
        Ok(self
            .backlog
            .range(start..)
            .filter(|e| filter.matches(&e.audience))
            .cloned()
            .collect())
    }
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Publishers never wait on the hub; the bound keeps a stuck hub from eating memory.
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<Publish> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Self::Context) {
        let Some(body) = msg.body else {
            return;
        };
        let now = Instant::now();
        self.queue_wait
            .observe(now.saturating_duration_since(msg.queued_at).as_secs_f64());
        if let Some(log) = &self.log {
            // Cluster mode: numbered by the event log, and delivered (here too) when it comes
            // back from it, so every node delivers the same events in the same order.
            let envelope = Envelope {
                id: msg.id,
                audience: msg.audience,
                kind: msg.kind.to_owned(),
                ephemeral: msg.ephemeral,
                body,
                durable: msg.durable,
            };
            if let Err(e) = log.try_send(envelope) {
                tracing::error!(error = %e, kind = msg.kind, "the event log is not keeping up; an event was not published");
            }
            return;
        }
        self.seq += 1;
        self.deliver(self.seq, msg.audience, &body, msg.ephemeral, now);
    }
}

/// The event log's follower → Hub (cluster mode): an event any node published, numbered by
/// the log.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct FromLog(pub Logged);

impl Handler<FromLog> for Hub {
    type Result = ();

    fn handle(&mut self, FromLog(logged): FromLog, _: &mut Self::Context) {
        // The follower delivers in the log's order; anything at or below what was delivered
        // is a repeat (a re-created consumer).
        if logged.seq <= self.seq {
            return;
        }
        self.seq = logged.seq;
        let e = logged.envelope;
        self.deliver(logged.seq, e.audience, &e.body, e.ephemeral, Instant::now());
    }
}

impl Hub {
    /// Keeps (unless ephemeral) and fans out one numbered event.
    fn deliver(&mut self, seq: u64, audience: Audience, body: &str, ephemeral: bool, now: Instant) {
        self.published.inc();
        let event = Arc::new(HubEvent {
            seq,
            audience,
            json: numbered(seq, body).into(),
            at: now,
        });
        if !ephemeral {
            if self.backlog.len() == self.capacity {
                self.backlog.pop_front();
            }
            self.backlog.push_back(event.clone());
        }
        let mut gone = Vec::new();
        for (id, sub) in &self.subscribers {
            if !sub.filter.matches(&event.audience) {
                continue;
            }
            match sub.recipient.try_send(ToSession::Event(event.clone())) {
                Ok(()) => {}
                Err(SendError::Full(_)) => {
                    // Never drop an event silently: the session is told it lagged and resumes.
                    sub.recipient.do_send(ToSession::Lagged);
                    gone.push(*id);
                }
                Err(SendError::Closed(_)) => gone.push(*id),
            }
        }
        if !gone.is_empty() {
            for id in gone {
                self.subscribers.remove(&id);
            }
            self.count_open();
        }
    }
}

impl Handler<Subscribe> for Hub {
    type Result = MessageResult<Subscribe>;

    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) -> Self::Result {
        let replay = match msg.since {
            Some(since) => self.replay(since, &msg.filter),
            None => Ok(Vec::new()),
        };
        self.subscribers.insert(
            msg.session,
            Subscriber {
                filter: msg.filter,
                recipient: msg.recipient,
                owner: msg.owner,
            },
        );
        self.count_open();
        MessageResult(Subscribed {
            latest: self.seq,
            replay,
        })
    }
}

impl Handler<Unsubscribe> for Hub {
    type Result = ();
    fn handle(&mut self, msg: Unsubscribe, _: &mut Self::Context) {
        self.subscribers.remove(&msg.session);
        self.count_open();
    }
}

impl Handler<EventsSince> for Hub {
    type Result = Result<(Vec<Arc<HubEvent>>, u64), TooOld>;

    fn handle(&mut self, msg: EventsSince, _: &mut Self::Context) -> Self::Result {
        self.replay(msg.since, &Filter::Agent(msg.viewer))
            .map(|events| (events, self.seq))
    }
}

impl Handler<CloseSessions> for Hub {
    type Result = usize;

    fn handle(&mut self, msg: CloseSessions, _: &mut Self::Context) -> usize {
        let matches = |o: &Owner| match &msg.who {
            Revoke::Token(hash) => *o.token_hash == **hash,
            Revoke::Agent(agent) => o.agent == *agent,
            Revoke::OtherTokens { agent, keep } => o.agent == *agent && *o.token_hash != **keep,
        };
        let closed: Vec<u64> = self
            .subscribers
            .iter()
            .filter(|(_, s)| s.owner.as_ref().is_some_and(matches))
            .map(|(id, _)| *id)
            .collect();
        for id in &closed {
            if let Some(s) = self.subscribers.remove(id) {
                // A full mailbox still gets the news: the session is stopping either way.
                s.recipient.do_send(ToSession::Revoked(msg.reason));
            }
        }
        self.count_open();
        closed.len()
    }
}

impl Handler<GetStats> for Hub {
    type Result = HubStats;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> HubStats {
        let agents = self
            .subscribers
            .values()
            .filter(|s| s.owner.is_some())
            .count();
        HubStats {
            agents,
            visitors: self.subscribers.len() - agents,
        }
    }
}

impl Handler<CountSubscribers> for Hub {
    type Result = usize;
    fn handle(&mut self, _: CountSubscribers, _: &mut Self::Context) -> usize {
        self.subscribers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(hub: &mut Hub, audience: Audience, ephemeral: bool) {
        hub.seq += 1;
        let e = Arc::new(HubEvent {
            seq: hub.seq,
            audience,
            json: "{}".into(),
            at: Instant::now(),
        });
        if !ephemeral {
            if hub.backlog.len() == hub.capacity {
                hub.backlog.pop_front();
            }
            hub.backlog.push_back(e);
        }
    }

    /// The wire form is the event's fields after its `seq`, exactly as serde would write a
    /// struct with `seq` first and the event flattened into it.
    #[test]
    fn the_seq_comes_first_then_the_event_as_its_producer_encoded_it() {
        let id = ConversationId::new();
        let event = ServerEvent::ConversationDeleted {
            conversation_id: id,
        };
        let publish = Publish::new(event.clone(), Audience::Everyone);
        let json = numbered(42, publish.body.as_deref().unwrap_or_default());
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        let mut expected = serde_json::to_value(&event).expect("encodes");
        expected["seq"] = 42.into();
        assert_eq!(parsed, expected);
        assert!(json.starts_with(r#"{"seq":42,"#), "{json}");
        assert_eq!(numbered(7, "{}"), r#"{"seq":7}"#);
    }

    fn viewer(sees_all: bool) -> (Viewer, AgentId) {
        let agent = AgentId::new();
        (Viewer { agent, sees_all }, agent)
    }

    #[test]
    fn visibility_follows_the_assignee_and_who_lost_sight_is_told() {
        let (v, me) = viewer(false);
        let other = AgentId::new();
        let id = ConversationId::new();
        let conv = |assignee| Audience::Conversation { id, assignee };
        let lost = |before, after| Audience::LostSight { id, before, after };
        assert!(v.may_see(&Audience::Everyone));
        assert!(v.may_see(&conv(None)));
        assert!(v.may_see(&conv(Some(me))));
        assert!(!v.may_see(&conv(Some(other))));
        assert!(viewer(true).0.may_see(&conv(Some(other))));
        // Who could see it before and not after is told; nobody else.
        assert!(v.may_see(&lost(Some(me), Some(other))), "taken from me");
        assert!(v.may_see(&lost(None, Some(other))), "was unassigned");
        assert!(!v.may_see(&lost(None, Some(me))), "given to me");
        assert!(!v.may_see(&lost(Some(other), None)), "I gain sight");
        assert!(
            !viewer(true).0.may_see(&lost(None, Some(other))),
            "sees all"
        );
        assert!(!Filter::Conversation(id).matches(&lost(None, Some(other))));
    }

    #[test]
    fn replay_returns_what_follows_since_and_detects_gaps() {
        let mut hub = Hub::new(4);
        let first = hub.seq;
        let (v, _) = viewer(true);
        for _ in 0..3 {
            publish(&mut hub, Audience::Everyone, false);
        }
        assert_eq!(hub.replay(first, &Filter::Agent(v)).map(|e| e.len()), Ok(3));
        assert_eq!(
            hub.replay(first + 2, &Filter::Agent(v))
                .map(|e| e.iter().map(|e| e.seq).collect::<Vec<_>>()),
            Ok(vec![first + 3])
        );
        assert_eq!(
            hub.replay(hub.seq, &Filter::Agent(v)).map(|e| e.len()),
            Ok(0)
        );
        // A cursor ahead of the server was not given out by it: reload.
        assert_eq!(
            hub.replay(hub.seq + 1, &Filter::Agent(v)).map(|e| e.len()),
            Err(TooOld { latest: hub.seq })
        );
        // A client from before this process started must reload.
        assert!(hub.replay(first - 10, &Filter::Agent(v)).is_err());
        // Overflow the backlog: the oldest is gone, asking for it means reload.
        for _ in 0..3 {
            publish(&mut hub, Audience::Everyone, false);
        }
        assert!(hub.replay(first, &Filter::Agent(v)).is_err());
        assert_eq!(
            hub.replay(first + 2, &Filter::Agent(v)).map(|e| e.len()),
            Ok(4)
        );
    }

    #[test]
    fn ephemeral_events_are_not_replayed_but_leave_no_false_gap() {
        let mut hub = Hub::new(10);
        let first = hub.seq;
        let (v, _) = viewer(true);
        publish(&mut hub, Audience::Everyone, true);
        publish(&mut hub, Audience::Everyone, false);
        assert_eq!(
            hub.replay(first, &Filter::Agent(v))
                .map(|e| e.iter().map(|e| e.seq).collect::<Vec<_>>()),
            Ok(vec![first + 2])
        );
    }

    #[test]
    fn replay_filters_by_visibility() {
        let mut hub = Hub::new(10);
        let first = hub.seq;
        let (v, me) = viewer(false);
        let conv = |assignee| Audience::Conversation {
            id: ConversationId::new(),
            assignee,
        };
        publish(&mut hub, conv(Some(AgentId::new())), false);
        publish(&mut hub, conv(Some(me)), false);
        publish(&mut hub, conv(None), false);
        assert_eq!(hub.replay(first, &Filter::Agent(v)).map(|e| e.len()), Ok(2));
    }
}
