//! Typed columns: ids (UUIDs) and closed vocabularies (statuses, authors, kinds…) are stored as
//! TEXT on both backends, and read and written as their Rust types, so rows and queries carry
//! `ConversationId` and `Status`, never a `String` to compare or parse again. A stored value
//! the code does not know is an error when the row is read.
//!
//! Each type declares itself a TEXT expression where it is defined
//! (`#[derive(AsExpression, FromSqlRow)]`); the conversions live here, one set per backend
//! and one for the multi-backend connection, which hands each value to the backend in use.

use std::io::Write as _;

use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, IsNull, Output, ToSql},
    sql_types::Text,
    sqlite::{Sqlite, SqliteValue},
};

use super::{MultiBackend, MultiRawValue};
use crate::domain::{
    activity::ActivityKind,
    answer::AnswerOutcome,
    broadcast::{BroadcastStatus, PauseReason, RecipientStatus, SkipReason},
    delivery::DeliveryStatus,
    profile::ProfileSource,
    referral::ReferralKind,
    types::{
        Author, Availability, Direction, LeadStage, MemoryKind, MessageKind, Network, OptOutSource,
        Role, SegmentKind, Status,
    },
    ActivityId, AgentId, AssistantId, BroadcastId, CannedResponseId, ContactFileId, ContactId,
    ConversationId, InboxId, MemoryId, MessageId, RecipientId, ReferralId, SegmentId,
};

macro_rules! text_columns {
    ($($ty:ty),* $(,)?) => {$(
        impl FromSql<Text, Sqlite> for $ty {
            fn from_sql(bytes: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let s = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
                s.parse().map_err(|e| format!("stored {}: {e}", stringify!($ty)).into())
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let s = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                s.parse().map_err(|e| format!("stored {}: {e}", stringify!($ty)).into())
            }
        }

        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.to_string());
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                write!(out, "{self}")?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(bytes: MultiRawValue<'_>) -> deserialize::Result<Self> {
                bytes.from_sql::<Self, Text>()
            }
        }

        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }
    )*};
}

text_columns!(
    AnswerOutcome,
    ConversationId,
    ContactId,
    ContactFileId,
    AgentId,
    MessageId,
    MemoryId,
    ActivityId,
    InboxId,
    AssistantId,
    Status,
    Author,
    Direction,
    Role,
    LeadStage,
    MessageKind,
    DeliveryStatus,
    Network,
    Availability,
    MemoryKind,
    ActivityKind,
    ProfileSource,
    SegmentId,
    SegmentKind,
    OptOutSource,
    BroadcastId,
    RecipientId,
    CannedResponseId,
    BroadcastStatus,
    PauseReason,
    SkipReason,
    RecipientStatus,
    ReferralId,
    ReferralKind,
);
