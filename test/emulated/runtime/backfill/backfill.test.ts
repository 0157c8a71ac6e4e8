import { DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { REPORT_PREFIX } from '../../../../src/private/replication-backfill';
import { toMessage } from '../../../../src/runtime/backfill/backfill';
import { BackfillStarted, createBackfillHandler } from '../../../../src/runtime/backfill/backfill-handler';
import { messageDeduplicationId, messageGroupId } from '../../../../src/runtime/contract/replication-message';
import { createTelemetry } from '../../../../src/runtime/contract/telemetry';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { inParallel } from '../../../support/in-parallel';
import { BackfillDriver, budgetOfPages } from '../../emulators/backfill-driver';
import { DESTINATION_PARTITION, sourceClientConfig } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The backfill against the emulated partitions: the real backfill handler lists the source bucket
// and feeds the replication queue; the real replicator copies.


test('a small bucket: every version lands oldest first, the report is right, and a second run enqueues nothing', async () => {
  const fixture = await ReplicationFixture.create({ prefixes: ['in/'] });
  for (const body of ['1', '2', '3']) await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'in/a', Body: body }));
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'in/b', Body: 'b' }));
  await fixture.events.deleteMarker('in/b');
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'out/c', Body: 'c' }));
  const driver = await BackfillDriver.create(fixture);

  const runId = await driver.start('all-versions');
  const { lines: output } = await captureOutput(() => driver.drive());
  const { lines, summary } = await driver.report(runId);

  // Progress metrics: listed and enqueued by the backfill, replicated by the replicator, failed at the end.
  expect(emittedMetrics(output)).toMatchObject({
    BackfillVersionsListed: 6, BackfillVersionsEnqueued: 5, BackfillVersionsReplicated: 5, BackfillVersionsFailed: 0,
  });
  expect((await fixture.destinationVersions('in/a')).versions).toHaveLength(3);
  expect((await fixture.destinationObject('in/a'))?.body.toString()).toBe('3');
  expect(await fixture.destinationObject('in/b')).toBeUndefined();
  expect(summary.outcomes).toEqual({ 'replicated': 5, 'already-present': 0, 'skipped-by-filter': 1, 'skipped': 0, 'failed': 0, 'extra-on-destination': 0 });
  expect(summary.bytesReplicated).toBe(4);
  expect(lines.filter((line) => line.key === 'out/c')).toEqual([expect.objectContaining({ outcome: 'skipped-by-filter' })]);

  const second = await driver.start('all-versions');
  await driver.drive();
  const again = await driver.report(second);
  expect(again.summary.enqueued).toBe(0);
  expect(again.summary.outcomes).toMatchObject({ 'replicated': 0, 'already-present': 5, 'skipped-by-filter': 1 });
  expect((await fixture.destinationVersions('in/a')).versions).toHaveLength(3);
});

/** The backfill handler as the construct deploys it: reports under its report prefix (the driver's own uses reports/). */
function deployedHandler(fixture: ReplicationFixture, driver: BackfillDriver, backfillMode: 'all-versions' | 'current-versions') {
  return createBackfillHandler(
    {
      ...fixture.settings,
      queueUrl: fixture.queueUrl,
      backfillQueueUrl: driver.queueUrl,
      backfillMode,
      reportBucket: driver.reportBucket,
      reportPrefix: REPORT_PREFIX,
    },
    {
      s3: fixture.sourceS3,
      sqs: new SQSClient(sourceClientConfig(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin)),
      dynamodb: fixture.dynamodb,
      secretsManager: fixture.secretsManager,
    },
    createTelemetry('backfill', { logLevel: 'ERROR' }),
    { pollDelaySeconds: 0, pageSize: 200 },
  );
}

/**
 * PUT `old` on a fresh key, then, within one second, DELETE it and PUT `new`: the delete marker and
 * the new version have the same LastModified in the listing (whole seconds, on S3 as on moto). Waits
 * for the start of a second first; a try that straddles a second anyway moves to a fresh key.
 */
async function deletedAndRecreatedInOneSecond(fixture: ReplicationFixture, name: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const key = `${name}-${attempt}`;
    await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: 'old' }));
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
    await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: key }));
    await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: 'new' }));
    const listed = await fixture.sourceS3.send(new ListObjectVersionsCommand({ Bucket: fixture.sourceBucket, Prefix: key }));
    const [current, old] = listed.Versions!;
    const [marker] = listed.DeleteMarkers!;
    if (marker.LastModified!.getTime() !== current.LastModified!.getTime()) continue;
    expect(current).toMatchObject({ IsLatest: true });
    return { key, old, marker, current };
  }
  throw new Error('could not delete and re-create a key within one second');
}

