import { ListedVersion, newerInListing } from '../../src/runtime/version-order';

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
