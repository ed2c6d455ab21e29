//! The pure core: types and rules with no actix, no database and no clock.

pub mod access;
pub mod activity;
pub mod answer;
pub mod broadcast;
pub mod conversation;
pub mod csat;
pub mod delivery;
pub mod handoff;
pub mod hours;
pub mod ids;
pub mod memory;
pub mod notes;
pub mod opt_out;
pub mod profile;
pub mod referral;
pub mod reports;
pub mod review;
pub mod segment;
pub mod terms;
pub mod text;
pub mod types;
pub mod window;

pub use ids::{
    ActivityId, AgentId, AssistantId, BroadcastId, CannedResponseId, ContactFileId, ContactId,
    ConversationId, InboxId, MemoryId, MessageId, RecipientId, ReferralId, SegmentId,
};
