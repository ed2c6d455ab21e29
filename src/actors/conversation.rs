//! ConversationActor: the single writer of one conversation.
//!
//! Every change (customer message, assistant answer, agent reply, status change, delivery
//! report, timer) is a message to this actor. A handler runs the pure state machine, hands the
//! resulting rows to the group-commit writer, and only once they are committed updates its
//! in-memory state, pushes events and carries out the effects (ask the assistant, arm timers).
//! Handlers that write are `AtomicResponse`s, so the actor handles one change at a time even
//! though the disk work happens elsewhere.
//!
//! The assistant is asked without blocking the mailbox, so an agent can take over while it
//! thinks; its answer comes back as a message and is checked against the status again before
//! it is stored: a takeover during a slow reply wins.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;
use chrono::NaiveDateTime;
use serde_json::json;

use super::{
    badge::Recount,
    hub::{Audience, Publish},
    messages::{
        ActorIdle, ApplyEvent, ApplyWatermark, AssistantAnswered, AssistantFailed, ContactChanged,
        DeleteConversation, DeliverInbound, FollowUpFired, InboundAccepted, InjectPanic,
        MediaDownload, MediaFailed, MediaStored, RecordEcho, ReportDelivery, ResumeUnanswered,
        SendAgentReply, SendAttachment, SendTemplate, SetTags, WindowClosed,
    },
    presence::PickAgent,
    registry::ConversationRegistry,
};
use crate::{
    app::AppContext,
    assistant::AssistantRequest,
    channels::{normalized::Network, sms},
    clock,
    db::{
        models::{
            preview, AuditRow, ContactRow, ConversationChanges, ConversationRow, MediaSource,
            MessageRow, OutboxRow,
        },
        queries, DbConnection,
    },
    domain::{
        conversation::{
            believable_time, transition, By, ConversationState, Effect, Event, Policy,
            TransitionError,
        },
        delivery::DeliveryStatus,
        types::{Author, Direction, MessageKind, Status},
        AgentId, ConversationId, MessageId,
    },
    error::{AppError, AppResult},
    inbox::Inbox,
    protocol::{HiddenReason, ServerEvent},
    views::{ConversationView, MessageView},
};

/// How often an actor asks itself whether it has been idle long enough to stop.
const IDLE_CHECK: Duration = Duration::from_secs(5);

pub struct ConversationActor {
    id: ConversationId,
    app: Arc<AppContext>,
    registry: Addr<ConversationRegistry>,
    loaded: Option<Loaded>,
    /// Why loading failed; every message is answered with it until the actor stops.
    load_error: Option<AppError>,
    follow_up_timer: Option<SpawnHandle>,
    window_timer: Option<SpawnHandle>,
    last_active: Instant,
    assistant_in_flight: u32,
    span: tracing::Span,
}

struct Loaded {
    row: ConversationRow,
    contact: ContactRow,
    tags: Vec<String>,
    state: ConversationState,
    inbox: Arc<Inbox>,
}

impl Loaded {
    /// The rules of this conversation: its inbox's, for its network.
    fn policy(&self) -> &Policy {
        self.inbox.policy_for(self.row.network)
    }
}

/// The rows one change writes, besides the conversation row itself.
struct Plan {
    state: ConversationState,
    effects: Vec<Effect>,
    /// The messages the change is about (customer, assistant or agent): usually one; a
    /// customer message with several parts stores one per part.
    messages: Vec<MessageRow>,
    /// Deliver the first message through the outbox.
    send: bool,
    dedupe: Dedupe,
    /// Replace the conversation's tags in the same transaction.
    tags: Option<Vec<String>>,
}

impl Plan {
    /// A change of state with no message.
    fn state_only(state: ConversationState, effects: Vec<Effect>) -> Plan {
        Plan {
            state,
            effects,
            messages: Vec::new(),
            send: false,
            dedupe: Dedupe::None,
            tags: None,
        }
    }

    /// An agent's message (reply, template, file): attributed, deduplicated on the client's
    /// id when it gave one, and sent when `send`.
    fn agent_message(
        state: ConversationState,
        effects: Vec<Effect>,
        mut message: MessageRow,
        send: bool,
        agent: AgentId,
        client_id: Option<String>,
    ) -> Plan {
        message.agent_id = Some(agent);
        message.client_id = client_id.clone();
        Plan {
            messages: vec![message],
            send,
            dedupe: client_id.map_or(Dedupe::None, Dedupe::Client),
            ..Plan::state_only(state, effects)
        }
    }
}

enum Dedupe {
    None,
    /// Provider message ids within the inbox: the first decides, all are returned.
    External(Vec<String>),
    /// An agent client's id within the conversation.
    Client(String),
    /// A Meta echo: known by its provider id, or one of our sends still in flight.
    Echo {
        external_id: String,
        text: String,
    },
}

/// What a commit wrote. Shared with the write job rather than moved into it: a job may run
/// twice (see [`crate::db::writer`]), so it only reads these.
struct Written {
    row: ConversationRow,
    messages: Vec<MessageRow>,
    tags: Option<Vec<String>>,
}

enum Committed {
    Written(Arc<Written>),
    /// Already stored: the stored messages, the first being the one deduplicated on.
    Duplicate(Vec<MessageRow>),
}

impl Committed {
    fn messages(&self) -> &[MessageRow] {
        match self {
            Committed::Written(w) => &w.messages,
            Committed::Duplicate(messages) => messages,
        }
    }

    /// The (first) message written or found.
    fn first_message(self) -> AppResult<MessageRow> {
        self.messages()
            .first()
            .cloned()
            .ok_or_else(|| AppError::internal("message not written"))
    }
}

impl ConversationActor {
    pub fn new(
        id: ConversationId,
        app: Arc<AppContext>,
        registry: Addr<ConversationRegistry>,
    ) -> Self {
        ConversationActor {
            id,
            app,
            registry,
            loaded: None,
            load_error: None,
            follow_up_timer: None,
            window_timer: None,
            last_active: Instant::now(),
            assistant_in_flight: 0,
            span: tracing::info_span!("conversation", conversation_id = %id),
        }
    }

