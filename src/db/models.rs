//! Row structs, one per table, and their conversions to domain types.
//!
//! Ids and closed vocabularies are typed in the rows themselves (TEXT in the database, see
//! [`super::sql`]): a value the code does not know is an error when the row is read, and no
//! code compares a status or an author as a string.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{
    agents, assistant_answers, audit_log, auth_tokens, broadcast_recipients, broadcasts,
    canned_responses, contact_activity, contact_files, contact_memories, contacts, conversations,
    messages, outbox, pending_statuses, referrals, segment_members, segments,
};
use crate::domain::{
    activity::ActivityKind,
    answer::AnswerOutcome,
    broadcast::{BroadcastStatus, PauseReason, RecipientStatus, SkipReason},
    conversation::{ConversationState, FollowUp, Snooze},
    csat::CsatScore,
    delivery::DeliveryStatus,
    memory::ExistingMemory,
    profile::ProfileSource,
    referral::{Referral, ReferralKind, Utm},
    review::Criterion,
    types::{
        Author, Availability, Direction, FollowUpSource, LeadStage, MemoryKind, MessageKind,
        Network, OptOutSource, Role, SegmentKind, Status,
    },
    ActivityId, AgentId, AssistantId, BroadcastId, CannedResponseId, ContactFileId, ContactId,
    ConversationId, InboxId, MemoryId, MessageId, RecipientId, ReferralId, SegmentId,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = agents)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AgentRow {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub availability: Availability,
    pub created_at: NaiveDateTime,
    /// Browser notifications for handoffs and new messages in my conversations.
    pub notify_desktop: bool,
    /// A sound for the same.
    pub notify_sound: bool,
    /// When an admin deactivated the agent; `None`: active. A deactivated agent cannot log in
    /// and has no tokens.
    pub deactivated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_tokens)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuthTokenRow {
    pub token_hash: String,
    pub agent_id: AgentId,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = contacts)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ContactRow {
    pub id: ContactId,
    pub inbox_id: InboxId,
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub blocked: bool,
    pub created_at: NaiveDateTime,
    #[diesel(embed)]
    #[serde(flatten)]
    pub profile: ContactProfile,
    /// When the person stopped broadcasts (`None`: subscribed). Broadcasts only: `blocked`
    /// stops everything.
    pub unsubscribed_at: Option<NaiveDateTime>,
    pub unsubscribed_reason: Option<OptOutSource>,
}

/// What is known of a contact beyond how to reach them: country and language with where each
/// came from, and for widget visitors the time zone and what the user agent says.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = contacts)]
#[diesel(treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ContactProfile {
    /// `agent` when a person set the name: a channel's profile name no longer replaces it.
    pub name_source: Option<ProfileSource>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub country_source: Option<ProfileSource>,
    /// BCP 47.
    pub language: Option<String>,
    pub language_source: Option<ProfileSource>,
    /// IANA.
    pub time_zone: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    /// `desktop`, `mobile`, `tablet` or `other`.
    pub device: Option<String>,
}

/// One entry of a contact's timeline (see `domain::activity`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_activity)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ActivityRow {
    pub id: ActivityId,
    pub contact_id: ContactId,
    pub kind: ActivityKind,
    pub at: NaiveDateTime,
    pub agent_id: Option<AgentId>,
    pub conversation_id: Option<ConversationId>,
    /// JSON, with names resolved at write time.
    pub detail: String,
}

