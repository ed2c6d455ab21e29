//! The JSON shapes clients see, for REST answers and pushed events alike, so a message looks
//! the same whether it was fetched or pushed.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;
use utoipa::{
    openapi::{schema::SchemaType, ObjectBuilder, RefOr, Schema, Type},
    PartialSchema, ToSchema,
};

use crate::{
    db::models::{ContactRow, ConversationRow, MemoryRow, MessageRow},
    domain::{
        conversation::{ConversationState, DerivedState, Policy},
        csat::CsatScore,
        delivery::DeliveryStatus,
        profile::ProfileSource,
        review::Criterion,
        types::{
            Author, ChannelKind, Direction, FollowUpSource, LeadStage, MemoryKind, MessageKind,
            Network, Status,
        },
        AgentId, AssistantId, ContactId, ConversationId, InboxId, MemoryId, MessageId,
    },
    inbox::Inbox,
};

/// A time as the API writes it: UTC, without an offset, to the microsecond
/// (`2026-11-30T06:01:42.019333`; the fraction is left out when it is zero). Only the
/// document uses this type; the fields are `chrono::NaiveDateTime`.
pub struct UtcTime;

/// What [`UtcTime`] looks like.
pub const UTC_TIME_PATTERN: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?$";

impl PartialSchema for UtcTime {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .pattern(Some(UTC_TIME_PATTERN))
            .description(Some(
                "UTC, without an offset, to the microsecond (the fraction is left out when it is zero)",
            ))
            .examples(["2026-11-30T06:01:42.019333"])
            .into()
    }
}

impl ToSchema for UtcTime {}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub author: Author,
    #[schema(required = true)]
    pub agent_id: Option<AgentId>,
    pub text: String,
    pub private: bool,
    #[schema(required = true)]
    pub delivery_status: Option<DeliveryStatus>,
    #[schema(required = true)]
    pub failure_reason: Option<String>,
    #[schema(required = true)]
    pub external_id: Option<String>,
    #[schema(required = true)]
    pub client_id: Option<String>,
    /// Provider time (the order of the thread); the arrival time when the provider's was not
    /// believable.
    #[schema(value_type = UtcTime)]
    pub sent_at: NaiveDateTime,
    /// The provider's own time when it was not believable (far in the past or the future).
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub provider_sent_at: Option<NaiveDateTime>,
    #[schema(value_type = UtcTime)]
    pub created_at: NaiveDateTime,
    pub kind: MessageKind,
    /// The stored file, for agents: `/api/files/{message_id}`. `None` while a provider's file
    /// is still being downloaded (`media_pending`), or when the message has none.
    #[schema(required = true)]
    pub media_url: Option<String>,
    pub media_pending: bool,
    /// Why a provider's file could not be downloaded (it says when it is tried again).
    #[schema(required = true)]
    pub media_error: Option<String>,
    #[schema(required = true)]
    pub media_mime: Option<String>,
    #[schema(required = true)]
    pub media_filename: Option<String>,
    /// What the kind carries: location, interactive reply id, template name and parameters,
    /// caption, the provider id of a quoted message.
    #[schema(value_type = Option<Object>, required = true)]
    pub payload: Option<Value>,
    /// SMS parts of an outbound SMS.
    #[schema(required = true)]
    pub segments: Option<i32>,
}

