import { isReplicatedKey } from './replication-decision';

/**
 * What a backfill copies: every version of every key (oldest first), only the current ones, or
 * (`reconcile`) the current ones that the destination lacks or holds differently.
 */
export type BackfillMode = 'all-versions' | 'current-versions' | 'reconcile';
export const BACKFILL_MODES: readonly BackfillMode[] = ['all-versions', 'current-versions', 'reconcile'];

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
 * Groups a ListObjectVersions page by key, each key's versions and delete markers oldest first.
 * S3 returns the two kinds in separate lists, each newest first; between them only the timestamps
 * order (a delete marker and a version in the same second: the marker is taken as the later one,
 * the usual put-then-delete). When the page is truncated, the last key may continue on the next
 * page, so it is held back: `complete` has the keys whose every version is on this page.
 */
export function groupPageByKey(
  versions: readonly ListedEntry[],
  deleteMarkers: readonly ListedEntry[],
  truncated: boolean,
): { complete: KeyListing[]; heldBack?: string } {
  const byKey = new Map<string, ListedEntry[]>();
  for (const entry of [...versions, ...deleteMarkers]) {
    const list = byKey.get(entry.key) ?? [];
    list.push(entry);
    byKey.set(entry.key, list);
  }
  // Keys in listing order (S3 sorts keys by their UTF-8 bytes, as the page does).
  const keys = [...new Set([...versions, ...deleteMarkers].map((entry) => entry.key))].sort(compareKeys);
  const rank = (entry: ListedEntry) => (entry.kind === 'object' ? 0 : 1);
  const listings = keys.map((key) => {
    const entries = byKey.get(key)!;
    // Stable oldest-first: within one kind S3's order is exact (newest first), so reverse it.
    const ordered = [
      ...entries.filter((e) => e.kind === 'object').reverse(),
      ...entries.filter((e) => e.kind === 'deleteMarker').reverse(),
    ].sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || rank(a) - rank(b));
    return { key, entries: keepKindOrder(ordered, entries) };
  });
  if (!truncated || listings.length === 0) return { complete: listings };
  // A single key with more versions than a page holds cannot be held back forever: it goes page by page.
  if (listings.length === 1) return { complete: listings };
  return { complete: listings.slice(0, -1), heldBack: listings[listings.length - 1].key };
}

/**
 * Sorting by timestamp must not reorder entries of the same kind, whose order S3 gives exactly
 * (two versions written in the same second): put them back in S3's order within each kind.
 */
function keepKindOrder(sorted: ListedEntry[], original: ListedEntry[]): ListedEntry[] {
  const queues = {
    object: original.filter((e) => e.kind === 'object').reverse(),
    deleteMarker: original.filter((e) => e.kind === 'deleteMarker').reverse(),
  };
  return sorted.map((entry) => queues[entry.kind].shift()!);
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
export function planKey(listing: KeyListing, mode: BackfillMode, prefixes: readonly string[]): BackfillItem[] {
  const entries = mode === 'all-versions'
    ? listing.entries
    : listing.entries.filter((entry) => entry.isLatest && entry.kind === 'object');
  const action = isReplicatedKey(listing.key, prefixes) ? 'enqueue' : 'skip-filter';
  return entries.map((entry) => ({ action, entry }));
}
