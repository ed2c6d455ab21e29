//! The realtime protocol, in one place: every event the server pushes to agents
//! ([`ServerEvent`], numbered by the hub with `seq`), the frames a socket sends about itself
//! ([`SessionFrame`] to agents, [`VisitorFrame`] to website visitors), and what each kind of
//! client sends ([`AgentClientFrame`], [`VisitorClientFrame`]). Everything is a typed variant;
//! JSON appears only at the edge (serde, `{"type": …}`), encoded once per event.
//!
//! The README's event list and the OpenAPI document's `ServerEvent` schema name exactly the
//! variants here; a test holds them to [`ServerEvent::KINDS`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        access::Viewer, conversation::HandoffReason, delivery::DeliveryStatus, types::Author,
        types::Availability, AgentId, ConversationId, MessageId,
    },
    views::{ConversationView, MessageView},
};

/// How many conversations need a reply: in all, unassigned, and per assignee. Each viewer's
/// badge is computed from it, so one count serves everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BadgeCounts {
    pub total: i64,
    pub unassigned: i64,
    pub by_agent: HashMap<AgentId, i64>,
}

impl BadgeCounts {
    /// The number this viewer's red badge shows.
    pub fn for_viewer(&self, viewer: &Viewer) -> i64 {
        if viewer.sees_all {
            self.total
        } else {
            self.unassigned + self.by_agent.get(&viewer.agent).copied().unwrap_or(0)
        }
    }
}

/// A change pushed to agents (and, filtered, to visitors): `{"type": kind, "seq": N, …}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum ServerEvent {
    /// A message was stored (customer, assistant, agent, system event, note).
    #[serde(rename = "message.created")]
    MessageCreated {
        conversation_id: ConversationId,
        message: MessageView,
    },
    /// A stored message changed: its file was downloaded, or could not be (`media_error`).
    #[serde(rename = "message.updated")]
    MessageUpdated {
        conversation_id: ConversationId,
        message: MessageView,
    },
    /// A delivery status moved forward.
    #[serde(rename = "message.status")]
    MessageStatus {
        conversation_id: ConversationId,
        message_id: MessageId,
        status: DeliveryStatus,
        /// Why it failed, for `failed`.
        #[schema(required = true)]
        reason: Option<String>,
    },
    /// A stored echo turned out to be our own send, merged into it: drop the copy.
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        conversation_id: ConversationId,
        message_id: MessageId,
        replaced_by: MessageId,
    },
    /// A new conversation.
    #[serde(rename = "conversation.created")]
    ConversationCreated {
        conversation_id: ConversationId,
        conversation: Box<ConversationView>,
    },
    /// Any change to a conversation (status, assignee, unread, needs_reply, archived, tags…).
    #[serde(rename = "conversation.updated")]
    ConversationUpdated {
        conversation_id: ConversationId,
        conversation: Box<ConversationView>,
    },
    /// Deleted for good.
    #[serde(rename = "conversation.deleted")]
    ConversationDeleted { conversation_id: ConversationId },
    /// A reassignment took the conversation out of this agent's sight.
    #[serde(rename = "conversation.hidden")]
    ConversationHidden {
        conversation_id: ConversationId,
        reason: HiddenReason,
        #[schema(required = true)]
        assignee_id: Option<AgentId>,
        #[schema(required = true)]
        assignee_name: Option<String>,
    },
    /// A person is needed.
    #[serde(rename = "handoff.requested")]
    HandoffRequested {
        conversation_id: ConversationId,
        reason: HandoffReason,
        conversation: Box<ConversationView>,
    },
    /// Conversations waiting for a person: the total, the unassigned, per agent.
    #[serde(rename = "badge")]
    Badge { counts: BadgeCounts },
    /// Someone is typing in the conversation, an agent or the customer (a website visitor);
    /// or, with `active: false`, the customer stopped (not replayed).
    #[serde(rename = "typing")]
    Typing {
        conversation_id: ConversationId,
        author: TypingAuthor,
        /// The agent typing; `null` for the customer.
        #[schema(required = true)]
        agent_id: Option<AgentId>,
        /// The agent's name, or the contact's (`Visitor` and the end of their id when they
        /// gave none).
        name: String,
        /// `false`: they stopped (emptied the field): drop the indicator now. An indicator
        /// also goes when their message arrives, or after a few seconds without news.
        active: bool,
    },
    /// An agent's availability, or who views a conversation (not replayed).
    #[serde(rename = "presence")]
    Presence(PresenceChange),
}

