-- Cluster mode (issue 19) runs on PostgreSQL only; the table exists here too so that both
-- backends have the same migrations and schema. SQLite never reads or writes it.
CREATE TABLE shard_owners (
    shard SMALLINT PRIMARY KEY CHECK (shard >= 0 AND shard < 256),
    epoch BIGINT NOT NULL,
    node TEXT NOT NULL,
    since TIMESTAMP NOT NULL
);