test('a key deleted and re-created within one second is backfilled with its re-created version current', async () => {
  const fixture = await ReplicationFixture.create();
  const { key, current } = await deletedAndRecreatedInOneSecond(fixture, 'same-second');
  const driver = await BackfillDriver.create(fixture);

  const runId = await driver.start('all-versions');
  await driver.drive();

  // Applied oldest first with the source's current version last: the replica is current, not deleted.
  expect((await fixture.destinationObject(key))?.body.toString()).toBe('new');
  const { versions, deleteMarkers } = await fixture.destinationVersions(key);
  expect([versions.length, deleteMarkers.length]).toEqual([2, 1]);
  const { lines } = await driver.report(runId);
  expect(lines.filter((line) => line.key === key).map((line) => line.outcome)).toEqual(['replicated', 'replicated', 'replicated']);
  expect(lines.find((line) => line.versionId === current.VersionId)).toMatchObject({ outcome: 'replicated' });
});

test('reconcile heals a key that an earlier backfill applied out of order within one second', async () => {
  const fixture = await ReplicationFixture.create();
  const { key, old, marker, current } = await deletedAndRecreatedInOneSecond(fixture, 'same-second');
  // What backfills before the IsLatest rule enqueued: the same-second delete marker after the new version.
  const time = new Date().toISOString();
  const entry = (listed: { VersionId?: string; LastModified?: Date; Size?: number; ETag?: string }, kind: 'object' | 'deleteMarker') =>
    ({ key, versionId: listed.VersionId!, kind, isLatest: false, lastModified: listed.LastModified!, size: listed.Size, eTag: listed.ETag?.replace(/"/g, '') });
  const outOfOrder = [entry(old, 'object'), entry(current, 'object'), entry(marker, 'deleteMarker')];
  for (const [index, listed] of outOfOrder.entries()) {
    const message = toMessage(fixture.sourceBucket, 'earlier-run', listed, time, index);
    await fixture.sqs.send(new SendMessageCommand({
      QueueUrl: fixture.queueUrl,
      MessageBody: JSON.stringify(message),
      MessageGroupId: messageGroupId(message.bucket, message.key),
      MessageDeduplicationId: messageDeduplicationId(message),
    }));
  }
  await fixture.drain();
  expect(await fixture.destinationObject(key)).toBeUndefined();

  const driver = await BackfillDriver.create(fixture);
  const runId = await driver.start('reconcile');
  await driver.drive();

  const { lines } = await driver.report(runId);
  expect(lines.filter((line) => line.key === key)).toEqual([
    expect.objectContaining({ versionId: current.VersionId, outcome: 'replicated', drift: 'missing on the destination' }),
  ]);
  expect((await fixture.destinationObject(key))?.body.toString()).toBe('new');
  // Healed for good: the next reconcile finds the replica as the version map records it.
  const second = await driver.start('reconcile');
  await driver.drive();
  expect((await driver.report(second)).summary).toMatchObject({ enqueued: 0, outcomes: { 'already-present': 1 } });
});

test('keys of 1,024 bytes, ASCII and multi-byte UTF-8, are backfilled and reconciled, and the report names them', async () => {
  const fixture = await ReplicationFixture.create();
  const keys = [
    `long/${'a'.repeat(1019)}`,
    `long/${'\u00e9'.repeat(509)}x`,
    `long/${'\u20ac'.repeat(339)}xy`,
    `long/${'\u{1F600}'.repeat(254)}xyz`,
  ];
  for (const key of keys) expect(Buffer.byteLength(key, 'utf8')).toBe(1024);
  const versionIds = new Map<string, string[]>();
  for (const key of keys) {
    for (const body of ['first', 'second']) {
      const put = await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: `${body} ${key.length}` }));
      versionIds.set(key, [...versionIds.get(key) ?? [], put.VersionId!]);
    }
  }
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'short', Body: 'short' }));
  const driver = await BackfillDriver.create(fixture);

  const runId = await driver.start('all-versions');
  await driver.drive();
  const { lines, summary } = await driver.report(runId);

  expect(summary.outcomes).toMatchObject({ replicated: keys.length * 2 + 1, failed: 0 });
  for (const key of keys) {
    expect(lines.filter((line) => line.key === key).map(({ versionId, outcome }) => ({ versionId, outcome })))
      .toEqual(expect.arrayContaining(versionIds.get(key)!.map((versionId) => ({ versionId, outcome: 'replicated' }))));
    expect(lines.filter((line) => line.key === key)).toHaveLength(2);
    expect((await fixture.destinationObject(key))?.body.toString()).toBe(`second ${key.length}`);
  }

  // A reconcile lists both buckets through the long keys and finds every replica as mapped.
  const reconcile = await driver.start('reconcile');
  await driver.drive();
  const reconciled = await driver.report(reconcile);
  expect(reconciled.summary).toMatchObject({ enqueued: 0, outcomes: { 'already-present': keys.length + 1, 'failed': 0 } });
  expect(reconciled.lines.map((line) => line.key).sort()).toEqual([...keys, 'short'].sort());
});

