import { deleteMarkerNeeded, isReplica, REPLICA_MARKER_KEY, withReplicaMarker } from '../../../../src/runtime/contract/replica-marker';
import { SourceVersionIsReplicaError } from '../../../../src/runtime/engine/source-reads';
import { metricsForOutcome } from '../../../../src/runtime/replication/outcomes/outcome-metrics';
import { skipForSourceRead } from '../../../../src/runtime/replication/outcomes/source-outcomes';

describe('replica marker', () => {
  test('is the user metadata key S3 returns for x-amz-meta-partition-replica-source', () => {
    expect(REPLICA_MARKER_KEY).toBe('partition-replica-source');
  });

  test('a replica is recognised by the key in any case, whatever its value', () => {
    expect(isReplica({ 'partition-replica-source': 'bucket-a/v1' })).toBe(true);
    expect(isReplica({ 'Partition-Replica-Source': '' })).toBe(true);
    expect(isReplica({ other: 'x' })).toBe(false);
    expect(isReplica({})).toBe(false);
    expect(isReplica(undefined)).toBe(false);
  });

  test('a replica keeps the source\'s metadata and names its source bucket and version', () => {
    expect(withReplicaMarker({ owner: 'team-a' }, 'bucket-a', 'v1')).toStrictEqual({ 'owner': 'team-a', 'partition-replica-source': 'bucket-a/v1' });
    expect(withReplicaMarker(undefined, 'bucket-a', 'v1')).toStrictEqual({ 'partition-replica-source': 'bucket-a/v1' });
  });

  test('a marker the source version carried is replaced, never copied', () => {
    const written = withReplicaMarker({ 'Partition-Replica-Source': 'elsewhere/v0', 'owner': 'team-a' }, 'bucket-a', 'v1');
    expect(written).toStrictEqual({ 'owner': 'team-a', 'partition-replica-source': 'bucket-a/v1' });
  });

  test('a delete marker is written unless the destination\'s current entry is a delete marker this replication did not write', () => {
    expect(deleteMarkerNeeded(undefined, undefined)).toBe(true);
    expect(deleteMarkerNeeded({ versionId: 'd1', isDeleteMarker: false }, undefined)).toBe(true);
    // The other direction's marker (or one written at the destination by hand): already deleted.
    expect(deleteMarkerNeeded({ versionId: 'd1', isDeleteMarker: true }, undefined)).toBe(false);
    expect(deleteMarkerNeeded({ versionId: 'd1', isDeleteMarker: true }, 'r1')).toBe(false);
    // Its own newest replica is a marker: a second source marker covers it with a second one.
    expect(deleteMarkerNeeded({ versionId: 'd1', isDeleteMarker: true }, 'd1')).toBe(true);
  });

  test('a replica read from the source is a skip with reason replica, counted as ReplicasSkipped', () => {
    const skipped = skipForSourceRead(new SourceVersionIsReplicaError('k', 'v1', 'bucket-b/v9'));
    expect(skipped).toStrictEqual({ action: 'skip', reason: 'replica' });
    expect(metricsForOutcome(skipped!).map((point) => point.name)).toStrictEqual(['EventsSkipped', 'ReplicasSkipped']);
  });

  test('a marker recorded because the key is already deleted at the destination counts as DeleteMarkersAlreadyAtDestination', () => {
    expect(metricsForOutcome({ action: 'skip', reason: 'destination-already-deleted' }).map((point) => point.name))
      .toStrictEqual(['EventsSkipped', 'DeleteMarkersAlreadyAtDestination']);
  });
});