/// A file an agent uploaded to a contact. The bytes are at `<data_dir>/<path>`
/// (`media/contacts/<contact_id>/<id>`); files exchanged in conversations stay on their messages.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_files)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ContactFileRow {
    pub id: ContactFileId,
    pub contact_id: ContactId,
    /// The name the agent gave (checked: no path or control characters, bounded).
    pub name: String,
    pub mime: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes, to tell copies apart and check a file on disk.
    pub sha256: String,
    pub path: String,
    pub uploaded_by: AgentId,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ConversationRow {
    pub id: ConversationId,
    pub inbox_id: InboxId,
    pub contact_id: ContactId,
    pub status: Status,
    pub assignee_id: Option<AgentId>,
    pub unread_count: i32,
    pub archived: bool,
    pub last_message_at: Option<NaiveDateTime>,
    pub last_message_author: Option<Author>,
    pub last_message_preview: Option<String>,
    pub last_customer_message_at: Option<NaiveDateTime>,
    pub first_reply_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub bot_misses: i32,
    pub follow_up_at: Option<NaiveDateTime>,
    pub follow_up_reason: Option<String>,
    pub lead_stage: Option<LeadStage>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `None` for the API channel and the widget.
    pub network: Option<Network>,
    /// The assistant that answered it last.
    pub assistant_id: Option<AssistantId>,
    /// When the next review is due (`None`: reviewed since the latest message).
    pub review_due_at: Option<NaiveDateTime>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub quality_score: Option<i32>,
    /// The latest review's [`ReviewRecord`], as JSON.
    pub review: Option<String>,
    /// When the CSAT survey of the current closing was sent.
    pub csat_requested_at: Option<NaiveDateTime>,
    /// 1–5.
    pub csat: Option<i32>,
    pub csat_at: Option<NaiveDateTime>,
    /// What an AI follow-up sends when due; `None` for an agent's reminder.
    pub follow_up_message: Option<String>,
    /// AI follow-ups sent in this conversation (at most the inbox's `max_follow_ups`).
    pub ai_follow_ups: i32,
    pub waiting_since: Option<NaiveDateTime>,
    /// The snooze, as [`snooze_column`] writes it: `None` when not snoozed.
    pub snoozed_until: Option<NaiveDateTime>,
}

/// `snoozed_until` of a conversation snoozed until the customer writes. One column holds the
/// whole snooze (the table is at diesel's 32-column limit); a date no timer reaches keeps it
/// out of the timer scan (`snoozed_until <= now + horizon`) without a second column.
pub const UNTIL_CUSTOMER_WRITES: NaiveDateTime = match chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
{
    Some(d) => d.and_time(chrono::NaiveTime::MIN),
    None => NaiveDateTime::MIN,
};

/// The stored form of a snooze: its end, or [`UNTIL_CUSTOMER_WRITES`].
pub fn snooze_column(s: Snooze) -> NaiveDateTime {
    s.until.unwrap_or(UNTIL_CUSTOMER_WRITES)
}

/// The columns of a conversation that one change really changed, for its UPDATE.
///
/// Writing the whole row made every change rewrite every index of the table (SQLite rewrites
/// the entries of each index whose columns are SET, changed or not) and re-check the foreign
/// keys of columns that never change: half of the SQLite writer's time under ingest. `None`
/// leaves a column alone; `Some(None)` sets it to NULL. `updated_at` is always written, so the
/// changeset is never empty.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = conversations)]
pub struct ConversationChanges {
    pub status: Option<Status>,
    pub assignee_id: Option<Option<AgentId>>,
    pub unread_count: Option<i32>,
    pub archived: Option<bool>,
    pub last_message_at: Option<Option<NaiveDateTime>>,
    pub last_message_author: Option<Option<Author>>,
    pub last_message_preview: Option<Option<String>>,
    pub last_customer_message_at: Option<Option<NaiveDateTime>>,
    pub first_reply_at: Option<Option<NaiveDateTime>>,
    pub resolved_at: Option<Option<NaiveDateTime>>,
    pub bot_misses: Option<i32>,
    pub follow_up_at: Option<Option<NaiveDateTime>>,
    pub follow_up_reason: Option<Option<String>>,
    pub lead_stage: Option<Option<LeadStage>>,
    pub network: Option<Option<Network>>,
    pub assistant_id: Option<Option<AssistantId>>,
    pub review_due_at: Option<Option<NaiveDateTime>>,
    pub reviewed_at: Option<Option<NaiveDateTime>>,
    pub quality_score: Option<Option<i32>>,
    pub review: Option<Option<String>>,
    pub csat_requested_at: Option<Option<NaiveDateTime>>,
    pub csat: Option<Option<i32>>,
    pub csat_at: Option<Option<NaiveDateTime>>,
    pub follow_up_message: Option<Option<String>>,
    pub ai_follow_ups: Option<i32>,
    pub waiting_since: Option<Option<NaiveDateTime>>,
    pub snoozed_until: Option<Option<NaiveDateTime>>,
    pub updated_at: NaiveDateTime,
}

