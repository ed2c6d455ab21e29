-- Agent management (issue 18): an admin deactivates an agent instead of deleting them, so
-- their messages, assignments and history keep their author. A deactivated agent cannot log
-- in and their tokens are gone; NULL is active.
ALTER TABLE agents ADD COLUMN deactivated_at TIMESTAMP NULL;
