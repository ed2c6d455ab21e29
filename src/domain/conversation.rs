//! The conversation state machine: `state × event → state × effects`, with no I/O and no clock.
//!
//! The [`ConversationActor`](crate::actors::conversation) feeds it events (a customer wrote,
//! the assistant answered, an agent switched status, a timer fired) and carries out the
//! effects it returns (persist, push to agents, ask the assistant, arm timers). Keeping the
//! rules here means every rule is tested in a table, without actix or a database.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{
    csat::CsatScore,
    handoff::HandoffPhrases,
    hours::BusinessHours,
    ids::{AgentId, AssistantId},
    notes::Note,
    types::{Author, FollowUpSource, LeadStage, Status},
    window::{Allowed, Sender, WindowClosed, Windows},
};

#[path = "conversation_csat.rs"]
mod csat_rules;
pub use csat_rules::CSAT_ANSWER_WINDOW;

/// Who asked for a change and why a person is needed are shared with the notes
/// ([`super::notes`]), so they live with the other plain types.
pub use super::types::{By, HandoffReason};

/// The stored state of one conversation that the rules look at.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationState {
    pub status: Status,
    pub assignee: Option<AgentId>,
    pub unread_count: i32,
    pub archived: bool,
    /// Provider time of the latest customer, assistant or agent message (system events excluded).
    pub last_message_at: Option<NaiveDateTime>,
    pub last_message_author: Option<Author>,
    /// Start of the service window: the customer's latest message.
    pub last_customer_message_at: Option<NaiveDateTime>,
    /// First assistant or agent reply; `None` means the conversation is still "Created".
    pub first_reply_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    /// Assistant answers in a row that found nothing; reset by a good answer or a handback.
    pub bot_misses: i32,
    pub follow_up: Option<FollowUp>,
    pub lead_stage: Option<LeadStage>,
    /// The assistant that answered it last.
    pub assistant: Option<AssistantId>,
    /// When the CSAT survey of the current closing went out (`None`: none asked since it
    /// last closed).
    pub csat_requested_at: Option<NaiveDateTime>,
    pub csat: Option<CsatScore>,
    /// AI follow-ups sent so far (the inbox's `max_follow_ups` caps them).
    pub ai_follow_ups: i32,
    /// Since when the customer has waited for a person (`Some` exactly while
    /// [`needs_reply`](Self::needs_reply)): the list's urgency and its longest-waiting order.
    pub waiting_since: Option<NaiveDateTime>,
    /// Put aside by an agent: out of the open views and the badge until it ends.
    pub snooze: Option<Snooze>,
}

/// A conversation put aside until a time, or (`until: None`) until the customer writes.
/// Either way the customer writing ends it, and closing the conversation does too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snooze {
    pub until: Option<NaiveDateTime>,
}

/// Why a snooze ended (the thread says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnoozeEnd {
    /// Its time came.
    TimeUp,
    /// The customer wrote.
    CustomerWrote,
    /// An agent woke it early.
    Woken(AgentId),
}

impl ConversationState {
    /// A conversation that has just been created: the assistant answers first.
    pub fn new() -> Self {
        ConversationState {
            status: Status::Bot,
            assignee: None,
            unread_count: 0,
            archived: false,
            last_message_at: None,
            last_message_author: None,
            last_customer_message_at: None,
            first_reply_at: None,
            resolved_at: None,
            bot_misses: 0,
            follow_up: None,
            lead_stage: None,
            assistant: None,
            csat_requested_at: None,
            csat: None,
            ai_follow_ups: 0,
            waiting_since: None,
            snooze: None,
        }
    }

    /// A person must answer now: human mode, the customer spoke last, and nobody put it
    /// aside (a snoozed conversation leaves the "Needs reply" view and the badge until it
    /// comes back, and its wait counts again from then).
    pub fn needs_reply(&self) -> bool {
        self.status == Status::Human
            && self.last_message_author == Some(Author::Customer)
            && self.snooze.is_none()
    }

    /// The seed-002 view of a conversation, derived rather than stored.
    pub fn derived_state(&self) -> DerivedState {
        if self.status == Status::Closed {
            DerivedState::Resolved
        } else if self.first_reply_at.is_none() {
            DerivedState::Created
        } else if self.last_message_author == Some(Author::Customer) {
            DerivedState::Pending
        } else {
            DerivedState::Replied
        }
    }

    /// When free-form messages stop being allowed, if the inbox has a service window.
    /// `None` with a window configured means the customer never wrote: the window is shut.
    pub fn window_closes_at(&self, policy: &Policy) -> Option<NaiveDateTime> {
        policy
            .windows
            .service_closes_at(self.last_customer_message_at)
    }

    /// May a free-form (non-template) message be sent now?
    pub fn window_open(&self, now: NaiveDateTime, policy: &Policy) -> bool {
        self.free_form(now, policy, Sender::Assistant).is_ok()
    }

    /// May `sender` send a free-form message now ([`Windows::free_form`] on this
    /// conversation's last customer message).
    pub fn free_form(
        &self,
        now: NaiveDateTime,
        policy: &Policy,
        sender: Sender,
    ) -> Result<Allowed, WindowClosed> {
        policy
            .windows
            .free_form(self.last_customer_message_at, now, sender)
    }

    /// When a person stops being allowed to answer, if the channel gives people longer than
    /// the service window (Messenger and Instagram's `HUMAN_AGENT` tag: 7 days).
    pub fn agent_window_closes_at(&self, policy: &Policy) -> Option<NaiveDateTime> {
        policy
            .windows
            .agent_closes_at(self.last_customer_message_at)
    }

    /// May a human agent send a free-form message now: inside the service window, or inside
    /// the longer agent window where the channel has one.
    pub fn agent_may_reply(&self, now: NaiveDateTime, policy: &Policy) -> bool {
        self.free_form(now, policy, Sender::Agent).is_ok()
    }
}

impl Default for ConversationState {
    fn default() -> Self {
        Self::new()
    }
}

/// Seed 002's status filter: Created / Pending / Replied / Resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DerivedState {
    /// Nobody has answered yet.
    Created,
    /// The customer spoke last and waits for an answer.
    Pending,
    /// We (assistant or agent) spoke last.
    Replied,
    /// Closed.
    Resolved,
}

/// A scheduled reminder to come back to the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub at: NaiveDateTime,
    pub reason: Option<String>,
    pub source: FollowUpSource,
    /// What an AI follow-up sends to the customer when due (an agent's only reminds).
    pub message: Option<String>,
}

/// The presets offered next to "custom" in the contact panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum FollowUpPreset {
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "3h")]
    ThreeHours,
    #[serde(rename = "12h")]
    TwelveHours,
    #[serde(rename = "24h")]
    OneDay,
}

impl FollowUpPreset {
    pub fn after(self) -> Duration {
        match self {
            FollowUpPreset::OneHour => Duration::hours(1),
            FollowUpPreset::ThreeHours => Duration::hours(3),
            FollowUpPreset::TwelveHours => Duration::hours(12),
            FollowUpPreset::OneDay => Duration::hours(24),
        }
    }
}

/// The rules of one inbox, built from configuration. Pure data.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long after the customer's last message free-form messages may go (24 h on
    /// WhatsApp and Messenger, and 7 days for a person on Messenger); none without a window.
    pub windows: Windows,
    /// Phrases with which a customer asks for a person.
    pub handoff_phrases: Arc<HandoffPhrases>,
    /// Billing, fraud, damage and anger phrases: a person, not the assistant, answers those.
    pub complaint_phrases: Arc<HandoffPhrases>,
    /// The status a closed conversation reopens to when the customer writes again.
    pub reopen_to: Status,
    /// Hand off after this many assistant answers in a row that found nothing.
    pub handoff_after_misses: Option<i32>,
    /// An agent replying to a conversation the assistant handles takes it over, so the
    /// assistant never talks over a person.
    pub agent_reply_takes_over: bool,
    /// What the customer is told when the conversation goes to a person; `None`: nothing.
    pub handoff_ack: Option<Arc<HandoffAck>>,
    /// Ask for a 1–5 rating when the conversation closes inside the customer's window.
    pub csat: bool,
    /// The AI's follow-ups; `None`: the AI schedules none.
    pub ai_follow_ups: Option<AiFollowUpRules>,
}

