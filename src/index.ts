export * from './partition-replicated-bucket';
