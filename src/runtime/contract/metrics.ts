/**
 * The metrics contract: the namespace and every metric name the handlers publish (EMF), so the
 * handlers, the construct's alarms and the README name the same metrics. No Powertools import:
 * the construct library reads this file too.
 */
export const METRICS_NAMESPACE = 'PartitionReplicatedBucket';

/** Every metric a handler publishes, in the dimension `service` = the handler's name. */
export const METRIC_NAMES = [
  // replicator: what became of each message
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
  'EncodedKeysDecoded',
  'ReplicationFailures',
  'MessagesDeadLettered',
  'CredentialsSecretNotFilled',
  // backfill runs
  'BackfillVersionsListed',
  'BackfillVersionsEnqueued',
  'BackfillVersionsReplicated',
  'BackfillVersionsFailed',
  'BackfillExtraObjectsOnDestination',
  // operations of the backfill function
  'DeadLettersRedriven',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** One data point: a count of events, bytes, or a latency. */
export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: 'Count' | 'Bytes' | 'Milliseconds';
  readonly value: number;
}
