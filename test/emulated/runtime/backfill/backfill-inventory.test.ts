import { createHash } from 'crypto';
import { gzipSync } from 'zlib';
import { CreateBucketCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { BackfillRuns, OUTCOME_SHARDS } from '../../../../src/runtime/backfill/backfill-runs';
import { ResolvedCounts } from '../../../../src/runtime/replication/outcomes/run-reports';
import { BackfillDriver } from '../../emulators/backfill-driver';
import { sourceClientConfig } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';
import { Mutex } from '../../emulators/sqs-poller';

// The inventory backfill against the emulated partitions: S3 Inventory files (gzip'd CSV, as S3
// writes them) in a bucket of the source partition, the real backfill handler reading them file by
// file, steps side by side, and the real replication queue.

const SCHEMA = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass';

interface Row {
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly deleteMarker?: boolean;
  readonly size?: number;
  readonly eTag?: string;
}

/** An inventory key as S3 writes it: form-encoded (a space is `+`). */
const encodeKey = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

function csvLine(bucket: string, row: Row): string {
  const fields = [bucket, encodeKey(row.key), row.versionId, String(row.isLatest), String(row.deleteMarker === true),
    row.deleteMarker ? '' : String(row.size ?? 1), '2026-01-01T00:00:00.000Z', row.deleteMarker ? '' : row.eTag ?? 'e', 'STANDARD'];
  return fields.map((field) => `"${field.replace(/"/g, '""')}"`).join(',');
}

/** Writes an inventory of `files` to the fixture's inventory bucket; returns the manifest's s3:// location. */
async function writeInventory(
  fixture: ReplicationFixture, files: Row[][], options: { sourceBucket?: string; schema?: string; corrupt?: number } = {},
) {
  const bucket = `${fixture.id}-inventory`;
  await fixture.sourceS3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  const prefix = `inv-${Math.random().toString(36).slice(2, 8)}`;
  const written = await Promise.all(files.map(async (rows, n) => {
    const body = gzipSync(`${rows.map((row) => csvLine(fixture.sourceBucket, row)).join('\n')}\n`);
    const key = `${prefix}/data/${n}.csv.gz`;
    await fixture.sourceS3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const md5 = createHash('md5').update(n === options.corrupt ? 'other bytes' : body).digest('hex');
    return { key, size: body.length, MD5checksum: md5 };
  }));
  const manifest = {
    sourceBucket: options.sourceBucket ?? fixture.sourceBucket,
    destinationBucket: `arn:aws:s3:::${bucket}`,
    version: '2016-11-30',
    creationTimestamp: String(Date.now()),
    fileFormat: 'CSV',
    fileSchema: options.schema ?? SCHEMA,
    files: written,
  };
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/manifest.json`, Body: JSON.stringify(manifest) }));
  return `s3://${bucket}/${prefix}/manifest.json`;
}

/** Plays the backfill queue's trigger: up to `concurrency` steps side by side, until the queue is empty or `until` holds. */
async function runSteps(fixture: ReplicationFixture, driver: BackfillDriver, options: {
  concurrency?: number; until?: () => Promise<boolean>; handler?: ReturnType<BackfillDriver['handler']>;
} = {}): Promise<number> {
  const handler = options.handler ?? driver.handler();
  let steps = 0;
  for (;;) {
    if (await options.until?.()) return steps;
    const { Messages: messages = [] } = await fixture.sqs.send(new ReceiveMessageCommand({
      QueueUrl: driver.queueUrl, MaxNumberOfMessages: options.concurrency ?? 1, VisibilityTimeout: 600, WaitTimeSeconds: 0,
    }));
    if (messages.length === 0) return steps;
    steps += messages.length;
    await Promise.all(messages.map(async (message) => {
      await handler({ Records: [{ messageId: message.MessageId, body: message.Body }] } as unknown as SQSEvent);
      await fixture.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: driver.queueUrl, Entries: [{ Id: '0', ReceiptHandle: message.ReceiptHandle! }] }));
    }));
  }
}

/**
 * How the stand-in replicator records outcomes: `per-version` through the code the replicator
 * records them with (a conditional write per version, one add to the counter per batch); `bulk`
 * 25 to a BatchWriteItem and one add per 100 versions, for a run whose plan, enqueue and report are
 * what is tested at a size the per-version writes would take minutes for on moto.
 */
type Recording = 'per-version' | 'bulk';

