-- Back to indexing from triggers; messages not indexed yet are indexed now.
INSERT INTO messages_fts(rowid, body)
    SELECT rid, body FROM messages WHERE rid > (SELECT indexed_rid FROM search_index_state);
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TABLE search_index_state;
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
