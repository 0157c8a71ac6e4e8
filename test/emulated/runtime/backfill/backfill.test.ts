import { DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { REPORT_PREFIX } from '../../../../src/private/replication-backfill';
import { toMessage } from '../../../../src/runtime/backfill/backfill';
import { BackfillStarted, createBackfillHandler } from '../../../../src/runtime/backfill/backfill-handler';
import { messageDeduplicationId, messageGroupId } from '../../../../src/runtime/contract/replication-message';
import { createTelemetry } from '../../../../src/runtime/contract/telemetry';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { BackfillDriver, budgetOfPages } from '../../emulators/backfill-driver';
import { DESTINATION_PARTITION, sourceClientConfig } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The backfill against the emulated partitions: the real backfill handler lists the source bucket
// and feeds the replication queue; the real replicator copies.

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

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
    createTelemetry('backfill', 'ERROR'),
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

describe('reconcile', () => {
  /**
   * A bucket replicated by a backfill, then drifted: replicas deleted, resized and overwritten on
   * the destination, source changes whose events were lost, an object copied by hand, and strays.
   */
  async function driftedBuckets() {
    const fixture = await ReplicationFixture.create({ prefixes: ['in/'] });
    const put = (key: string, body: string) => fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: body }));
    const putReplica = (key: string, body: string) =>
      fixture.adminS3.send(new PutObjectCommand({ Bucket: fixture.destinationBucket, Key: key, Body: body }));
    const intact = ['in/same-1', 'in/same-2', 'in/same-3'];
    for (const key of [...intact, 'in/lost', 'in/resized', 'in/tampered', 'in/gone']) await put(key, `${key} body`);
    await put('out/skip', 'outside the prefixes');
    const driver = await BackfillDriver.create(fixture);
    await driver.start('current-versions');
    await driver.drive();

    await fixture.adminS3.send(new DeleteObjectCommand({ Bucket: fixture.destinationBucket, Key: 'in/lost' }));
    await putReplica('in/resized', 'short');
    await putReplica('in/tampered', 'in/tampered BODY');
    // Source changes whose events never arrived.
    await put('in/new', 'created later');
    await put('in/by-hand', 'copied by hand');
    await putReplica('in/by-hand', 'copied by hand');
    await fixture.sourceS3.send(new DeleteObjectCommand({ Bucket: fixture.sourceBucket, Key: 'in/gone' }));
    await putReplica('in/stray', 'only on the destination');
    await putReplica('out/stray', 'outside the prefixes');
    return { fixture, driver, intact };
  }

  test('enqueues only what is missing or differs, heals it, reports extras without deleting them; a second run enqueues nothing', async () => {
    const { fixture, driver, intact } = await driftedBuckets();

    const runId = await driver.start('reconcile');
    await driver.drive();
    const { lines, summary } = await driver.report(runId);

    const byKey = Object.fromEntries(lines.map((line) => [line.key, line]));
    expect(summary.enqueued).toBe(4);
    expect(byKey['in/lost']).toMatchObject({ outcome: 'replicated', drift: 'missing on the destination' });
    expect(byKey['in/resized']).toMatchObject({ outcome: 'replicated', drift: 'size differs (source 15, destination 5)' });
    expect(byKey['in/tampered']).toMatchObject({ outcome: 'replicated', drift: 'ETag differs from the replica the version map recorded' });
    expect(byKey['in/new']).toMatchObject({ outcome: 'replicated', drift: 'missing on the destination' });
    expect(byKey['in/by-hand']).toMatchObject({ outcome: 'already-present' });
    for (const key of intact) expect(byKey[key]).toMatchObject({ outcome: 'already-present' });
    expect(byKey['out/skip']).toMatchObject({ outcome: 'skipped-by-filter' });
    expect(byKey['in/gone']).toMatchObject({ outcome: 'extra-on-destination', reason: expect.stringContaining('deleted at the source') });
    expect(byKey['in/stray']).toMatchObject({ outcome: 'extra-on-destination', reason: expect.stringContaining('not in the source bucket'), bytes: 23 });
    expect(byKey['in/stray'].versionId).toBeUndefined();
    expect(byKey['out/stray']).toBeUndefined();
    expect(summary.outcomes).toEqual({
      'replicated': 4, 'already-present': 4, 'skipped-by-filter': 1, 'skipped': 0, 'failed': 0, 'extra-on-destination': 2,
    });
    expect(summary.destinationListRequests).toBeGreaterThan(0);

    // Healed: every current source object equals its replica; the extras are still there.
    for (const key of [...intact, 'in/lost', 'in/resized', 'in/tampered', 'in/new', 'in/by-hand']) {
      const source = await fixture.sourceS3.send(new GetObjectCommand({ Bucket: fixture.sourceBucket, Key: key }));
      expect((await fixture.destinationObject(key))?.body.toString()).toBe(await source.Body!.transformToString());
    }
    expect((await fixture.destinationObject('in/stray'))?.body.toString()).toBe('only on the destination');
    expect((await fixture.destinationObject('in/gone'))?.body.toString()).toBe('in/gone body');

    const second = await driver.start('reconcile');
    await driver.drive();
    const again = await driver.report(second);
    expect(again.summary.enqueued).toBe(0);
    expect(again.summary.outcomes).toMatchObject({ 'replicated': 0, 'already-present': 8, 'extra-on-destination': 2 });
  });

  test('a reconcile crossing many pages and invocations compares every key once and finds the extras between them', async () => {
    const fixture = await ReplicationFixture.create();
    const keys = Array.from({ length: 450 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
    await inParallel(keys, 16, (key) => fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: key })));
    const driver = await BackfillDriver.create(fixture);
    await driver.start('current-versions');
    await driver.drive();
    // Drift on both sides of the 200-key page boundaries, strays between and after the source's keys.
    const lost = [keys[0], keys[199], keys[200], keys[449]];
    await inParallel(lost, 4, (key) => fixture.adminS3.send(new DeleteObjectCommand({ Bucket: fixture.destinationBucket, Key: key })));
    const strays = ['k/0199.5', 'k/0200.5', 'k/9999', 'z'];
    await inParallel(strays, 4, (key) => fixture.adminS3.send(new PutObjectCommand({ Bucket: fixture.destinationBucket, Key: key, Body: 's' })));

    const runId = await driver.start('reconcile');
    const steps = await driver.drive({ context: () => budgetOfPages(1) });
    const { lines, summary } = await driver.report(runId);

    expect(steps).toBeGreaterThanOrEqual(3);
    expect(summary.enqueued).toBe(lost.length);
    expect(lines.filter((line) => line.outcome === 'replicated').map((line) => line.key).sort()).toEqual([...lost].sort());
    expect(lines.filter((line) => line.outcome === 'extra-on-destination').map((line) => line.key).sort()).toEqual(strays);
    expect(summary.outcomes['already-present']).toBe(keys.length - lost.length);
    // Each key once: no page compared a key another page had already.
    expect(new Set(lines.map((line) => line.key)).size).toBe(lines.length);
    for (const key of lost) expect((await fixture.destinationObject(key))?.body.toString()).toBe(key);
  }, 300_000);

  test('a reconcile emits BackfillExtraObjectsOnDestination with the number of extra destination objects', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: 'kept', Body: 'kept' }));
    const driver = await BackfillDriver.create(fixture);
    await driver.start('current-versions');
    await driver.drive();
    const strays = ['stray-1', 'stray-2', 'stray-3'];
    for (const key of strays) await fixture.adminS3.send(new PutObjectCommand({ Bucket: fixture.destinationBucket, Key: key, Body: 's' }));

    const runId = await driver.start('reconcile');
    const { lines: output } = await captureOutput(() => driver.drive());

    expect(emittedMetrics(output).BackfillExtraObjectsOnDestination).toBe(strays.length);
    expect((await driver.report(runId)).summary.outcomes['extra-on-destination']).toBe(strays.length);
  });

  test('without the destination listing right, a reconcile is refused when it starts, saying what to deploy', async () => {
    const fixture = await ReplicationFixture.create();
    await fixture.installDestinationIdentity('writer', {
      userPolicies: {
        write: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:${DESTINATION_PARTITION}:s3:::${fixture.destinationBucket}/*` }],
        },
      },
    });
    const driver = await BackfillDriver.create(fixture);
    await expect(driver.start('reconcile')).rejects.toThrow(
      `reconcile could not list destination bucket ${fixture.destinationBucket} (AccessDenied): deploy the DestinationReplicationUser with allowListing: true`,
    );
  });
});

test('5,000+ versions with several per key, delete markers and a prefix filter; resumable; idempotent', async () => {
  const fixture = await ReplicationFixture.create({ prefixes: ['data/'] });
  const keys = Array.from({ length: 1700 }, (_, i) => `data/${String(i).padStart(5, '0')}.bin`);
  const started = Date.now();
  await inParallel([1, 2, 3], 1, async (round) => inParallel(keys, 16, async (key) =>
    fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: `${key} v${round}` }))));
  const deleted = keys.filter((_, i) => i % 17 === 0);
  await inParallel(deleted, 16, (key) => fixture.events.deleteMarker(key));
  const outside = Array.from({ length: 150 }, (_, i) => `other/${i}`);
  await inParallel(outside, 16, (key) => fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: 'x' })));
  const populated = Date.now();
  const driver = await BackfillDriver.create(fixture);

  // Each invocation may list one page before its time runs low: the run crosses invocations.
  const runId = await driver.start('all-versions');
  const steps = await driver.drive({ context: () => budgetOfPages(1) });
  const finished = Date.now();
  const { lines, summary } = await driver.report(runId);
  const versions = keys.length * 3 + deleted.length;
  console.log(JSON.stringify({
    versions,
    outside: outside.length,
    populateSeconds: (populated - started) / 1000,
    backfillSeconds: (finished - populated) / 1000,
    listRequests: summary.listRequests,
    steps,
  }));

  expect(versions).toBeGreaterThanOrEqual(5000);
  expect(summary.outcomes).toEqual({
    'replicated': versions, 'already-present': 0, 'skipped-by-filter': outside.length, 'skipped': 0, 'failed': 0, 'extra-on-destination': 0,
  });
  expect(lines).toHaveLength(versions + outside.length);
  expect(steps).toBeGreaterThan(2);
  for (const key of [keys[0], keys[1], keys[keys.length - 1]]) {
    expect((await fixture.destinationVersions(key)).versions).toHaveLength(3);
  }
  expect(await fixture.destinationObject(deleted[3])).toBeUndefined();
  expect((await fixture.destinationObject(keys[5]))?.body.toString()).toBe(`${keys[5]} v3`);

  const second = await driver.start('all-versions');
  await driver.drive();
  expect((await driver.report(second)).summary).toMatchObject({ enqueued: 0, outcomes: { 'already-present': versions } });
}, 900_000);

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
