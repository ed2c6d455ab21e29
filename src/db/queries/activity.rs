//! A contact's activity timeline (`contact_activity`), and the profile changes that write to
//! it. Pages use `contact_activity_page` (`contact_id, at DESC, id DESC`): keyset, newest
//! first.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::{
    db::{
        models::{ActivityRow, ContactProfile},
        schema::{contact_activity, contacts},
        DbConnection,
    },
    domain::{
        activity::ActivityKind,
        profile::{ProfileSource, WebProfile},
        ActivityId, AgentId, ContactId, ConversationId,
    },
    error::AppResult,
};

/// A new entry, to be written in the transaction of what it records.
pub fn activity_row(
    contact_id: ContactId,
    kind: ActivityKind,
    at: NaiveDateTime,
    agent_id: Option<AgentId>,
    conversation_id: Option<ConversationId>,
    detail: &Value,
) -> ActivityRow {
    ActivityRow {
        id: ActivityId::new(),
        contact_id,
        kind,
        at,
        agent_id,
        conversation_id,
        detail: detail.to_string(),
    }
}

pub fn insert_activity(conn: &mut DbConnection, rows: &[ActivityRow]) -> AppResult<()> {
    // One statement per row: `MultiBackend` has no batch insert; there are rarely more than two.
    for row in rows {
        diesel::insert_into(contact_activity::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Up to `limit` entries of these contacts, newest first, strictly before `before` (the
/// last entry of the previous page) and of `kinds` when given.
pub fn activity_page(
    conn: &mut DbConnection,
    contact_ids: &[ContactId],
    kinds: &[ActivityKind],
    before: Option<(NaiveDateTime, ActivityId)>,
    limit: i64,
) -> AppResult<Vec<ActivityRow>> {
    let mut q = contact_activity::table
        .filter(contact_activity::contact_id.eq_any(contact_ids))
        .select(ActivityRow::as_select())
        .order((contact_activity::at.desc(), contact_activity::id.desc()))
        .limit(limit)
        .into_boxed();
    if !kinds.is_empty() {
        q = q.filter(contact_activity::kind.eq_any(kinds));
    }
    if let Some((at, id)) = before {
        q = q.filter(
            contact_activity::at
                .lt(at)
                .or(contact_activity::at.eq(at).and(contact_activity::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

/// Writes a contact's profile (and its name, phone, email).
pub fn update_contact_fields(
    conn: &mut DbConnection,
    id: ContactId,
    name: Option<&str>,
    phone: Option<&str>,
    email: Option<&str>,
    profile: &ContactProfile,
) -> AppResult<()> {
    diesel::update(contacts::table.find(id))
        .set((
            contacts::name.eq(name),
            contacts::phone.eq(phone),
            contacts::email.eq(email),
            profile,
        ))
        .execute(conn)?;
    Ok(())
}

/// A profile with what a widget visitor's browser says: the language only when no person set
/// it; the time zone and user agent always (they describe the visitor's latest visit).
pub fn with_web_profile(mut p: ContactProfile, web: &WebProfile) -> ContactProfile {
    if let Some(lang) = &web.language {
        if ProfileSource::yields_to_detection(p.language_source) {
            p.language = Some(lang.as_str().to_owned());
            p.language_source = Some(ProfileSource::Browser);
        }
    }
    if let Some(tz) = &web.time_zone {
        p.time_zone = Some(tz.clone());
    }
    let ua = &web.user_agent;
    if ua.browser.is_some() || ua.os.is_some() || ua.device.is_some() {
        p.browser = ua.browser.clone();
        p.os = ua.os.clone();
        p.device = ua.device.clone();
    }
    p
}

/// Stores what a widget visitor's browser says on their contact, when it changes anything.
pub fn detect_web_profile(
    conn: &mut DbConnection,
    id: ContactId,
    web: &WebProfile,
) -> AppResult<()> {
    let current: ContactProfile = contacts::table
        .find(id)
        .select(ContactProfile::as_select())
        .first(conn)?;
    let next = with_web_profile(current.clone(), web);
    if next != current {
        diesel::update(contacts::table.find(id))
            .set(&next)
            .execute(conn)?;
    }
    Ok(())
}
