DROP INDEX messages_files;
DROP INDEX contact_files_page;
DROP TABLE contact_files;
