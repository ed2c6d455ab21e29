DROP INDEX conversations_snoozed_until;
ALTER TABLE conversations DROP COLUMN snoozed_until;
