-- Cluster mode (issue 19): the realtime events of a conversation's commit, written in the
-- same transaction as the commit and deleted once the cluster's event stream acknowledged
-- them. A node that dies between its commit and its publish leaves them here, and the node
-- that takes the conversation's shard publishes them (the stream keeps one copy per event id)
-- before it serves the shard. Rows live for milliseconds; one node writes none.
CREATE TABLE event_outbox (
    id TEXT PRIMARY KEY,
    shard SMALLINT NOT NULL CHECK (shard >= 0 AND shard < 256),
    envelope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX event_outbox_shard ON event_outbox(shard, created_at);
