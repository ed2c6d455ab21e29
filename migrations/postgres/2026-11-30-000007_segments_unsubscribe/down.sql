DROP INDEX segment_members_contact;
DROP TABLE segment_members;
DROP TABLE segments;
ALTER TABLE contacts DROP COLUMN unsubscribed_reason;
ALTER TABLE contacts DROP COLUMN unsubscribed_at;
