import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { inParallel } from '../../../support/in-parallel';
import { BackfillDriver, budgetOfPages } from '../../emulators/backfill-driver';
import { DESTINATION_PARTITION } from '../../emulators/partitions';
import { ReplicationFixture } from '../../emulators/replication-fixture';

// The backfill against the emulated partitions: the real backfill handler lists the source bucket
// and feeds the replication queue; the real replicator copies.

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
