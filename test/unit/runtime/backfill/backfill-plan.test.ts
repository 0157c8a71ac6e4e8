import { compareKeys, groupPageByKey, ListedEntry, planKey, shouldReadOutcomes } from '../../../../src/runtime/backfill/backfill-plan';
import { EVERY_KEY } from '../../../../src/runtime/contract/replication-scope';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
const version = (key: string, versionId: string, second: number, isLatest = false): ListedEntry =>
  ({ key, versionId, kind: 'object', isLatest, lastModified: at(second) });
const marker = (key: string, versionId: string, second: number, isLatest = false): ListedEntry =>
  ({ key, versionId, kind: 'deleteMarker', isLatest, lastModified: at(second) });

describe('groupPageByKey', () => {
  test('orders each key oldest first, merging versions and delete markers by time', () => {
    const { complete } = groupPageByKey(
      [version('a', 'a3', 30, true), version('a', 'a1', 10), version('b', 'b1', 5, false)],
      [marker('a', 'a2', 20), marker('b', 'b2', 6, true)],
      false,
    );
    expect(complete.map((k) => [k.key, k.entries.map((e) => e.versionId)])).toEqual([['a', ['a1', 'a2', 'a3']], ['b', ['b1', 'b2']]]);
  });

  test('keeps S3\'s order for versions written in the same second', () => {
    // S3 lists newest first: v3, v2, v1, all in the same second.
    const { complete } = groupPageByKey([version('k', 'v3', 1, true), version('k', 'v2', 1), version('k', 'v1', 1)], [], false);
    expect(complete[0].entries.map((e) => e.versionId)).toEqual(['v1', 'v2', 'v3']);
  });

  test('a delete marker in the same second as a version is taken as the later one', () => {
    const { complete } = groupPageByKey([version('k', 'v1', 1)], [marker('k', 'm1', 1, true)], false);
    expect(complete[0].entries.map((e) => e.versionId)).toEqual(['v1', 'm1']);
  });

  test('a key deleted and re-created in the same second ends with its re-created version, which S3 marks IsLatest', () => {
    // PUT v-old; then, within one second, DELETE (marker m) and PUT v-new: the listing's timestamps tie.
    const { complete } = groupPageByKey([version('k', 'v-new', 1, true), version('k', 'v-old', 0)], [marker('k', 'm', 1)], false);
    expect(complete[0].entries.map((e) => e.versionId)).toEqual(['v-old', 'm', 'v-new']);
  });

  test('without IsLatest to tell, a delete marker in the same second as a version stays the later one', () => {
    const { complete } = groupPageByKey([version('k', 'v2', 5, true), version('k', 'v1', 1)], [marker('k', 'm1', 1)], false);
    expect(complete[0].entries.map((e) => e.versionId)).toEqual(['v1', 'm1', 'v2']);
  });

  test('a truncated page holds back its last key, which may continue on the next page', () => {
    const result = groupPageByKey([version('a', 'a1', 1, true), version('b', 'b2', 2, true)], [], true);
    expect(result.complete.map((k) => k.key)).toEqual(['a']);
    expect(result.heldBack).toBe('b');
  });

  test('a page of one key with more versions than fit goes through rather than stalling', () => {
    const result = groupPageByKey([version('a', 'a2', 2, true), version('a', 'a1', 1)], [], true);
    expect(result.complete.map((k) => k.key)).toEqual(['a']);
    expect(result.heldBack).toBeUndefined();
  });

  test('keys are in S3\'s UTF-8 byte order', () => {
    expect(['é', 'z', 'a', 'Z'].sort(compareKeys)).toEqual(['Z', 'a', 'z', 'é']);
  });
});

describe('planKey', () => {
  const listing = { key: 'in/k', entries: [version('in/k', 'v1', 1), version('in/k', 'v2', 2), marker('in/k', 'm', 3), version('in/k', 'v3', 4, true)] };

  test('all-versions takes every version and delete marker, oldest first', () => {
    expect(planKey(listing, 'all-versions', EVERY_KEY).map((i) => [i.action, i.entry.versionId]))
      .toEqual([['enqueue', 'v1'], ['enqueue', 'v2'], ['enqueue', 'm'], ['enqueue', 'v3']]);
  });

  test('current-versions takes the current version only', () => {
    expect(planKey(listing, 'current-versions', EVERY_KEY).map((i) => i.entry.versionId)).toEqual(['v3']);
  });

  test('current-versions takes nothing of a deleted key', () => {
    const deleted = { key: 'in/d', entries: [version('in/d', 'v1', 1), marker('in/d', 'm', 2, true)] };
    expect(planKey(deleted, 'current-versions', EVERY_KEY)).toEqual([]);
  });

  test('keys outside the prefixes are reported as skipped by the filter', () => {
    expect(planKey(listing, 'current-versions', { prefixes: ['other/'] })).toEqual([{ action: 'skip-filter', entry: listing.entries[3] }]);
  });
});

describe('shouldReadOutcomes', () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const minutesAgo = (minutes: number) => new Date(now - minutes * 60_000).toISOString();

  test('reads them once the count reaches what was enqueued (or passes it, after a crash re-enqueued a page)', () => {
    expect(shouldReadOutcomes({ resolved: 10, enqueued: 10, lastResolved: 4, now })).toBe(true);
    expect(shouldReadOutcomes({ resolved: 11, enqueued: 10, lastResolved: 11, outcomesReadAt: minutesAgo(1), now })).toBe(true);
  });

  test('does not while the count rises', () => {
    expect(shouldReadOutcomes({ resolved: 5, enqueued: 10, lastResolved: 4, now })).toBe(false);
    expect(shouldReadOutcomes({ resolved: 0, enqueued: 10, now })).toBe(false);
  });

  test('reads them when the count stalls, then at most every ten minutes while it stays', () => {
    expect(shouldReadOutcomes({ resolved: 5, enqueued: 10, lastResolved: 5, now })).toBe(true);
    expect(shouldReadOutcomes({ resolved: 5, enqueued: 10, lastResolved: 5, outcomesReadAt: minutesAgo(3), now })).toBe(false);
    expect(shouldReadOutcomes({ resolved: 5, enqueued: 10, lastResolved: 5, outcomesReadAt: minutesAgo(10), now })).toBe(true);
  });
});
