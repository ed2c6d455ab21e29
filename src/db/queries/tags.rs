//! Conversation tags: read for a page of the list at once, replaced as a whole on change.
//! Both go through the primary key `(conversation_id, tag)`; filtering the list by a tag uses
//! `conversation_tags_tag` (see [`super::list`]).

use std::collections::HashMap;

use diesel::prelude::*;

use crate::{
    db::{schema::conversation_tags, DbConnection},
    domain::ConversationId,
    error::AppResult,
};

/// Tags of several conversations at once (for a page of the list).
pub fn tags_of(
    conn: &mut DbConnection,
    ids: &[ConversationId],
) -> AppResult<HashMap<ConversationId, Vec<String>>> {
    let rows: Vec<(ConversationId, String)> = conversation_tags::table
        .filter(conversation_tags::conversation_id.eq_any(ids))
        .order((conversation_tags::conversation_id, conversation_tags::tag))
        .select((conversation_tags::conversation_id, conversation_tags::tag))
        .load(conn)?;
    let mut map: HashMap<ConversationId, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        map.entry(id).or_default().push(tag);
    }
    Ok(map)
}

pub fn set_tags(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    tags: &[String],
) -> AppResult<()> {
    diesel::delete(
        conversation_tags::table.filter(conversation_tags::conversation_id.eq(conversation_id)),
    )
    .execute(conn)?;
    for tag in tags {
        diesel::insert_into(conversation_tags::table)
            .values((
                conversation_tags::conversation_id.eq(conversation_id),
                conversation_tags::tag.eq(tag),
            ))
            .execute(conn)?;
    }
    Ok(())
}
