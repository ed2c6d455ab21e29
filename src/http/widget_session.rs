//! WidgetSession: one per visitor websocket of the website widget. It receives the events of
//! the visitor's own conversation, forwards only what a customer may see (their messages, the
//! assistant's and agents' replies — never private notes or internal events), tells the visitor
//! when an agent joins or leaves, and turns the visitor's messages into inbound messages.
//!
//! The conversation is created by the visitor's first message; the session subscribes to it
//! *before* delivering that message, so not even the first answer can be missed.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;
use actix_http::ws::{CloseCode, CloseReason, Frame, Message as WsMessage, ProtocolError};
use uuid::Uuid;

use super::socket::{FrameWriter, Incoming};
use crate::actors::hub::{
    next_session_id, Audience, Filter, Publish, Subscribe, ToSession, Unsubscribe,
};
use crate::{
    app::AppState,
    clock,
    cluster::forward::{deliver_visitor, VisitorText},
    db::queries::{self, ContactInput},
    domain::profile::WebProfile,
    domain::referral::{Referral, WidgetAttribution},
    domain::{
        text,
        types::{Author, ChannelKind, Status},
        AgentId, ConversationId,
    },
    error::AppResult,
    inbox::Inbox,
    metrics::InboundResult,
    protocol::{ServerEvent, TypingAuthor, VisitorClientFrame, VisitorFrame, VisitorMessage},
    providers::{api::MAX_TEXT_CHARS, widget},
};

/// What a visitor's session reads of an event (`ServerEvent`'s JSON): the messages and the
/// changes of who answers. Everything else, and every other field, is ignored.
#[derive(serde::Deserialize)]
#[serde(tag = "type")]
enum VisitorSight {
    #[serde(rename = "message.created")]
    MessageCreated { message: SeenMessage },
    #[serde(rename = "conversation.updated")]
    ConversationUpdated { conversation: SeenConversation },
    #[serde(rename = "conversation.deleted")]
    ConversationDeleted,
    #[serde(other)]
    Other,
}

/// The fields of a [`MessageView`](crate::views::MessageView) a visitor's session uses.
#[derive(serde::Deserialize)]
struct SeenMessage {
    id: crate::domain::MessageId,
    author: Author,
    agent_id: Option<AgentId>,
    text: String,
    private: bool,
    sent_at: chrono::NaiveDateTime,
    payload: Option<serde_json::Value>,
}

/// The fields of a [`ConversationView`](crate::views::ConversationView) a visitor's session uses.
#[derive(serde::Deserialize)]
struct SeenConversation {
    status: Status,
    assignee_id: Option<AgentId>,
}

/// A visitor may send this many messages per `RATE_WINDOW`.
const RATE_LIMIT: usize = 10;
const RATE_WINDOW: Duration = Duration::from_secs(10);
const MAILBOX: usize = 256;
/// At most one "is typing" relayed to agents per this interval (the widget sends one every
/// 2 seconds while the visitor types); the rest are dropped before any work.
const TYPING_EVERY: Duration = Duration::from_secs(1);

pub struct WidgetSession {
    id: u64,
    state: actix_web::web::Data<AppState>,
    inbox: Arc<Inbox>,
    visitor: Uuid,
    conversation: Option<ConversationId>,
    /// The assignee while a person handles the conversation (to announce joins and leaves).
    agent_present: Option<AgentId>,
    /// The client sent a frame over the limit: the close says so (1009).
    too_large: bool,
    /// The server is stopping: the close says 1012 (service restart), so the widget
    /// reconnects.
    restarting: bool,
    writer: FrameWriter,
    last_heard: Instant,
    recent: VecDeque<Instant>,
    /// When an "is typing" was last relayed to agents.
    last_typing: Option<Instant>,
    /// Agents were told the visitor is typing, and not yet that they stopped or sent: a stop
    /// is relayed only then (so stops cannot flood either).
    typing_shown: bool,
    /// What the browser told of the visitor, stored on the contact when it is created.
    web: WebProfile,
}

impl WidgetSession {
    pub fn new(
        state: actix_web::web::Data<AppState>,
        inbox: Arc<Inbox>,
        visitor: Uuid,
        writer: FrameWriter,
        web: WebProfile,
    ) -> Self {
        WidgetSession {
            id: next_session_id(),
            state,
            inbox,
            visitor,
            conversation: None,
            agent_present: None,
            too_large: false,
            restarting: false,
            writer,
            last_heard: Instant::now(),
            recent: VecDeque::new(),
            last_typing: None,
            typing_shown: false,
            web,
        }
    }

