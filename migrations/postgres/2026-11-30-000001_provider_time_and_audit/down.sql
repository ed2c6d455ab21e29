DROP INDEX audit_log_at;
DROP TABLE audit_log;
ALTER TABLE messages DROP COLUMN provider_sent_at;
