-- A contact's conversations, whatever the inbox: the conversation of a Meta echo or read
-- watermark and of a returning widget visitor (found by the contact), and every conversation
-- of the same person when they are blocked. UNIQUE (inbox_id, contact_id) cannot serve these
-- (its first column is the inbox), so each scanned the whole table. Also serves the cascade
-- when a contact is deleted.
-- Keep in step with migrations/postgres/2026-11-30-000002_conversations_contact_index/up.sql.
CREATE INDEX conversations_contact ON conversations(contact_id);
