//! The vocabulary between actors. Commands are imperative, events past tense; each doc comment
//! names the sender and the receiver.

use actix::prelude::*;
use chrono::NaiveDateTime;

use crate::{
    assistant::Answered,
    db::models::MediaSource,
    domain::{
        conversation::{Event, HandoffReason},
        delivery::DeliveryStatus,
        referral::Referral,
        types::MessageKind,
        AgentId, AssistantId, ConversationId, MessageId,
    },
    error::AppResult,
    views::{ConversationView, MessageView},
};

/// Webhook handler → ConversationActor: a customer message arrived (deduplicated by
/// `external_id` within the inbox). Answered only after it is committed.
///
/// A provider message can carry several parts (a Twilio MMS with text and two photos, a
/// Messenger text with attachments): each becomes one stored message, the first keeping the
/// provider's id and the others `<id>#<n>`, and the conversation counts them as one message.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<InboundAccepted>")]
pub struct DeliverInbound {
    pub external_id: Option<String>,
    /// Never empty.
    pub parts: Vec<InboundPart>,
    /// The provider's timestamp.
    pub sent_at: NaiveDateTime,
    /// Where the person came from, when the message says: stored with the message, in the
    /// same transaction, and never again for a redelivered message.
    pub referral: Option<Referral>,
    /// When the webhook handler sent it: the actor's mailbox wait is measured from here.
    pub queued_at: std::time::Instant,
}

impl DeliverInbound {
    /// A plain text message (the API channel).
    pub fn text(external_id: Option<String>, text: String, sent_at: NaiveDateTime) -> Self {
        DeliverInbound {
            external_id,
            parts: vec![InboundPart::text(text)],
            sent_at,
            referral: None,
            queued_at: std::time::Instant::now(),
        }
    }
}

/// One part of a customer message, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundPart {
    pub kind: MessageKind,
    /// The text shown in lists and searched (a caption or summary for non-text parts).
    pub body: String,
    /// Where to fetch the file from, when the part has one.
    pub media: Option<MediaSource>,
    pub media_mime: Option<String>,
    pub media_filename: Option<String>,
    pub payload: Option<serde_json::Value>,
}

impl InboundPart {
    pub fn text(body: String) -> Self {
        InboundPart {
            kind: MessageKind::Text,
            body,
            media: None,
            media_mime: None,
            media_filename: None,
            payload: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InboundAccepted {
    pub message_id: MessageId,
    /// True when this message had already been received; nothing changed.
    pub duplicate: bool,
    /// Files of this message still to download (also after a duplicate, when an earlier
    /// download did not finish).
    pub downloads: Vec<MediaDownload>,
}

/// A provider's file to fetch and store for a message.
#[derive(Debug, Clone)]
pub struct MediaDownload {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub source: MediaSource,
    pub mime: Option<String>,
}

/// ConversationRegistry → ConversationActor (cluster mode): this node no longer holds the
/// conversation's shard; stop (the registry has forgotten you already).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Relinquished;

/// Media task → ConversationActor: the file of a message was stored at `path` (relative to
/// the data directory).
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct MediaStored {
    pub message_id: MessageId,
    pub path: String,
    pub mime: Option<String>,
}

/// REST handler → ConversationActor: an agent sends an approved template (allowed outside
/// the service window).
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<MessageView>")]
pub struct SendTemplate {
    pub agent: AgentId,
    pub only_assignee: bool,
    pub name: String,
    pub language: String,
    pub parameters: Vec<String>,
    pub client_id: Option<String>,
}

/// REST handler → ConversationActor: an agent sends a file, already stored at `path`
/// (relative to the data directory) under the id `message_id`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<MessageView>")]
pub struct SendAttachment {
    pub agent: AgentId,
    pub only_assignee: bool,
    pub message_id: MessageId,
    /// `image`, `document`, `audio` or `video`.
    pub kind: MessageKind,
    pub path: String,
    pub mime: String,
    pub filename: Option<String>,
    pub caption: Option<String>,
}

/// Webhook handler → ConversationActor: the business sent this message from elsewhere (a Meta
/// echo, e.g. from the Page inbox). Stored as an agent message unless it is one of ours.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct RecordEcho {
    pub provider_message_id: String,
    pub text: Option<String>,
    pub at: NaiveDateTime,
}

/// Webhook handler → ConversationActor: every message we sent up to `watermark` reached
/// `status` (Messenger delivery and read receipts).
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct ApplyWatermark {
    pub status: DeliveryStatus,
    pub watermark: NaiveDateTime,
}

/// REST handler → ConversationActor: the contact was blocked or unblocked; reload it.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "AppResult<()>")]
pub struct ContactChanged;

/// REST handler → ConversationActor: an agent's reply or private note. The same `client_id`
/// twice stores and sends one message.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<MessageView>")]
pub struct SendAgentReply {
    pub agent: AgentId,
    /// Reply policy "assignee": refuse (409) if someone else holds the conversation.
    pub only_assignee: bool,
    pub text: String,
    pub client_id: Option<String>,
    pub private_note: bool,
}

/// REST handler → ConversationActor: apply a state-machine event (status change, assignment,
/// read/unread, archive, follow-up).
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<ConversationView>")]
pub struct ApplyEvent(pub Event);

/// REST handler → ConversationActor: an agent marks one of the assistant's answers wrong
/// (`wrong`), or takes the mark back. A 409 when it changes nothing.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct MarkAnswer {
    pub message: MessageId,
    pub by: AgentId,
    pub wrong: bool,
    pub reason: Option<String>,
}

/// REST handler → ConversationActor: replace the conversation's tags.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<ConversationView>")]
pub struct SetTags(pub Vec<String>);

/// REST handler → ConversationActor: delete the conversation permanently (an admin asked;
/// the audit log records who).
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct DeleteConversation {
    pub by: AgentId,
    pub by_email: String,
}

/// Outbox → ConversationActor: the provider accepted or finally refused an outbound message.
/// Webhook handler → ConversationActor: the provider reported a later status.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct ReportDelivery {
    pub message_id: MessageId,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
    /// The provider's id for the message, from its answer to the send: recorded, so that
    /// status webhooks find the message (and any that arrived first are applied now).
    pub provider_message_id: Option<String>,
}

