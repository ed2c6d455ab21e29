-- Contact profile and activity timeline (issue 15).
-- Keep in step with migrations/sqlite/2026-11-30-000006_contact_profile_activity/up.sql.

-- Country (ISO 3166-1 alpha-2) and language (BCP 47), each with where it came from:
-- `platform` (the provider's profile), `phone_prefix` (a valid number's country),
-- `browser` (the widget's navigator.language / time zone) or `agent` (a person's edit,
-- which detection never overwrites).
-- `agent` when a person set the name: a channel's profile name no longer replaces it.
ALTER TABLE contacts ADD COLUMN name_source TEXT;
ALTER TABLE contacts ADD COLUMN country TEXT;
ALTER TABLE contacts ADD COLUMN country_source TEXT;
ALTER TABLE contacts ADD COLUMN language TEXT;
ALTER TABLE contacts ADD COLUMN language_source TEXT;
-- Widget visitors: IANA time zone, and browser / OS / device category parsed from the user
-- agent when the session starts.
ALTER TABLE contacts ADD COLUMN time_zone TEXT;
ALTER TABLE contacts ADD COLUMN browser TEXT;
ALTER TABLE contacts ADD COLUMN os TEXT;
ALTER TABLE contacts ADD COLUMN device TEXT;

-- What happened to a contact, newest first: conversation started / handed off / assigned /
-- closed / reopened, notes, profile edits, block… written in the same transaction as what it
-- records. `detail` is JSON with names resolved at write time.
CREATE TABLE contact_activity (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    agent_id TEXT,
    conversation_id TEXT,
    detail TEXT NOT NULL
);
-- Keyset pages: (at, id) < cursor, newest first.
CREATE INDEX contact_activity_page ON contact_activity(contact_id, at DESC, id DESC);
