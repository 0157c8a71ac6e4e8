/**
 * Which keys of the source bucket are replicated: defined once, here. The construct builds it from
 * its props, turns it into the EventBridge rule's key filter and both identities' IAM resources, and
 * hands it to every handler in one environment variable; the handlers test membership with
 * `inScope`. A scope is key prefixes and, optionally, a tag filter, combined as S3 Replication's
 * `And` filter: a version is replicated when its key is under a prefix and its tags include every
 * pair of the filter. Events carry no tags, so only the replicator tests the tag filter
 * (`matchesTagFilter`), with the tags it reads with the version.
 */
export interface ReplicationScope {
  /** Keys that start with one of these; empty: every key. */
  readonly prefixes: readonly string[];
  /** Tag pairs a version's tags must all include; absent or empty: any tags (or none). */
  readonly tagFilter?: Readonly<Record<string, string>>;
}

/** Every key of the bucket. */
export const EVERY_KEY: ReplicationScope = { prefixes: [] };

/** Whether the key is replicated. */
export function inScope(scope: ReplicationScope, key: string): boolean {
  return scope.prefixes.length === 0 || scope.prefixes.some((prefix) => key.startsWith(prefix));
}

/** Whether the scope has a tag filter: then a version's tags decide, at copy time. */
export function hasTagFilter(scope: ReplicationScope): boolean {
  return scope.tagFilter !== undefined && Object.keys(scope.tagFilter).length > 0;
}

/**
 * Whether a version with these tags passes the scope's tag filter: its tags include every pair
 * (exact, case-sensitive key and value, as S3 Replication matches). No filter: every version.
 */
export function matchesTagFilter(scope: ReplicationScope, tags: readonly { readonly Key?: string; readonly Value?: string }[]): boolean {
  if (!hasTagFilter(scope)) return true;
  return Object.entries(scope.tagFilter!).every(([key, value]) => tags.some((tag) => tag.Key === key && (tag.Value ?? '') === value));
}

/**
 * Whether the copy of a version with `tagCount` tags must read them: to write them with the replica
 * (`replicateTags`) or to test the tag filter. A version without tags needs no read: it cannot
 * match a non-empty filter.
 */
export function needsTagRead(scope: ReplicationScope, replicateTags: boolean, tagCount: number): boolean {
  return tagCount > 0 && (replicateTags || hasTagFilter(scope));
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
  // No tag filter: the shape every earlier release wrote.
  return JSON.stringify(hasTagFilter(scope) ? { prefixes: scope.prefixes, tagFilter: scope.tagFilter } : { prefixes: scope.prefixes });
}

/**
 * Reads a serialized scope; throws saying what it must be. A scope without `tagFilter` (the shape
 * of releases before the tag filter) has none.
 */
export function parseScope(text: string): ReplicationScope {
  let prefixes: unknown;
  let tagFilter: unknown;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) ({ prefixes, tagFilter } = parsed as { prefixes?: unknown; tagFilter?: unknown });
  } catch {
    // not JSON: refused below
  }
  if (!Array.isArray(prefixes) || !prefixes.every((prefix) => typeof prefix === 'string')) {
    throw new Error('must be a JSON object whose "prefixes" is an array of strings, such as {"prefixes":["reports/"]}');
  }
  if (tagFilter === undefined) return { prefixes };
  if (typeof tagFilter !== 'object' || tagFilter === null || Array.isArray(tagFilter) || !Object.values(tagFilter).every((value) => typeof value === 'string')) {
    throw new Error('has a "tagFilter" that is not a JSON object of strings, such as {"prefixes":[],"tagFilter":{"replicate":"yes"}}');
  }
  return Object.keys(tagFilter).length > 0 ? { prefixes, tagFilter: tagFilter as Record<string, string> } : { prefixes };
}
