import { compareSequencers } from '../../contract/sequencer';

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
 * Whether listed entry `later` came after `earlier`, when one is a version and the other a delete
 * marker (S3 lists the two kinds separately, so between them only this can tell). The entry S3 marks
 * `IsLatest` is the key's current state: it came after every other. Otherwise the timestamps decide;
 * they have whole seconds only, and in the same second the delete marker is taken as the later one
 * (the usual put, then delete): a guess, which `IsLatest` overrides for the key's current entry.
 */
export function laterAcrossKinds(later: ListedVersion, laterIsDeleteMarker: boolean, earlier: ListedVersion): boolean {
  if ((later.isLatest === true) !== (earlier.isLatest === true)) return later.isLatest === true;
  const difference = later.lastModified.getTime() - earlier.lastModified.getTime();
  return difference > 0 || (difference === 0 && laterIsDeleteMarker);
}

/**
 * A key's versions and delete markers, oldest first, from S3's listing of them (each list newest
 * first). Each list keeps S3's exact order (versions written in the same second stay as listed);
 * between the lists `laterAcrossKinds` decides, so the key's `IsLatest` entry always comes last and
 * whoever applies the entries in this order ends with the source's current state.
 */
export function oldestFirst<T extends ListedVersion>(versions: readonly T[], deleteMarkers: readonly T[]): T[] {
  const objects = [...versions].reverse();
  const markers = [...deleteMarkers].reverse();
  const merged: T[] = [];
  let o = 0;
  let m = 0;
  while (o < objects.length && m < markers.length) {
    merged.push(laterAcrossKinds(markers[m], true, objects[o]) ? objects[o++] : markers[m++]);
  }
  return [...merged, ...objects.slice(o), ...markers.slice(m)];
}

/**
 * Whether `candidate` is newer than `applied` by the source's listing of the key's versions and
 * delete markers (each list newest first, as S3 returns them). S3 orders each list exactly; between
 * the two lists `laterAcrossKinds` decides (the `IsLatest` entry is the newest, else timestamps). A
 * candidate no longer listed is not newer. When the applied version is gone from the source (deleted
 * for good or expired), only the key's current entry is newer: the destination follows the source's
 * current state, and the key is never stuck behind a head nothing can be compared with.
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
  return laterAcrossKinds(c, deleteMarkers.includes(c), a);
}