/// Who a `typing` event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypingAuthor {
    Agent,
    Customer,
}

/// Why a conversation left an agent's sight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HiddenReason {
    Reassigned,
}

/// Who is around: an agent's availability, or who is looking at a conversation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PresenceChange {
    Availability {
        agent_id: AgentId,
        availability: Availability,
    },
    Viewers {
        conversation_id: ConversationId,
        viewers: Vec<AgentId>,
    },
}

impl ServerEvent {
    /// Every `type` a [`ServerEvent`] can have.
    pub const KINDS: &'static [&'static str] = &[
        "message.created",
        "message.updated",
        "message.status",
        "message.deleted",
        "conversation.created",
        "conversation.updated",
        "conversation.deleted",
        "conversation.hidden",
        "handoff.requested",
        "badge",
        "typing",
        "presence",
    ];

    /// The event's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerEvent::MessageCreated { .. } => "message.created",
            ServerEvent::MessageUpdated { .. } => "message.updated",
            ServerEvent::MessageStatus { .. } => "message.status",
            ServerEvent::MessageDeleted { .. } => "message.deleted",
            ServerEvent::ConversationCreated { .. } => "conversation.created",
            ServerEvent::ConversationUpdated { .. } => "conversation.updated",
            ServerEvent::ConversationDeleted { .. } => "conversation.deleted",
            ServerEvent::ConversationHidden { .. } => "conversation.hidden",
            ServerEvent::HandoffRequested { .. } => "handoff.requested",
            ServerEvent::Badge { .. } => "badge",
            ServerEvent::Typing { .. } => "typing",
            ServerEvent::Presence(_) => "presence",
        }
    }

    /// Typing and who is viewing are pushed but not kept for replay: stale by then.
    pub fn ephemeral(&self) -> bool {
        matches!(self, ServerEvent::Typing { .. } | ServerEvent::Presence(_))
    }
}

/// What an agent socket says about itself (not numbered, never replayed).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionFrame<'a> {
    /// First on every socket: the latest `seq`, who you are and whether you see everything.
    Hello {
        latest: u64,
        agent: &'a crate::auth::CurrentAgent,
        sees_all: bool,
    },
    /// After a resume's replay.
    Resumed {
        latest: u64,
    },
    /// The cursor is older than the backlog or ahead of the latest: refetch, then continue
    /// from `latest`.
    Reload {
        latest: u64,
    },
    Pong,
    Error {
        error: &'static str,
        message: String,
    },
}

/// What an agent sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentClientFrame {
    /// Replay what this viewer may see after `since`.
    Resume {
        since: u64,
    },
    Typing {
        conversation_id: ConversationId,
    },
    Viewing {
        conversation_id: Option<ConversationId>,
    },
    Ping,
}

/// A message as a website visitor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct VisitorMessage {
    pub id: MessageId,
    pub author: Author,
    pub text: String,
    pub sent_at: chrono::NaiveDateTime,
    /// What the widget shows besides the text: `{"automatic": "csat_survey"}` for the
    /// satisfaction survey (five stars); left out otherwise (see
    /// [`crate::providers::widget::visitor_payload`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// What the widget's socket sends to a visitor.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorFrame {
    Hello {
        conversation_id: Option<ConversationId>,
    },
    Message {
        message: VisitorMessage,
    },
    /// The visitor's message is stored.
    Ack {
        client_id: String,
        message_id: MessageId,
    },
    AgentJoined {
        name: String,
    },
    AgentLeft,
    Pong,
    Error {
        error: &'static str,
        message: String,
    },
}

