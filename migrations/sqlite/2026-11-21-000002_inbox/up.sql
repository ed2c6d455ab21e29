-- The inbox: tags, full-text search over messages, indexes for the list filters and the badge.

CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(tag, conversation_id);

-- Badge: conversations waiting for a person (human status, the customer spoke last).
CREATE INDEX conversations_needs_human ON conversations(status, last_message_author, archived, assignee_id);
CREATE INDEX conversations_assignee_activity ON conversations(assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_inbox_activity ON conversations(inbox_id, last_message_at DESC, id DESC);
CREATE INDEX contacts_phone ON contacts(phone);

-- Full-text search over message bodies (SQLite FTS5, external content keyed by messages.rid).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body,
    content = 'messages',
    content_rowid = 'rid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.rid, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rid, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rid, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.rid, new.body);
END;
INSERT INTO messages_fts(rowid, body) SELECT rid, body FROM messages;
