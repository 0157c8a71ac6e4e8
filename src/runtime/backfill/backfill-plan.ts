import { inScope, ReplicationScope } from '../contract/replication-scope';
import { oldestFirst } from '../replication/key-state/version-order';

/**
 * What a backfill copies: every version of every key (oldest first), only the current ones, or
 * (`reconcile`) the current ones that the destination lacks or holds differently; `inventory`: every
 * version an S3 Inventory report lists.
 */
export type BackfillMode = 'all-versions' | 'current-versions' | 'reconcile' | 'inventory';
export const BACKFILL_MODES: readonly BackfillMode[] = ['all-versions', 'current-versions', 'reconcile', 'inventory'];

/** One entry of a ListObjectVersions page: an object version or a delete marker. */
export interface ListedEntry {
  readonly key: string;
  readonly versionId: string;
  readonly kind: 'object' | 'deleteMarker';
  readonly isLatest: boolean;
  readonly lastModified: Date;
  readonly size?: number;
  readonly eTag?: string;
}

/** The listing entries of one key, oldest first. */
export interface KeyListing {
  readonly key: string;
  readonly entries: readonly ListedEntry[];
}

/**
 * Groups a ListObjectVersions page by key, each key's versions and delete markers oldest first
 * (`oldestFirst`: S3's order within each kind, the key's `IsLatest` entry last, timestamps between
 * the kinds). When the page is truncated, the last key may continue on the next page, so it is held
 * back: `complete` has the keys whose every version is on this page.
 */
export function groupPageByKey(
  versions: readonly ListedEntry[],
  deleteMarkers: readonly ListedEntry[],
  truncated: boolean,
): { complete: KeyListing[]; heldBack?: string } {
  const byKey = new Map<string, { versions: ListedEntry[]; deleteMarkers: ListedEntry[] }>();
  const add = (entry: ListedEntry, kind: 'versions' | 'deleteMarkers') => {
    const lists = byKey.get(entry.key) ?? { versions: [], deleteMarkers: [] };
    lists[kind].push(entry);
    byKey.set(entry.key, lists);
  };
  versions.forEach((entry) => add(entry, 'versions'));
  deleteMarkers.forEach((entry) => add(entry, 'deleteMarkers'));
  // Keys in listing order (S3 sorts keys by their UTF-8 bytes, as the page does).
  const listings = [...byKey.keys()].sort(compareKeys).map((key) => {
    const lists = byKey.get(key)!;
    return { key, entries: oldestFirst(lists.versions, lists.deleteMarkers) };
  });
  if (!truncated || listings.length === 0) return { complete: listings };
  // A single key with more versions than a page holds cannot be held back forever: it goes page by page.
  if (listings.length === 1) return { complete: listings };
  return { complete: listings.slice(0, -1), heldBack: listings[listings.length - 1].key };
}

/** S3 orders keys by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** What the backfill does with one listed version. */
export type BackfillItem =
  | { readonly action: 'enqueue'; readonly entry: ListedEntry }
  | { readonly action: 'skip-filter'; readonly entry: ListedEntry };

/**
 * The versions of one key the backfill considers, oldest first: every version and delete marker
 * (`all-versions`), or the current version only (`current-versions` and `reconcile`; a key whose
 * current version is a delete marker is deleted, and there is nothing to copy). Keys outside the
 * prefixes are reported as skipped by the filter.
 */
export function planKey(listing: KeyListing, mode: BackfillMode, scope: ReplicationScope): BackfillItem[] {
  // An inventory of all versions is planned as the listing of all versions is.
  const entries = mode === 'all-versions' || mode === 'inventory'
    ? listing.entries
    : listing.entries.filter((entry) => entry.isLatest && entry.kind === 'object');
  const action = inScope(scope, listing.key) ? 'enqueue' : 'skip-filter';
  return entries.map((entry) => ({ action, entry }));
}

/** While the replicator's outcome count stalls, the outcomes are read at most this often. */
export const STALLED_READ_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Whether the wait for a run's outcomes reads them all (to write the report, or to check): when the
 * replicator's count of outcomes reached what the run enqueued, or when it has not risen since the
 * last check (a crash between an outcome and its count leaves it short forever) and the outcomes
 * were not read in the last ten minutes (a long copy also stalls it). Otherwise one counter read is
 * the whole check.
 */
export function shouldReadOutcomes(check: {
  readonly resolved: number;
  readonly enqueued: number;
  readonly lastResolved?: number;
  readonly outcomesReadAt?: string;
  readonly now: number;
}): boolean {
  if (check.resolved >= check.enqueued) return true;
  if (check.resolved !== check.lastResolved) return false;
  return check.outcomesReadAt === undefined || check.now - Date.parse(check.outcomesReadAt) >= STALLED_READ_INTERVAL_MS;
}
