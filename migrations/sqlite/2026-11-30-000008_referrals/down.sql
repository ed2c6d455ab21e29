DROP INDEX referrals_contact;
DROP TABLE referrals;
