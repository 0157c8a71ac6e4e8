import { PutObjectCommand } from '@aws-sdk/client-s3';
import { inParallel } from '../../../support/in-parallel';
import { BackfillDriver, budgetOfPages } from '../../emulators/backfill-driver';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The backfill at scale, against the emulated partitions: the real backfill handler lists the source
// bucket and feeds the replication queue; the real replicator copies. In a file of its own, which
// jest starts first (test/emulated/emulators/slowest-first-sequencer.js), so the other worker runs
// everything else beside it.

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
