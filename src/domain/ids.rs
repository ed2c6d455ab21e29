//! Typed ids: a `ConversationId` can never be passed where a `MessageId` is expected.
//! Stored as TEXT UUIDs (v7, so they sort by creation time) on both backends; rows and queries
//! carry them typed (the column conversions are in `db::sql`).

use std::{convert::Infallible, fmt, str::FromStr, sync::Arc};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// One conversation between a contact and the business on one inbox.
    ConversationId
);
typed_id!(
    /// A customer, per inbox.
    ContactId
);
typed_id!(
    /// An agent, supervisor or admin.
    AgentId
);
typed_id!(
    /// One message of a conversation (customer, assistant, agent or system).
    MessageId
);

typed_id!(
    /// One thing learned about a contact (see `domain::memory`).
    MemoryId
);
typed_id!(
    /// One entry of a contact's activity timeline (see `domain::activity`).
    ActivityId
);

typed_id!(
    /// A file an agent uploaded to a contact (see `http::contact_files`).
    ContactFileId
);

typed_id!(
    /// A named audience of contacts (see `domain::segment`).
    SegmentId
);
typed_id!(
    /// One message sent to the contacts of segments (see `domain::broadcast`).
    BroadcastId
);
typed_id!(
    /// One contact of a broadcast's audience: the record of its one send.
    RecipientId
);

typed_id!(
    /// A saved reply agents insert from the composer (see `http::canned_responses`).
    CannedResponseId
);

typed_id!(
    /// One referral of a contact (see `domain::referral`).
    ReferralId
);

/// An id named in the configuration rather than generated: letters, digits, `-`, `_`.
/// Cheap to clone (shared).
macro_rules! named_id {
    ($(#[$doc:meta])* $name:ident, $example:literal) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
            utoipa::ToSchema,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[schema(value_type = String, example = $example)]
        pub struct $name(Arc<str>);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map($name::from)
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.into())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

named_id!(
    /// An inbox, named in the configuration (`support`, `whatsapp-es`).
    InboxId,
    "support"
);
named_id!(
    /// An assistant, named in the configuration (`default`, `sales`).
    AssistantId,
    "sales"
);
