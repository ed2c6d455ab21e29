-- What was learned about a customer (see src/domain/memory.rs): typed (fact, preference, goal,
-- experience), with the conversation and message it came from, or the agent who wrote it.
-- The same person's contacts (same E.164 phone) share their memories: they are read across
-- contacts, stored on the contact they were learned from. A memory is never deleted: a
-- replaced or removed one gets invalidated_at and is no longer read.
-- Keep in step with migrations/postgres/2026-11-30-000004_contact_memories/up.sql.
CREATE TABLE contact_memories (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    -- name, city, email, phone, employer: a fact with one value at a time; NULL otherwise.
    slot TEXT,
    source_conversation_id TEXT,
    source_message_id TEXT,
    -- The agent who wrote or edited it; NULL when it was learned from a message.
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    invalidated_at TIMESTAMP
);
-- The live memories of a contact (every read), and the cascade when a contact is deleted.
CREATE INDEX contact_memories_live ON contact_memories(contact_id, invalidated_at);
