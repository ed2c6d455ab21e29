DROP TABLE shard_owners;
