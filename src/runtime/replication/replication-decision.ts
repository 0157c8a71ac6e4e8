import type { KeyClaim } from './key-state/replica-claim';
import { backfillPlaceOf, LIFECYCLE_EXPIRATION, ObjectCreatedMessage, PERMANENTLY_DELETED, ReplicationMessage } from '../contract/replication-message';
import { compareVersions, Ordering } from './key-state/version-order';
import { inScope, ReplicationScope } from '../contract/replication-scope';
import type { ReplicaLock } from '../engine/object-lock';

/** What the table knows of one source object key. */
/** The newest version applied for a key, with its replica (the head item carries the whole record). */
export interface KeyHead extends VersionRecord {
  /** The sequencer of the newest version applied for this key; absent when a backfill applied it. */
  readonly sequencer?: string;
  /** When a backfill applied it: the run and the version's position in the run's listing. */
  readonly backfill?: { readonly run: string; readonly index: number };
}

/** What the table knows of one source version. */
export interface VersionRecord {
  readonly sourceVersionId: string;
  readonly kind: 'object' | 'deleteMarker';
  /** `replicated`: the destination has it; `deleted`: the source version is gone, never replicate it. */
  readonly state: 'replicated' | 'deleted';
  readonly destinationVersionId?: string;
  /** When it was recorded (ISO 8601): for a replica, when it was made, also after the head moved on. */
  readonly recordedAt?: string;
  /** The Object Lock the replica was written with (`replicateObjectLock`), if any. */
  readonly lock?: ReplicaLock;
}

export interface ReplicationState {
  readonly head?: KeyHead;
  /** The record of the message's own source version, if any. */
  readonly version?: VersionRecord;
  /**
   * Whether the message's version is newer than the head's, by the source's version listing: set
   * by the replicator after a `resolve-order` decision, when no sequencers could tell.
   */
  readonly newerByListing?: boolean;
  /** The key's claim, when a delivery holds or held it (see `replica-claim.ts`). */
  readonly claim?: KeyClaim;
}

export interface ReplicationOptions {
  readonly scope: ReplicationScope;
  readonly replicateDeleteMarkers: boolean;
  readonly replicateVersionDeletes: boolean;
  readonly replicateTags: boolean;
}

export type SkipReason =
  | 'outside-prefixes'
  | 'duplicate'
  | 'older-than-replica'
  | 'source-version-deleted'
  | 'delete-markers-disabled'
  | 'version-deletes-disabled'
  | 'tags-disabled'
  | 'lifecycle-expiration'
  | 'not-replicated-yet'
  /** The source version is in GLACIER, DEEP_ARCHIVE or an Intelligent-Tiering archive tier (as S3 Replication, not copied). */
  | 'archived'
  /** The version's tags, read at copy time, do not include every pair of the scope's tag filter. */
  | 'tag-filter'
  /** The source version is encrypted with a customer-provided key (SSE-C), which the replicator never holds: not copied. */
  | 'sse-c'
  /** The source version is a replica another replication wrote (it carries the replica marker): not replicated again. */
  | 'replica'
  /** A delete marker whose key is already deleted at the destination (its current entry is a delete marker): recorded, not written. */
  | 'destination-already-deleted';

export type Decision =
  | { readonly action: 'copy' }
  | { readonly action: 'repair-replica' }
  | { readonly action: 'create-delete-marker' }
  /** Without a destination version id: the store made no marker, so only the map changes. */
  | { readonly action: 'delete-destination-version'; readonly destinationVersionId?: string }
  | { readonly action: 'remember-source-deleted' }
  | { readonly action: 'forget-version' }
  | { readonly action: 'sync-tags'; readonly destinationVersionId: string }
  | { readonly action: 'resolve-order' }
  | { readonly action: 'skip'; readonly reason: SkipReason };

/** What replicating one message did. */
export type Outcome =
  | {
    readonly action: Exclude<Decision['action'], 'skip' | 'resolve-order'>;
    readonly bytes?: number;
    readonly destinationVersionId?: string;
    /** For a copy: what the bytes were checked against (logged with the outcome). */
    readonly verifiedBy?: string;
  }
  | { readonly action: 'skip'; readonly reason: SkipReason | 'source-version-gone' }
  /** A large copy ran out of invocation time: its parts are recorded and a continuation is queued. */
  | { readonly action: 'copy-continued'; readonly partsDone: number; readonly partCount: number };

const skip = (reason: SkipReason): Decision => ({ action: 'skip', reason });


/**
 * What to do with one event, given what the table knows. Pure: every rule of ordering,
 * deduplication and option handling lives here and is tested without servers.
 *
 * Invariants: a version is replicated at most once; nothing older than the newest replica of a key
 * (by sequencer) is written after it; a source version known to be gone is never replicated.
 */
