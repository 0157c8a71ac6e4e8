export * from './backfill-mode';
export * from './destination-replication-user';
export * from './destination-replication-user-props';
export * from './partition-replicated-bucket';
export * from './partition-replicated-bucket-props';