    fn send(&mut self, frame: &VisitorFrame, ctx: &mut Context<Self>) {
        let sent = match serde_json::to_string(frame) {
            Ok(text) => self.writer.text(&text),
            Err(e) => {
                tracing::error!(error = %e, "widget: cannot encode a frame");
                true
            }
        };
        if !sent {
            ctx.stop();
        }
    }

    fn error(&mut self, error: &'static str, message: &str, ctx: &mut Context<Self>) {
        let frame = VisitorFrame::Error {
            error,
            message: message.to_owned(),
        };
        self.send(&frame, ctx);
    }

    /// Subscribes to the conversation's events; holds the mailbox until the hub answered.
    fn subscribe(&mut self, id: ConversationId, ctx: &mut Context<Self>) {
        self.conversation = Some(id);
        let msg = Subscribe {
            session: self.id,
            filter: Filter::Conversation(id),
            recipient: ctx.address().recipient(),
            since: None,
            owner: None,
        };
        ctx.wait(
            self.state
                .app
                .hub
                .send(msg)
                .into_actor(self)
                .map(|res, _, ctx| {
                    if res.is_err() {
                        ctx.stop();
                    }
                }),
        );
    }

    /// Forwards what the customer may see of one event, read from its JSON (the same bytes
    /// every session gets, whichever node produced the event).
    fn on_event(&mut self, json: &str, ctx: &mut Context<Self>) {
        let sight = match serde_json::from_str::<VisitorSight>(json) {
            Ok(sight) => sight,
            Err(e) => {
                return tracing::error!(error = %e, "an event a visitor's session cannot read")
            }
        };
        match sight {
            VisitorSight::MessageCreated { message: m } => {
                // "Sam joined" comes before Sam's first words, whichever event told first.
                if let (Author::Agent, Some(agent)) = (m.author, m.agent_id) {
                    if self.agent_present != Some(agent) {
                        self.announce_agent(agent, ctx);
                    }
                }
                let public = !m.private
                    && matches!(
                        m.author,
                        Author::Customer | Author::Assistant | Author::Agent
                    );
                if public {
                    let message = VisitorMessage {
                        id: m.id,
                        author: m.author,
                        payload: widget::visitor_payload(m.payload.as_ref()),
                        text: m.text,
                        sent_at: m.sent_at,
                    };
                    self.send(&VisitorFrame::Message { message }, ctx);
                }
            }
            VisitorSight::ConversationUpdated { conversation: c } => {
                let human = c.status == Status::Human;
                match (self.agent_present, human, c.assignee_id) {
                    (None, true, Some(agent)) => self.announce_agent(agent, ctx),
                    (Some(present), true, Some(agent)) if present != agent => {
                        self.announce_agent(agent, ctx)
                    }
                    (Some(_), false, _) => {
                        self.agent_present = None;
                        self.send(&VisitorFrame::AgentLeft, ctx);
                    }
                    _ => {}
                }
            }
            VisitorSight::ConversationDeleted => ctx.stop(),
            VisitorSight::Other => {}
        }
    }

    /// Tells the visitor who is answering now. Synchronous (names are kept in memory), so it
    /// goes out before anything that follows it.
    fn announce_agent(&mut self, agent: AgentId, ctx: &mut Context<Self>) {
        let name = self
            .state
            .app
            .agent_names
            .get(agent)
            .unwrap_or_else(|| "An agent".to_owned());
        self.agent_present = Some(agent);
        self.send(&VisitorFrame::AgentJoined { name }, ctx);
    }

    fn rate_limited(&mut self) -> bool {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= RATE_LIMIT {
            return true;
        }
        self.recent.push_back(now);
        false
    }

