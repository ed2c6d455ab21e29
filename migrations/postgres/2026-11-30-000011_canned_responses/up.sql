-- Canned responses: saved replies agents insert from the composer (issue 16).
-- Keep in step with migrations/sqlite/2026-11-30-000011_canned_responses/up.sql.

-- inbox_id: the inbox whose agents see it among that inbox's replies; NULL: shared by every
-- inbox. text may hold {{contact.name}}-style variables, expanded in the browser on insert.
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY NOT NULL,
    short_code TEXT NOT NULL,
    text TEXT NOT NULL,
    inbox_id TEXT,
    -- The agent who created it (no foreign key: the reply stays when an agent goes).
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- A short code is unique within its scope (one inbox, or the shared ones), ignoring case as
-- the picker does. NULLs are distinct in a unique index, so the shared scope is ''.
CREATE UNIQUE INDEX canned_responses_scope_code
    ON canned_responses(COALESCE(inbox_id, ''), lower(short_code));
