//! The vocabulary between actors. Commands are imperative, events past tense; each doc comment
//! names the sender and the receiver.

use actix::prelude::*;
use chrono::NaiveDateTime;

use super::conversation::ConversationActor;
use crate::{
    assistant::AssistantReply,
    domain::{conversation::Event, delivery::DeliveryStatus, AgentId, ConversationId, MessageId},
    error::AppResult,
    views::{ConversationView, MessageView},
};

/// Webhook handler → ConversationActor: a customer message arrived (deduplicated by
/// `external_id` within the inbox). Answered only after it is committed.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<InboundAccepted>")]
pub struct DeliverInbound {
    pub external_id: Option<String>,
    pub text: String,
    /// The provider's timestamp.
    pub sent_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct InboundAccepted {
    pub message_id: String,
    /// True when this message had already been received; nothing changed.
    pub duplicate: bool,
}

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

/// REST handler → ConversationActor: replace the conversation's tags.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<ConversationView>")]
pub struct SetTags(pub Vec<String>);

/// REST handler → ConversationActor: delete the conversation permanently.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "AppResult<()>")]
pub struct DeleteConversation;

/// Outbox → ConversationActor: the provider accepted or finally refused an outbound message.
#[derive(Message, Debug, Clone)]
#[rtype(result = "AppResult<()>")]
pub struct ReportDelivery {
    pub message_id: MessageId,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
}

/// ConversationActor → itself: the assistant answered (it may have been taken over meanwhile).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AssistantAnswered {
    pub reply: AssistantReply,
}

/// ConversationActor → itself: the follow-up timer fired.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct FollowUpFired;

/// ConversationActor → itself: the service window has just closed.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct WindowClosed;

/// Anyone → ConversationRegistry: the actor of this conversation, started if needed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Addr<ConversationActor>")]
pub struct GetConversation(pub ConversationId);

/// ConversationActor → ConversationRegistry: I am stopping (idle, or my conversation is gone);
/// forget me if I am still the registered actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ActorIdle {
    pub id: ConversationId,
    pub addr: Addr<ConversationActor>,
}

/// Anyone → ConversationRegistry: how many conversation actors are alive.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "usize")]
pub struct CountLive;

/// Test hook → ConversationActor: panic inside a handler, to prove the registry restarts the
/// conversation from the database. Never sent by the server itself.
#[doc(hidden)]
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct InjectPanic;
