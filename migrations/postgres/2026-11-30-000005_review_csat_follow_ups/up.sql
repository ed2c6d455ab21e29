-- Review, automatic CSAT and AI follow-ups (issue 14).
-- Keep in step with migrations/sqlite/2026-11-30-000005_review_csat_follow_ups/up.sql.

-- Review: due `[review] after_secs` after the latest message (stored, so a review due
-- during a restart still happens after it), and what the last one found.
-- The score and the time are columns (the list sorts and filters on them); the rest of the
-- review (summary, rubric, who made it, the suggested lead stage, the transcript's hash)
-- is one JSON record, read and written whole.
ALTER TABLE conversations ADD COLUMN review_due_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN reviewed_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN quality_score INTEGER;
ALTER TABLE conversations ADD COLUMN review TEXT;
-- The reviewer's sweep: only conversations with a review due are in it.
CREATE INDEX conversations_review_due ON conversations(review_due_at)
    WHERE review_due_at IS NOT NULL;
-- `sort=score_asc` and `sort=score_desc` in the list's order.
CREATE INDEX conversations_score ON conversations(quality_score DESC, last_message_at DESC, id DESC);

-- CSAT: the survey sent at this closing (none twice), and the customer's (or an agent's) score.
ALTER TABLE conversations ADD COLUMN csat_requested_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN csat INTEGER;
ALTER TABLE conversations ADD COLUMN csat_at TIMESTAMP;
-- `GET /api/reports/csat` over a period.
CREATE INDEX conversations_csat ON conversations(csat_at) WHERE csat IS NOT NULL;

-- AI follow-ups: what the AI will send (NULL: the follow-up is an agent's reminder), and how
-- many it sent.
ALTER TABLE conversations ADD COLUMN follow_up_message TEXT;
ALTER TABLE conversations ADD COLUMN ai_follow_ups INTEGER NOT NULL DEFAULT 0;
