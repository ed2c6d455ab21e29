-- Full-text indexing once per group commit instead of once per message.
--
-- An FTS5 table flushes its pending index data at every statement savepoint, and SQLite opens
-- one for every INSERT that fires a trigger writing to it: indexing each message from a
-- trigger wrote a tiny index segment per message. The writer now indexes every message past
-- `indexed_rid` in one statement at the end of each group transaction (same transaction, so
-- search and messages commit together). rids never go back (AUTOINCREMENT).
CREATE TABLE search_index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_rid INTEGER NOT NULL
);
INSERT INTO search_index_state (id, indexed_rid) VALUES (1, (SELECT COALESCE(MAX(rid), 0) FROM messages));

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
-- Only rows already in the index are taken out of it; the rest are not in it yet.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.rid <= (SELECT indexed_rid FROM search_index_state) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rid, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN old.rid <= (SELECT indexed_rid FROM search_index_state) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rid, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.rid, new.body);
END;
