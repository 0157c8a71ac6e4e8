/**
 * Which keys of the source bucket are replicated: defined once, here. The construct builds it from
 * its props, turns it into the EventBridge rule's key filter and both identities' IAM resources, and
 * hands it to every handler in one environment variable; the handlers test membership with
 * `inScope`. Today a scope is key prefixes; a filter on tags would be one more field here.
 */
export interface ReplicationScope {
  /** Keys that start with one of these; empty: every key. */
  readonly prefixes: readonly string[];
}

/** Every key of the bucket. */
export const EVERY_KEY: ReplicationScope = { prefixes: [] };

/** Whether the key is replicated. */
export function inScope(scope: ReplicationScope, key: string): boolean {
  return scope.prefixes.length === 0 || scope.prefixes.some((prefix) => key.startsWith(prefix));
}

/**
 * The object-key patterns that cover the scope, as IAM reads them in object ARNs and in the
 * `s3:prefix` condition: `<prefix>*` for each prefix, or `*`. Prefixes never contain `*` or `?`
 * (the construct refuses them), so a pattern never widens the scope.
 */
export function objectKeyPatterns(scope: ReplicationScope): string[] {
  return scope.prefixes.length > 0 ? scope.prefixes.map((prefix) => `${prefix}*`) : ['*'];
}

/** The EventBridge `object.key` filter of the scope; undefined: every key. */
export function eventKeyFilter(scope: ReplicationScope): { prefix: string }[] | undefined {
  return scope.prefixes.length > 0 ? scope.prefixes.map((prefix) => ({ prefix })) : undefined;
}

/** The prefixes a listing of the scope walks, one listing each: `''` (the whole bucket) for every key. */
export function listingPrefixes(scope: ReplicationScope): string[] {
  return scope.prefixes.length > 0 ? [...new Set(scope.prefixes)] : [''];
}

/** The scope as its environment variable carries it (JSON). */
export function serializeScope(scope: ReplicationScope): string {
  return JSON.stringify({ prefixes: scope.prefixes });
}

/** Reads a serialized scope; throws saying what it must be. */
export function parseScope(text: string): ReplicationScope {
  let prefixes: unknown;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) prefixes = (parsed as { prefixes?: unknown }).prefixes;
  } catch {
    // not JSON: refused below
  }
  if (!Array.isArray(prefixes) || !prefixes.every((prefix) => typeof prefix === 'string')) {
    throw new Error('must be a JSON object whose "prefixes" is an array of strings, such as {"prefixes":["reports/"]}');
  }
  return { prefixes };
}