    fn loaded(&self) -> AppResult<&Loaded> {
        match (&self.loaded, &self.load_error) {
            (Some(l), _) => Ok(l),
            (None, Some(AppError::NotFound(what))) => Err(AppError::NotFound(what)),
            (None, _) => Err(AppError::Unavailable(
                "conversation could not be loaded".to_owned(),
            )),
        }
    }

    fn on_loaded(
        &mut self,
        row: ConversationRow,
        contact: ContactRow,
        tags: Vec<String>,
        ctx: &mut Context<Self>,
    ) {
        let state = row.state();
        let inbox = self.app.inboxes.for_conversation(&row.inbox_id);
        if let Some(f) = &state.follow_up {
            self.arm_follow_up(f.at, ctx);
        }
        if let Some(closes) = state.window_closes_at(inbox.policy_for(row.network)) {
            self.arm_window(closes, ctx);
        }
        self.loaded = Some(Loaded {
            row,
            contact,
            tags,
            state,
            inbox,
        });
    }

    fn fail(&mut self, e: AppError, ctx: &mut Context<Self>) {
        if !matches!(e, AppError::NotFound(_)) {
            tracing::error!(parent: &self.span, error = %e, "cannot load conversation");
        }
        self.load_error = Some(e);
        self.leave_registry(ctx);
    }

    /// Removes this actor from the registry, then stops. Meanwhile the mailbox is held, so
    /// nothing is half-handled: queued messages fail to deliver and their senders retry
    /// against a fresh actor, which reads everything this one committed.
    fn leave_registry(&mut self, ctx: &mut Context<Self>) {
        let msg = ActorIdle {
            id: self.id,
            addr: ctx.address(),
        };
        ctx.wait(
            self.registry
                .send(msg)
                .into_actor(self)
                .map(|_, _, ctx| ctx.stop()),
        );
    }

    fn check_idle(&mut self, ctx: &mut Context<Self>) {
        let idle = Duration::from_secs(self.app.settings.conversations.idle_actor_secs);
        if self.loaded.is_none()
            || self.assistant_in_flight > 0
            || self.last_active.elapsed() < idle
        {
            return;
        }
        // A follow-up due before the registry's next scan keeps the actor (and its timer) alive.
        let horizon =
            chrono::Duration::seconds(2 * self.app.settings.conversations.timer_scan_secs as i64);
        let follow_up_soon = self
            .loaded
            .as_ref()
            .and_then(|l| l.state.follow_up.as_ref())
            .is_some_and(|f| f.at <= clock::now() + horizon);
        if !follow_up_soon {
            tracing::debug!(parent: &self.span, "idle; stopping");
            self.leave_registry(ctx);
        }
    }

    fn arm_follow_up(&mut self, at: NaiveDateTime, ctx: &mut Context<Self>) {
        if let Some(h) = self.follow_up_timer.take() {
            ctx.cancel_future(h);
        }
        let delay = until(at);
        self.follow_up_timer = Some(ctx.run_later(delay, |act, ctx| {
            act.follow_up_timer = None;
            ctx.notify(FollowUpFired);
        }));
    }

    fn arm_window(&mut self, closes: NaiveDateTime, ctx: &mut Context<Self>) {
        if let Some(h) = self.window_timer.take() {
            ctx.cancel_future(h);
        }
        if closes <= clock::now() {
            return;
        }
        self.window_timer = Some(ctx.run_later(until(closes), |act, ctx| {
            act.window_timer = None;
            ctx.notify(WindowClosed);
        }));
    }

    fn new_message(
        &self,
        l: &Loaded,
        direction: Direction,
        author: Author,
        text: String,
        at: NaiveDateTime,
    ) -> MessageRow {
        MessageRow {
            id: MessageId::new(),
            conversation_id: self.id,
            inbox_id: l.row.inbox_id.clone(),
            external_id: None,
            client_id: None,
            direction,
            author,
            agent_id: None,
            body: text,
            private_note: false,
            delivery_status: None,
            failure_reason: None,
            sent_at: at,
            created_at: clock::now(),
            kind: MessageKind::Text,
            media_source: None,
            media_path: None,
            media_mime: None,
            media_filename: None,
            payload: None,
            segments: None,
            provider_sent_at: None,
        }
    }

    /// An outbound message goes through the outbox when the inbox has somewhere to send it;
    /// otherwise it is only stored (an API inbox without callback is read through the API).
    fn outbound(
        &self,
        l: &Loaded,
        author: Author,
        text: String,
        now: NaiveDateTime,
    ) -> (MessageRow, bool) {
        let sms = l.row.network == Some(Network::Sms);
        let text = match sms && l.inbox.settings.smart_encoding() {
            // Look-alikes in GSM-7, so the reply is not billed as UCS-2; stored as sent.
            true => sms::smart_encode(&text).into_owned(),
            false => text,
        };
        let mut m = self.new_message(l, Direction::Outbound, author, text, now);
        let send = l.inbox.sends();
        if send {
            m.delivery_status = Some(DeliveryStatus::Queued);
        }
        if sms {
            // What the customer's phone receives, and what the carrier bills.
            m.segments = i32::try_from(sms::segments(&m.body).segments).ok();
        }
        (m, send)
    }

