/**
 * The metrics contract: the namespace and every metric name the handlers publish (EMF), so the
 * handlers, the construct's alarms and the README name the same metrics. No Powertools import:
 * the construct library reads this file too.
 */
export const METRICS_NAMESPACE = 'PartitionReplicatedBucket';

/**
 * The dimensions of every metric: the handler that published it (`service`) and the replication it
 * belongs to, so that two constructs in one account and region never share a metric.
 */
export const DIMENSION_NAMES = {
  service: 'service',
  sourceBucket: 'SourceBucket',
  destinationBucket: 'DestinationBucket',
  // Bucket names are unique within a partition only: two destinations of one source may share one.
  destinationPartition: 'DestinationPartition',
} as const;

/** The handlers that publish metrics: the `service` dimension's values. */
export type MetricService = 'router' | 'replicator' | 'backfill';

/** The replication a handler's metrics belong to. */
export interface MetricReplication {
  readonly sourceBucket: string;
  readonly destinationBucket: string;
  /** The destination bucket's partition (`aws-us-gov`, `aws-cn`, ...). */
  readonly destinationPartition: string;
}

/** The dimensions (name to value) of a metric `service` publishes for `replication`. */
export function metricDimensions(service: MetricService, replication: MetricReplication): Record<string, string> {
  return {
    [DIMENSION_NAMES.service]: service,
    [DIMENSION_NAMES.sourceBucket]: replication.sourceBucket,
    [DIMENSION_NAMES.destinationBucket]: replication.destinationBucket,
    [DIMENSION_NAMES.destinationPartition]: replication.destinationPartition,
  };
}

/** The replicator's metrics: what became of each message. */
export const REPLICATOR_METRIC_NAMES = [
  'ReplicationLatency',
  'ObjectsReplicated',
  'BytesReplicated',
  'DeleteMarkersReplicated',
  'VersionDeletesReplicated',
  'TagSetsReplicated',
  'ReplicasRepaired',
  'CopiesContinued',
  'SourceVersionsDeletedBeforeCopy',
  'VersionMappingsExpired',
  'EventsSkipped',
  'StaleEventsSkipped',
  'SourceVersionGone',
  'ArchivedVersionsSkipped',
  'VersionsFilteredByTags',
  'CustomerKeyVersionsSkipped',
  'EncodedKeysDecoded',
  // Two-way set-ups: replicas not replicated back, and delete markers already at the destination.
  'ReplicasSkipped',
  'DeleteMarkersAlreadyAtDestination',
  'ReplicationFailures',
  'MessagesDeadLettered',
  'CredentialsSecretNotFilled',
  // Published by the replicator for the messages of a backfill run.
  'BackfillVersionsReplicated',
] as const;

/** The backfill function's metrics: backfill runs and the operations it performs (redrive). */
export const BACKFILL_METRIC_NAMES = [
  'BackfillVersionsListed',
  'BackfillVersionsEnqueued',
  'BackfillVersionsFailed',
  'BackfillExtraObjectsOnDestination',
  'DeadLettersRedriven',
] as const;

/** Every metric a handler publishes, with the dimensions of `metricDimensions`. */
export const METRIC_NAMES = [...REPLICATOR_METRIC_NAMES, ...BACKFILL_METRIC_NAMES] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** The handler that publishes `name`: its `service` dimension. */
export function metricService(name: MetricName): MetricService {
  return (BACKFILL_METRIC_NAMES as readonly string[]).includes(name) ? 'backfill' : 'replicator';
}

/** Whether `name` is a metric of the contract (for names given at synth time). */
export function isMetricName(name: string): name is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(name);
}

/** One data point: a count of events, bytes, or a latency. */
export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: 'Count' | 'Bytes' | 'Milliseconds';
  readonly value: number;
}
