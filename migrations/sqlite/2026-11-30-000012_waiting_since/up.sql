-- Urgency (issue 16): since when the customer has waited for a person. Set exactly while the
-- conversation needs a reply (human status, the customer spoke last) by the conversation's
-- state machine; the list sorts the longest wait first (`sort=waiting`).
ALTER TABLE conversations ADD COLUMN waiting_since TIMESTAMP;
-- Conversations already waiting count from the customer's latest message (the best we know).
UPDATE conversations SET waiting_since = COALESCE(last_customer_message_at, last_message_at)
    WHERE status = 'human' AND last_message_author = 'customer';
-- Longest waiting first, in keyset pages; only waiting conversations are in it.
CREATE INDEX conversations_waiting ON conversations(waiting_since, id) WHERE waiting_since IS NOT NULL;
