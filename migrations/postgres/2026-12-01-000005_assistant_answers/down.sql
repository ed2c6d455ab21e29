DROP TABLE assistant_answers;
