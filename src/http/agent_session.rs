//! AgentSession: one per agent websocket. Subscribes to the Hub with the agent's visibility,
//! replays what a reconnecting client missed, forwards live events, relays typing and viewing,
//! and drops the connection when the client stops answering pings or stops reading.
//!
//! The frames are defined once, in [`crate::protocol`]: events as the hub encoded them, the
//! session's own [`SessionFrame`]s (`hello` first; `resumed` after a replay; `reload` when the
//! requested `since` is too old or ahead of the latest; `pong`; `error`), and what the client
//! sends ([`AgentClientFrame`]: `resume`, `typing`, `viewing`, `ping`).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;
use actix_http::ws::{CloseCode, CloseReason, Frame, Message as WsMessage, ProtocolError};

use super::socket::{FrameWriter, Incoming};
use crate::actors::{
    hub::{
        Audience, Filter, Owner, Publish, Subscribe, Subscribed, ToSession, Unsubscribe, Viewer,
    },
    presence::{SessionClosed, SessionOpened, Viewing},
};
use crate::{
    app::AppContext,
    auth::CurrentAgent,
    db::queries,
    domain::ConversationId,
    protocol::{AgentClientFrame, ServerEvent, SessionFrame, TypingAuthor},
};

/// Live events waiting for this session; when full the Hub marks it lagged and it resyncs.
const MAILBOX: usize = 1024;
/// At most one typing event per conversation per this interval.
const TYPING_EVERY: Duration = Duration::from_millis(1000);

pub struct AgentSession {
    id: u64,
    app: Arc<AppContext>,
    me: CurrentAgent,
    viewer: Viewer,
    writer: FrameWriter,
    /// Highest `seq` sent to the client: nothing at or below it is sent again.
    last_seq: u64,
    /// Every event after this `seq` that the viewer may see has been sent on this socket
    /// (`u64::MAX`: nothing yet), so a second resume replays only what is older.
    covered_from: u64,
    initial_since: Option<u64>,
    last_heard: Instant,
    last_typing: HashMap<ConversationId, Instant>,
    /// Why the server closes the socket (sent in the close frame); `None`: going away.
    closing: Option<(CloseCode, &'static str)>,
}

impl AgentSession {
    pub fn new(
        app: Arc<AppContext>,
        me: CurrentAgent,
        viewer: Viewer,
        writer: FrameWriter,
        since: Option<u64>,
    ) -> Self {
        AgentSession {
            id: crate::actors::hub::next_session_id(),
            app,
            me,
            viewer,
            writer,
            last_seq: 0,
            covered_from: u64::MAX,
            initial_since: since,
            last_heard: Instant::now(),
            last_typing: HashMap::new(),
            closing: None,
        }
    }

    /// Closes the socket because the access it was opened with is gone.
    fn revoked(&mut self, reason: &'static str, ctx: &mut Context<Self>) {
        tracing::info!(agent = %self.me.id, session = self.id, reason, "closing an agent websocket: access revoked");
        self.closing = Some((CloseCode::Policy, reason));
        ctx.stop();
    }