/// Media downloader → ConversationActor: an inbound file could not be downloaded (yet):
/// record why, so the thread says so instead of "downloading" for ever.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct MediaFailed {
    pub message_id: MessageId,
    pub reason: String,
}

/// ConversationActor → itself: the assistant answered (it may have been taken over meanwhile).
/// `attempt` counts the tries to store it: a failed store is tried again a few times.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AssistantAnswered {
    pub answered: Answered,
    /// The assistant that answered.
    pub assistant: AssistantId,
    /// The customer's message it answered (stored with the answer for the knowledge-base
    /// report).
    pub question: String,
    pub attempt: u32,
}

/// ConversationActor → itself: the assistant could not answer (it failed, its budget is spent,
/// or its answer could not be stored): hand the conversation to a person, trying until that
/// is stored.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AssistantFailed {
    pub attempt: u32,
    /// [`HandoffReason::AssistantUnavailable`] or [`HandoffReason::AssistantBudgetExhausted`].
    pub reason: HandoffReason,
}

/// ConversationRegistry → ConversationActor, at start: the customer's last message may be
/// unanswered (the server stopped while the assistant thought); answer it if it still is.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ResumeUnanswered;

/// Reviewer → ConversationActor: the review of the conversation as it was when the review
/// was due at `due_at`. Stored only if no change made a new review due meanwhile (then that
/// one follows); `review: None` means the conversation is unchanged since its last review.
/// Answers whether it was stored.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<bool>")]
pub struct StoreReview {
    pub due_at: NaiveDateTime,
    pub review: Option<std::sync::Arc<ReviewResult>>,
}

/// What one review found, as stored on the conversation, and the follow-up it suggests.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewResult {
    pub quality_score: i32,
    pub record: crate::db::models::ReviewRecord,
    pub follow_up: Option<crate::domain::conversation::AiFollowUp>,
}

/// ConversationActor → itself: the follow-up timer fired.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct FollowUpFired;

/// ConversationActor → itself: the snooze's time came.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SnoozeFired;

/// ConversationActor → itself: the service window has just closed.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct WindowClosed;

/// Test hook → ConversationActor: panic inside a handler, to prove the registry restarts the
/// conversation from the database. Never sent by the server itself.
#[doc(hidden)]
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// Test hook → ConversationActor: the thread this actor runs on, to prove that conversations
/// are spread over several threads and that one conversation stays on its own. Never sent by
/// the server itself.
#[doc(hidden)]
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "std::thread::ThreadId")]
pub struct WhichThread;
