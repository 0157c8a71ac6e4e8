import type { MetricName, MetricPoint } from '../../contract/metrics';
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
    if (outcome.reason === 'older-than-replica') points.push(count('StaleEventsSkipped'));
    return [...points, ...decoded];
  }
  const points: MetricPoint[] = [count(ACTION_METRICS[outcome.action]), ...decoded];
  if ((outcome.action === 'copy' || outcome.action === 'repair-replica') && outcome.bytes !== undefined) {
    points.push({ name: 'BytesReplicated', unit: 'Bytes', value: outcome.bytes });
  }
  return points;
}
