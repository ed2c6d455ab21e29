//! Small closed vocabularies stored as TEXT: statuses, authors, directions, roles.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::ids::AgentId;

/// A value read from the database or a request that is not one of the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { kind: $kind, value: s.to_owned() }),
                }
            }
        }
    };
}

/// For the vocabularies defined beside their rules (`domain::activity`, `domain::profile`).
pub(crate) use text_enum;

text_enum!(
    /// Who answers the customer.
    Status, "status" {
        /// The assistant replies.
        Bot => "bot",
        /// A person handles it; the assistant is silent.
        Human => "human",
        /// Resolved; nobody auto-replies until the customer writes again.
        Closed => "closed",
    }
);

text_enum!(
    /// Who wrote a message.
    Author, "author" {
        Customer => "customer",
        Assistant => "assistant",
        Agent => "agent",
        /// Events shown inline in the thread (handoff, status changes, follow-ups).
        System => "system",
    }
);

text_enum!(
    /// Which way a message travels.
    Direction, "direction" {
        Inbound => "inbound",
        Outbound => "outbound",
        /// Not sent anywhere: system events and private notes.
        Internal => "internal",
    }
);

text_enum!(
    /// What an agent may do.
    Role, "role" {
        Admin => "admin",
        Supervisor => "supervisor",
        Agent => "agent",
    }
);

text_enum!(
    /// The kind of channel an inbox speaks.
    ChannelKind, "channel" {
        Api => "api",
        Whatsapp => "whatsapp",
        Twilio => "twilio",
        Meta => "meta",
        Widget => "widget",
    }
);

text_enum!(
    /// Where a conversation stands as a sales lead.
    LeadStage, "lead stage" {
        InProgress => "in_progress",
        Opportunity => "opportunity",
        PotentialCustomer => "potential_customer",
        QuoteRequest => "quote_request",
        FollowUp => "follow_up",
        Contacted => "contacted",
        WaitingResponse => "waiting_response",
        InfoOnly => "info_only",
        NotInterested => "not_interested",
        Spam => "spam",
    }
);

text_enum!(
    /// Who scheduled a follow-up: a person, or the AI (which then also sends it).
    FollowUpSource, "follow-up source" {
        Ai => "ai",
        Agent => "agent",
    }
);

text_enum!(
    /// The network a message travelled on. It decides the window rules and how a reply is
    /// addressed (Twilio carries both SMS and WhatsApp, Meta both Messenger and Instagram).
    Network, "network" {
        Sms => "sms",
        Whatsapp => "whatsapp",
        Messenger => "messenger",
        Instagram => "instagram",
    }
);

text_enum!(
    /// Whether an agent takes conversations now.
    Availability, "availability" {
        Online => "online",
        Away => "away",
        Offline => "offline",
    }
);

text_enum!(
    /// What a message is besides text.
    MessageKind, "message kind" {
        Text => "text",
        Image => "image",
        Document => "document",
        Audio => "audio",
        /// A recorded voice note.
        Voice => "voice",
        Video => "video",
        Sticker => "sticker",
        Location => "location",
        /// A tap on a button or list of an interactive message.
        Interactive => "interactive",
        /// A tap on a template's quick-reply button.
        Button => "button",
        /// An approved template sent by an agent.
        Template => "template",
        /// Something the channel sent that Switchboard does not show (its type in the payload).
        Unsupported => "unsupported",
    }
);

text_enum!(
    /// What a contact memory is about (see `domain::memory`): a fact about the person (name,
    /// city, employer, order id), a preference (likes, diet, allergies, how to be contacted), a
    /// goal (what they want or plan), or an experience (what happened to them before).
    MemoryKind, "memory kind" {
        Fact => "fact",
        Preference => "preference",
        Goal => "goal",
        Experience => "experience",
    }
);

text_enum!(
    /// How a segment's contacts are chosen (see `domain::segment`).
    SegmentKind, "segment kind" {
        /// Agents add and remove its members (from the panel, or in bulk by id).
        Static => "static",
        /// A saved filter, evaluated whenever the segment is read.
        Dynamic => "dynamic",
    }
);

text_enum!(
    /// What unsubscribed a contact from broadcasts (see `domain::opt_out`).
    OptOutSource, "opt-out source" {
        /// An agent's button or the API.
        Agent => "agent",
        /// A STOP-style reply, or a template's opt-out button.
        Keyword => "keyword",
        /// The provider refused a send because the person opted out (Twilio 21610, WhatsApp
        /// 131050) or told us so (WhatsApp `user_preferences`).
        Provider => "provider",
    }
);

impl MessageKind {
    /// Whether messages of this kind carry a file.
    pub fn has_file(self) -> bool {
        matches!(
            self,
            MessageKind::Image
                | MessageKind::Document
                | MessageKind::Audio
                | MessageKind::Voice
                | MessageKind::Video
                | MessageKind::Sticker
        )
    }
}

impl Role {
    /// Supervisors and admins see every conversation whatever the visibility setting.
    pub fn sees_everything(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }
}

/// Who asked for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Agent(AgentId),
    System,
}

/// Why the conversation went to a person (in events: `{"kind": …, "phrase"/"misses"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer used a phrase from the list.
    CustomerAsked { phrase: String },
    /// The assistant found nothing this many times in a row.
    AssistantCouldNotHelp { misses: i32 },
    /// The customer complained (billing, fraud, damage, anger): a person answers that.
    Complaint { phrase: String },
    /// The assistant failed, or its answer could not be stored.
    AssistantUnavailable,
    /// The assistant (a language model) decided a person should answer, and said why.
    AssistantHandoff { reason: String },
    /// The assistant's daily token budget is spent.
    AssistantBudgetExhausted,
}

impl HandoffReason {
    /// A stable name (events, payloads).
    pub fn kind(&self) -> &'static str {
        match self {
            HandoffReason::CustomerAsked { .. } => "customer_asked",
            HandoffReason::AssistantCouldNotHelp { .. } => "assistant_could_not_help",
            HandoffReason::Complaint { .. } => "complaint",
            HandoffReason::AssistantUnavailable => "assistant_unavailable",
            HandoffReason::AssistantHandoff { .. } => "assistant_handoff",
            HandoffReason::AssistantBudgetExhausted => "assistant_budget_exhausted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
        for a in Author::ALL {
            assert_eq!(a.as_str().parse::<Author>(), Ok(*a));
        }
        for d in Direction::ALL {
            assert_eq!(d.as_str().parse::<Direction>(), Ok(*d));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for c in ChannelKind::ALL {
            assert_eq!(c.as_str().parse::<ChannelKind>(), Ok(*c));
        }
        for l in LeadStage::ALL {
            assert_eq!(l.as_str().parse::<LeadStage>(), Ok(*l));
        }
        for k in MessageKind::ALL {
            assert_eq!(k.as_str().parse::<MessageKind>(), Ok(*k));
        }
        for k in MemoryKind::ALL {
            assert_eq!(k.as_str().parse::<MemoryKind>(), Ok(*k));
        }
        assert_eq!(LeadStage::ALL.len(), 10);
    }

    #[test]
    fn unknown_names_are_errors_naming_the_kind() {
        let err = "open".parse::<Status>().unwrap_err();
        assert_eq!(err.to_string(), "unknown status `open`");
    }

    #[test]
    fn serde_uses_the_stored_names() {
        assert_eq!(
            serde_json::to_string(&Status::Human).ok().as_deref(),
            Some("\"human\"")
        );
        assert_eq!(
            serde_json::from_str::<Role>("\"supervisor\"").ok(),
            Some(Role::Supervisor)
        );
    }
}