/** How many outcomes `bulk` recording writes at a time (four BatchWriteItems and one add). */
const BULK_OUTCOMES = 100;

/**
 * Plays the replicator for messages it need not copy: takes them off the replication queue and
 * records each one's outcome as `replicated`. Returns the messages taken.
 */
async function recordAsReplicated(
  fixture: ReplicationFixture, runs: BackfillRuns, until: (taken: number) => boolean, recording: Recording, loops = 6,
): Promise<number> {
  let taken = 0;
  // moto answers concurrent receives without a lock, so two loops could take the same message; SQS's
  // receive is atomic, and serialising the receives (not the recording) restores that.
  const receiving = new Mutex();
  await Promise.all(Array.from({ length: loops }, async () => {
    let unrecorded: Array<{ key: string; versionId: string; backfillRun: string }> = [];
    const recordBulk = async () => {
      // One run per test: the first body's is every body's.
      const runId = unrecorded[0].backfillRun;
      const records = unrecorded.map(({ key, versionId }) => ({ key, versionId, outcome: 'replicated' as const, bytes: 1 }));
      unrecorded = [];
      await runs.recordOutcomes({ runId, outcomeShards: OUTCOME_SHARDS }, records);
      await runs.addResolved(runId, records.length);
    };
    for (;;) {
      const { Messages: messages = [] } = await receiving.run(() => fixture.sqs.send(new ReceiveMessageCommand({
        QueueUrl: fixture.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 0,
      })));
      // An empty receive is no proof of an empty queue on moto (a group in flight): the count decides.
      if (messages.length === 0 && recording === 'bulk' && unrecorded.length > 0) {
        await recordBulk();
        continue;
      }
      if (messages.length === 0 && until(taken)) return;
      if (messages.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      taken += messages.length;
      await fixture.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: fixture.queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }));
      const bodies = messages.map((m) => JSON.parse(m.Body!) as { key: string; versionId: string; backfillRun: string });
      if (recording === 'bulk') {
        unrecorded.push(...bodies);
        if (unrecorded.length >= BULK_OUTCOMES) await recordBulk();
        continue;
      }
      // As the replicator does per invocation: each outcome, then one add per run of the first ones.
      const resolved = new ResolvedCounts();
      await Promise.all(bodies.map(async ({ key, versionId, backfillRun }) => {
        if (await runs.recordOutcome(backfillRun, { key, versionId, outcome: 'replicated', bytes: 1 })) resolved.add(backfillRun);
      }));
      await Promise.all(resolved.take().map(([runId, count]) => runs.addResolved(runId, count)));
    }
  }));
  return taken;
}

/**
 * An inventory of 5 files of `keysPerFile` keys (two versions each, every 50th key deleted) and 80
 * keys outside the prefixes per file, backfilled: its steps side by side, the replication queue taken
 * as it fills, then the report. Checks the plan, the enqueue, the counter and the report.
 */
