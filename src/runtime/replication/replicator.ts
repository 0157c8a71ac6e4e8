import { S3Client } from '@aws-sdk/client-s3';
import { DestinationClients } from '../destination/destination-client';
import { KeyClaims } from './key-state/key-claims';
import { VersionTable } from './key-state/version-table';
import { skipForSourceRead, withDecodedKeyFallback } from './outcomes/source-outcomes';
import { decide, KeyHead, Outcome, ReplicationState } from './replication-decision';
import { deleteMarkerNeeded } from '../contract/replica-marker';
import { backfillPlaceOf, DELETE_MARKER_CREATED, InvalidMessageError, ObjectCreatedMessage, ReplicationMessage } from '../contract/replication-message';
import { keyVersionPages, latestEntry } from '../engine/key-listing';
import { ListedVersion, newerInListing } from './key-state/version-order';
import { abandonUpload, CopyLimits } from '../engine/multipart/multipart-copy';
import { UploadCheckpoints } from '../engine/multipart/upload-checkpoints';
import { copyVersion, createDeleteMarker, deleteVersion, syncTags } from '../engine/object-copy';
import { explainRefusedReplicaDelete } from '../engine/object-lock';
import { confirmSourceVersionGone, SourceKeyEncodedError } from '../engine/source-reads';

/** What one delivery of a message may spend. */
export interface DeliveryLimits extends Omit<CopyLimits, 'memoryBudget'> {}

export interface ReplicatorDependencies {
  readonly sourceBucket: string;
  readonly destinationBucket: string;
  readonly source: S3Client;
  readonly destination: DestinationClients;
  readonly table: VersionTable;
  readonly checkpoints: UploadCheckpoints;
  /** Bytes of part buffers a large copy may hold. */
  readonly memoryBudget: number;
  /** Queues a message behind the key's other messages (a copy's continuation, say). */
  readonly enqueue: (message: ReplicationMessage) => Promise<void>;
  readonly options: Parameters<typeof decide>[2] & {
    readonly kmsKeyArn?: string;
    readonly storageClass?: string;
    readonly bucketKeyEnabled?: boolean;
    readonly partition?: string;
    readonly onStorageClassReplaced?: (sourceClass: string, replicaClass: string) => void;
    readonly replicateObjectLock?: boolean;
  };
}

/**
 * Replicates one message: reads the key's state, decides (pure), performs the decision against the
 * destination and records it. Throws to have the message retried (and, after the queue's
 * maxReceiveCount, dead-lettered).
 */
