//! Segments and their members; a dynamic segment's filter as one boxed query over contacts.
//!
//! Members are read through the primary key `(segment_id, contact_id)` in contact id order
//! (ids are UUIDv7, so that is creation order), which is also the keyset of a page; a
//! contact's segments through `segment_members_contact`. A dynamic filter's conditions on
//! conversations are `contacts.id IN (SELECT contact_id FROM conversations …)` subqueries
//! (`conversations_contact` serves them; tags go through `conversation_tags_tag`). A contact
//! has at most one conversation (one per inbox, and a contact belongs to one inbox), so "its
//! conversation's last activity is before X" needs no aggregate.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::{
    dsl,
    dsl::sql,
    prelude::*,
    sql_types::{Bool, Text},
};

use crate::{
    db::{
        models::{ContactRow, SegmentMemberRow, SegmentRow},
        schema::{contacts, conversation_tags, conversations, segment_members, segments},
        DbConnection, MultiBackend,
    },
    domain::{
        access::Viewer, activity::ActivityKind, segment::SegmentFilter, types::SegmentKind,
        AgentId, ContactId, InboxId, SegmentId,
    },
    error::{AppError, AppResult},
};

/// Contacts as a filter narrows them, boxed so each condition is one step.
type ContactQuery = dsl::IntoBoxed<
    'static,
    dsl::Select<contacts::table, dsl::AsSelect<ContactRow, MultiBackend>>,
    MultiBackend,
>;

/// A dynamic filter with its channels resolved to the inboxes configured for them (the
/// configuration, not the database, knows an inbox's channel).
pub struct ResolvedFilter<'a> {
    pub filter: &'a SegmentFilter,
    /// `Some`: the contact's inbox must be one of these (the filter's inboxes and channels).
    pub inboxes: Option<Vec<InboxId>>,
}

pub fn insert_segment(conn: &mut DbConnection, row: &SegmentRow) -> AppResult<()> {
    ensure_name_free(conn, &row.name, None)?;
    diesel::insert_into(segments::table)
        .values(row)
        .execute(conn)
        .map_err(name_taken)?;
    Ok(())
}

