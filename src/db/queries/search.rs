//! Search: turning what an agent typed into the backend's full-text query, and keeping
//! SQLite's full-text index up to date.
//!
//! Message text is matched through each backend's own index: the FTS5 table `messages_fts`
//! (keyed by `messages.rid`) on SQLite, filled once per group commit by
//! [`index_new_messages`]; the GIN index `messages_body_tsv` over a generated `tsvector`
//! column on PostgreSQL. Contact names and phone numbers are matched with `LIKE '%…%'`, which
//! no B-tree index serves: a scan of the contacts the other filters leave.

use diesel::{
    dsl::{self, sql},
    expression::BoxableExpression,
    prelude::*,
    sql_types::{Bool, Text},
};

use super::list::ListQuery;
use crate::db::{
    reused::Fixed,
    schema::{contacts, conversations},
    DbConnection, MultiBackend,
};

/// A condition on a row of the conversation list (a conversation joined to its contact).
type ListCondition = Box<
    dyn BoxableExpression<
        dsl::InnerJoinQuerySource<conversations::table, contacts::table>,
        MultiBackend,
        SqlType = Bool,
    >,
>;

/// Narrows the list to conversations whose contact's name or phone number, or one of whose
/// messages (not private notes), matches `query` (trimmed, not empty).
pub(super) fn filter_by_search(q: ListQuery, conn: &DbConnection, query: &str) -> ListQuery {
    let terms = search_terms(query);
    let by_contact = contact_match(query);
    // A query of symbols only (no letter or digit) matches nothing.
    if !query.chars().any(char::is_alphanumeric) {
        q.filter(sql::<Bool>("1 = 0"))
    } else if terms.is_empty() {
        q.filter(by_contact)
    } else {
        q.filter(by_contact.or(sql::<Bool>(&text_match_sql(conn, &terms))))
    }
}

/// The contact's name contains `query`, or (with three digits or more) its phone number
/// contains the query's digits.
fn contact_match(query: &str) -> ListCondition {
    // The name is matched literally: `ann_12` finds `ann_12`, and `%` or `_` are not
    // wildcards.
    let like = format!("%{}%", escape_like(query));
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    // Case-insensitive name match: LIKE is case-insensitive for ASCII on SQLite; PostgreSQL
    // needs lower() on both sides.
    let by_name: ListCondition = Box::new(
        sql::<Bool>("lower(contacts.name) LIKE lower(")
            .bind::<Text, _>(like)
            .sql(") ESCAPE '\\'"),
    );
    if digits.len() >= 3 {
        Box::new(
            by_name.or(contacts::phone
                .assume_not_null()
                .like(format!("%{digits}%"))),
        )
    } else {
        by_name
    }
}

/// `s` for a `LIKE … ESCAPE '\'` pattern: its own `%`, `_` and `\` match themselves.
pub(super) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Words of a search, stripped of anything a full-text query language would read as syntax.
fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

/// Conversation ids whose messages contain every word (as a prefix), via the backend's own
/// full-text index: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.
fn text_match_sql(conn: &DbConnection, terms: &[String]) -> String {
    match conn {
        DbConnection::Sqlite(_) => {
            let fts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
            format!(
                "conversations.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.rid = f.rowid \
                 WHERE messages_fts MATCH '{}' AND m.private_note = 0)",
                fts.join(" ").replace('\'', "''")
            )
        }
        DbConnection::Pg(_) => {
            let ts: Vec<String> = terms.iter().map(|t| format!("{t}:*")).collect();
            format!(
                "conversations.id IN (SELECT m.conversation_id FROM messages m \
                 WHERE m.body_tsv @@ to_tsquery('simple', '{}') AND m.private_note = FALSE)",
                ts.join(" & ").replace('\'', "''")
            )
        }
    }
}

/// Adds the messages stored since the last call to SQLite's full-text index, in one
/// statement. The writer calls it at the end of a group transaction when nothing else waits
/// for it, and at least every [`crate::db::writer::INDEX_EVERY`] under sustained load: FTS5
/// writes an index segment per call, so indexing every group was a third of the writer's
/// time when saturated. (Indexing from a trigger made FTS5 flush a segment per message.)
/// PostgreSQL indexes a generated column as it goes: nothing to do there.
pub fn index_new_messages(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        Fixed(
            "INSERT INTO messages_fts(rowid, body) SELECT rid, body FROM messages \
             WHERE rid > (SELECT indexed_rid FROM search_index_state)",
        )
        .execute(c)?;
        Fixed(
            "UPDATE search_index_state SET indexed_rid = \
             MAX(indexed_rid, COALESCE((SELECT MAX(rid) FROM messages), 0))",
        )
        .execute(c)?;
    }
    Ok(())
}
