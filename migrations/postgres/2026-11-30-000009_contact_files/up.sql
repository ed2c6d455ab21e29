-- Contact files (issue 15): files agents upload to a contact directly. Files exchanged in
-- conversations stay on their messages (messages.media_*); GET /api/contacts/{id}/files lists
-- both. Keep in step with migrations/sqlite/2026-11-30-000009_contact_files/up.sql.

-- One uploaded file. The bytes live at <data_dir>/<path> (media/contacts/<contact_id>/<id>),
-- written before the row is committed. uploaded_by is the agent (no foreign key: the history
-- stays when an agent goes).
CREATE TABLE contact_files (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- Keyset pages: (created_at, id) < cursor, newest first.
CREATE INDEX contact_files_page ON contact_files(contact_id, created_at DESC, id DESC);

-- The messages of a conversation that carry a file (stored, or still downloading), in the
-- order of the contact's file list: without it the list reads every message of the person's
-- conversations. The condition is the one the list query states, word for word.
CREATE INDEX messages_files ON messages(conversation_id, sent_at DESC, id DESC)
    WHERE media_source IS NOT NULL OR media_path IS NOT NULL;
