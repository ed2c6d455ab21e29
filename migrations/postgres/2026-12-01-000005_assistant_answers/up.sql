-- The assistant's answers as agents judge them (issue 16): one row per answer or "I could
-- not answer" message, written in the same transaction as the message, with what it rested
-- on and an agent's mark that it was wrong. The knowledge-base report reads this table.
-- Keep in step with migrations/sqlite/2026-12-01-000005_assistant_answers/up.sql.

-- outcome: answered | no_match. entry_id/entry_question: the knowledge entry answered with
-- (for a miss, the closest one), as it was then. question: the customer's turn (one line,
-- at most 500 characters); question_key: its sorted terms, grouping the same question asked
-- in other words ('' when it has none). confidence: 0-1. wrong_*: an agent's mark.
CREATE TABLE assistant_answers (
    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    inbox_id TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    answered_by TEXT NOT NULL,
    outcome TEXT NOT NULL,
    entry_id TEXT,
    entry_question TEXT,
    model TEXT,
    confidence DOUBLE PRECISION,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    wrong_at TIMESTAMP,
    wrong_by TEXT,
    wrong_reason TEXT
);
-- The report: answers of a period (per inbox), and the wrong ones.
CREATE INDEX assistant_answers_created ON assistant_answers(created_at);
CREATE INDEX assistant_answers_wrong ON assistant_answers(wrong_at) WHERE wrong_at IS NOT NULL;
CREATE INDEX assistant_answers_conversation ON assistant_answers(conversation_id);
