ALTER TABLE agents DROP COLUMN deactivated_at;