/// How an inbox lets the AI follow up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiFollowUpRules {
    /// At most this many per conversation.
    pub max: i32,
    /// A template is configured for follow-ups due after the window closed.
    pub has_template: bool,
}

/// The acknowledgement a customer gets when their conversation goes to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffAck {
    pub text: String,
    pub hours: Option<BusinessHours>,
    /// `{hours}` is replaced by the business hours.
    pub out_of_hours_text: String,
}

impl HandoffAck {
    /// The text for `now`: the usual one within business hours (or without hours), the
    /// out-of-hours one otherwise.
    pub fn text_at(&self, now: NaiveDateTime) -> String {
        match &self.hours {
            Some(h) if !h.is_open(now) => self.out_of_hours_text.replace("{hours}", &h.describe()),
            _ => self.text.clone(),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            windows: Windows::default(),
            handoff_phrases: Arc::new(HandoffPhrases::defaults()),
            complaint_phrases: Arc::new(HandoffPhrases::complaints()),
            reopen_to: Status::Bot,
            handoff_after_misses: Some(2),
            agent_reply_takes_over: true,
            handoff_ack: None,
            csat: false,
            ai_follow_ups: None,
        }
    }
}

/// Something that happened to the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The customer wrote; `at` is the provider's timestamp. `rating` is the message read as
    /// a 1–5 rating ([`super::csat::parse_rating`]): the actor reads it only while a survey
    /// awaits an answer ([`ConversationState::awaits_rating`]), so ordinary messages pay
    /// nothing.
    CustomerMessage {
        text: String,
        at: NaiveDateTime,
        rating: Option<CsatScore>,
    },
    /// The assistant's answer is about to be stored. `matched` is false when it found nothing.
    /// The conversation records which assistant answered; a lead stage the assistant judged
    /// is taken only when none is set (a person's choice sticks).
    AssistantReplied {
        matched: bool,
        at: NaiveDateTime,
        assistant: AssistantId,
        lead_stage: Option<LeadStage>,
    },
    /// The assistant decided a person should answer (a language model's `handoff`). What it
    /// told the customer, if anything, is sent as the handoff's acknowledgement (instead of
    /// the inbox's): like it, not a reply, so the conversation still needs one.
    AssistantHandedOff {
        assistant: AssistantId,
        reason: String,
        text: Option<String>,
    },
    /// The assistant could not answer (it failed, its budget is spent, or its answer could
    /// not be stored after retries): a person must, so the customer is never left without
    /// an answer. The reason is [`HandoffReason::AssistantUnavailable`] or
    /// [`HandoffReason::AssistantBudgetExhausted`].
    AssistantUnavailable(HandoffReason),
    /// An agent's reply to the customer is about to be stored.
    AgentReplied {
        agent: AgentId,
        at: NaiveDateTime,
    },
    /// An agent sends an approved template: allowed outside the service window (it is how a
    /// business writes first, or again after the window closed).
    TemplateSent {
        agent: AgentId,
        at: NaiveDateTime,
    },
    /// A private note: visible to agents only, changes nothing else.
    NoteAdded,
    StatusChanged {
        to: Status,
        by: By,
    },
    Assigned {
        agent: Option<AgentId>,
        by: By,
    },
    /// An agent takes an unassigned conversation: refused if someone else holds it, so of two
    /// agents taking at once exactly one wins.
    Claimed {
        agent: AgentId,
    },
    LeadStageSet(Option<LeadStage>),
    MarkedRead,
    MarkedUnread,
    Archived(bool),
    FollowUpScheduled {
        at: NaiveDateTime,
        reason: Option<String>,
        by: By,
    },
    FollowUpCancelled {
        by: By,
    },
    /// The follow-up timer fired.
    FollowUpDue,
    /// The review's suggestions: a lead stage (taken only when none is set, so a person's
    /// choice sticks) and an AI follow-up (taken when the inbox allows one, none is
    /// scheduled and the cap is not reached).
    ReviewSuggested {
        lead_stage: Option<LeadStage>,
        follow_up: Option<AiFollowUp>,
    },
    /// An agent sets, corrects or (with `None`) clears the satisfaction score.
    CsatSet {
        score: Option<CsatScore>,
        by: AgentId,
    },
    /// An agent puts the conversation aside until `until`, or until the customer writes.
    /// Snoozing again replaces the time.
    Snoozed {
        until: Option<NaiveDateTime>,
        by: AgentId,
    },
    /// An agent brings a snoozed conversation back early.
    Unsnoozed {
        by: AgentId,
    },
    /// The snooze timer fired.
    SnoozeDue,
}

/// A follow-up the AI wants to send: when, what, and why (shown to agents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiFollowUp {
    pub at: NaiveDateTime,
    pub message: String,
    pub reason: String,
}

/// What the actor must do after a transition, besides persisting the new state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the assistant to answer the customer's latest message.
    RequestAssistantReply,
    /// Tell online agents that a person is needed (notification + badge).
    HandoffRequested(HandoffReason),
    /// Append a system event to the thread.
    SystemNote(Note),
    /// (Re)arm the follow-up timer for this instant.
    ArmFollowUp(NaiveDateTime),
    CancelFollowUpTimer,
    /// (Re)arm the timer that tells agents the service window shut.
    ArmWindow(NaiveDateTime),
    /// Tell the customer a person will answer (this text); it is not a reply, so the
    /// conversation still needs one.
    AcknowledgeHandoff(String),
    /// Send the AI's follow-up message (inside the window).
    SendFollowUp(String),
    /// Send the inbox's follow-up template (the window has closed).
    SendFollowUpTemplate,
    /// Ask the customer for a 1–5 rating (the survey of this closing; see [`csat_rules`]).
    AskCsat,
    /// (Re)arm the timer that ends the snooze at this instant.
    ArmSnooze(NaiveDateTime),
    CancelSnoozeTimer,
}

/// An event the rules refuse; the actor turns it into a 4xx (or drops an assistant reply).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The assistant answers only conversations in `bot` status; a takeover wins.
    #[error("the assistant no longer handles this conversation (status {0})")]
    AssistantSilenced(Status),
    #[error("the service window is closed; only an approved template can be sent")]
    WindowClosed { closed_at: Option<NaiveDateTime> },
    #[error("a follow-up must be scheduled in the future")]
    FollowUpInPast,
    #[error("the conversation is already assigned to another agent")]
    AlreadyAssigned,
    #[error("a snooze must end in the future")]
    SnoozeInPast,
    #[error("a resolved conversation cannot be snoozed")]
    SnoozeClosed,
    #[error("the conversation is not snoozed")]
    NotSnoozed,
}

/// How far before its arrival a provider's timestamp is believed: providers retry a webhook
/// for up to about a week (WhatsApp: 7 days), and their service windows (Messenger's 7-day
/// human-agent tag) count from their own timestamp, so a week-old time must stay as it is.
pub const BELIEVED_PAST: Duration = Duration::days(30);
/// How far after its arrival: a sender's clock a little ahead.
pub const BELIEVED_FUTURE: Duration = Duration::minutes(5);

/// The time a customer message is filed under, and the provider's own time when that was not
/// believable: a timestamp far in the past (`0`, a year before 1970) or in the future would
/// bury the message at the top of the thread or pin it to the bottom, so it is replaced by
/// the arrival time and kept aside.
pub fn believable_time(
    provider: NaiveDateTime,
    arrived: NaiveDateTime,
) -> (NaiveDateTime, Option<NaiveDateTime>) {
    if provider < arrived - BELIEVED_PAST || provider > arrived + BELIEVED_FUTURE {
        (arrived, Some(provider))
    } else {
        (provider, None)
    }
}

/// Outcome of a transition.
pub type Transition = Result<(ConversationState, Vec<Effect>), TransitionError>;