async function backfillInventory(keysPerFile: number, recording: Recording): Promise<void> {
  const fixture = await ReplicationFixture.create({ prefixes: ['in/'] });
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  const started = Date.now();
  // Each key's versions newest first, as S3 lists them, to show the order is the backfill's.
  const files: Row[][] = Array.from({ length: 5 }, (_, file) => {
    const rows: Row[] = [];
    for (let i = 0; i < keysPerFile; i++) {
      const key = `in/${file}/${String(i).padStart(5, '0')}`;
      const deleted = i % 50 === 0;
      if (deleted) rows.push({ key, versionId: `${key}-d`, isLatest: true, deleteMarker: true });
      rows.push({ key, versionId: `${key}-2`, isLatest: !deleted }, { key, versionId: `${key}-1`, isLatest: false });
    }
    for (let i = 0; i < 80; i++) rows.push({ key: `out/${file}/${i}`, versionId: `o${i}`, isLatest: true });
    return rows;
  });
  const versions = files.flat().filter((row) => row.key.startsWith('in/')).length;
  const outside = files.flat().length - versions;
  const manifest = await writeInventory(fixture, files);
  const driver = await BackfillDriver.create(fixture);
  const written = Date.now();

  const { runId } = await driver.handler()({ mode: 'inventory', manifest }) as { runId: string };
  // The coordinator queues one step per file; the five steps run side by side while the replication
  // queue is taken as it fills, as the replicator takes it.
  let planned = 0;
  let enqueued = 0;
  const [steps, taken] = await Promise.all([
    runSteps(fixture, driver, { concurrency: 6, until: async () => (await runs.get(runId))!.status !== 'listing' }).then(async (count) => {
      planned = Date.now();
      enqueued = (await runs.get(runId))!.counts.enqueued;
      return count;
    }),
    recordAsReplicated(fixture, runs, (count) => planned > 0 && count >= enqueued, recording),
  ]);
  expect(enqueued).toBe(versions);
  // Every version enqueued once, and its outcome counted once.
  expect(taken).toBe(versions);
  expect((await runs.counters(runId)).resolved).toBe(versions);
  const recorded = Date.now();
  // The coordinator now sees every file done, and every outcome counted: it writes the report.
  await runSteps(fixture, driver);
  const finished = Date.now();
  expect((await runs.get(runId))!.counts).toMatchObject({
    listed: versions + outside, enqueued: versions, skippedByFilter: outside, alreadyPresent: 0,
  });

  const { lines, summary } = await driver.report(runId);
  console.log(JSON.stringify({
    versions,
    recording,
    writeSeconds: (written - started) / 1000,
    planSeconds: (planned - written) / 1000,
    recordSeconds: (recorded - planned) / 1000,
    reportSeconds: (finished - recorded) / 1000,
    steps,
  }));
  expect(summary).toMatchObject({
    mode: 'inventory',
    manifest,
    inventoryFiles: 5,
    unreadFiles: [],
    versions: versions + outside,
    enqueued: versions,
    outcomes: { 'replicated': versions, 'skipped-by-filter': outside, 'failed': 0, 'already-present': 0 },
  });
  expect(lines).toHaveLength(versions + outside);
  // Every version once, in key order.
  expect(new Set(lines.map((line) => `${line.key}\u0000${line.versionId}`)).size).toBe(lines.length);
  expect(lines[0].key <= lines[1].key && lines[lines.length - 2].key <= lines[lines.length - 1].key).toBe(true);
}

test('an inventory in 5 files: planned side by side, enqueued once each, completion counted, every version reported', async () => {
  await backfillInventory(100, 'per-version');
}, 600_000);

// 2 to 3 minutes beside the other tests on this project's 2-core machine (README, "Test timings").
test('an inventory of 50,000 versions: planned, enqueued once each, counted and reported', async () => {
  await backfillInventory(5000, 'bulk');
}, 1_200_000);

test('keys with spaces, plus signs and UTF-8, form-encoded in the inventory, are replicated by the real replicator', async () => {
  const fixture = await ReplicationFixture.create();
  const keys = ['in/a b+c.txt', 'in/100% é+ ü', 'in/plain'];
  const rows: Row[] = [];
  for (const key of keys) {
    for (const body of ['one', 'two']) await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: `${key} ${body}` }));
    const listed = await fixture.sourceS3.send(new ListObjectVersionsCommand({ Bucket: fixture.sourceBucket, Prefix: key }));
    for (const version of listed.Versions!.filter((v) => v.Key === key)) {
      rows.push({ key, versionId: version.VersionId!, isLatest: version.IsLatest === true, size: version.Size, eTag: version.ETag!.replace(/"/g, '') });
    }
  }
  const manifest = await writeInventory(fixture, [rows]);
  const driver = await BackfillDriver.create(fixture);

  const { runId } = await driver.handler()({ mode: 'inventory', manifest }) as { runId: string };
  await driver.drive();
  const { lines, summary } = await driver.report(runId);

  expect(summary.outcomes).toMatchObject({ replicated: 6, failed: 0 });
  expect(lines.map((line) => line.key).sort()).toEqual([...keys, ...keys].sort());
  for (const key of keys) {
    expect((await fixture.destinationObject(key))?.body.toString()).toBe(`${key} two`);
    expect((await fixture.destinationVersions(key)).versions).toHaveLength(2);
  }
  // A second run from the same inventory: the version map knows every version.
  const second = await driver.handler()({ mode: 'inventory', manifest }) as { runId: string };
  await driver.drive();
  expect((await driver.report(second.runId)).summary).toMatchObject({ enqueued: 0, outcomes: { 'already-present': 6 } });
});

