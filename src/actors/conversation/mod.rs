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

//!
//! The actor is one unit split by what a message is about: `commit` (a change's plan, the group
//! commit and what follows it), `customer` (inbound messages and the assistant's answers),
//! `agent` (agents' replies, templates, files), `delivery` (delivery reports, echoes, media),
//! `lifecycle` (status events, timers, tags, deletion), `memory` (what is learned about the
//! customer) and `csat` (the satisfaction survey a closing sends).

use commit::{kept, AnswerMark, Committed, Dedupe, Plan};

mod agent;
mod asking;
mod commit;
mod csat;
mod customer;
mod delivery;
mod lifecycle;
mod memory;
mod review;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use actix::prelude::*;
use chrono::NaiveDateTime;
use serde_json::json;
use tokio::sync::Notify;

use super::{
    badge::Recount,
    hub::{Audience, Publish},
    messages::{
        ApplyEvent, ApplyWatermark, AssistantAnswered, AssistantFailed, ContactChanged,
        DeleteConversation, DeliverInbound, FollowUpFired, InboundAccepted, InjectPanic,
        MarkAnswer, MediaDownload, MediaFailed, MediaStored, RecordEcho, ReportDelivery,
        ResumeUnanswered, SendAgentReply, SendAttachment, SendTemplate, SetTags, SnoozeFired,
        StoreReview, WhichThread, WindowClosed,
    },
    presence::PickAgent,
};
use crate::cluster::{
    fence::{self, Epoch, WriteFence},
    Shard,
};
use crate::{
    agent_names::AgentNames,
    assistant::{roster::Assistants, AssistantReply},
    clock,
    config::AssignmentSettings,
    db::{
        models::{
            preview, AuditRow, ContactRow, ConversationChanges, ConversationRow, MediaSource,
            MessageRow, OutboxRow,
        },
        queries, DbConnection, Store,
    },
    domain::{
        conversation::{
            believable_time, transition, By, ConversationState, Effect, Event, HandoffReason,
            Policy, TransitionError,
        },
        delivery::DeliveryStatus,
        types::{Author, Direction, MessageKind, Status},
        AgentId, ConversationId, MessageId,
    },
    error::{AppError, AppResult},
    inbox::{Inbox, Inboxes},
    protocol::{HiddenReason, ServerEvent},
    providers::{normalized::Network, sms},
    views::{ConversationView, MessageView},
};

/// How often an actor asks itself whether it has been idle long enough to stop.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// What a conversation actor uses, and nothing else: the store, where to publish, whom to tell
/// about the badge and about a conversation needing a person, the inboxes' rules, the
/// assistant, and the few settings it reads. Shared by every conversation actor.
pub struct ConversationDeps {
    pub store: Store,
    pub hub: Recipient<Publish>,
    pub badge: Recipient<Recount>,
    pub presence: Recipient<PickAgent>,
    pub inboxes: Arc<Inboxes>,
    /// Every configured assistant; each conversation asks its inbox's.
    pub assistants: Arc<Assistants>,
    /// Wakes the outbox worker when a message was queued, so delivery starts at once.
    pub outbox_kick: Arc<Notify>,
    pub agent_names: Arc<AgentNames>,
    pub assignment: AssignmentSettings,
    /// An actor idle this long stops (its state is in the database).
    pub idle_after: Duration,
    /// How often the registry looks for due follow-ups of actors that are not running.
    pub timer_scan: Duration,
    /// Where conversations' files are kept (`<media_dir>/<conversation id>/`).
    pub media_dir: PathBuf,
    /// A review is due this long after a conversation's latest message (`[review]
    /// after_secs`).
    pub review_after: chrono::Duration,
    /// `switchboard_stage_wait_seconds{stage="conversation_mailbox"}`.
    pub mailbox_wait: prometheus_client::metrics::histogram::Histogram,
    /// Cluster mode: the shards this node holds, with their epochs. An actor starts only for
    /// a conversation of one of them, and each of its writes is fenced by that epoch.
    pub owner: Option<Arc<crate::cluster::node::Epochs>>,
}