export function decide(message: ReplicationMessage, state: ReplicationState, options: ReplicationOptions): Decision {
  if (!inScope(options.scope, message.key)) return skip('outside-prefixes');
  const { head, version } = state;
  // 'unknown' (a backfill's version against a head, or the other way round) is settled by the
  // source's listing; the decision asks for it once.
  const ordering = (): Ordering | 'resolve' => {
    if (message.kind === 'ObjectTagsChanged') return 'newer';
    const result = compareVersions({ versionId: message.versionId, sequencer: message.sequencer, backfill: backfillPlaceOf(message) },
      head && { versionId: head.sourceVersionId, sequencer: head.sequencer, backfill: head.backfill });
    if (result !== 'unknown') return result;
    if (state.newerByListing === undefined) return 'resolve';
    return state.newerByListing ? 'newer' : 'older';
  };

  switch (message.kind) {
    case 'ObjectCreated': {
      if (version?.state === 'deleted') return skip('source-version-deleted');
      if (version) return decideRepair(message, state, ordering);
      if (message.supersedes !== undefined) return supersedes(message.supersedes, head) ? { action: 'copy' } : skip('older-than-replica');
      const order = ordering();
      if (order === 'resolve') return { action: 'resolve-order' };
      if (order !== 'newer') return skip('older-than-replica');
      return { action: 'copy' };
    }

    case 'ObjectTagsChanged':
      if (!options.replicateTags) return skip('tags-disabled');
      if (version?.state === 'replicated' && version.kind === 'object' && version.destinationVersionId) {
        return { action: 'sync-tags', destinationVersionId: version.destinationVersionId };
      }
      // The copy reads the version's tags when it happens, so nothing is lost by skipping here.
      return skip('not-replicated-yet');

    case 'ObjectDeleted':
      if (message.deletionType === PERMANENTLY_DELETED) return decidePermanentDelete(message.reason, version, options);
      // A delete marker was created.
      if (message.reason === LIFECYCLE_EXPIRATION) return skip('lifecycle-expiration');
      if (!options.replicateDeleteMarkers) return skip('delete-markers-disabled');
      if (version) return skip(version.state === 'deleted' ? 'source-version-deleted' : 'duplicate');
      if (message.supersedes !== undefined) return supersedes(message.supersedes, head) ? { action: 'create-delete-marker' } : skip('older-than-replica');
      const order = ordering();
      if (order === 'resolve') return { action: 'resolve-order' };
      if (order !== 'newer') return skip('older-than-replica');
      return { action: 'create-delete-marker' };
  }
}

/** Whether a message that supersedes a deleted newest version still may: nothing newer came since. */
function supersedes(deletedVersionId: string, head: KeyHead | undefined): boolean {
  return head?.sourceVersionId === deletedVersionId;
}

/**
 * A version already replicated: a duplicate, unless a reconcile found its replica missing or
 * changed. Then it is copied again only while that replica is still the one recorded (a repeated
 * repair message finds the new one) and the version is still the key's newest (a newer version
 * replicated since must not be covered by an older one). A head that is another version is not
 * final: when the source's listing says this version is newer (the head was applied out of order,
 * as backfills before the `IsLatest` rule did within one second), the repair makes it the head.
 */
function decideRepair(message: ObjectCreatedMessage, { head, version }: ReplicationState, order: () => Ordering | 'resolve'): Decision {
  if (message.staleReplica === undefined || version?.destinationVersionId !== message.staleReplica) return skip('duplicate');
  if (head?.sourceVersionId === message.versionId) return { action: 'repair-replica' };
  if (!head) return skip('older-than-replica');
  const ordering = order();
  if (ordering === 'resolve') return { action: 'resolve-order' };
  return ordering === 'newer' ? { action: 'repair-replica' } : skip('older-than-replica');
}

function decidePermanentDelete(reason: string, version: VersionRecord | undefined, options: ReplicationOptions): Decision {
  // Not seen yet: remember that the version is gone so a late copy event for it is never applied.
  if (!version) return { action: 'remember-source-deleted' };
  if (version.state === 'deleted') return skip('duplicate');
  // The destination keeps its own lifecycle rules; only our mapping goes.
  if (reason === LIFECYCLE_EXPIRATION) return { action: 'forget-version' };
  // Removing a replicated delete marker ("undelete") destroys no data, but at the destination it is
  // a version delete all the same (IAM's s3:DeleteObjectVersion cannot tell them apart), so it
  // follows the same opt-in as deleting object versions.
  if (!options.replicateVersionDeletes) return skip('version-deletes-disabled');
  // A marker some stores never made has no replica to delete, but the key may still need to go back
  // to an older version, so the delete goes ahead.
  return version.destinationVersionId
    ? { action: 'delete-destination-version', destinationVersionId: version.destinationVersionId }
    : { action: 'delete-destination-version' };
}
