import { DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { compareKeys } from '../../../../src/runtime/backfill/backfill-plan';
import { BackfillRun, BackfillRuns, NO_COUNTS, OUTCOME_SHARDS, OutcomeRecord } from '../../../../src/runtime/backfill/backfill-runs';
import { inParallel } from '../../../support/in-parallel';
import { BackfillDriver } from '../../emulators/backfill-driver';
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
  const first: boolean[] = [];
  await inParallel(records, 8, async (record) => first.push(await runs.recordOutcome('sharded', { ...record, outcome: 'replicated', bytes: 1 })));
  expect(first.filter(Boolean)).toHaveLength(records.length);
  expect(await runs.recordOutcome('sharded', { ...records[0], outcome: 'already-present' })).toBe(false);
  expect(await runs.recordOutcome('sharded', { ...records[1], outcome: 'failed', reason: 'x' })).toBe(false);
  // Recording writes no count; the replicator adds its invocation's first outcomes in one write.
  expect((await runs.counters('sharded')).resolved).toBe(0);
  await runs.addResolved('sharded', 300);
  await runs.addResolved('sharded', 20);
  await runs.addResolved('sharded', 0);
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

test('the replicator adds a batch\'s first outcomes to the run\'s counter in one write, not one per version', async () => {
  const fixture = await ReplicationFixture.create();
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  const counted = run('counted', true);
  await runs.create(counted);
  // Ten keys, one version each, as a backfill enqueues them: `enqueued` outcomes first, then the messages.
  const versions = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
    const key = `batch/${i}`;
    const put = await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: key }));
    return { key, versionId: put.VersionId! };
  }));
  await runs.recordOutcomes(counted, versions.map((version) => ({ ...version, outcome: 'enqueued' as const })));
  for (const [index, { key, versionId }] of versions.entries()) {
    // (The third argument is the message's deduplication id: one per message.)
    await fixture.enqueueBackfillCopy(key, versionId, `counted-${index}`, { backfillRun: 'counted', backfillIndex: index });
  }

  const resolvedAdds: number[] = [];
  const spy = jest.spyOn(DynamoDBClient.prototype, 'send');
  try {
    await fixture.drain();
    for (const [command] of spy.mock.calls as unknown as [UpdateItemCommand][]) {
      if (command instanceof UpdateItemCommand && command.input.UpdateExpression?.startsWith('ADD resolved')) {
        resolvedAdds.push(Number(command.input.ExpressionAttributeValues![':count'].N));
      }
    }
  } finally {
    spy.mockRestore();
  }

  // One invocation took the ten: one add of 10 (it was ten adds of 1).
  expect(resolvedAdds).toEqual([10]);
  expect((await runs.counters('counted')).resolved).toBe(10);
  const read: OutcomeRecord[] = [];
  for await (const record of runs.outcomes(counted)) read.push(record);
  expect(read.map((record) => record.outcome)).toEqual(Array(10).fill('replicated'));
});

test('a run from before sharding keeps its outcomes in its one partition, uncounted', async () => {
  const fixture = await ReplicationFixture.create();
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  const legacy = run('legacy', false);
  await runs.create(legacy);
  await runs.recordOutcomes(legacy, [{ key: 'a', versionId: 'v', outcome: 'enqueued' }]);
  expect(await runs.recordOutcome('legacy', { key: 'a', versionId: 'v', outcome: 'replicated' })).toBe(false);

  expect(await partitionSizes(fixture, ['backfill#legacy'])).toEqual([2]);
  const read: OutcomeRecord[] = [];
  for await (const record of runs.outcomes(legacy)) read.push(record);
  expect(read).toEqual([expect.objectContaining({ key: 'a', outcome: 'replicated' })]);
  expect((await runs.counters('legacy')).resolved).toBe(0);
});

test('a run whose counter stalls short (a crash between an outcome and its count) is finished from the outcomes', async () => {
  const fixture = await ReplicationFixture.create();
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'k', Body: 'x' }));
  const driver = await BackfillDriver.create(fixture);
  const step = async () => {
    const { Messages: [message] = [] } = await fixture.sqs.send(new ReceiveMessageCommand({ QueueUrl: driver.queueUrl, VisibilityTimeout: 0 }));
    await driver.handler()({ Records: [{ messageId: message.MessageId, body: message.Body }] } as unknown as SQSEvent);
    await fixture.sqs.send(new DeleteMessageCommand({ QueueUrl: driver.queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    return (await runs.get(runId))!;
  };
  const runId = await driver.start('all-versions');
  // The listing, then the first check of the counter: nothing resolved yet.
  expect(await step()).toMatchObject({ status: 'waiting', counts: { enqueued: 1 }, resolvedAtLastCheck: 0 });
  // The replicator recorded the outcome and died before adding to the counter.
  const [version] = (await fixture.sourceS3.send(new ListObjectVersionsCommand({ Bucket: fixture.sourceBucket }))).Versions!;
  expect(await runs.recordOutcome(runId, { key: 'k', versionId: version.VersionId!, outcome: 'replicated', bytes: 1 })).toBe(true);
  expect((await runs.counters(runId)).resolved).toBe(0);

  // The counter did not rise since the last check: the outcomes are read, and none is pending.
  expect(await step()).toMatchObject({ status: 'done' });
  expect((await driver.report(runId)).summary.outcomes).toMatchObject({ replicated: 1, failed: 0 });
});
