-- Several assistants (issue 13): which one answered a conversation, and the tokens language
-- models used, per conversation and per assistant and UTC day (the daily budget is read from
-- the latter at start).
-- Keep in step with migrations/sqlite/2026-11-30-000003_assistants/up.sql.
ALTER TABLE conversations ADD COLUMN assistant_id TEXT;
-- `GET /api/conversations?assistant=` in the list's order.
CREATE INDEX conversations_assistant_activity
    ON conversations(assistant_id, last_message_at DESC, id DESC);

CREATE TABLE assistant_usage (
    assistant_id TEXT NOT NULL,
    day TEXT NOT NULL, -- YYYY-MM-DD, UTC
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (assistant_id, day)
);

CREATE TABLE conversation_usage (
    conversation_id TEXT NOT NULL PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);
