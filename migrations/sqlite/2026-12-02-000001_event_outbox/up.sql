-- Cluster mode (issue 19) runs on PostgreSQL only; the table exists here too so that both
-- backends have the same migrations and schema. SQLite never reads or writes it.
CREATE TABLE event_outbox (
    id TEXT PRIMARY KEY,
    shard SMALLINT NOT NULL CHECK (shard >= 0 AND shard < 256),
    envelope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX event_outbox_shard ON event_outbox(shard, created_at);
