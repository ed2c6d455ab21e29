//! Search: turning what an agent typed into the backend's full-text query, and keeping
//! SQLite's full-text index up to date.
//!
//! Message text is matched through each backend's own index: the FTS5 table `messages_fts`
//! (keyed by `messages.rid`) on SQLite, filled once per group commit by
//! [`index_new_messages`]; the GIN index `messages_body_tsv` over a generated `tsvector`
//! column on PostgreSQL. Contact names and phone numbers are matched with `LIKE '%…%'`, which
//! no B-tree index serves: a scan of the contacts the other filters leave.

use diesel::connection::SimpleConnection;

use crate::db::DbConnection;

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
pub(super) fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

/// Conversation ids whose messages contain every word (as a prefix), via the backend's own
/// full-text index: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.
pub(super) fn text_match_sql(conn: &DbConnection, terms: &[String]) -> String {
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
/// statement; the writer calls it at the end of every group transaction. (Indexing from a
/// trigger made FTS5 flush a tiny index segment per message.) PostgreSQL indexes a generated
/// column as it goes: nothing to do there.
pub fn index_new_messages(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute(
            "INSERT INTO messages_fts(rowid, body) SELECT rid, body FROM messages \
                 WHERE rid > (SELECT indexed_rid FROM search_index_state); \
             UPDATE search_index_state SET indexed_rid = \
                 MAX(indexed_rid, COALESCE((SELECT MAX(rid) FROM messages), 0));",
        )?;
    }
    Ok(())
}
