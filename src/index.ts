export * from './backfill-mode';
export * from './destination-replication-user';
export * from './partition-replicated-bucket';
export * from './partition-replicated-bucket-props';
