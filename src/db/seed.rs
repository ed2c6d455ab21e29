//! Synthetic data for benchmarks (`loadgen seed`): realistic rows written through the same
//! query functions as the server, so the list benchmark reads what production would.

use chrono::{Duration, NaiveDateTime};

use super::{
    models::{ContactRow, ConversationRow, MessageRow},
    queries, DbConnection,
};
use crate::{
    clock,
    domain::{
        delivery::DeliveryStatus,
        types::{Author, Direction, MessageKind, Status},
        ContactId, ConversationId, InboxId, MessageId,
    },
    error::AppResult,
};

const TEXTS: &[&str] = &[
    "Hi, where is my order?",
    "Our shipping takes 2-4 business days within the country.",
    "Can I return a pair of shoes I bought last week?",
    "Of course: returns are free within 30 days.",
    "I need to talk to someone about an invoice",
    "What are your opening hours on Saturday?",
];

/// Conversation number `n` with `messages` messages, spread over the last months.
pub fn conversation(conn: &mut DbConnection, inbox: &str, n: u64, messages: u64) -> AppResult<()> {
    let inbox = InboxId::from(inbox);
    let now = clock::now();
    let start = now - Duration::minutes((n % 200_000) as i64 * 3);
    let contact = contact_row(&inbox, n, start);
    queries::insert_contact(conn, &contact)?;
    let row = conversation_row(&inbox, contact.id, n, messages, start);
    queries::insert_conversation(conn, &row)?;
    let rows: Vec<MessageRow> = (0..messages)
        .map(|m| message_row(&inbox, row.id, n, m, start))
        .collect();
    queries::insert_messages(conn, &rows)
}

/// Contact number `n` of the inbox, without a conversation (a broadcast's audience); its id.
pub fn contact(conn: &mut DbConnection, inbox: &str, n: u64) -> AppResult<ContactId> {
    let inbox = InboxId::from(inbox);
    let row = contact_row(&inbox, n, clock::now());
    queries::insert_contact(conn, &row)?;
    Ok(row.id)
}

/// The customer of conversation `n`, first seen at `start`.
fn contact_row(inbox: &InboxId, n: u64, start: NaiveDateTime) -> ContactRow {
    ContactRow {
        id: ContactId::new(),
        inbox_id: inbox.clone(),
        external_id: format!("seed-{n}"),
        name: Some(format!("Customer {n}")),
        phone: Some(format!("+3460{:07}", n % 10_000_000)),
        email: None,
        blocked: false,
        created_at: start,
        unsubscribed_at: None,
        unsubscribed_reason: None,
        profile: Default::default(),
    }
}

/// Conversation `n` as it stands after its `messages` messages, one every 30 seconds from
/// `start`.
fn conversation_row(
    inbox: &InboxId,
    contact_id: ContactId,
    n: u64,
    messages: u64,
    start: NaiveDateTime,
) -> ConversationRow {
    // A mix of statuses, as a real inbox has.
    let status = match n % 10 {
        0..=5 => Status::Bot,
        6..=7 => Status::Human,
        _ => Status::Closed,
    };
    let last_author = if n.is_multiple_of(2) {
        Author::Customer
    } else {
        Author::Assistant
    };
    let last_at = start + Duration::seconds(messages as i64 * 30);
    ConversationRow {
        status,
        unread_count: (n % 3) as i32,
        archived: n.is_multiple_of(50),
        last_message_at: Some(last_at),
        last_message_author: Some(last_author),
        last_message_preview: Some(TEXTS[(n % TEXTS.len() as u64) as usize].to_owned()),
        last_customer_message_at: Some(last_at),
        first_reply_at: Some(start + Duration::seconds(30)),
        resolved_at: (status == Status::Closed).then_some(last_at),
        waiting_since: (status == Status::Human && last_author == Author::Customer)
            .then_some(last_at),
        updated_at: last_at,
        ..ConversationRow::opened(
            ConversationId::new(),
            inbox.clone(),
            contact_id,
            None,
            start,
        )
    }
}

/// Message `m` of conversation `n`: the customer and the assistant take turns, 30 seconds
/// apart.
fn message_row(
    inbox: &InboxId,
    conversation_id: ConversationId,
    n: u64,
    m: u64,
    start: NaiveDateTime,
) -> MessageRow {
    let customer = m.is_multiple_of(2);
    MessageRow {
        id: MessageId::new(),
        conversation_id,
        inbox_id: inbox.clone(),
        external_id: customer.then(|| format!("seed-{n}-{m}")),
        client_id: None,
        direction: if customer {
            Direction::Inbound
        } else {
            Direction::Outbound
        },
        author: if customer {
            Author::Customer
        } else {
            Author::Assistant
        },
        agent_id: None,
        body: TEXTS[((n + m) % TEXTS.len() as u64) as usize].to_owned(),
        private_note: false,
        delivery_status: (!customer).then_some(DeliveryStatus::Delivered),
        failure_reason: None,
        sent_at: start + Duration::seconds(m as i64 * 30),
        created_at: start + Duration::seconds(m as i64 * 30),
        kind: MessageKind::Text,
        media_source: None,
        media_path: None,
        media_mime: None,
        media_filename: None,
        payload: None,
        segments: None,
        provider_sent_at: None,
    }
}
