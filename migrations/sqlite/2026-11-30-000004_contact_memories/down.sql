DROP INDEX contact_memories_live;
DROP TABLE contact_memories;