/// Apply one event. `now` is the server clock (for windows and timers); message times come in
/// the event.
pub fn transition(s: &ConversationState, ev: &Event, now: NaiveDateTime, p: &Policy) -> Transition {
    let (mut n, fx) = apply(s, ev, now, p)?;
    settle_waiting(&mut n, now);
    Ok((n, fx))
}

/// Since when a person has owed the customer an answer, kept in step with
/// [`ConversationState::needs_reply`] after every event: set when the conversation starts
/// needing a reply (handed to a person with the customer unanswered, or the customer writing
/// to a person), kept while it does, cleared when it no longer does. Server time, so a late
/// or out-of-order provider timestamp cannot make a wait look longer than it was.
fn settle_waiting(n: &mut ConversationState, now: NaiveDateTime) {
    n.waiting_since = match (n.needs_reply(), n.waiting_since) {
        (true, Some(since)) => Some(since),
        (true, None) => Some(now),
        (false, _) => None,
    };
}

fn apply(s: &ConversationState, ev: &Event, now: NaiveDateTime, p: &Policy) -> Transition {
    let mut n = s.clone();
    let mut fx = Vec::new();
    match ev {
        Event::CustomerMessage { text, at, rating } => match rating {
            Some(score) if s.awaits_rating(now) => {
                csat_rules::rated(&mut n, &mut fx, *score, *at, p);
            }
            _ => {
                // Whatever else the customer says ends the wait for a rating.
                n.csat_requested_at = None;
                customer_wrote(&mut n, &mut fx, text, *at, p, now);
            }
        },
        Event::AssistantReplied {
            matched,
            at,
            assistant,
            lead_stage,
        } => {
            if s.status != Status::Bot {
                return Err(TransitionError::AssistantSilenced(s.status));
            }
            require_window(s, now, p)?;
            n.assistant = Some(assistant.clone());
            if n.lead_stage.is_none() {
                n.lead_stage = *lead_stage;
            }
            assistant_replied(&mut n, &mut fx, *matched, *at, p, now);
        }
        Event::AssistantHandedOff {
            assistant,
            reason,
            text,
        } => {
            if s.status != Status::Bot {
                return Err(TransitionError::AssistantSilenced(s.status));
            }
            n.assistant = Some(assistant.clone());
            let reason = HandoffReason::AssistantHandoff {
                reason: reason.clone(),
            };
            hand_off(&mut n, &mut fx, reason, p, now);
            if let Some(text) = text {
                fx.retain(|e| !matches!(e, Effect::AcknowledgeHandoff(_)));
                if s.window_open(now, p) {
                    fx.push(Effect::AcknowledgeHandoff(text.clone()));
                }
            }
        }
        Event::AssistantUnavailable(reason) => {
            if s.status == Status::Bot && s.last_message_author == Some(Author::Customer) {
                hand_off(&mut n, &mut fx, reason.clone(), p, now);
            }
        }
        Event::AgentReplied { agent, at } => {
            if let Err(closed) = s.free_form(now, p, Sender::Agent) {
                return Err(TransitionError::WindowClosed {
                    closed_at: closed.closed_at,
                });
            }
            agent_wrote(&mut n, &mut fx, *agent, *at, p);
        }
        Event::TemplateSent { agent, at } => agent_wrote(&mut n, &mut fx, *agent, *at, p),
        Event::NoteAdded => {}
        Event::StatusChanged { to, by } => {
            if s.status != *to {
                status_changed(s.status, &mut n, &mut fx, *to, *by, now);
                csat_rules::status_changed(&mut n, &mut fx, *to, p, now);
            }
        }
        Event::Assigned { agent, by } => {
            if s.assignee == *agent {
                return Ok((n, fx));
            }
            n.assignee = *agent;
            fx.push(Effect::SystemNote(Note::Assigned {
                to: *agent,
                by: *by,
            }));
        }
        Event::Claimed { agent } => match s.assignee {
            Some(a) if a == *agent => {}
            Some(_) => return Err(TransitionError::AlreadyAssigned),
            None => {
                n.assignee = Some(*agent);
                fx.push(Effect::SystemNote(Note::Claimed { agent: *agent }));
            }
        },
        Event::LeadStageSet(stage) => n.lead_stage = *stage,
        Event::MarkedRead => n.unread_count = 0,
        Event::MarkedUnread => n.unread_count = n.unread_count.max(1),
        Event::Archived(archived) => n.archived = *archived,
        Event::FollowUpScheduled { at, reason, by } => {
            if *at <= now {
                return Err(TransitionError::FollowUpInPast);
            }
            n.follow_up = Some(FollowUp {
                at: *at,
                reason: reason.clone(),
                source: FollowUpSource::Agent,
                message: None,
            });
            fx.push(Effect::ArmFollowUp(*at));
            fx.push(Effect::SystemNote(Note::FollowUpScheduled {
                at: *at,
                reason: reason.clone(),
                by: *by,
            }));
        }
        Event::FollowUpCancelled { by } => {
            if n.follow_up.take().is_some() {
                fx.push(Effect::CancelFollowUpTimer);
                fx.push(Effect::SystemNote(Note::FollowUpCancelled { by: *by }));
            }
        }
        Event::FollowUpDue => follow_up_due(&mut n, &mut fx, now, p),
        Event::ReviewSuggested {
            lead_stage,
            follow_up,
        } => {
            if n.lead_stage.is_none() {
                n.lead_stage = *lead_stage;
            }
            if let Some(f) = follow_up {
                schedule_ai_follow_up(&mut n, &mut fx, f, now, p);
            }
        }
        Event::CsatSet { score, by } => csat_rules::set_by_agent(&mut n, &mut fx, *score, *by),
        Event::Snoozed { until, by } => {
            if s.status == Status::Closed {
                return Err(TransitionError::SnoozeClosed);
            }
            if until.is_some_and(|at| at <= now) {
                return Err(TransitionError::SnoozeInPast);
            }
            n.snooze = Some(Snooze { until: *until });
            fx.push(match until {
                Some(at) => Effect::ArmSnooze(*at),
                None => Effect::CancelSnoozeTimer,
            });
            fx.push(Effect::SystemNote(Note::Snoozed {
                until: *until,
                by: *by,
            }));
        }
        Event::Unsnoozed { by } => {
            if s.snooze.is_none() {
                return Err(TransitionError::NotSnoozed);
            }
            end_snooze(&mut n, &mut fx, SnoozeEnd::Woken(*by));
        }
        Event::SnoozeDue => match s.snooze.and_then(|z| z.until) {
            Some(at) if at > now => fx.push(Effect::ArmSnooze(at)),
            Some(_) => {
                end_snooze(&mut n, &mut fx, SnoozeEnd::TimeUp);
                // Back by itself: shown as unread so the agent sees it returned.
                n.unread_count = n.unread_count.max(1);
            }
            None => {}
        },
    }
    Ok((n, fx))
}

/// Ends the snooze, if any: the timer is cancelled and the thread says why.
fn end_snooze(n: &mut ConversationState, fx: &mut Vec<Effect>, why: SnoozeEnd) {
    if n.snooze.take().is_some() {
        fx.push(Effect::CancelSnoozeTimer);
        fx.push(Effect::SystemNote(Note::Unsnoozed { why }));
    }
}

/// The customer wrote: unread, latest, and reopened if closed; in `bot` status a handoff or
/// complaint phrase sends it to a person, anything else asks the assistant.
fn customer_wrote(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    text: &str,
    at: NaiveDateTime,
    p: &Policy,
    now: NaiveDateTime,
) {
    n.unread_count = n.unread_count.saturating_add(1);
    touch_last(n, at, Author::Customer, now);
    cancel_ai_follow_up(n, fx, AiFollowUpCancel::CustomerWrote);
    end_snooze(n, fx, SnoozeEnd::CustomerWrote);
    n.last_customer_message_at = Some(max_time(n.last_customer_message_at, at));
    if n.status == Status::Closed {
        n.status = p.reopen_to;
        n.resolved_at = None;
        fx.push(Effect::SystemNote(Note::Reopened { to: p.reopen_to }));
    }
    if n.status == Status::Bot {
        let reason = if let Some(phrase) = p.handoff_phrases.find(text) {
            Some(HandoffReason::CustomerAsked {
                phrase: phrase.to_owned(),
            })
        } else {
            p.complaint_phrases
                .find(text)
                .map(|phrase| HandoffReason::Complaint {
                    phrase: phrase.to_owned(),
                })
        };
        match reason {
            Some(reason) => hand_off(n, fx, reason, p, now),
            None => fx.push(Effect::RequestAssistantReply),
        }
    }
    if let Some(closes) = n.window_closes_at(p) {
        fx.push(Effect::ArmWindow(closes));
    }
}