test('invoking the function returns the run id, the mode and the report location under backfill-reports/', async () => {
  const fixture = await ReplicationFixture.create();
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'k', Body: 'v' }));
  const driver = await BackfillDriver.create(fixture);
  const handler = deployedHandler(fixture, driver, 'all-versions');

  const started = await handler({ mode: 'current-versions' }) as BackfillStarted;

  expect(started).toStrictEqual({
    runId: expect.any(String),
    mode: 'current-versions',
    report: `s3://${driver.reportBucket}/backfill-reports/${started.runId}/`,
  });
  expect(started.runId.length).toBeGreaterThan(0);
  // The report is written where the response says.
  driver.handler = () => handler;
  await driver.drive();
  const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(started.report)!;
  const summary = await fixture.sourceS3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}summary.json` }));
  expect(JSON.parse(await summary.Body!.transformToString())).toMatchObject({ runId: started.runId, mode: 'current-versions' });
});

test('invoked without a mode (as the deploy-time trigger does), a run takes the configured mode', async () => {
  const fixture = await ReplicationFixture.create();
  for (const body of ['old', 'new']) await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'k', Body: body }));
  const driver = await BackfillDriver.create(fixture);
  const handler = deployedHandler(fixture, driver, 'current-versions');

  const started = await handler({}) as BackfillStarted;
  driver.handler = () => handler;
  await driver.drive();

  expect(started.mode).toBe('current-versions');
  expect((await fixture.destinationVersions('k')).versions).toHaveLength(1);
});

test('a version the replicator cannot copy is reported failed with its reason, and counted', async () => {
  const fixture = await ReplicationFixture.create();
  const bucketArn = `arn:${DESTINATION_PARTITION}:s3:::${fixture.destinationBucket}`;
  await fixture.installDestinationIdentity('narrow', {
    userPolicies: { write: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `${bucketArn}/allowed/*` }] } },
  });
  for (const key of ['allowed/a', 'denied/b']) await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: key }));
  const driver = await BackfillDriver.create(fixture);

  const runId = await driver.start('all-versions');
  const { lines: output } = await captureOutput(() => driver.drive());
  const { lines, summary } = await driver.report(runId);

  expect(summary.outcomes).toMatchObject({ replicated: 1, failed: 1 });
  expect(emittedMetrics(output).BackfillVersionsFailed).toBe(1);
  expect(lines.find((line) => line.key === 'denied/b')).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('AccessDenied') });
});

test('the run summary names the mode, prefixes, start and end, counts by outcome, bytes replicated and listing requests', async () => {
  const fixture = await ReplicationFixture.create({ prefixes: ['in/'] });
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'in/a', Body: 'abc' }));
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'in/b', Body: 'defgh' }));
  await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'out/c', Body: 'c' }));
  const driver = await BackfillDriver.create(fixture);

  const runId = await driver.start('all-versions');
  await driver.drive();
  const { summary } = await driver.report(runId);

  expect(summary).toMatchObject({
    runId,
    mode: 'all-versions',
    prefixes: ['in/'],
    outcomes: { 'replicated': 2, 'already-present': 0, 'skipped-by-filter': 1, 'skipped': 0, 'failed': 0, 'extra-on-destination': 0 },
    versions: 3,
    enqueued: 2,
    bytesReplicated: 8,
    destinationListRequests: 0,
  });
  // Start and end are ISO timestamps, in order.
  expect(summary.startedAt).toEqual(new Date(summary.startedAt).toISOString());
  expect(summary.finishedAt).toEqual(new Date(summary.finishedAt).toISOString());
  expect(Date.parse(summary.finishedAt)).toBeGreaterThanOrEqual(Date.parse(summary.startedAt));
  expect(summary.listRequests).toBeGreaterThanOrEqual(1);
});

test('current-versions copies only what is current', async () => {
  const fixture = await ReplicationFixture.create();
  for (const body of ['old', 'new']) await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'k', Body: body }));
  const driver = await BackfillDriver.create(fixture);
  const runId = await driver.start('current-versions');
  await driver.drive();

  expect((await driver.report(runId)).summary.outcomes.replicated).toBe(1);
  expect((await fixture.destinationVersions('k')).versions).toHaveLength(1);
  expect((await fixture.destinationObject('k'))?.body.toString()).toBe('new');
});

test('an unknown mode is refused with the modes to choose from', async () => {
  const fixture = await ReplicationFixture.create();
  const driver = await BackfillDriver.create(fixture);
  await expect(driver.start('everything')).rejects.toThrow('backfill mode "everything" is not one of all-versions, current-versions, reconcile');
});

test('a run that crashes in the middle of a page resumes from its checkpoint; nothing is copied twice', async () => {
  const fixture = await ReplicationFixture.create();
  const keys = Array.from({ length: 500 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
  await inParallel(keys, 16, (key) => fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: key })));
  const driver = await BackfillDriver.create(fixture);

  const runId = await driver.start('all-versions');
  // Step 2 lists its page (200 keys), enqueues 4 of its 20 batches, then dies.
  const steps = await driver.drive({ context: () => budgetOfPages(1), crash: { step: 2, afterEnqueueRequests: 4 } });
  const { summary } = await driver.report(runId);

  expect(steps).toBeGreaterThanOrEqual(5);
  expect(summary.outcomes).toMatchObject({ 'replicated': keys.length, 'already-present': 0, 'failed': 0 });
  const listed = await fixture.adminS3.send(new ListObjectVersionsCommand({ Bucket: fixture.destinationBucket, Prefix: 'k/' }));
  expect(listed.IsTruncated).toBe(false);
  expect(listed.Versions).toHaveLength(keys.length);
  expect(new Set(listed.Versions!.map((version) => version.Key)).size).toBe(keys.length);
}, 600_000);

test('live events interleaved with a backfill of the same keys end with every key current', async () => {
  const fixture = await ReplicationFixture.create();
  const keys = Array.from({ length: 30 }, (_, i) => `live/${i}`);
  for (const key of keys) {
    for (const n of [1, 2]) await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: `${key} old ${n}` }));
  }
  // Live changes before the listing (their events wait in the queue) and while the backfill's messages are queued.
  for (const key of keys.slice(20)) await fixture.routerHandler(await fixture.events.put(key, `${key} live before`));
  const driver = await BackfillDriver.create(fixture);
  const runId = await driver.start('all-versions');
  let changed = false;
  await driver.drive({
    between: async () => {
      if (changed) return;
      changed = true;
      for (const key of keys.slice(0, 10)) await fixture.routerHandler(await fixture.events.put(key, `${key} live during`));
      for (const key of keys.slice(10, 15)) await fixture.routerHandler(await fixture.events.deleteMarker(key));
    },
  });

  for (const key of keys) {
    const replica = await fixture.destinationObject(key);
    const source = await fixture.sourceS3.send(new GetObjectCommand({ Bucket: fixture.sourceBucket, Key: key })).catch(() => undefined);
    expect(replica?.body.toString()).toBe(await source?.Body?.transformToString());
    // Every version at most once: never more replicas than source versions.
    const [ofSource, ofReplica] = await Promise.all([
      fixture.sourceS3.send(new ListObjectVersionsCommand({ Bucket: fixture.sourceBucket, Prefix: key })),
      fixture.destinationVersions(key),
    ]);
    const sourceVersions = (ofSource.Versions ?? []).filter((v) => v.Key === key).length;
    expect(ofReplica.versions.length).toBeLessThanOrEqual(sourceVersions);
  }
  expect((await driver.report(runId)).summary.outcomes.failed).toBe(0);
}, 600_000);
