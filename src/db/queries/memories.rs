//! Contact memories: what was learned about a person, shared by the same person's contacts
//! (the contacts with the same phone number, see `contacts.rs`), reconciled by
//! `domain::memory::reconcile` and never deleted (a replaced or removed memory is invalidated).
//!
//! Every read of a person's live memories uses `contact_memories_live`
//! (`contact_id, invalidated_at`). Writes read the person's live set and change it in the same
//! job, so they run through `Store::write`, whose groups are one transaction at a time on
//! SQLite and on PostgreSQL's first lane: two writes for one person never reconcile against
//! the same stale set.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::contacts::{contact, same_person};
use crate::{
    db::{models::MemoryRow, schema::contact_memories, DbConnection},
    domain::{
        memory::{dedupe_key, reconcile, slot_of, ExistingMemory, MemoryCandidate, MemoryOp},
        types::MemoryKind,
        AgentId, ContactId, ConversationId, MemoryId, MessageId,
    },
    error::{AppError, AppResult},
};

/// Where new memories come from: the conversation and message they were learned from, or the
/// agent who wrote them.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemorySource {
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub agent: Option<AgentId>,
}

/// The live memories of the person `contact_id` is (every contact with its phone number),
/// newest first. `NotFound("contact")` for an unknown contact.
pub fn person_memories(
    conn: &mut DbConnection,
    contact_id: ContactId,
) -> AppResult<Vec<MemoryRow>> {
    let c = contact(conn, contact_id)?.ok_or(AppError::NotFound("contact"))?;
    let ids: Vec<ContactId> = same_person(conn, &c)?.iter().map(|c| c.id).collect();
    Ok(contact_memories::table
        .filter(contact_memories::contact_id.eq_any(&ids))
        .filter(contact_memories::invalidated_at.is_null())
        .order((
            contact_memories::created_at.desc(),
            contact_memories::id.desc(),
        ))
        .select(MemoryRow::as_select())
        .load(conn)?)
}

/// Reconciles what was learned from a customer's message with the person's live memories and
/// stores the outcome (new memories on `contact_id`, with the message as their source).
/// Returns how many memories changed (added, replaced, invalidated); 0 for duplicates only.
pub fn remember(
    conn: &mut DbConnection,
    contact_id: ContactId,
    conversation_id: Option<ConversationId>,
    message_id: Option<MessageId>,
    candidates: &[MemoryCandidate],
    now: NaiveDateTime,
) -> AppResult<usize> {
    let source = MemorySource {
        conversation_id,
        message_id,
        agent: None,
    };
    let existing = existing(&person_memories(conn, contact_id)?);
    let ops = reconcile(&existing, candidates);
    let changed = ops.len();
    apply(conn, contact_id, &source, ops, now)?;
    Ok(changed)
}

/// An agent's memory for the person of `contact_id`, reconciled like a learned one (its slot
/// from its text: "Name: Anna" replaces the known name). The stored memory and whether it is
/// new: an existing live duplicate is returned as it is.
pub fn add_memory(
    conn: &mut DbConnection,
    contact_id: ContactId,
    agent: AgentId,
    kind: MemoryKind,
    text: &str,
    now: NaiveDateTime,
) -> AppResult<(MemoryRow, bool)> {
    let live = person_memories(conn, contact_id)?;
    let source = MemorySource {
        agent: Some(agent),
        ..MemorySource::default()
    };
    add_to(conn, contact_id, &live, &source, kind, text, now)
}