/// What a website visitor sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorClientFrame {
    Message {
        text: String,
        client_id: String,
        /// How the visitor arrived (first-touch page, referrer, UTM parameters, the page the
        /// chat starts on): sent with the messages that may start the conversation, used
        /// only by the one that does.
        #[serde(default)]
        attribution: Option<crate::domain::referral::WidgetAttribution>,
    },
    /// The visitor is typing (`active`, the default), or emptied the field (`false`). The
    /// widget sends it at most every 2 seconds; the server relays at most one a second to
    /// the agents who may see the conversation, and drops the rest.
    Typing {
        #[serde(default = "active")]
        active: bool,
    },
    Ping,
}

fn active() -> bool {
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_the_serialized_types() {
        let id = ConversationId::new();
        let samples = [
            ServerEvent::ConversationDeleted {
                conversation_id: id,
            },
            ServerEvent::ConversationHidden {
                conversation_id: id,
                reason: HiddenReason::Reassigned,
                assignee_id: None,
                assignee_name: Some("Bob".into()),
            },
            ServerEvent::MessageStatus {
                conversation_id: id,
                message_id: MessageId::new(),
                status: DeliveryStatus::Read,
                reason: None,
            },
            ServerEvent::Badge {
                counts: BadgeCounts::default(),
            },
            ServerEvent::Presence(PresenceChange::Viewers {
                conversation_id: id,
                viewers: vec![],
            }),
        ];
        for e in samples {
            let v = serde_json::to_value(&e).unwrap();
            assert_eq!(v["type"], e.kind());
            assert!(ServerEvent::KINDS.contains(&e.kind()));
        }
        let hidden = serde_json::to_value(ServerEvent::ConversationHidden {
            conversation_id: id,
            reason: HiddenReason::Reassigned,
            assignee_id: None,
            assignee_name: Some("Bob".into()),
        })
        .unwrap();
        assert_eq!(
            hidden,
            json!({"type": "conversation.hidden", "conversation_id": id, "reason": "reassigned",
                   "assignee_id": null, "assignee_name": "Bob"})
        );
        let presence = serde_json::to_value(ServerEvent::Presence(PresenceChange::Availability {
            agent_id: AgentId::new(),
            availability: Availability::Away,
        }))
        .unwrap();
        assert_eq!(presence["type"], "presence");
        assert_eq!(presence["availability"], "away");
    }

    #[test]
    fn session_and_client_frames() {
        assert_eq!(
            serde_json::to_value(SessionFrame::Reload { latest: 7 }).unwrap(),
            json!({"type": "reload", "latest": 7})
        );
        assert_eq!(
            serde_json::to_value(VisitorFrame::AgentLeft).unwrap(),
            json!({"type": "agent_left"})
        );
        let f: AgentClientFrame = serde_json::from_str(r#"{"type":"resume","since":3}"#).unwrap();
        assert!(matches!(f, AgentClientFrame::Resume { since: 3 }));
        assert!(serde_json::from_str::<AgentClientFrame>(r#"{"type":"nope"}"#).is_err());
        let v: VisitorClientFrame =
            serde_json::from_str(r#"{"type":"message","text":"hi","client_id":"k"}"#).unwrap();
        assert!(matches!(v, VisitorClientFrame::Message { .. }));
        let v: VisitorClientFrame = serde_json::from_str(r#"{"type":"typing"}"#).unwrap();
        assert!(matches!(v, VisitorClientFrame::Typing { active: true }));
        let v: VisitorClientFrame =
            serde_json::from_str(r#"{"type":"typing","active":false}"#).unwrap();
        assert!(matches!(v, VisitorClientFrame::Typing { active: false }));
        let id = ConversationId::new();
        let typing = serde_json::to_value(ServerEvent::Typing {
            conversation_id: id,
            author: TypingAuthor::Customer,
            agent_id: None,
            name: "Ana".into(),
            active: true,
        })
        .unwrap();
        assert_eq!(
            typing,
            json!({"type": "typing", "conversation_id": id, "author": "customer",
                   "agent_id": null, "name": "Ana", "active": true})
        );
    }
}