    /// Tells the agents who may see the conversation that the visitor is typing (or stopped):
    /// throttled, never stored. Before the first message there is no conversation, so
    /// nobody to tell.
    fn on_typing(&mut self, active: bool, ctx: &mut Context<Self>) {
        let Some(id) = self.conversation else { return };
        let now = Instant::now();
        if active {
            if self
                .last_typing
                .is_some_and(|t| now.duration_since(t) < TYPING_EVERY)
            {
                return;
            }
            self.last_typing = Some(now);
            self.typing_shown = true;
        } else if std::mem::take(&mut self.typing_shown) {
            // A new start may follow the stop at once.
            self.last_typing = None;
        } else {
            return;
        }
        // Who may see it (the assignee as stored now) and the name agents know the visitor by.
        let store = self.state.app.store.clone();
        let find = async move {
            store
                .read(move |c| {
                    let Some(row) = queries::conversation(c, id)? else {
                        return Ok(None);
                    };
                    let name = queries::contact(c, row.contact_id)?.map(|c| {
                        c.name.unwrap_or_else(|| {
                            let tail = c.external_id.len().saturating_sub(6);
                            format!("Visitor {}", c.external_id.get(tail..).unwrap_or_default())
                        })
                    });
                    Ok(Some((row.assignee_id, name.unwrap_or_default())))
                })
                .await
        };
        // Waited for, so a start and its stop reach agents in order.
        ctx.wait(find.into_actor(self).map(move |res: AppResult<_>, act, _| {
            let (assignee, name) = match res {
                Ok(Some(found)) => found,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!(error = %e, "widget: typing not relayed");
                    return;
                }
            };
            let event = ServerEvent::Typing {
                conversation_id: id,
                author: TypingAuthor::Customer,
                agent_id: None,
                name,
                active,
            };
            let audience = Audience::Conversation { id, assignee };
            act.state.app.hub.do_send(Publish::new(event, audience));
        }));
    }

    fn on_message(
        &mut self,
        text: String,
        client_id: String,
        attribution: Option<WidgetAttribution>,
        ctx: &mut Context<Self>,
    ) {
        // What a visitor typed is cleaned, never refused, for invisible characters.
        let text = text::trim_visible(&text::clean(&text)).to_owned();
        if text::is_blank(&text) || text.chars().count() > MAX_TEXT_CHARS {
            return self.error(
                "validation_failed",
                "a message must be 1-4096 characters",
                ctx,
            );
        }
        if client_id.is_empty() || client_id.len() > 128 || text::has_nul(&client_id) {
            return self.error("validation_failed", "client_id must be 1-128 bytes", ctx);
        }
        if self.rate_limited() {
            return self.error("rate_limited", "too many messages; wait a few seconds", ctx);
        }
        // The message itself tells agents the typing is over (their indicator clears on it).
        self.typing_shown = false;
        self.last_typing = None;
        // Create the conversation first (and subscribe), then deliver: the visitor's message
        // and every answer to it arrive on this socket.
        if self.conversation.is_none() {
            let store = self.state.app.store.clone();
            let inbox_id = self.inbox.id.clone();
            let contact = ContactInput {
                external_id: widget::contact_external_id(self.visitor),
                name: None,
                phone: None,
                email: None,
            };
            let now = clock::now();
            let web = self.web.clone();
            let resolve = async move {
                store
                    .write(move |c| {
                        let (id, created) =
                            queries::resolve_conversation(c, &inbox_id, &contact, None, now)?;
                        if created {
                            if let Some(row) = queries::conversation(c, id)? {
                                queries::detect_web_profile(c, row.contact_id, &web)?;
                            }
                        }
                        Ok((id, created))
                    })
                    .await
            };
            ctx.wait(
                resolve
                    .into_actor(self)
                    .map(move |res, act, ctx| match res {
                        Ok((id, created)) => {
                            act.subscribe(id, ctx);
                            // A conversation that starts from a campaign or another site
                            // says so (a `widget_utm` referral, stored with this message).
                            let referral =
                                attribution.filter(|_| created).and_then(|a| a.referral());
                            act.deliver(id, text, client_id, referral, ctx);
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "widget: cannot create the conversation");
                            act.error("unavailable", "please try again", ctx);
                        }
                    }),
            );
        } else if let Some(id) = self.conversation {
            self.deliver(id, text, client_id, None, ctx);
        }
    }

    fn deliver(
        &mut self,
        id: ConversationId,
        text: String,
        client_id: String,
        referral: Option<Referral>,
        ctx: &mut Context<Self>,
    ) {
        let registry = self.state.registry.clone();
        let metrics = self.state.app.metrics.clone();
        let cluster = self.state.app.cluster.clone();
        let message = VisitorText {
            conversation: id,
            // Unique per visitor and send: a resent frame is one message.
            external_id: Some(format!("{}:{client_id}", self.visitor.simple())),
            text,
            sent_at: clock::now(),
            referral,
        };
        ctx.wait(
            async move {
                let forwarder = cluster.as_ref().map(|c| &c.forwarder);
                let res = deliver_visitor(&registry, forwarder, message).await;
                let result = InboundResult::of(&res.as_ref().map(|a| a.duplicate));
                metrics.inbound(ChannelKind::Widget.as_str(), result);
                res
            }
            .into_actor(self)
            .map(move |res, act, ctx| match res {
                Ok(accepted) => {
                    let ack = VisitorFrame::Ack {
                        client_id,
                        message_id: accepted.message_id,
                    };
                    act.send(&ack, ctx)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "widget: message not delivered");
                    act.error(
                        "unavailable",
                        "your message could not be delivered; please retry",
                        ctx,
                    );
                }
            }),
        );
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        let timeout = Duration::from_secs(self.state.app.settings.realtime.client_timeout_secs);
        if self.last_heard.elapsed() > timeout
            || !self.writer.send(WsMessage::Ping(Default::default()))
        {
            ctx.stop();
        }
    }
}