/// The assistant's answer is stored: a miss counts toward the handoff, a match resets it.
fn assistant_replied(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    matched: bool,
    at: NaiveDateTime,
    p: &Policy,
    now: NaiveDateTime,
) {
    touch_last(n, at, Author::Assistant, now);
    n.first_reply_at.get_or_insert(at);
    if matched {
        n.bot_misses = 0;
        return;
    }
    n.bot_misses = n.bot_misses.saturating_add(1);
    if p.handoff_after_misses
        .is_some_and(|limit| n.bot_misses >= limit)
    {
        let misses = n.bot_misses;
        hand_off(
            n,
            fx,
            HandoffReason::AssistantCouldNotHelp { misses },
            p,
            now,
        );
    }
}

/// A status change from `from` to `to` (which differ): taking it as a person assigns it to
/// that agent when nobody has it; closing stamps the resolution, reopening clears it.
fn status_changed(
    from: Status,
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    to: Status,
    by: By,
    now: NaiveDateTime,
) {
    n.status = to;
    match to {
        Status::Human => {
            if let (None, By::Agent(agent)) = (n.assignee, by) {
                n.assignee = Some(agent);
            }
        }
        Status::Bot => n.bot_misses = 0,
        Status::Closed => {
            n.resolved_at = Some(now);
            cancel_ai_follow_up(n, fx, AiFollowUpCancel::Closed);
            // Resolved is out of the open views anyway; a snooze would only come back later.
            if n.snooze.take().is_some() {
                fx.push(Effect::CancelSnoozeTimer);
            }
        }
    }
    if from == Status::Closed {
        n.resolved_at = None;
    }
    fx.push(Effect::SystemNote(Note::StatusChanged { to, by }));
}

/// The follow-up timer fired. An agent's follow-up is done and the conversation shows as
/// unread; the AI's sends its message inside the window, the inbox's template outside it,
/// or is skipped with a note saying why. A timer that fired early (clock skew,
/// rescheduling) is simply armed again.
fn follow_up_due(n: &mut ConversationState, fx: &mut Vec<Effect>, now: NaiveDateTime, p: &Policy) {
    match n.follow_up.clone() {
        None => {}
        Some(f) if f.at > now => fx.push(Effect::ArmFollowUp(f.at)),
        Some(f) if f.source == FollowUpSource::Ai => {
            n.follow_up = None;
            let template = p.ai_follow_ups.is_some_and(|r| r.has_template);
            let send = match (n.window_open(now, p), &f.message) {
                (true, Some(message)) => Some(Effect::SendFollowUp(message.clone())),
                (false, _) if template => Some(Effect::SendFollowUpTemplate),
                _ => None,
            };
            match send {
                Some(effect) => {
                    n.ai_follow_ups = n.ai_follow_ups.saturating_add(1);
                    touch_last(n, now, Author::Assistant, now);
                    let template = matches!(effect, Effect::SendFollowUpTemplate);
                    fx.push(effect);
                    fx.push(Effect::SystemNote(Note::AiFollowUpTriggered { template }));
                }
                None => fx.push(Effect::SystemNote(Note::AiFollowUpSkipped {
                    reason: "the customer's service window has closed and the inbox has no follow-up template".to_owned(),
                })),
            }
        }
        Some(f) => {
            n.follow_up = None;
            n.unread_count = n.unread_count.max(1);
            fx.push(Effect::SystemNote(Note::FollowUpDue { reason: f.reason }));
        }
    }
}

/// The AI schedules a follow-up when the inbox lets it, the conversation is open, nothing is
/// scheduled already (an agent's own follow-up is never replaced), and fewer than the
/// inbox's maximum were sent. A time already past is moved to now (it fires at once).
fn schedule_ai_follow_up(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    f: &AiFollowUp,
    now: NaiveDateTime,
    p: &Policy,
) {
    let Some(rules) = p.ai_follow_ups else {
        return;
    };
    if n.status == Status::Closed || n.follow_up.is_some() || n.ai_follow_ups >= rules.max {
        return;
    }
    let at = f.at.max(now);
    n.follow_up = Some(FollowUp {
        at,
        reason: Some(f.reason.clone()),
        source: FollowUpSource::Ai,
        message: Some(f.message.clone()),
    });
    fx.push(Effect::ArmFollowUp(at));
    fx.push(Effect::SystemNote(Note::AiFollowUpScheduled {
        at,
        reason: f.reason.clone(),
    }));
}

/// Why an AI follow-up was called off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiFollowUpCancel {
    CustomerWrote,
    Closed,
}

/// A customer reply or a close calls off the AI's follow-up (an agent's stays: it is their
/// reminder).
fn cancel_ai_follow_up(n: &mut ConversationState, fx: &mut Vec<Effect>, why: AiFollowUpCancel) {
    if n.follow_up
        .as_ref()
        .is_some_and(|f| f.source == FollowUpSource::Ai)
    {
        n.follow_up = None;
        fx.push(Effect::CancelFollowUpTimer);
        fx.push(Effect::SystemNote(Note::AiFollowUpCancelled { why }));
    }
}

/// An agent's message to the customer (a reply or a template): the agent has read the
/// conversation, and answering in `bot` status takes it over when the policy says so.
fn agent_wrote(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    agent: AgentId,
    at: NaiveDateTime,
    p: &Policy,
) {
    touch_last(n, at, Author::Agent, at);
    n.first_reply_at.get_or_insert(at);
    // Answering means the agent has read the conversation.
    n.unread_count = 0;
    if n.status != Status::Human && p.agent_reply_takes_over {
        n.status = Status::Human;
        n.resolved_at = None;
        fx.push(Effect::SystemNote(Note::AgentReplyTookOver { agent }));
    }
    if n.assignee.is_none() {
        n.assignee = Some(agent);
    }
}

/// The conversation goes to a person: agents are told why, and the customer that someone is
/// coming (when the inbox says so).
fn hand_off(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    reason: HandoffReason,
    p: &Policy,
    now: NaiveDateTime,
) {
    n.status = Status::Human;
    fx.push(Effect::SystemNote(Note::HandedOff(reason.clone())));
    fx.push(Effect::HandoffRequested(reason));
    if let Some(ack) = &p.handoff_ack {
        fx.push(Effect::AcknowledgeHandoff(ack.text_at(now)));
    }
}

/// Makes a message that just arrived the latest one, or not.
///
/// Messages of one side (customer, or assistant and agents) can arrive out of order: among
/// them the latest by provider time is the latest. But a message from the other side that
/// arrives after the latest one is always the latest, whatever its timestamp says: a
/// customer's message delivered late, after our reply, still needs an answer. It then counts
/// from `arrived` (the list shows it on top).
fn touch_last(
    n: &mut ConversationState,
    at: NaiveDateTime,
    author: Author,
    arrived: NaiveDateTime,
) {
    let side = |a: Author| a == Author::Customer;
    match n.last_message_at {
        Some(last) if at < last => {
            if n.last_message_author
                .is_some_and(|a| side(a) != side(author))
            {
                n.last_message_at = Some(last.max(arrived));
                n.last_message_author = Some(author);
            }
        }
        _ => {
            n.last_message_at = Some(at);
            n.last_message_author = Some(author);
        }
    }
}

fn max_time(a: Option<NaiveDateTime>, b: NaiveDateTime) -> NaiveDateTime {
    a.map_or(b, |a| a.max(b))
}

