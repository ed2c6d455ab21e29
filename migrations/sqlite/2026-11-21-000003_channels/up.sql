-- Real channels (WhatsApp Cloud API, Twilio SMS/WhatsApp, Messenger, Instagram): what a
-- message is besides text, where its file lives, and statuses that arrive before the send's
-- answer was recorded. Keep in step with migrations/postgres/2026-11-21-000003_channels/up.sql.

-- text | image | document | audio | voice | video | sticker | location | interactive |
-- button | template | unsupported
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
-- Where the provider offers the file: `url:<url>` (Twilio, Meta) or `id:<media id>` (WhatsApp).
-- Kept so a download that failed can be tried again.
ALTER TABLE messages ADD COLUMN media_source TEXT;
-- The stored file, relative to server.data_dir (media/<conversation_id>/<message_id>).
ALTER TABLE messages ADD COLUMN media_path TEXT;
ALTER TABLE messages ADD COLUMN media_mime TEXT;
ALTER TABLE messages ADD COLUMN media_filename TEXT;
-- JSON: location, interactive reply id, template name/language/parameters, caption, reply_to.
ALTER TABLE messages ADD COLUMN payload TEXT;
-- SMS parts of an outbound SMS.
ALTER TABLE messages ADD COLUMN segments INTEGER;

-- The network of a conversation when the inbox carries several (Twilio: sms or whatsapp); it
-- decides the service window and the address replies go to. NULL for the API channel.
ALTER TABLE conversations ADD COLUMN network TEXT;

-- A provider's status for a message whose send answer we have not recorded yet (the webhook
-- overtook our commit). Applied, then removed, when the provider id is recorded.
CREATE TABLE pending_statuses (
    id TEXT PRIMARY KEY NOT NULL,
    inbox_id TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX pending_statuses_message ON pending_statuses(inbox_id, provider_message_id);
CREATE INDEX pending_statuses_age ON pending_statuses(created_at);

-- Inbound files still to download (a restart resumes them).
CREATE INDEX messages_media_pending ON messages(created_at) WHERE media_source IS NOT NULL AND media_path IS NULL;
