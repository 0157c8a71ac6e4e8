import { S3Client } from '@aws-sdk/client-s3';
import { DestinationClients } from './destination-client';
import { copyVersion, createDeleteMarker, deleteVersion, SourceVersionGoneError, syncTags } from './object-copy';
import { decide, Decision, SkipReason } from './replication-decision';
import { InvalidMessageError, ReplicationMessage } from './replication-message';
import { VersionTable } from './version-table';

/** What replicating one message did. */
export type Outcome =
  | { readonly action: Exclude<Decision['action'], 'skip'>; readonly bytes?: number; readonly destinationVersionId?: string }
  | { readonly action: 'skip'; readonly reason: SkipReason | 'source-version-gone' };

export interface ReplicatorDependencies {
  readonly sourceBucket: string;
  readonly destinationBucket: string;
  readonly source: S3Client;
  readonly destination: DestinationClients;
  readonly table: VersionTable;
  readonly options: Parameters<typeof decide>[2] & {
    readonly kmsKeyArn?: string;
    readonly storageClass?: string;
  };
}

/**
 * Replicates one message: reads the key's state, decides (pure), performs the decision against the
 * destination and records it. Throws to have the message retried (and, after the queue's
 * maxReceiveCount, dead-lettered).
 */
export function createReplicator(deps: ReplicatorDependencies): (message: ReplicationMessage) => Promise<Outcome> {
  const { source, destination, table, options, sourceBucket, destinationBucket } = deps;
  const destinationOptions = {
    bucket: destinationBucket,
    kmsKeyArn: options.kmsKeyArn,
    storageClass: options.storageClass,
    replicateTags: options.replicateTags,
  };

  return async (message) => {
    if (message.bucket !== sourceBucket) {
      throw new InvalidMessageError(`message is for bucket "${message.bucket}", this replicator serves "${sourceBucket}"`);
    }
    const { key, versionId } = message;
    const state = await table.load(key, versionId);
    const decision = decide(message, state, options);
    const sequencer = message.kind === 'ObjectTagsChanged' ? undefined : message.sequencer;

    switch (decision.action) {
      case 'skip':
        return decision;

      case 'copy': {
        let written;
        try {
          written = await destination.run((s3) => copyVersion(source, sourceBucket, key, versionId, s3, destinationOptions));
        } catch (error) {
          if (error instanceof SourceVersionGoneError) return { action: 'skip', reason: 'source-version-gone' };
          throw error;
        }
        await table.commitReplica(key, { sourceVersionId: versionId, kind: 'object', state: 'replicated', sequencer: sequencer!, ...written }, state.head);
        return { action: 'copy', bytes: written.size, destinationVersionId: written.destinationVersionId };
      }

      case 'create-delete-marker': {
        const written = await destination.run((s3) => createDeleteMarker(s3, destinationBucket, key));
        await table.commitReplica(key, { sourceVersionId: versionId, kind: 'deleteMarker', state: 'replicated', sequencer: sequencer!, ...written }, state.head);
        return { action: decision.action, destinationVersionId: written.destinationVersionId };
      }

      case 'delete-destination-version':
        await destination.run((s3) => deleteVersion(s3, destinationBucket, key, decision.destinationVersionId));
        await table.markSourceDeleted(key, { ...state.version!, sequencer });
        return { action: decision.action, destinationVersionId: decision.destinationVersionId };

      case 'remember-source-deleted':
        await table.rememberSourceDeleted(key, versionId, sequencer!);
        return { action: decision.action };

      case 'forget-version':
        await table.forgetVersion(key, versionId);
        return { action: decision.action };

      case 'sync-tags':
        try {
          await destination.run((s3) => syncTags(source, sourceBucket, key, versionId, s3, destinationBucket, decision.destinationVersionId));
        } catch (error) {
          if (error instanceof SourceVersionGoneError) return { action: 'skip', reason: 'source-version-gone' };
          throw error;
        }
        return { action: decision.action, destinationVersionId: decision.destinationVersionId };
    }
  };
}
