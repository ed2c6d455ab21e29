//! A change as the actor writes it: the [`Plan`] of rows, one group commit, and then (only
//! then) the new state in memory, the pushed events and the effects.

use super::*;
use crate::{
    actors::messages::ReviewResult,
    cluster::event_outbox::{self, PendingEvent},
    db::models::ReferralRow,
    db::models::{ActivityRow, AnswerRow},
    domain::{
        activity, opt_out::OptOut, referral::Referral, types::OptOutSource, ContactId, InboxId,
    },
};

/// The rows one change writes, besides the conversation row itself.
pub(super) struct Plan {
    pub(super) state: ConversationState,
    pub(super) effects: Vec<Effect>,
    /// The messages the change is about (customer, assistant or agent): usually one; a
    /// customer message with several parts stores one per part.
    pub(super) messages: Vec<MessageRow>,
    /// Deliver the first message through the outbox.
    pub(super) send: bool,
    pub(super) dedupe: Dedupe,
    /// Replace the conversation's tags in the same transaction.
    pub(super) tags: Option<Vec<String>>,
    /// Store this review (and with it, no review is due any more).
    pub(super) review: Option<Arc<ReviewResult>>,
    /// The review stored is of this change: clear the due time without a new review.
    pub(super) reviewed: bool,
    /// The customer's keyword (un)subscribes the person of this contact, at this time.
    pub(super) opt_out: Option<(ContactId, OptOut, NaiveDateTime)>,
    /// Where the customer came from, carried by the first message: stored with it.
    pub(super) referral: Option<Referral>,
    /// The assistant's answer (its first message), with what it rested on.
    pub(super) answer: Option<AnswerRow>,
    /// An agent marks an answer of this conversation wrong (`Some` mark) or clears the mark;
    /// checked before anything is written, and a new review is due after it.
    pub(super) mark: Option<AnswerMark>,
}

/// An agent's mark on one of the assistant's answers (see `domain::answer`).
#[derive(Debug, Clone)]
pub(super) struct AnswerMark {
    pub(super) message: MessageId,
    pub(super) wrong: Option<(AgentId, NaiveDateTime, Option<String>)>,
}

impl Plan {
    /// A change of state with no message.
    pub(super) fn state_only(state: ConversationState, effects: Vec<Effect>) -> Plan {
        Plan {
            state,
            effects,
            messages: Vec::new(),
            send: false,
            dedupe: Dedupe::None,
            tags: None,
            review: None,
            reviewed: false,
            opt_out: None,
            referral: None,
            answer: None,
            mark: None,
        }
    }

