import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { compareKeys } from '../../../../src/runtime/backfill/backfill-plan';
import { BackfillRun, BackfillRuns, NO_COUNTS, OUTCOME_SHARDS, OutcomeRecord } from '../../../../src/runtime/backfill/backfill-runs';
import { inParallel } from '../../../support/in-parallel';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// A run's outcomes in the emulated table: spread over partitions, counted as the replicator records
// them, and read back in key order.

const run = (runId: string, sharded: boolean): BackfillRun => ({
  runId,
  mode: 'all-versions',
  status: 'waiting',
  counts: NO_COUNTS,
  startedAt: new Date().toISOString(),
  revision: 0,
  ...(sharded ? { outcomeShards: OUTCOME_SHARDS } : {}),
});

async function partitionSizes(fixture: ReplicationFixture, pks: string[]): Promise<number[]> {
  return Promise.all(pks.map(async (pk) => (await fixture.dynamodb.send(new QueryCommand({
    TableName: fixture.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } }, Select: 'COUNT',
  }))).Count ?? 0));
}

test('outcomes spread over the shards, are counted once each as the replicator records them, and read back in key order', async () => {
  const fixture = await ReplicationFixture.create();
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  const sharded = run('sharded', true);
  await runs.create(sharded);
  const records: OutcomeRecord[] = Array.from({ length: 320 }, (_, i) => ({ key: `k/${i}`, versionId: `v${i % 3}`, outcome: 'enqueued' }));
  await runs.recordOutcomes(sharded, records);

  const sizes = await partitionSizes(fixture, Array.from({ length: OUTCOME_SHARDS }, (_, shard) => `backfill#sharded#${shard}`));
  expect(sizes.reduce((a, b) => a + b)).toBe(records.length);
  // No partition holds more than a few times its share.
  expect(sizes.filter((size) => size > 0)).toHaveLength(OUTCOME_SHARDS);
  expect(Math.max(...sizes)).toBeLessThan((records.length / OUTCOME_SHARDS) * 3);

  // The replicator's path: the first outcome of each counts; a redelivery and a retry do not.
  await inParallel(records, 8, (record) => runs.recordOutcome('sharded', { ...record, outcome: 'replicated', bytes: 1 }));
  await runs.recordOutcome('sharded', { ...records[0], outcome: 'already-present' });
  await runs.recordOutcome('sharded', { ...records[1], outcome: 'failed', reason: 'x' });
  expect((await runs.counters('sharded')).resolved).toBe(records.length);
  // A checkpoint rewrites the state and keeps the counters beside it.
  await runs.checkpoint(sharded, { ...sharded, status: 'done' });
  expect((await runs.counters('sharded')).resolved).toBe(records.length);

  const read: OutcomeRecord[] = [];
  for await (const record of runs.outcomes(sharded)) read.push(record);
  expect(read.map((record) => record.key)).toEqual(records.map((record) => record.key).sort(compareKeys));
  expect(read.find((record) => record.key === records[0].key)).toMatchObject({ outcome: 'replicated', bytes: 1 });
  expect(read.find((record) => record.key === records[1].key)).toMatchObject({ outcome: 'replicated' });
});

test('a run from before sharding keeps its outcomes in its one partition, uncounted', async () => {
  const fixture = await ReplicationFixture.create();
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  const legacy = run('legacy', false);
  await runs.create(legacy);
  await runs.recordOutcomes(legacy, [{ key: 'a', versionId: 'v', outcome: 'enqueued' }]);
  await runs.recordOutcome('legacy', { key: 'a', versionId: 'v', outcome: 'replicated' });

  expect(await partitionSizes(fixture, ['backfill#legacy'])).toEqual([2]);
  const read: OutcomeRecord[] = [];
  for await (const record of runs.outcomes(legacy)) read.push(record);
  expect(read).toEqual([expect.objectContaining({ key: 'a', outcome: 'replicated' })]);
  expect((await runs.counters('legacy')).resolved).toBe(0);
});
