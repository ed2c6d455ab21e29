ALTER TABLE agents DROP COLUMN notify_sound;
ALTER TABLE agents DROP COLUMN notify_desktop;
