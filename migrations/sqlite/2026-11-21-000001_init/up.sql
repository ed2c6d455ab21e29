-- Portable schema: TEXT ids (UUIDv7 minted in Rust), TIMESTAMP in UTC, BOOLEAN, TEXT enums.
-- Keep in step with migrations/postgres/2026-11-21-000001_init/up.sql (SQLite alone has
-- messages.rid, for its full-text index).

CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'offline',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_tokens_agent ON auth_tokens(agent_id);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    inbox_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT,
    phone TEXT,
    email TEXT,
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (inbox_id, external_id)
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    inbox_id TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    assignee_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
    unread_count INTEGER NOT NULL DEFAULT 0,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    last_message_at TIMESTAMP,
    last_message_author TEXT,
    last_message_preview TEXT,
    last_customer_message_at TIMESTAMP,
    first_reply_at TIMESTAMP,
    resolved_at TIMESTAMP,
    bot_misses INTEGER NOT NULL DEFAULT 0,
    follow_up_at TIMESTAMP,
    follow_up_reason TEXT,
    lead_stage TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (inbox_id, contact_id)
);
CREATE INDEX conversations_activity ON conversations(last_message_at DESC, id DESC);
CREATE INDEX conversations_status_activity ON conversations(status, last_message_at DESC);
CREATE INDEX conversations_follow_up ON conversations(follow_up_at) WHERE follow_up_at IS NOT NULL;

CREATE TABLE messages (
    -- A stable integer key for the full-text index (an implicit rowid may change on VACUUM).
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    inbox_id TEXT NOT NULL,
    external_id TEXT,
    client_id TEXT,
    direction TEXT NOT NULL,
    author TEXT NOT NULL,
    agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    private_note BOOLEAN NOT NULL DEFAULT FALSE,
    delivery_status TEXT,
    failure_reason TEXT,
    sent_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- Provider message ids are unique per inbox: a retried webhook never makes a second message.
CREATE UNIQUE INDEX messages_inbox_external ON messages(inbox_id, external_id);
-- An agent client's id makes a double-clicked send one message.
CREATE UNIQUE INDEX messages_conversation_client ON messages(conversation_id, client_id);
CREATE INDEX messages_conversation_time ON messages(conversation_id, sent_at, id);

-- Outbound messages still to deliver: written in the same transaction as the message, removed
-- once the provider answered (sent) or the retries ran out (failed).
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    inbox_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox(next_attempt_at);
