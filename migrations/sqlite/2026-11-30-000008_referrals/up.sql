-- Referral attribution (issue 15): where a person came from, one row per referral.
-- Keep in step with migrations/postgres/2026-11-30-000008_referrals/up.sql.
--
-- kind: one of domain::referral::ReferralKind (ctwa_ad, ctwa_post, messenger_ad, m_me, ig_me,
-- product, widget_utm). message_id: our id of the inbound message that carried it; UNIQUE, so
-- a retried webhook (deduplicated as the same message) can never store it twice. A referral
-- that came without a message (Messenger messaging_referrals) has no message_id and is keyed
-- by event_key instead (page, sender and the event's time), UNIQUE for the same reason.
-- ref_param is Meta's `ref` (a keyword in Rust). extra: JSON, what else the source said
-- (ads_context_data, the CTWA welcome message, gclid / fbclid / utm_id).
-- No foreign key on the conversation or the message: the attribution outlives a deleted
-- conversation, like the activity timeline.
CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    conversation_id TEXT,
    message_id TEXT UNIQUE,
    event_key TEXT UNIQUE,
    kind TEXT NOT NULL,
    source_id TEXT,
    source_type TEXT,
    source_url TEXT,
    headline TEXT,
    body TEXT,
    media_type TEXT,
    image_url TEXT,
    video_url TEXT,
    thumbnail_url TEXT,
    ctwa_clid TEXT,
    ref_param TEXT,
    catalog_id TEXT,
    product_retailer_id TEXT,
    utm_source TEXT,
    utm_medium TEXT,
    utm_campaign TEXT,
    utm_term TEXT,
    utm_content TEXT,
    landing_url TEXT,
    page_url TEXT,
    referrer TEXT,
    extra TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- A person's first and latest referral (the contact panel).
CREATE INDEX referrals_contact ON referrals(contact_id, created_at);
