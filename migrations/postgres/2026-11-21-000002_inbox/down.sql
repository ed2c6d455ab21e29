DROP INDEX messages_body_tsv;
ALTER TABLE messages DROP COLUMN body_tsv;
DROP INDEX contacts_phone;
DROP INDEX conversations_inbox_activity;
DROP INDEX conversations_assignee_activity;
DROP INDEX conversations_needs_human;
DROP TABLE conversation_tags;