impl Actor for WidgetSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX);
        let store = self.state.app.store.clone();
        let inbox_id = self.inbox.id.clone();
        let external = widget::contact_external_id(self.visitor);
        let find = async move {
            store
                .read(move |c| queries::conversation_of_contact(c, &inbox_id, &external))
                .await
        };
        ctx.wait(find.into_actor(self).map(|res: AppResult<_>, act, ctx| {
            let conversation = match res {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(error = %e, "widget: cannot load the visitor's conversation");
                    ctx.stop();
                    return;
                }
            };
            if let Some(row) = &conversation {
                act.subscribe(row.id, ctx);
                if row.status == Status::Human {
                    act.agent_present = row.assignee_id;
                }
            }
            let hello = VisitorFrame::Hello {
                conversation_id: conversation.as_ref().map(|r| r.id),
            };
            act.send(&hello, ctx);
        }));
        let every = Duration::from_secs(self.state.app.settings.realtime.heartbeat_secs);
        ctx.run_interval(every, |act, ctx| act.heartbeat(ctx));
        let stopping = super::socket::server_stopping(&self.state.app);
        ctx.spawn(stopping.into_actor(self).map(|(), act, ctx| {
            act.restarting = true;
            ctx.stop();
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let code = match (self.too_large, self.restarting) {
            (true, _) => CloseCode::Size,
            (false, true) => CloseCode::Restart,
            (false, false) => CloseCode::Away,
        };
        let _ = self
            .writer
            .send(WsMessage::Close(Some(CloseReason::from(code))));
        self.state.app.hub.do_send(Unsubscribe { session: self.id });
    }
}

impl Handler<ToSession> for WidgetSession {
    type Result = ();

    fn handle(&mut self, msg: ToSession, ctx: &mut Self::Context) {
        match msg {
            ToSession::Event(e) => self.on_event(&e.json, ctx),
            // Missed events: the widget reloads its history on reconnect.
            ToSession::Lagged | ToSession::Revoked(_) => ctx.stop(),
        }
    }
}

impl StreamHandler<Incoming> for WidgetSession {
    fn handle(&mut self, frame: Incoming, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match frame {
            Ok(Frame::Text(bytes)) => match serde_json::from_slice::<VisitorClientFrame>(&bytes) {
                Ok(VisitorClientFrame::Message {
                    text,
                    client_id,
                    attribution,
                }) => self.on_message(text, client_id, attribution, ctx),
                Ok(VisitorClientFrame::Typing { active }) => self.on_typing(active, ctx),
                Ok(VisitorClientFrame::Ping) => self.send(&VisitorFrame::Pong, ctx),
                Err(e) => self.error("bad_frame", &e.to_string(), ctx),
            },
            Ok(Frame::Ping(p)) => {
                if !self.writer.send(WsMessage::Pong(p)) {
                    ctx.stop();
                }
            }
            Ok(Frame::Pong(_)) | Ok(Frame::Continuation(_)) => {}
            Ok(Frame::Binary(_)) => self.error("bad_frame", "binary frames are not accepted", ctx),
            Err(ProtocolError::Overflow) => {
                self.send(&super::socket::visitor_frame_too_large(), ctx);
                self.too_large = true;
                ctx.stop();
            }
            Ok(Frame::Close(_)) | Err(_) => ctx.stop(),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// Starts a visitor's session on its websocket.
pub fn start(
    session: WidgetSession,
    incoming: impl futures_util::Stream<Item = Incoming> + 'static,
) {
    WidgetSession::create(move |ctx| {
        ctx.add_stream(incoming);
        session
    });
}