pub fn segment(conn: &mut DbConnection, id: SegmentId) -> AppResult<Option<SegmentRow>> {
    Ok(segments::table
        .find(id)
        .select(SegmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every segment, by name.
pub fn segments(conn: &mut DbConnection) -> AppResult<Vec<SegmentRow>> {
    Ok(segments::table
        .order(segments::name.asc())
        .select(SegmentRow::as_select())
        .load(conn)?)
}

/// A new name and/or filter.
pub fn update_segment(
    conn: &mut DbConnection,
    id: SegmentId,
    name: Option<&str>,
    filter: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    if let Some(name) = name {
        ensure_name_free(conn, name, Some(id))?;
        diesel::update(segments::table.find(id))
            .set(segments::name.eq(name))
            .execute(conn)
            .map_err(name_taken)?;
    }
    if let Some(filter) = filter {
        diesel::update(segments::table.find(id))
            .set(segments::filter.eq(filter))
            .execute(conn)?;
    }
    diesel::update(segments::table.find(id))
        .set(segments::updated_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Deletes the segment and (by cascade) its members; false when there was none.
pub fn delete_segment(conn: &mut DbConnection, id: SegmentId) -> AppResult<bool> {
    // Members first: the cascade is declared, but not every SQLite connection has foreign keys
    // on, and the order costs nothing.
    diesel::delete(segment_members::table.filter(segment_members::segment_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(segments::table.find(id)).execute(conn)? > 0)
}

fn ensure_name_free(
    conn: &mut DbConnection,
    name: &str,
    except: Option<SegmentId>,
) -> AppResult<()> {
    let mut q = segments::table
        .filter(segments::name.eq(name))
        .select(segments::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(segments::id.ne(id));
    }
    match q.first::<SegmentId>(conn).optional()? {
        Some(_) => Err(name_conflict(name)),
        None => Ok(()),
    }
}

fn name_conflict(name: &str) -> AppError {
    AppError::Conflict {
        code: "segment_name_taken",
        message: format!("a segment named `{name}` exists already"),
    }
}

/// A unique violation on the name (two creations at once) is the same 409.
fn name_taken(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AppError::Conflict {
            code: "segment_name_taken",
            message: "a segment with this name exists already".to_owned(),
        },
        other => other.into(),
    }
}

/// Members of each static segment.
pub fn member_counts(conn: &mut DbConnection) -> AppResult<HashMap<SegmentId, i64>> {
    let rows: Vec<(SegmentId, i64)> = segment_members::table
        .group_by(segment_members::segment_id)
        .select((segment_members::segment_id, dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Contacts a dynamic filter matches now.
pub fn matching_count(conn: &mut DbConnection, filter: &ResolvedFilter<'_>) -> AppResult<i64> {
    Ok(contacts::table
        .filter(condition(filter))
        .count()
        .get_result(conn)?)
}

/// Which of `ids` exist and `viewer` may see (through a conversation of theirs).
pub fn visible_contacts(
    conn: &mut DbConnection,
    ids: &[ContactId],
    viewer: Viewer,
) -> AppResult<Vec<ContactId>> {
    let mut q = contacts::table
        .filter(contacts::id.eq_any(ids.to_vec()))
        .select(contacts::id)
        .into_boxed();
    if !viewer.sees_all {
        q = q.filter(visible(viewer));
    }
    Ok(q.load(conn)?)
}

/// Adds the contacts to a static segment; returns how many were not members yet.
pub fn add_members(
    conn: &mut DbConnection,
    segment: SegmentId,
    ids: &[ContactId],
    by: AgentId,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let already: Vec<ContactId> = segment_members::table
        .filter(segment_members::segment_id.eq(segment))
        .filter(segment_members::contact_id.eq_any(ids.to_vec()))
        .select(segment_members::contact_id)
        .load(conn)?;
    let rows: Vec<SegmentMemberRow> = ids
        .iter()
        .filter(|id| !already.contains(id))
        .map(|&contact_id| SegmentMemberRow {
            segment_id: segment,
            contact_id,
            added_at: now,
            added_by: Some(by),
        })
        .collect();
    // One statement per row: the multi-backend connection has no batch insert; inside the
    // write's transaction this costs no extra disk write.
    for row in &rows {
        diesel::insert_into(segment_members::table)
            .values(row)
            .execute(conn)?;
    }
    let added: Vec<ContactId> = rows.iter().map(|r| r.contact_id).collect();
    record_membership(conn, ActivityKind::SegmentAdded, segment, &added, by, now)?;
    Ok(rows.len())
}

/// Each contact's timeline says it joined or left the segment, in the caller's transaction.
fn record_membership(
    conn: &mut DbConnection,
    kind: ActivityKind,
    segment: SegmentId,
    contacts: &[ContactId],
    by: AgentId,
    now: NaiveDateTime,
) -> AppResult<()> {
    let detail = serde_json::json!({ "segment_id": segment });
    let entries: Vec<_> = contacts
        .iter()
        .map(|&id| super::activity_row(id, kind, now, Some(by), None, &detail))
        .collect();
    super::insert_activity(conn, &entries)
}

/// Removes the contacts from a static segment; returns how many were members.
pub fn remove_members(
    conn: &mut DbConnection,
    segment: SegmentId,
    ids: &[ContactId],
    by: AgentId,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let members: Vec<ContactId> = segment_members::table
        .filter(segment_members::segment_id.eq(segment))
        .filter(segment_members::contact_id.eq_any(ids.to_vec()))
        .select(segment_members::contact_id)
        .load(conn)?;
    diesel::delete(
        segment_members::table
            .filter(segment_members::segment_id.eq(segment))
            .filter(segment_members::contact_id.eq_any(members.clone())),
    )
    .execute(conn)?;
    record_membership(
        conn,
        ActivityKind::SegmentRemoved,
        segment,
        &members,
        by,
        now,
    )?;
    Ok(members.len())
}

/// One page of a segment's contacts (static: its members; dynamic: the filter's matches
/// now), in contact id order after `after`, that `viewer` may see.
pub fn segment_contacts(
    conn: &mut DbConnection,
    segment: &SegmentRow,
    filter: Option<&ResolvedFilter<'_>>,
    viewer: Viewer,
    after: Option<ContactId>,
    limit: i64,
) -> AppResult<Vec<ContactRow>> {
    let mut q: ContactQuery = contacts::table
        .select(ContactRow::as_select())
        .into_boxed()
        .order(contacts::id.asc())
        .limit(limit);
    q = match (segment.kind, filter) {
        (SegmentKind::Static, _) => q.filter(
            contacts::id.eq_any(
                segment_members::table
                    .filter(segment_members::segment_id.eq(segment.id))
                    .select(segment_members::contact_id),
            ),
        ),
        (SegmentKind::Dynamic, Some(f)) => q.filter(condition(f)),
        // A dynamic segment whose filter cannot be read matches nobody.
        (SegmentKind::Dynamic, None) => q.filter(sql::<Bool>("1 = 0")),
    };
    if !viewer.sees_all {
        q = q.filter(visible(viewer));
    }
    if let Some(after) = after {
        q = q.filter(contacts::id.gt(after));
    }
    Ok(q.load(conn)?)
}

/// The static segments the contact is a member of.
pub fn static_segments_of(
    conn: &mut DbConnection,
    contact: ContactId,
) -> AppResult<Vec<SegmentRow>> {
    Ok(segments::table
        .filter(
            segments::id.eq_any(
                segment_members::table
                    .filter(segment_members::contact_id.eq(contact))
                    .select(segment_members::segment_id),
            ),
        )
        .order(segments::name.asc())
        .select(SegmentRow::as_select())
        .load(conn)?)
}

/// Whether the contact matches a dynamic filter now.
pub fn contact_matches(
    conn: &mut DbConnection,
    contact: ContactId,
    filter: &ResolvedFilter<'_>,
) -> AppResult<bool> {
    let n: i64 = contacts::table
        .filter(contacts::id.eq(contact))
        .filter(condition(filter))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

type Condition = Box<dyn BoxableExpression<contacts::table, MultiBackend, SqlType = Bool>>;

/// Every condition of the filter, ANDed (a filter always has one; `1 = 1` otherwise).
fn condition(resolved: &ResolvedFilter<'_>) -> Condition {
    let mut all = conditions(resolved).into_iter();
    let Some(first) = all.next() else {
        return Box::new(sql::<Bool>("1 = 1"));
    };
    all.fold(first, |acc, c| Box::new(acc.and(c)))
}

/// Contacts with a conversation `viewer` may see.
fn visible(viewer: Viewer) -> Condition {
    Box::new(
        contacts::id.eq_any(
            conversations::table
                .filter(super::conversations::seen_by(viewer.agent))
                .select(conversations::contact_id),
        ),
    )
}

/// Contacts whose conversation meets a condition on `conversations`.
macro_rules! of_conversations {
    ($condition:expr) => {
        Box::new(
            contacts::id.eq_any(
                conversations::table
                    .filter($condition)
                    .select(conversations::contact_id),
            ),
        ) as Condition
    };
}

/// The filter's conditions as boolean expressions over `contacts`.
fn conditions(resolved: &ResolvedFilter<'_>) -> Vec<Condition> {
    let f = resolved.filter;
    let mut out: Vec<Condition> = Vec::new();
    for (column, value) in [
        ("contacts.name", &f.name_contains),
        ("contacts.email", &f.email_contains),
        ("contacts.phone", &f.phone_contains),
    ] {
        if let Some(v) = value {
            let like = format!("%{}%", escape_like(v));
            // Case-insensitive: LIKE is, for ASCII, on SQLite; PostgreSQL needs lower().
            out.push(Box::new(
                sql::<Bool>(&format!("lower({column}) LIKE lower("))
                    .bind::<Text, _>(like)
                    .sql(") ESCAPE '\\'"),
            ));
        }
    }
    match f.has_phone {
        Some(true) => out.push(Box::new(contacts::phone.is_not_null())),
        Some(false) => out.push(Box::new(contacts::phone.is_null())),
        None => {}
    }
    match f.unsubscribed {
        Some(true) => out.push(Box::new(contacts::unsubscribed_at.is_not_null())),
        Some(false) => out.push(Box::new(contacts::unsubscribed_at.is_null())),
        None => {}
    }
    if let Some(blocked) = f.blocked {
        out.push(Box::new(contacts::blocked.eq(blocked)));
    }
    if let Some(inboxes) = &resolved.inboxes {
        out.push(Box::new(contacts::inbox_id.eq_any(inboxes.clone())));
    }
    for tag in &f.tags {
        let tagged = sql::<Bool>("lower(conversation_tags.tag) = lower(")
            .bind::<Text, _>(tag.clone())
            .sql(")");
        out.push(Box::new(
            contacts::id.eq_any(
                conversations::table
                    .inner_join(conversation_tags::table)
                    .filter(tagged)
                    .select(conversations::contact_id),
            ),
        ));
    }
    if let Some(after) = f.last_activity_after {
        out.push(of_conversations!(conversations::last_message_at.ge(after)));
    }
    if let Some(before) = f.last_activity_before {
        out.push(of_conversations!(conversations::last_message_at.lt(before)));
    }
    if let Some(least) = f.csat_at_least {
        out.push(of_conversations!(
            conversations::csat.ge(i32::from(least.get()))
        ));
    }
    if let Some(most) = f.csat_at_most {
        out.push(of_conversations!(
            conversations::csat.le(i32::from(most.get()))
        ));
    }
    out
}

/// `s` for a `LIKE … ESCAPE '\'` pattern: its own `%`, `_` and `\` match themselves.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