impl ConversationChanges {
    /// What turns `before` into `after` (the same conversation; ids and creation never change).
    pub fn between(before: &ConversationRow, after: &ConversationRow) -> ConversationChanges {
        fn changed<T: PartialEq + Clone>(b: &T, a: &T) -> Option<T> {
            (b != a).then(|| a.clone())
        }
        ConversationChanges {
            status: changed(&before.status, &after.status),
            assignee_id: changed(&before.assignee_id, &after.assignee_id),
            unread_count: changed(&before.unread_count, &after.unread_count),
            archived: changed(&before.archived, &after.archived),
            last_message_at: changed(&before.last_message_at, &after.last_message_at),
            last_message_author: changed(&before.last_message_author, &after.last_message_author),
            last_message_preview: changed(
                &before.last_message_preview,
                &after.last_message_preview,
            ),
            last_customer_message_at: changed(
                &before.last_customer_message_at,
                &after.last_customer_message_at,
            ),
            first_reply_at: changed(&before.first_reply_at, &after.first_reply_at),
            resolved_at: changed(&before.resolved_at, &after.resolved_at),
            bot_misses: changed(&before.bot_misses, &after.bot_misses),
            follow_up_at: changed(&before.follow_up_at, &after.follow_up_at),
            follow_up_reason: changed(&before.follow_up_reason, &after.follow_up_reason),
            lead_stage: changed(&before.lead_stage, &after.lead_stage),
            network: changed(&before.network, &after.network),
            assistant_id: changed(&before.assistant_id, &after.assistant_id),
            review_due_at: changed(&before.review_due_at, &after.review_due_at),
            reviewed_at: changed(&before.reviewed_at, &after.reviewed_at),
            quality_score: changed(&before.quality_score, &after.quality_score),
            review: changed(&before.review, &after.review),
            csat_requested_at: changed(&before.csat_requested_at, &after.csat_requested_at),
            csat: changed(&before.csat, &after.csat),
            csat_at: changed(&before.csat_at, &after.csat_at),
            follow_up_message: changed(&before.follow_up_message, &after.follow_up_message),
            ai_follow_ups: changed(&before.ai_follow_ups, &after.ai_follow_ups),
            waiting_since: changed(&before.waiting_since, &after.waiting_since),
            snoozed_until: changed(&before.snoozed_until, &after.snoozed_until),
            updated_at: after.updated_at,
        }
    }
}

/// What a review found besides its score, stored whole as JSON in `conversations.review`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReviewRecord {
    /// Up to three lines: `Asked:`, `Details:`, `Outcome:`.
    pub summary: String,
    pub rubric: Vec<Criterion>,
    /// `offline`, or the id of the assistant whose model wrote the review.
    pub reviewed_by: String,
    /// What was reviewed: a conversation whose hash is unchanged is not reviewed again.
    pub hash: String,
    /// The stage the review suggests (taken only when no stage is set).
    pub suggested_lead_stage: Option<LeadStage>,
}

impl ConversationRow {
    /// The latest review's record; `None` before the first (or if it cannot be read).
    pub fn review_record(&self) -> Option<ReviewRecord> {
        self.review
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
    }