export function createReplicator(deps: ReplicatorDependencies): (message: ReplicationMessage, limits: DeliveryLimits) => Promise<Outcome> {
  const { source, destination, table, checkpoints, options, sourceBucket, destinationBucket } = deps;
  const destinationOptions = {
    bucket: destinationBucket,
    kmsKeyArn: options.kmsKeyArn,
    storageClass: options.storageClass,
    replicateTags: options.replicateTags,
    bucketKeyEnabled: options.bucketKeyEnabled,
    partition: options.partition,
    onStorageClassReplaced: options.onStorageClassReplaced,
    replicateObjectLock: options.replicateObjectLock,
    scope: options.scope,
  };

  /** Aborts the version's recorded multipart upload, if any. */
  const abandonUploadOf = (message: ReplicationMessage) =>
    destination.run((s3) => abandonUpload(checkpoints, s3, destinationBucket, message));
  const claims = new KeyClaims({ source, sourceBucket, destination, destinationBucket, table, checkpoints, replicateTags: options.replicateTags });

  /**
   * The key's newest replicated version was deleted for good at the source (and its replica at the
   * destination): what the source now has current must be the destination's current too, even
   * where it was skipped as older when its own event came. Already replicated: the map's head goes
   * back to it. Not replicated: a message for it is queued behind this one, which supersedes the
   * deleted version (so it is written although older). Nothing left at the source: nothing to do.
   */
  const stepBack = async (message: ReplicationMessage, deletedHead: KeyHead) => {
    const { key } = message;
    const current = await latestEntry(source, sourceBucket, key);
    if (!current) return;
    const recorded = (await table.load(key, current.versionId)).version;
    if (recorded?.state === 'replicated') {
      await table.commitReplica(key, { ...recorded, sequencer: deletedHead.sequencer }, deletedHead, { backfill: deletedHead.backfill });
      return;
    }
    const base = {
      v: 1 as const,
      bucket: sourceBucket,
      key,
      versionId: current.versionId,
      time: new Date().toISOString(),
      requestId: message.requestId,
      lastModified: (current.lastModified ?? new Date(0)).toISOString(),
      supersedes: deletedHead.sourceVersionId,
    };
    await deps.enqueue(current.isDeleteMarker
      ? { ...base, kind: 'ObjectDeleted', reason: 'DeleteObject', deletionType: DELETE_MARKER_CREATED }
      : { ...base, kind: 'ObjectCreated', reason: 'SupersedesDeletedVersion', size: current.size, eTag: current.eTag?.replace(/"/g, '') });
  };

  /**
   * Whether the key's current entry at the destination is already a delete marker this replication
   * did not write: then the source's marker is recorded (as the key's newest, with no destination
   * version of its own) but not written, so markers do not go back and forth between the buckets of
   * a two-way set-up.
   */
  const alreadyDeletedAtDestination = async (key: string, head: KeyHead | undefined, claim: Parameters<KeyClaims['release']>[1]): Promise<boolean> => {
    try {
      return !deleteMarkerNeeded(await destination.run((s3) => latestEntry(s3, destinationBucket, key)), head?.destinationVersionId);
    } catch (error) {
      await claims.release(key, claim).catch(() => undefined);
      throw error;
    }
  };

  return withDecodedKeyFallback(async (message, limits) => {
    if (message.bucket !== sourceBucket) {
      throw new InvalidMessageError(`message is for bucket "${message.bucket}", this replicator serves "${sourceBucket}"`);
    }
    const { key, versionId } = message;
    const sourceVersion = { client: source, bucket: sourceBucket, key, versionId };
    let state = await table.load(key, versionId);
    if (state.claim) state = await claims.settle(key, versionId, state, limits);
    let decision = decide(message, state, options);
    if (decision.action === 'resolve-order') {
      // A backfill's version meets a live one (or the other way round): the source's listing says which is newer.
      state = { ...state, newerByListing: await isNewerAtSource(source, sourceBucket, key, versionId, state.head!.sourceVersionId) };
      decision = decide(message, state, options);
    }
    const sequencer = message.kind === 'ObjectTagsChanged' ? undefined : message.sequencer;

    switch (decision.action) {
      case 'skip':
        // A continued copy that is no longer wanted (a newer version was replicated meanwhile, say).
        if (message.kind === 'ObjectCreated' && message.continuation !== undefined) await abandonUploadOf(message);
        return decision;

      case 'resolve-order':
        throw new Error(`the order of version ${versionId} of "${key}" could not be resolved`);

      case 'copy':
      case 'repair-replica': {
        // A repair keeps the place in the key's history the version was first applied with.
        const repair = decision.action === 'repair-replica' && message.kind === 'ObjectCreated' ? message.staleReplica : undefined;
        const order = placeInHistory(message, state, repair !== undefined);
        const claim = await claims.take(key, state, { sourceVersionId: versionId, kind: 'object', size: message.kind === 'ObjectCreated' ? message.size : undefined, ...order, replacing: repair }, limits);
        return claims.writeUnder(key, claim, async (): Promise<Outcome> => {
          let copied;
          try {
            const engine = { checkpoints, limits: { ...limits, memoryBudget: deps.memoryBudget }, replacing: repair };
            copied = await destination.run((s3) => copyVersion(sourceVersion, s3, destinationOptions, engine));
          } catch (error) {
            // The engine aborts its own upload on failures inside the copy; these happen before it
            // (the version vanished before a continuation, or reading it failed on the last delivery).
            const skipped = skipForSourceRead(error);
            if (skipped) {
              await abandonUploadOf(message);
              await claims.release(key, claim);
              return skipped;
            }
            // Nothing was written under the key as delivered: it is replicated under its decoded form.
            if (error instanceof SourceKeyEncodedError) await claims.release(key, claim);
            if (limits.finalAttempt) {
              // Best effort: the message goes to the dead-letter queue with the original error either
              // way, and the destination's lifecycle rule is the backstop for an upload left behind.
              await abandonUploadOf(message).catch(() => undefined);
            }
            throw error;
          }
          if (copied.status === 'filtered') {
            // Nothing written: an upload an earlier delivery began (before the tags changed) goes too.
            await abandonUploadOf(message);
            await claims.release(key, claim);
            return { action: 'skip', reason: 'tag-filter' };
          }
          if (copied.status === 'suspended') {
            const created = message as ObjectCreatedMessage;
            await deps.enqueue({ ...created, continuation: (created.continuation ?? 0) + 1 });
            // Nothing is completed yet: the continuation claims the key again.
            await claims.release(key, claim);
            return { action: 'copy-continued', partsDone: copied.partsDone, partCount: copied.partCount };
          }
          const written = copied.written;
          if (options.replicateTags && (copied.resumedParts > 0 || (message as ObjectCreatedMessage).continuation !== undefined)) {
            // Tags went with the upload when it started; a tag change queued before this continuation
            // was skipped as not yet replicated, so the replica takes the version's tags as they are now.
            await destination.run((s3) => syncTags(sourceVersion, s3, destinationBucket, written.destinationVersionId));
          }
          const record = { sourceVersionId: versionId, kind: 'object' as const, state: 'replicated' as const, sequencer: order.sequencer, ...written };
          await table.commitReplica(key, record, state.head, { backfill: order.backfill, replacesReplica: repair, claimToken: claim.token });
          if (copied.uploadRecorded) await checkpoints.clear(key, versionId);
          return { action: decision.action, bytes: written.size, destinationVersionId: written.destinationVersionId, verifiedBy: copied.verifiedBy };
        });
      }

      case 'create-delete-marker': {
        const order = placeInHistory(message, state, false);
        const claim = await claims.take(key, state, { sourceVersionId: versionId, kind: 'deleteMarker', ...order }, limits);
        const alreadyDeleted = await alreadyDeletedAtDestination(key, state.head, claim);
        if (alreadyDeleted) {
          // Nothing is written, so a failure here gives the claim up as such: a marker already at the
          // destination must not be taken for one this delivery wrote.
          try {
            const record = { sourceVersionId: versionId, kind: 'deleteMarker' as const, state: 'replicated' as const, sequencer: order.sequencer };
            await table.commitReplica(key, record, state.head, { backfill: order.backfill, claimToken: claim.token });
          } catch (error) {
            await claims.release(key, claim).catch(() => undefined);
            throw error;
          }
          return { action: 'skip' as const, reason: 'destination-already-deleted' as const };
        }
        return claims.writeUnder(key, claim, async () => {
          const written = await destination.run((s3) => createDeleteMarker(s3, destinationBucket, key));
          const record = { sourceVersionId: versionId, kind: 'deleteMarker' as const, state: 'replicated' as const, sequencer: order.sequencer, ...written };
          await table.commitReplica(key, record, state.head, { backfill: order.backfill, claimToken: claim.token });
          return { action: decision.action, destinationVersionId: written.destinationVersionId };
        });
      }

      case 'delete-destination-version': {
        await confirmSourceVersionGone(sourceVersion);
        const replica = decision.destinationVersionId;
        if (replica !== undefined) {
          await destination.run((s3) => deleteVersion(s3, destinationBucket, key, replica)).catch((error: unknown) => {
            // Refused: an Object Lock (a clear, permanent error when the map recorded one that still holds).
            throw explainRefusedReplicaDelete(error, destinationBucket, key, replica, state.version?.lock);
          });
        }
        // Before the version is marked deleted: a redelivery after a crash steps back again.
        if (state.head?.sourceVersionId === versionId) await stepBack(message, state.head);
        await table.markSourceDeleted(key, { ...state.version!, sequencer });
        return { action: decision.action, destinationVersionId: decision.destinationVersionId };
      }

      case 'remember-source-deleted':
        await confirmSourceVersionGone(sourceVersion);
        await table.rememberSourceDeleted(key, versionId, sequencer);
        return { action: decision.action };

      case 'forget-version':
        await table.forgetVersion(key, versionId);
        return { action: decision.action };

      case 'sync-tags':
        try {
          await destination.run((s3) => syncTags(sourceVersion, s3, destinationBucket, decision.destinationVersionId));
        } catch (error) {
          const skipped = skipForSourceRead(error);
          if (skipped) return skipped;
          throw error;
        }
        return { action: decision.action, destinationVersionId: decision.destinationVersionId };
    }
  });
}

/**
 * Where a written version goes in its key's history: a repair, or a version that supersedes the
 * deleted newest one, takes the newest version's place; any other, its own (sequencer or backfill).
 */
function placeInHistory(message: ReplicationMessage, state: ReplicationState, repair: boolean): { sequencer?: string; backfill?: KeyHead['backfill'] } {
  const supersedes = message.kind !== 'ObjectTagsChanged' && message.supersedes !== undefined;
  if (repair || supersedes) return { sequencer: state.head?.sequencer, backfill: state.head?.backfill };
  return {
    sequencer: message.kind === 'ObjectTagsChanged' ? undefined : message.sequencer,
    backfill: backfillPlaceOf(message),
  };
}

/** Whether `candidate` is newer than `applied` among the source key's listed versions and delete markers. */
async function isNewerAtSource(source: S3Client, bucket: string, key: string, candidate: string, applied: string): Promise<boolean> {
  const versions: ListedVersion[] = [];
  const deleteMarkers: ListedVersion[] = [];
  type Entry = { VersionId?: string; LastModified?: Date; IsLatest?: boolean };
  const listed = (entry: Entry) => ({ versionId: entry.VersionId ?? '', lastModified: entry.LastModified ?? new Date(0), isLatest: entry.IsLatest });
  const found = (id: string) => [...versions, ...deleteMarkers].some((entry) => entry.versionId === id);
  for await (const page of keyVersionPages(source, bucket, key)) {
    versions.push(...page.versions.map(listed));
    deleteMarkers.push(...page.deleteMarkers.map(listed));
    if (found(candidate) && found(applied)) break;
  }
  return newerInListing(versions, deleteMarkers, candidate, applied);
}
