-- Notifications (issue 16): each agent chooses browser notifications and a sound for
-- handoffs and new customer messages in their conversations. Off until they turn them on
-- (the browser asks for permission then).
ALTER TABLE agents ADD COLUMN notify_desktop BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE agents ADD COLUMN notify_sound BOOLEAN NOT NULL DEFAULT FALSE;
