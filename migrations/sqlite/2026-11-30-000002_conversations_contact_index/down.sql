DROP INDEX conversations_contact;