impl From<&MessageRow> for MessageView {
    fn from(m: &MessageRow) -> Self {
        MessageView {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: m.direction,
            author: m.author,
            agent_id: m.agent_id,
            text: m.body.clone(),
            private: m.private_note,
            delivery_status: m.delivery_status,
            failure_reason: m.failure_reason.clone(),
            external_id: m.external_id.clone(),
            client_id: m.client_id.clone(),
            sent_at: m.sent_at,
            provider_sent_at: m.provider_sent_at,
            created_at: m.created_at,
            kind: m.kind,
            media_url: m
                .media_path
                .as_ref()
                .map(|_| format!("/api/files/{}", m.id)),
            media_pending: m.media_path.is_none()
                && m.media_source.is_some()
                && m.failure_reason.is_none(),
            media_error: m
                .failure_reason
                .clone()
                .filter(|_| m.media_path.is_none() && m.media_source.is_some()),
            media_mime: m.media_mime.clone(),
            media_filename: m.media_filename.clone(),
            payload: m.payload.as_ref().map(|_| m.payload_json()),
            segments: m.segments,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Contact)]
pub struct ContactView {
    pub id: ContactId,
    pub external_id: String,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
    pub blocked: bool,
    /// ISO 3166-1 alpha-2.
    #[schema(required = true)]
    pub country: Option<String>,
    /// Where the country came from (`agent`: a person set it; detection never overwrites it).
    #[schema(required = true)]
    pub country_source: Option<ProfileSource>,
    /// BCP 47.
    #[schema(required = true)]
    pub language: Option<String>,
    #[schema(required = true)]
    pub language_source: Option<ProfileSource>,
    /// IANA time zone of a widget visitor's browser.
    #[schema(required = true)]
    pub time_zone: Option<String>,
    /// A widget visitor's browser, OS and device category (`desktop`, `mobile`, `tablet`,
    /// `other`), from the user agent.
    #[schema(required = true)]
    pub browser: Option<String>,
    #[schema(required = true)]
    pub os: Option<String>,
    #[schema(required = true)]
    pub device: Option<String>,
    /// The direct link to the person: `https://wa.me/<digits>` (WhatsApp), `sms:+…` (SMS),
    /// `tel:+…` (another channel with a phone); `null` when there is none (Messenger and
    /// Instagram give no profile URL). Only in `GET /api/contacts/{id}` and its edits.
    #[schema(required = true)]
    pub link: Option<String>,
    /// When the person stopped broadcasts (an agent, a STOP-style reply or a provider's
    /// opt-out); `null` when subscribed. Broadcasts only: `blocked` stops everything.
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub unsubscribed_at: Option<NaiveDateTime>,
}

impl From<&ContactRow> for ContactView {
    fn from(c: &ContactRow) -> Self {
        let p = &c.profile;
        ContactView {
            id: c.id,
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            blocked: c.blocked,
            country: p.country.clone(),
            country_source: p.country_source,
            language: p.language.clone(),
            language_source: p.language_source,
            time_zone: p.time_zone.clone(),
            browser: p.browser.clone(),
            os: p.os.clone(),
            device: p.device.clone(),
            link: None,
            unsubscribed_at: c.unsubscribed_at,
        }
    }
}

/// A live memory of a contact (see `domain::memory`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Memory)]
pub struct MemoryView {
    pub id: MemoryId,
    /// The contact it was learned from or written for: any contact of the same person.
    pub contact_id: ContactId,
    pub kind: MemoryKind,
    pub text: String,
    /// `name`, `city`, `email`, `phone` or `employer`: a fact with one value at a time, which a
    /// new value replaces.
    #[schema(required = true)]
    pub slot: Option<String>,
    /// The conversation and message it was learned from.
    #[schema(required = true)]
    pub source_conversation_id: Option<ConversationId>,
    #[schema(required = true)]
    pub source_message_id: Option<MessageId>,
    /// The agent who wrote it or last edited it; `null` when it was learned from a message.
    #[schema(required = true)]
    pub created_by: Option<AgentId>,
    #[schema(value_type = UtcTime)]
    pub created_at: NaiveDateTime,
    #[schema(value_type = UtcTime)]
    pub updated_at: NaiveDateTime,
}

impl From<&MemoryRow> for MemoryView {
    fn from(m: &MemoryRow) -> Self {
        MemoryView {
            id: m.id,
            contact_id: m.contact_id,
            kind: m.kind,
            text: m.text.clone(),
            slot: m.slot.clone(),
            source_conversation_id: m.source_conversation_id,
            source_message_id: m.source_message_id,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = FollowUp)]
pub struct FollowUpView {
    #[schema(value_type = UtcTime)]
    pub at: NaiveDateTime,
    #[schema(required = true)]
    pub reason: Option<String>,
    /// `ai`: the AI scheduled it and sends its message when due; `agent`: a reminder.
    pub source: FollowUpSource,
    /// What an AI follow-up will send (`null` for an agent's reminder).
    #[schema(required = true)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Conversation)]
pub struct ConversationView {
    pub id: ConversationId,
    pub inbox_id: InboxId,
    pub channel: ChannelKind,
    /// `sms` / `whatsapp` (Twilio carries both), `messenger`, `instagram`; `None` for the API
    /// channel.
    #[schema(required = true)]
    pub network: Option<Network>,
    pub status: Status,
    /// Seed 002's Created / Pending / Replied / Resolved.
    pub state: DerivedState,
    pub needs_reply: bool,
    /// Since when the customer has waited for a person: set exactly while `needs_reply`
    /// (from the handoff, or the customer's first unanswered message to a person).
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub waiting_since: Option<NaiveDateTime>,
    /// Put aside by an agent: in no view but "Snoozed" (`snoozed=true`) until it comes back.
    pub snoozed: bool,
    /// When a snooze ends by itself; `null` while snoozed means until the customer writes.
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub snoozed_until: Option<NaiveDateTime>,
    #[schema(required = true)]
    pub assignee_id: Option<AgentId>,
    pub unread_count: i32,
    pub archived: bool,
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub last_message_at: Option<NaiveDateTime>,
    #[schema(required = true)]
    pub last_message_author: Option<Author>,
    #[schema(required = true)]
    pub last_message_preview: Option<String>,
    /// When free-form replies stop being allowed; absent when the inbox has no window.
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub window_closes_at: Option<NaiveDateTime>,
    pub window_open: bool,
    /// Messenger and Instagram: a person may still answer (with the `HUMAN_AGENT` tag) until
    /// then, after the service window closed.
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub agent_window_closes_at: Option<NaiveDateTime>,
    /// Whether an agent's free-form reply is allowed now (otherwise only a template).
    pub agent_may_reply: bool,
    #[schema(required = true)]
    pub follow_up: Option<FollowUpView>,
    #[schema(required = true)]
    pub lead_stage: Option<LeadStage>,
    /// The assistant that answered it last (`null` while none has).
    #[schema(required = true)]
    pub assistant_id: Option<AssistantId>,
    /// The latest review's summary: up to three lines (`Asked:`, `Details:`, `Outcome:`).
    #[schema(required = true)]
    pub summary: Option<String>,
    /// 0–100, the sum of `quality_rubric`'s scores (capped at 40 after a critical failure).
    #[schema(required = true, minimum = 0, maximum = 100)]
    pub quality_score: Option<i32>,
    /// Each criterion of the score, with its weight, score and why.
    #[schema(required = true)]
    pub quality_rubric: Option<Vec<Criterion>>,
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub reviewed_at: Option<NaiveDateTime>,
    /// `offline` (the built-in reviewer) or the id of the assistant whose model reviewed it.
    #[schema(required = true)]
    pub reviewed_by: Option<String>,
    /// The stage the latest review suggests; `lead_stage` takes it only when none was set.
    #[schema(required = true)]
    pub suggested_lead_stage: Option<LeadStage>,
    /// The customer's satisfaction rating (1–5), from the survey or set by an agent.
    #[schema(required = true)]
    pub csat: Option<CsatScore>,
    /// When the survey of the current closing was sent (`null`: none was).
    #[schema(value_type = Option<UtcTime>, required = true)]
    pub csat_requested_at: Option<NaiveDateTime>,
    pub tags: Vec<String>,
    pub contact: ContactView,
    #[schema(value_type = UtcTime)]
    pub created_at: NaiveDateTime,
    #[schema(value_type = UtcTime)]
    pub updated_at: NaiveDateTime,
}

impl ConversationView {
    pub fn build(
        row: &ConversationRow,
        contact: &ContactRow,
        state: &ConversationState,
        tags: &[String],
        policy: &Policy,
        channel: ChannelKind,
        now: NaiveDateTime,
    ) -> ConversationView {
        let review = row.review_record();
        ConversationView {
            id: row.id,
            inbox_id: row.inbox_id.clone(),
            channel,
            network: row.network,
            status: row.status,
            state: state.derived_state(),
            needs_reply: state.needs_reply(),
            waiting_since: state.waiting_since,
            snoozed: state.snooze.is_some(),
            snoozed_until: state.snooze.and_then(|z| z.until),
            assignee_id: row.assignee_id,
            unread_count: row.unread_count,
            archived: row.archived,
            last_message_at: row.last_message_at,
            last_message_author: row.last_message_author,
            last_message_preview: row.last_message_preview.clone(),
            window_closes_at: state.window_closes_at(policy),
            window_open: state.window_open(now, policy),
            agent_window_closes_at: state.agent_window_closes_at(policy),
            agent_may_reply: state.agent_may_reply(now, policy),
            follow_up: state.follow_up.as_ref().map(|f| FollowUpView {
                at: f.at,
                reason: f.reason.clone(),
                source: f.source,
                message: f.message.clone(),
            }),
            lead_stage: state.lead_stage,
            assistant_id: state.assistant.clone(),
            summary: review.as_ref().map(|r| r.summary.clone()),
            quality_score: row.quality_score,
            quality_rubric: review.as_ref().map(|r| r.rubric.clone()),
            reviewed_at: row.reviewed_at,
            reviewed_by: review.as_ref().map(|r| r.reviewed_by.clone()),
            suggested_lead_stage: review.as_ref().and_then(|r| r.suggested_lead_stage),
            csat: state.csat,
            csat_requested_at: state.csat_requested_at,
            tags: tags.to_vec(),
            contact: ContactView::from(contact),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// From stored rows, with the rules of the conversation's inbox.
    pub fn from_rows(
        row: &ConversationRow,
        contact: &ContactRow,
        tags: &[String],
        inbox: &Inbox,
        now: NaiveDateTime,
    ) -> ConversationView {
        ConversationView::build(
            row,
            contact,
            &row.state(),
            tags,
            inbox.policy_for(row.network),
            inbox.channel,
            now,
        )
    }
}