test('a manifest of another bucket, or without the columns of all versions, is refused when the run starts, saying why', async () => {
  const fixture = await ReplicationFixture.create();
  const driver = await BackfillDriver.create(fixture);
  const rows = [{ key: 'k', versionId: 'v', isLatest: true }];
  await expect(driver.handler()({ mode: 'inventory', manifest: await writeInventory(fixture, [rows], { sourceBucket: 'elsewhere' }) }))
    .rejects.toThrow(`the manifest is an inventory of bucket "elsewhere", not of the replicated bucket "${fixture.sourceBucket}"`);
  await expect(driver.handler()({ mode: 'inventory', manifest: await writeInventory(fixture, [rows], { schema: 'Bucket, Key, Size, LastModifiedDate, ETag' }) }))
    .rejects.toThrow('the inventory\'s fileSchema lacks VersionId, IsLatest, IsDeleteMarker');
  await expect(driver.handler()({ mode: 'inventory' })).rejects.toThrow('manifest undefined is not an s3://<bucket>/<key> location');
});

test('a file whose MD5 differs from the manifest\'s is not read, and the report names it', async () => {
  const fixture = await ReplicationFixture.create();
  const driver = await BackfillDriver.create(fixture);
  const manifest = await writeInventory(fixture, [
    [{ key: 'a', versionId: 'va', isLatest: true }],
    [{ key: 'b', versionId: 'vb', isLatest: true }],
  ], { corrupt: 1 });

  const { runId } = await driver.handler()({ mode: 'inventory', manifest }) as { runId: string };
  await driver.drive();
  const { lines, summary } = await driver.report(runId);

  expect(summary.unreadFiles).toEqual([{ file: 1, error: expect.stringMatching(/^inventory file s3:\/\/.*\/data\/1\.csv\.gz has MD5 [0-9a-f]{32}, the manifest says [0-9a-f]{32}: not read/) }]);
  expect(lines.map((line) => line.key)).toEqual(['a']);
});

test('a file step that crashes half-way resumes from its checkpoint and enqueues no version twice', async () => {
  const fixture = await ReplicationFixture.create();
  const runs = new BackfillRuns(fixture.dynamodb, fixture.tableName);
  const driver = await BackfillDriver.create(fixture);
  // 1,000 keys: the driver's chunks are 200 lines, so the file takes five chunks.
  const rows: Row[] = Array.from({ length: 1000 }, (_, i) => ({ key: `k/${String(i).padStart(4, '0')}`, versionId: `v${i}`, isLatest: true }));
  const manifest = await writeInventory(fixture, [rows]);
  const { runId } = await driver.handler()({ mode: 'inventory', manifest }) as { runId: string };
  // The coordinator queues the file's step ...
  await runSteps(fixture, driver, { until: async () => (await runs.get(runId))!.inventory!.fannedOut === true });
  // ... whose invocation dies after 25 enqueue requests (the third chunk's fifth): a Lambda timeout
  // or out-of-memory kill, which no server produces, so an SQS client that throws stands in for it.
  const real = new SQSClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin));
  let batches = 0;
  const send = real.send.bind(real) as (command: unknown) => Promise<unknown>;
  const crashing = new Proxy(real, {
    get: (target, property, receiver) => (property !== 'send' ? Reflect.get(target, property, receiver) : async (command: unknown) => {
      if (command instanceof SendMessageBatchCommand && command.input.QueueUrl === fixture.queueUrl && ++batches > 45) throw new Error('simulated crash');
      return send(command);
    }),
  });
  await expect(runSteps(fixture, driver, { handler: driver.handler(crashing) })).rejects.toThrow('simulated crash');
  // Two chunks checkpointed (each holding back its last key's line for the next), the third not.
  expect((await runs.parts().get(runId, 0)).offset).toBe(398);
  // Lambda redelivers the step after its visibility timeout: here at once.
  await fixture.sqs.send(new SendMessageCommand({ QueueUrl: driver.queueUrl, MessageBody: JSON.stringify({ runId, part: 0 }) }));
  await runSteps(fixture, driver, { until: async () => (await runs.parts().get(runId, 0)).status === 'done' });

  // Each version on the replication queue once: the chunk redone after the crash sent the same
  // deduplication ids, the chunks before it were not read again.
  const received: string[] = [];
  for (;;) {
    const { Messages: messages = [] } = await fixture.sqs.send(new ReceiveMessageCommand({
      QueueUrl: fixture.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600,
    }));
    if (messages.length === 0) break;
    received.push(...messages.map((m) => (JSON.parse(m.Body!) as { versionId: string }).versionId));
  }
  expect(received).toHaveLength(1000);
  expect(new Set(received).size).toBe(1000);
  expect((await runs.parts().get(runId, 0)).counts).toMatchObject({ listed: 1000, enqueued: 1000 });
});
