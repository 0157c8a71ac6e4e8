import { ConcurrentReplicationError, VersionTable } from '../../../../../src/runtime/replication/key-state/version-table';
import { ReplicationFixture } from '../../../emulators/replication-fixture';

// The version map on moto's DynamoDB: the conditional writes are the server's, not simulated.

const replica = (sourceVersionId: string, destinationVersionId: string, sequencer: string) =>
  ({ sourceVersionId, kind: 'object' as const, state: 'replicated' as const, destinationVersionId, sequencer });

describe('VersionTable', () => {
  let fixture: ReplicationFixture;
  let table: VersionTable;
  beforeAll(async () => {
    fixture = await ReplicationFixture.create();
    table = fixture.versionTable;
  });

  test('of two invocations that decided on the same state, only the first commit wins', async () => {
    const { head } = await table.load('raced.txt', 'v1');
    await table.commitReplica('raced.txt', replica('v1', 'd1', '01'), head);

    await expect(table.commitReplica('raced.txt', replica('v2', 'd2', '02'), head)).rejects.toBeInstanceOf(ConcurrentReplicationError);
    expect((await table.load('raced.txt', 'v1')).head).toMatchObject({ sourceVersionId: 'v1', destinationVersionId: 'd1' });
  });

  test('a commit against a head that moved since it was read loses, and the newer head stays', async () => {
    const first = await table.load('moved.txt', 'v1');
    await table.commitReplica('moved.txt', replica('v1', 'd1', '01'), first.head);
    const stale = (await table.load('moved.txt', 'v2')).head;
    await table.commitReplica('moved.txt', replica('v3', 'd3', '03'), stale);

    await expect(table.commitReplica('moved.txt', replica('v2', 'd2', '02'), stale)).rejects.toThrow('another replication of key "moved.txt" committed first');
    expect((await table.load('moved.txt', 'v3')).head?.sourceVersionId).toBe('v3');
  });

  test('the version a head moves past keeps its record as its own item', async () => {
    await table.commitReplica('kept.txt', replica('v1', 'd1', '01'), undefined);
    const { head } = await table.load('kept.txt', 'v2');
    await table.commitReplica('kept.txt', replica('v2', 'd2', '02'), head);

    expect((await table.load('kept.txt', 'v1')).version).toMatchObject({ sourceVersionId: 'v1', destinationVersionId: 'd1', sequencer: '01' });
    expect((await table.load('kept.txt', 'v2')).version).toMatchObject({ sourceVersionId: 'v2', destinationVersionId: 'd2' });
  });

  test('the version a head moves past keeps the time it was replicated, not the time the head moved', async () => {
    await table.commitReplica('timed.txt', replica('v1', 'd1', '01'), undefined);
    const replicatedAt = (await table.load('timed.txt', 'v1')).version?.recordedAt;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { head } = await table.load('timed.txt', 'v2');
    await table.commitReplica('timed.txt', replica('v2', 'd2', '02'), head);

    expect(replicatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await table.load('timed.txt', 'v1')).version?.recordedAt).toBe(replicatedAt);
    expect((await table.load('timed.txt', 'v2')).version?.recordedAt! > replicatedAt!).toBe(true);
  });
});