    /// Writes a plan in one group commit, then (and only then) applies it in memory, pushes the
    /// events and carries out the effects.
    fn commit(&mut self, plan: Plan) -> ResponseActFuture<Self, AppResult<Committed>> {
        self.last_active = Instant::now();
        let now = clock::now();
        let Some(l) = &self.loaded else {
            return Box::pin(fut::ready(Err(self
                .loaded()
                .err()
                .unwrap_or_else(|| AppError::internal("not loaded")))));
        };
        let mut row = l.row.clone();
        row.set_state(&plan.state, now);
        let mut messages = plan.messages;
        if let Some(m) = messages.first() {
            // The preview follows the latest customer/assistant/agent message: the one the
            // state machine made the latest (see `touch_last` there).
            let (before, after) = (&l.state, &plan.state);
            let latest = after.last_message_at == Some(m.sent_at)
                || after.last_message_at != before.last_message_at
                || after.last_message_author != before.last_message_author;
            if latest && !m.private_note && m.direction != Direction::Internal {
                let text: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
                row.last_message_preview = Some(preview(&text.join(" ")));
            }
        }
        let mut sends: Vec<&MessageRow> = Vec::new();
        if let (true, Some(m)) = (plan.send, messages.first()) {
            sends.push(m);
        }
        let mut extra = Vec::new();
        for fx in &plan.effects {
            match fx {
                Effect::SystemNote(note) => {
                    let names = &self.app.agent_names;
                    let text = note.text(&|id| names.get(id));
                    let mut m = self.new_message(l, Direction::Internal, Author::System, text, now);
                    m.payload = Some(note.payload().to_string());
                    extra.push((m, false));
                }
                Effect::AcknowledgeHandoff(text) => {
                    // Said on the business's behalf, in the same transaction as the handoff.
                    let (mut m, send) = self.outbound(l, Author::Assistant, text.clone(), now);
                    m.payload = Some(json!({ "automatic": "handoff_ack" }).to_string());
                    extra.push((m, send));
                }
                _ => {}
            }
        }
        sends.extend(extra.iter().filter(|(_, send)| *send).map(|(m, _)| m));
        let outbox: Vec<OutboxRow> = sends
            .into_iter()
            .map(|m| OutboxRow {
                message_id: m.id,
                conversation_id: m.conversation_id,
                inbox_id: m.inbox_id.clone(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
            })
            .collect();
        messages.extend(extra.into_iter().map(|(m, _)| m));
        let dedupe = plan.dedupe;
        let changes = ConversationChanges::between(&l.row, &row);
        let inbox_id = row.inbox_id.clone();
        let store = self.app.store.clone();
        let key = self.id.to_string();
        let written = Arc::new(Written {
            row,
            messages,
            tags: plan.tags,
        });
        let write = async move {
            // Every check comes before the first write, and a duplicate writes nothing: no
            // savepoint is needed.
            store
                .write_checked(&key, move |c| {
                    let Written {
                        row,
                        messages,
                        tags,
                    } = &*written;
                    let existing = match &dedupe {
                        Dedupe::None => Vec::new(),
                        // The unique index on provider ids is the check: no lookup first.
                        Dedupe::External(ids) => {
                            let parts = ids.len().min(messages.len());
                            if queries::insert_new_messages(c, &messages[..parts])? {
                                queries::insert_messages(c, &messages[parts..])?;
                                Vec::new()
                            } else {
                                queries::messages_by_external_ids(c, &inbox_id, ids)?
                            }
                        }
                        Dedupe::Client(client) => queries::message_by_client_id(c, row.id, client)?
                            .into_iter()
                            .collect(),
                        Dedupe::Echo { external_id, text } => {
                            match queries::message_by_external_id(c, &inbox_id, external_id)? {
                                Some(m) => vec![m],
                                None => queries::unrecorded_outbound_with_text(c, row.id, text)?
                                    .into_iter()
                                    .collect(),
                            }
                        }
                    };
                    if !existing.is_empty() {
                        return Ok(Committed::Duplicate(existing));
                    }
                    if !matches!(dedupe, Dedupe::External(_)) {
                        queries::insert_messages(c, messages)?;
                    }
                    queries::insert_outbox(c, &outbox)?;
                    queries::update_conversation(c, row.id, &changes)?;
                    if let Some(tags) = tags {
                        queries::set_tags(c, row.id, tags)?;
                    }
                    Ok(Committed::Written(written.clone()))
                })
                .await
        };
        let state = plan.state;
        let effects = plan.effects;
        Box::pin(write.into_actor(self).map(move |res, act, ctx| {
            if let Ok(Committed::Written(w)) = &res {
                act.applied(
                    w.row.clone(),
                    state,
                    &w.messages,
                    w.tags.clone(),
                    effects,
                    ctx,
                );
            }
            res
        }))
    }

    /// After a commit: adopt the new state, push events, carry out effects.
    fn applied(
        &mut self,
        row: ConversationRow,
        state: ConversationState,
        messages: &[MessageRow],
        tags: Option<Vec<String>>,
        effects: Vec<Effect>,
        ctx: &mut Context<Self>,
    ) {
        let Some(l) = self.loaded.as_mut() else {
            return;
        };
        let was_empty = l.row.last_message_at.is_none();
        let before = l.state.clone();
        l.row = row;
        l.state = state;
        if let Some(tags) = tags {
            l.tags = tags;
        }
        let audience = Audience::Conversation {
            id: self.id,
            assignee: l.state.assignee,
        };
        let reassigned = before.assignee != l.state.assignee;
        let badge_moved = before.needs_reply() != l.state.needs_reply()
            || (l.state.needs_reply()
                && (before.assignee != l.state.assignee || before.archived != l.state.archived));
        let conversation_id = self.id;
        for m in messages {
            self.publish(
                ServerEvent::MessageCreated {
                    conversation_id,
                    message: MessageView::from(m),
                },
                audience,
            );
        }
        let conversation = self.view();
        if let Some(c) = &conversation {
            let conversation = Box::new(c.clone());
            let event = match was_empty {
                true => ServerEvent::ConversationCreated {
                    conversation_id,
                    conversation,
                },
                false => ServerEvent::ConversationUpdated {
                    conversation_id,
                    conversation,
                },
            };
            self.publish(event, audience);
        }
        if reassigned {
            // Agents restricted by visibility who could see it before and no longer can are
            // told it is gone, and to whom it went.
            let to = self.loaded.as_ref().and_then(|l| l.state.assignee);
            self.publish(
                ServerEvent::ConversationHidden {
                    conversation_id,
                    reason: HiddenReason::Reassigned,
                    assignee_id: to,
                    assignee_name: to.and_then(|a| self.app.agent_names.get(a)),
                },
                Audience::LostSight {
                    id: self.id,
                    before: before.assignee,
                    after: to,
                },
            );
        }
        for fx in effects {
            match fx {
                Effect::RequestAssistantReply => {
                    // Only a customer message asks for an answer: answer that exact text.
                    if let Some(m) = messages.iter().find(|m| m.author == Author::Customer) {
                        self.ask_assistant(m.body.clone(), ctx);
                    }
                }
                Effect::HandoffRequested(reason) => {
                    if let Some(c) = &conversation {
                        let event = ServerEvent::HandoffRequested {
                            conversation_id,
                            reason,
                            conversation: Box::new(c.clone()),
                        };
                        self.publish(event, audience);
                    }
                    self.auto_assign(ctx);
                }
                Effect::ArmFollowUp(at) => self.arm_follow_up(at, ctx),
                Effect::CancelFollowUpTimer => {
                    if let Some(h) = self.follow_up_timer.take() {
                        ctx.cancel_future(h);
                    }
                }
                Effect::ArmWindow(at) => self.arm_window(at, ctx),
                Effect::SystemNote(_) | Effect::AcknowledgeHandoff(_) => {}
            }
        }
        if badge_moved {
            self.app.badge.do_send(Recount);
        }
        if messages.iter().any(|m| m.delivery_status.is_some()) {
            self.app.outbox_kick.notify_one();
        }
    }

    /// Round robin over online agents, when configured and nobody holds the conversation yet.
    fn auto_assign(&mut self, ctx: &mut Context<Self>) {
        let assignment = &self.app.settings.assignment;
        if !assignment.auto
            || self
                .loaded
                .as_ref()
                .is_none_or(|l| l.state.assignee.is_some())
        {
            return;
        }
        let pick = self.app.presence.send(PickAgent {
            capacity: assignment.capacity,
        });
        ctx.spawn(pick.into_actor(self).map(|res, _, ctx| {
            if let Ok(Some(agent)) = res {
                ctx.notify(AutoAssign(agent));
            }
        }));
    }

    fn audience(&self) -> Audience {
        Audience::Conversation {
            id: self.id,
            assignee: self.loaded.as_ref().and_then(|l| l.state.assignee),
        }
    }

    fn view(&self) -> Option<ConversationView> {
        self.loaded.as_ref().map(|l| {
            ConversationView::build(
                &l.row,
                &l.contact,
                &l.state,
                &l.tags,
                l.policy(),
                l.inbox.channel,
                clock::now(),
            )
        })
    }

    fn publish(&self, event: ServerEvent, audience: Audience) {
        self.app.hub.do_send(Publish { event, audience });
    }

    /// Tells the agents who may see it the conversation's current state.
    fn publish_updated(&self) {
        if let Some(c) = self.view() {
            let event = ServerEvent::ConversationUpdated {
                conversation_id: self.id,
                conversation: Box::new(c),
            };
            self.publish(event, self.audience());
        }
    }

    /// Asks the assistant without holding the mailbox: a takeover can arrive meanwhile.
    fn ask_assistant(&mut self, text: String, ctx: &mut Context<Self>) {
        let assistant = self.app.assistant.clone();
        let delay = Duration::from_millis(self.app.settings.assistant.reply_delay_ms);
        self.assistant_in_flight += 1;
        let fut = async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            assistant.reply(AssistantRequest { text }).await
        };
        // Stays counted (the actor stays up) until the answer is stored or a person has it.
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(reply) => ctx.notify(AssistantAnswered { reply, attempt: 1 }),
            Err(e) => {
                tracing::warn!(parent: &act.span, error = %e, "the assistant failed; handing the conversation to a person");
                ctx.notify(AssistantFailed { attempt: 1 });
            }
        }));
    }

    /// The assistant's work for one customer message is over (answered, or a person has it).
    fn assistant_done(&mut self) {
        self.assistant_in_flight = self.assistant_in_flight.saturating_sub(1);
    }

    /// Runs `event` through the state machine and commits the result with no message.
    fn apply_event(&mut self, event: &Event) -> AppResult<Plan> {
        let l = self.loaded()?;
        let (state, effects) = transition(&l.state, event, clock::now(), l.policy())?;
        Ok(Plan::state_only(state, effects))
    }
}

