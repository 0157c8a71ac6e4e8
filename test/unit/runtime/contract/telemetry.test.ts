import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createTelemetry, metricsForOutcome, METRICS_NAMESPACE } from '../../../../src/runtime/contract/telemetry';
import { SkipReason } from '../../../../src/runtime/replication/replication-decision';
import type { Outcome } from '../../../../src/runtime/replication/replicator';
import { captureOutput } from '../../../support/capture-output';

const count = (name: string) => ({ name, unit: MetricUnit.Count, value: 1 });

describe('metricsForOutcome: actions', () => {
  test.each<[Outcome['action'], string]>([
    ['copy', 'ObjectsReplicated'],
    ['create-delete-marker', 'DeleteMarkersReplicated'],
    ['delete-destination-version', 'VersionDeletesReplicated'],
    ['sync-tags', 'TagSetsReplicated'],
    ['remember-source-deleted', 'SourceVersionsDeletedBeforeCopy'],
    ['forget-version', 'VersionMappingsExpired'],
    ['repair-replica', 'ReplicasRepaired'],
  ])('%s -> %s', (action, metric) => {
    expect(metricsForOutcome({ action } as Outcome)).toStrictEqual([count(metric)]);
  });

  test('copy with bytes also adds BytesReplicated', () => {
    expect(metricsForOutcome({ action: 'copy', bytes: 1048576, destinationVersionId: 'd1' })).toStrictEqual([
      count('ObjectsReplicated'),
      { name: 'BytesReplicated', unit: MetricUnit.Bytes, value: 1048576 },
    ]);
  });

  test('a repair adds the bytes it copied again', () => {
    expect(metricsForOutcome({ action: 'repair-replica', bytes: 5 })).toStrictEqual([
      count('ReplicasRepaired'),
      { name: 'BytesReplicated', unit: MetricUnit.Bytes, value: 5 },
    ]);
  });

  test('copy of an empty object reports 0 bytes', () => {
    expect(metricsForOutcome({ action: 'copy', bytes: 0 })).toContainEqual({ name: 'BytesReplicated', unit: MetricUnit.Bytes, value: 0 });
  });

  test('bytes on another action add no BytesReplicated', () => {
    expect(metricsForOutcome({ action: 'sync-tags', bytes: 10 })).toStrictEqual([count('TagSetsReplicated')]);
  });
});

describe('metricsForOutcome: skips', () => {
  const plainReasons: SkipReason[] = [
    'outside-prefixes',
    'duplicate',
    'source-version-deleted',
    'delete-markers-disabled',
    'version-deletes-disabled',
    'tags-disabled',
    'lifecycle-expiration',
    'not-replicated-yet',
  ];

  test.each(plainReasons)('%s -> EventsSkipped only', (reason) => {
    expect(metricsForOutcome({ action: 'skip', reason })).toStrictEqual([count('EventsSkipped')]);
  });

  test('older-than-replica -> EventsSkipped and StaleEventsSkipped', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'older-than-replica' })).toStrictEqual([count('EventsSkipped'), count('StaleEventsSkipped')]);
  });

  test('source-version-gone -> EventsSkipped and SourceVersionGone', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'source-version-gone' })).toStrictEqual([count('EventsSkipped'), count('SourceVersionGone')]);
  });
});

test('the metrics namespace', () => {
  expect(METRICS_NAMESPACE).toBe('PartitionReplicatedBucket');
});

test('EMF metrics carry the service dimension in the PartitionReplicatedBucket namespace', async () => {
  const { metrics } = createTelemetry('replicator');
  metrics.addMetric('ObjectsReplicated', MetricUnit.Count, 1);
  const { lines } = await captureOutput(async () => metrics.publishStoredMetrics());

  const emf = lines.map((line) => JSON.parse(line)).find((parsed) => parsed._aws !== undefined);
  expect(emf).toBeDefined();
  expect(emf.service).toBe('replicator');
  expect(emf.ObjectsReplicated).toBe(1);
  expect(emf._aws.CloudWatchMetrics).toStrictEqual([
    expect.objectContaining({ Namespace: 'PartitionReplicatedBucket', Dimensions: [['service']] }),
  ]);
});
