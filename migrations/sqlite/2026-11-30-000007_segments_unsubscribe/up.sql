-- Segments (static members, or a saved filter evaluated when read) and unsubscribe (issue 15).
-- Keep in step with migrations/postgres/2026-11-30-000007_segments_unsubscribe/up.sql.

-- When the person stopped broadcasts (an agent, the API, a STOP-style reply, a provider's
-- opt-out error). Broadcasts only: blocking (contacts.blocked) stops everything. NULL when
-- subscribed; the reason is one of domain::opt_out::OptOutSource.
ALTER TABLE contacts ADD COLUMN unsubscribed_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN unsubscribed_reason TEXT;

-- A named audience. kind: 'static' (members below) or 'dynamic' (filter: a JSON
-- domain::segment::SegmentFilter, evaluated at read time; NULL for static ones).
CREATE TABLE segments (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    filter TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- The agent who created it (no foreign key: the history stays when an agent goes).
    created_by TEXT
);

-- The contacts of a static segment. The primary key makes adding twice a no-op and serves
-- a segment's members in contact id order (the keyset of GET /api/segments/{id}/contacts).
CREATE TABLE segment_members (
    segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    added_at TIMESTAMP NOT NULL,
    added_by TEXT,
    PRIMARY KEY (segment_id, contact_id)
);
-- A contact's segments (the contact panel), and the cascade when a contact is deleted.
CREATE INDEX segment_members_contact ON segment_members(contact_id);
