import type { ReplicationMessage } from '../../../../../src/runtime/contract/replication-message';
import { metricsForOutcome } from '../../../../../src/runtime/replication/outcomes/outcome-metrics';
import { deliveredOutcome } from '../../../../../src/runtime/replication/outcomes/run-reports';

const count = (name: string) => ({ name, unit: 'Count', value: 1 });

describe('a version skipped by the tag filter', () => {
  test('counts as skipped and as VersionsFilteredByTags', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'tag-filter' })).toStrictEqual([count('EventsSkipped'), count('VersionsFilteredByTags')]);
  });

  test('is reported to its run as skipped-by-filter, as a key outside the prefixes is', () => {
    const message = { key: 'a/b', versionId: 'v1', backfillRun: 'run-1' } as ReplicationMessage;
    expect(deliveredOutcome(message, { action: 'skip', reason: 'tag-filter' }))
      .toStrictEqual({ key: 'a/b', versionId: 'v1', outcome: 'skipped-by-filter', reason: 'tag-filter' });
    // Other skips stay plain skips.
    expect(deliveredOutcome(message, { action: 'skip', reason: 'archived' })).toMatchObject({ outcome: 'skipped', reason: 'archived' });
  });
});