    /// A conversation as it starts: the assistant's, no message yet.
    pub fn opened(
        id: ConversationId,
        inbox_id: InboxId,
        contact_id: ContactId,
        network: Option<Network>,
        now: NaiveDateTime,
    ) -> ConversationRow {
        ConversationRow {
            id,
            inbox_id,
            contact_id,
            status: Status::Bot,
            assignee_id: None,
            unread_count: 0,
            archived: false,
            last_message_at: None,
            last_message_author: None,
            last_message_preview: None,
            last_customer_message_at: None,
            first_reply_at: None,
            resolved_at: None,
            bot_misses: 0,
            follow_up_at: None,
            follow_up_reason: None,
            lead_stage: None,
            created_at: now,
            updated_at: now,
            network,
            assistant_id: None,
            review_due_at: None,
            reviewed_at: None,
            quality_score: None,
            review: None,
            csat_requested_at: None,
            csat: None,
            csat_at: None,
            follow_up_message: None,
            ai_follow_ups: 0,
            waiting_since: None,
            snoozed_until: None,
        }
    }

    /// The part of the row the state machine works on.
    pub fn state(&self) -> ConversationState {
        ConversationState {
            status: self.status,
            assignee: self.assignee_id,
            unread_count: self.unread_count,
            archived: self.archived,
            last_message_at: self.last_message_at,
            last_message_author: self.last_message_author,
            last_customer_message_at: self.last_customer_message_at,
            first_reply_at: self.first_reply_at,
            resolved_at: self.resolved_at,
            bot_misses: self.bot_misses,
            follow_up: self.follow_up_at.map(|at| FollowUp {
                at,
                reason: self.follow_up_reason.clone(),
                source: match self.follow_up_message {
                    Some(_) => FollowUpSource::Ai,
                    None => FollowUpSource::Agent,
                },
                message: self.follow_up_message.clone(),
            }),
            lead_stage: self.lead_stage,
            assistant: self.assistant_id.clone(),
            csat_requested_at: self.csat_requested_at,
            csat: self
                .csat
                .and_then(|c| u8::try_from(c).ok())
                .and_then(|c| CsatScore::try_from(c).ok()),
            ai_follow_ups: self.ai_follow_ups,
            waiting_since: self.waiting_since,
            snooze: self.snoozed_until.map(|at| Snooze {
                until: (at != UNTIL_CUSTOMER_WRITES).then_some(at),
            }),
        }
    }

    /// Writes a new state into the row (fields the state machine does not own are kept).
    pub fn set_state(&mut self, s: &ConversationState, now: NaiveDateTime) {
        self.status = s.status;
        self.assignee_id = s.assignee;
        self.unread_count = s.unread_count;
        self.archived = s.archived;
        self.last_message_at = s.last_message_at;
        self.last_message_author = s.last_message_author;
        self.last_customer_message_at = s.last_customer_message_at;
        self.first_reply_at = s.first_reply_at;
        self.resolved_at = s.resolved_at;
        self.bot_misses = s.bot_misses;
        self.follow_up_at = s.follow_up.as_ref().map(|f| f.at);
        self.follow_up_reason = s.follow_up.as_ref().and_then(|f| f.reason.clone());
        self.follow_up_message = s.follow_up.as_ref().and_then(|f| f.message.clone());
        self.lead_stage = s.lead_stage;
        self.assistant_id = s.assistant.clone();
        self.csat_requested_at = s.csat_requested_at;
        if self.csat != s.csat.map(|c| i32::from(c.get())) {
            self.csat = s.csat.map(|c| i32::from(c.get()));
            self.csat_at = s.csat.map(|_| now);
        }
        self.ai_follow_ups = s.ai_follow_ups;
        self.waiting_since = s.waiting_since;
        self.snoozed_until = s.snooze.map(snooze_column);
        self.updated_at = now;
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = messages)]
// Absent values are NULL (every optional column defaults to NULL anyway): the INSERT's text
// is then the same for every message, so diesel prepares it once per connection instead of
// once per message.
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MessageRow {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    #[serde(skip)]
    pub inbox_id: InboxId,
    pub external_id: Option<String>,
    pub client_id: Option<String>,
    pub direction: Direction,
    pub author: Author,
    pub agent_id: Option<AgentId>,
    pub body: String,
    pub private_note: bool,
    pub delivery_status: Option<DeliveryStatus>,
    pub failure_reason: Option<String>,
    pub sent_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub kind: MessageKind,
    /// Where the provider offers the file: `url:<url>` or `id:<media id>` (see [`MediaSource`]).
    pub media_source: Option<String>,
    /// The stored file, relative to `server.data_dir`.
    pub media_path: Option<String>,
    pub media_mime: Option<String>,
    pub media_filename: Option<String>,
    /// JSON with what the kind needs (location, template, caption, reply id…).
    pub payload: Option<String>,
    /// SMS parts of an outbound SMS.
    pub segments: Option<i32>,
    /// The provider's timestamp when it was not believable and `sent_at` is the arrival time
    /// instead (see `domain::conversation::believable_time`).
    pub provider_sent_at: Option<NaiveDateTime>,
}

