-- The provider's own timestamp of a customer message, kept when it was not believable (far
-- in the past or in the future) and `sent_at` holds the arrival time instead. NULL otherwise.
-- Keep in step with migrations/postgres/2026-11-30-000001_provider_time_and_audit/up.sql.
ALTER TABLE messages ADD COLUMN provider_sent_at TIMESTAMP;

-- What was done that cannot be undone (a conversation deleted for good): who, what, when.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    agent_id TEXT,
    agent_email TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
