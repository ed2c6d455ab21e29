-- Snooze (issue 16): an agent puts a conversation aside until a time or until the customer
-- writes. One column (diesel's table limit of 32 columns leaves room for one): NULL is not
-- snoozed, 9999-12-31 00:00 means until the customer writes, anything else the time it comes
-- back. Snoozed conversations leave the open views and the badge; the customer writing, the
-- time coming or closing ends the snooze.
ALTER TABLE conversations ADD COLUMN snoozed_until TIMESTAMP;
-- The timer scan after a restart finds the snoozes that end soon.
CREATE INDEX conversations_snoozed_until ON conversations(snoozed_until) WHERE snoozed_until IS NOT NULL;
