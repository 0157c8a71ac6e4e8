/**
 * The metrics contract: the namespace and every metric name the handlers publish (EMF), so the
 * handlers, the construct's alarms and the README name the same metrics. No Powertools import:
 * the construct library reads this file too.
 */
export const METRICS_NAMESPACE = 'PartitionReplicatedBucket';

/** Every metric a handler publishes, in the dimension `service` = the handler's name. */
export const METRIC_NAMES = [
  // replicator: what became of each message
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
  // backfill runs
  'BackfillVersionsListed',
  'BackfillVersionsEnqueued',
  'BackfillVersionsReplicated',
  'BackfillVersionsFailed',
  'BackfillExtraObjectsOnDestination',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** One data point: a count of events, or bytes. */
export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: 'Count' | 'Bytes';
  readonly value: number;
}
