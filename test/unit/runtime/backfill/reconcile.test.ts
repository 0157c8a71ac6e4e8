import { KeyListing, ListedEntry } from '../../../../src/runtime/backfill/backfill-plan';
import {
  destinationWalks,
  extrasOnDestination,
  inReplicatedRange,
  reconcileVersion,
  RecordedReplica,
} from '../../../../src/runtime/backfill/reconcile';
import { EVERY_KEY } from '../../../../src/runtime/contract/replication-scope';

const source = (change: Partial<ListedEntry> = {}): ListedEntry => ({
  key: 'k', versionId: 'v1', kind: 'object', isLatest: true, lastModified: new Date(0), size: 10, eTag: 'abc', ...change,
});
const mapped = (change: Partial<RecordedReplica> = {}): RecordedReplica => ({
  sourceVersionId: 'v1', kind: 'object', state: 'replicated', destinationVersionId: 'd1', eTag: '"def"', ...change,
});
const onDestination = (change: Partial<{ size: number; eTag: string }> = {}) => ({ key: 'k', size: 10, eTag: '"def"', ...change });

describe('reconcileVersion', () => {
  test('a replica as the version map recorded it is already present', () => {
    expect(reconcileVersion(source(), mapped(), onDestination())).toEqual({ action: 'already-present' });
  });

  test('a missing replica is enqueued to replace the mapped one', () => {
    expect(reconcileVersion(source(), mapped(), undefined)).toEqual({ action: 'enqueue', reason: 'missing on the destination', staleReplica: 'd1' });
  });

  test('a different size is enqueued, saying both sizes', () => {
    expect(reconcileVersion(source(), mapped(), onDestination({ size: 11 })))
      .toEqual({ action: 'enqueue', reason: 'size differs (source 10, destination 11)', staleReplica: 'd1' });
  });

  test('a replica overwritten with other bytes of the same size is found by its ETag', () => {
    expect(reconcileVersion(source(), mapped(), onDestination({ eTag: '"other"' })))
      .toEqual({ action: 'enqueue', reason: 'ETag differs from the replica the version map recorded', staleReplica: 'd1' });
  });

  test('a version the map does not know is present only when size and a plain MD5 ETag both match the source', () => {
    expect(reconcileVersion(source(), undefined, onDestination({ eTag: '"abc"' })))
      .toEqual({ action: 'already-present', reason: 'equal size and ETag on the destination; not in the version map' });
    expect(reconcileVersion(source(), undefined, onDestination({ eTag: '"abd"' })))
      .toEqual({ action: 'enqueue', reason: 'not in the version map and not provably equal on the destination' });
    // Multipart ETags depend on the part sizes, so equal ones prove nothing and unequal ones nothing either.
    expect(reconcileVersion(source({ eTag: 'abc-2' }), undefined, onDestination({ eTag: '"abc-2"' })))
      .toMatchObject({ action: 'enqueue' });
    expect(reconcileVersion(source(), undefined, undefined)).toEqual({ action: 'enqueue', reason: 'missing on the destination' });
  });

  test('a version the map knows as deleted has no replica to replace', () => {
    expect(reconcileVersion(source(), mapped({ state: 'deleted', destinationVersionId: undefined }), undefined))
      .toEqual({ action: 'enqueue', reason: 'missing on the destination' });
  });
});

describe('extrasOnDestination', () => {
  const listing = (key: string, kinds: Array<'object' | 'deleteMarker'>): KeyListing => ({
    key,
    entries: kinds.map((kind, i) => source({ key, kind, versionId: `v${i}`, isLatest: i === kinds.length - 1 })),
  });

  test('destination objects whose key the source deleted or never had are extras, with where they come from', () => {
    const extras = extrasOnDestination(
      [onDestination(), { key: 'deleted', size: 1, eTag: 'x' }, { key: 'stray', size: 2, eTag: 'y' }],
      [listing('k', ['object']), listing('deleted', ['object', 'deleteMarker'])],
    );
    expect(extras.map(({ key, reason }) => [key, reason])).toEqual([
      ['deleted', 'deleted at the source (its current version is a delete marker); left in place'],
      ['stray', 'not in the source bucket; left in place'],
    ]);
  });

  test('a key recreated after a delete marker is current at the source, not an extra', () => {
    expect(extrasOnDestination([onDestination()], [listing('k', ['object', 'deleteMarker', 'object'])])).toEqual([]);
  });
});

describe('destinationWalks', () => {
  test('without prefixes: the whole bucket after the page\'s first key', () => {
    expect(destinationWalks(undefined, 'm', EVERY_KEY)).toEqual([{ prefix: '' }]);
    expect(destinationWalks('c', 'm', EVERY_KEY)).toEqual([{ prefix: '', startAfter: 'c' }]);
    expect(destinationWalks('c', undefined, EVERY_KEY)).toEqual([{ prefix: '', startAfter: 'c' }]);
  });

  test('an empty range lists nothing', () => {
    expect(destinationWalks('m', 'm', EVERY_KEY)).toEqual([]);
    expect(destinationWalks('m', 'c', EVERY_KEY)).toEqual([]);
  });

  test('only the prefixes the range reaches, each from where the range starts', () => {
    const prefixes = ['a/', 'm/', 'z/'];
    expect(destinationWalks(undefined, 'a/9', { prefixes })).toEqual([{ prefix: 'a/' }]);
    expect(destinationWalks('a/5', 'm/1', { prefixes })).toEqual([{ prefix: 'a/', startAfter: 'a/5' }, { prefix: 'm/' }]);
    // After a/ entirely (b sorts above every a/ key): a/ is done.
    expect(destinationWalks('b', undefined, { prefixes })).toEqual([{ prefix: 'm/' }, { prefix: 'z/' }]);
    expect(destinationWalks('m/', 'n', { prefixes })).toEqual([{ prefix: 'm/', startAfter: 'm/' }]);
  });

  test('keys compare by their UTF-8 bytes, as S3 lists them', () => {
    // U+1F600 sorts after U+FF5E by UTF-8 bytes, but before it by UTF-16 code units (JavaScript's <).
    expect(destinationWalks('\uff5e', undefined, { prefixes: ['\u{1F600}'] })).toEqual([{ prefix: '\u{1F600}' }]);
  });
});

describe('inReplicatedRange', () => {
  test('after the start, up to and including the end, under a prefix', () => {
    expect(inReplicatedRange('b', 'a', 'c', EVERY_KEY)).toBe(true);
    expect(inReplicatedRange('a', 'a', 'c', EVERY_KEY)).toBe(false);
    expect(inReplicatedRange('c', 'a', 'c', EVERY_KEY)).toBe(true);
    expect(inReplicatedRange('d', 'a', 'c', EVERY_KEY)).toBe(false);
    expect(inReplicatedRange('d', 'a', undefined, EVERY_KEY)).toBe(true);
    expect(inReplicatedRange('b', undefined, 'c', { prefixes: ['x/'] })).toBe(false);
  });
});
