//! Typed ids: a `ConversationId` can never be passed where a `MessageId` is expected.
//! Stored as TEXT UUIDs (v7, so they sort by creation time) on both backends.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
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
