DROP TABLE outbox;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE contacts;
DROP TABLE auth_tokens;
DROP TABLE agents;
