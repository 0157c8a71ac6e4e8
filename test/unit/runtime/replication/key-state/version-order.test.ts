import { laterAcrossKinds, ListedVersion, newerInListing, oldestFirst } from '../../../../../src/runtime/replication/key-state/version-order';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const entry = (versionId: string, seconds: number, isLatest = false): ListedVersion => ({ versionId, lastModified: at(seconds), isLatest });

describe('newerInListing', () => {
  test('within one list, S3 order (newest first) decides', () => {
    const versions = [entry('v3', 3, true), entry('v2', 2), entry('v1', 1)];
    expect(newerInListing(versions, [], 'v3', 'v1')).toBe(true);
    expect(newerInListing(versions, [], 'v1', 'v3')).toBe(false);
  });

  test('across versions and delete markers, timestamps decide, and a marker of the same second is the later', () => {
    const versions = [entry('v1', 1)];
    const markers = [entry('m1', 1, true)];
    expect(newerInListing(versions, markers, 'm1', 'v1')).toBe(true);
    expect(newerInListing(versions, markers, 'v1', 'm1')).toBe(false);
    expect(newerInListing([entry('v2', 5, true), entry('v1', 1)], [entry('m1', 3)], 'v2', 'm1')).toBe(true);
  });

  test('in the same second, the entry S3 marks IsLatest is the newer, whichever its kind', () => {
    // PUT v-old; then within one second DELETE (m) and PUT v-new: v-new is current.
    const versions = [entry('v-new', 1, true), entry('v-old', 0)];
    const markers = [entry('m', 1)];
    expect(newerInListing(versions, markers, 'v-new', 'm')).toBe(true);
    expect(newerInListing(versions, markers, 'm', 'v-new')).toBe(false);
    expect(newerInListing(versions, markers, 'm', 'v-old')).toBe(true);
  });

  test('a candidate the source no longer lists is never newer', () => {
    expect(newerInListing([entry('v1', 1, true)], [], 'gone', 'v1')).toBe(false);
  });

  test('when the applied version is gone from the source, the key\'s current entry is newer and nothing else is', () => {
    const versions = [entry('v3', 3, true), entry('v2', 2)];
    expect(newerInListing(versions, [], 'v3', 'deleted-head')).toBe(true);
    expect(newerInListing(versions, [], 'v2', 'deleted-head')).toBe(false);
    expect(newerInListing([entry('v2', 2)], [entry('m', 4, true)], 'm', 'deleted-head')).toBe(true);
  });
});

describe('laterAcrossKinds', () => {
  test('the IsLatest entry is the later, even against a later timestamp', () => {
    expect(laterAcrossKinds(entry('v', 1, true), false, entry('m', 1))).toBe(true);
    expect(laterAcrossKinds(entry('m', 1), true, entry('v', 1, true))).toBe(false);
    expect(laterAcrossKinds(entry('v', 1, true), false, entry('m', 2))).toBe(true);
  });

  test('otherwise timestamps decide, and in the same second the delete marker is the later', () => {
    expect(laterAcrossKinds(entry('v', 2), false, entry('m', 1))).toBe(true);
    expect(laterAcrossKinds(entry('v', 1), false, entry('m', 2))).toBe(false);
    expect(laterAcrossKinds(entry('m', 1), true, entry('v', 1))).toBe(true);
    expect(laterAcrossKinds(entry('v', 1), false, entry('m', 1))).toBe(false);
  });
});

describe('oldestFirst', () => {
  const ids = (entries: readonly ListedVersion[]) => entries.map((e) => e.versionId);

  test('a key deleted and re-created in the same second ends with the re-created version', () => {
    expect(ids(oldestFirst([entry('v-new', 1, true), entry('v-old', 0)], [entry('m', 1)]))).toEqual(['v-old', 'm', 'v-new']);
  });

  test('a key re-created and deleted in the same second ends with the delete marker', () => {
    expect(ids(oldestFirst([entry('v-new', 1), entry('v-old', 0)], [entry('m', 1, true)]))).toEqual(['v-old', 'v-new', 'm']);
  });

  test('versions of one second keep S3\'s order, and the IsLatest entry is last among many ties', () => {
    // All in one second: S3 lists each kind newest first.
    const versions = [entry('v3', 1, true), entry('v2', 1), entry('v1', 1)];
    const markers = [entry('m2', 1), entry('m1', 1)];
    const ordered = ids(oldestFirst(versions, markers));
    expect(ordered[ordered.length - 1]).toBe('v3');
    expect(ordered.filter((id) => id.startsWith('v'))).toEqual(['v1', 'v2', 'v3']);
    expect(ordered.filter((id) => id.startsWith('m'))).toEqual(['m1', 'm2']);
  });

  test('different seconds merge by time; one kind alone keeps its order', () => {
    expect(ids(oldestFirst([entry('v3', 30, true), entry('v1', 10)], [entry('m2', 20)]))).toEqual(['v1', 'm2', 'v3']);
    expect(ids(oldestFirst([], [entry('m2', 2, true), entry('m1', 1)]))).toEqual(['m1', 'm2']);
    expect(oldestFirst([], [])).toEqual([]);
  });

  test('agrees with newerInListing on every pair', () => {
    const versions = [entry('v4', 3, true), entry('v3', 2), entry('v2', 2), entry('v1', 1)];
    const markers = [entry('m3', 3), entry('m2', 2), entry('m1', 1)];
    const ordered = ids(oldestFirst(versions, markers));
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        if (i === j) continue;
        expect([ordered[i], ordered[j], newerInListing(versions, markers, ordered[i], ordered[j])]).toEqual([ordered[i], ordered[j], i > j]);
      }
    }
  });
});