/// ConversationActor → itself: presence picked this agent for a conversation needing a person.
#[derive(Message)]
#[rtype(result = "()")]
struct AutoAssign(AgentId);

/// Tries to store the assistant's answer before the conversation goes to a person instead.
const ASSISTANT_STORE_ATTEMPTS: u32 = 3;

/// Whether a failed write may succeed if tried again (the database was unavailable, its
/// group failed), as opposed to a refusal of the rules.
fn retryable(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Unavailable(_) | AppError::Database(_) | AppError::Internal(_)
    )
}

/// The pause before try number `attempt + 1`: 0.2 s, 0.8 s, 3.2 s… up to 30 s.
fn retry_delay(attempt: u32) -> Duration {
    let factor = 4u64.saturating_pow(attempt.saturating_sub(1).min(8));
    Duration::from_millis(200u64.saturating_mul(factor)).min(Duration::from_secs(30))
}

/// How long until `at` (zero if past).
fn until(at: NaiveDateTime) -> Duration {
    (at - clock::now()).to_std().unwrap_or(Duration::ZERO)
}

impl Actor for ConversationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
        let store = self.app.store.clone();
        let id = self.id;
        let load = async move {
            store
                .read(move |c| {
                    let Some((row, contact)) = queries::conversation_with_contact(c, id)? else {
                        return Ok(None);
                    };
                    let mut tags = queries::tags_of(c, std::slice::from_ref(&row.id))?;
                    let tags = tags.remove(&row.id).unwrap_or_default();
                    Ok(Some((row, contact, tags)))
                })
                .await
        };
        // `wait`: no message is handled before the state is loaded.
        ctx.wait(load.into_actor(self).map(|res, act, ctx| match res {
            Ok(Some((row, contact, tags))) => act.on_loaded(row, contact, tags, ctx),
            Ok(None) => act.fail(AppError::NotFound("conversation"), ctx),
            Err(e) => act.fail(e, ctx),
        }));
        ctx.run_interval(IDLE_CHECK, |act, ctx| act.check_idle(ctx));
    }
}

type Reply<T> = AtomicResponse<ConversationActor, AppResult<T>>;

fn reply<T: 'static>(
    f: impl ActorFuture<ConversationActor, Output = AppResult<T>> + 'static,
) -> Reply<T> {
    AtomicResponse::new(Box::pin(f))
}

fn refused<T: 'static>(e: AppError) -> Reply<T> {
    reply(fut::ready(Err(e)))
}

impl Handler<DeliverInbound> for ConversationActor {
    type Result = Reply<InboundAccepted>;