fn require_window(
    s: &ConversationState,
    now: NaiveDateTime,
    p: &Policy,
) -> Result<(), TransitionError> {
    s.free_form(now, p, Sender::Assistant)
        .map(|_| ())
        .map_err(|closed| TransitionError::WindowClosed {
            closed_at: closed.closed_at,
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 21)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn policy() -> Policy {
        Policy::default()
    }

    fn whatsapp() -> Policy {
        Policy {
            windows: Windows::whatsapp(),
            ..Policy::default()
        }
    }

    fn customer(text: &str, at: NaiveDateTime) -> Event {
        Event::CustomerMessage {
            text: text.to_owned(),
            at,
            rating: None,
        }
    }

    fn step(
        s: &ConversationState,
        ev: Event,
        now: NaiveDateTime,
        p: &Policy,
    ) -> (ConversationState, Vec<Effect>) {
        transition(s, &ev, now, p).unwrap()
    }

    fn with_status(status: Status) -> ConversationState {
        ConversationState {
            status,
            ..ConversationState::new()
        }
    }

    fn agent() -> AgentId {
        AgentId::new()
    }

    #[test]
    fn new_conversation_starts_with_the_assistant() {
        let s = ConversationState::new();
        assert_eq!(s.status, Status::Bot);
        assert_eq!(s.derived_state(), DerivedState::Created);
        assert!(!s.needs_reply());
    }

    #[test]
    fn customer_message_in_bot_asks_the_assistant_and_counts_unread() {
        let (n, fx) = step(
            &ConversationState::new(),
            customer("opening hours?", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.status, Status::Bot);
        assert_eq!(n.unread_count, 1);
        assert_eq!(n.last_message_author, Some(Author::Customer));
        assert_eq!(n.last_customer_message_at, Some(t(9, 0)));
        assert_eq!(fx, vec![Effect::RequestAssistantReply]);
        assert_eq!(n.derived_state(), DerivedState::Created);
    }

    #[test]
    fn handoff_phrases_in_every_language_go_to_human() {
        for text in [
            "I need to talk to someone",
            "agent se baat karao",
            "Quiero hablar con una persona, por favor",
            "Quero falar com um atendente",
        ] {
            let (n, fx) = step(
                &ConversationState::new(),
                customer(text, t(9, 0)),
                t(9, 0),
                &policy(),
            );
            assert_eq!(n.status, Status::Human, "{text}");
            assert!(n.needs_reply(), "{text}");
            assert!(
                fx.iter().any(|e| matches!(
                    e,
                    Effect::HandoffRequested(HandoffReason::CustomerAsked { .. })
                )),
                "{text}: {fx:?}"
            );
            assert!(!fx.contains(&Effect::RequestAssistantReply), "{text}");
        }
    }

    #[test]
    fn a_customer_message_arriving_after_our_reply_needs_a_reply_whatever_its_time() {
        let me = agent();
        let p = policy();
        let s = with_status(Status::Human);
        let (s, _) = step(&s, customer("hello", t(9, 0)), t(9, 0), &p);
        let (s, _) = step(
            &s,
            Event::AgentReplied {
                agent: me,
                at: t(9, 5),
            },
            t(9, 5),
            &p,
        );
        let (s, _) = step(&s, Event::MarkedRead, t(9, 5), &p);
        assert!(!s.needs_reply());
        // Delivered at 10:00 with the provider's time 8:00 (a late retry).
        let (late, _) = step(
            &s,
            customer("my order never arrived", t(8, 0)),
            t(10, 0),
            &p,
        );
        assert!(late.needs_reply());
        assert_eq!(late.derived_state(), DerivedState::Pending);
        assert_eq!(late.last_message_author, Some(Author::Customer));
        assert_eq!(
            late.last_message_at,
            Some(t(10, 0)),
            "counts from its arrival"
        );
        assert_eq!(late.unread_count, 1);
        // Our reply after it is the latest again.
        let (answered, _) = step(
            &late,
            Event::AgentReplied {
                agent: me,
                at: t(10, 1),
            },
            t(10, 1),
            &p,
        );
        assert!(!answered.needs_reply());
        assert_eq!(answered.last_message_at, Some(t(10, 1)));
    }

    #[test]
    fn messages_of_one_side_out_of_order_keep_provider_order() {
        let p = policy();
        let s = with_status(Status::Human);
        let (s, _) = step(&s, customer("second", t(9, 5)), t(9, 6), &p);
        let (s2, _) = step(&s, customer("first", t(9, 0)), t(9, 7), &p);
        assert_eq!(
            s2.last_message_at,
            Some(t(9, 5)),
            "the later one stays latest"
        );
        assert!(s2.needs_reply());
    }

    #[test]
    fn unbelievable_provider_times_are_filed_at_arrival_and_kept() {
        let arrived = t(12, 0);
        for (provider, believed) in [
            (t(11, 0), true),
            (arrived - BELIEVED_PAST + Duration::minutes(1), true),
            (arrived - BELIEVED_PAST - Duration::minutes(1), false),
            (arrived + Duration::minutes(4), true),
            (arrived + Duration::minutes(6), false),
            (
                NaiveDate::from_ymd_opt(1970, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                false,
            ),
            (
                NaiveDate::from_ymd_opt(-1199, 3, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                false,
            ),
        ] {
            let (at, kept) = believable_time(provider, arrived);
            if believed {
                assert_eq!((at, kept), (provider, None), "{provider}");
            } else {
                assert_eq!((at, kept), (arrived, Some(provider)), "{provider}");
            }
        }
    }

    #[test]
    fn complaints_go_to_a_person_not_the_assistant() {
        for text in [
            "I was charged twice, this is fraud!!",
            "My package arrived damaged",
            "Me cobraron dos veces",
        ] {
            let (n, fx) = step(
                &ConversationState::new(),
                customer(text, t(9, 0)),
                t(9, 0),
                &policy(),
            );
            assert_eq!(n.status, Status::Human, "{text}");
            assert!(
                fx.iter().any(|e| matches!(
                    e,
                    Effect::HandoffRequested(HandoffReason::Complaint { .. })
                )),
                "{text}: {fx:?}"
            );
            assert!(!fx.contains(&Effect::RequestAssistantReply), "{text}");
        }
        let (n, fx) = step(
            &ConversationState::new(),
            customer("How much is shipping?", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        assert_eq!(
            (n.status, fx),
            (Status::Bot, vec![Effect::RequestAssistantReply])
        );
    }

    #[test]
    fn a_handoff_tells_the_customer_a_person_is_coming_in_or_out_of_hours() {
        let hours = BusinessHours::parse("UTC", &["mon-fri".to_owned()], "09:00", "17:00").unwrap();
        let p = Policy {
            handoff_ack: Some(Arc::new(HandoffAck {
                text: "A person is coming.".into(),
                hours: Some(hours),
                out_of_hours_text: "We are away; back {hours}.".into(),
            })),
            ..Policy::default()
        };
        let monday = |h| {
            NaiveDate::from_ymd_opt(2026, 11, 23)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
        };
        let (_, fx) = step(
            &ConversationState::new(),
            customer("talk to a human", monday(10)),
            monday(10),
            &p,
        );
        assert!(fx.contains(&Effect::AcknowledgeHandoff("A person is coming.".into())));
        let (n, fx) = step(
            &ConversationState::new(),
            customer("talk to a human", monday(20)),
            monday(20),
            &p,
        );
        assert!(fx.contains(&Effect::AcknowledgeHandoff(
            "We are away; back Mon-Fri 09:00-17:00 (UTC).".into()
        )));
        assert!(n.needs_reply(), "an acknowledgement is not an answer");
        // An agent taking over answers themselves: no acknowledgement.
        let (_, fx) = step(
            &ConversationState::new(),
            Event::StatusChanged {
                to: Status::Human,
                by: By::Agent(agent()),
            },
            monday(10),
            &p,
        );
        assert!(!fx
            .iter()
            .any(|e| matches!(e, Effect::AcknowledgeHandoff(_))));
    }

    #[test]
    fn customer_message_in_human_only_waits_for_a_person() {
        let (n, fx) = step(
            &with_status(Status::Human),
            customer("hello?", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.status, Status::Human);
        assert!(fx.is_empty());
        assert!(n.needs_reply());
        // A handoff phrase in human mode does not request a second handoff.
        let (_, fx) = step(&n, customer("talk to a human", t(9, 1)), t(9, 1), &policy());
        assert!(fx.is_empty());
    }

    #[test]
    fn closed_conversation_reopens_to_bot_and_unread_when_the_customer_writes() {
        let s = ConversationState {
            status: Status::Closed,
            resolved_at: Some(t(8, 0)),
            unread_count: 0,
            ..ConversationState::new()
        };
        let (n, fx) = step(
            &s,
            customer("one more question", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.status, Status::Bot);
        assert_eq!(n.unread_count, 1);
        assert_eq!(n.resolved_at, None);
        assert!(matches!(&fx[0], Effect::SystemNote(Note::Reopened { .. })));
        assert_eq!(fx[1], Effect::RequestAssistantReply);
    }

    #[test]
    fn reopen_target_is_a_setting() {
        let p = Policy {
            reopen_to: Status::Human,
            ..policy()
        };
        let (n, fx) = step(
            &with_status(Status::Closed),
            customer("hi", t(9, 0)),
            t(9, 0),
            &p,
        );
        assert_eq!(n.status, Status::Human);
        assert!(!fx.contains(&Effect::RequestAssistantReply));
        assert!(n.needs_reply());
    }

    #[test]
    fn reopened_conversation_still_honours_a_handoff_phrase() {
        let (n, fx) = step(
            &with_status(Status::Closed),
            customer("talk to a human please", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.status, Status::Human);
        assert!(fx.iter().any(|e| matches!(e, Effect::HandoffRequested(_))));
    }

    #[test]
    fn assistant_reply_is_refused_after_a_takeover() {
        for status in [Status::Human, Status::Closed] {
            let err = transition(
                &with_status(status),
                &Event::AssistantReplied {
                    matched: true,
                    at: t(9, 0),
                    assistant: AssistantId::from("kb"),
                    lead_stage: None,
                },
                t(9, 0),
                &policy(),
            )
            .unwrap_err();
            assert_eq!(err, TransitionError::AssistantSilenced(status));
        }
    }

    #[test]
    fn assistant_reply_marks_replied_and_resets_misses() {
        let s = ConversationState {
            bot_misses: 1,
            ..ConversationState::new()
        };
        let (s, _) = step(&s, customer("hours?", t(9, 0)), t(9, 0), &policy());
        let (n, fx) = step(
            &s,
            Event::AssistantReplied {
                matched: true,
                at: t(9, 1),
                assistant: AssistantId::from("kb"),
                lead_stage: None,
            },
            t(9, 1),
            &policy(),
        );
        assert!(fx.is_empty());
        assert_eq!(n.bot_misses, 0);
        assert_eq!(n.first_reply_at, Some(t(9, 1)));
        assert_eq!(n.derived_state(), DerivedState::Replied);
        assert_eq!(n.last_message_author, Some(Author::Assistant));
    }

    #[test]
    fn repeated_misses_hand_off_when_configured() {
        let miss = Event::AssistantReplied {
            matched: false,
            at: t(9, 1),
            assistant: AssistantId::from("kb"),
            lead_stage: None,
        };
        let (n, fx) = step(&ConversationState::new(), miss.clone(), t(9, 1), &policy());
        assert_eq!((n.status, n.bot_misses), (Status::Bot, 1));
        assert!(fx.is_empty());
        let (n, fx) = step(&n, miss.clone(), t(9, 2), &policy());
        assert_eq!(n.status, Status::Human);
        assert!(fx.contains(&Effect::HandoffRequested(
            HandoffReason::AssistantCouldNotHelp { misses: 2 }
        )));

        let never = Policy {
            handoff_after_misses: None,
            ..policy()
        };
        let mut s = ConversationState::new();
        for _ in 0..5 {
            s = step(&s, miss.clone(), t(9, 3), &never).0;
        }
        assert_eq!((s.status, s.bot_misses), (Status::Bot, 5));
    }

    #[test]
    fn agent_reply_takes_over_assigns_and_reads() {
        let a = agent();
        let s = ConversationState {
            unread_count: 3,
            ..ConversationState::new()
        };
        let (n, fx) = step(
            &s,
            Event::AgentReplied {
                agent: a,
                at: t(9, 0),
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.status, Status::Human);
        assert_eq!(n.assignee, Some(a));
        assert_eq!(n.unread_count, 0);
        assert_eq!(fx.len(), 1);
        assert!(!n.needs_reply());

        let keep = Policy {
            agent_reply_takes_over: false,
            ..policy()
        };
        let (n, fx) = step(
            &s,
            Event::AgentReplied {
                agent: a,
                at: t(9, 0),
            },
            t(9, 0),
            &keep,
        );
        assert_eq!(n.status, Status::Bot);
        assert!(fx.is_empty());
    }

    #[test]
    fn agent_reply_keeps_an_existing_assignee() {
        let (a, b) = (agent(), agent());
        let s = ConversationState {
            status: Status::Human,
            assignee: Some(a),
            ..ConversationState::new()
        };
        let (n, fx) = step(
            &s,
            Event::AgentReplied {
                agent: b,
                at: t(9, 0),
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.assignee, Some(a));
        assert!(fx.is_empty());
    }

    #[test]
    fn service_window_is_24h_after_the_customers_last_message() {
        let p = whatsapp();
        let (s, fx) = step(
            &ConversationState::new(),
            customer("hi", t(9, 0)),
            t(9, 0),
            &p,
        );
        let closes = t(9, 0) + Duration::hours(24);
        assert!(fx.contains(&Effect::ArmWindow(closes)));
        assert_eq!(s.window_closes_at(&p), Some(closes));
        assert!(s.window_open(closes - Duration::seconds(1), &p));
        assert!(!s.window_open(closes, &p));

        let reply = Event::AgentReplied {
            agent: agent(),
            at: closes,
        };
        assert_eq!(
            transition(&s, &reply, closes, &p).unwrap_err(),
            TransitionError::WindowClosed {
                closed_at: Some(closes)
            }
        );
        assert!(transition(&s, &reply, closes - Duration::minutes(1), &p).is_ok());
    }

    #[test]
    fn window_is_shut_when_the_customer_never_wrote_and_open_without_a_window() {
        let s = ConversationState::new();
        assert!(!s.window_open(t(9, 0), &whatsapp()));
        let err = transition(
            &s,
            &Event::AgentReplied {
                agent: agent(),
                at: t(9, 0),
            },
            t(9, 0),
            &whatsapp(),
        )
        .unwrap_err();
        assert_eq!(err, TransitionError::WindowClosed { closed_at: None });
        assert!(s.window_open(t(9, 0), &policy()));
    }

    #[test]
    fn a_new_customer_message_reopens_the_window() {
        let p = whatsapp();
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(0, 0)),
            t(0, 0),
            &p,
        );
        let late = t(0, 0) + Duration::hours(30);
        assert!(!s.window_open(late, &p));
        let (s, _) = step(&s, customer("still there?", late), late, &p);
        assert!(s.window_open(late + Duration::hours(23), &p));
    }

    fn messenger() -> Policy {
        Policy {
            windows: Windows::messenger(),
            ..Policy::default()
        }
    }

    #[test]
    fn a_template_is_allowed_outside_the_window_and_counts_as_the_agents_reply() {
        let p = whatsapp();
        let a = agent();
        // The customer never wrote: the window is shut, yet a template may open the talk.
        let s = ConversationState {
            unread_count: 2,
            ..ConversationState::new()
        };
        assert!(transition(
            &s,
            &Event::AgentReplied {
                agent: a,
                at: t(9, 0)
            },
            t(9, 0),
            &p
        )
        .is_err());
        let (n, fx) = step(
            &s,
            Event::TemplateSent {
                agent: a,
                at: t(9, 0),
            },
            t(9, 0),
            &p,
        );
        assert_eq!(n.status, Status::Human);
        assert_eq!(n.assignee, Some(a));
        assert_eq!(n.unread_count, 0);
        assert_eq!(n.first_reply_at, Some(t(9, 0)));
        assert_eq!(n.last_message_author, Some(Author::Agent));
        assert_eq!(
            n.last_customer_message_at, None,
            "only the customer opens the window"
        );
        assert!(!n.window_open(t(9, 1), &p));
        assert!(matches!(
            &fx[..],
            [Effect::SystemNote(Note::AgentReplyTookOver { agent })] if *agent == a
        ));
        // Long after the customer's last message, too.
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(0, 0)),
            t(0, 0),
            &p,
        );
        let late = t(0, 0) + Duration::days(3);
        assert!(transition(&s, &Event::TemplateSent { agent: a, at: late }, late, &p).is_ok());
    }

    #[test]
    fn people_may_answer_for_seven_days_on_messenger_the_assistant_for_one() {
        let p = messenger();
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(0, 0)),
            t(0, 0),
            &p,
        );
        let day2 = t(0, 0) + Duration::hours(30);
        let reply = |at| Event::AgentReplied { agent: agent(), at };
        assert!(!s.window_open(day2, &p));
        assert!(s.agent_may_reply(day2, &p));
        assert!(transition(&s, &reply(day2), day2, &p).is_ok());
        let bot = Event::AssistantReplied {
            matched: true,
            at: day2,
            assistant: AssistantId::from("kb"),
            lead_stage: None,
        };
        assert_eq!(
            transition(&s, &bot, day2, &p).unwrap_err(),
            TransitionError::WindowClosed {
                closed_at: Some(t(0, 0) + Duration::hours(24))
            }
        );
        let week = t(0, 0) + Duration::days(7);
        assert_eq!(s.agent_window_closes_at(&p), Some(week));
        assert!(transition(
            &s,
            &reply(week - Duration::seconds(1)),
            week - Duration::seconds(1),
            &p
        )
        .is_ok());
        assert_eq!(
            transition(&s, &reply(week), week, &p).unwrap_err(),
            TransitionError::WindowClosed {
                closed_at: Some(week)
            }
        );
        // Channels without an agent window give people the service window only.
        assert!(!s.agent_may_reply(day2, &whatsapp()));
        assert_eq!(s.agent_window_closes_at(&whatsapp()), None);
    }

    #[test]
    fn out_of_order_messages_keep_the_latest_as_last() {
        let (s, _) = step(
            &ConversationState::new(),
            customer("second", t(9, 5)),
            t(9, 6),
            &policy(),
        );
        let (s, _) = step(&s, customer("first", t(9, 0)), t(9, 6), &policy());
        assert_eq!(s.last_message_at, Some(t(9, 5)));
        assert_eq!(s.last_customer_message_at, Some(t(9, 5)));
        assert_eq!(s.unread_count, 2);
    }

    #[test]
    fn status_switches_and_their_notes() {
        let a = agent();
        // Take over: assigns the agent who took it.
        let (n, fx) = step(
            &ConversationState::new(),
            Event::StatusChanged {
                to: Status::Human,
                by: By::Agent(a),
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!((n.status, n.assignee), (Status::Human, Some(a)));
        assert!(matches!(
            &fx[..],
            [Effect::SystemNote(Note::StatusChanged {
                to: Status::Human,
                ..
            })]
        ));
        // Hand back resets misses.
        let s = ConversationState { bot_misses: 2, ..n };
        let (n, fx) = step(
            &s,
            Event::StatusChanged {
                to: Status::Bot,
                by: By::Agent(a),
            },
            t(9, 1),
            &policy(),
        );
        assert_eq!((n.status, n.bot_misses), (Status::Bot, 0));
        assert!(matches!(
            &fx[..],
            [Effect::SystemNote(Note::StatusChanged {
                to: Status::Bot,
                ..
            })]
        ));
        // Close sets resolved.
        let (n, _) = step(
            &n,
            Event::StatusChanged {
                to: Status::Closed,
                by: By::Agent(a),
            },
            t(9, 2),
            &policy(),
        );
        assert_eq!(n.resolved_at, Some(t(9, 2)));
        assert_eq!(n.derived_state(), DerivedState::Resolved);
        // Reopen by an agent clears it.
        let (n, _) = step(
            &n,
            Event::StatusChanged {
                to: Status::Bot,
                by: By::Agent(a),
            },
            t(9, 3),
            &policy(),
        );
        assert_eq!(n.resolved_at, None);
        // Same status: nothing happens.
        let (same, fx) = step(
            &n,
            Event::StatusChanged {
                to: Status::Bot,
                by: By::System,
            },
            t(9, 4),
            &policy(),
        );
        assert_eq!(same, n);
        assert!(fx.is_empty());
    }

    #[test]
    fn taking_over_keeps_an_existing_assignee() {
        let (a, b) = (agent(), agent());
        let s = ConversationState {
            assignee: Some(a),
            ..ConversationState::new()
        };
        let (n, _) = step(
            &s,
            Event::StatusChanged {
                to: Status::Human,
                by: By::Agent(b),
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.assignee, Some(a));
    }

    #[test]
    fn assignment_and_unassignment() {
        let a = agent();
        let (n, fx) = step(
            &ConversationState::new(),
            Event::Assigned {
                agent: Some(a),
                by: By::System,
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.assignee, Some(a));
        assert_eq!(fx.len(), 1);
        let (n2, fx) = step(
            &n,
            Event::Assigned {
                agent: Some(a),
                by: By::System,
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n2, n);
        assert!(fx.is_empty());
        let (n, fx) = step(
            &n,
            Event::Assigned {
                agent: None,
                by: By::System,
            },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.assignee, None);
        assert!(matches!(
            &fx[..],
            [Effect::SystemNote(Note::Assigned { to: None, .. })]
        ));
    }

    #[test]
    fn claiming_wins_only_when_unassigned() {
        let (a, b) = (agent(), agent());
        let (n, fx) = step(
            &ConversationState::new(),
            Event::Claimed { agent: a },
            t(9, 0),
            &policy(),
        );
        assert_eq!(n.assignee, Some(a));
        assert_eq!(fx.len(), 1);
        // The second claimer loses; the first claiming again is a no-op.
        let err = transition(&n, &Event::Claimed { agent: b }, t(9, 0), &policy()).unwrap_err();
        assert_eq!(err, TransitionError::AlreadyAssigned);
        let (again, fx) = step(&n, Event::Claimed { agent: a }, t(9, 0), &policy());
        assert_eq!((again, fx), (n, vec![]));
    }

    #[test]
    fn lead_stage_is_set_and_cleared() {
        let (n, fx) = step(
            &ConversationState::new(),
            Event::LeadStageSet(Some(LeadStage::QuoteRequest)),
            t(9, 0),
            &policy(),
        );
        assert_eq!((n.lead_stage, fx), (Some(LeadStage::QuoteRequest), vec![]));
        let (n, _) = step(&n, Event::LeadStageSet(None), t(9, 0), &policy());
        assert_eq!(n.lead_stage, None);
    }

    #[test]
    fn read_unread_archive_and_notes() {
        let s = ConversationState {
            unread_count: 4,
            ..ConversationState::new()
        };
        let (n, fx) = step(&s, Event::MarkedRead, t(9, 0), &policy());
        assert_eq!(n.unread_count, 0);
        assert!(fx.is_empty());
        let (n, _) = step(&n, Event::MarkedUnread, t(9, 0), &policy());
        assert_eq!(n.unread_count, 1);
        let (n2, _) = step(&s, Event::MarkedUnread, t(9, 0), &policy());
        assert_eq!(n2.unread_count, 4, "marking unread never lowers the count");
        let (n, _) = step(&n, Event::Archived(true), t(9, 0), &policy());
        assert!(n.archived);
        let (n2, fx) = step(&n, Event::NoteAdded, t(9, 0), &policy());
        assert_eq!(n2, n);
        assert!(fx.is_empty());
    }

    #[test]
    fn follow_ups_schedule_cancel_and_fire() {
        let p = policy();
        let at = t(9, 0) + FollowUpPreset::ThreeHours.after();
        let (s, fx) = step(
            &ConversationState::new(),
            Event::FollowUpScheduled {
                at,
                reason: Some("send quote".into()),
                by: By::System,
            },
            t(9, 0),
            &p,
        );
        assert_eq!(
            s.follow_up,
            Some(FollowUp {
                at,
                reason: Some("send quote".into()),
                source: FollowUpSource::Agent,
                message: None,
            })
        );
        assert_eq!(fx[0], Effect::ArmFollowUp(at));

        // Early fire (a stale timer) re-arms without clearing.
        let (early, fx) = step(&s, Event::FollowUpDue, t(10, 0), &p);
        assert_eq!(early.follow_up, s.follow_up);
        assert_eq!(fx, vec![Effect::ArmFollowUp(at)]);

        // Due: cleared, unread, a note with the reason.
        let (due, fx) = step(&s, Event::FollowUpDue, at, &p);
        assert_eq!(due.follow_up, None);
        assert_eq!(due.unread_count, 1);
        assert!(
            matches!(&fx[..], [Effect::SystemNote(Note::FollowUpDue { reason: Some(r) })] if r == "send quote")
        );

        // Cancel.
        let (c, fx) = step(
            &s,
            Event::FollowUpCancelled { by: By::System },
            t(9, 30),
            &p,
        );
        assert_eq!(c.follow_up, None);
        assert_eq!(fx[0], Effect::CancelFollowUpTimer);
        // Cancelling nothing, or a due timer after cancel, does nothing.
        let (c2, fx) = step(
            &c,
            Event::FollowUpCancelled { by: By::System },
            t(9, 30),
            &p,
        );
        assert_eq!((c2, fx), (c.clone(), vec![]));
        let (c3, fx) = step(&c, Event::FollowUpDue, at, &p);
        assert_eq!((c3, fx), (c, vec![]));
    }

    #[test]
    fn follow_up_in_the_past_is_refused() {
        for at in [t(8, 0), t(9, 0)] {
            let err = transition(
                &ConversationState::new(),
                &Event::FollowUpScheduled {
                    at,
                    reason: None,
                    by: By::System,
                },
                t(9, 0),
                &policy(),
            )
            .unwrap_err();
            assert_eq!(err, TransitionError::FollowUpInPast);
        }
    }

    #[test]
    fn presets_are_1_3_12_24_hours() {
        let hours: Vec<i64> = [
            FollowUpPreset::OneHour,
            FollowUpPreset::ThreeHours,
            FollowUpPreset::TwelveHours,
            FollowUpPreset::OneDay,
        ]
        .iter()
        .map(|p| p.after().num_hours())
        .collect();
        assert_eq!(hours, vec![1, 3, 12, 24]);
        assert_eq!(
            serde_json::from_str::<FollowUpPreset>("\"12h\"").ok(),
            Some(FollowUpPreset::TwelveHours)
        );
    }

    #[test]
    fn derived_states_follow_the_last_author() {
        let p = policy();
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(9, 0)),
            t(9, 0),
            &p,
        );
        assert_eq!(s.derived_state(), DerivedState::Created);
        let (s, _) = step(
            &s,
            Event::AssistantReplied {
                matched: true,
                at: t(9, 1),
                assistant: AssistantId::from("kb"),
                lead_stage: None,
            },
            t(9, 1),
            &p,
        );
        assert_eq!(s.derived_state(), DerivedState::Replied);
        let (s, _) = step(&s, customer("and?", t(9, 2)), t(9, 2), &p);
        assert_eq!(s.derived_state(), DerivedState::Pending);
        let (s, _) = step(
            &s,
            Event::StatusChanged {
                to: Status::Closed,
                by: By::System,
            },
            t(9, 3),
            &p,
        );
        assert_eq!(s.derived_state(), DerivedState::Resolved);
    }

    #[test]
    fn unread_count_saturates_instead_of_overflowing() {
        let s = ConversationState {
            unread_count: i32::MAX,
            ..with_status(Status::Human)
        };
        let (n, _) = step(&s, customer("x", t(9, 0)), t(9, 0), &policy());
        assert_eq!(n.unread_count, i32::MAX);
    }

    fn answered(lead_stage: Option<LeadStage>) -> Event {
        Event::AssistantReplied {
            matched: true,
            at: t(9, 1),
            assistant: AssistantId::from("sales"),
            lead_stage,
        }
    }

    #[test]
    fn the_assistant_that_answered_is_recorded() {
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        let (n, _) = step(&s, answered(None), t(9, 1), &policy());
        assert_eq!(n.assistant, Some(AssistantId::from("sales")));
    }

    #[test]
    fn the_assistants_lead_stage_never_replaces_one_already_set() {
        let table = [
            (
                None,
                Some(LeadStage::QuoteRequest),
                Some(LeadStage::QuoteRequest),
            ),
            (None, None, None),
            (
                Some(LeadStage::Spam),
                Some(LeadStage::QuoteRequest),
                Some(LeadStage::Spam),
            ),
        ];
        for (set, judged, expected) in table {
            let s = ConversationState {
                lead_stage: set,
                ..ConversationState::new()
            };
            let (s, _) = step(&s, customer("price?", t(9, 0)), t(9, 0), &policy());
            let (n, _) = step(&s, answered(judged), t(9, 1), &policy());
            assert_eq!(n.lead_stage, expected, "{set:?} + {judged:?}");
        }
    }

    #[test]
    fn the_assistant_hands_off_with_its_reason_and_its_words_as_the_acknowledgement() {
        let p = Policy {
            handoff_ack: Some(Arc::new(HandoffAck {
                text: "A person is coming.".into(),
                hours: None,
                out_of_hours_text: String::new(),
            })),
            ..policy()
        };
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(9, 0)),
            t(9, 0),
            &p,
        );
        let table = [
            (Some("A colleague will help."), "A colleague will help."),
            (None, "A person is coming."),
        ];
        for (said, acknowledged) in table {
            let ev = Event::AssistantHandedOff {
                assistant: AssistantId::from("sales"),
                reason: "wants a refund".into(),
                text: said.map(str::to_owned),
            };
            let (n, fx) = step(&s, ev, t(9, 1), &p);
            assert_eq!(n.status, Status::Human);
            assert!(n.needs_reply(), "a handoff still needs a person's reply");
            assert!(
                fx.contains(&Effect::HandoffRequested(HandoffReason::AssistantHandoff {
                    reason: "wants a refund".into()
                }))
            );
            let acks: Vec<&Effect> = fx
                .iter()
                .filter(|e| matches!(e, Effect::AcknowledgeHandoff(_)))
                .collect();
            assert_eq!(acks, [&Effect::AcknowledgeHandoff(acknowledged.into())]);
        }
    }

    #[test]
    fn a_handoff_by_the_assistant_after_a_takeover_is_refused() {
        let ev = Event::AssistantHandedOff {
            assistant: AssistantId::from("sales"),
            reason: "x".into(),
            text: Some("bye".into()),
        };
        let err = transition(&with_status(Status::Human), &ev, t(9, 1), &policy()).unwrap_err();
        assert_eq!(err, TransitionError::AssistantSilenced(Status::Human));
    }

    #[test]
    fn a_spent_budget_hands_off_with_that_reason() {
        let (s, _) = step(
            &ConversationState::new(),
            customer("hi", t(9, 0)),
            t(9, 0),
            &policy(),
        );
        let reason = HandoffReason::AssistantBudgetExhausted;
        let (n, fx) = step(
            &s,
            Event::AssistantUnavailable(reason.clone()),
            t(9, 1),
            &policy(),
        );
        assert_eq!(n.status, Status::Human);
        assert!(fx.contains(&Effect::HandoffRequested(reason)));
    }
}

#[cfg(test)]
#[path = "conversation_csat_tests.rs"]
mod csat_tests;

#[cfg(test)]
#[path = "conversation_follow_up_tests.rs"]
mod follow_up_tests;

#[cfg(test)]
#[path = "conversation_waiting_tests.rs"]
mod waiting_tests;

#[cfg(test)]
#[path = "conversation_snooze_tests.rs"]
mod snooze_tests;