    /// An agent's message (reply, template, file): attributed, deduplicated on the client's
    /// id when it gave one, and sent when `send`.
    pub(super) fn agent_message(
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

pub(super) enum Dedupe {
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
pub(super) struct Written {
    pub(super) row: ConversationRow,
    pub(super) messages: Vec<MessageRow>,
    pub(super) tags: Option<Vec<String>>,
    pub(super) opt_out: Option<(ContactId, OptOut, NaiveDateTime)>,
}

pub(super) enum Committed {
    Written(Arc<Written>),
    /// Already stored: the stored messages, the first being the one deduplicated on.
    Duplicate(Vec<MessageRow>),
}

impl Committed {
    pub(super) fn messages(&self) -> &[MessageRow] {
        match self {
            Committed::Written(w) => &w.messages,
            Committed::Duplicate(messages) => messages,
        }
    }

    /// The (first) message written or found.
    pub(super) fn first_message(self) -> AppResult<MessageRow> {
        self.messages()
            .first()
            .cloned()
            .ok_or_else(|| AppError::internal("message not written"))
    }
}

/// The list preview follows the latest customer/assistant/agent message: the one the state
/// machine made the latest (see `touch_last` there). `None` leaves the preview as it was.
fn new_preview(
    before: &ConversationState,
    after: &ConversationState,
    messages: &[MessageRow],
) -> Option<String> {
    let m = messages.first()?;
    let latest = after.last_message_at == Some(m.sent_at)
        || after.last_message_at != before.last_message_at
        || after.last_message_author != before.last_message_author;
    if !latest || m.private_note || m.direction == Direction::Internal {
        return None;
    }
    let text: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    Some(preview(&text.join(" ")))
}

/// The outbox's job for one message to send, due now.
fn outbox_row(m: &MessageRow, now: NaiveDateTime) -> OutboxRow {
    OutboxRow {
        message_id: m.id,
        conversation_id: m.conversation_id,
        inbox_id: m.inbox_id.clone(),
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
    }
}

/// The row of a referral carried by message `m`, and its timeline entry (the kind and what
/// names it, so the timeline reads without the referral row).
fn referral_rows(
    r: Referral,
    m: &MessageRow,
    contact_id: ContactId,
    now: NaiveDateTime,
) -> (ReferralRow, ActivityRow) {
    let mut row = ReferralRow::new(r, contact_id, Some(m.conversation_id), m.sent_at, now);
    row.message_id = Some(m.id);
    let entry = queries::activity_row(
        contact_id,
        activity::ActivityKind::ReferralCaptured,
        now,
        None,
        Some(m.conversation_id),
        &row.activity_detail(),
    );
    (row, entry)
}

/// What one commit writes, as the writer runs it (possibly twice: see
/// [`crate::db::writer`], so it only reads what it holds).
struct WriteJob {
    written: Arc<Written>,
    dedupe: Dedupe,
    outbox: Vec<OutboxRow>,
    changes: ConversationChanges,
    inbox_id: InboxId,
    /// The contact's timeline entries of this change (none for an ordinary message).
    activity: Vec<ActivityRow>,
    /// The referral the first message carried, and its `referral_captured` entry: written
    /// only with a new message, so a redelivered one never stores it twice (and
    /// `referrals.message_id` is UNIQUE besides).
    referral: Option<(ReferralRow, ActivityRow)>,
    /// A customer's message: the broadcasts this inbox sent to their address count a reply.
    replied: Option<(String, NaiveDateTime)>,
    answer: Option<AnswerRow>,
    mark: Option<AnswerMark>,
    /// Cluster mode: the shard's epoch this node holds, checked before anything is written.
    fence: Option<WriteFence>,
    /// Cluster mode: the commit's events, for the event outbox.
    events: Vec<PendingEvent>,
}

impl WriteJob {
    /// Finds an earlier copy of the change's message (then writes nothing), or writes the
    /// messages, the outbox jobs, the conversation's changes and its tags.
    ///
    /// The outer error is a fault after writing (the writer runs the group again without this
    /// job); the inner one a refusal found before any write, answered without disturbing the
    /// group.
    fn run(&self, c: &mut DbConnection) -> AppResult<AppResult<Committed>> {
        let Written {
            row,
            messages,
            tags,
            opt_out,
        } = &*self.written;
        // Another node took the conversation's shard: nothing is written (a refusal, so the
        // rest of the group commits as it is).
        match fence::guard(c, self.fence.as_ref()) {
            Ok(()) => {}
            Err(moved @ AppError::Moved { .. }) => return Ok(Err(moved)),
            Err(e) => return Err(e),
        }
        // A mark that changes nothing (marked already, or cleared already) is refused before
        // anything is written (its UPDATE changed no row), so the group commits as it is.
        if let Some(mark) = &self.mark {
            if queries::mark_answer(c, mark.message, mark.wrong.clone())? == 0 {
                return Ok(Err(AppError::Conflict {
                    code: match mark.wrong {
                        Some(_) => "answer_already_marked",
                        None => "answer_not_marked",
                    },
                    message: match mark.wrong {
                        Some(_) => "the answer is already marked wrong".to_owned(),
                        None => "the answer is not marked wrong".to_owned(),
                    },
                }));
            }
        }
        let existing = self.existing(c, row.id, messages)?;
        if !existing.is_empty() {
            return Ok(Ok(Committed::Duplicate(existing)));
        }
        if !matches!(self.dedupe, Dedupe::External(_)) {
            queries::insert_messages(c, messages)?;
        }
        queries::insert_outbox(c, &self.outbox)?;
        queries::update_conversation(c, row.id, &self.changes)?;
        queries::insert_activity(c, &self.activity)?;
        if let Some((referral, entry)) = &self.referral {
            queries::insert_referral(c, referral)?;
            queries::insert_activity(c, std::slice::from_ref(entry))?;
        }
        if let Some(tags) = tags {
            queries::set_tags(c, row.id, tags)?;
        }
        event_outbox::insert(c, &self.events)?;
        if let Some(answer) = &self.answer {
            queries::insert_answer(c, answer)?;
        }
        if let Some((address, at)) = &self.replied {
            queries::mark_replied(c, &self.inbox_id, address, *at)?;
        }
        if let Some((contact, kind, at)) = opt_out {
            // The whole person (same E.164 phone), like an agent's unsubscribe.
            let stored = queries::contact(c, *contact)?;
            let person: Vec<ContactId> = match &stored {
                Some(row) => queries::same_person(c, row)?.iter().map(|r| r.id).collect(),
                None => Vec::new(),
            };
            let (to, activity) = match kind {
                OptOut::Unsubscribe => (
                    Some((*at, OptOutSource::Keyword)),
                    activity::ActivityKind::Unsubscribed,
                ),
                OptOut::Resubscribe => (None, activity::ActivityKind::Resubscribed),
            };
            queries::set_unsubscribed(c, &person, to)?;
            // The timeline says so, in the same transaction, when it changed anything.
            let changed = stored
                .is_some_and(|r| (*kind == OptOut::Unsubscribe) == r.unsubscribed_at.is_none());
            if changed {
                let detail = serde_json::json!({ "by": "keyword" });
                let entry =
                    queries::activity_row(*contact, activity, *at, None, Some(row.id), &detail);
                queries::insert_activity(c, &[entry])?;
            }
        }
        Ok(Ok(Committed::Written(self.written.clone())))
    }

    /// The stored messages this change duplicates, if any. For provider ids the unique index
    /// is the check (no lookup first): the messages are inserted here when they are new.
    fn existing(
        &self,
        c: &mut DbConnection,
        conversation: ConversationId,
        messages: &[MessageRow],
    ) -> AppResult<Vec<MessageRow>> {
        let inbox_id = &self.inbox_id;
        Ok(match &self.dedupe {
            Dedupe::None => Vec::new(),
            Dedupe::External(ids) => {
                let parts = ids.len().min(messages.len());
                if queries::insert_new_messages(c, &messages[..parts])? {
                    queries::insert_messages(c, &messages[parts..])?;
                    Vec::new()
                } else {
                    queries::messages_by_external_ids(c, inbox_id, ids)?
                }
            }
            Dedupe::Client(client) => queries::message_by_client_id(c, conversation, client)?
                .into_iter()
                .collect(),
            Dedupe::Echo { external_id, text } => {
                match queries::message_by_external_id(c, inbox_id, external_id)? {
                    Some(m) => vec![m],
                    None => queries::unrecorded_outbound_with_text(c, conversation, text)?
                        .into_iter()
                        .collect(),
                }
            }
        })
    }
}

impl ConversationActor {
    pub(super) fn new_message(
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
    pub(super) fn outbound(
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
    pub(super) fn commit(&mut self, plan: Plan) -> ResponseActFuture<Self, AppResult<Committed>> {
        self.last_active = Instant::now();
        let now = clock::now();
        let fence = self.write_fence();
        let Some(l) = &self.loaded else {
            return Box::pin(fut::ready(Err(self
                .loaded()
                .err()
                .unwrap_or_else(|| AppError::internal("not loaded")))));
        };
        let mut row = l.row.clone();
        row.set_state(&plan.state, now);
        // What a reviewer would see differently (a message, or a status change) makes a
        // review due; system notes alone do not, so storing a review never asks for another.
        let reviewable = plan.messages.iter().any(|m| m.author != Author::System)
            || plan.state.status != l.state.status
            || plan.mark.is_some();
        if reviewable {
            row.review_due_at = Some(now + self.deps.review_after);
        } else if plan.reviewed {
            row.review_due_at = None;
        }
        if let Some(r) = &plan.review {
            row.quality_score = Some(r.quality_score);
            row.review = serde_json::to_string(&r.record).ok();
            row.reviewed_at = Some(now);
        }
        let mut messages = plan.messages;
        if let Some(preview) = new_preview(&l.state, &plan.state, &messages) {
            row.last_message_preview = Some(preview);
        }
        let mut sends: Vec<&MessageRow> = Vec::new();
        if let (true, Some(m)) = (plan.send, messages.first()) {
            sends.push(m);
        }
        let extra = self.effect_messages(l, &plan.effects, now);
        sends.extend(extra.iter().filter(|(_, send)| *send).map(|(m, _)| m));
        let outbox: Vec<OutboxRow> = sends.into_iter().map(|m| outbox_row(m, now)).collect();
        messages.extend(extra.into_iter().map(|(m, _)| m));
        let names = &self.deps.agent_names;
        let activity = activity::derive(&l.state, &plan.state, &plan.effects, &|a| names.get(a))
            .into_iter()
            .map(|d| {
                let contact = l.row.contact_id;
                queries::activity_row(contact, d.kind, now, d.agent, Some(self.id), &d.detail)
            })
            .collect();
        let referral = plan
            .referral
            .zip(messages.first())
            .map(|(r, m)| referral_rows(r, m, l.row.contact_id, now));
        let replied = messages
            .first()
            .filter(|m| m.author == Author::Customer)
            .map(|_| (l.contact.external_id.clone(), now));
        // Cluster mode: the events are made now, from the conversation as the commit leaves
        // it, and written with it (the event outbox), so a node that dies before it publishes
        // them leaves them to the shard's next holder.
        let prepared = fence.as_ref().map(|_| {
            let mut after = l.clone();
            after.row = row.clone();
            after.state = plan.state.clone();
            if let Some(tags) = &plan.tags {
                after.tags = tags.clone();
            }
            if let Some((_, kind, at)) = plan.opt_out {
                opted(&mut after.contact, kind, at);
            }
            let was_empty = l.row.last_message_at.is_none();
            self.change_events(&l.state, &after, was_empty, &messages, &plan.effects)
                .into_iter()
                .map(Publish::durable)
                .collect::<Vec<_>>()
        });
        let events = prepared
            .iter()
            .flatten()
            .filter_map(|p| PendingEvent::new(Shard::of(self.id), &p.envelope()?, now))
            .collect();
        let job = WriteJob {
            events,
            answer: plan.answer,
            mark: plan.mark,
            fence,
            replied,
            referral,
            activity,
            changes: ConversationChanges::between(&l.row, &row),
            inbox_id: row.inbox_id.clone(),
            dedupe: plan.dedupe,
            outbox,
            written: Arc::new(Written {
                row,
                messages,
                tags: plan.tags,
                opt_out: plan.opt_out,
            }),
        };
        let store = self.deps.store.clone();
        let key = self.id.to_string();
        // Every check comes before the first write, and a duplicate writes nothing: no
        // savepoint is needed.
        let write = async move { store.write_checked(&key, move |c| job.run(c)).await? };
        let (state, effects) = (plan.state, plan.effects);
        Box::pin(write.into_actor(self).map(move |res, act, ctx| {
            if let Ok(Committed::Written(w)) = &res {
                if let (Some((_, kind, at)), Some(l)) = (w.opt_out, act.loaded.as_mut()) {
                    opted(&mut l.contact, kind, at);
                }
                let (row, tags) = (w.row.clone(), w.tags.clone());
                act.applied(row, state, &w.messages, tags, effects, prepared, ctx);
            }
            act.after_write(&res, ctx);
            res
        }))
    }

    /// The messages a change's effects add in the same transaction (system notes, the
    /// handoff acknowledgement), each with whether it is sent.
    fn effect_messages(
        &self,
        l: &Loaded,
        effects: &[Effect],
        now: NaiveDateTime,
    ) -> Vec<(MessageRow, bool)> {
        let mut extra = Vec::new();
        for fx in effects {
            match fx {
                Effect::SystemNote(note) => {
                    let names = &self.deps.agent_names;
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
                Effect::SendFollowUp(text) => {
                    let (mut m, send) = self.outbound(l, Author::Assistant, text.clone(), now);
                    m.payload = Some(json!({ "automatic": "follow_up" }).to_string());
                    extra.push((m, send));
                }
                Effect::SendFollowUpTemplate => {
                    if let Some(m) = self.follow_up_template(l, now) {
                        extra.push(m);
                    }
                }
                // A blocked contact is never written to.
                Effect::AskCsat => extra.push(self.csat_survey(l, now)),
                _ => {}
            }
        }
        extra
    }

    /// After a commit: adopt the new state, push events (the ones `prepared` with the
    /// commit, in cluster mode), carry out effects.
    #[allow(clippy::too_many_arguments)]
    fn applied(
        &mut self,
        row: ConversationRow,
        state: ConversationState,
        messages: &[MessageRow],
        tags: Option<Vec<String>>,
        effects: Vec<Effect>,
        prepared: Option<Vec<Publish>>,
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
        let after = l.state.clone();
        let events = match (prepared, self.loaded.as_ref()) {
            (Some(events), _) => events,
            (None, Some(l)) => self.change_events(&before, l, was_empty, messages, &effects),
            (None, None) => Vec::new(),
        };
        for event in events {
            self.deps.hub.do_send(event);
        }
        self.carry_out(effects, messages, ctx);
        let badge_moved = before.needs_reply() != after.needs_reply()
            || (after.needs_reply()
                && (before.assignee != after.assignee || before.archived != after.archived));
        if badge_moved {
            self.deps.badge.do_send(Recount);
        }
        if messages.iter().any(|m| m.delivery_status.is_some()) {
            self.deps.outbox_kick.notify_one();
        }
    }

    /// What a commit changed, as events: its messages, the conversation (created or updated,
    /// as `after` shows it), to agents who lost sight of it by a reassignment that it is gone
    /// and to whom it went, and the handoff it requested.
    fn change_events(
        &self,
        before: &ConversationState,
        after_commit: &Loaded,
        was_empty: bool,
        messages: &[MessageRow],
        effects: &[Effect],
    ) -> Vec<Publish> {
        let conversation_id = self.id;
        let after = &after_commit.state;
        let audience = Audience::Conversation {
            id: conversation_id,
            assignee: after.assignee,
        };
        let mut events = Vec::new();
        for m in messages {
            let message = MessageView::from(m);
            let event = ServerEvent::MessageCreated {
                conversation_id,
                message,
            };
            events.push(Publish::new(event, audience));
        }
        let conversation = Box::new(after_commit.view());
        let handoffs: Vec<Publish> = effects
            .iter()
            .filter_map(|fx| match fx {
                Effect::HandoffRequested(reason) => Some(ServerEvent::HandoffRequested {
                    conversation_id,
                    reason: reason.clone(),
                    conversation: conversation.clone(),
                }),
                _ => None,
            })
            .map(|event| Publish::new(event, audience))
            .collect();
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
        events.push(Publish::new(event, audience));
        if before.assignee != after.assignee {
            let to = after.assignee;
            let event = ServerEvent::ConversationHidden {
                conversation_id,
                reason: HiddenReason::Reassigned,
                assignee_id: to,
                assignee_name: to.and_then(|a| self.deps.agent_names.get(a)),
            };
            let lost_sight = Audience::LostSight {
                id: conversation_id,
                before: before.assignee,
                after: to,
            };
            events.push(Publish::new(event, lost_sight));
        }
        events.extend(handoffs);
        events
    }

    /// Carries out a committed change's effects (asking the assistant, notifying a handoff,
    /// arming or cancelling timers).
    fn carry_out(
        &mut self,
        effects: Vec<Effect>,
        messages: &[MessageRow],
        ctx: &mut Context<Self>,
    ) {
        for fx in effects {
            match fx {
                Effect::RequestAssistantReply => {
                    // Only a customer message asks for an answer: answer that exact text.
                    if let Some(m) = messages.iter().find(|m| m.author == Author::Customer) {
                        self.ask_assistant(m.body.clone(), ctx);
                    }
                }
                // Its event is one of the commit's (`change_events`).
                Effect::HandoffRequested(_) => self.auto_assign(ctx),
                Effect::ArmFollowUp(at) => self.arm_follow_up(at, ctx),
                Effect::CancelFollowUpTimer => {
                    if let Some(h) = self.follow_up_timer.take() {
                        ctx.cancel_future(h);
                    }
                }
                Effect::ArmWindow(at) => self.arm_window(at, ctx),
                Effect::ArmSnooze(at) => self.arm_snooze(until(at), ctx),
                Effect::CancelSnoozeTimer => self.cancel_snooze_timer(ctx),
                Effect::SystemNote(_)
                | Effect::AcknowledgeHandoff(_)
                | Effect::SendFollowUp(_)
                | Effect::SendFollowUpTemplate
                | Effect::AskCsat => {}
            }
        }
    }
}

/// A keyword (un)subscribed the contact: what the conversation keeps of it.
fn opted(contact: &mut ContactRow, kind: OptOut, at: NaiveDateTime) {
    match kind {
        // Already unsubscribed: the first time and reason stay (as stored).
        OptOut::Unsubscribe if contact.unsubscribed_at.is_some() => {}
        OptOut::Unsubscribe => {
            contact.unsubscribed_at = Some(at);
            contact.unsubscribed_reason = Some(OptOutSource::Keyword);
        }
        OptOut::Resubscribe => {
            contact.unsubscribed_at = None;
            contact.unsubscribed_reason = None;
        }
    }
}

/// Cluster mode (`fence`): the events a write decided, written to the event outbox in its
/// transaction as a commit's are, so that the shard's next holder publishes them if this node
/// dies before it does. One node: the events as they are.
pub(super) fn kept(
    c: &mut DbConnection,
    fence: Option<&WriteFence>,
    events: Vec<Publish>,
) -> AppResult<Vec<Publish>> {
    let Some(fence) = fence else {
        return Ok(events);
    };
    let events: Vec<Publish> = events.into_iter().map(Publish::durable).collect();
    let now = clock::now();
    let rows: Vec<PendingEvent> = events
        .iter()
        .filter_map(|p| PendingEvent::new(fence.shard, &p.envelope()?, now))
        .collect();
    event_outbox::insert(c, &rows)?;
    Ok(events)
}
