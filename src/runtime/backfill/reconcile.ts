import { compareKeys, KeyListing, ListedEntry } from './backfill-plan';
import { inScope, listingPrefixes, ReplicationScope } from '../contract/replication-scope';
import { VersionRecord } from '../replication/replication-decision';

/**
 * Reconcile: the pure comparisons of a source page with the destination's listing of the same key
 * range. The destination is read with ListObjectsV2 (current objects only: key, size, ETag), so
 * reconcile compares each key's current version.
 */

/** A current object on the destination, as its listing shows it. */
export interface DestinationEntry {
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
}

/** What the version map recorded for a source version (the replica's ETag among the rest). */
export interface RecordedReplica extends VersionRecord {
  readonly eTag?: string;
}

export type ReconcileVerdict =
  | { readonly action: 'already-present'; readonly reason?: string }
  /** `staleReplica`: the mapped replica that is missing or differs, which the replicator may replace. */
  | { readonly action: 'enqueue'; readonly reason: string; readonly staleReplica?: string };

/**
 * What to do with a source key's current version, given the version map's record of it and the
 * destination's current object for the key. Sizes always compare; ETags compare against the
 * replica's own ETag as the version map recorded it, or, for a version the map does not know,
 * against the source's ETag when both are plain MD5s (single-part, not SSE-KMS: no `-`).
 */
export function reconcileVersion(
  source: ListedEntry,
  record: RecordedReplica | undefined,
  destination: DestinationEntry | undefined,
): ReconcileVerdict {
  const mapped = record?.state === 'replicated' && record.kind === 'object' ? record.destinationVersionId : undefined;
  const enqueue = (reason: string): ReconcileVerdict => ({ action: 'enqueue', reason, ...(mapped ? { staleReplica: mapped } : {}) });
  if (!destination) return enqueue('missing on the destination');
  if (source.size !== undefined && destination.size !== source.size) {
    return enqueue(`size differs (source ${source.size}, destination ${destination.size})`);
  }
  if (mapped) {
    if (record?.eTag === undefined || unquote(record.eTag) === unquote(destination.eTag)) return { action: 'already-present' };
    return enqueue('ETag differs from the replica the version map recorded');
  }
  const comparable = (eTag: string | undefined): eTag is string => eTag !== undefined && !eTag.includes('-');
  if (comparable(source.eTag) && comparable(destination.eTag) && unquote(source.eTag) === unquote(destination.eTag)) {
    return { action: 'already-present', reason: 'equal size and ETag on the destination; not in the version map' };
  }
  return enqueue('not in the version map and not provably equal on the destination');
}

/**
 * Destination objects in the range that have no current source object to match: keys the source
 * deleted (its current version is a delete marker) or never had. They are reported, never deleted.
 */
export function extrasOnDestination(
  destination: readonly DestinationEntry[],
  sourceKeys: readonly KeyListing[],
): Array<DestinationEntry & { readonly reason: string }> {
  const current = new Map<string, ListedEntry | undefined>(sourceKeys.map((listing) => [listing.key, newest(listing)]));
  return destination
    .filter((entry) => current.get(entry.key)?.kind !== 'object')
    .map((entry) => ({
      ...entry,
      reason: current.has(entry.key)
        ? 'deleted at the source (its current version is a delete marker); left in place'
        : 'not in the source bucket; left in place',
    }));
}

function newest(listing: KeyListing): ListedEntry | undefined {
  return listing.entries.find((entry) => entry.isLatest) ?? listing.entries[listing.entries.length - 1];
}

/** One ListObjectsV2 walk: under `prefix`, starting after `startAfter`. */
export interface DestinationWalk {
  readonly prefix: string;
  readonly startAfter?: string;
}

/**
 * The destination listings that cover the keys in (`after`, `upTo`] under the prefixes (all keys
 * when there are none). `upTo` undefined: to the end. A prefix entirely outside the range is left
 * out: its keys all sort at or after the prefix itself, and all before `after` when `after` sorts
 * above the prefix without starting with it.
 */
export function destinationWalks(after: string | undefined, upTo: string | undefined, scope: ReplicationScope): DestinationWalk[] {
  if (after !== undefined && upTo !== undefined && compareKeys(upTo, after) <= 0) return [];
  const walks = listingPrefixes(scope).filter((prefix) => {
    if (upTo !== undefined && compareKeys(upTo, prefix) < 0) return false;
    return after === undefined || after.startsWith(prefix) || compareKeys(after, prefix) < 0;
  });
  return walks.map((prefix) => (after !== undefined && compareKeys(after, prefix) >= 0 ? { prefix, startAfter: after } : { prefix }));
}

/** Whether a destination key is past the end of the range (and the walk can stop). */
export function isPastRange(key: string, upTo: string | undefined): boolean {
  return upTo !== undefined && compareKeys(key, upTo) > 0;
}

/** Whether a listed destination key belongs to the range and the replicated prefixes. */
export function inReplicatedRange(key: string, after: string | undefined, upTo: string | undefined, scope: ReplicationScope): boolean {
  return (after === undefined || compareKeys(key, after) > 0) && !isPastRange(key, upTo) && inScope(scope, key);
}

function unquote(eTag: string): string {
  return eTag.replace(/"/g, '');
}
