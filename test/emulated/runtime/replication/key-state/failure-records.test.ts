import { FailureRecords } from '../../../../../src/runtime/replication/key-state/failure-records';
import { ReplicationFixture } from '../../../emulators/replication-fixture';

// Failure records on moto's DynamoDB, in the version map's table.

describe('FailureRecords', () => {
  let fixture: ReplicationFixture;
  let failures: FailureRecords;
  const now = Date.parse('2026-11-30T12:00:00.000Z');
  beforeAll(async () => {
    fixture = await ReplicationFixture.create();
    failures = new FailureRecords(fixture.dynamodb, fixture.tableName, () => now);
  });

  test('a recorded failure is read back per version, and a cleared one is gone', async () => {
    await failures.record('failed.txt', 'v1', { reason: 'AccessDenied: no', messageId: 'm-1', attempts: 5 });

    expect(await failures.read('failed.txt', 'v1')).toEqual({ reason: 'AccessDenied: no', failedAt: '2026-11-30T12:00:00.000Z', messageId: 'm-1', attempts: 5 });
    expect(await failures.read('failed.txt', 'v2')).toBeUndefined();
    await failures.clear('failed.txt', 'v1');
    expect(await failures.read('failed.txt', 'v1')).toBeUndefined();
  });

  test('a failure record does not disturb the version map of its key', async () => {
    await fixture.versionTable.commitReplica('mixed.txt', { sourceVersionId: 'v1', kind: 'object', state: 'replicated', destinationVersionId: 'd1' }, undefined);
    await failures.record('mixed.txt', 'v2', { reason: 'x', messageId: 'm-2', attempts: 1 });

    const state = await fixture.versionTable.load('mixed.txt', 'v2');
    expect(state.head?.sourceVersionId).toBe('v1');
    expect(state.version).toBeUndefined();
  });
});
