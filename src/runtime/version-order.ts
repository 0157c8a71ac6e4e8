import { compareSequencers } from './sequencer';

/** A version's place in its key's history, as far as a message or the table knows it. */
export interface OrderedVersion {
  readonly versionId: string;
  /** S3's sequencer, from a live event. */
  readonly sequencer?: string;
  /** The backfill run and listing position that applied (or carries) the version. */
  readonly backfill?: { readonly run: string; readonly index: number };
}

/**
 * How a message's version stands against the newest version already applied for its key.
 * `unknown` when one side has no sequencer (it came from a backfill's listing): then only the
 * source's own version listing can tell (see `newerInListing`).
 */
export type Ordering = 'newer' | 'older' | 'same' | 'unknown';

export function compareVersions(message: OrderedVersion, applied: OrderedVersion | undefined): Ordering {
  if (!applied) return 'newer';
  if (message.versionId === applied.versionId) return 'same';
  if (message.sequencer && applied.sequencer) return compareSequencers(message.sequencer, applied.sequencer) > 0 ? 'newer' : 'older';
  // One run lists a key's versions oldest first, so its own positions order them exactly.
  if (message.backfill && applied.backfill && message.backfill.run === applied.backfill.run) {
    return message.backfill.index > applied.backfill.index ? 'newer' : 'older';
  }
  return 'unknown';
}

/** One entry of a ListObjectVersions response for one key (versions or delete markers). */
export interface ListedVersion {
  readonly versionId: string;
  readonly lastModified: Date;
  /** S3's `IsLatest`: this entry is the key's current state at the source. */
  readonly isLatest?: boolean;
}

/**
 * Whether `candidate` is newer than `applied` by the source's listing of the key's versions and
 * delete markers (each list newest first, as S3 returns them). S3 orders each list exactly; between
 * the two lists only the timestamps (whole seconds) can tell, and in the same second the delete
 * marker is taken as the later one (put, then delete), as the backfill's plan does. A candidate no
 * longer listed is not newer. When the applied version is gone from the source (deleted for good or
 * expired), only the key's current entry is newer: the destination follows the source's current
 * state, and the key is never stuck behind a head nothing can be compared with.
 */
export function newerInListing(
  versions: readonly ListedVersion[],
  deleteMarkers: readonly ListedVersion[],
  candidate: string,
  applied: string,
): boolean {
  for (const list of [versions, deleteMarkers]) {
    const c = list.findIndex((entry) => entry.versionId === candidate);
    const a = list.findIndex((entry) => entry.versionId === applied);
    if (c >= 0 && a >= 0) return c < a;
  }
  const find = (id: string) => [...versions, ...deleteMarkers].find((entry) => entry.versionId === id);
  const c = find(candidate);
  const a = find(applied);
  if (!c) return false;
  if (!a) return c.isLatest === true;
  const difference = c.lastModified.getTime() - a.lastModified.getTime();
  return difference > 0 || (difference === 0 && deleteMarkers.includes(c));
}
