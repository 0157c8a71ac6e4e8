/**
 * The replica marker: user metadata the replicator writes on every replica it creates, in the same
 * PutObject or CreateMultipartUpload, so that a replication whose source is that bucket (the other
 * direction of a two-way set-up, or a chain) recognises the version as a replica and does not
 * replicate it again, as S3 Replication does not replicate replicas. S3 returns user metadata keys
 * in lower case without the `x-amz-meta-` prefix, so the key is compared in lower case.
 *
 * The marker stays visible to readers of the replica as `x-amz-meta-partition-replica-source:
 * <source bucket>/<source version id>`.
 */
export const REPLICA_MARKER_KEY = 'partition-replica-source';

/** The marker's value: where the replica came from. Bucket names and version ids are ASCII, as metadata must be. */
export function replicaMarkerValue(sourceBucket: string, sourceVersionId: string): string {
  return `${sourceBucket}/${sourceVersionId}`;
}

/** Whether a version's user metadata (as GetObject or HeadObject return it) marks it as a replica. */
export function isReplica(metadata: Record<string, string> | undefined): boolean {
  return Object.keys(metadata ?? {}).some((key) => key.toLowerCase() === REPLICA_MARKER_KEY);
}

/**
 * The user metadata a replica is written with: the source version's, with this replication's
 * marker in place of any marker the source version carried (whatever it says, the replica's
 * marker names the version it was copied from).
 */
export function withReplicaMarker(
  metadata: Record<string, string> | undefined, sourceBucket: string, sourceVersionId: string,
): Record<string, string> {
  const kept = Object.entries(metadata ?? {}).filter(([key]) => key.toLowerCase() !== REPLICA_MARKER_KEY);
  return { ...Object.fromEntries(kept), [REPLICA_MARKER_KEY]: replicaMarkerValue(sourceBucket, sourceVersionId) };
}

/**
 * Whether a delete marker still has to be written at the destination, given the destination's
 * current entry for the key and the destination version this replication recorded as the key's
 * newest replica: not when the current entry is a delete marker this replication did not write.
 * Delete markers carry no metadata, so this is what stops them going back and forth in a two-way
 * set-up (the other direction's replicator finds the key already deleted, by a marker it did not
 * write). A current marker that is this replication's own newest replica is covered by a new one, as
 * before, so that removing an older marker at the source later never uncovers an object at the
 * destination.
 */
export function deleteMarkerNeeded(
  destinationCurrent: { readonly versionId: string; readonly isDeleteMarker: boolean } | undefined,
  ownNewestReplica: string | undefined,
): boolean {
  return !destinationCurrent?.isDeleteMarker || destinationCurrent.versionId === ownNewestReplica;
}
