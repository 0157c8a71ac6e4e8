import { compareKeys } from '../../../../src/runtime/backfill/backfill-plan';
import { outcomeSortKey } from '../../../../src/runtime/backfill/backfill-runs';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('outcomeSortKey', () => {
  // S3 keys are up to 1,024 bytes of UTF-8; DynamoDB sort keys at most 1,024 bytes.
  const longest = {
    'ASCII': 'a'.repeat(1024),
    '2-byte UTF-8': '\u00e9'.repeat(512),
    '3-byte UTF-8': `${'\u20ac'.repeat(341)}x`,
    '4-byte UTF-8': '\u{1F600}'.repeat(256),
  };

  test.each(Object.entries(longest))('fits DynamoDB\'s sort key limit for a 1,024-byte %s key', (_, key) => {
    expect(bytes(key)).toBe(1024);
    const sortKey = outcomeSortKey(key, 'x'.repeat(32));
    expect(bytes(sortKey)).toBeLessThanOrEqual(1024);
    // Whole characters only: the key's start survives a round trip through UTF-8.
    expect(Buffer.from(sortKey, 'utf8').toString('utf8')).toBe(sortKey);
    expect(sortKey.startsWith(`outcome#${key.slice(0, 8)}`)).toBe(true);
  });

  test('tells apart versions of a key, keys that share their first 768 bytes, and an extra object without a version', () => {
    const shared = 'p'.repeat(800);
    const sortKeys = [
      outcomeSortKey('k', 'v1'), outcomeSortKey('k', 'v2'), outcomeSortKey('k'), outcomeSortKey('k', 'null'), outcomeSortKey('k', ''),
      outcomeSortKey(`${shared}a`, 'v1'), outcomeSortKey(`${shared}b`, 'v1'), outcomeSortKey('k\u0000v1'),
    ];
    expect(new Set(sortKeys).size).toBe(sortKeys.length);
    expect(outcomeSortKey('k', 'v1')).toBe(outcomeSortKey('k', 'v1'));
  });

  test('keeps outcomes in key order, a key\'s versions together', () => {
    const keys = ['a', 'a/b', 'b', 'z'.repeat(1024), '\u00e9'];
    const sorted = keys.flatMap((key) => ['v1', 'v2'].map((versionId) => ({ key, sortKey: outcomeSortKey(key, versionId) })))
      .sort((x, y) => compareKeys(x.sortKey, y.sortKey));
    expect([...new Set(sorted.map(({ key }) => key))]).toEqual(keys);
  });
});