/// An agent's edit: the old memory is invalidated and the edited one stored in its place (a new
/// row, with the old one's contact and sources), reconciled against the rest of the person's
/// memories; an edit into a duplicate of another live memory leaves that one. Unchanged kind
/// and text change nothing. `NotFound("memory")` for an unknown or invalidated id.
pub fn edit_memory(
    conn: &mut DbConnection,
    id: MemoryId,
    agent: AgentId,
    kind: Option<MemoryKind>,
    text: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<MemoryRow> {
    let old = live_memory(conn, id)?.ok_or(AppError::NotFound("memory"))?;
    let kind = kind.unwrap_or(old.kind);
    let text = text.unwrap_or(&old.text).to_owned();
    if kind == old.kind && text == old.text {
        return Ok(old);
    }
    invalidate(conn, old.id, now)?;
    let rest: Vec<MemoryRow> = person_memories(conn, old.contact_id)?;
    let source = MemorySource {
        conversation_id: old.source_conversation_id,
        message_id: old.source_message_id,
        agent: Some(agent),
    };
    add_to(conn, old.contact_id, &rest, &source, kind, &text, now).map(|(row, _)| row)
}

/// Invalidates a live memory (it is kept, no longer read). `NotFound("memory")` when there is
/// no such live memory.
pub fn forget_memory(conn: &mut DbConnection, id: MemoryId, now: NaiveDateTime) -> AppResult<()> {
    match invalidate(conn, id, now)? {
        0 => Err(AppError::NotFound("memory")),
        _ => Ok(()),
    }
}

/// A memory by id, while it is live.
pub fn live_memory(conn: &mut DbConnection, id: MemoryId) -> AppResult<Option<MemoryRow>> {
    Ok(contact_memories::table
        .find(id)
        .filter(contact_memories::invalidated_at.is_null())
        .select(MemoryRow::as_select())
        .first(conn)
        .optional()?)
}

/// A memory by id, live or not (for tests and audits: nothing is ever deleted).
pub fn memory_by_id(conn: &mut DbConnection, id: MemoryId) -> AppResult<Option<MemoryRow>> {
    Ok(contact_memories::table
        .find(id)
        .select(MemoryRow::as_select())
        .first(conn)
        .optional()?)
}

fn existing(rows: &[MemoryRow]) -> Vec<ExistingMemory> {
    rows.iter().map(MemoryRow::existing).collect()
}

/// Reconciles one hand-written memory with `live` and stores it: the new row, or the live
/// duplicate it is.
fn add_to(
    conn: &mut DbConnection,
    contact_id: ContactId,
    live: &[MemoryRow],
    source: &MemorySource,
    kind: MemoryKind,
    text: &str,
    now: NaiveDateTime,
) -> AppResult<(MemoryRow, bool)> {
    let candidate = MemoryCandidate {
        kind,
        text: text.to_owned(),
        slot: slot_of(kind, text),
    };
    let ops = reconcile(&existing(live), std::slice::from_ref(&candidate));
    if ops.is_empty() {
        let key = dedupe_key(kind, text);
        let same = live
            .iter()
            .find(|m| dedupe_key(m.kind, &m.text) == key)
            .cloned()
            .ok_or_else(|| AppError::internal("a duplicate memory without its original"))?;
        return Ok((same, false));
    }
    let added = apply(conn, contact_id, source, ops, now)?;
    let row = added
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("memory not written"))?;
    Ok((row, true))
}

/// Carries out reconciliation's operations; returns the rows inserted, in order.
fn apply(
    conn: &mut DbConnection,
    contact_id: ContactId,
    source: &MemorySource,
    ops: Vec<MemoryOp>,
    now: NaiveDateTime,
) -> AppResult<Vec<MemoryRow>> {
    let mut inserted = Vec::new();
    for op in ops {
        let new = match op {
            MemoryOp::Add(new) => new,
            MemoryOp::Replace { old, new } => {
                invalidate(conn, old, now)?;
                new
            }
            MemoryOp::Invalidate(old) => {
                invalidate(conn, old, now)?;
                continue;
            }
        };
        let row = MemoryRow {
            id: MemoryId::new(),
            contact_id,
            kind: new.kind,
            text: new.text,
            slot: new.slot,
            source_conversation_id: source.conversation_id,
            source_message_id: source.message_id,
            created_by: source.agent,
            created_at: now,
            updated_at: now,
            invalidated_at: None,
        };
        diesel::insert_into(contact_memories::table)
            .values(&row)
            .execute(conn)?;
        inserted.push(row);
    }
    Ok(inserted)
}

/// Marks a live memory invalidated; how many rows changed (0 or 1).
fn invalidate(conn: &mut DbConnection, id: MemoryId, now: NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::update(
        contact_memories::table
            .find(id)
            .filter(contact_memories::invalidated_at.is_null()),
    )
    .set((
        contact_memories::invalidated_at.eq(Some(now)),
        contact_memories::updated_at.eq(now),
    ))
    .execute(conn)?)
}
