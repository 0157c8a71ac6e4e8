import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Outcome } from '../replication/replicator';

/** CloudWatch namespace of every metric the handlers publish (EMF). */
export const METRICS_NAMESPACE = 'PartitionReplicatedBucket';

export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Structured JSON logs and EMF metrics (Powertools). The log level comes from POWERTOOLS_LOG_LEVEL
 * (default INFO) unless given.
 */
export function createTelemetry(serviceName: string, logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'): Telemetry {
  return {
    logger: new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

export interface MetricPoint {
  readonly name: string;
  readonly unit: (typeof MetricUnit)[keyof typeof MetricUnit];
  readonly value: number;
}

const ACTION_METRICS: Record<Exclude<Outcome['action'], 'skip'>, string> = {
  'copy-continued': 'CopiesContinued',
  'copy': 'ObjectsReplicated',
  'repair-replica': 'ReplicasRepaired',
  'create-delete-marker': 'DeleteMarkersReplicated',
  'delete-destination-version': 'VersionDeletesReplicated',
  'sync-tags': 'TagSetsReplicated',
  'remember-source-deleted': 'SourceVersionsDeletedBeforeCopy',
  'forget-version': 'VersionMappingsExpired',
};

/**
 * The metrics one outcome adds. `decodedKey`: the event's key was URL-encoded and the message was
 * replicated under its decoded form (`EncodedKeysDecoded`).
 */
export function metricsForOutcome(outcome: Outcome & { readonly decodedKey?: string }): MetricPoint[] {
  const decoded: MetricPoint[] = outcome.decodedKey !== undefined ? [{ name: 'EncodedKeysDecoded', unit: MetricUnit.Count, value: 1 }] : [];
  if (outcome.action === 'skip') {
    const points: MetricPoint[] = [{ name: 'EventsSkipped', unit: MetricUnit.Count, value: 1 }];
    if (outcome.reason === 'source-version-gone') points.push({ name: 'SourceVersionGone', unit: MetricUnit.Count, value: 1 });
    if (outcome.reason === 'archived') points.push({ name: 'ArchivedVersionsSkipped', unit: MetricUnit.Count, value: 1 });
    if (outcome.reason === 'older-than-replica') points.push({ name: 'StaleEventsSkipped', unit: MetricUnit.Count, value: 1 });
    return [...points, ...decoded];
  }
  const points: MetricPoint[] = [{ name: ACTION_METRICS[outcome.action], unit: MetricUnit.Count, value: 1 }, ...decoded];
  if ((outcome.action === 'copy' || outcome.action === 'repair-replica') && outcome.bytes !== undefined) {
    points.push({ name: 'BytesReplicated', unit: MetricUnit.Bytes, value: outcome.bytes });
  }
  return points;
}