    fn handle(&mut self, msg: DeliverInbound, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let l = match self.loaded() {
            Ok(l) => l,
            Err(e) => return refused(e),
        };
        if msg.parts.is_empty() {
            return refused(AppError::Validation("a message needs content".to_owned()));
        }
        // Handoff phrases are looked for in everything the customer wrote or tapped.
        let text: Vec<&str> = msg.parts.iter().map(|p| p.body.as_str()).collect();
        let now = clock::now();
        let (sent_at, provider_sent_at) = believable_time(msg.sent_at, now);
        let event = Event::CustomerMessage {
            text: text.join("\n"),
            at: sent_at,
        };
        let (state, mut effects) = match transition(&l.state, &event, now, l.policy()) {
            Ok(t) => t,
            Err(e) => return refused(e.into()),
        };
        if l.contact.blocked {
            // Kept for the record, never answered.
            effects.retain(|e| {
                !matches!(
                    e,
                    Effect::RequestAssistantReply | Effect::AcknowledgeHandoff(_)
                )
            });
        }
        let ids: Vec<Option<String>> = (0..msg.parts.len())
            .map(|i| match (&msg.external_id, i) {
                (Some(ext), 0) => Some(ext.clone()),
                (Some(ext), i) => Some(format!("{ext}#{i}")),
                (None, _) => None,
            })
            .collect();
        let messages: Vec<MessageRow> = msg
            .parts
            .into_iter()
            .zip(&ids)
            .map(|(part, id)| {
                let mut m =
                    self.new_message(l, Direction::Inbound, Author::Customer, part.body, sent_at);
                m.provider_sent_at = provider_sent_at;
                m.external_id = id.clone();
                m.kind = part.kind;
                m.media_source = part.media.as_ref().map(MediaSource::encode);
                m.media_mime = part.media_mime;
                m.media_filename = part.media_filename;
                m.payload = part.payload.map(|p| p.to_string());
                m
            })
            .collect();
        let plan = Plan {
            state,
            effects,
            messages,
            send: false,
            dedupe: match msg.external_id {
                Some(_) => Dedupe::External(ids.into_iter().flatten().collect()),
                None => Dedupe::None,
            },
            tags: None,
        };
        let conversation_id = self.id;
        reply(self.commit(plan).map(move |res, _, _| {
            let committed = res?;
            let duplicate = matches!(committed, Committed::Duplicate(_));
            let messages = committed.messages();
            let first = messages
                .first()
                .ok_or_else(|| AppError::internal("message not written"))?;
            Ok(InboundAccepted {
                message_id: first.id,
                duplicate,
                downloads: messages
                    .iter()
                    .filter(|m| m.media_path.is_none())
                    .filter_map(|m| {
                        Some(MediaDownload {
                            conversation_id,
                            message_id: m.id,
                            source: MediaSource::decode(m.media_source.as_deref()?)?,
                            mime: m.media_mime.clone(),
                        })
                    })
                    .collect(),
            })
        }))
    }
}

impl Handler<AssistantAnswered> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: AssistantAnswered, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            // A block made while this answer was being thought up is seen here: the block
            // endpoint answers only after every actor of the person took the blocked row
            // (`ContactChanged`), so once a block is acknowledged no answer is written.
            if l.contact.blocked {
                return Err(AppError::Conflict {
                    code: "contact_blocked",
                    message: "the contact was blocked while the assistant thought".to_owned(),
                });
            }
            let now = clock::now();
            let event = Event::AssistantReplied {
                matched: msg.reply.is_match(),
                at: now,
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let (message, send) =
                self.outbound(l, Author::Assistant, msg.reply.text().to_owned(), now);
            Ok(Plan {
                messages: vec![message],
                send,
                ..Plan::state_only(state, effects)
            })
        });
        let plan = match plan {
            Ok(plan) => plan,
            Err(AppError::Transition(TransitionError::AssistantSilenced(status))) => {
                tracing::info!(parent: &self.span, %status, "assistant reply dropped: a person took over");
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
            Err(e) => {
                tracing::warn!(parent: &self.span, error = %e, "assistant reply dropped");
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
        };
        let AssistantAnswered { reply, attempt } = msg;
        AtomicResponse::new(Box::pin(self.commit(plan).map(move |res, act, ctx| {
            match res {
                Ok(_) => act.assistant_done(),
                Err(e) if retryable(&e) && attempt < ASSISTANT_STORE_ATTEMPTS => {
                    tracing::warn!(parent: &act.span, error = %e, attempt, "could not store the assistant's reply; trying again");
                    let next = AssistantAnswered {
                        reply,
                        attempt: attempt + 1,
                    };
                    ctx.notify_later(next, retry_delay(attempt));
                }
                Err(e) => {
                    tracing::error!(parent: &act.span, error = %e, attempt, "could not store the assistant's reply; handing the conversation to a person");
                    ctx.notify(AssistantFailed { attempt: 1 });
                }
            }
        })))
    }
}

impl Handler<AssistantFailed> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    /// Hands the conversation to a person; tries until that is stored, so the customer's
    /// message never stays without anyone to answer it.
    fn handle(&mut self, msg: AssistantFailed, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = match self.apply_event(&Event::AssistantUnavailable) {
            Ok(plan) if plan.effects.is_empty() => {
                // A person has it already, or the customer was answered meanwhile.
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!(parent: &self.span, error = %e, "cannot hand the conversation to a person");
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
        };
        AtomicResponse::new(Box::pin(self.commit(plan).map(move |res, act, ctx| {
            match res {
                Ok(_) => act.assistant_done(),
                Err(e) => {
                    tracing::error!(parent: &act.span, error = %e, attempt = msg.attempt, "could not store the handoff; trying again");
                    let next = AssistantFailed {
                        attempt: msg.attempt + 1,
                    };
                    ctx.notify_later(next, retry_delay(msg.attempt));
                }
            }
        })))
    }
}

impl Handler<ResumeUnanswered> for ConversationActor {
    type Result = ();

