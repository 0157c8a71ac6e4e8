import { ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { inParallel } from '../../../support/in-parallel';
import { BackfillDriver, budgetOfPages } from '../../emulators/backfill-driver';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The backfill at scale and across crashes, against the emulated partitions: the real backfill
// handler lists the source bucket and feeds the replication queue; the real replicator copies.
// In a file of its own so jest's two workers run it beside everything else.

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
