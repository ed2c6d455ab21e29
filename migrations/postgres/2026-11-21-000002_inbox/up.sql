-- The inbox: tags, full-text search over messages, indexes for the list filters and the badge.

CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(tag, conversation_id);

-- Badge: conversations waiting for a person (human status, the customer spoke last).
CREATE INDEX conversations_needs_human ON conversations(status, last_message_author, archived, assignee_id);
CREATE INDEX conversations_assignee_activity ON conversations(assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_inbox_activity ON conversations(inbox_id, last_message_at DESC, id DESC);
CREATE INDEX contacts_phone ON contacts(phone);

-- Full-text search over message bodies ('simple': no language-specific stemming, so every
-- language the customers write in is treated alike).
ALTER TABLE messages ADD COLUMN body_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX messages_body_tsv ON messages USING GIN (body_tsv);