    /// Checks that the token this socket was opened with still stands, and still for the
    /// same role: a token revoked or expired elsewhere (another node, the command line, an
    /// expiry) closes the socket within one interval, a changed role makes the client
    /// reconnect with its new visibility.
    fn recheck_token(&mut self, ctx: &mut Context<Self>) {
        let store = self.app.store.clone();
        let hash = self.me.token_hash.clone();
        let now = crate::clock::now();
        let fut = async move {
            store
                .read(move |c| queries::agent_by_token(c, &hash, now))
                .await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(None) => act.revoked("token revoked or expired", ctx),
            Ok(Some(row)) if row.role != act.me.role => act.revoked("role changed", ctx),
            // A failed read proves nothing: check again next time.
            Ok(Some(_)) | Err(_) => {}
        }));
    }

    /// Sends one of the socket's own frames.
    fn send_frame(&mut self, frame: &SessionFrame<'_>, ctx: &mut Context<Self>) {
        match serde_json::to_string(frame) {
            Ok(text) => self.send_text(&text, ctx),
            Err(e) => tracing::error!(error = %e, "cannot encode a session frame"),
        }
    }

    /// Sends a frame, or disconnects a client that is not keeping up.
    fn send_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        if !self.writer.text(text) {
            tracing::info!(agent = %self.me.id, session = self.id, "agent websocket not reading; disconnecting");
            ctx.stop();
        }
    }

    /// (Re)subscribes, replaying from `since`. Holds the mailbox until the replay is sent, so
    /// live events queued meanwhile follow it in order (duplicates are skipped by `seq`).
    fn subscribe(&mut self, since: Option<u64>, greet: bool, ctx: &mut Context<Self>) {
        let msg = Subscribe {
            session: self.id,
            filter: Filter::Agent(self.viewer),
            recipient: ctx.address().recipient(),
            since,
            owner: Some(Owner {
                agent: self.me.id,
                token_hash: self.me.token_hash.as_str().into(),
            }),
        };
        let fut = self.app.hub.send(msg);
        ctx.wait(fut.into_actor(self).map(move |res, act, ctx| {
            let Ok(Subscribed { latest, replay }) = res else {
                ctx.stop();
                return;
            };
            if greet {
                let me = act.me.clone();
                let hello = SessionFrame::Hello {
                    latest,
                    agent: &me,
                    sees_all: act.viewer.sees_all,
                };
                act.send_frame(&hello, ctx);
            }
            match (since, replay) {
                (None, _) => {
                    act.last_seq = latest;
                    act.covered_from = act.covered_from.min(latest);
                }
                (Some(since), Ok(events)) => {
                    // What this socket already carried is not sent again: a second resume
                    // on the same socket replays only what it has not had.
                    let (covered, sent) = (act.covered_from, act.last_seq);
                    for e in events
                        .iter()
                        .filter(|e| e.seq > since && (e.seq <= covered || e.seq > sent))
                    {
                        act.last_seq = act.last_seq.max(e.seq);
                        act.send_text(&e.json, ctx);
                    }
                    act.covered_from = covered.min(since);
                    act.last_seq = act.last_seq.max(latest);
                    act.send_frame(&SessionFrame::Resumed { latest }, ctx);
                }
                (Some(since), Err(too_old)) => match act.app.cluster.clone() {
                    // The hub of this node does not reach back that far (or not yet that
                    // far: the client comes from a node ahead of it): the cluster's log may.
                    Some(cluster) => act.resume_from_log(cluster, since, too_old.latest, ctx),
                    None => act.reload(too_old.latest, ctx),
                },
            }
        }));
    }

    /// Tells the client to reload: what it missed cannot be replayed.
    fn reload(&mut self, latest: u64, ctx: &mut Context<Self>) {
        self.last_seq = self.last_seq.max(latest);
        self.send_frame(&SessionFrame::Reload { latest }, ctx);
    }

    /// Cluster mode: replays from the cluster's event log what the client missed, when the
    /// hub could not. Holds the mailbox meanwhile; live events already sent by the replay are
    /// skipped by `seq` afterwards.
    fn resume_from_log(
        &mut self,
        cluster: Arc<crate::cluster::node::ClusterNode>,
        since: u64,
        hub_latest: u64,
        ctx: &mut Context<Self>,
    ) {
        let fut = async move { cluster.events.since(since).await };
        ctx.wait(fut.into_actor(self).map(move |res, act, ctx| {
            let events = match res {
                Ok(Ok(events)) => events,
                Ok(Err(too_old)) => return act.reload(too_old.latest.max(hub_latest), ctx),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot replay from the event log; the client reloads");
                    return act.reload(hub_latest, ctx);
                }
            };
            let (covered, sent) = (act.covered_from, act.last_seq);
            let mut latest = hub_latest;
            for e in events {
                latest = latest.max(e.seq);
                if e.seq <= since || (e.seq > covered && e.seq <= sent) {
                    continue;
                }
                if let Some(json) = e.replayed_to(&act.viewer) {
                    act.last_seq = act.last_seq.max(e.seq);
                    act.send_text(&json, ctx);
                }
            }
            act.covered_from = covered.min(since);
            act.last_seq = act.last_seq.max(latest);
            act.send_frame(&SessionFrame::Resumed { latest }, ctx);
        }));
    }

    fn on_client_frame(&mut self, text: &str, ctx: &mut Context<Self>) {
        let frame: AgentClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                // The client's mistake: logged at debug, told to the client.
                tracing::debug!(error = %e, "bad frame from an agent client");
                let err = SessionFrame::Error {
                    error: "bad_frame",
                    message: e.to_string(),
                };
                self.send_frame(&err, ctx);
                return;
            }
        };
        match frame {
            AgentClientFrame::Resume { since } => self.subscribe(Some(since), false, ctx),
            AgentClientFrame::Ping => self.send_frame(&SessionFrame::Pong, ctx),
            AgentClientFrame::Typing { conversation_id } => {
                let now = Instant::now();
                if self
                    .last_typing
                    .get(&conversation_id)
                    .is_some_and(|t| now.duration_since(*t) < TYPING_EVERY)
                {
                    return;
                }
                self.last_typing.insert(conversation_id, now);
                self.with_audience(conversation_id, ctx, move |act, audience| {
                    let event = ServerEvent::Typing {
                        conversation_id,
                        author: TypingAuthor::Agent,
                        agent_id: Some(act.me.id),
                        name: act.me.name.clone(),
                        active: true,
                    };
                    act.app.hub.do_send(Publish::new(event, audience));
                });
            }
            AgentClientFrame::Viewing {
                conversation_id: None,
            } => self.app.presence.do_send(Viewing {
                session: self.id,
                conversation: None,
                audience: Audience::Everyone,
            }),
            AgentClientFrame::Viewing {
                conversation_id: Some(id),
            } => self.with_audience(id, ctx, move |act, audience| {
                act.app.presence.do_send(Viewing {
                    session: act.id,
                    conversation: Some(id),
                    audience,
                });
            }),
        }
    }

    /// Runs `f` with the audience of a conversation this agent may see; ignores others.
    fn with_audience(
        &mut self,
        id: ConversationId,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut Self, Audience) + 'static,
    ) {
        let store = self.app.store.clone();
        let fut = async move { store.read(move |c| queries::conversation(c, id)).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, _| {
            let Ok(Some(row)) = res else { return };
            let assignee = row.assignee_id;
            if act.viewer.may_see_assignee(assignee) {
                f(act, Audience::Conversation { id, assignee });
            }
        }));
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        let timeout = Duration::from_secs(self.app.settings.realtime.client_timeout_secs);
        if self.last_heard.elapsed() > timeout {
            tracing::info!(agent = %self.me.id, session = self.id, "agent websocket timed out");
            ctx.stop();
            return;
        }
        if !self.writer.send(WsMessage::Ping(Default::default())) {
            ctx.stop();
        }
    }
}