    fn handle(&mut self, _: ResumeUnanswered, ctx: &mut Self::Context) {
        let waiting = self.loaded.as_ref().is_some_and(|l| {
            l.state.status == Status::Bot
                && l.state.last_message_author == Some(Author::Customer)
                && !l.contact.blocked
        });
        if !waiting || self.assistant_in_flight > 0 {
            return;
        }
        let _g = self.span.clone().entered();
        tracing::info!("answering a customer message left unanswered by the last stop");
        let store = self.app.store.clone();
        let id = self.id;
        self.assistant_in_flight += 1;
        let read = async move {
            store
                .read(move |c| queries::last_customer_text(c, id))
                .await
        };
        ctx.spawn(read.into_actor(self).map(|res, act, ctx| {
            act.assistant_done();
            match res {
                Ok(Some(text)) => act.ask_assistant(text, ctx),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(parent: &act.span, error = %e, "cannot read the unanswered message; handing the conversation to a person");
                    act.assistant_in_flight += 1;
                    ctx.notify(AssistantFailed { attempt: 1 });
                }
            }
        }));
    }
}

/// Refuses an agent's message to the customer that the reply policy does not allow, or that
/// goes to a blocked contact (their messages are kept, never answered; unblock to reply).
fn check_agent_may_send(l: &Loaded, agent: AgentId, only_assignee: bool) -> AppResult<()> {
    if l.contact.blocked {
        return Err(AppError::Conflict {
            code: "contact_blocked",
            message: "the contact is blocked; unblock it to reply".to_owned(),
        });
    }
    if only_assignee && l.state.assignee.is_some_and(|a| a != agent) {
        return Err(AppError::Conflict {
            code: "not_assignee",
            message: "only the assigned agent may reply to this conversation".to_owned(),
        });
    }
    Ok(())
}

/// Commits an agent's message and answers with its view (the stored one on a retry).
fn commit_agent_message(act: &mut ConversationActor, plan: AppResult<Plan>) -> Reply<MessageView> {
    match plan {
        Ok(plan) => reply(act.commit(plan).map(|res, _, _| {
            res.and_then(Committed::first_message)
                .map(|m| MessageView::from(&m))
        })),
        Err(e) => refused(e),
    }
}

impl Handler<SendAgentReply> for ConversationActor {
    type Result = Reply<MessageView>;

    fn handle(&mut self, msg: SendAgentReply, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            if !msg.private_note {
                check_agent_may_send(l, msg.agent, msg.only_assignee)?;
            }
            let now = clock::now();
            let event = if msg.private_note {
                Event::NoteAdded
            } else {
                Event::AgentReplied {
                    agent: msg.agent,
                    at: now,
                }
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let (message, send) = if msg.private_note {
                let mut m =
                    self.new_message(l, Direction::Internal, Author::Agent, msg.text.clone(), now);
                m.private_note = true;
                (m, false)
            } else {
                self.outbound(l, Author::Agent, msg.text.clone(), now)
            };
            Ok(Plan::agent_message(
                state,
                effects,
                message,
                send,
                msg.agent,
                msg.client_id.clone(),
            ))
        });
        commit_agent_message(self, plan)
    }
}

impl Handler<SendTemplate> for ConversationActor {
    type Result = Reply<MessageView>;

    fn handle(&mut self, msg: SendTemplate, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            check_agent_may_send(l, msg.agent, msg.only_assignee)?;
            let template = l
                .inbox
                .settings
                .template(&msg.name, &msg.language)
                .ok_or_else(|| {
                    AppError::Validation(format!(
                        "inbox `{}` has no approved template `{}` in `{}`",
                        l.inbox.id, msg.name, msg.language
                    ))
                })?;
            template
                .check_parameters(&msg.parameters)
                .map_err(AppError::Validation)?;
            let now = clock::now();
            let event = Event::TemplateSent {
                agent: msg.agent,
                at: now,
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let (mut message, send) =
                self.outbound(l, Author::Agent, template.render(&msg.parameters), now);
            message.kind = MessageKind::Template;
            message.payload = Some(
                json!({ "template": {
                    "name": template.name,
                    "language": template.language,
                    "parameters": msg.parameters,
                    "content_sid": template.content_sid,
                }})
                .to_string(),
            );
            Ok(Plan::agent_message(
                state,
                effects,
                message,
                send,
                msg.agent,
                msg.client_id.clone(),
            ))
        });
        commit_agent_message(self, plan)
    }
}

impl Handler<SendAttachment> for ConversationActor {
    type Result = Reply<MessageView>;

    fn handle(&mut self, msg: SendAttachment, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            check_agent_may_send(l, msg.agent, msg.only_assignee)?;
            let now = clock::now();
            let event = Event::AgentReplied {
                agent: msg.agent,
                at: now,
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let label = msg
                .caption
                .as_deref()
                .or(msg.filename.as_deref())
                .map(|c| format!("[{}] {c}", msg.kind))
                .unwrap_or_else(|| format!("[{}]", msg.kind));
            let (mut message, send) = self.outbound(l, Author::Agent, label, now);
            message.id = msg.message_id;
            message.kind = msg.kind;
            message.media_path = Some(msg.path.clone());
            message.media_mime = Some(msg.mime.clone());
            message.media_filename = msg.filename.clone();
            // An MMS is one message, whatever the label says.
            message.segments = None;
            message.payload = msg
                .caption
                .as_ref()
                .map(|c| json!({ "caption": c }).to_string());
            Ok(Plan::agent_message(
                state, effects, message, send, msg.agent, None,
            ))
        });
        commit_agent_message(self, plan)
    }
}

impl Handler<RecordEcho> for ConversationActor {
    type Result = Reply<()>;

    /// A message the business sent from another tool (the Page inbox, a phone) is shown in the
    /// thread as an agent's; an echo of our own send changes nothing.
    fn handle(&mut self, msg: RecordEcho, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().map(|l| {
            let text = msg
                .text
                .clone()
                .unwrap_or_else(|| "[attachment]".to_owned());
            let (at, provider_sent_at) = believable_time(msg.at, clock::now());
            let mut m = self.new_message(l, Direction::Outbound, Author::Agent, text.clone(), at);
            m.provider_sent_at = provider_sent_at;
            m.external_id = Some(msg.provider_message_id.clone());
            m.delivery_status = Some(DeliveryStatus::Sent);
            Plan {
                messages: vec![m],
                dedupe: Dedupe::Echo {
                    external_id: msg.provider_message_id,
                    text,
                },
                ..Plan::state_only(l.state.clone(), Vec::new())
            }
        });
        match plan {
            Ok(plan) => reply(self.commit(plan).map(|res, _, _| res.map(|_| ()))),
            Err(e) => refused(e),
        }
    }
}

