//! Plain query functions. They take a connection and never decide business rules; writes are
//! called from inside `Store::write` jobs, reads from `Store::read`.
//!
//! One module per table, or per concern where a concern spans tables (the conversation list,
//! search). Each module's doc names the indexes its queries rely on. Callers use the flat
//! paths re-exported here (`queries::message_page`), so moving a function between modules
//! changes no caller.

mod activity;
mod agents;
mod answers;
mod audit;
mod broadcasts;
mod canned;
mod contacts;
mod conversations;
mod csat;
mod files;
mod list;
mod memories;
mod messages;
mod outbox;
mod pending_statuses;
mod referrals;
mod reports;
mod reviews;
mod search;
mod segments;
mod tags;
mod tokens;
mod usage;

pub use activity::{
    activity_page, activity_row, detect_web_profile, insert_activity, update_contact_fields,
    with_web_profile,
};
pub use agents::{
    agent_by_email, agent_by_id, count_agents, ensure_another_admin, existing_agent, insert_agent,
    insert_new_agent, list_agents, set_availability, set_deactivated, set_notifications,
    set_password_hash, update_agent, AgentChanges,
};
pub use answers::{
    answer, count_answers, insert_answer, mark_answer, marked_wrong, unanswered, AnswerScope,
    REPORT_ROWS,
};
pub use audit::{audit_entries, insert_audit};
pub use broadcasts::{
    apply_report, broadcast, broadcasts, broadcasts_in, broadcasts_of_contacts, due_recipients,
    expire_unknown, insert_broadcast, insert_recipients, mark_replied, mark_sending,
    provider_opt_out, reached_since, recipient, recipient_counts, recipient_not_sent,
    recipient_page, recipient_unknown, record_sent, retry_recipient, sending_to_unknown,
    set_broadcast_status, unsettled, NotSent, RecipientCounts, RecipientRef, Reported, StatusStamp,
};
pub use canned::{canned, canned_responses_of, delete_canned, insert_canned, update_canned};
pub use contacts::{
    contact, contact_by_external_id, detect_country, insert_contact, name_same_person,
    phone_blocked, phone_owner, same_person, set_blocked, set_unsubscribed, ContactInput,
};
pub use conversations::{
    awaiting_assistant, conversation, conversation_id_of_contact, conversation_of_contact,
    conversation_with_contact, conversations_of_contacts, delete_conversation,
    follow_ups_due_before, insert_conversation, needs_human_counts, open_conversations_per_agent,
    resolve_conversation, snoozes_due_before, update_conversation,
};
pub use csat::{csat_counts, CsatFilter};
pub use files::{
    agent_names, contact_file, contact_files_page, insert_contact_file, message_files_page,
};
pub use list::{list_conversations, ConversationFilter, ListSort};
pub use memories::{
    add_memory, edit_memory, forget_memory, live_memory, memory_by_id, person_memories, remember,
    MemorySource,
};
pub use messages::{
    assistant_history, delete_message, insert_messages, insert_new_messages, last_customer_text,
    media_downloads_pending, message, message_by_client_id, message_by_external_id, message_page,
    messages_by_external_ids, outbound_before, set_delivery_status, set_external_id, set_media,
    set_media_failure, unrecorded_outbound_with_text, HistoryRow,
};
pub use outbox::{
    delete_outbox, insert_outbox, outbox_backlog, outbox_due, outbox_due_in_shards,
    outbox_retry_later,
};
pub use pending_statuses::{expire_pending_statuses, park_status, take_pending_statuses};
pub use referrals::{first_and_latest_referrals, insert_referral, referral_event_known};
pub use reports::{report_conversations, report_steps, ReportScope};
pub use reviews::{review_material, reviews_due, ReviewedMessage};
pub use search::index_new_messages;
pub use segments::{
    add_members, contact_matches, delete_segment, insert_segment, matching_count, member_counts,
    remove_members, segment, segment_contacts, segments, static_segments_of, update_segment,
    visible_contacts, ResolvedFilter,
};
pub use tags::{set_tags, tags_of};
pub use tokens::{agent_by_token, delete_token, delete_tokens_of, insert_token};
pub use usage::{conversation_usage, record_usage, usage_on, TokenCounts};
