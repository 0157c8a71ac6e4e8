import {
  eventKeyFilter,
  EVERY_KEY,
  hasTagFilter,
  inScope,
  listingPrefixes,
  matchesTagFilter,
  needsTagRead,
  objectKeyPatterns,
  parseScope,
  ReplicationScope,
  serializeScope,
} from '../../../../src/runtime/contract/replication-scope';

const under = (...prefixes: string[]): ReplicationScope => ({ prefixes });

describe('inScope', () => {
  test.each<[string, ReplicationScope, boolean]>([
    ['anything', EVERY_KEY, true],
    ['', EVERY_KEY, true],
    ['logs/2024/a.txt', under('logs/'), true],
    ['logs', under('logs/'), false],
    ['data/x', under('logs/', 'data/'), true],
    ['other/x', under('logs/', 'data/'), false],
    ['Logs/x', under('logs/'), false],
    ['logs/x', under(''), true],
  ])('%j in %j -> %s', (key, scope, expected) => {
    expect(inScope(scope, key)).toBe(expected);
  });
});

describe('tag filter', () => {
  const tagged = (tagFilter: Record<string, string>): ReplicationScope => ({ prefixes: [], tagFilter });
  const tags = (pairs: Record<string, string>) => Object.entries(pairs).map(([Key, Value]) => ({ Key, Value }));

  test.each<[string, Record<string, string>, Record<string, string>, boolean]>([
    ['every pair present', { replicate: 'yes', team: 'a' }, { team: 'a', replicate: 'yes', other: 'x' }, true],
    ['one pair missing', { replicate: 'yes', team: 'a' }, { replicate: 'yes' }, false],
    ['a value differs', { replicate: 'yes' }, { replicate: 'no' }, false],
    ['values are case-sensitive', { replicate: 'yes' }, { replicate: 'Yes' }, false],
    ['keys are case-sensitive', { replicate: 'yes' }, { Replicate: 'yes' }, false],
    ['an empty value matches an empty value', { reviewed: '' }, { reviewed: '' }, true],
    ['an empty value does not match a missing key', { reviewed: '' }, {}, false],
    ['no tags never match a filter', { replicate: 'yes' }, {}, false],
  ])('%s', (_name, filter, versionTags, expected) => {
    expect(matchesTagFilter(tagged(filter), tags(versionTags))).toBe(expected);
  });

  test('no filter, or an empty one, passes every version, tagged or not', () => {
    for (const scope of [EVERY_KEY, tagged({})]) {
      expect(hasTagFilter(scope)).toBe(false);
      expect(matchesTagFilter(scope, [])).toBe(true);
      expect(matchesTagFilter(scope, tags({ any: 'thing' }))).toBe(true);
    }
  });

  test('a tag read is needed only for a tagged version, to write its tags or to test the filter', () => {
    expect(needsTagRead(tagged({ a: 'b' }), false, 0)).toBe(false);
    expect(needsTagRead(tagged({ a: 'b' }), false, 2)).toBe(true);
    expect(needsTagRead(EVERY_KEY, true, 1)).toBe(true);
    expect(needsTagRead(EVERY_KEY, false, 1)).toBe(false);
    expect(needsTagRead(EVERY_KEY, true, 0)).toBe(false);
  });
});

describe('what the construct makes of a scope', () => {
  test('every key: one * pattern, no rule filter, one listing of the whole bucket', () => {
    expect(objectKeyPatterns(EVERY_KEY)).toEqual(['*']);
    expect(eventKeyFilter(EVERY_KEY)).toBeUndefined();
    expect(listingPrefixes(EVERY_KEY)).toEqual(['']);
  });

  test('prefixes: a <prefix>* pattern, a prefix filter and a listing for each', () => {
    const scope = under('logs/', 'data/');
    expect(objectKeyPatterns(scope)).toEqual(['logs/*', 'data/*']);
    expect(eventKeyFilter(scope)).toEqual([{ prefix: 'logs/' }, { prefix: 'data/' }]);
    expect(listingPrefixes(under('a/', 'a/'))).toEqual(['a/']);
  });

  test('every key a pattern matches is in scope, and every key in scope matches a pattern', () => {
    const scope = under('logs/', 'data/2024/');
    const matches = (key: string) => objectKeyPatterns(scope).some((pattern) => key.startsWith(pattern.slice(0, -1)));
    for (const key of ['logs/a', 'logs/', 'data/2024/x', 'data/2023/x', 'log', 'other', '']) {
      expect(matches(key)).toBe(inScope(scope, key));
    }
  });
});

describe('serialization', () => {
  test('round-trips', () => {
    for (const scope of [EVERY_KEY, under('logs/'), under('a/', 'b "quoted"/', 'ü/'), { prefixes: ['a/'], tagFilter: { 'replicate': 'yes', 'k "q"': '' } }]) {
      expect(parseScope(serializeScope(scope))).toEqual(scope);
    }
  });

  test('without a tag filter the variable keeps the shape earlier releases wrote and read', () => {
    expect(serializeScope(under('logs/'))).toBe('{"prefixes":["logs/"]}');
    expect(serializeScope({ prefixes: ['logs/'], tagFilter: {} })).toBe('{"prefixes":["logs/"]}');
    expect(parseScope('{"prefixes":["logs/"]}')).toEqual(under('logs/'));
    expect(serializeScope({ prefixes: [], tagFilter: { replicate: 'yes' } })).toBe('{"prefixes":[],"tagFilter":{"replicate":"yes"}}');
  });

  test.each([
    ['not json', 'must be a JSON object whose "prefixes" is an array of strings, such as {"prefixes":["reports/"]}'],
    ['["a/"]', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['{}', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['{"prefixes":[1]}', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['null', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['{"prefixes":[],"tagFilter":["a"]}', 'has a "tagFilter" that is not a JSON object of strings'],
    ['{"prefixes":[],"tagFilter":{"a":1}}', 'has a "tagFilter" that is not a JSON object of strings'],
    ['{"prefixes":[],"tagFilter":null}', 'has a "tagFilter" that is not a JSON object of strings'],
  ])('%s is refused, saying what it must be', (text, message) => {
    expect(() => parseScope(text)).toThrow(message);
  });
});
