import type { MetricName, MetricPoint } from '../../contract/metrics';
import type { ReplicationMessage } from '../../contract/replication-message';
import type { Outcome } from '../replication-decision';

const ACTION_METRICS: Record<Exclude<Outcome['action'], 'skip'>, MetricName> = {
  'copy-continued': 'CopiesContinued',
  'copy': 'ObjectsReplicated',
  'repair-replica': 'ReplicasRepaired',
  'create-delete-marker': 'DeleteMarkersReplicated',
  'delete-destination-version': 'VersionDeletesReplicated',
  'sync-tags': 'TagSetsReplicated',
  'remember-source-deleted': 'SourceVersionsDeletedBeforeCopy',
  'forget-version': 'VersionMappingsExpired',
};

const count = (name: MetricName): MetricPoint => ({ name, unit: 'Count', value: 1 });

/**
 * The metrics one outcome adds. `decodedKey`: the event's key was URL-encoded and the message was
 * replicated under its decoded form (`EncodedKeysDecoded`).
 */
export function metricsForOutcome(outcome: Outcome & { readonly decodedKey?: string }): MetricPoint[] {
  const decoded: MetricPoint[] = outcome.decodedKey !== undefined ? [count('EncodedKeysDecoded')] : [];
  if (outcome.action === 'skip') {
    const points: MetricPoint[] = [count('EventsSkipped')];
    if (outcome.reason === 'source-version-gone') points.push(count('SourceVersionGone'));
    if (outcome.reason === 'archived') points.push(count('ArchivedVersionsSkipped'));
    if (outcome.reason === 'tag-filter') points.push(count('VersionsFilteredByTags'));
    if (outcome.reason === 'sse-c') points.push(count('CustomerKeyVersionsSkipped'));
    if (outcome.reason === 'older-than-replica') points.push(count('StaleEventsSkipped'));
    if (outcome.reason === 'replica') points.push(count('ReplicasSkipped'));
    if (outcome.reason === 'destination-already-deleted') points.push(count('DeleteMarkersAlreadyAtDestination'));
    return [...points, ...decoded];
  }
  const points: MetricPoint[] = [count(ACTION_METRICS[outcome.action]), ...decoded];
  if ((outcome.action === 'copy' || outcome.action === 'repair-replica') && outcome.bytes !== undefined) {
    points.push({ name: 'BytesReplicated', unit: 'Bytes', value: outcome.bytes });
  }
  return points;
}

/** The outcomes that commit a new destination version for the message's source version. */
const NEW_REPLICA_ACTIONS: ReadonlySet<Outcome['action']> = new Set(['copy', 'create-delete-marker']);

/**
 * `ReplicationLatency` of one message: milliseconds from the S3 event's `time` to `committedAt`
 * (the clock when the replica was committed), for an outcome that made a new destination version
 * (`copy`, `create-delete-marker`); undefined for every other outcome. A continued copy publishes
 * nothing until its last continuation, which keeps the original event's `time` and so measures the
 * whole copy. A message a backfill enqueued (`backfillRun`) publishes none: its `time` is when the
 * backfill listed the version, not when S3 reported an event, and the backfill has metrics of its
 * own. A `time` that does not parse publishes none; a clock behind the event's reports 0.
 */
export function replicationLatency(
  message: Pick<ReplicationMessage, 'time' | 'backfillRun'>, outcome: Pick<Outcome, 'action'>, committedAt: number,
): MetricPoint | undefined {
  if (message.backfillRun !== undefined || !NEW_REPLICA_ACTIONS.has(outcome.action)) return undefined;
  const eventTime = Date.parse(message.time);
  if (!Number.isFinite(eventTime) || !Number.isFinite(committedAt)) return undefined;
  return { name: 'ReplicationLatency', unit: 'Milliseconds', value: Math.max(0, committedAt - eventTime) };
}
