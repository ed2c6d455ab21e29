DROP TABLE conversation_usage;
DROP TABLE assistant_usage;
DROP INDEX conversations_assistant_activity;
ALTER TABLE conversations DROP COLUMN assistant_id;
