-- Broadcasts and their recipients (issue 15). Keep in step with
-- migrations/sqlite/2026-11-30-000010_broadcasts/up.sql.

-- One message (a template, or a text where no window applies) to the contacts of segments.
-- status: domain::broadcast::BroadcastStatus; pause_reason: PauseReason. segment_ids and
-- parameters are JSON arrays; text XOR template_name. The counts are read from the
-- recipients (broadcast_recipients_broadcast), not kept here, so they cannot drift.
CREATE TABLE broadcasts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    inbox_id TEXT NOT NULL,
    -- Twilio only: 'sms' or 'whatsapp'.
    network TEXT,
    segment_ids TEXT NOT NULL,
    text TEXT,
    template_name TEXT,
    template_language TEXT,
    parameters TEXT,
    -- What a `{{field}}` the contact lacks becomes; NULL: such contacts are skipped.
    fallback TEXT,
    status TEXT NOT NULL,
    pause_reason TEXT,
    -- Sends per second; NULL: the inbox's throughput.
    rate_per_second INTEGER,
    scheduled_at TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- The dispatcher's look for scheduled and running broadcasts.
CREATE INDEX broadcasts_status ON broadcasts(status, scheduled_at);

-- One row per contact of the audience at start: the idempotency record of its send (the
-- "never twice" rule, domain::broadcast). address: where the broadcast's channel sends (the
-- WhatsApp id, Twilio's address, the API channel's external id); NULL when there is none.
CREATE TABLE broadcast_recipients (
    id TEXT PRIMARY KEY NOT NULL,
    broadcast_id TEXT NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL,
    address TEXT,
    status TEXT NOT NULL,
    skip_reason TEXT,
    -- The parameters (a JSON array) or the text (a JSON string) rendered for this contact.
    rendered TEXT,
    provider_message_id TEXT,
    error_code TEXT,
    error_title TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    sent_at TIMESTAMP,
    delivered_at TIMESTAMP,
    read_at TIMESTAMP,
    failed_at TIMESTAMP,
    replied_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One message per contact and per address in a broadcast, whatever happens.
CREATE UNIQUE INDEX broadcast_recipients_contact ON broadcast_recipients(broadcast_id, contact_id);
CREATE UNIQUE INDEX broadcast_recipients_address ON broadcast_recipients(broadcast_id, address);
-- A status webhook names one recipient.
CREATE UNIQUE INDEX broadcast_recipients_provider_id ON broadcast_recipients(provider_message_id);
-- Claiming the next queued recipients, the counts and the status-filtered pages.
CREATE INDEX broadcast_recipients_broadcast ON broadcast_recipients(broadcast_id, status, id);
-- `sending` rows at start, `unknown` rows past their deadline.
CREATE INDEX broadcast_recipients_status ON broadcast_recipients(status, updated_at);
-- The contact panel's broadcasts, and a reply marking its recipient.
CREATE INDEX broadcast_recipients_contact_id ON broadcast_recipients(contact_id);
CREATE INDEX broadcast_recipients_reply ON broadcast_recipients(address, replied_at);