impl MessageRow {
    /// The payload as JSON (an empty object when absent or unreadable).
    pub fn payload_json(&self) -> serde_json::Value {
        self.payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()))
    }
}

/// Where a provider offers an inbound file, as stored in `messages.media_source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// Fetch this URL (Twilio `MediaUrlN`, Meta attachment URLs).
    Url(String),
    /// A WhatsApp Cloud API media id (two-step download).
    ProviderId(String),
}

impl MediaSource {
    pub fn encode(&self) -> String {
        match self {
            MediaSource::Url(u) => format!("url:{u}"),
            MediaSource::ProviderId(id) => format!("id:{id}"),
        }
    }

    pub fn decode(s: &str) -> Option<MediaSource> {
        if let Some(u) = s.strip_prefix("url:") {
            Some(MediaSource::Url(u.to_owned()))
        } else {
            s.strip_prefix("id:")
                .map(|id| MediaSource::ProviderId(id.to_owned()))
        }
    }
}

/// Something done that cannot be undone: who did it, and when.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuditRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub agent_id: Option<AgentId>,
    /// Kept as it was then: the agent may be gone later.
    pub agent_email: String,
    /// `conversation.deleted`…
    pub action: String,
    /// The id of what it was done to.
    pub subject: String,
    /// JSON with what is worth keeping (the contact, the inbox, how many messages).
    pub detail: Option<String>,
}

/// A provider status that arrived before the provider id of its message was recorded.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pending_statuses)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct PendingStatusRow {
    pub id: String,
    pub inbox_id: InboxId,
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct OutboxRow {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

/// One thing learned about a contact (see `domain::memory`). Read across the same person's
/// contacts; never deleted, only invalidated.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_memories)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MemoryRow {
    pub id: MemoryId,
    /// The contact it was learned from or written for (any of the person's contacts).
    pub contact_id: ContactId,
    pub kind: MemoryKind,
    pub text: String,
    /// `name`, `city`, `email`, `phone`, `employer`: a fact with one value at a time.
    pub slot: Option<String>,
    pub source_conversation_id: Option<ConversationId>,
    pub source_message_id: Option<MessageId>,
    /// The agent who wrote it (or the edit it is); `None` when it was learned from a message.
    pub created_by: Option<AgentId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When it was replaced, removed or pushed out by the cap; `None` while it is live.
    pub invalidated_at: Option<NaiveDateTime>,
}

impl MemoryRow {
    /// What reconciliation compares.
    pub fn existing(&self) -> ExistingMemory {
        ExistingMemory {
            id: self.id,
            kind: self.kind,
            text: self.text.clone(),
            slot: self.slot.clone(),
            created_at: self.created_at,
        }
    }
}

/// Up to this many characters of the latest message are kept for the list.
pub const PREVIEW_CHARS: usize = 120;

