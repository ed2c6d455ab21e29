-- Reports (issue 16, `GET /api/reports/summary`): conversations opened in a period are found
-- by their creation time, and resolutions by the system notes stamped when a conversation
-- closes. Neither had an index: the list's indexes start with activity or status, and
-- `messages_conversation_time` needs a conversation id first.
CREATE INDEX conversations_created ON conversations(created_at);
-- System notes only (a small part of all messages), by time.
CREATE INDEX messages_system_time ON messages(sent_at) WHERE author = 'system';