impl ConversationDeps {
    /// How far ahead the registry's scan wakes due follow-ups: two scan intervals. A running
    /// actor with a follow-up due within it stays up for it, so between the two none is
    /// missed. (Capped at a year, so no configured interval can overflow a date.)
    pub fn follow_up_horizon(&self) -> chrono::Duration {
        let year = chrono::Duration::days(365);
        chrono::Duration::from_std(self.timer_scan.saturating_mul(2)).map_or(year, |h| h.min(year))
    }
}

/// ConversationActor → ConversationRegistry: I am stopping (idle, or my conversation is gone);
/// forget me if I am still the registered actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ActorIdle {
    pub id: ConversationId,
    pub addr: Addr<ConversationActor>,
}

pub struct ConversationActor {
    id: ConversationId,
    deps: Arc<ConversationDeps>,
    /// Told when this actor stops, so the registry forgets it.
    registry: Recipient<ActorIdle>,
    loaded: Option<Loaded>,
    /// Why loading failed; every message is answered with it until the actor stops.
    load_error: Option<AppError>,
    follow_up_timer: Option<SpawnHandle>,
    snooze_timer: Option<SpawnHandle>,
    window_timer: Option<SpawnHandle>,
    last_active: Instant,
    assistant_in_flight: u32,
    /// The wait for the rest of a customer's burst before the assistant is asked.
    debounce: Option<SpawnHandle>,
    /// Cluster mode: this conversation's shard and the epoch this node held it with when the
    /// actor started; every write checks it in the database.
    fence: Option<(Shard, Epoch)>,
    span: tracing::Span,
}

#[derive(Clone)]
struct Loaded {
    row: ConversationRow,
    contact: ContactRow,
    tags: Vec<String>,
    state: ConversationState,
    inbox: Arc<Inbox>,
}

impl Loaded {
    /// The conversation as agents see it now.
    fn view(&self) -> ConversationView {
        ConversationView::build(
            &self.row,
            &self.contact,
            &self.state,
            &self.tags,
            self.policy(),
            self.inbox.channel,
            clock::now(),
        )
    }

    /// The rules of this conversation: its inbox's, for its network, with the handoff
    /// acknowledgement in the contact's language.
    fn policy(&self) -> &Policy {
        let language = self.contact.profile.language.as_deref();
        self.inbox.policy_in(self.row.network, language)
    }
}

impl ConversationActor {
    pub fn new(
        id: ConversationId,
        deps: Arc<ConversationDeps>,
        registry: Recipient<ActorIdle>,
    ) -> Self {
        ConversationActor {
            id,
            deps,
            registry,
            loaded: None,
            load_error: None,
            follow_up_timer: None,
            snooze_timer: None,
            window_timer: None,
            last_active: Instant::now(),
            assistant_in_flight: 0,
            debounce: None,
            fence: None,
            span: tracing::info_span!("conversation", conversation_id = %id),
        }
    }