impl Handler<ApplyWatermark> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: ApplyWatermark, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        if let Err(e) = self.loaded() {
            return refused(e);
        }
        self.last_active = Instant::now();
        let store = self.app.store.clone();
        let conversation_id = self.id;
        let write = async move {
            store
                .write(move |c| {
                    let mut moved = Vec::new();
                    for m in queries::outbound_before(c, conversation_id, msg.watermark)? {
                        let current = m.delivery_status.unwrap_or(DeliveryStatus::Queued);
                        if let Some(next) = current.advance(msg.status) {
                            queries::set_delivery_status(c, m.id, next, None)?;
                            moved.push((m.id, next));
                        }
                    }
                    Ok(moved)
                })
                .await
        };
        reply(write.into_actor(self).map(|res, act, _| {
            for (id, status) in res? {
                let event = ServerEvent::MessageStatus {
                    conversation_id: act.id,
                    message_id: id,
                    status,
                    reason: None,
                };
                act.publish(event, act.audience());
            }
            Ok(())
        }))
    }
}

impl Handler<ContactChanged> for ConversationActor {
    type Result = Reply<()>;

    /// The contact was blocked or unblocked: take the stored row and tell the agents.
    fn handle(&mut self, _: ContactChanged, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let id = match self.loaded() {
            Ok(l) => l.contact.id,
            Err(e) => return refused(e),
        };
        let store = self.app.store.clone();
        let read = async move { store.read(move |c| queries::contact(c, id)).await };
        reply(read.into_actor(self).map(|res, act, _| {
            let contact = res?.ok_or(AppError::NotFound("contact"))?;
            if let Some(l) = act.loaded.as_mut() {
                l.contact = contact;
            }
            act.publish_updated();
            Ok(())
        }))
    }
}

impl ConversationActor {
    /// Changes one message of this conversation in the writer (`change` gets the stored row
    /// and returns the new one, or `None` when nothing changed), then pushes
    /// `message.updated`.
    fn update_message<F>(&mut self, id: MessageId, mut change: F) -> Reply<()>
    where
        F: FnMut(&mut DbConnection, MessageRow) -> AppResult<Option<MessageRow>> + Send + 'static,
    {
        if let Err(e) = self.loaded() {
            return refused(e);
        }
        self.last_active = Instant::now();
        let store = self.app.store.clone();
        let conversation_id = self.id;
        let write = async move {
            store
                .write(move |c| {
                    let m = queries::message(c, id)?
                        .filter(|m| m.conversation_id == conversation_id)
                        .ok_or(AppError::NotFound("message"))?;
                    change(c, m)
                })
                .await
        };
        reply(write.into_actor(self).map(|res, act, _| {
            if let Some(m) = res? {
                let event = ServerEvent::MessageUpdated {
                    conversation_id: act.id,
                    message: MessageView::from(&m),
                };
                act.publish(event, act.audience());
            }
            Ok(())
        }))
    }
}

impl Handler<MediaFailed> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: MediaFailed, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        self.update_message(msg.message_id, move |c, m| {
            if m.media_path.is_some() {
                // Stored meanwhile (a retry from another start): nothing failed.
                return Ok(None);
            }
            queries::set_media_failure(c, m.id, &msg.reason)?;
            Ok(Some(MessageRow {
                failure_reason: Some(msg.reason.clone()),
                ..m
            }))
        })
    }
}

impl Handler<MediaStored> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: MediaStored, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        self.update_message(msg.message_id, move |c, m| {
            let mime = msg.mime.clone().or(m.media_mime.clone());
            queries::set_media(c, m.id, &msg.path, mime.as_deref())?;
            Ok(Some(MessageRow {
                media_path: Some(msg.path.clone()),
                media_mime: mime,
                failure_reason: None,
                ..m
            }))
        })
    }
}

impl Handler<ApplyEvent> for ConversationActor {
    type Result = Reply<ConversationView>;

    fn handle(&mut self, msg: ApplyEvent, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        match self.apply_event(&msg.0) {
            Ok(plan) => reply(self.commit(plan).map(|res, act, _| {
                res.and_then(|_| {
                    act.view()
                        .ok_or_else(|| AppError::internal("conversation not loaded"))
                })
            })),
            Err(e) => refused(e),
        }
    }
}

impl Handler<FollowUpFired> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: FollowUpFired, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        match self.apply_event(&Event::FollowUpDue) {
            Ok(plan) => AtomicResponse::new(Box::pin(self.commit(plan).map(|res, act, ctx| {
                if let Err(e) = res {
                    // The follow-up is still due in the row: try again shortly (the registry's
                    // scan only starts actors that are not running).
                    tracing::error!(parent: &act.span, error = %e, "could not record the due follow-up; trying again");
                    let delay = retry_delay(3);
                    act.follow_up_timer = Some(ctx.run_later(delay, |act, ctx| {
                        act.follow_up_timer = None;
                        ctx.notify(FollowUpFired);
                    }));
                }
            }))),
            Err(e) => {
                tracing::error!(parent: &self.span, error = %e, "follow-up could not fire");
                AtomicResponse::new(Box::pin(fut::ready(())))
            }
        }
    }
}

impl Handler<WindowClosed> for ConversationActor {
    type Result = ();

    fn handle(&mut self, _: WindowClosed, _: &mut Self::Context) {
        self.publish_updated();
    }
}