impl Actor for AgentSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX);
        self.app.presence.do_send(SessionOpened {
            session: self.id,
            agent: self.me.id,
            role: self.me.role,
        });
        self.subscribe(self.initial_since, true, ctx);
        let every = Duration::from_secs(self.app.settings.realtime.heartbeat_secs);
        ctx.run_interval(every, |act, ctx| act.heartbeat(ctx));
        let recheck = Duration::from_secs(self.app.settings.realtime.token_recheck_secs);
        ctx.run_interval(recheck, |act, ctx| act.recheck_token(ctx));
        let stopping = super::socket::server_stopping(&self.app);
        ctx.spawn(stopping.into_actor(self).map(|(), act, ctx| {
            act.closing = Some((CloseCode::Restart, "server restarting"));
            ctx.stop();
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let reason = match self.closing {
            Some((code, why)) => CloseReason {
                code,
                description: Some(why.to_owned()),
            },
            None => CloseReason::from(CloseCode::Away),
        };
        let _ = self.writer.send(WsMessage::Close(Some(reason)));
        self.app.hub.do_send(Unsubscribe { session: self.id });
        self.app
            .presence
            .do_send(SessionClosed { session: self.id });
    }
}

impl Handler<ToSession> for AgentSession {
    type Result = ();

    fn handle(&mut self, msg: ToSession, ctx: &mut Self::Context) {
        match msg {
            ToSession::Event(e) => {
                self.app
                    .metrics
                    .stages
                    .agent_session
                    .observe(e.at.elapsed().as_secs_f64());
                if e.seq > self.last_seq {
                    self.last_seq = e.seq;
                    self.send_text(&e.json, ctx);
                }
            }
            // The hub dropped us for a full mailbox: catch up from what the client has.
            ToSession::Lagged => self.subscribe(Some(self.last_seq), false, ctx),
            ToSession::Revoked(reason) => self.revoked(reason, ctx),
        }
    }
}

impl StreamHandler<Incoming> for AgentSession {
    fn handle(&mut self, frame: Incoming, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match frame {
            Ok(Frame::Text(bytes)) => match std::str::from_utf8(&bytes) {
                Ok(text) => self.on_client_frame(text, ctx),
                Err(_) => ctx.stop(),
            },
            Ok(Frame::Ping(p)) => {
                if !self.writer.send(WsMessage::Pong(p)) {
                    ctx.stop();
                }
            }
            Ok(Frame::Pong(_)) | Ok(Frame::Continuation(_)) => {}
            Ok(Frame::Binary(_)) => {
                let err = SessionFrame::Error {
                    error: "bad_frame",
                    message: "binary frames are not accepted".to_owned(),
                };
                self.send_frame(&err, ctx);
            }
            Err(ProtocolError::Overflow) => {
                self.send_frame(&super::socket::frame_too_large(), ctx);
                self.closing = Some((CloseCode::Size, "frame too large"));
                ctx.stop();
            }
            Ok(Frame::Close(_)) | Err(_) => ctx.stop(),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
