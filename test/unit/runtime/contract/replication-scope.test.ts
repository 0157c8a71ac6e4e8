import {
  eventKeyFilter,
  EVERY_KEY,
  inScope,
  listingPrefixes,
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
    for (const scope of [EVERY_KEY, under('logs/'), under('a/', 'b "quoted"/', 'ü/')]) {
      expect(parseScope(serializeScope(scope))).toEqual(scope);
    }
  });

  test.each([
    ['not json', 'must be a JSON object whose "prefixes" is an array of strings, such as {"prefixes":["reports/"]}'],
    ['["a/"]', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['{}', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['{"prefixes":[1]}', 'must be a JSON object whose "prefixes" is an array of strings'],
    ['null', 'must be a JSON object whose "prefixes" is an array of strings'],
  ])('%s is refused, saying what it must be', (text, message) => {
    expect(() => parseScope(text)).toThrow(message);
  });
});
