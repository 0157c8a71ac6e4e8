import { metricsForOutcome } from '../../../../../src/runtime/replication/outcomes/outcome-metrics';
import { SkipReason } from '../../../../../src/runtime/replication/replication-decision';
import type { Outcome } from '../../../../../src/runtime/replication/replication-decision';

const count = (name: string) => ({ name, unit: 'Count', value: 1 });

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
      { name: 'BytesReplicated', unit: 'Bytes', value: 1048576 },
    ]);
  });

  test('a repair adds the bytes it copied again', () => {
    expect(metricsForOutcome({ action: 'repair-replica', bytes: 5 })).toStrictEqual([
      count('ReplicasRepaired'),
      { name: 'BytesReplicated', unit: 'Bytes', value: 5 },
    ]);
  });

  test('copy of an empty object reports 0 bytes', () => {
    expect(metricsForOutcome({ action: 'copy', bytes: 0 })).toContainEqual({ name: 'BytesReplicated', unit: 'Bytes', value: 0 });
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

  test('sse-c -> EventsSkipped and CustomerKeyVersionsSkipped', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'sse-c' })).toStrictEqual([count('EventsSkipped'), count('CustomerKeyVersionsSkipped')]);
  });

  test('source-version-gone -> EventsSkipped and SourceVersionGone', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'source-version-gone' })).toStrictEqual([count('EventsSkipped'), count('SourceVersionGone')]);
  });
});