    fn loaded(&self) -> AppResult<&Loaded> {
        match (&self.loaded, &self.load_error) {
            (Some(l), _) => Ok(l),
            (None, Some(AppError::NotFound(what))) => Err(AppError::NotFound(what)),
            (None, Some(AppError::Moved { shard, why })) => Err(AppError::Moved {
                shard: *shard,
                why: why.clone(),
            }),
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
        let inbox = self.deps.inboxes.for_conversation(&row.inbox_id);
        if let Some(f) = &state.follow_up {
            self.arm_follow_up(f.at, ctx);
        }
        if let Some(at) = state.snooze.and_then(|z| z.until) {
            self.arm_snooze(until(at), ctx);
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
        if !matches!(e, AppError::NotFound(_) | AppError::Moved { .. }) {
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
        let idle = self.deps.idle_after;
        if self.loaded.is_none()
            || self.assistant_in_flight > 0
            || self.last_active.elapsed() < idle
        {
            return;
        }
        // A follow-up the registry's scan may not wake keeps the actor (and its timer) alive.
        let horizon = self.deps.follow_up_horizon();
        let soon = |at: NaiveDateTime| at <= clock::now() + horizon;
        let timer_soon = self.loaded.as_ref().is_some_and(|l| {
            l.state.follow_up.as_ref().is_some_and(|f| soon(f.at))
                || l.state.snooze.and_then(|z| z.until).is_some_and(soon)
        });
        if !timer_soon {
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

    /// Ends the snooze after `delay` (its time, or a retry after a failed write).
    fn arm_snooze(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        self.cancel_snooze_timer(ctx);
        self.snooze_timer = Some(ctx.run_later(delay, |act, ctx| {
            act.snooze_timer = None;
            ctx.notify(SnoozeFired);
        }));
    }

    fn cancel_snooze_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.snooze_timer.take() {
            ctx.cancel_future(h);
        }
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

    /// Round robin over online agents, when configured and nobody holds the conversation yet.
    fn auto_assign(&mut self, ctx: &mut Context<Self>) {
        let assignment = &self.deps.assignment;
        if !assignment.auto
            || self
                .loaded
                .as_ref()
                .is_none_or(|l| l.state.assignee.is_some())
        {
            return;
        }
        let pick = self.deps.presence.send(PickAgent {
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
        self.loaded.as_ref().map(Loaded::view)
    }

    fn publish(&self, event: ServerEvent, audience: Audience) {
        self.deps.hub.do_send(Publish::new(event, audience));
    }

    /// Pushes events a write decided (see [`commit::kept`]).
    fn publish_all(&self, events: Vec<Publish>) {
        for event in events {
            self.deps.hub.do_send(event);
        }
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

    /// The assistant's work for one customer message is over (answered, or a person has it).
    fn assistant_done(&mut self) {
        self.assistant_in_flight = self.assistant_in_flight.saturating_sub(1);
    }

    /// Runs `event` through the state machine and commits the result with no message.
    fn apply_event(&mut self, event: &Event) -> AppResult<Plan> {
        let l = self.loaded()?;
        let (mut state, mut effects) = transition(&l.state, event, clock::now(), l.policy())?;
        // A blocked contact is never surveyed: no survey, and none awaited.
        if l.contact.blocked && effects.contains(&Effect::AskCsat) {
            effects.retain(|e| *e != Effect::AskCsat);
            state.csat_requested_at = l.state.csat_requested_at;
        }
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

impl ConversationActor {
    /// The fence of this actor's writes (cluster mode), for [`fence::guard`] first in each:
    /// a shard this node no longer holds, or holds again under a newer epoch (this actor's
    /// state may be stale), or one another node activated since, refuses the write, and
    /// [`ConversationActor::after_write`] stops the actor.
    fn write_fence(&self) -> Option<WriteFence> {
        let (Some(held), Some((shard, epoch))) = (&self.deps.owner, self.fence) else {
            return None;
        };
        Some(WriteFence {
            shard,
            epoch,
            held: held.clone(),
        })
    }

    /// After a write: a fenced one (another node took the shard) stops this actor, whose
    /// state may be stale by now.
    fn after_write<T>(&mut self, res: &AppResult<T>, ctx: &mut Context<Self>) {
        if let Err(AppError::Moved { why, .. }) = res {
            tracing::warn!(parent: &self.span, %why, "a write was fenced; stopping");
            self.leave_registry(ctx);
        }
    }
}

/// How long until `at` (zero if past).
fn until(at: NaiveDateTime) -> Duration {
    (at - clock::now()).to_std().unwrap_or(Duration::ZERO)
}

impl Actor for ConversationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
        if let Some(epochs) = &self.deps.owner {
            let shard = Shard::of(self.id);
            match epochs.require(shard) {
                Ok(epoch) => self.fence = Some((shard, epoch)),
                Err(moved) => return self.fail(moved, ctx),
            }
        }
        let store = self.deps.store.clone();
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
