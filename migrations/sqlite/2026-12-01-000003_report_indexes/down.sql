DROP INDEX messages_system_time;
DROP INDEX conversations_created;