pub fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().nth(PREVIEW_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ConversationRow {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        let mut row = ConversationRow::opened(
            ConversationId::new(),
            InboxId::from("i"),
            ContactId::new(),
            None,
            at,
        );
        row.status = Status::Human;
        row.assignee_id = Some(AgentId::new());
        row.unread_count = 1;
        row.last_message_at = Some(at);
        row.last_message_author = Some(Author::Customer);
        row.last_message_preview = Some("hi".to_owned());
        row.last_customer_message_at = Some(at);
        row
    }

    #[test]
    fn changes_name_only_what_changed() {
        let before = row();
        let mut after = before.clone();
        after.updated_at += chrono::Duration::seconds(1);
        let none = ConversationChanges::between(&before, &after);
        assert_eq!(none.updated_at, after.updated_at);
        assert!(none.status.is_none() && none.assignee_id.is_none());
        assert!(none.last_message_preview.is_none() && none.unread_count.is_none());

        after.unread_count = 2;
        after.assignee_id = None;
        after.last_message_preview = Some("hello".to_owned());
        let some = ConversationChanges::between(&before, &after);
        assert_eq!(some.unread_count, Some(2));
        // Set to NULL is a change, not "leave alone".
        assert_eq!(some.assignee_id, Some(None));
        assert_eq!(some.last_message_preview, Some(Some("hello".to_owned())));
        assert!(some.status.is_none() && some.last_message_at.is_none());
    }
}

/// A named audience: static members, or a saved filter (see `domain::segment`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = segments)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SegmentRow {
    pub id: SegmentId,
    pub name: String,
    pub kind: SegmentKind,
    /// A dynamic segment's `SegmentFilter` as JSON; `None` for a static one.
    pub filter: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: Option<AgentId>,
}

/// A saved reply (see `http::canned_responses`). `inbox_id` `None`: shared by every inbox.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = canned_responses)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CannedResponseRow {
    pub id: CannedResponseId,
    pub short_code: String,
    pub text: String,
    pub inbox_id: Option<InboxId>,
    pub created_by: Option<AgentId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A contact of a static segment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = segment_members)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SegmentMemberRow {
    pub segment_id: SegmentId,
    pub contact_id: ContactId,
    pub added_at: NaiveDateTime,
    pub added_by: Option<AgentId>,
}

/// A broadcast (see `domain::broadcast`): what it sends, to which segments, and where it
/// stands. Its counts are read from its recipients.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = broadcasts)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct BroadcastRow {
    pub id: BroadcastId,
    pub name: String,
    pub inbox_id: InboxId,
    /// Twilio inboxes: SMS or WhatsApp.
    pub network: Option<Network>,
    /// The segments' ids as a JSON array.
    pub segment_ids: String,
    pub text: Option<String>,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
    /// The template's parameters as a JSON array of strings (with `{{field}}` placeholders).
    pub parameters: Option<String>,
    pub fallback: Option<String>,
    pub status: BroadcastStatus,
    pub pause_reason: Option<PauseReason>,
    pub rate_per_second: Option<i32>,
    pub scheduled_at: Option<NaiveDateTime>,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub created_by: Option<AgentId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl BroadcastRow {
    /// The segments, as stored (an unreadable list reads as none).
    pub fn segments(&self) -> Vec<SegmentId> {
        serde_json::from_str(&self.segment_ids).unwrap_or_default()
    }

    /// The template's parameters, as stored.
    pub fn parameter_list(&self) -> Vec<String> {
        self.parameters
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default()
    }
}

/// One contact of a broadcast's audience: the record of its one send.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = broadcast_recipients)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct RecipientRow {
    pub id: RecipientId,
    pub broadcast_id: BroadcastId,
    pub contact_id: ContactId,
    pub address: Option<String>,
    pub status: RecipientStatus,
    pub skip_reason: Option<SkipReason>,
    /// The parameters (JSON array) or text (JSON string) rendered for this contact.
    pub rendered: Option<String>,
    pub provider_message_id: Option<String>,
    pub error_code: Option<String>,
    pub error_title: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub read_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub replied_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One referral of a contact (see `domain::referral`): carried by the inbound message
