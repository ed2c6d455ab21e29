DROP INDEX canned_responses_scope_code;
DROP TABLE canned_responses;