impl Handler<ReportDelivery> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: ReportDelivery, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        self.last_active = Instant::now();
        let store = self.app.store.clone();
        let id = msg.message_id;
        let conversation_id = self.id;
        let write = async move {
            store
                .write(move |c| {
                    let Some(m) = queries::message(c, id)? else {
                        return Ok((None, None));
                    };
                    if m.conversation_id != conversation_id {
                        return Err(AppError::NotFound("message"));
                    }
                    // Sent or failed ends the outbox's job; later statuses come from the provider.
                    if matches!(msg.status, DeliveryStatus::Sent | DeliveryStatus::Failed) {
                        queries::delete_outbox(c, id)?;
                    }
                    let mut reports = vec![(msg.status, msg.reason.clone())];
                    let mut merged_echo = None;
                    if let Some(pid) = &msg.provider_message_id {
                        // A Meta echo of this very send may have been stored before its id
                        // was known: it was ours all along.
                        let taken = queries::message_by_external_id(c, &m.inbox_id, pid)?
                            .filter(|o| o.id != id);
                        let record = match &taken {
                            None => true,
                            Some(other) => {
                                let stored_echo = other.conversation_id == conversation_id
                                    && other.direction == Direction::Outbound
                                    && other.author == Author::Agent
                                    && other.agent_id.is_none()
                                    && other.client_id.is_none();
                                if stored_echo {
                                    queries::delete_message(c, other.id)?;
                                    merged_echo = Some(other.id);
                                } else {
                                    tracing::warn!(provider_message_id = %pid, "the provider's id already belongs to another message; not recorded");
                                }
                                stored_echo
                            }
                        };
                        if record {
                            queries::set_external_id(c, id, pid)?;
                        }
                        // Statuses the provider sent before we recorded its id.
                        for p in queries::take_pending_statuses(c, &m.inbox_id, pid)? {
                            reports.push((p.status, p.reason));
                        }
                    }
                    let current = m.delivery_status.unwrap_or(DeliveryStatus::Queued);
                    let mut next = current;
                    let mut reason = m.failure_reason;
                    for (status, why) in reports {
                        if let Some(n) = next.advance(status) {
                            next = n;
                            if n == DeliveryStatus::Failed {
                                reason = why;
                            }
                        }
                    }
                    if next == current {
                        return Ok((None, merged_echo));
                    }
                    queries::set_delivery_status(c, id, next, reason.as_deref())?;
                    Ok((Some((next, reason)), merged_echo))
                })
                .await
        };
        reply(write.into_actor(self).map(move |res, act, _| {
            let (changed, merged_echo) = res?;
            if let Some(echo) = merged_echo {
                let event = ServerEvent::MessageDeleted {
                    conversation_id: act.id,
                    message_id: echo,
                    replaced_by: msg.message_id,
                };
                act.publish(event, act.audience());
            }
            if let Some((status, reason)) = changed {
                let event = ServerEvent::MessageStatus {
                    conversation_id: act.id,
                    message_id: msg.message_id,
                    status,
                    reason,
                };
                act.publish(event, act.audience());
            }
            Ok(())
        }))
    }
}

impl Handler<AutoAssign> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: AutoAssign, _: &mut Self::Context) -> Self::Result {
        // Someone may have taken it meanwhile: only an unassigned conversation is auto-assigned.
        if self
            .loaded
            .as_ref()
            .is_none_or(|l| l.state.assignee.is_some())
        {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        match self.apply_event(&Event::Assigned {
            agent: Some(msg.0),
            by: By::System,
        }) {
            Ok(plan) => AtomicResponse::new(Box::pin(self.commit(plan).map(|res, act, ctx| {
                if let Err(e) = res {
                    // Still unassigned and waiting: pick again shortly (the agent picked may
                    // be gone by then).
                    tracing::warn!(parent: &act.span, error = %e, "auto-assignment not stored; trying again");
                    ctx.run_later(retry_delay(3), |act, ctx| act.auto_assign(ctx));
                }
            }))),
            Err(_) => AtomicResponse::new(Box::pin(fut::ready(()))),
        }
    }
}

impl Handler<SetTags> for ConversationActor {
    type Result = Reply<ConversationView>;

    fn handle(&mut self, msg: SetTags, _: &mut Self::Context) -> Self::Result {
        let plan = match self.loaded() {
            Ok(l) => Plan {
                tags: Some(msg.0),
                ..Plan::state_only(l.state.clone(), Vec::new())
            },
            Err(e) => return refused(e),
        };
        reply(self.commit(plan).map(|res, act, _| {
            res.and_then(|_| {
                act.view()
                    .ok_or_else(|| AppError::internal("conversation not loaded"))
            })
        }))
    }
}

impl Handler<DeleteConversation> for ConversationActor {
    type Result = Reply<()>;

    /// Permanent: the row goes, and with it (by cascade) messages, tags and pending deliveries.
    /// The audit log keeps who did it, when, and whose conversation it was, in the same
    /// transaction.
    fn handle(&mut self, msg: DeleteConversation, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let l = match self.loaded() {
            Ok(l) => l,
            Err(e) => return refused(e),
        };
        let audit = AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            at: clock::now(),
            agent_id: Some(msg.by),
            agent_email: msg.by_email.clone(),
            action: "conversation.deleted".to_owned(),
            subject: self.id.to_string(),
            detail: Some(
                json!({
                    "inbox_id": l.row.inbox_id,
                    "contact_id": l.contact.id,
                    "contact_name": l.contact.name,
                    "created_at": l.row.created_at,
                    "last_message_at": l.row.last_message_at,
                })
                .to_string(),
            ),
        };
        tracing::info!(agent_id = %msg.by, agent = %msg.by_email, "conversation deleted for good");
        let store = self.app.store.clone();
        let id = self.id;
        let write = async move {
            store
                .write(move |c| {
                    queries::insert_audit(c, &audit)?;
                    queries::delete_conversation(c, id)
                })
                .await
        };
        reply(write.into_actor(self).map(|res, act, ctx| {
            res?;
            // Its files go with it (inbound downloads and attachments).
            crate::channels::media::remove_conversation_files(&act.app, act.id);
            let needed_reply = act.loaded.as_ref().is_some_and(|l| l.state.needs_reply());
            let event = ServerEvent::ConversationDeleted {
                conversation_id: act.id,
            };
            act.publish(event, act.audience());
            if needed_reply {
                act.app.badge.do_send(Recount);
            }
            act.loaded = None;
            act.load_error = Some(AppError::NotFound("conversation"));
            act.leave_registry(ctx);
            Ok(())
        }))
    }
}

impl Handler<InjectPanic> for ConversationActor {
    type Result = ();

    #[allow(clippy::panic)]
    fn handle(&mut self, _: InjectPanic, _: &mut Self::Context) {
        panic!("injected panic (test hook)");
    }
}
