import { randomUUID } from 'crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { claimStatus, KeyClaim, KeyClaimedError, leaseEnd, ReplicaIntent, unrecordedReplica } from './replica-claim';
import { VersionTable } from './version-table';
import { DestinationClients } from '../../destination/destination-client';
import { latestEntry, uploadsOf } from '../../engine/key-listing';
import { abortUpload, CopyLimits } from '../../engine/multipart/multipart-copy';
import { UploadCheckpoints } from '../../engine/multipart/upload-checkpoints';
import { syncTags } from '../../engine/object-copy';
import { skipForSourceRead } from '../outcomes/source-outcomes';
import { ReplicationState } from '../replication-decision';

export interface KeyClaimsDependencies {
  readonly source: S3Client;
  readonly sourceBucket: string;
  readonly destination: DestinationClients;
  readonly destinationBucket: string;
  readonly table: VersionTable;
  readonly checkpoints: UploadCheckpoints;
  readonly replicateTags: boolean;
}

/** The clock and the invocation's end, by which a claim's lease is set. */
type ClaimLimits = Pick<CopyLimits, 'now' | 'deadline'>;

/**
 * The replicator's side of the key claims (the rules are in `replica-claim.ts`): taking one before
 * a destination write, giving it up when the write may have happened, and settling one a failed or
 * dead delivery left behind, so that no replica is ever written twice.
 */
export class KeyClaims {
  constructor(private readonly deps: KeyClaimsDependencies) {}

  /**
   * Takes the key's claim for writing the intent's replica. A takeover keeps the stale claim's time,
   * so a replica its holder wrote is still recognised if the takeover fails too.
   */
  async take(key: string, state: ReplicationState, intent: ReplicaIntent, limits: ClaimLimits, claimedAt = Date.now()): Promise<KeyClaim> {
    const claim = { token: randomUUID(), expiresAt: leaseEnd(limits.now(), limits.deadline), claimedAt, intent };
    await this.deps.table.claim(key, claim, state);
    return claim;
  }

  /** Ends a claim under which nothing was written (a skip, a suspended copy). */
  async release(key: string, claim: KeyClaim): Promise<void> {
    await this.deps.table.releaseClaim(key, claim.token, { mayHaveWritten: false });
  }

  /**
   * Runs the writes made under a claim. On a failure the write may have happened (a lost response,
   * a failed commit), so the claim is given up as such: the next delivery looks before writing.
   */
  async writeUnder<T>(key: string, claim: KeyClaim, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      await this.deps.table.releaseClaim(key, claim.token, { mayHaveWritten: true }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A claim found on the key: wait while its holder may still be writing; once it is stale, take it
   * over, record the replica its holder wrote and never recorded (if the destination has one), abort
   * the uploads nobody recorded, and read the key's state again.
   */
  async settle(key: string, versionId: string, state: ReplicationState, limits: ClaimLimits): Promise<ReplicationState> {
    const { table, destination, destinationBucket } = this.deps;
    const stale = state.claim!;
    if (claimStatus(stale, limits.now()) === 'held') throw new KeyClaimedError(key, stale);
    const takeover = await this.take(key, state, stale.intent, limits, stale.claimedAt);
    await this.writeUnder(key, takeover, async () => {
      const latest = await destination.run((s3) => latestEntry(s3, destinationBucket, key));
      const replica = unrecordedReplica(stale, state.head?.destinationVersionId, latest);
      if (stale.intent.kind === 'object') await this.abortUnrecordedUploads(key, [stale.intent.sourceVersionId, versionId]);
      if (!replica) return this.release(key, takeover);
      const { intent } = stale;
      const record = {
        sourceVersionId: intent.sourceVersionId,
        kind: intent.kind,
        state: 'replicated' as const,
        sequencer: intent.sequencer,
        destinationVersionId: replica.versionId,
        eTag: replica.eTag,
        size: replica.size,
      };
      const commit = { backfill: intent.backfill, replacesReplica: intent.replacing, claimToken: takeover.token };
      await table.commitReplica(key, record, state.head, commit);
      if (intent.kind === 'object') await this.completeAdopted(key, intent.sourceVersionId, replica.versionId);
    });
    return table.load(key, versionId);
  }

  /** A replica recorded from a stale claim: its upload's record goes, and its tags are brought up to date. */
  private async completeAdopted(key: string, sourceVersionId: string, destinationVersionId: string): Promise<void> {
    const { source, sourceBucket, destination, destinationBucket, checkpoints, replicateTags } = this.deps;
    // A completed upload's record, if the lost write was a CompleteMultipartUpload.
    await checkpoints.clear(key, sourceVersionId);
    // Tags changed while the replica was unrecorded were skipped as not replicated yet.
    if (!replicateTags) return;
    const version = { client: source, bucket: sourceBucket, key, versionId: sourceVersionId };
    await destination.run((s3) => syncTags(version, s3, destinationBucket, destinationVersionId)).catch((error) => {
      if (!skipForSourceRead(error)) throw error;
    });
  }

  /**
   * Aborts the key's uploads that are not recorded for the stale claim's version or the message's
   * (those are resumed): one whose CreateMultipartUpload response was lost can never be found again.
   * Another version's suspended upload is aborted too: its continuation starts that copy afresh.
   */
  private async abortUnrecordedUploads(key: string, versionIds: readonly string[]): Promise<void> {
    const { checkpoints, destination, destinationBucket } = this.deps;
    const recorded = await Promise.all([...new Set(versionIds)].map((id) => checkpoints.load(key, id)));
    const kept = new Set(recorded.map((checkpoint) => checkpoint?.uploadId));
    await destination.run(async (s3) => {
      for (const uploadId of await uploadsOf(s3, destinationBucket, key)) {
        if (!kept.has(uploadId)) await abortUpload(s3, destinationBucket, key, uploadId);
      }
    });
  }
}