/// `message_id`, or, without a message, keyed by `event_key`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = referrals)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ReferralRow {
    pub id: ReferralId,
    pub contact_id: ContactId,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub event_key: Option<String>,
    pub kind: ReferralKind,
    pub source_id: Option<String>,
    pub source_type: Option<String>,
    pub source_url: Option<String>,
    pub headline: Option<String>,
    pub body: Option<String>,
    pub media_type: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub ctwa_clid: Option<String>,
    pub ref_param: Option<String>,
    pub catalog_id: Option<String>,
    pub product_retailer_id: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub landing_url: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    /// JSON object: what else the source said.
    pub extra: String,
    /// When the provider says it happened (the message's time).
    pub occurred_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl ReferralRow {
    /// The row of a referral (bounded first: every field came from outside).
    pub fn new(
        r: Referral,
        contact_id: ContactId,
        conversation_id: Option<ConversationId>,
        occurred_at: NaiveDateTime,
        created_at: NaiveDateTime,
    ) -> ReferralRow {
        let r = r.bounded();
        ReferralRow {
            id: ReferralId::new(),
            contact_id,
            conversation_id,
            message_id: None,
            event_key: None,
            kind: r.kind,
            source_id: r.source_id,
            source_type: r.source_type,
            source_url: r.source_url,
            headline: r.headline,
            body: r.body,
            media_type: r.media_type,
            image_url: r.image_url,
            video_url: r.video_url,
            thumbnail_url: r.thumbnail_url,
            ctwa_clid: r.ctwa_clid,
            ref_param: r.ref_param,
            catalog_id: r.catalog_id,
            product_retailer_id: r.product_retailer_id,
            utm_source: r.utm.source,
            utm_medium: r.utm.medium,
            utm_campaign: r.utm.campaign,
            utm_term: r.utm.term,
            utm_content: r.utm.content,
            landing_url: r.landing_url,
            page_url: r.page_url,
            referrer: r.referrer,
            extra: serde_json::Value::Object(r.extra).to_string(),
            occurred_at,
            created_at,
        }
    }

    /// What its `referral_captured` timeline entry says: the kind and its most telling
    /// fields, so the timeline reads without the referral row.
    pub fn activity_detail(&self) -> serde_json::Value {
        serde_json::json!({
            "referral_id": self.id,
            "kind": self.kind,
            "headline": self.headline,
            "source_id": self.source_id,
            "ref": self.ref_param,
            "utm_source": self.utm_source,
            "utm_campaign": self.utm_campaign,
            "message_id": self.message_id,
        })
    }

    /// The stored referral as the domain type (`extra` that is not a JSON object is empty).
    pub fn referral(&self) -> Referral {
        let mut r = Referral::new(self.kind);
        r.source_id = self.source_id.clone();
        r.source_type = self.source_type.clone();
        r.source_url = self.source_url.clone();
        r.headline = self.headline.clone();
        r.body = self.body.clone();
        r.media_type = self.media_type.clone();
        r.image_url = self.image_url.clone();
        r.video_url = self.video_url.clone();
        r.thumbnail_url = self.thumbnail_url.clone();
        r.ctwa_clid = self.ctwa_clid.clone();
        r.ref_param = self.ref_param.clone();
        r.catalog_id = self.catalog_id.clone();
        r.product_retailer_id = self.product_retailer_id.clone();
        r.utm = Utm {
            source: self.utm_source.clone(),
            medium: self.utm_medium.clone(),
            campaign: self.utm_campaign.clone(),
            term: self.utm_term.clone(),
            content: self.utm_content.clone(),
        };
        r.landing_url = self.landing_url.clone();
        r.page_url = self.page_url.clone();
        r.referrer = self.referrer.clone();
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&self.extra) {
            r.extra = map;
        }
        r
    }
}

/// One answer of the assistant (or its "I could not answer"), stored with its message: what
/// it rested on, the customer's question, and an agent's mark that it was wrong (see
/// `domain::answer`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assistant_answers)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AnswerRow {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    pub assistant_id: AssistantId,
    /// `knowledge_base`, `model` or `knowledge_base_fallback` (`assistant::AnswerSource`).
    pub answered_by: String,
    pub outcome: AnswerOutcome,
    pub entry_id: Option<String>,
    pub entry_question: Option<String>,
    pub model: Option<String>,
    pub confidence: Option<f64>,
    pub question: String,
    pub question_key: String,
    pub created_at: NaiveDateTime,
    pub wrong_at: Option<NaiveDateTime>,
    pub wrong_by: Option<AgentId>,
    pub wrong_reason: Option<String>,
}
