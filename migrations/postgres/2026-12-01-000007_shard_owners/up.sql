-- Cluster mode (issue 19): the fencing token of each of the 256 shards of conversations.
-- A node that wins a shard's lease in NATS KV activates it here (epoch + 1, its name), and
-- every write of a conversation of that shard first reads the row FOR SHARE and compares the
-- epoch with the one it activated: an owner that lost its lease (paused, partitioned) while
-- another took over finds a newer epoch and writes nothing. PostgreSQL only: SQLite runs one
-- node.
CREATE TABLE shard_owners (
    shard SMALLINT PRIMARY KEY CHECK (shard >= 0 AND shard < 256),
    epoch BIGINT NOT NULL,
    node TEXT NOT NULL,
    since TIMESTAMP NOT NULL
);
