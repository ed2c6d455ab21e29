//! The JSON shapes clients see, for REST answers and pushed events alike, so a message looks
//! the same whether it was fetched or pushed.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::{
    db::models::{ContactRow, ConversationRow, MessageRow},
    domain::{
        conversation::{ConversationState, DerivedState, Policy},
        delivery::DeliveryStatus,
        types::{Author, ChannelKind, Direction, LeadStage, MessageKind, Network, Status},
        AgentId, ContactId, ConversationId, InboxId, MessageId,
    },
    inbox::Inbox,
};

#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub author: Author,
    pub agent_id: Option<AgentId>,
    pub text: String,
    pub private: bool,
    pub delivery_status: Option<DeliveryStatus>,
    pub failure_reason: Option<String>,
    pub external_id: Option<String>,
    pub client_id: Option<String>,
    /// Provider time (the order of the thread); the arrival time when the provider's was not
    /// believable.
    pub sent_at: NaiveDateTime,
    /// The provider's own time when it was not believable (far in the past or the future).
    pub provider_sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub kind: MessageKind,
    /// The stored file, for agents: `/api/files/{message_id}`. `None` while a provider's file
    /// is still being downloaded (`media_pending`), or when the message has none.
    pub media_url: Option<String>,
    pub media_pending: bool,
    /// Why a provider's file could not be downloaded (it says when it is tried again).
    pub media_error: Option<String>,
    pub media_mime: Option<String>,
    pub media_filename: Option<String>,
    /// What the kind carries: location, interactive reply id, template name and parameters,
    /// caption, the provider id of a quoted message.
    pub payload: Option<Value>,
    /// SMS parts of an outbound SMS.
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

#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    pub id: ContactId,
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub blocked: bool,
}

impl From<&ContactRow> for ContactView {
    fn from(c: &ContactRow) -> Self {
        ContactView {
            id: c.id,
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            blocked: c.blocked,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUpView {
    pub at: NaiveDateTime,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub inbox_id: InboxId,
    pub channel: ChannelKind,
    /// `sms` / `whatsapp` (Twilio carries both), `messenger`, `instagram`; `None` for the API
    /// channel.
    pub network: Option<Network>,
    pub status: Status,
    /// Seed 002's Created / Pending / Replied / Resolved.
    pub state: DerivedState,
    pub needs_reply: bool,
    pub assignee_id: Option<AgentId>,
    pub unread_count: i32,
    pub archived: bool,
    pub last_message_at: Option<NaiveDateTime>,
    pub last_message_author: Option<Author>,
    pub last_message_preview: Option<String>,
    /// When free-form replies stop being allowed; absent when the inbox has no window.
    pub window_closes_at: Option<NaiveDateTime>,
    pub window_open: bool,
    /// Messenger and Instagram: a person may still answer (with the `HUMAN_AGENT` tag) until
    /// then, after the service window closed.
    pub agent_window_closes_at: Option<NaiveDateTime>,
    /// Whether an agent's free-form reply is allowed now (otherwise only a template).
    pub agent_may_reply: bool,
    pub follow_up: Option<FollowUpView>,
    pub lead_stage: Option<LeadStage>,
    pub tags: Vec<String>,
    pub contact: ContactView,
    pub created_at: NaiveDateTime,
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
        ConversationView {
            id: row.id,
            inbox_id: row.inbox_id.clone(),
            channel,
            network: row.network,
            status: row.status,
            state: state.derived_state(),
            needs_reply: state.needs_reply(),
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
            }),
            lead_stage: state.lead_stage,
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
